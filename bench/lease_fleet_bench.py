#!/usr/bin/env python3
"""Lease mode as a fleet of processes: N shardhose workers sharing one stream of many shards
through a lease table in AWS's DynamoDB Local, against bench/kinesis_replay_server.

Figures, never assertions: prints one JSON object (and Markdown rows for bench/README.md).

  1. steady state: the workers start on an idle (or slow) stream; once every lease is owned
     and --warmup s more have passed, a --window s window counts the lease-table traffic through a counting proxy in front of
     DynamoDB Local (requests per second by operation, write units, read units from the Scan
     pages' sizes: strongly consistent reads cost one unit per 4 KB) and prices it at on-demand
     rates; it also takes the workers' CPU over the window;
  2. local mode, same stream, same window: one process reading every shard with its checkpoint
     file -- the CPU the fleet is compared with;
  3. failover: one worker is SIGKILLed; the time until the survivors hold every lease, and until
     the replay server has seen a GetRecords on every shard since the kill (all its shards read
     again), in seconds and in lease durations.

  python3 bench/lease_fleet_bench.py --shards 1000 --workers 4

Prices assumed (us-east-1 on-demand, after the November 2024 price cut): $0.625 per million write
request units, $0.125 per million read request units. A lease item is well under 1 KB (one write
unit per write).

Binaries: --build-dir (default ./build): build/daemon/shardhose and
build/bench/kinesis_replay_server (cmake -DSHARDHOSE_BENCH=ON). DynamoDB Local comes from
tests/emulators (scripts/install-deps.sh).
"""

import argparse
import datetime
import http.client
import http.server
import json
import os
import shutil
import signal
import socketserver
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemon_bench as db  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
import harness  # noqa: E402

WRU_PRICE = 0.625e-6
RRU_PRICE = 0.125e-6
MONTH_S = 30 * 86400


class CountingProxy:
    """Forwards DynamoDB's JSON protocol to `upstream` and counts requests by X-Amz-Target, with
    the bytes of each answer (a Scan page's size is what its read units are counted from)."""

    def __init__(self, upstream_port):
        self.lock = threading.Lock()
        self.counts, self.answer_bytes = {}, {}
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                target = self.headers.get("X-Amz-Target", "?").split(".")[-1]
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                # One upstream connection per client connection, kept open (DynamoDB Local
                # resets connections when opened and closed at this rate).
                for attempt in range(3):
                    conn = getattr(self, "upstream", None)
                    if conn is None:
                        conn = self.upstream = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=60)
                    try:
                        conn.request("POST", self.path, body=body, headers=headers)
                        r = conn.getresponse()
                        data = r.read()
                        break
                    except (ConnectionError, http.client.HTTPException):
                        conn.close()
                        self.upstream = None
                        if attempt == 2:
                            raise
                with proxy.lock:
                    proxy.counts[target] = proxy.counts.get(target, 0) + 1
                    proxy.answer_bytes[target] = proxy.answer_bytes.get(target, 0) + len(data)
                self.send_response(r.status)
                for k, v in r.getheaders():
                    if k.lower() not in ("content-length", "connection", "transfer-encoding"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def take(self):
        with self.lock:
            c, b = dict(self.counts), dict(self.answer_bytes)
            self.counts.clear()
            self.answer_bytes.clear()
        return c, b

    def stop(self):
        self.server.shutdown()


def write_worker_config(workdir, kinesis_url, out_dir, ddb_url, worker, lease_s, settings):
    path = db.write_config(workdir, kinesis_url, "file://" + out_dir, None, settings)
    if worker is None:
        return path
    with open(path, "a") as f:
        f.write('[coordination]\nmode = "dynamodb"\nendpoint_url = "%s"\nworker_id = "%s"\nlease_duration_s = %d\n'
                % (ddb_url, worker, lease_s))
    return path


def start(a, config, workdir):
    exe = a.shardhose or os.path.join(a.build_dir, "daemon", "shardhose")
    log = open(os.path.join(workdir, "shardhose.log"), "wb")
    return subprocess.Popen([exe, "run", "--config", config, "--log-level", "info", "--log-format", "json"],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=db.daemon_env(),
                            cwd=workdir)


def owners(ddb, table):
    for attempt in range(5):
        try:
            items = ddb.client.scan(table)
            break
        except (OSError, http.client.HTTPException):  # a kept-alive connection DynamoDB Local closed
            if attempt == 4:
                raise
            time.sleep(1)
    out = {}
    for item in items:
        o = item.get("leaseOwner", {}).get("S", "")
        out[o] = out.get(o, 0) + 1
    return out


def traffic(counts, answer_bytes, window_s):
    writes = sum(counts.get(op, 0) for op in ("PutItem", "UpdateItem", "DeleteItem"))
    scan_rru = answer_bytes.get("Scan", 0) / 4096.0  # strongly consistent: 1 unit per 4 KB read
    get_rru = counts.get("GetItem", 0)
    per_s = {op: n / window_s for op, n in sorted(counts.items())}
    wru_s, rru_s = writes / window_s, (scan_rru + get_rru) / window_s
    return {"requests_per_s": per_s, "write_units_per_s": wru_s, "read_units_per_s": rru_s,
            "usd_per_month": (wru_s * WRU_PRICE + rru_s * RRU_PRICE) * MONTH_S}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build-dir", default=os.path.join(REPO, "build"))
    p.add_argument("--shardhose")
    p.add_argument("--shards", type=int, default=1000)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--rate", type=float, default=0, help="records/s per shard (0 = idle)")
    p.add_argument("--window", type=float, default=60, help="steady-state window, s")
    p.add_argument("--warmup", type=float, default=90,
                   help="s between balance and the window (each lease's first progress write comes after it is taken)")
    p.add_argument("--lease-duration", type=int, default=10)
    p.add_argument("--timeout", type=float, default=600)
    p.add_argument("--tmp", default="/dev/shm" if os.path.isdir("/dev/shm") else None)
    p.add_argument("--keep", action="store_true")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    a = p.parse_args()

    work = tempfile.mkdtemp(prefix="shardhose-lease-bench-", dir=a.tmp)
    server = db.ReplayServer(a.build_dir, ["--shards", a.shards, "--records", 0, "--rate", a.rate, "--threads", 32])
    table = "shardhose-bench-leases"
    procs = {}
    res = {"shards": a.shards, "workers": a.workers, "rate_per_shard": a.rate, "lease_duration_s": a.lease_duration,
           "rev": db.git_rev(), "date": datetime.date.today().isoformat()}
    try:
        with harness.DynamoDbLocal(work) as ddb:
            proxy = CountingProxy(int(ddb.url.rsplit(":", 1)[1]))
            proxy_url = "http://127.0.0.1:%d" % proxy.port
            names = ["w%d" % i for i in range(a.workers)]
            for name in names:
                wd = os.path.join(work, name)
                os.makedirs(os.path.join(wd, "out"))
                cfg = write_worker_config(wd, server.url, os.path.join(wd, "out"), proxy_url, name,
                                          a.lease_duration, a.set)
                procs[name] = start(a, cfg, wd)
            t0 = time.time()
            while True:
                o = owners(ddb, table) if time.time() - t0 > 2 else {}
                if sum(o.values()) == a.shards and "" not in o and all(n in o for n in names) and \
                        max(o.values()) - min(o.values()) <= 1:
                    break
                for name, pr in procs.items():
                    if pr.poll() is not None:
                        raise RuntimeError("%s exited %s; see %s" % (name, pr.returncode, work))
                if time.time() - t0 > a.timeout:
                    raise RuntimeError("leases not balanced after %ss: %s" % (a.timeout, o))
                if o:
                    harness.log("owners: %s" % sorted(o.items()))
                time.sleep(1)
            res["balanced_after_start_s"] = time.time() - t0
            res["owners"] = owners(ddb, table)

            # 1. steady state
            time.sleep(a.warmup)
            proxy.take()
            cpu0 = {n: db.proc_cpu_s(pr.pid) for n, pr in procs.items()}
            w0 = time.time()
            time.sleep(a.window)
            w1 = time.time()
            counts, answer_bytes = proxy.take()
            cpu = {n: db.proc_cpu_s(pr.pid) - cpu0[n] for n, pr in procs.items()}
            res["steady"] = traffic(counts, answer_bytes, w1 - w0)
            res["steady"]["fleet_cpu_pct"] = 100 * sum(cpu.values()) / (w1 - w0)
            res["steady"]["rss_mib"] = {n: db.proc_status(pr.pid)["rss_mib"] for n, pr in procs.items()}
            res["steady"]["usd_per_shard_month"] = res["steady"]["usd_per_month"] / a.shards

            # 3. failover (before the local run: the fleet is up)
            victim = names[-1]
            server.stats(reset=True)
            k0 = time.time()
            procs[victim].send_signal(signal.SIGKILL)
            procs[victim].wait()
            taken = read = None
            while time.time() - k0 < a.timeout and (taken is None or read is None):
                if taken is None:
                    o = owners(ddb, table)
                    if victim not in o and "" not in o and sum(o.values()) == a.shards:
                        taken = time.time() - k0
                if read is None and server.stats().get("shards_called", 0) >= a.shards:
                    read = time.time() - k0
                time.sleep(0.25)
            res["failover"] = {"leases_held_again_s": taken, "all_shards_read_again_s": read,
                               "in_lease_durations": read / a.lease_duration if read else None}
            for name in names[:-1]:
                procs[name].send_signal(signal.SIGTERM)
            for name in names[:-1]:
                procs[name].wait(timeout=120)
            proxy.stop()

        # 2. local mode, same stream and window
        wd = os.path.join(work, "local")
        os.makedirs(os.path.join(wd, "out"))
        cfg = write_worker_config(wd, server.url, os.path.join(wd, "out"), None, None, 0, a.set)
        local = start(a, cfg, wd)
        time.sleep(max(15, a.lease_duration))
        c0, l0 = db.proc_cpu_s(local.pid), time.time()
        time.sleep(a.window)
        res["local_cpu_pct"] = 100 * (db.proc_cpu_s(local.pid) - c0) / (time.time() - l0)
        res["local_rss_mib"] = db.proc_status(local.pid)["rss_mib"]
        local.send_signal(signal.SIGTERM)
        local.wait(timeout=120)
        res["fleet_cpu_over_local"] = res["steady"]["fleet_cpu_pct"] / res["local_cpu_pct"]
    finally:
        for pr in procs.values():
            if pr.poll() is None:
                pr.kill()
                pr.wait()
        server.stop()
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(res, indent=1))
    st = res["steady"]
    print("| %s | %d shards x %d workers, %s | %.2f | %.2f | $%.2f ($%.4f/shard) | %.1f %% vs %.1f %% (%.2fx) | "
          "%.1f s / %.1f s (%.1f lease durations) |" % (
              res["date"], a.shards, a.workers, "idle" if a.rate == 0 else "%g rec/s per shard" % a.rate,
              st["write_units_per_s"], st["read_units_per_s"], st["usd_per_month"], st["usd_per_shard_month"],
              st["fleet_cpu_pct"], res["local_cpu_pct"], res["fleet_cpu_over_local"],
              res["failover"]["leases_held_again_s"] or -1, res["failover"]["all_shards_read_again_s"] or -1,
              res["failover"]["in_lease_durations"] or -1))


if __name__ == "__main__":
    main()
