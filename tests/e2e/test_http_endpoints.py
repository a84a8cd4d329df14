"""HTTP endpoint: `shardhose run` with [server] listen on a free port answers
/healthz and /readyz once it has started, and /metrics shows the records it
read and the objects it wrote (lib/metrics/names.md) in a format that
`promtool check metrics` accepts. After SIGTERM the port is closed."""

import http.client
import re
import shutil
import subprocess
import unittest

import harness as h

STREAM = "ddb-http"

SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def get(port, path, method="GET"):
    """(status, headers dict with lower-case names, body text)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request(method, path)
        r = c.getresponse()
        body = r.read().decode("utf-8")
        return r.status, {k.lower(): v for k, v in r.getheaders()}, body
    finally:
        c.close()


def status_of(port, path):
    try:
        return get(port, path)[0]
    except OSError:
        return None


def parse_metrics(text):
    """{name: [(labels dict, float value)]} from a text exposition; also
    checks that every sample line parses."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE_RE.match(line)
        if not m:
            raise AssertionError("unparsable sample line: %r" % line)
        labels = dict(LABEL_RE.findall(m.group(2) or ""))
        out.setdefault(m.group(1), []).append((labels, float(m.group(3))))
    return out


def total(metrics, name):
    return sum(v for _, v in metrics.get(name, []))


class HttpEndpointsTest(unittest.TestCase):
    def test_health_ready_and_metrics(self):
        gen = h.ChangeRecordGenerator(seed=9600)
        with h.TempDir() as work, h.Emulators(streams={STREAM: 2}) as emu:
            port = h.free_port()
            sh = h.Shardhose(emu, work, STREAM, max_bytes=64 * 1024, max_interval_s=1,
                             server__listen="127.0.0.1:%d" % port)
            try:
                sh.start()
                h.wait_for(lambda: status_of(port, "/readyz") == 200 or sh.proc.poll() is not None, 90,
                           what="/readyz to answer 200")
                self.assertIsNone(sh.proc.poll(), "daemon exited before it was ready")
                status, _, body = get(port, "/readyz")
                self.assertEqual(status, 200)
                self.assertRegex(body, r"^ready: .+\n$")
                status, _, body = get(port, "/healthz")
                self.assertEqual((status, body), (200, "ok\n"))
                self.assertEqual(get(port, "/nope")[0], 404)

                status, headers, text = get(port, "/metrics")
                self.assertEqual(status, 200)
                self.assertTrue(headers.get("content-type", "").startswith("text/plain; version=0.0.4"),
                                headers)
                before = parse_metrics(text)
                self.assertEqual(total(before, "shardhose_records_in_total"), 0, "nothing produced yet")
                self.assertEqual(total(before, "shardhose_objects_out_total"), 0)

                produced = h.produce(emu.kinesis, STREAM, gen.batch(600, wide=1), gen.malformed())
                n = len(produced)

                state = {}

                def settled():
                    state["text"] = get(port, "/metrics")[2]
                    m = parse_metrics(state["text"])
                    objects = len(emu.s3.list_objects())
                    state["m"], state["objects"] = m, objects
                    return (total(m, "shardhose_records_in_total") == n and objects > 0 and
                            total(m, "shardhose_objects_out_total") == objects and
                            total(m, "shardhose_records_out_total") == n)

                try:
                    h.wait_for(settled, 120, what="metrics to count every record in and out")
                except AssertionError:
                    raise AssertionError("produced %d records, %d objects in the bucket; last scrape:\n%s"
                                         % (n, state.get("objects", -1), state.get("text", "")))
                m, text = state["m"], state["text"]

                # Per-shard input: both shards read, and the labels are shard ids.
                shards = {labels.get("shard") for labels, v in m["shardhose_records_in_total"] if v > 0}
                self.assertEqual(shards, {rec[1] for rec in produced.records.values()} |
                                 {mal[2] for mal in produced.malformed})
                self.assertGreater(total(m, "shardhose_bytes_in_total"), 0)
                self.assertGreater(total(m, "shardhose_bytes_out_total"), 0)
                objects_bytes = sum(size for _, size in emu.s3.list_objects())
                self.assertEqual(total(m, "shardhose_bytes_out_total"), objects_bytes,
                                 "bytes out = the sizes of the objects in the bucket")
                self.assertEqual(total(m, "shardhose_error_records_total"), len(produced.malformed))
                self.assertGreaterEqual(total(m, "shardhose_flushes_total"), total(m, "shardhose_objects_out_total"))
                uploads = [v for labels, v in m.get("shardhose_upload_seconds_count", [])]
                self.assertTrue(uploads and sum(uploads) >= total(m, "shardhose_objects_out_total"),
                                "upload_seconds counts every upload attempt")

                # The exposition is valid Prometheus text (lint included).
                promtool = shutil.which("promtool")
                if promtool:
                    p = subprocess.run([promtool, "check", "metrics"], input=text.encode(),
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
                    self.assertEqual((p.returncode, p.stdout.decode()), (0, ""),
                                     "promtool check metrics:\n%s" % text)

                rc, out = sh.stop()
                self.assertEqual(rc, 0, out[-6000:])
                self.assertIsNone(status_of(port, "/healthz"), "still serving after exit")
            finally:
                sh.close()
            if not shutil.which("promtool"):
                self.skipTest("promtool not installed (Debian package prometheus): exposition not linted")


if __name__ == "__main__":
    unittest.main()
