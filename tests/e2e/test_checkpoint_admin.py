"""The operator's checkpoint commands against a real run: `checkpoint` shows
each shard's state and how far it is behind the stream tip; `checkpoint
rewind` shows the change, refuses without confirmation, and with --yes makes
the next drain deliver that shard's records again (and only those);
`checkpoint reset` moves the file aside; a running daemon's checkpoint is
locked against both."""

import json
import os
import unittest

import harness as h

STREAM = "ddb-admin"


class CheckpointAdminTest(unittest.TestCase):
    def test_show_rewind_reset(self):
        gen = h.ChangeRecordGenerator(seed=11)
        with h.TempDir() as work, h.Emulators(streams={STREAM: 2}) as emu:
            sh = h.Shardhose(emu, work, STREAM, max_bytes=256 * 1024, max_interval_s=3600)
            first = h.produce(emu.kinesis, STREAM, gen.batch(300))
            sh.drain(timeout=300)
            out = h.Output([h.decode_object(o.key, o.body) for o in h.s3_objects(emu.s3)])
            h.check_exactly_once(self, first, out)
            shards = sorted({r[1] for r in first.records.values()})
            self.assertEqual(len(shards), 2)

            rc, text = sh.run("checkpoint", "--config", sh.config_path, what="show")
            self.assertEqual(rc, 0, text)
            for s in shards:
                line = next((ln for ln in text.splitlines() if ln.startswith(s)), "")
                self.assertIn(" open ", line, text)
                self.assertIn("caught up", line, text)

            # Without --yes (stdin is not a terminal): shown, not applied.
            before = open(sh.checkpoint_path, "rb").read()
            rc, text = sh.run("checkpoint", "rewind", "--config", sh.config_path, "--shard", shards[0],
                              "--to-trim-horizon", what="rewind-no")
            self.assertEqual(rc, 2, text)
            self.assertIn("after: open, resumes at TRIM_HORIZON", text)
            self.assertIn("not changed", text)
            self.assertEqual(open(sh.checkpoint_path, "rb").read(), before)

            # While a daemon runs, the checkpoint is locked.
            proc = sh.start()
            try:
                h.wait_for(lambda: "stream " in open(sh.proc_log).read(), timeout=60, what="daemon start")
                rc, text = sh.run("checkpoint", "rewind", "--config", sh.config_path, "--shard", shards[0],
                                  "--to-trim-horizon", "--yes", what="rewind-locked")
                self.assertEqual(rc, 4, text)  # locked, by the daemon's pid
                self.assertIn("locked by pid %d" % proc.pid, text)
            finally:
                rc, text = sh.stop()
                self.assertEqual(rc, 0, text)

            rc, text = sh.run("checkpoint", "rewind", "--config", sh.config_path, "--shard", shards[0],
                              "--to-trim-horizon", "--yes", what="rewind")
            self.assertEqual(rc, 0, text)
            sh.drain(timeout=300)
            out = h.Output([h.decode_object(o.key, o.body) for o in h.s3_objects(emu.s3)])
            of_shard0 = {e for e, r in first.records.items() if r[1] == shards[0]}
            for eid, places in out.by_event_id.items():
                want = 2 if eid in of_shard0 else 1
                self.assertEqual(len(places), want, "%s written %d times, expected %d" % (eid, len(places), want))

            rc, text = sh.run("checkpoint", "reset", "--config", sh.config_path, "--yes", what="reset")
            self.assertEqual(rc, 0, text)
            self.assertFalse(os.path.exists(sh.checkpoint_path))
            self.assertTrue(any(n.startswith("checkpoint.json.reset-") for n in os.listdir(work)), os.listdir(work))
            rc, text = sh.run("checkpoint", "--config", sh.config_path, what="show-after-reset")
            self.assertEqual(rc, 0, text)
            self.assertIn("no checkpoint", text)


class ForegroundDebugTest(unittest.TestCase):
    def test_debug_json_logs_show_the_life_of_a_batch(self):
        """--log-level debug --log-format json: every line on stdout is a JSON
        object, and the log shows each poll, batch open, flush with its cause,
        upload and checkpoint write."""
        gen = h.ChangeRecordGenerator(seed=12)
        with h.TempDir() as work, h.Emulators(streams={STREAM: 2}) as emu:
            sh = h.Shardhose(emu, work, STREAM, max_bytes=64 * 1024, max_interval_s=3600)
            h.produce(emu.kinesis, STREAM, gen.batch(200))
            rc, text = sh.run("run", "--config", sh.config_path, "--drain", "--log-level", "debug",
                              "--log-format", "json", what="debug")
            self.assertEqual(rc, 0, text[-4000:])
            msgs = []
            for ln in text.splitlines():
                obj = json.loads(ln)  # every line is one JSON object
                self.assertLessEqual({"ts", "level", "msg"}, set(obj), ln)  # and any fields
                msgs.append(obj["msg"])
            joined = "\n".join(msgs)
            for pattern in (r"shard shardId-\d+: \d+ records, \d+ errors, \d+ ms behind",
                            r"batch opened for ddb/",
                            r"flush ddb/\S+ \((size|drain)\): \d+ records",
                            r"uploaded ddb/\S+\.json\.gz \(\d+ records",
                            r"checkpoint generation \d+ written"):
                self.assertRegex(joined, pattern)
            self.assertNotIn("S3RVER", joined.replace('"S3RVER"', ""))  # no credentials in logs


if __name__ == "__main__":
    unittest.main()
