"""Issue 10, findings 6 and 7, against the real binary and kinesis-local:

`shardhose tap` prints N records exactly as they would be written (numbers
exact), with shard, position and key prefix (the error prefix and reason for
records that fail to decode), from trim_horizon, latest or the checkpoint,
and writes nothing: no object, no checkpoint, no lock.

The exit statuses an operator acts on: 4 (checkpoint locked, by the running
daemon's pid), 5 (checkpoint directory not writable, for `run` and
`validate`), 6 (server.listen's port in use), and 2 for an unknown
SHARDHOSE_* variable, with a did-you-mean."""

import json
import os
import shutil
import socket
import subprocess
import time
import unittest

import harness as h

STREAM = "ddb-cli"


def tap(sh, *args, timeout=120):
    """Runs `shardhose tap --config X <args>`; returns (rc, stdout, stderr)."""
    cmd = [h.shardhose_bin(), "tap", "--config", sh.config_path] + list(args)
    h.log("running %s" % " ".join(cmd))
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                       env=sh.env(), cwd=sh.workdir, timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8"), p.stderr.decode("utf-8", "replace")


def read_text(path):
    with open(path) as f:
        return f.read()


def by_position(produced):
    """(shard, sequence) -> ("ok", rec) or ("error", reason)."""
    out = {}
    for rec, shard, seq, _ in produced.records.values():
        out[(shard, seq)] = ("ok", rec)
    for reason, _, shard, seq, _ in produced.malformed:
        out[(shard, seq)] = ("error", reason)
    return out


class TapTest(unittest.TestCase):
    def check_json_records(self, produced, stdout):
        want = by_position(produced)
        # "\n" only: lines may hold U+2028 and friends, which splitlines() splits on.
        objs = [json.loads(line) for line in stdout.split("\n") if line]
        for o in objs:
            self.assertEqual(set(o), {"shard", "position", "arrival_time_ms", "prefix", "error", "line"})
            kind, what = want[(o["shard"], o["position"])]
            if kind == "ok":
                self.assertIsNone(o["error"])
                self.assertEqual(o["prefix"], h.expected_partition(what))
                line = h.loads_exact(o["line"])  # numbers as written: exact text
                self.assertEqual(h.canonical(line),
                                 h.canonical(h.expected_line(what, o["shard"], o["position"])))
            else:
                self.assertEqual(o["error"], what)
                self.assertTrue(o["prefix"].startswith("errors/%s/dt=" % what), o["prefix"])
                self.assertEqual(json.loads(o["line"])["error"], what)
        return objs

    def test_tap_reads_without_writing(self):
        gen = h.ChangeRecordGenerator(seed=31)
        with h.TempDir() as work, h.Emulators(streams={STREAM: 2}) as emu:
            sh = h.Shardhose(emu, work, STREAM)
            malformed = gen.malformed()[:3]
            produced = h.produce(emu.kinesis, STREAM, gen.batch(20), malformed=malformed)
            total = len(produced)

            # -n 5, json: five records, each exactly as it would be written.
            rc, out, err = tap(sh, "-n", "5", "--format", "json")
            self.assertEqual(rc, 0, err)
            objs = self.check_json_records(produced, out)
            self.assertEqual(len(objs), 5, out)
            self.assertIn("nothing was written", err)

            # More than there are: every record, then it stops at the tips.
            rc, out, err = tap(sh, "-n", "1000", "--format", "json")
            self.assertEqual(rc, 0, err)
            objs = self.check_json_records(produced, out)
            self.assertEqual(len(objs), total, out)
            self.assertEqual(sum(1 for o in objs if o["error"]), len(malformed))

            # One shard only.
            shards = sorted({s for _, s, _, _ in produced.records.values()})
            rc, out, err = tap(sh, "--shard", shards[0], "-n", "1000", "--format", "json")
            self.assertEqual(rc, 0, err)
            objs = self.check_json_records(produced, out)
            self.assertTrue(objs)
            self.assertEqual({o["shard"] for o in objs}, {shards[0]})
            rc, out, err = tap(sh, "--shard", "shardId-999999999999")
            self.assertEqual(rc, 2, err)
            self.assertIn("not a shard of %s" % STREAM, err)

            # Text (the default): a header naming shard, position and prefix,
            # then the line as written.
            rc, out, err = tap(sh, "-n", "3")
            self.assertEqual(rc, 0, err)
            lines = out.split("\n")
            headers = [ln for ln in lines if ln.startswith("# ")]
            self.assertEqual(len(headers), 3, out)
            for ln in headers:
                shard, position, arrow, prefix = ln[2:].split(" ", 3)
                self.assertIn(shard, shards)
                self.assertEqual(arrow, "->")
                kind, what = by_position(produced)[(shard, position)]
                if kind == "ok":
                    self.assertEqual(prefix, h.expected_partition(what))
            self.assertEqual(sum(1 for ln in lines if ln.startswith("{")), 3, out)

            # --from checkpoint needs one.
            rc, out, err = tap(sh, "--from", "checkpoint")
            self.assertEqual(rc, 2, err)
            self.assertIn("no checkpoint at %s" % sh.checkpoint_path, err)

            # Nothing was written: no object, no checkpoint, no lock.
            self.assertEqual(list(h.s3_objects(emu.s3)), [])
            self.assertFalse(os.path.exists(sh.checkpoint_path))
            self.assertFalse(os.path.exists(sh.checkpoint_path + ".lock"))

            # --from latest waits for records put after it started.
            p = subprocess.Popen([h.shardhose_bin(), "tap", "--config", sh.config_path, "--from", "latest", "-n", "2",
                                  "--format", "json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 stdin=subprocess.DEVNULL, env=sh.env(), cwd=work)
            try:
                time.sleep(3)  # its iterators are taken at LATEST
                later = h.produce(emu.kinesis, STREAM, gen.batch(2))
                out, err = p.communicate(timeout=60)
            finally:
                if p.poll() is None:
                    p.kill()
            self.assertEqual(p.returncode, 0, err)
            objs = self.check_json_records(later, out.decode())
            self.assertEqual(len(objs), 2, out)  # of those put after it started, none before
            self.assertLessEqual({(o["shard"], o["position"]) for o in objs}, set(by_position(later)))

            # After a drain, --from checkpoint starts after the durable
            # positions: nothing left.
            sh.drain(timeout=300)
            with open(sh.checkpoint_path, "rb") as f:
                before = f.read()
            rc, out, err = tap(sh, "--from", "checkpoint", "-n", "10", "--format", "json")
            self.assertEqual(rc, 0, err)
            self.assertEqual(out, "")
            with open(sh.checkpoint_path, "rb") as f:
                self.assertEqual(f.read(), before)


class ExitStatusTest(unittest.TestCase):
    def test_lock_port_unwritable_and_unknown_variables(self):
        with h.TempDir() as work, h.Emulators(streams={STREAM: 1}) as emu:
            sh = h.Shardhose(emu, work, STREAM)

            # 4: a second daemon on the same checkpoint names the first's pid.
            proc = sh.start()
            try:
                lock = sh.checkpoint_path + ".lock"
                h.wait_for(lambda: os.path.exists(lock) and read_text(lock) == "%d\n" % proc.pid, timeout=60,
                           what="the daemon's pid in the lock file")
                rc, text = sh.run("run", "--config", sh.config_path, "--drain", what="second")
                self.assertEqual(rc, 4, text)
                self.assertIn("locked by pid %d" % proc.pid, text)
            finally:
                rc, text = sh.stop()
                self.assertEqual(rc, 0, text)

            # 6: server.listen's port held by another program.
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            s.listen(1)
            port = s.getsockname()[1]
            try:
                busy = h.Shardhose(emu, os.path.join(work, "busy"), STREAM, server__listen="127.0.0.1:%d" % port)
                rc, text = busy.run("run", "--config", busy.config_path, "--drain", what="port")
                self.assertEqual(rc, 6, text)
                self.assertIn("port %d is already in use" % port, text)
                self.assertIn("SHARDHOSE_SERVER_LISTEN", text)
            finally:
                s.close()

            # 5: a checkpoint directory this user cannot write (as root,
            # run as nobody; root would write anyway).
            ro = os.path.join(work, "ro")
            os.makedirs(os.path.join(ro, "state"))
            locked_out = h.Shardhose(emu, ro, STREAM, checkpoint=os.path.join(ro, "state", "checkpoint.json"))
            for d in (work, ro):
                os.chmod(d, 0o755)
            os.chmod(os.path.join(ro, "state"), 0o555)
            os.chmod(locked_out.config_path, 0o644)
            as_user = {"user": 65534, "group": 65534} if os.geteuid() == 0 else {}
            # The binary where that user can reach it: the build tree may lie
            # under a directory only root may enter (a mktemp -d clone).
            binary = h.shardhose_bin()
            if as_user:
                binary = os.path.join(work, "shardhose")
                shutil.copy(h.shardhose_bin(), binary)
                os.chmod(binary, 0o755)
            for args in (["validate"], ["run", "--drain"]):
                p = subprocess.run([binary] + args + ["--config", locked_out.config_path],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   env=locked_out.env(), cwd="/", timeout=120, **as_user)
                text = p.stdout.decode("utf-8", "replace")
                self.assertEqual(p.returncode, 5, text)
                self.assertIn("checkpoint directory not writable: %s/state is not writable by uid" % ro, text)
                self.assertNotIn("another shardhose", text)
            self.assertEqual(os.listdir(os.path.join(ro, "state")), [])
            os.chmod(os.path.join(ro, "state"), 0o755)

            # 2: an unknown SHARDHOSE_* variable, with a did-you-mean.
            env = sh.env()
            env["SHARDHOSE_BATCH_MAX_INTERVAL"] = "60"
            p = subprocess.run([h.shardhose_bin(), "validate", "--config", sh.config_path], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, env=env, timeout=60)
            text = p.stdout.decode()
            self.assertEqual(p.returncode, 2, text)
            self.assertIn("SHARDHOSE_BATCH_MAX_INTERVAL: unknown variable; did you mean "
                          "SHARDHOSE_BATCH_MAX_INTERVAL_S?", text)


if __name__ == "__main__":
    unittest.main()
