"""`shardhose load` (issue 13, first slice): a DynamoDB export's items into
the lake as SNAPSHOT lines, against s3rver and AWS's DynamoDB Local.

The export is written by write_export() below in the documented layout
("DynamoDB table export output format"): <folder>/manifest-summary.json,
manifest-files.json (one line per data file: itemCount, md5Checksum =
base64 MD5 of the gzip file, etag, dataFileS3Key = the full key
"<prefix>/AWSDynamoDB/<export id>/data/<name>.json.gz"), their .checksum
files, _started, and data/*.json.gz holding {"Item": ...} lines. The items
are a Scan of a DynamoDB Local table, so they are marshalled by AWS's own
server (every attribute type, 38-digit numbers, nested maps and lists);
one test's items are marshalled by the AWS SDK's marshall()
(@aws-sdk/util-dynamodb, tests/readers/marshall_items.mjs) instead.

- an export of 300 items in 4 data files (one empty), loaded from a local
  directory: every item once, its new_image the item unmarshalled (numbers
  exact), `keys` the KeySchema's attributes (found with DescribeTable),
  event_time the export time, deterministic object keys; a second load
  writes nothing; the same export loaded from S3 (s3://lake/exports/...)
  into another prefix gives the same lines;
- SIGKILLs mid-file (after the 3rd object PUT) and between files, each
  followed by a new load: every item exactly once, no key written with two
  contents;
- a data file whose bytes do not match its md5Checksum: exit 1 naming it,
  nothing of it written; with the file repaired the load resumes;
- an incremental export (INCREMENTAL_EXPORT): its changes as INSERT,
  MODIFY and REMOVE lines at their WriteTimestampMicros, images as given;
- an ION export: exit 2 naming ION; a corrupt progress file: exit 3;
- 120 items marshalled by the AWS SDK (NumberValue 38-digit numbers, JS
  numbers, Uint8Array binary, sets of each type, empty strings, lists and
  maps, nesting, non-BMP text): each item's new_image is the item the test
  described, whatever the SDK's typing.
"""

import base64
import gzip
import hashlib
import json
import os
import subprocess
import time
import unittest

import harness as h

READERS_DIR = os.path.join(h.REPO_ROOT, "tests", "readers")
TABLE = "users"
EXPORT_ID = "01716200000000-a1b2c3d4"
EXPORT_TIME = "2024-05-20T10:13:20.123Z"
ACCOUNT = "000000000000"


def create_table(client):
    client.call("CreateTable", {
        "TableName": TABLE, "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                 {"AttributeName": "sk", "AttributeType": "N"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]})
    h.wait_for(lambda: client.describe_table(TABLE)["TableStatus"] == "ACTIVE", 60, interval=0.2,
               what="table ACTIVE")


def item(i):
    """Item i: every attribute type, 38-digit numbers, nesting."""
    big = "9" * 19 + "%019d" % i
    it = {
        "pk": {"S": "user#%03d" % (i % 50)},
        "sk": {"N": str(i)},
        "name": {"S": "Zoë \u00e9 \u4e2d \"q\" \\ %d" % i},
        "big": {"N": big},
        "neg": {"N": "-0.%036d1" % i},
        "active": {"BOOL": i % 2 == 0},
        "nothing": {"NULL": True},
        "blob": {"B": base64.b64encode(bytes([i % 256, 0, 255])).decode()},
        "tags": {"SS": ["t%d" % (i % 3), "x"]},
        "scores": {"NS": ["1", "12345678901234567890123456789012345678"]},
        "bins": {"BS": [base64.b64encode(b"\x00\x01").decode()]},
        "address": {"M": {"city": {"S": "c%d" % i}, "geo": {"L": [{"N": "1.5"}, {"N": "-2"}]},
                          "deep": {"M": {"x": {"L": [{"M": {"y": {"N": big}}}]}}}}},
    }
    return it


def sdk_item(i):
    """Item i as the AWS SDK's marshall() input, in marshall_items.mjs's
    tagged JSON ({"$n": text} a NumberValue, {"$b": base64} a Uint8Array,
    {"$ss"|"$ns"|"$bs": [...]} a Set; JSON numbers stay JS numbers)."""
    big = "9" * 19 + "%019d" % i
    blob = base64.b64encode(bytes([i % 256, 0, 255])).decode()
    return {
        "pk": "sdk#%02d" % (i % 20),
        "sk": {"$n": str(i)},
        "name": "Zo\u00eb \u4e2d \"q\" \\ \U0001f600 %d" % i,
        "big": {"$n": big},
        "neg": {"$n": "-0.%036d1" % i},
        "price": 19.5 if i % 2 else -2,
        "active": i % 3 == 0,
        "nothing": None,
        "blob": {"$b": blob},
        "tags": {"$ss": ["t%d" % (i % 3), "x"]},
        "scores": {"$ns": ["1", "12345678901234567890123456789012345678"]},
        "bins": {"$bs": [base64.b64encode(b"\x00\x01").decode(), blob]},
        "empty_s": "", "empty_l": [], "empty_m": {},
        "address": {"city": "c%d" % i, "geo": [1.5, -2], "deep": {"x": [{"y": {"$n": big}}, [{"$b": blob}]]}},
    }


def sdk_expected(v):
    """What the lake must hold for an sdk_item() value: numbers as their
    exact text, binary as base64, sets as lists."""
    if isinstance(v, dict):
        if "$n" in v:
            return h.Num(v["$n"])
        if "$b" in v:
            return v["$b"]
        if "$ss" in v or "$bs" in v:
            return list(v.get("$ss", v.get("$bs")))
        if "$ns" in v:
            return [h.Num(x) for x in v["$ns"]]
        return {k: sdk_expected(x) for k, x in v.items()}
    if isinstance(v, list):
        return [sdk_expected(x) for x in v]
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return h.Num(str(v))  # as JavaScript's String(n) writes these
    return v


def write_export(folder, items, files=4, export_id=EXPORT_ID, fmt="DYNAMODB_JSON", key_prefix="exports",
                 export_time=EXPORT_TIME, table=TABLE):
    """An export of `items` in `files` data files (the last one empty) under
    <folder> (…/AWSDynamoDB/<export id>). Returns [(index, data file path,
    items)] in manifest order."""
    os.makedirs(os.path.join(folder, "data"), exist_ok=True)
    open(os.path.join(folder, "_started"), "w").close()
    per = [items[i::files - 1] for i in range(files - 1)] + [[]]
    lines, out = [], []
    for n, chunk in enumerate(per):
        name = hashlib.sha1(("%s-%d" % (export_id, n)).encode()).hexdigest()[:26] + ".json.gz"
        path = os.path.join(folder, "data", name)
        text = "".join(json.dumps({"Item": it}, separators=(",", ":"), ensure_ascii=False) + "\n" for it in chunk)
        body = gzip.compress(text.encode(), mtime=0) if chunk else b""
        with open(path, "wb") as f:
            f.write(body)
        lines.append(json.dumps({
            "itemCount": len(chunk), "md5Checksum": base64.b64encode(hashlib.md5(body).digest()).decode(),
            "etag": hashlib.md5(body).hexdigest() + "-1",
            "dataFileS3Key": "%s/AWSDynamoDB/%s/data/%s" % (key_prefix, export_id, name)}))
        out.append((n, path, chunk))
    manifest_files = "\n".join(lines) + "\n"
    arn = "arn:aws:dynamodb:us-east-1:%s:table/%s" % (ACCOUNT, table)
    summary = json.dumps({
        "version": "2020-06-30", "exportArn": "%s/export/%s" % (arn, export_id),
        "startTime": export_time, "endTime": export_time, "tableArn": arn, "tableId": "t-1",
        "exportTime": export_time, "s3Bucket": "lake", "s3Prefix": key_prefix, "s3SseAlgorithm": "AES256",
        "s3SseKmsKeyId": None, "manifestFilesS3Key": "%s/AWSDynamoDB/%s/manifest-files.json" % (key_prefix, export_id),
        "billedSizeBytes": 0, "itemCount": len(items), "outputFormat": fmt})
    for name, text in (("manifest-files.json", manifest_files), ("manifest-summary.json", summary)):
        with open(os.path.join(folder, name), "w") as f:
            f.write(text)
        with open(os.path.join(folder, name.replace(".json", ".checksum")), "w") as f:
            f.write(hashlib.md5(text.encode()).hexdigest())
    return out


def write_incremental_export(folder, changes, export_id):
    """An incremental export (INCREMENTAL_EXPORT, NEW_AND_OLD_IMAGES) of
    `changes`, [(micros, keys, old, new)], in one data file."""
    os.makedirs(os.path.join(folder, "data"), exist_ok=True)
    lines = []
    for micros, keys, old, new in changes:
        line = {"Metadata": {"WriteTimestampMicros": {"N": str(micros)}}, "Keys": keys}
        if old is not None:
            line["OldImage"] = old
        if new is not None:
            line["NewImage"] = new
        lines.append(json.dumps(line, separators=(",", ":")) + "\n")
    body = gzip.compress("".join(lines).encode(), mtime=0)
    name = "incr0000000000000000000000.json.gz"
    with open(os.path.join(folder, "data", name), "wb") as f:
        f.write(body)
    arn = "arn:aws:dynamodb:us-east-1:%s:table/%s" % (ACCOUNT, TABLE)
    with open(os.path.join(folder, "manifest-files.json"), "w") as f:
        f.write(json.dumps({"itemCount": len(changes), "md5Checksum": base64.b64encode(hashlib.md5(body).digest()).decode(),
                            "etag": hashlib.md5(body).hexdigest(),
                            "dataFileS3Key": "exports/AWSDynamoDB/%s/data/%s" % (export_id, name)}) + "\n")
    with open(os.path.join(folder, "manifest-summary.json"), "w") as f:
        f.write(json.dumps({"version": "2023-08-01", "exportArn": "%s/export/%s" % (arn, export_id), "tableArn": arn,
                            "exportType": "INCREMENTAL_EXPORT", "exportFromTime": "2024-05-20T10:00:00Z",
                            "exportToTime": "2024-05-20T11:00:00Z", "outputFormat": "DYNAMODB_JSON",
                            "outputView": "NEW_AND_OLD_IMAGES", "itemCount": len(changes)}))


class LoadTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        why = h.DynamoDbLocal.missing()
        if why:
            raise unittest.SkipTest(why)
        cls.tmp = h.TempDir(prefix="shardhose-e2e-load-")
        cls.work = cls.tmp.__enter__()
        cls.emu = h.Emulators()
        cls.ddb = h.DynamoDbLocal(cls.work)
        try:
            cls.emu.__enter__()
            cls.ddb.__enter__()
        except BaseException:
            cls.emu.__exit__(None, None, None)
            cls.tmp.__exit__(None, None, None)
            raise
        c = cls.ddb.client
        create_table(c)
        for i in range(300):
            c.put_item(TABLE, item(i))
        cls.items, body = [], {"TableName": TABLE}
        while True:  # the items as DynamoDB marshals them
            page = c.call("Scan", body)
            cls.items.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                break
            body["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        assert len(cls.items) == 300, len(cls.items)

    @classmethod
    def tearDownClass(cls):
        cls.ddb.__exit__(None, None, None)
        cls.emu.__exit__(None, None, None)
        cls.tmp.__exit__(None, None, None)

    def daemon(self, name, prefix, **overrides):
        kw = dict(source__stream_name=None, source__type="dynamodb-streams", source__table_name=TABLE,
                  source__endpoint_url=self.ddb.url, output__prefix=prefix + "{table}/dt={event_time:%Y-%m-%d}/",
                  output__error_prefix=prefix + "errors/{error}/")
        kw.update(overrides)
        return h.Shardhose(self.emu, os.path.join(self.work, name), TABLE, **kw)

    def load(self, sh, export, env=None, timeout=120):
        """`shardhose load`: (return code, output)."""
        e = sh.env()
        e.update(env or {})
        p = subprocess.run([h.shardhose_bin(), "load", "--config", sh.config_path, "--export", export],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=e, timeout=timeout)
        return p.returncode, p.stdout.decode("utf-8", "replace")

    def export(self, name, **kw):
        folder = os.path.join(self.work, name, "AWSDynamoDB", kw.get("export_id", EXPORT_ID))
        return folder, write_export(folder, self.items, **kw)

    def objects(self, prefix):
        for _ in range(50):  # s3rver lists an object while its PUT is still being stored
            try:
                return h.s3_objects(self.emu.s3, prefix=prefix)
            except h.OutputError:
                time.sleep(0.1)
        return h.s3_objects(self.emu.s3, prefix=prefix)

    def check_loaded(self, prefix, files):
        """Every item once, as its SNAPSHOT line."""
        objs = self.objects(prefix + TABLE + "/")
        out = h.Output(objs)
        self.assertEqual(out.duplicates(), {})
        want = {}
        for n, _path, chunk in files:
            for line_no, it in enumerate(chunk, 1):
                want["%s:%d:%d" % (EXPORT_ID, n, line_no)] = it
        self.assertEqual(set(out.by_event_id), set(want))
        for eid, [(key, d)] in out.by_event_id.items():
            it = want[eid]
            self.assertEqual(list(d), h.UNMARSHALLED_FIELDS)
            self.assertEqual(d["event_name"], "SNAPSHOT")
            self.assertEqual(d["table"], TABLE)
            self.assertEqual(d["event_time"], EXPORT_TIME)
            self.assertIsNone(d["sequence_number"])
            self.assertIsNone(d["shard_id"])
            self.assertIsNone(d["old_image"])
            self.assertEqual(d["new_image"], h.unmarshal_image(it), eid)
            self.assertEqual(d["keys"], {"pk": h.unmarshal_image(it)["pk"], "sk": h.unmarshal_image(it)["sk"]})
            self.assertEqual(list(d["keys"]), ["pk", "sk"])
            self.assertTrue(key.startswith("%s%s/dt=2024-05-20/%s-snapshot-%s-" % (prefix, TABLE, TABLE, EXPORT_ID)),
                            key)
        self.assertEqual(self.objects(prefix + "errors/"), [])
        return objs

    def test_an_export_loaded_once_from_a_directory_and_from_s3(self):
        folder, files = self.export("dir-export")
        sh = self.daemon("dir", "a/")
        rc, out = self.load(sh, folder)
        self.assertEqual(rc, 0, out)
        self.assertIn("4/4 files, 300 items", out)
        objs = self.check_loaded("a/", files)
        keys = sorted(o.key for o in objs)
        self.assertEqual(keys, ["a/%s/dt=2024-05-20/%s-snapshot-%s-%06d-0001.json.gz" % (TABLE, TABLE, EXPORT_ID, n)
                                for n in range(3)])
        # Again: every file is done, nothing is written.
        rc, out = self.load(sh, folder)
        self.assertEqual(rc, 0, out)
        self.assertIn("4 loaded before this run", out)
        self.assertEqual(sorted(o.key for o in self.objects("a/")), keys)

        # The same export in S3, read with the [output] settings.
        for root, _dirs, names in os.walk(os.path.join(self.work, "dir-export")):
            for name in names:
                path = os.path.join(root, name)
                rel = os.path.relpath(path, os.path.join(self.work, "dir-export"))
                with open(path, "rb") as f:
                    self.emu.s3.put_object("exports/" + rel, f.read())
        sh3 = self.daemon("s3", "b/")
        rc, out = self.load(sh3, "s3://%s/exports/AWSDynamoDB/%s/" % (h.BUCKET, EXPORT_ID))
        self.assertEqual(rc, 0, out)
        objs3 = self.check_loaded("b/", files)
        self.assertEqual([o.lines for o in sorted(objs3, key=lambda o: o.key)],
                         [o.lines for o in sorted(objs, key=lambda o: o.key)])

    def test_items_marshalled_by_the_aws_sdk(self):
        if not os.path.isfile(os.path.join(READERS_DIR, "node_modules", "@aws-sdk", "util-dynamodb", "package.json")):
            self.skipTest("tests/readers/node_modules (@aws-sdk/util-dynamodb) missing")
        natives = [sdk_item(i) for i in range(120)]
        p = subprocess.run(["node", os.path.join(READERS_DIR, "marshall_items.mjs")],
                           input="".join(json.dumps(n) + "\n" for n in natives).encode(),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        items = [json.loads(line)["Item"] for line in p.stdout.decode().splitlines()]
        self.assertEqual(len(items), 120)
        # The SDK typed what the test meant (a sample; the load check below covers all).
        self.assertEqual(items[5]["scores"], {"NS": ["1", "12345678901234567890123456789012345678"]})
        self.assertEqual(items[5]["price"], {"N": "19.5"})
        self.assertEqual(items[5]["bins"]["BS"][1], items[5]["blob"]["B"])
        self.assertEqual(items[5]["empty_m"], {"M": {}})

        folder = os.path.join(self.work, "sdk-export", "AWSDynamoDB", EXPORT_ID)
        files = write_export(folder, items)
        sh = self.daemon("sdk", "sdk/")
        rc, out = self.load(sh, folder)
        self.assertEqual(rc, 0, out)
        self.assertIn("4/4 files, 120 items", out)
        lake = h.Output(self.objects("sdk/" + TABLE + "/"))
        self.assertEqual(lake.duplicates(), {})
        want = {}
        for n, _path, chunk in files:
            for line_no, it in enumerate(chunk, 1):
                want["%s:%d:%d" % (EXPORT_ID, n, line_no)] = natives[int(it["sk"]["N"])]
        self.assertEqual(set(lake.by_event_id), set(want))
        for eid, [(_key, d)] in lake.by_event_id.items():
            self.assertEqual(d["event_name"], "SNAPSHOT")
            self.assertEqual(d["new_image"], sdk_expected(want[eid]), eid)
            self.assertEqual(d["keys"], {"pk": want[eid]["pk"], "sk": h.Num(want[eid]["sk"]["$n"])})
        self.assertEqual(self.objects("sdk/errors/"), [])

    def test_killed_loads_resume_without_a_duplicate(self):
        folder, files = self.export("kill-export", files=7)
        sh = self.daemon("kill", "k/", batch__max_records=20)
        seen = {}
        for kill in ("load.after_object:3", "load.after_file:2", "load.after_object:5", None):
            rc, out = self.load(sh, folder, env={"SHARDHOSE_KILL_AT": kill} if kill else None)
            if kill:
                self.assertEqual(rc, -9, "%s: %s" % (kill, out))
            else:
                self.assertEqual(rc, 0, out)
            for o in self.objects("k/"):  # a key never gets other bytes
                body = "\n".join(o.lines)
                self.assertEqual(seen.setdefault(o.key, body), body, o.key)
        self.check_loaded("k/", files)
        h.log("killed loads: %d objects, 4 runs" % len(seen))

    def test_a_data_file_not_matching_its_md5_stops_the_load(self):
        folder, files = self.export("md5-export")
        _n, path, _chunk = files[1]
        with open(path, "rb") as f:
            good = f.read()
        with open(path, "wb") as f:
            f.write(good[:-9] + bytes(9))
        sh = self.daemon("md5", "m/")
        rc, out = self.load(sh, folder)
        self.assertEqual(rc, 1, out)
        self.assertIn(os.path.basename(path), out)
        self.assertIn("nothing of it was written", out)
        self.assertFalse([o for o in self.objects("m/") if "-000001-" in o.key])
        with open(path, "wb") as f:
            f.write(good)
        rc, out = self.load(sh, folder)
        self.assertEqual(rc, 0, out)
        self.assertIn("1 loaded before this run", out)
        self.check_loaded("m/", files)

    def test_an_incremental_export_is_loaded_as_changes(self):
        export_id = "01716203600000-0incr000"
        folder = os.path.join(self.work, "incr-export", "AWSDynamoDB", export_id)
        a, b = self.items[0], self.items[1]
        keys_a = {"pk": a["pk"], "sk": a["sk"]}
        changed = dict(a, name={"S": "changed"})
        changes = [(1716200000000001, keys_a, None, a),           # INSERT
                   (1716200100000002, keys_a, a, changed),        # MODIFY
                   (1716203599999999, {"pk": b["pk"], "sk": b["sk"]}, b, None)]  # REMOVE
        write_incremental_export(folder, changes, export_id)
        sh = self.daemon("incr", "n/")
        rc, out = self.load(sh, folder)
        self.assertEqual(rc, 0, out)
        objs = self.objects("n/" + TABLE + "/")
        self.assertEqual([o.key.rsplit("/", 1)[-1] for o in objs],
                         ["%s-incremental-%s-000000-0001.json.gz" % (TABLE, export_id)])
        got = [h.loads_exact(ln) for ln in objs[0].lines]
        self.assertEqual([(d["event_id"], d["event_name"], d["event_time"]) for d in got],
                         [("%s:0:1" % export_id, "INSERT", "2024-05-20T10:13:20.000Z"),
                          ("%s:0:2" % export_id, "MODIFY", "2024-05-20T10:15:00.000Z"),
                          ("%s:0:3" % export_id, "REMOVE", "2024-05-20T11:13:19.999Z")])
        self.assertEqual(got[1]["old_image"], h.unmarshal_image(a))
        self.assertEqual(got[1]["new_image"], h.unmarshal_image(changed))
        self.assertEqual(got[2]["keys"], h.unmarshal_image({"pk": b["pk"], "sk": b["sk"]}))
        self.assertIsNone(got[2]["new_image"])

    def test_refusals(self):
        folder, _files = self.export("ion-export", export_id="01716200000000-ffffffff", fmt="ION")
        sh = self.daemon("ion", "i/")
        rc, out = self.load(sh, folder)
        self.assertEqual(rc, 2, out)
        self.assertIn("ION", out)

        folder, _files = self.export("corrupt-export")
        sh = self.daemon("corrupt", "c/")
        with open(os.path.join(sh.workdir, "load-%s.json" % EXPORT_ID), "w") as f:
            f.write("{garbage")
        rc, out = self.load(sh, folder)
        self.assertEqual(rc, 3, out)
        self.assertIn("load-%s.json" % EXPORT_ID, out)
        self.assertEqual(self.objects("c/"), [])


class ExportApiStub:
    """DynamoDB's export API as documented, for `load --start-export`: no
    emulator has it (DynamoDB Local lacks ExportTableToPointInTime; moto's
    writes no manifests). DescribeTable answers a TableArn and KeySchema;
    ExportTableToPointInTime answers IN_PROGRESS, or, for table "nopitr",
    PointInTimeRecoveryUnavailableException; the second DescribeExport of an
    export writes it to S3 (write_export's layout, under the request's
    S3Prefix) and answers COMPLETED with its ExportManifest."""

    def __init__(self, s3, items, work):
        import http.server
        import threading
        self.s3, self.items, self.work = s3, items, work
        self.requests = []  # (op, body)
        self.exports = {}   # arn -> [describes, request]
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                op = self.headers["X-Amz-Target"].split(".")[-1]
                stub.requests.append((op, body))
                status, answer = stub.answer(op, body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.0")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()

    def answer(self, op, body):
        arn_of = lambda t: "arn:aws:dynamodb:us-east-1:%s:table/%s" % (ACCOUNT, t)  # noqa: E731
        if op == "DescribeTable":
            return 200, {"Table": {"TableName": body["TableName"], "TableArn": arn_of(body["TableName"]),
                                   "TableStatus": "ACTIVE",
                                   "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                                                 {"AttributeName": "sk", "KeyType": "RANGE"}]}}
        if op == "ExportTableToPointInTime":
            if body["TableArn"].endswith("/nopitr"):
                return 400, {"__type": "com.amazonaws.dynamodb.v20120810#PointInTimeRecoveryUnavailableException",
                             "message": "Point in time recovery is not enabled for table 'nopitr'"}
            export_id = "0%013d-%s" % (1716200000000, hashlib.sha1(body["ClientToken"].encode()).hexdigest()[:8])
            arn = "%s/export/%s" % (body["TableArn"], export_id)
            self.exports.setdefault(arn, [0, body, export_id])
            return 200, {"ExportDescription": {"ExportArn": arn, "ExportStatus": "IN_PROGRESS"}}
        if op == "DescribeExport":
            entry = self.exports[body["ExportArn"]]
            entry[0] += 1
            if entry[0] < 2:
                return 200, {"ExportDescription": {"ExportArn": body["ExportArn"], "ExportStatus": "IN_PROGRESS"}}
            req, export_id = entry[1], entry[2]
            prefix = req.get("S3Prefix", "")
            base = (prefix + "/" if prefix else "") + "AWSDynamoDB/" + export_id
            folder = os.path.join(self.work, "stub-export-" + export_id)
            if not os.path.isdir(folder):
                write_export(folder, self.items, files=3, export_id=export_id, key_prefix=prefix)
                for root, _dirs, names in os.walk(folder):
                    for name in names:
                        path = os.path.join(root, name)
                        with open(path, "rb") as f:
                            self.s3.put_object(base + "/" + os.path.relpath(path, folder), f.read())
            return 200, {"ExportDescription": {"ExportArn": body["ExportArn"], "ExportStatus": "COMPLETED",
                                               "ExportManifest": base + "/manifest-summary.json"}}
        return 400, {"__type": "com.amazonaws.dynamodb.v20120810#UnknownOperationException", "message": op}


class StartExportTest(unittest.TestCase):
    def test_start_export_waits_then_loads_and_names_point_in_time_recovery(self):
        with h.TempDir(prefix="shardhose-e2e-start-export-") as work, h.Emulators(streams={"ddb-x": 1}) as emu:
            items = [item(i) for i in range(40)]
            stub = ExportApiStub(emu.s3, items, work)
            try:
                sh = h.Shardhose(emu, os.path.join(work, "d"), "ddb-x", output__prefix="s/{table}/",
                                 output__error_prefix="errors/{error}/", load__dynamodb_endpoint_url=stub.url)
                cmd = [h.shardhose_bin(), "load", "--config", sh.config_path, "--start-export", "s3://%s/exports/"
                       % h.BUCKET, "--table", TABLE]
                p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=sh.env(), timeout=120)
                out = p.stdout.decode("utf-8", "replace")
                self.assertEqual(p.returncode, 0, out)
                self.assertIn("export IN_PROGRESS", out)
                self.assertIn("3/3 files, 40 items", out)
                [(_, req)] = [(op, b) for op, b in stub.requests if op == "ExportTableToPointInTime"]
                self.assertEqual((req["S3Bucket"], req["S3Prefix"], req["ExportFormat"]),
                                 (h.BUCKET, "exports", "DYNAMODB_JSON"))
                self.assertTrue(req["TableArn"].endswith(":table/" + TABLE))
                objs = h.s3_objects(emu.s3, prefix="s/")
                lines = [h.loads_exact(ln) for o in objs for ln in o.lines]
                self.assertEqual(len(lines), 40)
                self.assertEqual({d["event_name"] for d in lines}, {"SNAPSHOT"})
                want = {(it["pk"]["S"], it["sk"]["N"]): h.unmarshal_image(it) for it in items}
                self.assertEqual({(d["keys"]["pk"], d["keys"]["sk"].text): d["new_image"] for d in lines}, want)
                # Again: the same ClientToken finds the same export; nothing new.
                p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=sh.env(), timeout=120)
                out = p.stdout.decode("utf-8", "replace")
                self.assertEqual(p.returncode, 0, out)
                self.assertIn("3 loaded before this run", out)
                tokens = {b["ClientToken"] for op, b in stub.requests if op == "ExportTableToPointInTime"}
                self.assertEqual(len(tokens), 1)
                # Point-in-time recovery off: exit 2, saying how to turn it on.
                p = subprocess.run(cmd[:-1] + ["nopitr"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   env=sh.env(), timeout=60)
                out = p.stdout.decode("utf-8", "replace")
                self.assertEqual(p.returncode, 2, out)
                self.assertIn("point-in-time recovery off", out)
                self.assertIn("update-continuous-backups", out)
            finally:
                stub.close()


if __name__ == "__main__":
    unittest.main()
