#!/usr/bin/env python3
"""Demo: emulators on free ports, a few thousand realistic DynamoDB change
records on a 4-shard stream, `shardhose run --drain` with the settings of
config/local-emulators.toml (endpoints moved to the chosen ports), then the
object tree and a few decoded lines. Stops the emulators at the end.

    python3 tests/e2e/demo.py [--records N] [--bin PATH] [--keep]
"""

import argparse
import gzip
import os
import sys
import time
import tomllib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

STREAM = "orders"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=3000)
    ap.add_argument("--bin", help="shardhose binary (default: $SHARDHOSE_BIN or build/daemon/shardhose)")
    ap.add_argument("--keep", action="store_true", help="keep the work dir (config, logs, checkpoint)")
    a = ap.parse_args()
    if a.bin:
        os.environ["SHARDHOSE_BIN"] = os.path.abspath(a.bin)
    if a.keep:
        h.KEEP = True
    binary = h.shardhose_bin()

    with h.TempDir(prefix="shardhose-demo-") as work, h.Emulators(streams={STREAM: 4}) as emu:
        print("kinesis-local: %s   s3rver: %s (bucket %s)   work dir: %s"
              % (emu.kinesis_url, emu.s3_url, h.BUCKET, work))
        gen = h.ChangeRecordGenerator(seed=int(time.time()))
        t0 = time.time()
        produced = h.produce(emu.kinesis, STREAM, gen.batch(a.records, wide=2, big=1), gen.malformed()[:3])
        print("produced %d change records (+%d malformed) to %s (4 shards) in %.1fs"
              % (len(produced.records), len(produced.malformed), STREAM, time.time() - t0))

        with open(os.path.join(h.REPO_ROOT, "config", "local-emulators.toml"), "rb") as f:
            base = tomllib.load(f)
        sh = h.Shardhose(emu, work, STREAM)
        for sec, kv in base.items():
            sh.sections.setdefault(sec, {}).update(kv)
        sh.sections["source"].update(stream_name=STREAM, endpoint_url=emu.kinesis_url)
        sh.sections["output"].update(bucket=h.BUCKET, endpoint_url=emu.s3_url, force_path_style=True)
        sh.sections["checkpoint"]["path"] = sh.checkpoint_path
        sh.write_config()
        print("\n--- %s ---\n%s" % (sh.config_path, open(sh.config_path).read()))

        t0 = time.time()
        out = sh.drain(timeout=600)
        print("%s run --drain: exit 0 in %.1fs; last log lines:" % (binary, time.time() - t0))
        for line in out.strip().splitlines()[-5:]:
            print("  " + line)

        objects = emu.s3.list_objects()
        print("\n--- s3://%s (%d objects, %d bytes) ---" % (h.BUCKET, len(objects), sum(s for _, s in objects)))
        for key, size in objects:
            print("%10d  %s" % (size, key))

        shown = 0
        for key, _ in objects:
            if key.startswith("ddb/") and shown < 3:
                body = emu.s3.get_object(key)
                # Lines end in "\n" only: str.splitlines() would also cut at
                # U+2028, U+0085 and others, which JSON strings hold raw.
                lines = (gzip.decompress(body) if key.endswith(".gz") else body).decode().rstrip("\n").split("\n")
                # As written: re-encoding through Python's json would show
                # numbers as floats (1.2345678901234568e+18), not the exact
                # text shardhose wrote.
                print("\n--- %s: line 1 of %d, as written ---" % (key, len(lines)))
                print(lines[0] if len(lines[0]) <= 3000 else lines[0][:3000] + " ...")
                shown += 1
        for key, _ in objects:
            if key.startswith("errors/"):
                body = emu.s3.get_object(key)
                line = (gzip.decompress(body) if key.endswith(".gz") else body).decode().split("\n")[0]
                print("\n--- %s: an error line, as written ---" % key)
                print(line)
                break
        print("\nstopping the emulators")


if __name__ == "__main__":
    main()
