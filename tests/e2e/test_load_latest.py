"""Snapshot and stream agree (issue 13, item 3): `shardhose load` of an export
plus the stream that overlaps it, then DuckDB runs the `<table>_latest` SQL
that `shardhose athena-ddl` prints over the lake, and the result must be the
table's final state (a Scan of DynamoDB Local), item for item, numbers exact.

The table ("orders": partition key `user`, sort key `created`, so the sort
key's name sorts first) lives in AWS's DynamoDB Local. Every write is made
there, and the change it makes is put on a kinesis-local stream as the
record "Kinesis Data Streams for DynamoDB" would carry (images read back
from the table, so numbers are as DynamoDB stores them; Keys in a random
order). Event times are set by the test on a logical clock, so the cases
around the export time are exact:

  - written before the stream started (table only), never changed: the
    snapshot line alone; deleted after the export: hidden;
  - changed before the export and not after: the snapshot wins (same state);
  - changed before the export through a gap in the stream (a write the
    stream never carried): the snapshot wins over the stale change;
  - changed, deleted or re-inserted after the export ("during" it: between
    exportTime and the export's end, and after): the change wins; a REMOVE
    hides the item, a snapshot line of an item deleted later stays hidden;
  - deleted before the export (no snapshot line), re-inserted after;
  - a change at exactly the export time, before and after the Scan that
    is the export: the change wins either way (the state it carries is the
    snapshot's, or later);
  - a change just after the export whose time is in whole seconds (as
    DynamoDB Streams gives it), so it reads earlier than the export time
    (10:10:00.000 vs 10:10:00.500): the change wins.

The export is written from a Scan at the export point by test_load's
write_export (the documented layout). Lines are read by DuckDB from the
objects downloaded with their keys (hive partitions from the key=value
prefix); the view's winners are compared through their event ids with the
lines as written (DuckDB prints decimals in its own form; the lake's text is
compared exactly).
"""

import datetime as _dt
import json
import os
import random
import re
import shutil
import subprocess
import time
import unittest
import uuid

import harness as h
import test_load

TABLE = "orders"
STREAM = "ddb-orders-latest"
EXPORT_ID = "01716199800000-0latest0"
T0 = int(_dt.datetime(2024, 5, 20, 10, 0, tzinfo=_dt.timezone.utc).timestamp() * 1000)
T_EXPORT = T0 + 10 * 60 * 1000 + 500  # 10:10:00.500
READERS_DIR = os.path.join(h.REPO_ROOT, "tests", "readers")


def iso(ms):
    return _dt.datetime.fromtimestamp(ms / 1000, _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


def key_of(k):
    """An item's key as a hashable value."""
    return (k["user"]["S"], k["created"]["N"])


def make_item(rng, k, version):
    """A DynamoDB-valid item with key k: every attribute type (test_load.item)."""
    it = test_load.item(rng.randrange(10 ** 6))
    del it["pk"], it["sk"]
    it.update(k)
    it["version"] = {"N": str(version)}
    it["price"] = {"N": rng.choice(["12.50", "0.000000000000000000000000000000000001", "-3e5", "1" * 38])}
    return it


class Lake:
    """The table, its stream and the test's clock: every write goes to both
    (unless `stream=False`: a gap), at the time given."""

    def __init__(self, ddb, kinesis):
        self.ddb, self.kinesis = ddb, kinesis
        self.rng = random.Random(13)
        self.records = []  # what went on the stream, in order
        self.version = 0

    def _stored(self, k):
        return self.ddb.get_item(TABLE, k)

    def put(self, k, t_ms, stream=True):
        self.version += 1
        old = self._stored(k)
        self.ddb.put_item(TABLE, make_item(self.rng, k, self.version))
        if stream:
            self._record("MODIFY" if old else "INSERT", k, old, self._stored(k), t_ms)

    def delete(self, k, t_ms, stream=True):
        old = self._stored(k)
        self.ddb.call("DeleteItem", {"TableName": TABLE, "Key": k})
        if stream and old:
            self._record("REMOVE", k, old, None, t_ms)

    def _record(self, name, k, old, new, t_ms):
        keys = list(k.items())
        self.rng.shuffle(keys)  # DynamoDB does not say in which order Keys come
        ddb = {"ApproximateCreationDateTime": t_ms, "ApproximateCreationDateTimePrecision": "MILLISECOND",
               "Keys": dict(keys), "SizeBytes": 100}
        if new is not None:
            ddb["NewImage"] = new
        if old is not None:
            ddb["OldImage"] = old
        self.records.append({"awsRegion": h.REGION, "eventID": str(uuid.UUID(int=self.rng.getrandbits(128))),
                             "eventName": name, "userIdentity": None, "recordFormat": "application/json",
                             "tableName": TABLE, "dynamodb": ddb, "eventSource": "aws:dynamodb"})

    def flush(self):
        """Puts the records so far on the stream, each item's on one shard."""
        items = [(json.dumps(r["dynamodb"]["Keys"], sort_keys=True), json.dumps(r).encode()) for r in self.records]
        self.kinesis.put_records(STREAM, items)
        n = len(self.records)
        self.records = []
        return n


class LoadLatestTest(unittest.TestCase):
    def test_latest_view_over_snapshot_and_stream_is_the_final_table(self):
        why = h.DynamoDbLocal.missing()
        if why:
            self.skipTest(why)
        if shutil.which("node") is None or not os.path.isfile(
                os.path.join(READERS_DIR, "node_modules", "@duckdb", "node-api", "package.json")):
            self.skipTest("node or tests/readers/node_modules (@duckdb/node-api) missing")
        with h.TempDir(prefix="shardhose-e2e-latest-") as work, h.Emulators(streams={STREAM: 2}) as emu, \
                h.DynamoDbLocal(work) as ddb_local:
            ddb = ddb_local.client
            ddb.call("CreateTable", {
                "TableName": TABLE, "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": [{"AttributeName": "user", "AttributeType": "S"},
                                         {"AttributeName": "created", "AttributeType": "N"}],
                "KeySchema": [{"AttributeName": "user", "KeyType": "HASH"},
                              {"AttributeName": "created", "KeyType": "RANGE"}]})
            h.wait_for(lambda: ddb.describe_table(TABLE)["TableStatus"] == "ACTIVE", 60, interval=0.2,
                       what="table ACTIVE")
            lake = Lake(ddb, emu.kinesis)

            def k(i):
                return {"user": {"S": "user#%02d" % (i % 17)}, "created": {"N": str(1700000000 + i)}}

            cases = {}

            def case(name, keys):
                cases[name] = [key_of(k(i)) for i in keys]

            t = [T0 - 3600 * 1000]

            def tick(ms=37):
                t[0] += ms
                return t[0]

            # Before the stream: table only.
            for i in range(0, 40):
                lake.put(k(i), tick(), stream=False)
            case("snapshot only", range(0, 20))
            case("snapshot only, deleted after the export", range(20, 30))
            case("snapshot only, changed after the export", range(30, 40))
            # Before the export, on the stream.
            t[0] = T0
            for i in range(40, 120):
                lake.put(k(i), tick())
            for i in range(40, 120, 3):
                lake.put(k(i), tick())  # changed again
            case("changed before the export only", range(40, 60))
            for i in range(60, 70):
                lake.delete(k(i), tick())
            case("deleted before the export", range(60, 65))
            case("deleted before, re-inserted after the export", range(65, 70))
            for i in range(70, 80):
                lake.put(k(i), tick(), stream=False)  # a gap: the stream never carried these
            case("changed through a gap before the export", range(70, 80))
            case("changed before, deleted after the export", range(80, 90))
            case("changed before and after the export", range(90, 100))
            case("deleted and re-inserted after the export", range(100, 110))
            for i in range(110, 115):
                lake.put(k(i), T_EXPORT)  # at the export time, before the Scan
            case("changed at the export time, before the export", range(110, 115))
            case("changed at the export time, after the export", range(115, 120))
            for i in range(140, 150):
                lake.put(k(i), tick())
            case("changed after the export, in its second, time in whole seconds", range(140, 150))
            before = lake.flush()

            # The export: a Scan at T_EXPORT.
            items = ddb.scan(TABLE)
            folder = os.path.join(work, "export", "AWSDynamoDB", EXPORT_ID)
            test_load.write_export(folder, items, files=3, export_id=EXPORT_ID, export_time=iso(T_EXPORT),
                                   table=TABLE)

            # After the export time: first "during" it (before its end), then later.
            for i in range(115, 120):
                lake.put(k(i), T_EXPORT)
            for i in range(140, 150):  # as DynamoDB Streams gives it: 10:10:00.000
                lake.put(k(i), T_EXPORT // 1000 * 1000)
            t[0] = T_EXPORT
            for i in list(range(20, 30)) + list(range(80, 90)):
                lake.delete(k(i), tick())
            for i in list(range(30, 40)) + list(range(90, 100)):
                lake.put(k(i), tick())
            for i in range(65, 70):
                lake.put(k(i), tick())
            for i in range(100, 110):
                lake.delete(k(i), tick())
            t[0] = T_EXPORT + 20 * 60 * 1000
            for i in range(100, 110):
                lake.put(k(i), tick())
            for i in range(120, 140):
                lake.put(k(i), tick())
            case("inserted after the export only", range(120, 140))
            after = lake.flush()

            prefix = "lake/table_name={table}/dt={event_time:%Y-%m-%d}/"
            sh = h.Shardhose(emu, os.path.join(work, "d"), STREAM, output__prefix=prefix,
                             output__error_prefix="errors/{error}/", max_interval_s=3600,
                             load__key_attributes=["user", "created"])
            p = subprocess.run([h.shardhose_bin(), "load", "--config", sh.config_path, "--export", folder],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=sh.env(), timeout=120)
            out = p.stdout.decode("utf-8", "replace")
            self.assertEqual(p.returncode, 0, out)
            self.assertIn("%d items" % len(items), out)
            self.assertIn("keys user,created", out)  # from [load] key_attributes
            sh.drain()

            # The lake, as DuckDB sees it: every object under its key.
            lake_dir = os.path.join(work, "lake-copy")
            lines = {}  # event_id -> the line as written
            for key, _size in emu.s3.list_objects():
                if key.endswith("_shardhose_probe"):
                    continue  # the start-up check's (pipeline/destination_check.h)
                self.assertTrue(key.startswith("lake/"), "an object outside the table's prefix: %s" % key)
                body = emu.s3.get_object(key)
                path = os.path.join(lake_dir, key)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "wb") as f:
                    f.write(body)
                for ln in h.decode_object(key, body).lines:
                    d = h.loads_exact(ln)
                    self.assertNotIn(d["event_id"], lines)
                    lines[d["event_id"]] = d
            self.assertEqual(sum(1 for d in lines.values() if d["event_name"] == "SNAPSHOT"), len(items))
            self.assertEqual(len(lines) - len(items), before + after)

            rc = subprocess.run([h.shardhose_bin(), "athena-ddl", "--config", sh.config_path],
                                capture_output=True, env=sh.env(), cwd=sh.workdir, timeout=60)
            self.assertEqual(rc.returncode, 0, rc.stderr.decode())
            ddl = rc.stdout.decode()
            m = re.search(r'^CREATE OR REPLACE VIEW .*?;$', ddl, re.M | re.S)
            self.assertIsNotNone(m, ddl)
            view = m.group(0)
            m = re.search(r'FROM "([^"]+)"\."([^"]+)"\n', view)
            database, table = m.group(1), m.group(2)
            columns = ", ".join("'%s': 'VARCHAR'" % c for c in h.UNMARSHALLED_FIELDS)
            sql = "\n".join([
                'CREATE SCHEMA "%s";' % database,
                'CREATE VIEW "%s"."%s" AS SELECT * FROM read_ndjson(\'%s/lake/**/*.json.gz\', '
                "compression='gzip', hive_partitioning=true, columns={%s});" % (database, table, lake_dir, columns),
                view,
                'SELECT "event_id", "keys" FROM "%s"."%s_latest" WHERE "table_name" = \'%s\';'
                % (database, table, TABLE),
            ])
            sql_path = os.path.join(work, "latest.sql")
            with open(sql_path, "w") as f:
                f.write(sql)
            duck = subprocess.run(["node", os.path.join(READERS_DIR, "duckdb_sql.mjs"), sql_path],
                                  capture_output=True, cwd=READERS_DIR, timeout=120)
            self.assertEqual(duck.returncode, 0, duck.stderr.decode() + "\n" + sql)
            rows = json.loads(duck.stdout)

            got = {}
            for row in rows:
                d = lines[row["event_id"]]
                kk = (d["keys"]["user"], d["keys"]["created"].text)
                self.assertNotIn(kk, got, "two latest rows for one item")
                self.assertEqual(list(d["keys"]), ["created", "user"], d)
                got[kk] = (d["event_name"], d["new_image"])
            final = {key_of(it): h.unmarshal_image(it) for it in ddb.scan(TABLE)}
            per_case = []
            for name, keys in cases.items():
                want = {kk: final.get(kk) for kk in keys}
                have = {kk: got.get(kk, (None, None))[1] for kk in keys}
                bad = [kk for kk in keys if want[kk] != have[kk]]
                per_case.append("%s: %d items, %d present, %d wrong" % (
                    name, len(keys), sum(1 for kk in keys if want[kk] is not None), len(bad)))
                self.assertFalse(bad, "%s: %d of %d items wrong, e.g. %r: latest %r, table %r"
                                 % (name, len(bad), len(keys), bad[:1], got.get(bad[0]), final.get(bad[0]))
                                 if bad else "")
            self.assertEqual(set(got), set(final), "the view's items are not the table's")
            self.assertEqual({kk: v[1] for kk, v in got.items()}, final)
            print("\nLATEST FIGURES: %d snapshot lines + %d stream changes; the view has %d items = the final "
                  "Scan (%d), every attribute exact\n  %s" % (len(items), before + after, len(got), len(final),
                                                             "\n  ".join(per_case)), flush=True)


class ThenStreamTest(unittest.TestCase):
    """`shardhose load --then-stream --drain`: after the load, the stream's
    first start is AT_TIMESTAMP(export time - margin), by arrival time on
    kinesis-local. Changes that arrived before it are not read (the snapshot
    holds their effect), those after it are; run again with a checkpoint, it
    goes on from the checkpoint and writes nothing new. A DynamoDB Streams
    source whose 24 hours no longer reach the export time is refused before
    anything is loaded."""

    def test_the_stream_starts_at_the_export_time_minus_the_margin(self):
        stream = "ddb-then-stream"
        with h.TempDir(prefix="shardhose-e2e-then-") as work, h.Emulators(streams={stream: 2}) as emu:
            rng = random.Random(7)

            def k(i):
                return {"user": {"S": "u%d" % i}, "created": {"N": str(i)}}

            def change(i, name, t_ms):
                new = make_item(rng, k(i), i)
                return {"awsRegion": h.REGION, "eventID": str(uuid.UUID(int=rng.getrandbits(128))),
                        "eventName": name, "userIdentity": None, "recordFormat": "application/json",
                        "tableName": TABLE, "eventSource": "aws:dynamodb",
                        "dynamodb": {"ApproximateCreationDateTime": t_ms, "Keys": k(i), "NewImage": new,
                                     "SizeBytes": 100}}, new

            def put(recs):
                emu.kinesis.put_records(stream, [(json.dumps(r["dynamodb"]["Keys"]), json.dumps(r).encode())
                                                 for r in recs])

            early = [change(i, "INSERT", int(time.time() * 1000))[0] for i in range(10)]
            put(early)
            time.sleep(3)
            export_ms = int(time.time() * 1000)
            items = [change(i, "INSERT", export_ms)[1] for i in range(10)]
            folder = os.path.join(work, "export", "AWSDynamoDB", EXPORT_ID)
            test_load.write_export(folder, items, files=2, export_id=EXPORT_ID, export_time=iso(export_ms),
                                   table=TABLE)
            time.sleep(0.5)
            late = [change(i, "MODIFY", int(time.time() * 1000))[0] for i in range(5)]
            put(late)

            sh = h.Shardhose(emu, os.path.join(work, "d"), stream, output__prefix="lake/{table}/",
                             output__error_prefix="errors/{error}/", max_interval_s=3600,
                             source__initial_position="TRIM_HORIZON")
            cmd = [h.shardhose_bin(), "load", "--config", sh.config_path, "--export", folder,
                   "--key-attributes", "user,created", "--then-stream", "--drain", "--then-stream-margin-s", "1"]
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=sh.env(), timeout=180)
            out = p.stdout.decode("utf-8", "replace")
            self.assertEqual(p.returncode, 0, out)
            self.assertIn("the stream starts at AT_TIMESTAMP %s" % iso(export_ms - 1000), out)
            objs = h.s3_objects(emu.s3, prefix="lake/")
            ids = {h.loads_exact(ln)["event_id"] for o in objs for ln in o.lines}
            self.assertEqual(ids & {r["eventID"] for r in early}, set(), "changes from before the margin were read")
            self.assertEqual({r["eventID"] for r in late} - ids, set(), "changes after the export were not read")
            self.assertEqual(len(ids), 10 + len(late))

            # Again: the checkpoint decides; nothing new.
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=sh.env(), timeout=180)
            out = p.stdout.decode("utf-8", "replace")
            self.assertEqual(p.returncode, 0, out)
            self.assertIn("the stream has a checkpoint", out)
            self.assertEqual(len(h.s3_objects(emu.s3, prefix="lake/")), len(objs))

            # DynamoDB Streams, an export two days old: refused, nothing loaded.
            old_folder = os.path.join(work, "old-export", "AWSDynamoDB", EXPORT_ID)
            test_load.write_export(old_folder, items, files=2, export_id=EXPORT_ID,
                                   export_time=iso(export_ms - 2 * 86400 * 1000), table=TABLE)
            ds = h.Shardhose(emu, os.path.join(work, "streams"), stream, source__stream_name=None,
                             source__type="dynamodb-streams", source__table_name=TABLE,
                             source__endpoint_url="http://127.0.0.1:9", output__prefix="old/{table}/",
                             output__error_prefix="errors/{error}/")
            p = subprocess.run([h.shardhose_bin(), "load", "--config", ds.config_path, "--export", old_folder,
                                "--key-attributes", "user,created", "--then-stream"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=ds.env(), timeout=60)
            out = p.stdout.decode("utf-8", "replace")
            self.assertEqual(p.returncode, 2, out)
            self.assertIn("keeps records 24 hours and has no AT_TIMESTAMP", out)
            self.assertEqual(h.s3_objects(emu.s3, prefix="old/"), [])


if __name__ == "__main__":
    unittest.main()
