"""scripts/demo.sh's last step (tests/e2e/demo.py) shows what a new user looks
at first: a few lines of the lake. They must be the lines as written, exact
numbers included, not re-encoded through Python floats
(1.2345678901234568e+18)."""

import os
import re
import subprocess
import sys
import unittest

import harness as h

HERE = os.path.dirname(os.path.abspath(__file__))


class Demo(unittest.TestCase):
    def test_shows_lines_as_written(self):
        p = subprocess.run([sys.executable, os.path.join(HERE, "demo.py"), "--records", "300",
                            "--bin", h.shardhose_bin()],
                           capture_output=True, text=True, timeout=280)
        self.assertEqual(p.returncode, 0, p.stdout[-3000:] + p.stderr[-3000:])
        lines = p.stdout.split("\n")  # not splitlines(): lines hold U+2028 and the like raw
        shown = [lines[i + 1] for i, ln in enumerate(lines[:-1]) if ln.endswith("as written ---")]
        self.assertGreaterEqual(len(shown), 2, p.stdout[-3000:])
        for line in shown:
            if line.endswith(" ..."):
                line = line[:-4]
            else:
                h.loads_exact(line)  # one complete JSON object per line
            self.assertIsNone(re.search(r"\d\.\d{15,}e[+-]\d+", line), "a float-rounded number: " + line[:300])


if __name__ == "__main__":
    unittest.main()
