"""Pipeline: a 4-shard stream, >= 10,000 change records from two tables
(every event kind, wide items, ~400 KB items, TTL deletes) plus malformed
records, drained to s3rver with a small max_bytes. Every event exactly once,
in its event-time partition, equal to the source; every object valid gzip
and within max_bytes; malformed records under errors/ with the original
bytes."""

import os
import time
import unittest

import harness as h

STREAM = "ddb-cdc"
MAX_BYTES = 128 * 1024


class PipelineTest(unittest.TestCase):
    def test_drain_everything_exactly_once(self):
        gen = h.ChangeRecordGenerator(seed=20240520)
        records = gen.batch(10000, wide=20, big=3)
        malformed = gen.malformed()
        with h.TempDir() as work, h.Emulators(streams={STREAM: 4}) as emu:
            t0 = time.time()
            produced = h.produce(emu.kinesis, STREAM, records, malformed)
            h.log("produced %d records in %.1fs" % (len(produced), time.time() - t0))
            shards = {r[1] for r in produced.records.values()}
            self.assertEqual(len(shards), 4, "records should land on all 4 shards")

            sh = h.Shardhose(emu, work, STREAM, max_bytes=MAX_BYTES, max_interval_s=3600)
            t0 = time.time()
            sh.drain(timeout=480)
            h.log("drained in %.1fs" % (time.time() - t0))
            self.assertTrue(os.path.exists(sh.checkpoint_path), "no checkpoint file after --drain")

            objects = h.s3_objects(emu.s3, page_size=100)  # small pages: exercise paging
            out = h.Output(objects)
            h.log("%d objects, %d lines" % (len(objects), out.lines))

            h.check_exactly_once(self, produced, out)
            h.check_unmarshalled_content(self, produced, out)
            h.check_error_lines(self, produced, out, STREAM)
            h.check_object_sizes(self, objects, MAX_BYTES)

            # Every object sits directly in a partition directory.
            for o in objects:
                self.assertRegex(o.key, r"^(ddb/[^/]+/dt=\d{4}-\d\d-\d\d/hr=\d\d/"
                                        r"|errors/[a-z_]+/dt=\d{4}-\d\d-\d\d/)[^/]+\.json\.gz$")

            # Partitions: both tables, two days, several hours; and a small
            # max_bytes really cut partitions into several objects.
            per_dir = {}
            for o in objects:
                if o.key.startswith("ddb/"):
                    per_dir.setdefault(h.key_dir(o.key), []).append(o)
            tables = {d.split("/")[1] for d in per_dir}
            days = {d.split("/")[2] for d in per_dir}
            hours = {d.split("/")[3] for d in per_dir}
            self.assertEqual(tables, {"orders", "user-sessions"})
            self.assertEqual(days, {"dt=2024-05-19", "dt=2024-05-20"})
            self.assertGreaterEqual(len(hours), 6)
            multi = [d for d, objs in per_dir.items() if len(objs) >= 3]
            self.assertGreaterEqual(len(multi), len(per_dir) // 2,
                                    "max_bytes=%d should split most partitions into several objects: %s"
                                    % (MAX_BYTES, {d: len(v) for d, v in per_dir.items()}))

            # The ~400 KB items are alone in their objects (over max_bytes),
            # and nothing else is over.
            big = [o for o in objects if len(o.data) > MAX_BYTES]
            self.assertGreaterEqual(len(big), 3)
            for o in big:
                self.assertEqual(len(o.lines), 1, o.key)

            # A second drain with nothing new writes nothing.
            before = {o.key for o in objects}
            sh.drain(timeout=120)
            after = {k for k, _ in emu.s3.list_objects()}
            self.assertEqual(after, before, "a drain with no new records changed the bucket")


if __name__ == "__main__":
    unittest.main()
