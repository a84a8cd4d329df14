#!/usr/bin/env python3
"""End-to-end latency: PutRecord -> the object holding the record is listable in S3.

Figures, never assertions. kinesis-local + s3rver (tests/e2e/harness.py starts them on free
ports), shardhose `run` with `batch.max_interval_s = 1` and every other key at its default
(poll_interval_ms 200, idle_poll_interval_ms 1000, gzip). A producer puts one change record
at a time at --rate records/s for --duration s (event times = now, so a live stream's
partitions); a lister calls ListObjectsV2 every --list-interval s, downloads each new object
once and maps the event ids in it to the time the listing first showed the object.

Per record: latency = first listing showing its object - the moment its PutRecord was sent.
Reported: p50, p90, p99, max, and how many records were never seen (should be 0).
The listing interval quantises the figure (up to one interval late, + the LIST's own time).

  python3 bench/latency_bench.py --rate 10 --duration 60 --shards 2

Binary: SHARDHOSE_BIN or ./build/daemon/shardhose.
"""
import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zlib

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
import harness  # noqa: E402


def percentile(sorted_v, q):
    if not sorted_v:
        return float("nan")
    k = min(len(sorted_v) - 1, max(0, int(round(q / 100.0 * (len(sorted_v) - 1)))))
    return sorted_v[k]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rate", type=float, default=10, help="records per second")
    p.add_argument("--duration", type=float, default=60, help="seconds of producing")
    p.add_argument("--shards", type=int, default=2)
    p.add_argument("--list-interval", type=float, default=0.1)
    p.add_argument("--max-interval-s", type=int, default=1)
    p.add_argument("--settle", type=float, default=30, help="max s to wait for the last records")
    a = p.parse_args()
    if "SHARDHOSE_BIN" not in os.environ:
        os.environ["SHARDHOSE_BIN"] = os.path.join(REPO, "build", "daemon", "shardhose")

    stream = "latency"
    workdir = tempfile.mkdtemp(prefix="shardhose-latency-")
    with harness.Emulators(streams={stream: a.shards}) as emu:
        # Daemon defaults except batch.max_interval_s: drop the harness's test settings.
        sh = harness.Shardhose(emu, workdir, stream, poll_interval_ms=None, idle_poll_interval_ms=None,
                               max_bytes=None, max_records=None, max_interval_s=a.max_interval_s)
        proc = sh.start(log_level="info", quiet=True)
        time.sleep(3)  # started, shards listed, first polls done
        if proc.poll() is not None:
            raise RuntimeError("shardhose exited %s:\n%s" % (proc.returncode, sh.output()[-4000:]))

        put_at = {}          # event id -> time its PutRecord was sent
        seen_at = {}         # event id -> time a listing first showed its object
        objects_seen = {}    # key -> first listing time
        lists = [0, 0.0, 0]  # count, total seconds spent listing, failures
        done = threading.Event()

        def lister():
            s3 = harness.S3Client(emu.s3_port)
            while not done.is_set():
                t0 = time.time()
                try:
                    keys = s3.list_objects("")
                except Exception as e:  # keep going: s3rver hiccups are not the figure
                    harness.log("list failed: %s" % str(e).splitlines()[0])
                    lists[2] += 1
                    time.sleep(a.list_interval)
                    continue
                t1 = time.time()
                lists[0] += 1
                lists[1] += t1 - t0
                for key, _size in keys:
                    if key in objects_seen:
                        continue
                    objects_seen[key] = t1
                    body = s3.get_object(key)
                    data = zlib.decompress(body, 31) if key.endswith(".gz") else body
                    for line in data.splitlines():
                        ev = json.loads(line).get("event_id")
                        if ev is not None and ev not in seen_at:
                            seen_at[ev] = t1
                time.sleep(max(0.0, a.list_interval - (time.time() - t0)))

        lt = threading.Thread(target=lister, daemon=True)
        lt.start()
        gen = harness.ChangeRecordGenerator(seed=7)
        kin = harness.KinesisClient(emu.kinesis_port)
        n = int(a.rate * a.duration)
        start = time.time()
        for i in range(n):
            target = start + i / a.rate
            time.sleep(max(0.0, target - time.time()))
            rec = gen.record(event_time_ms=int(time.time() * 1000))
            put_at[rec["eventID"]] = time.time()
            kin.put_records(stream, [(harness.partition_key(rec), harness.encode(rec))])
        produced_s = time.time() - start
        deadline = time.time() + a.settle
        while time.time() < deadline and not all(ev in seen_at for ev in put_at):
            time.sleep(0.2)
        done.set()
        lt.join(timeout=10)
        sh.stop()

    if not harness.KEEP:
        shutil.rmtree(workdir, ignore_errors=True)
    lat = sorted(seen_at[ev] - t for ev, t in put_at.items() if ev in seen_at)
    res = {
        "date": datetime.date.today().isoformat(),
        "rev": subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True).stdout.strip(),
        "records": len(put_at), "seen": len(lat), "missing": len(put_at) - len(lat),
        "rate_achieved": len(put_at) / produced_s, "shards": a.shards, "objects": len(objects_seen),
        "max_interval_s": a.max_interval_s, "list_interval_s": a.list_interval,
        "mean_list_s": lists[1] / lists[0] if lists[0] else None, "list_failures": lists[2],
        "p50_s": percentile(lat, 50), "p90_s": percentile(lat, 90), "p99_s": percentile(lat, 99),
        "max_s": lat[-1] if lat else None,
    }
    print(json.dumps(res, indent=1))
    print("| %s | %g rec/s x %g s, %d shards, max_interval_s=%d | %.2f | %.2f | %.2f | %.2f | %d/%d |" % (
        res["date"], a.rate, a.duration, a.shards, a.max_interval_s, res["p50_s"], res["p90_s"],
        res["p99_s"], res["max_s"] or float("nan"), res["seen"], res["records"]))


if __name__ == "__main__":
    main()
