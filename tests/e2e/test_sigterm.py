"""SIGTERM: a producer keeps writing while the daemon runs (no --drain);
SIGTERM midway must flush, checkpoint and exit 0. What is in the bucket then
is exactly the records up to the checkpoint. A following --drain adds only
the rest: the union is every record exactly once."""

import os
import threading
import time
import unittest

import harness as h

STREAM = "ddb-live"
BATCHES = 30
PER_BATCH = 150


class SigtermTest(unittest.TestCase):
    def test_sigterm_flushes_checkpoints_and_resumes(self):
        gen = h.ChangeRecordGenerator(seed=99)
        batches = [gen.batch(PER_BATCH, ttl=1) for _ in range(BATCHES)]
        malformed = gen.malformed()
        with h.TempDir() as work, h.Emulators(streams={STREAM: 4}) as emu:
            produced = h.Produced()
            lock = threading.Lock()
            progress = {"batches": 0, "error": None}

            def producer():
                try:
                    for i, b in enumerate(batches):
                        with lock:
                            h.produce(emu.kinesis, STREAM, b, [malformed[i]] if i < len(malformed) else (),
                                      produced=produced)
                            progress["batches"] = i + 1
                        time.sleep(0.3)
                except Exception as e:  # reported by the main thread
                    progress["error"] = e
                finally:
                    emu.kinesis.close()

            sh = h.Shardhose(emu, work, STREAM, max_bytes=256 * 1024, max_interval_s=2)
            try:
                sh.start()
                t = threading.Thread(target=producer, daemon=True)
                t.start()
                h.wait_for(lambda: progress["batches"] >= BATCHES // 2 or progress["error"], 120,
                           what="half of the records to be produced")
                # Let the daemon write some objects while records keep coming.
                h.wait_for(lambda: len(emu.s3.list_objects()) > 0, 60, what="a first object")
                self.assertIsNone(sh.proc.poll(), "daemon exited early")
                rc, text = sh.stop()
                self.assertEqual(rc, 0, "exit code after SIGTERM\n" + text[-6000:])
                self.assertTrue(os.path.exists(sh.checkpoint_path), "no checkpoint after SIGTERM")
                t.join(timeout=180)
                self.assertFalse(t.is_alive(), "producer did not finish")
                self.assertIsNone(progress["error"])
                self.assertLess(0, len(produced.records))
            finally:
                sh.close()

            # At SIGTERM the bucket holds exactly the records up to the checkpoint.
            cp, pending = h.read_checkpoint(sh.checkpoint_path, with_pending=True)
            objs1 = {o.key: o.body for o in h.s3_objects(emu.s3)}
            out1 = h.Output([h.decode_object(k, b) for k, b in objs1.items()])
            self.assertFalse(out1.duplicates(), "duplicates before the drain")
            upto = h.Produced()
            for eid, v in produced.records.items():
                if h.durable_per_checkpoint(v[1], v[2], cp, pending):
                    upto.records[eid] = v
            upto.malformed = [m for m in produced.malformed if h.durable_per_checkpoint(m[2], m[3], cp, pending)]
            h.log("at SIGTERM: %d of %d records durable" % (len(upto), len(produced)))
            self.assertGreater(len(upto.records), 0, "nothing was written before SIGTERM")
            self.assertLess(len(upto), len(produced), "SIGTERM came after everything was read; test is void")
            h.check_exactly_once(self, upto, out1)

            sh.drain(timeout=300)
            objs2 = {o.key: o for o in h.s3_objects(emu.s3)}
            for key, body in objs1.items():
                self.assertIn(key, objs2)
                self.assertEqual(objs2[key].body, body, "object %s rewritten by the drain" % key)
            out = h.Output(list(objs2.values()))
            h.check_exactly_once(self, produced, out)
            h.check_unmarshalled_content(self, produced, out)
            h.check_error_lines(self, produced, out, STREAM)


if __name__ == "__main__":
    unittest.main()
