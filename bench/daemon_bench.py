#!/usr/bin/env python3
"""The daemon as a process, against bench/kinesis_replay_server (a fast local Kinesis).

Figures, never assertions: prints one JSON object per mode (and a Markdown table row).

  drain   shardhose run --drain at default settings over a generated backlog; the
          daemon's CPU seconds (user + sys, from wait4) per GB consumed, peak RSS, threads.
          GB consumed = decoded Kinesis Data bytes served by the replay server; the NDJSON
          bytes written are reported too (gunzipped from the output).
  shards  shardhose run (not --drain) on many shards for --duration s after --warmup s:
          CPU %, RSS, threads, and GetRecords calls per shard as the server saw them
          (mean rate, most calls in any sliding 1 s window, shortest gap between two calls).
          --rate 0 = idle shards; --rate R = R records/s per shard.
  peer    shardhose run --drain and bench/node_peer/consumer.mjs (a consumer written the
          usual way with the AWS SDK v3: GetRecords -> JSON.parse -> unmarshall with
          wrapNumbers -> JSON.stringify -> gzip level 1 per partition) on the same replay
          server's records, alternating for --rounds: each one's CPU-s per GB of Data (wait4)
          and the ratio node / shardhose per round. Needs `npm ci` in bench/node_peer.

  peer-memory
          the same comparison in memory, no server and no sockets: hot_path_bench --only full
          (the engine's hot path: parse, decode, partition, batch, gzip) against consumer.mjs
          --pages (the same client and code, its request handler answering from memory) on the
          same GetRecords answers (hot_path_bench --dump-pages), alternating for --rounds; each
          one's CPU per GB of Data measured inside the process (the best and the median of its
          repetitions) and the ratio node / shardhose. --records is the total here.

The replay server's records come in time order per shard by default, as a table's changes do;
--event-times random spreads them uniformly over 6 h in any order (the figures before 2026-12-06).

Output goes to a discard sink: `file://` into a tmpfs directory (/dev/shm by default),
deleted afterwards; `--sink s3rver` uploads to s3rver from tests/emulators instead.

  python3 bench/daemon_bench.py drain --shards 4 --records 250000
  python3 bench/daemon_bench.py drain --shards 4 --records 100000 --sink s3rver
  python3 bench/daemon_bench.py shards --shards 1000 --rate 0 --duration 60
  python3 bench/daemon_bench.py shards --shards 1000 --rate 1 --duration 60
  python3 bench/daemon_bench.py peer --shards 4 --records 50000 --rounds 3
  python3 bench/daemon_bench.py peer-memory --records 100000 --rounds 3

Binaries: --build-dir (default ./build): build/daemon/shardhose and
build/bench/kinesis_replay_server (cmake -DSHARDHOSE_BENCH=ON, without -DSHARDHOSE_KILL_POINTS).
"""
import argparse
import datetime
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import zlib

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_cpu_s(pid):
    """user + sys CPU seconds of a live process (all threads)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return {"rss_mib": int(out["VmRSS"].split()[0]) / 1024, "hwm_mib": int(out["VmHWM"].split()[0]) / 1024,
            "threads": int(out["Threads"])}


class ReplayServer:
    def __init__(self, build_dir, args):
        exe = os.path.join(build_dir, "bench", "kinesis_replay_server")
        self.proc = subprocess.Popen([exe] + [str(a) for a in args], stdout=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        line = self.proc.stdout.readline().decode()
        if not line.startswith("PORT "):
            self.proc.kill()
            raise RuntimeError("replay server did not start: %r" % line)
        self.port = int(line.split()[1])
        self.url = "http://127.0.0.1:%d" % self.port

    def stats(self, reset=False):
        with urllib.request.urlopen(self.url + "/stats" + ("?reset=1" if reset else ""), timeout=10) as r:
            return json.loads(r.read())

    def cpu_s(self):
        return proc_cpu_s(self.proc.pid)

    def stop(self):
        self.proc.kill()
        self.proc.wait()


class S3rver:
    """s3rver from tests/emulators, as a sink (started through tests/e2e/harness.py)."""

    def __init__(self):
        sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
        import harness  # noqa: E402
        self.h = harness
        self.emu = harness.Emulators(streams={})
        self.emu.__enter__()

    def url(self):
        return self.emu.s3_url

    def stop(self):
        self.emu.__exit__(None, None, None)


def write_config(workdir, kinesis_url, output_url, extra_output=None, settings=()):
    # Defaults everywhere except where the data goes, and any --set; the HTTP
    # endpoint on a free port (its default port may be taken by another daemon).
    sections = {
        "source": {"stream_name": "bench", "region": "us-east-1", "endpoint_url": kinesis_url},
        "output": dict({"bucket": "lake", "region": "us-east-1", "endpoint_url": output_url}, **(extra_output or {})),
        "checkpoint": {"path": os.path.join(workdir, "checkpoint.json")},
        "server": {"listen": "127.0.0.1:%d" % free_port()},
    }
    for setting in settings:  # "batch.part_bytes=8388608"
        dotted, _, value = setting.partition("=")
        section, _, key = dotted.partition(".")
        try:
            value = json.loads(value)
        except ValueError:
            pass  # a bare string
        sections.setdefault(section, {})[key] = value
    lines = []
    for section, kv in sections.items():
        lines.append("[%s]" % section)
        lines += ["%s = %s" % (k, json.dumps(v)) for k, v in kv.items()]
        lines.append("")
    path = os.path.join(workdir, "shardhose.toml")
    with open(path, "w") as f:
        f.write("\n".join(lines))
    return path


def daemon_env():
    # s3rver accepts only its own key pair; the replay server checks none.
    env = {k: v for k, v in os.environ.items() if not (k.startswith("AWS_") or k.startswith("SHARDHOSE_"))}
    env.update({"AWS_ACCESS_KEY_ID": "S3RVER", "AWS_SECRET_ACCESS_KEY": "S3RVER", "AWS_REGION": "us-east-1",
                "AWS_EC2_METADATA_DISABLED": "true"})
    return env


def start_daemon(a, config, workdir, drain):
    exe = a.shardhose or os.path.join(a.build_dir, "daemon", "shardhose")
    cmd = [exe, "run", "--config", config, "--log-level", "info", "--log-format", "json"]
    if drain:
        cmd.append("--drain")
    log = open(os.path.join(workdir, "shardhose.log"), "wb")
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            env=daemon_env(), cwd=workdir)


def wait4(proc, timeout):
    """Waits for the child; returns (rc, rusage). Samples threads meanwhile."""
    deadline = time.time() + timeout
    max_threads = 0
    while True:
        pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, ru, max_threads
        try:
            max_threads = max(max_threads, proc_status(proc.pid)["threads"])
        except (FileNotFoundError, ProcessLookupError, KeyError):
            pass
        if time.time() > deadline:
            proc.kill()
            raise RuntimeError("shardhose did not finish within %s s" % timeout)
        time.sleep(0.2)


def ndjson_bytes(out_dir):
    """(NDJSON bytes, number of objects, bytes stored) written under out_dir."""
    total = objects = stored = 0
    for path in glob.glob(os.path.join(out_dir, "**", "*"), recursive=True):  # skips .shardhose-multipart
        if not os.path.isfile(path):
            continue
        with open(path, "rb") as f:
            data = f.read()
        total += len(zlib.decompress(data, 31)) if path.endswith(".gz") else len(data)
        objects += 1
        stored += len(data)
    return total, objects, stored


def git_rev():
    try:
        return subprocess.check_output(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], text=True).strip()
    except Exception:
        return "?"


def run_drain(a):
    workdir = tempfile.mkdtemp(prefix="shardhose-bench-", dir=a.tmp)
    out_dir = os.path.join(workdir, "out")
    os.makedirs(out_dir)
    server = ReplayServer(a.build_dir, ["--event-times", a.event_times, "--shards", a.shards, "--records", a.records, "--rate", 0,
                                        "--threads", a.server_threads])
    s3 = S3rver() if a.sink == "s3rver" else None
    try:
        extra = {"force_path_style": True} if s3 else None
        config = write_config(workdir, server.url, s3.url() if s3 else "file://" + out_dir, extra, a.set)
        server_cpu0 = server.cpu_s()
        t0 = time.time()
        proc = start_daemon(a, config, workdir, drain=True)
        rc, ru, threads = wait4(proc, a.timeout)
        wall = time.time() - t0
        server_cpu = server.cpu_s() - server_cpu0
        st = server.stats()
        if rc != 0:
            a.keep = True
            with open(os.path.join(workdir, "shardhose.log"), "rb") as f:
                sys.stderr.write(f.read()[-4000:].decode("utf-8", "replace"))
            raise RuntimeError("shardhose exited %s; kept %s" % (rc, workdir))
        cpu = ru.ru_utime + ru.ru_stime
        nd, objects, stored = ndjson_bytes(out_dir) if not s3 else (None, None, None)
        res = {
            "mode": "drain", "sink": a.sink, "event_times": a.event_times, "shards": a.shards, "records": st["records"],
            "data_gb": st["data_bytes"] / 1e9, "ndjson_gb": nd / 1e9 if nd is not None else None,
            "cpu_user_s": ru.ru_utime, "cpu_sys_s": ru.ru_stime, "cpu_s": cpu,
            "cpu_s_per_gb_data": cpu / (st["data_bytes"] / 1e9),
            "cpu_s_per_gb_ndjson": cpu / (nd / 1e9) if nd else None,
            "wall_s": wall, "data_mb_per_s_wall": st["data_bytes"] / 1e6 / wall,
            "peak_rss_mib": ru.ru_maxrss / 1024, "max_threads": threads, "objects": objects,
            "object_gb": stored / 1e9 if stored is not None else None,
            "settings": a.set,
            "get_records_calls": st["get_records_calls"], "server_cpu_s": server_cpu,
            "rev": git_rev(), "date": datetime.date.today().isoformat(),
        }
        print(json.dumps(res, indent=1))
        print("| %s | drain, %d shards x %d records, sink %s%s | %.2f | %s | %.2f | %.1f | %.0f | %d | %.1f |" % (
            res["date"], a.shards, a.records, a.sink, "".join(" --set " + x for x in a.set), res["data_gb"],
            "%.2f" % res["ndjson_gb"] if nd is not None else "-", res["cpu_s_per_gb_data"], res["cpu_s"],
            res["peak_rss_mib"], threads, res["data_mb_per_s_wall"]))
        return res
    finally:
        server.stop()
        if s3:
            s3.stop()
        if not a.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def run_peer(a):
    """shardhose and the Node.js peer on the same records, alternating."""
    node_dir = os.path.join(REPO, "bench", "node_peer")
    if not os.path.isdir(os.path.join(node_dir, "node_modules", "@aws-sdk", "client-kinesis")):
        raise RuntimeError("bench/node_peer/node_modules missing: (cd bench/node_peer && npm ci)")
    workdir = tempfile.mkdtemp(prefix="shardhose-bench-", dir=a.tmp)
    server = ReplayServer(a.build_dir, ["--event-times", a.event_times, "--shards", a.shards, "--records", a.records, "--rate", 0,
                                        "--threads", a.server_threads])
    rows = []
    try:
        for rnd in range(a.rounds):
            res = {}
            for who in ("shardhose", "node"):
                out_dir = os.path.join(workdir, "%s-%d" % (who, rnd))
                os.makedirs(out_dir)
                server.stats(reset=True)
                t0 = time.time()
                if who == "shardhose":
                    sub = os.path.join(workdir, "sh-%d" % rnd)
                    os.makedirs(sub)
                    config = write_config(sub, server.url, "file://" + out_dir, None, a.set)
                    proc = start_daemon(a, config, sub, drain=True)
                else:
                    proc = subprocess.Popen(["node", os.path.join(node_dir, "consumer.mjs"), "--endpoint", server.url,
                                             "--stream", "bench", "--out", out_dir], stdout=subprocess.PIPE,
                                            stdin=subprocess.DEVNULL, cwd=node_dir,
                                            env=dict(os.environ, NODE_NO_WARNINGS="1"))
                rc, ru, threads = wait4(proc, a.timeout)
                wall = time.time() - t0
                st = server.stats()
                if rc != 0:
                    a.keep = True
                    raise RuntimeError("%s exited %s; kept %s" % (who, rc, workdir))
                cpu = ru.ru_utime + ru.ru_stime
                nd, objects, _ = ndjson_bytes(out_dir)
                res[who] = {"cpu_s": cpu, "cpu_s_per_gb_data": cpu / (st["data_bytes"] / 1e9), "wall_s": wall,
                            "peak_rss_mib": ru.ru_maxrss / 1024, "ndjson_gb": nd / 1e9, "objects": objects,
                            "records": st["records"], "data_gb": st["data_bytes"] / 1e9}
                shutil.rmtree(out_dir, ignore_errors=True)
            res["ratio_cpu"] = res["node"]["cpu_s_per_gb_data"] / res["shardhose"]["cpu_s_per_gb_data"]
            rows.append(res)
            print("round %d: shardhose %.2f CPU-s/GB (%.0f MiB), node %.2f CPU-s/GB (%.0f MiB): node/shardhose %.1fx" % (
                rnd + 1, res["shardhose"]["cpu_s_per_gb_data"], res["shardhose"]["peak_rss_mib"],
                res["node"]["cpu_s_per_gb_data"], res["node"]["peak_rss_mib"], res["ratio_cpu"]), flush=True)
        ratios = sorted(r["ratio_cpu"] for r in rows)
        summary = {"mode": "peer", "event_times": a.event_times, "shards": a.shards, "records_per_shard": a.records, "rounds": rows,
                   "median_ratio_cpu": ratios[len(ratios) // 2], "settings": a.set,
                   "load_average": os.getloadavg(), "rev": git_rev(), "date": datetime.date.today().isoformat()}
        print(json.dumps(summary, indent=1))
        return summary
    finally:
        server.stop()
        if not a.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def run_peer_memory(a):
    """hot_path_bench --only full and consumer.mjs --pages on the same answers, alternating."""
    node_dir = os.path.join(REPO, "bench", "node_peer")
    if not os.path.isdir(os.path.join(node_dir, "node_modules", "@aws-sdk", "client-kinesis")):
        raise RuntimeError("bench/node_peer/node_modules missing: (cd bench/node_peer && npm ci)")
    hot = os.path.join(a.build_dir, "bench", "hot_path_bench")
    workdir = tempfile.mkdtemp(prefix="shardhose-bench-", dir=a.tmp)
    pages = os.path.join(workdir, "pages")
    rows = []
    try:
        subprocess.run([hot, "--records", str(a.records), "--dump-pages", pages], check=True)
        for rnd in range(a.rounds):
            out = subprocess.run([hot, "--records", str(a.records), "--rounds", "5", "--only", "full"], check=True,
                                 capture_output=True, text=True).stdout
            sh = json.loads(out.strip().splitlines()[-1])
            out = subprocess.run(["node", os.path.join(node_dir, "consumer.mjs"), "--pages", pages, "--rounds", "5"],
                                 check=True, capture_output=True, text=True, cwd=node_dir,
                                 env=dict(os.environ, NODE_NO_WARNINGS="1")).stdout
            node = sorted(json.loads(l)["cpu_s_per_gb"] for l in out.strip().splitlines()[1:])  # first: JIT warm-up
            res = {"shardhose_best": sh["cpu_s_per_gb_best"], "shardhose_median": sh["cpu_s_per_gb_median"],
                   "node_best": node[0], "node_median": node[len(node) // 2]}
            res["ratio_best"] = res["node_best"] / res["shardhose_best"]
            res["ratio_median"] = res["node_median"] / res["shardhose_median"]
            rows.append(res)
            print("round %d: shardhose %.2f (best %.2f) CPU-s/GB, node %.2f (best %.2f): node/shardhose %.1fx "
                  "(best rounds %.1fx)" % (rnd + 1, res["shardhose_median"], res["shardhose_best"],
                                           res["node_median"], res["node_best"], res["ratio_median"],
                                           res["ratio_best"]), flush=True)
        summary = {"mode": "peer-memory", "records": a.records, "data_gb": sh["data_bytes"] / 1e9, "rounds": rows,
                   "load_average": os.getloadavg(), "rev": git_rev(), "date": datetime.date.today().isoformat()}
        print(json.dumps(summary, indent=1))
        return summary
    finally:
        if not a.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def run_shards(a):
    workdir = tempfile.mkdtemp(prefix="shardhose-bench-", dir=a.tmp)
    out_dir = os.path.join(workdir, "out")
    os.makedirs(out_dir)
    server = ReplayServer(a.build_dir, ["--event-times", a.event_times, "--shards", a.shards, "--records", 0, "--rate", a.rate,
                                        "--threads", a.server_threads])
    proc = None
    try:
        config = write_config(workdir, server.url, "file://" + out_dir, None, a.set)
        proc = start_daemon(a, config, workdir, drain=False)
        time.sleep(a.warmup)
        if proc.poll() is not None:
            raise RuntimeError("shardhose exited %s; see %s" % (proc.returncode, workdir))
        server.stats(reset=True)
        cpu0, scpu0, t0 = proc_cpu_s(proc.pid), server.cpu_s(), time.time()
        samples = []
        while time.time() - t0 < a.duration:
            time.sleep(1)
            samples.append(proc_status(proc.pid))
        cpu1, scpu1, t1 = proc_cpu_s(proc.pid), server.cpu_s(), time.time()
        st = server.stats()
        proc.send_signal(signal.SIGTERM)
        rc, ru, _ = wait4(proc, 60)
        res = {
            "mode": "shards", "shards": a.shards, "rate_per_shard": a.rate, "window_s": t1 - t0,
            "cpu_pct": 100 * (cpu1 - cpu0) / (t1 - t0), "server_cpu_pct": 100 * (scpu1 - scpu0) / (t1 - t0),
            "rss_mib_end": samples[-1]["rss_mib"], "rss_mib_max": max(s["rss_mib"] for s in samples),
            "peak_rss_mib_process": ru.ru_maxrss / 1024, "threads": max(s["threads"] for s in samples),
            "shards_polled": st["shards_called"], "get_records_calls": st["get_records_calls"],
            "get_records_per_shard_per_s": st["get_records_per_shard_per_s"],
            "max_calls_in_1s_per_shard": st["max_calls_in_1s_per_shard"], "min_gap_ms": st["min_gap_ms"],
            "empty_calls": st["get_records_empty"], "records": st["records"],
            "get_shard_iterator_calls": st["get_shard_iterator_calls"], "exit": rc,
            "rev": git_rev(), "date": datetime.date.today().isoformat(),
        }
        print(json.dumps(res, indent=1))
        print("| %s | %d shards, %s | %.1f | %.0f | %d | %.2f | %d | %d |" % (
            res["date"], a.shards, "idle" if a.rate == 0 else "%g rec/s per shard" % a.rate, res["cpu_pct"],
            res["rss_mib_max"], res["threads"], res["get_records_per_shard_per_s"],
            res["max_calls_in_1s_per_shard"], res["min_gap_ms"]))
        return res
    finally:
        if proc and proc.poll() is None:
            proc.kill()
            proc.wait()
        server.stop()
        if not a.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["drain", "shards", "peer", "peer-memory"])
    p.add_argument("--build-dir", default=os.path.join(REPO, "build"))
    p.add_argument("--shardhose", help="the daemon binary (default: <build-dir>/daemon/shardhose)")
    p.add_argument("--shards", type=int, default=None, help="drain, peer: 4; shards: 1000")
    p.add_argument("--records", type=int, default=250000, help="drain, peer: records per shard")
    p.add_argument("--rounds", type=int, default=3, help="peer: alternating pairs")
    p.add_argument("--sink", choices=["file", "s3rver"], default="file")
    p.add_argument("--rate", type=float, default=0, help="shards: records/s per shard (0 = idle)")
    p.add_argument("--duration", type=float, default=60, help="shards: measured window, s")
    p.add_argument("--warmup", type=float, default=10, help="shards: s before the window")
    p.add_argument("--server-threads", type=int, default=32)
    p.add_argument("--event-times", choices=["ordered", "random"], default="ordered",
                   help="the replay server's records: in time order per shard (a table's changes), or "
                        "uniform over 6 h in any order")
    p.add_argument("--timeout", type=float, default=1800)
    p.add_argument("--tmp", default="/dev/shm" if os.path.isdir("/dev/shm") else None)
    p.add_argument("--keep", action="store_true", help="keep the work dir (config, log, output)")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="a setting other than the default (JSON value, or a bare string); repeatable")
    a = p.parse_args()
    if a.shards is None:
        a.shards = 1000 if a.mode == "shards" else 4
    {"drain": run_drain, "shards": run_shards, "peer": run_peer, "peer-memory": run_peer_memory}[a.mode](a)


if __name__ == "__main__":
    main()
