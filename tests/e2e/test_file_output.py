"""File output: the same stream drained to file:///<dir> and to s3rver gives
the same set of partition directories and the same multiset of lines per
partition (object boundaries may differ)."""

import collections
import os
import unittest

import harness as h

STREAM = "ddb-file"


def lines_by_partition(objects):
    parts = collections.defaultdict(collections.Counter)
    for o in objects:
        parts[h.key_dir(o.key)].update(o.lines)
    return parts


class FileOutputTest(unittest.TestCase):
    def test_file_and_s3_outputs_agree(self):
        gen = h.ChangeRecordGenerator(seed=4242)
        with h.TempDir() as work, h.Emulators(streams={STREAM: 4}) as emu:
            produced = h.produce(emu.kinesis, STREAM, gen.batch(3000, wide=2, big=1), gen.malformed())

            s3_run = h.Shardhose(emu, os.path.join(work, "s3"), STREAM, max_bytes=200 * 1024)
            s3_run.drain(timeout=300)
            outdir = os.path.join(work, "files", "out")
            file_run = h.Shardhose(emu, os.path.join(work, "file"), STREAM, output_dir=outdir,
                                   max_bytes=64 * 1024)
            file_run.drain(timeout=300)

            s3_objs = h.s3_objects(emu.s3)
            file_objs = h.file_objects(outdir)
            self.assertTrue(file_objs, "nothing written under %s" % outdir)
            # Everything under the directory is a finished object (no temp files left).
            for o in file_objs:
                self.assertRegex(o.key, r"^(ddb|errors)/.+/[^/]+\.json\.gz$")

            out = h.Output(file_objs)
            h.check_exactly_once(self, produced, out)
            h.check_unmarshalled_content(self, produced, out)
            h.check_error_lines(self, produced, out, STREAM)
            h.check_object_sizes(self, file_objs, 64 * 1024)

            a, b = lines_by_partition(s3_objs), lines_by_partition(file_objs)
            self.assertEqual(sorted(a), sorted(b), "partition directories differ")
            for part in a:
                self.assertEqual(a[part], b[part], "lines differ in partition %s" % part)


if __name__ == "__main__":
    unittest.main()
