"""Big objects (batch.part_bytes): a batch bigger than a part is streamed to
the store as a multipart upload while it grows, and becomes one object when
it is complete.

Against s3rver, with gzip and without compression: one object of several
5 MiB parts (s3rver logs every part it stores), every record exactly once,
the gzip object a valid single gzip stream (gzip -t). Against a local
directory (whose store can list and abort uploads): a SIGKILL right after a
part was stored, then a drain: every record still exactly once, and the
upload the crash left open aborted, not left behind."""

import base64
import os
import random
import subprocess
import unittest

import harness as h

STREAM = "ddb-big"
PART = 5 * 1024 * 1024  # S3's smallest part


def big_records(n, seed):
    """n INSERTs of one table and one hour, each ~390 KB of incompressible
    text (random base64), so that a few MiB of gzip take few records."""
    gen = h.ChangeRecordGenerator(seed=seed, tables=("orders",))
    rng = random.Random(seed)
    event_ms = 1716200000000  # 2024-05-20 10:13 UTC
    recs = []
    for _ in range(n):
        rec = gen.record(event_name="INSERT", event_time_ms=event_ms)
        rec["dynamodb"]["NewImage"]["payload"] = {"S": base64.b64encode(rng.randbytes(290000)).decode()}
        recs.append(rec)
    return recs


def config(**extra):
    cfg = dict(max_bytes=1 << 30, max_interval_s=3600, batch__part_bytes=PART,
               batch__max_buffered_bytes=64 << 20)
    cfg.update(extra)
    return cfg


class MultipartTest(unittest.TestCase):
    def test_streamed_in_parts(self):
        with h.TempDir() as work, h.Emulators(streams={STREAM: 1}) as emu:
            produced = h.produce(emu.kinesis, STREAM, big_records(36, seed=61))
            total = sum(len(h.encode(rec)) for rec, _, _, _ in produced.records.values())
            h.log("MULTIPART: %d records, %.1f MB of change records" % (len(produced.records), total / 1e6))
            with open(emu.s3_log, "rb") as f:
                parts_before = f.read().count(b"Stored part")
            for compression, suffix in (("gzip", ".json.gz"), ("none", ".json")):
                with self.subTest(compression=compression):
                    sh = h.Shardhose(emu, os.path.join(work, compression), STREAM,
                                     **config(output__compression=compression))
                    sh.drain(timeout=600)
                    keys = [k for k, _ in emu.s3.list_objects() if k.endswith(suffix)]
                    objs = [h.decode_object(k, emu.s3.get_object(k), compression) for k in keys]
                    out = h.Output(objs)
                    h.check_exactly_once(self, produced, out)
                    h.check_unmarshalled_content(self, produced, out)
                    self.assertEqual(len(objs), 1, keys)  # one partition, one shard, under max_bytes
                    body = emu.s3.get_object(keys[0])
                    with open(emu.s3_log, "rb") as f:
                        parts = f.read().count(b"Stored part") - parts_before
                    parts_before += parts
                    # every part but the last is at least PART bytes
                    self.assertGreaterEqual(parts, 2, "parts stored by s3rver")
                    self.assertLessEqual(parts, len(body) // PART + 1, "a part but the last under 5 MiB")
                    h.log("MULTIPART %s: one object of %d bytes in %d parts" % (compression, len(body), parts))
                    if compression == "gzip":
                        path = os.path.join(work, "object.gz")
                        with open(path, "wb") as f:
                            f.write(body)
                        subprocess.run(["gzip", "-t", path], check=True)

    def test_crash_after_a_part(self):
        with h.TempDir() as work, h.Emulators(streams={STREAM: 1}) as emu:
            produced = h.produce(emu.kinesis, STREAM, big_records(30, seed=62))
            lake = os.path.join(work, "lake")
            sh = h.Shardhose(emu, work, STREAM, output_dir=lake, **config())
            sh.start(extra=["--drain"], env={"SHARDHOSE_KILL_AT": "upload.after_part:1"}, quiet=True)
            rc, text = sh.wait_exit(300)
            if rc is None:
                sh.close()
                self.fail("the daemon did not exit: %s" % text[-3000:])
            if os.environ.get("SHARDHOSE_E2E_KILL_POINTS", "1") == "1":
                self.assertEqual(rc, -9, "kill point not reached (exit %s)\n%s" % (rc, text[-3000:]))
            uploads = os.path.join(lake, ".shardhose-multipart")
            self.assertTrue(os.listdir(uploads), "the crash left no upload open")
            out_text = sh.drain(timeout=600)
            self.assertIn("aborted multipart upload", out_text)
            self.assertEqual(os.listdir(uploads), [], "an upload was left behind")
            objs = h.file_objects(lake)
            out = h.Output(objs)
            h.check_exactly_once(self, produced, out)
            h.check_unmarshalled_content(self, produced, out)
            # the journaled first part became an object of its own; the rest another
            self.assertEqual(len(objs), 2, [o.key for o in objs])
            h.log("MULTIPART CRASH: %d records in %d objects after a kill after part 1"
                  % (len(produced.records), len(objs)))


if __name__ == "__main__":
    unittest.main()
