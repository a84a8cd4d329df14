"""The local-emulator instructions, followed literally (issue 10, finding 9).

`scripts/emulators.sh start` starts kinesis-local and s3rver and prints what
to export and what to run; this test does exactly that: it applies the
printed `export` lines (and nothing else of its own but a free HTTP port and
a fresh working directory), runs the printed `shardhose run --config
config/local-emulators.toml` with `--drain`, and checks that every record
produced reached s3rver exactly once. Then `stop` stops both.

The default ports (4568/4569, the ones the config file names) are used when
they are free; otherwise the script is given others (KINESIS_PORT/S3_PORT)
and prints the endpoint variables to export, which the test applies as it
applies the rest.
"""

import os
import re
import shlex
import subprocess
import unittest

import harness as h

SCRIPT = os.path.join(h.REPO_ROOT, "scripts", "emulators.sh")


def port_free(port):
    import socket
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


class EmulatorsScript(unittest.TestCase):
    def setUp(self):
        self.tmp = h.TempDir()
        self.addCleanup(self.tmp.__exit__, None, None, None)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SHARDHOSE_"))}
        self.env["EMULATORS_DIR"] = os.path.join(self.tmp.path, "emulators")
        if not (port_free(4568) and port_free(4569)):
            self.env["KINESIS_PORT"], self.env["S3_PORT"] = str(h.free_port()), str(h.free_port())
        self.addCleanup(subprocess.run, ["bash", SCRIPT, "stop"], env=self.env, capture_output=True)

    def script(self, *args):
        return subprocess.run(["bash", SCRIPT] + list(args), env=self.env, capture_output=True, text=True,
                              timeout=180)

    def test_start_follow_the_printed_steps_stop(self):
        started = self.script("start")
        self.assertEqual(started.returncode, 0, started.stdout + started.stderr)
        out = started.stdout
        self.assertIn("S3RVER", out)

        # The printed steps: export lines, then the command.
        run_env = dict(self.env)
        command = None
        for line in out.splitlines():
            line = line.strip()
            if line.startswith("export "):
                for assignment in shlex.split(line)[1:]:
                    k, _, v = assignment.partition("=")
                    run_env[k] = v
            elif line.startswith("shardhose run"):
                command = shlex.split(line)
        self.assertIsNotNone(command, out)
        # Printed relative to where the script ran (here: this test's cwd).
        conf = os.path.normpath(os.path.join(os.getcwd(), command[command.index("--config") + 1]))
        self.assertEqual(conf, os.path.join(h.REPO_ROOT, "config", "local-emulators.toml"))

        m = re.search(r"kinesis-local\s+http://127\.0\.0\.1:(\d+)", out)
        kinesis = h.KinesisClient(int(m.group(1)))
        self.addCleanup(kinesis.close)
        gen = h.ChangeRecordGenerator(seed=10, tables=("orders",))
        produced = h.produce(kinesis, "orders", gen.batch(200))

        # Relative paths in the config (the checkpoint) land in a fresh dir;
        # the HTTP port must not collide with other tests running in parallel.
        workdir = os.path.join(self.tmp.path, "work")
        os.makedirs(workdir)
        run_env["SHARDHOSE_SERVER_LISTEN"] = "127.0.0.1:%d" % h.free_port()
        argv = [h.shardhose_bin()] + command[1:] + ["--drain"]
        argv[argv.index("--config") + 1] = conf
        p = subprocess.run(argv, cwd=workdir, env=run_env, capture_output=True, text=True, timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr[-4000:])

        m = re.search(r"s3rver\s+http://127\.0\.0\.1:(\d+)", out)
        s3 = h.S3Client(int(m.group(1)))
        output = h.Output(h.s3_objects(s3, prefix="ddb/"))
        h.check_exactly_once(self, produced, output)

        stopped = self.script("stop")
        self.assertEqual(stopped.returncode, 0, stopped.stderr)
        self.assertEqual(self.script("status").returncode, 3)


if __name__ == "__main__":
    unittest.main()
