"""Incremental: produce, drain, produce more, drain. The second run adds
exactly the new records (no duplicates, nothing missing) and leaves the
first run's objects alone; a third drain with nothing new adds nothing."""

import os
import unittest

import harness as h

STREAM = "ddb-incr"


class IncrementalTest(unittest.TestCase):
    def test_second_drain_adds_exactly_the_new_records(self):
        gen = h.ChangeRecordGenerator(seed=7)
        with h.TempDir() as work, h.Emulators(streams={STREAM: 4}) as emu:
            sh = h.Shardhose(emu, work, STREAM, max_bytes=256 * 1024, max_interval_s=3600)

            first = h.produce(emu.kinesis, STREAM, gen.batch(2000, wide=2), gen.malformed()[:3])
            sh.drain(timeout=300)
            objs1 = {o.key: o.body for o in h.s3_objects(emu.s3)}
            out1 = h.Output([h.decode_object(k, b) for k, b in objs1.items()])
            h.check_exactly_once(self, first, out1)
            h.check_unmarshalled_content(self, first, out1)
            self.assertTrue(os.path.exists(sh.checkpoint_path))

            rc, text = sh.run("checkpoint", "--config", sh.config_path, what="checkpoint")
            self.assertEqual(rc, 0, text)
            for shard in {r[1] for r in first.records.values()}:
                self.assertIn(shard, text, "`shardhose checkpoint` does not mention %s" % shard)

            second = h.produce(emu.kinesis, STREAM, gen.batch(1500), gen.malformed()[3:])
            sh.drain(timeout=300)
            objs2 = {o.key: o for o in h.s3_objects(emu.s3)}
            for key, body in objs1.items():
                self.assertIn(key, objs2, "first run's object %s disappeared" % key)
                self.assertEqual(objs2[key].body, body, "first run's object %s was rewritten" % key)
            new = h.Output([o for k, o in objs2.items() if k not in objs1])
            h.check_exactly_once(self, second, new)
            h.check_unmarshalled_content(self, second, new)
            h.check_error_lines(self, second, new, STREAM)

            both = h.Produced()
            for p in (first, second):
                both.records.update(p.records)
                both.malformed.extend(p.malformed)
            h.check_exactly_once(self, both, h.Output(list(objs2.values())))

            sh.drain(timeout=120)
            self.assertEqual({k for k, _ in emu.s3.list_objects()}, set(objs2),
                             "a drain with nothing new changed the bucket")


if __name__ == "__main__":
    unittest.main()
