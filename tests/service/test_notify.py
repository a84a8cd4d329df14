"""sd_notify from the real daemon: `shardhose run` against kinesis-local and
s3rver with NOTIFY_SOCKET pointing at an AF_UNIX datagram socket this test
owns (what systemd does for Type=notify), then SIGTERM.

Checks, in the order the datagrams arrive: READY=1, then STATUS= (a
summary naming the shards), then WATCHDOG=1 (WATCHDOG_USEC=1 s,
WATCHDOG_PID = the daemon's pid), then after SIGHUP RELOADING=1 with
MONOTONIC_USEC= followed by READY=1 again, then after SIGTERM STOPPING=1;
exit 0.
Every datagram comes from the daemon's own pid (SCM_CREDENTIALS), which
NotifyAccess=main requires. A second run with WATCHDOG_PID naming another
process must send READY=1 but no WATCHDOG=1 (sd_watchdog_enabled).

Environment: SHARDHOSE_BIN (CTest sets it). Reuses tests/e2e/harness.py.
"""

import os
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import harness as h  # noqa: E402

STREAM = "svc-notify"
WATCHDOG_USEC = 1_000_000


class NotifySocket:
    """The receiving end of NOTIFY_SOCKET: datagrams with the sender's
    credentials."""

    def __init__(self, directory):
        self.path = os.path.join(directory, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.messages = []  # (monotonic time, sender pid, [(key, value)])

    def poll(self, timeout):
        """Receives what arrives within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                return
            data, anc, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(12))
            pid = None
            for level, kind, payload in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid, _uid, _gid = struct.unpack("iII", payload[:12])
            fields = []
            for line in data.decode("utf-8", "replace").split("\n"):
                if line:
                    k, _, v = line.partition("=")
                    fields.append((k, v))
            self.messages.append((time.monotonic(), pid, fields))

    def wait_for(self, key, timeout, proc=None):
        """Waits until some datagram carries `key`; returns its value."""
        deadline = time.monotonic() + timeout
        while True:
            for _, _, fields in self.messages:
                for k, v in fields:
                    if k == key:
                        return v
            if proc is not None and proc.poll() is not None:
                raise AssertionError("daemon exited (%s) before sending %s" % (proc.returncode, key))
            if time.monotonic() > deadline:
                raise AssertionError("no %s within %ss; got %s" % (key, timeout, self.summary()))
            self.poll(0.2)

    def flat(self):
        """Every assignment in arrival order: [(key, value)]."""
        return [kv for _, _, fields in self.messages for kv in fields]

    def summary(self):
        return [";".join("%s=%s" % (k, v[:60]) for k, v in f) for _, _, f in self.messages][:20]

    def close(self):
        self.sock.close()


class NotifyTest(unittest.TestCase):
    def start(self, sh, sock, watchdog_pid_self=True):
        env = sh.env()
        env["NOTIFY_SOCKET"] = sock.path
        env["WATCHDOG_USEC"] = str(WATCHDOG_USEC)
        cmd = [h.shardhose_bin(), "run", "--config", sh.config_path, "--log-level", "debug"]
        if watchdog_pid_self:
            # WATCHDOG_PID must be the daemon's pid: the shell's $$ survives exec.
            argv = ["sh", "-c", 'WATCHDOG_PID=$$ exec "$@"', "sh"] + cmd
        else:
            env["WATCHDOG_PID"] = str(os.getpid())  # someone else: no watchdog for the daemon
            argv = cmd
        log_path = os.path.join(sh.workdir, "daemon-%d.log" % len(os.listdir(sh.workdir)))
        lf = open(log_path, "wb")
        self.addCleanup(lf.close)
        p = subprocess.Popen(argv, env=env, stdout=lf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True, cwd=sh.workdir)
        self.addCleanup(h.kill_group, p, 5)
        return p, log_path

    def stop(self, p, log_path):
        p.send_signal(signal.SIGTERM)
        try:
            rc = p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            h.kill_group(p, timeout=5)
            rc = None
        self.assertEqual(rc, 0, "exit status after SIGTERM\n" + h.tail(log_path))

    def test_ready_status_watchdog_stopping(self):
        gen = h.ChangeRecordGenerator(seed=7)
        with h.TempDir() as work, h.Emulators(streams={STREAM: 2}) as emu:
            h.produce(emu.kinesis, STREAM, gen.batch(50))
            sock = NotifySocket(tempfile.mkdtemp(prefix="notify-", dir=work))
            self.addCleanup(sock.close)
            sh = h.Shardhose(emu, os.path.join(work, "a"), STREAM, max_interval_s=1)

            # 1. WATCHDOG_PID = the daemon.
            p, log_path = self.start(sh, sock)
            try:
                sock.wait_for("READY", 90, proc=p)
                sock.wait_for("WATCHDOG", 10, proc=p)
                sock.poll(2.5)  # a few more STATUS/WATCHDOG ticks
                self.assertIsNone(p.poll(), "daemon exited early\n" + h.tail(log_path))
                p.send_signal(signal.SIGHUP)  # systemctl reload
                sock.wait_for("RELOADING", 10, proc=p)
                sock.poll(1.5)
                self.stop(p, log_path)
                sock.poll(0.5)
            finally:
                h.kill_group(p, 5)
            flat = sock.flat()
            keys = [k for k, _ in flat]
            h.log("notifications: %s" % sock.summary())
            for k in ("READY", "STATUS", "WATCHDOG", "STOPPING"):
                self.assertIn(k, keys, "no %s=; got %s" % (k, sock.summary()))
            ready, status, watchdog, stopping = (keys.index(k) for k in ("READY", "STATUS", "WATCHDOG", "STOPPING"))
            self.assertLess(ready, status, "STATUS= before READY=1")
            self.assertLess(status, watchdog, "WATCHDOG=1 before the first STATUS=")
            self.assertLess(watchdog, stopping, "STOPPING=1 before any WATCHDOG=1")
            self.assertEqual(keys.count("READY"), 2, "READY=1 not once at start and once after the reload")
            self.assertEqual(keys.count("RELOADING"), 1, "RELOADING=1 not once for one SIGHUP")
            reloading = keys.index("RELOADING")
            self.assertLess(watchdog, reloading)
            self.assertEqual(keys[reloading + 1], "MONOTONIC_USEC", "RELOADING=1 without MONOTONIC_USEC=")
            self.assertLess(reloading, keys.index("READY", reloading), "no READY=1 after RELOADING=1")
            self.assertLess(keys.index("READY", reloading), stopping)
            self.assertEqual(keys.count("STOPPING"), 1, "STOPPING=1 sent more than once")
            self.assertEqual(dict(flat)["READY"], "1")
            self.assertTrue(all(v == "1" for k, v in flat if k == "WATCHDOG"))
            statuses = [v for k, v in flat if k == "STATUS"]
            self.assertIn("2 shards", statuses[0], statuses[0])
            self.assertGreaterEqual(len(statuses), 3, "STATUS= not refreshed every second: %s" % statuses)
            after = [v for k, v in flat[stopping:] if k == "STATUS"]
            self.assertTrue(after and after[0].startswith("flushing"),
                            "no 'flushing' STATUS= with STOPPING=1: %s" % after[:2])
            # WATCHDOG=1 at about half of WATCHDOG_USEC while alive.
            wd_times = [t for t, _, f in sock.messages if any(k == "WATCHDOG" for k, _ in f)]
            self.assertGreaterEqual(len(wd_times), 3, "too few WATCHDOG=1 for %d us" % WATCHDOG_USEC)
            gaps = [b - a for a, b in zip(wd_times, wd_times[1:])]
            self.assertLess(max(gaps), WATCHDOG_USEC / 1e6, "WATCHDOG=1 gaps %s" % gaps)
            pids = {pid for _, pid, _ in sock.messages}
            self.assertEqual(pids, {p.pid}, "datagrams not all from the main pid (NotifyAccess=main)")

            # 2. WATCHDOG_PID = another process: the daemon must not feed it.
            sock.messages.clear()
            p, log_path = self.start(sh, sock, watchdog_pid_self=False)
            try:
                sock.wait_for("READY", 90, proc=p)
                sock.poll(2.5)
                self.stop(p, log_path)
                sock.poll(0.5)
            finally:
                h.kill_group(p, 5)
            keys = [k for k, _ in sock.flat()]
            self.assertNotIn("WATCHDOG", keys, "WATCHDOG=1 although WATCHDOG_PID names another process")
            self.assertIn("STOPPING", keys)


if __name__ == "__main__":
    unittest.main()
