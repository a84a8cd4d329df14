"""Quick checks: format=raw, compression=none, `validate`, and a corrupt
checkpoint file."""

import os
import re
import unittest

import harness as h

STREAM = "ddb-fmt"


class FormatsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work_cm = h.TempDir()
        cls.work = cls.work_cm.__enter__()
        cls.emu = h.Emulators(streams={STREAM: 2})
        cls.emu.__enter__()
        gen = h.ChangeRecordGenerator(seed=5)
        records = gen.batch(400, wide=1)
        # Some records pretty-printed: raw output must compact them.
        cls.produced = h.produce(cls.emu.kinesis, STREAM, records[:300], gen.malformed())
        h.produce(cls.emu.kinesis, STREAM, records[300:], produced=cls.produced, indent=2)

    @classmethod
    def tearDownClass(cls):
        cls.emu.__exit__(None, None, None)
        cls.work_cm.__exit__(None, None, None)

    def shardhose(self, name, **kw):
        return h.Shardhose(self.emu, os.path.join(self.work, name), STREAM, **kw)

    def test_raw_format(self):
        outdir = os.path.join(self.work, "raw-out")
        sh = self.shardhose("raw", output_dir=outdir, format="raw")
        sh.drain()
        objs = h.file_objects(outdir)
        out = h.Output(objs)
        h.check_exactly_once(self, self.produced, out)
        h.check_error_lines(self, self.produced, out, STREAM)
        for o in objs:
            if o.key.startswith("errors/"):
                continue
            for line in o.lines:
                rec = h.loads_exact(line)
                eid = rec["eventID"]
                src = self.produced.records[eid][0]
                self.assertEqual(line, h.compact(src), "raw line is not the compacted source record")
                self.assertEqual(h.key_dir(o.key), h.expected_partition(src))

    def test_compression_none(self):
        outdir = os.path.join(self.work, "plain-out")
        sh = self.shardhose("plain", output_dir=outdir, compression="none", max_bytes=32 * 1024)
        sh.drain()
        objs = h.file_objects(outdir, compression="none")
        self.assertTrue(objs)
        for o in objs:
            self.assertTrue(o.key.endswith(".json") and not o.key.endswith(".gz"), o.key)
        out = h.Output(objs)
        h.check_exactly_once(self, self.produced, out)
        h.check_unmarshalled_content(self, self.produced, out)
        h.check_error_lines(self, self.produced, out, STREAM)
        h.check_object_sizes(self, objs, 32 * 1024)

    def test_validate(self):
        sh = self.shardhose("validate")
        rc, text = sh.run("validate", "--config", sh.config_path, what="validate-ok")
        self.assertEqual(rc, 0, text)

        sh.sections["batch"]["max_bytez"] = 1024
        sh.write_config()
        rc, text = sh.run("validate", "--config", sh.config_path, what="validate-unknown")
        self.assertEqual(rc, 2, text)
        self.assertIn("max_bytez", text)

        del sh.sections["batch"]["max_bytez"]
        sh.sections["batch"]["max_bytes"] = 0
        sh.write_config()
        rc, text = sh.run("validate", "--config", sh.config_path, what="validate-range")
        self.assertEqual(rc, 2, text)
        self.assertIn("batch.max_bytes", text)

        sh.sections["batch"]["max_bytes"] = 1024
        sh.sections["output"]["prefix"] = "ddb/{tabel}/"
        sh.write_config()
        rc, text = sh.run("validate", "--config", sh.config_path, what="validate-template")
        self.assertEqual(rc, 2, text)
        self.assertIn("output.prefix", text)

    def test_corrupt_checkpoint(self):
        outdir = os.path.join(self.work, "corrupt-out")
        sh = self.shardhose("corrupt", output_dir=outdir)
        garbage = b'{"format":"shardhose-checkpoint","version":1,"crc32c":"00000000","body":{"trunc'
        with open(sh.checkpoint_path, "wb") as f:
            f.write(garbage)
        rc, text = sh.run("run", "--config", sh.config_path, "--drain", what="corrupt")
        self.assertNotEqual(rc, 0, "run with a corrupt checkpoint exited 0\n" + text)
        self.assertIn(sh.checkpoint_path, text, "the message does not name the checkpoint file")
        written = [os.path.join(d, f) for d, _, fs in os.walk(outdir) for f in fs] if os.path.exists(outdir) else []
        self.assertEqual(written, [], "objects written despite a corrupt checkpoint")
        with open(sh.checkpoint_path, "rb") as f:
            self.assertEqual(f.read(), garbage, "the corrupt checkpoint was overwritten")


if __name__ == "__main__":
    unittest.main()
