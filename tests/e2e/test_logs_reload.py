"""Logs an operator can use, and SIGHUP (issue 10, finding 8).

- SIGHUP re-reads the file: log.level and batch.max_interval_s apply live
  (the open batch is flushed by the new rule, debug lines appear), a
  changed output.upload_threads is named as needing a restart; an invalid
  file is logged key by key and ignored; the daemon keeps running and
  delivers every record exactly once.
- `run --log-format json` with a bad configuration: JSON lines on stdout,
  one per problem with its key, exit 2.
- An upload retry (one S3 503 from fault_proxy.py) is one short JSON line
  with fields: key, attempt, aws_code, cause, retry_in_ms.
"""

import json
import os
import signal
import socket
import subprocess
import time
import unittest
import urllib.request

import fault_proxy as fp
import harness as h

STREAM = "ddb-logs"


def json_lines(text):
    """Every line of `text` parsed as JSON (fails on any other line)."""
    out = []
    for ln in text.splitlines():
        if ln.strip():
            out.append(json.loads(ln))
    return out


def records_in(port):
    """shardhose_records_in_total, 0 while the endpoint is not up yet."""
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return 0
    return sum(float(ln.rsplit(" ", 1)[1]) for ln in text.splitlines()
               if ln.startswith("shardhose_records_in_total"))


class ReloadTest(unittest.TestCase):
    def test_sighup_applies_level_and_flush_rule_and_survives_a_bad_file(self):
        gen = h.ChangeRecordGenerator(seed=10)
        with h.TempDir() as work, h.Emulators(streams={STREAM: 1}) as emu:
            port = h.free_port()
            sh = h.Shardhose(emu, work, STREAM, max_bytes=8 << 20, max_interval_s=3600,
                             server__listen="127.0.0.1:%d" % port)
            produced = h.Produced()
            h.produce(emu.kinesis, STREAM, gen.batch(40), produced=produced)
            sh.start(log_level=None, extra=("--log-format", "json"))
            try:
                h.wait_for(lambda: records_in(port) >= 40, 60, what="40 records read")
                time.sleep(1)
                self.assertEqual(len(h.s3_objects(emu.s3)), 0, "flushed before the reload")

                sh.sections["batch"]["max_interval_s"] = 1
                sh.sections["output"]["upload_threads"] = 2
                sh.sections["log"] = {"level": "debug"}
                sh.write_config()
                sh.proc.send_signal(signal.SIGHUP)
                h.wait_for(lambda: len(h.s3_objects(emu.s3)) >= 1, 30, what="the open batch flushed by age 1 s")
                h.wait_for(lambda: '"msg":"configuration reloaded"' in sh.output(), 10, what="reload logged")
                lines = json_lines(sh.output())
                applied = {ln.get("key"): ln for ln in lines if ln["msg"] == "configuration change applied"}
                self.assertEqual(applied["batch.max_interval_s"]["from"], "3600")
                self.assertEqual(applied["batch.max_interval_s"]["to"], "1")
                self.assertEqual(applied["log.level"]["to"], '"debug"')
                restart = [ln for ln in lines if ln["msg"].startswith("configuration change needs a restart")]
                self.assertEqual([ln["key"] for ln in restart], ["output.upload_threads"], restart)
                self.assertEqual(restart[0]["level"], "warning")
                h.wait_for(lambda: any(ln["level"] == "debug" for ln in json_lines(sh.output())), 10,
                           what="debug lines after the reload")

                # An invalid file: logged with its key, ignored.
                with open(sh.config_path) as f:
                    sh.write_config(f.read().replace("max_interval_s = 1", "max_interval_s = -5"))
                sh.proc.send_signal(signal.SIGHUP)
                h.wait_for(lambda: "still running on the previous one" in sh.output(), 10,
                           what="the invalid file logged")
                bad = [ln for ln in json_lines(sh.output()) if ln["msg"] == "invalid configuration on reload"]
                self.assertEqual([ln.get("key") for ln in bad], ["batch.max_interval_s"], bad)
                self.assertEqual(bad[0]["level"], "error")
                time.sleep(1)
                self.assertIsNone(sh.proc.poll(), "exited after SIGHUP\n" + sh.output()[-4000:])

                # The live rule stays: new records are flushed within seconds.
                before = len(h.s3_objects(emu.s3))
                h.produce(emu.kinesis, STREAM, gen.batch(20), produced=produced)
                h.wait_for(lambda: len(h.s3_objects(emu.s3)) > before, 30, what="new records flushed by age")
            except BaseException:
                sh.close()
                raise
            rc, text = sh.stop(signal.SIGTERM)
            self.assertEqual(rc, 0, text[-6000:])
            h.check_exactly_once(self, produced, h.Output(h.s3_objects(emu.s3)))

    def test_retry_line_is_short_with_fields(self):
        gen = h.ChangeRecordGenerator(seed=11)
        with h.TempDir() as work, h.Emulators(streams={STREAM: 1}) as emu, \
                fp.FaultProxy(emu.s3_port, "s3", seed=1) as proxy:
            sh = h.Shardhose(emu, work, STREAM, max_interval_s=1, output__endpoint_url=proxy.url)
            produced = h.Produced()
            sh.start(extra=("--log-format", "json"))
            try:
                # The start-up check's probe PUTs first, without faults: the
                # 503 is for an upload.
                h.wait_for(lambda: "is writable" in sh.output(), 60, what="the start-up check")
                proxy.set_rates({"503": 1.0})
                h.produce(emu.kinesis, STREAM, gen.batch(30), produced=produced)
                h.wait_for(lambda: proxy.counts.get("503", 0) >= 1, 60, what="a 503 injected")
                proxy.set_rates({})
                h.wait_for(lambda: len(h.s3_objects(emu.s3)) >= 1, 60, what="the upload after the retry")
            except BaseException:
                sh.close()
                raise
            rc, text = sh.stop(signal.SIGTERM)
            self.assertEqual(rc, 0, text[-6000:])
            retries = [ln for ln in text.splitlines() if '"upload failed, retrying"' in ln]
            self.assertTrue(retries, text[-4000:])
            line = retries[0]
            obj = json.loads(line)
            self.assertEqual(obj["level"], "warning")
            self.assertEqual(obj["op"], "PutObject")
            self.assertEqual(obj["attempt"], 1)
            self.assertEqual(obj["aws_code"], "SlowDown")
            self.assertIn("503", obj["cause"])
            self.assertIsInstance(obj["retry_in_ms"], int)
            self.assertTrue(obj["key"].startswith("ddb/"), obj)
            self.assertEqual(line.count(obj["key"]), 1, "the key once: " + line)
            # Short: besides the key (~130 characters, its length set by the
            # sequence numbers in it), under 240.
            self.assertLess(len(line) - len(obj["key"]), 240, line)
            h.check_exactly_once(self, produced, h.Output(h.s3_objects(emu.s3)))


class _NoEmulators:
    kinesis_url = "http://127.0.0.1:9"
    s3_url = "http://127.0.0.1:9"


class ConfigErrorsTest(unittest.TestCase):
    def test_json_config_errors_are_json_lines(self):
        with h.TempDir() as work:
            sh = h.Shardhose(_NoEmulators(), work, STREAM)
            with open(sh.config_path) as f:
                sh.write_config(f.read() + "\n[log]\nlevel = \"loud\"\n[extra]\nx = 1\n")
            rc, text = sh.run("run", "--config", sh.config_path, "--log-format", "json", what="bad")
            self.assertEqual(rc, 2, text)
            lines = json_lines(text)  # nothing but JSON, stdout and stderr together
            self.assertEqual({ln["msg"] for ln in lines}, {"invalid configuration"}, text)
            self.assertEqual({ln["level"] for ln in lines}, {"error"})
            by_key = {ln.get("key"): ln for ln in lines}
            self.assertIn("log.level", by_key, text)
            self.assertIn("extra", by_key, text)
            self.assertEqual(by_key["log.level"]["config"], sh.config_path)

            rc, text = sh.run("run", "--config", sh.config_path, what="bad-text")
            self.assertEqual(rc, 2, text)
            self.assertTrue(text.startswith("shardhose: invalid configuration in "), text)

    def test_journald_lines_carry_priorities_and_no_timestamp(self):
        """JOURNAL_STREAM naming stderr: every text line starts with its
        syslog priority and no timestamp; configuration errors too."""
        with h.TempDir() as work, socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen(1)
            sh = h.Shardhose(_NoEmulators(), work, STREAM, server__listen="127.0.0.1:%d" % taken.getsockname()[1])

            def run(what):
                path = os.path.join(work, what + ".log")
                with open(path, "wb") as out:
                    st = os.fstat(out.fileno())
                    env = dict(sh.env(), JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino))
                    rc = subprocess.run([h.shardhose_bin(), "run", "--config", sh.config_path], stdout=out,
                                        stderr=out, stdin=subprocess.DEVNULL, env=env, timeout=60).returncode
                with open(path) as f:
                    return rc, f.read()

            rc, text = run("port-taken")  # starts, then cannot listen: exit 6 (port in use)
            self.assertEqual(rc, 6, text)
            lines = text.splitlines()
            self.assertTrue(lines, text)
            for ln in lines:
                self.assertRegex(ln, r"^<[3467]>(error|warning|info|debug) ", text)
            self.assertTrue(any(ln.startswith("<6>info  shardhose starting ") for ln in lines), text)
            self.assertTrue(any(ln.startswith("<3>error server.listen") for ln in lines), text)
            self.assertNotRegex(text, r"\d{4}-\d\d-\d\dT\d\d:\d\d")  # journald stamps the lines

            with open(sh.config_path) as f:
                sh.write_config(f.read() + "\n[extra]\nx = 1\n")
            rc, text = run("bad-config")
            self.assertEqual(rc, 2, text)
            self.assertTrue(text.startswith("<3>shardhose: invalid configuration in "), text)
            for ln in text.splitlines():
                self.assertTrue(ln.startswith("<3>"), text)


if __name__ == "__main__":
    unittest.main()
