#!/usr/bin/env python3
"""A slow, simple Python model of the shardhose CLI/output contract.

NOT the product. It exists to check the e2e tests themselves: with
    SHARDHOSE_BIN=tests/e2e/fake_shardhose.py python3 -m unittest -v test_pipeline
the tests must pass, and with FAKE_SHARDHOSE_BUG=<bug> they must fail:
    dup        write one record twice
    drop       lose one record
    numbers    write N values through a double
    partition  put records in the arrival-time hour instead of the event-time hour
    sigterm    exit 1 on SIGTERM without flushing
    resume     ignore the checkpoint (start from TRIM_HORIZON)

Exactly-once model: whenever a batch is cut (size/records/age) or the run
ends, every open batch is flushed and then the checkpoint is written, so the
checkpoint never passes an unflushed record.
"""

import argparse
import base64
import datetime as dt
import gzip
import json
import os
import re
import signal
import sys
import time
import tomllib
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

BUG = os.environ.get("FAKE_SHARDHOSE_BUG", "")

SCHEMA = {
    "source": {"stream_name": str, "stream_arn": str, "region": str, "endpoint_url": str,
               "initial_position": str, "initial_timestamp": str, "max_records_per_call": int,
               "poll_interval_ms": int, "idle_poll_interval_ms": int, "shard_refresh_s": int,
               "poll_threads": int},
    "batch": {"max_bytes": int, "max_interval_s": int, "max_records": int, "max_buffered_bytes": int},
    "output": {"bucket": str, "region": str, "endpoint_url": str, "force_path_style": bool, "prefix": str,
               "error_prefix": str, "format": str, "compression": str, "compression_level": int, "sse": str,
               "sse_kms_key_id": str, "upload_threads": int, "upload_timeout_s": int,
               "conditional_writes": str, "permanent_error_grace_s": int},
    "checkpoint": {"path": str},
    "shutdown": {"grace_period_s": int},
}
DEFAULTS = {"batch": {"max_bytes": 134217728, "max_interval_s": 300, "max_records": 0},
            "output": {"prefix": "ddb/{table}/dt={event_time:%Y-%m-%d}/hr={event_time:%H}/",
                       "error_prefix": "errors/{error}/dt={arrival_time:%Y-%m-%d}/",
                       "format": "unmarshalled", "compression": "gzip"}}
NAMES = {"table", "event_name", "stream", "shard_id", "error", "event_time", "arrival_time"}
NUM_RE = re.compile(r"^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$")


def load_config(path):
    with open(path, "rb") as f:
        raw = tomllib.load(f)
    errors = []
    cfg = {s: dict(DEFAULTS.get(s, {})) for s in SCHEMA}
    for sec, kv in raw.items():
        if sec not in SCHEMA:
            errors.append("%s: unknown section" % sec)
            continue
        for k, v in kv.items():
            if k not in SCHEMA[sec]:
                errors.append("%s.%s: unknown key" % (sec, k))
            elif not isinstance(v, SCHEMA[sec][k]):
                errors.append("%s.%s: wrong type" % (sec, k))
            else:
                cfg[sec][k] = v
    if cfg["batch"].get("max_bytes", 1) < 1:
        errors.append("batch.max_bytes: must be between 1 and 5368709120, got %s" % cfg["batch"]["max_bytes"])
    for key in ("prefix", "error_prefix"):
        for name in re.findall(r"\{([a-z_]+)", cfg["output"][key]):
            if name not in NAMES:
                errors.append("output.%s: unknown placeholder {%s}" % (key, name))
    return cfg, errors


def render(template, fields):
    def sub(m):
        name, _, fmt = m.group(1).partition(":")
        v = fields[name]
        if fmt:
            v = dt.datetime.fromtimestamp(v / 1000.0, tz=dt.timezone.utc).strftime(fmt)
        return re.sub(r"[^A-Za-z0-9._=-]", "_", str(v))
    return re.sub(r"\{([^}]*)\}", sub, template)


def decode(data, shard, rec, cfg, stream):
    """-> (ok, line, fields)"""
    arrival_ms = int(float(rec["ApproximateArrivalTimestamp"]) * 1000)
    seq, pk = rec["SequenceNumber"], rec["PartitionKey"]

    def err(reason, msg):
        line = h.dumps_exact({"error": reason, "message": msg, "stream": stream, "shard_id": shard,
                              "sequence_number": seq, "partition_key": pk,
                              "arrival_time": h.iso_millis(arrival_ms), "data_base64": rec["Data"]})
        return False, line, {"error": reason, "arrival_time": arrival_ms, "stream": stream, "shard_id": shard}

    try:
        doc = h.loads_exact(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        return err("not_json", str(e))
    d = doc.get("dynamodb") if isinstance(doc, dict) else None
    if not isinstance(d, dict) or not all(k in doc for k in ("eventID", "eventName", "tableName")) \
            or not isinstance(d.get("ApproximateCreationDateTime"), h.Num):
        return err("not_change_record", "missing fields")

    def um(av):
        (t, v), = av.items()
        if t == "N":
            if not NUM_RE.match(v):
                raise ValueError("N is not a number: %r" % v)
            return h.Num(v if BUG != "numbers" else repr(float(v)))
        if t == "NS":
            return [um({"N": x}) for x in v]
        if t == "M":
            return {k: um(x) for k, x in v.items()}
        if t == "L":
            return [um(x) for x in v]
        return h.unmarshal_value(av)

    def img(x):
        return None if x is None else {k: um(v) for k, v in x.items()}
    try:
        keys, new, old = img(d.get("Keys")), img(d.get("NewImage")), img(d.get("OldImage"))
    except (ValueError, AttributeError) as e:
        return err("bad_attribute", str(e))
    et = int(d["ApproximateCreationDateTime"].text)
    if cfg["output"]["format"] == "raw":
        line = h.dumps_exact(doc)
    else:
        line = h.dumps_exact({"event_id": doc["eventID"], "event_name": doc["eventName"],
                              "table": doc["tableName"], "event_time": h.iso_millis(et),
                              "sequence_number": seq, "shard_id": shard, "keys": keys, "new_image": new,
                              "old_image": old, "user_identity": doc.get("userIdentity")})
    if BUG == "partition":
        et = arrival_ms
    return True, line, {"table": doc["tableName"], "event_name": doc["eventName"], "event_time": et,
                        "arrival_time": arrival_ms, "stream": stream, "shard_id": shard}


class Store:
    def __init__(self, cfg):
        self.url = cfg["output"]["endpoint_url"]
        self.gz = cfg["output"]["compression"] == "gzip"
        if not self.url.startswith("file://"):
            port = int(self.url.rsplit(":", 1)[1].strip("/"))
            self.s3 = h.S3Client(port, bucket=cfg["output"]["bucket"])

    def put(self, prefix, data):
        key = prefix + uuid.uuid4().hex + (".json.gz" if self.gz else ".json")
        body = gzip.compress(data) if self.gz else data
        if self.url.startswith("file://"):
            path = os.path.join(self.url[len("file://"):], key)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path + ".tmp", "wb") as f:
                f.write(body)
            os.rename(path + ".tmp", path)
        else:
            self.s3.put_object(key, body)


def load_checkpoint(path):
    if not os.path.exists(path):
        return {}
    try:
        return h.read_checkpoint(path)
    except (ValueError, KeyError, AssertionError, TypeError) as e:
        sys.stderr.write("error: checkpoint file %s is corrupt: %s\n" % (path, e))
        sys.exit(3)


def save_checkpoint(path, stream, seqs):
    body = json.dumps({"stream_name": stream, "shards": {s: {"sequence": q} for s, q in seqs.items()}})
    with open(path + ".tmp", "w") as f:
        f.write('{"format":"shardhose-checkpoint","version":1,"crc32c":"00000000","body":%s}\n' % body)
    os.rename(path + ".tmp", path)


def run(cfg, drain):
    stop = {"flag": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(flag=True))
    signal.signal(signal.SIGINT, lambda *_: stop.update(flag=True))
    stream = cfg["source"]["stream_name"]
    kport = int(cfg["source"]["endpoint_url"].rsplit(":", 1)[1].strip("/"))
    k = h.KinesisClient(kport)
    cp_path = cfg["checkpoint"]["path"]
    seqs = load_checkpoint(cp_path) if BUG != "resume" else {}
    store = Store(cfg)
    shards = [s["ShardId"] for s in k.list_shards(stream)]
    its = {}
    for s in shards:
        its[s] = (k.get_shard_iterator(stream, s, "AFTER_SEQUENCE_NUMBER", seqs[s]) if seqs.get(s)
                  else k.get_shard_iterator(stream, s))
    batches = {}  # prefix -> [lines, bytes]
    read_upto = dict(seqs)
    opened = [time.time()]
    max_bytes, max_records = cfg["batch"]["max_bytes"], cfg["batch"]["max_records"]
    dup_done = [False]

    def flush_all():
        for prefix, (lines, _n) in batches.items():
            store.put(prefix, "".join(lines).encode())
        batches.clear()
        seqs.update(read_upto)
        save_checkpoint(cp_path, stream, seqs)
        opened[0] = time.time()

    caught_up = set()
    while not stop["flag"]:
        for s in shards:
            r = k.call("GetRecords", {"ShardIterator": its[s], "Limit": 10000})
            its[s] = r["NextShardIterator"]
            if not r["Records"]:
                caught_up.add(s)
            for rec in r["Records"]:
                ok, line, fields = decode(base64.b64decode(rec["Data"]), s, rec, cfg, stream)
                line += "\n"
                if BUG == "drop" and not dup_done[0]:
                    dup_done[0] = True
                    continue
                if BUG == "dup" and not dup_done[0]:
                    dup_done[0] = True
                    line = line + line
                prefix = render(cfg["output"]["prefix" if ok else "error_prefix"], fields)
                b = batches.get(prefix)
                n = len(line.encode())
                if b and (b[1] + n > max_bytes or (max_records and len(b[0]) >= max_records)):
                    flush_all()
                    b = None
                if b is None:
                    b = batches[prefix] = [[], 0]
                b[0].append(line)
                b[1] += n
                read_upto[s] = rec["SequenceNumber"]
        if drain and len(caught_up) == len(shards):
            break
        if time.time() - opened[0] >= cfg["batch"]["max_interval_s"]:
            flush_all()
        time.sleep(0.2)
    if stop["flag"] and BUG == "sigterm":
        return 1
    flush_all()
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("command", choices=["run", "validate", "checkpoint"])
    ap.add_argument("--config", required=True)
    ap.add_argument("--drain", action="store_true")
    ap.add_argument("--log-level", default="info")
    ap.add_argument("--log-format", default="text")
    a = ap.parse_args()
    cfg, errors = load_config(a.config)
    if errors:
        sys.stderr.write("\n".join(errors) + "\n")
        return 2
    if a.command == "validate":
        return 0
    if a.command == "checkpoint":
        print(json.dumps(load_checkpoint(cfg["checkpoint"]["path"]), indent=1))
        return 0
    return run(cfg, a.drain)


if __name__ == "__main__":
    sys.exit(main())
