"""Health tells the truth about Kinesis (issue 10, finding 1), with
fault_proxy.FaultProxy in front of kinesis-local and set_down(True) cutting
the endpoint (connections refused and reset):

- cut mid-run: /readyz turns 503 naming the shard, "no successful read" and
  the last error, and shardhose_behind_latest_seconds grows while
  shardhose_shard_last_read_timestamp_seconds stays; back: 200 again and the
  lag falls to what Kinesis says;
- down at start: /readyz 503 "not started yet: DescribeStreamSummary
  failing ..." (a reason, not a bare 503), then 200 once it is back;
- run --drain with Kinesis down: progress lines at info level say why it
  is not started, and it gives up (exit 1) after source.drain_give_up_after_s;
- run --drain reading a stream: the progress line and the summary line;
- a stream that does not exist: exit 1 within seconds with the AWS code and
  what to check.
Also: the process_* metrics are exposed."""

import http.client
import re
import time
import unittest

import fault_proxy as fp
import harness as h

STREAM = "ddb-health"


def get(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read().decode("utf-8")
    except OSError:
        return None, ""
    finally:
        c.close()


def samples(text, name):
    """{labels text: value} of metric `name` in an exposition."""
    out = {}
    for m in re.finditer(r"^%s(\{[^}]*\})? (\S+)$" % re.escape(name), text, re.M):
        out[m.group(1) or ""] = float(m.group(2))
    return out


class KinesisHealthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls._work = h.TempDir()
        cls.work = cls._work.__enter__()
        cls._emu = h.Emulators(streams={STREAM: 2})
        cls.emu = cls._emu.__enter__()
        cls.gen = h.ChangeRecordGenerator(seed=1010)

    @classmethod
    def tearDownClass(cls):
        cls._emu.__exit__(None, None, None)
        cls._work.__exit__(None, None, None)

    def daemon(self, name, proxy, **overrides):
        port = h.free_port()
        settings = dict(max_bytes=64 * 1024, max_interval_s=1, source__endpoint_url=proxy.url,
                        source__stall_after_s=5, server__listen="127.0.0.1:%d" % port)
        settings.update(overrides)
        sh = h.Shardhose(self.emu, "%s/%s" % (self.work, name), STREAM, **settings)
        return sh, port

    def test_cut_mid_run_is_not_ready_and_the_lag_grows(self):
        with fp.FaultProxy(self.emu.kinesis_port, "kinesis") as proxy:
            sh, port = self.daemon("cut", proxy)
            try:
                h.produce(self.emu.kinesis, STREAM, self.gen.batch(200))
                sh.start()
                # Ready comes at start; each shard's last-read time after its
                # first successful read (later under a slow build: ASan).
                def read_both():
                    if sh.proc.poll() is not None:
                        return True
                    metrics = get(port, "/metrics")[1]
                    return (get(port, "/readyz")[0] == 200 and
                            len(samples(metrics, "shardhose_shard_last_read_timestamp_seconds")) == 2)
                h.wait_for(read_both, 90, what="/readyz 200 and both shards read once")
                self.assertIsNone(sh.proc.poll(), sh.output()[-4000:])
                text = get(port, "/metrics")[1]
                last_read = samples(text, "shardhose_shard_last_read_timestamp_seconds")
                self.assertEqual(len(last_read), 2, text)
                self.assertTrue(all(abs(v - time.time()) < 60 for v in last_read.values()), last_read)
                for name in ("process_cpu_seconds_total", "process_resident_memory_bytes",
                             "process_virtual_memory_bytes", "process_open_fds", "process_max_fds",
                             "process_start_time_seconds"):
                    self.assertTrue(samples(text, name), "missing " + name)
                self.assertGreater(samples(text, "process_open_fds")[""], 3)
                self.assertLess(abs(samples(text, "process_start_time_seconds")[""] - time.time()), 300)

                cut = time.time()
                proxy.set_down(True)
                state = {}

                def not_ready():
                    state["r"] = get(port, "/readyz")
                    return state["r"][0] == 503 and "no successful read for" in state["r"][1]
                h.wait_for(not_ready, 60, what="/readyz 503 naming the stalled shard")
                status, body = state["r"]
                self.assertRegex(body, r"^stalled: shard shardId-\d+: no successful read for \d+ s: "
                                       r"(GetRecords|GetShardIterator) failed: .+\n$")
                self.assertGreaterEqual(time.time() - cut, 4.5, "stalled before source.stall_after_s")
                self.assertEqual(get(port, "/healthz")[0], 200, "a stall is not a liveness failure")

                text = get(port, "/metrics")[1]
                lag1 = max(samples(text, "shardhose_behind_latest_seconds").values())
                read1 = samples(text, "shardhose_shard_last_read_timestamp_seconds")
                self.assertGreaterEqual(lag1, 5)
                time.sleep(3)
                text = get(port, "/metrics")[1]
                lag2 = max(samples(text, "shardhose_behind_latest_seconds").values())
                self.assertGreaterEqual(lag2, lag1 + 2, "the lag grows while Kinesis is cut")
                read2 = samples(text, "shardhose_shard_last_read_timestamp_seconds")
                self.assertEqual(read1, read2, "no read succeeded while Kinesis is cut")
                self.assertTrue(all(v <= cut + 1 for v in read2.values()), (read2, cut))

                proxy.set_down(False)
                h.wait_for(lambda: get(port, "/readyz")[0] == 200, 60, what="/readyz 200 after Kinesis is back")
                text = get(port, "/metrics")[1]
                self.assertLess(max(samples(text, "shardhose_behind_latest_seconds").values()), 5)
                self.assertTrue(all(v > cut for v in
                                    samples(text, "shardhose_shard_last_read_timestamp_seconds").values()))
                rc, out = sh.stop()
                self.assertEqual(rc, 0, out[-6000:])
                self.assertRegex(out, r"poll failed, backing off shard=shardId-\d+ op=GetRecords ")
            finally:
                sh.close()

    def test_down_at_start_says_why(self):
        with fp.FaultProxy(self.emu.kinesis_port, "kinesis") as proxy:
            proxy.set_down(True)
            sh, port = self.daemon("start", proxy)
            try:
                sh.start()
                state = {}

                def reason():
                    state["r"] = get(port, "/readyz")
                    return state["r"][0] == 503 and "DescribeStreamSummary" in state["r"][1]
                h.wait_for(reason, 60, what="/readyz 503 with a reason")
                self.assertRegex(state["r"][1], r"^not started yet: DescribeStreamSummary failing.*: Unavailable: ")
                self.assertIsNone(sh.proc.poll(), "run gave up on a transient failure")
                proxy.set_down(False)
                h.wait_for(lambda: get(port, "/readyz")[0] == 200, 60, what="/readyz 200 once Kinesis is up")
                rc, out = sh.stop()
                self.assertEqual(rc, 0, out[-6000:])
            finally:
                sh.close()

    def test_drain_gives_up_when_kinesis_stays_down(self):
        with fp.FaultProxy(self.emu.kinesis_port, "kinesis") as proxy:
            proxy.set_down(True)
            sh, _ = self.daemon("giveup", proxy, source__drain_give_up_after_s=4, log__progress_interval_s=1,
                                server__listen="")
            started = time.time()
            rc, out = sh.run("run", "--config", sh.config_path, "--drain", "--log-level", "info",
                             timeout=120, what="drain")
            self.assertEqual(rc, 1, out[-6000:])
            self.assertLess(time.time() - started, 60)
            self.assertRegex(out, r"DescribeStreamSummary has failed for \d+ s, giving up \(run --drain, "
                                  r"source.drain_give_up_after_s = 4\)")
            self.assertRegex(out, r"\binfo\s+progress: starting: DescribeStreamSummary failing")

    def test_drain_prints_progress_and_a_summary(self):
        with fp.FaultProxy(self.emu.kinesis_port, "kinesis", rates={"delay": 0.3}, delay_s=0.7) as proxy:
            h.produce(self.emu.kinesis, STREAM, self.gen.batch(300))
            sh, _ = self.daemon("progress", proxy, log__progress_interval_s=1, server__listen="",
                                source__max_records_per_call=10)
            out = sh.drain(timeout=300)
            lines = re.findall(r"\binfo\s+(progress: in .*)", out)
            self.assertTrue(lines, out[-6000:])
            self.assertRegex(lines[0], r"^progress: in \d+ records/s [\d.]+ MB/s \| out \+\d+ objects \+[\d.]+ MB "
                                       r"\(total \d+, [\d.]+ MB\) \| lag (\?|[\d.]+ s) \| buffered [\d.]+ MB \| "
                                       r"drain( ETA|:)")
            m = re.search(r"\binfo\s+done in [^:]+: (\d+) records \([\d.]+ MB\) in, (\d+) objects", out)
            self.assertTrue(m, out[-4000:])
            self.assertGreaterEqual(int(m.group(1)), 300)
            self.assertGreater(int(m.group(2)), 0)

    def test_missing_stream_fails_fast(self):
        sh = h.Shardhose(self.emu, "%s/missing" % self.work, "ddb-no-such-stream")
        started = time.time()
        rc, out = sh.run("run", "--config", sh.config_path, "--log-level", "info", timeout=60, what="run")
        self.assertEqual(rc, 1, out[-4000:])
        self.assertLess(time.time() - started, 30)
        self.assertIn("ResourceNotFoundException", out)
        self.assertIn("check source.stream_name", out)


if __name__ == "__main__":
    unittest.main()
