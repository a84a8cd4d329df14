"""source.type = "dynamodb-streams" (issue 12, first slice): a table's
DynamoDB stream in AWS's DynamoDB Local, read directly. PutItem, UpdateItem
and DeleteItem of items with every attribute type and 38-digit numbers; a
`run --drain` writes each change exactly once, in sequence order per key,
with exact numbers, the table named from the stream, `event_time` at
millisecond precision and `raw` lines exactly as GetRecords returned them
(no tableName added). A second drain writes nothing; `checkpoint show`
and `tap` read the same stream (tap prints exactly the lines written).
Through a fault proxy (throttling, 500s, resets, expired iterators) a drain
still writes every change once."""

import json
import os
import unittest

import fault_proxy as fp
import harness as h

TABLE = "orders"


def item(i, version):
    return {
        "pk": {"S": "customer#%03d" % i},
        "version": {"N": str(version)},
        "big": {"N": "1234567890123456789012345678901234567%d" % (i % 10)},
        "tiny": {"N": "-0.000000000000000000000000000000000001"},
        "name": {"S": "naïve ☃ \"quoted\" %d" % i},
        "blob": {"B": "AAEC/w=="},
        "ok": {"BOOL": i % 2 == 0},
        "nothing": {"NULL": True},
        "tags": {"SS": ["a", "b"]},
        "nums": {"NS": ["1", "2.5"]},
        "blobs": {"BS": ["AA=="]},
        "map": {"M": {"nested": {"L": [{"N": "1"}, {"S": "x"}, {"M": {"deep": {"BOOL": False}}}]}}},
    }


def make_changes(ddb):
    """Creates TABLE with a stream; 40 PutItems, 20 UpdateItems, 8 DeleteItems.
    Returns the changes as (key, kind, version)."""
    ddb.client.call("CreateTable", {
        "TableName": TABLE, "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}})
    changes = []
    for i in range(40):
        ddb.client.put_item(TABLE, item(i, 1))
        changes.append(("customer#%03d" % i, "INSERT", 1))
    for i in range(0, 40, 2):
        ddb.client.call("UpdateItem", {
            "TableName": TABLE, "Key": {"pk": {"S": "customer#%03d" % i}},
            "UpdateExpression": "SET #v = :v", "ExpressionAttributeNames": {"#v": "version"},
            "ExpressionAttributeValues": {":v": {"N": "2"}}})
        changes.append(("customer#%03d" % i, "MODIFY", 2))
    for i in range(0, 40, 5):
        ddb.client.call("DeleteItem", {"TableName": TABLE, "Key": {"pk": {"S": "customer#%03d" % i}}})
        changes.append(("customer#%03d" % i, "REMOVE", None))
    return changes


class DynamoDbStreamsTest(unittest.TestCase):
    def setUp(self):
        why = h.DynamoDbLocal.missing()
        if why:
            self.skipTest(why)

    def test_drain_writes_every_change_once_in_order(self):
        with h.TempDir() as work, h.Emulators(streams={}) as emu, h.DynamoDbLocal(work) as ddb:
            changes = make_changes(ddb)

            def daemon(name, fmt):
                return h.Shardhose(emu, os.path.join(work, name), TABLE, max_interval_s=1,
                                   source__stream_name=None, source__type="dynamodb-streams",
                                   source__table_name=TABLE, source__endpoint_url=ddb.url,
                                   output__format=fmt, output__prefix="%s/{table}/" % name)

            sh = daemon("unmarshalled", "unmarshalled")
            res = sh.drain(timeout=120)
            out = h.Output(h.s3_objects(emu.s3, prefix="unmarshalled/"))
            lines = [ln for o in out.objects for ln in o.lines]
            self.assertEqual(len(lines), len(changes), res[-3000:])
            by_key = {}
            for ln in lines:
                d = h.loads_exact(ln)
                self.assertEqual(d["table"], TABLE)
                self.assertRegex(d["event_time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
                key = d["keys"]["pk"]
                by_key.setdefault(key, []).append((int(d["sequence_number"]), d["event_name"], d, ln))
            self.assertEqual(len({x[2]["event_id"] for v in by_key.values() for x in v}), len(changes),
                             "event ids unique")
            for key, evs in by_key.items():
                evs.sort()
                want = [kind for k, kind, _ in changes if k == key]
                self.assertEqual([e[1] for e in evs], want, key)
                i = int(key.split("#")[1])
                first_line = evs[0][3]  # the INSERT, as written
                self.assertIn('"big":1234567890123456789012345678901234567%d' % (i % 10), first_line)
                self.assertIn('"tiny":-0.000000000000000000000000000000000001', first_line)
                self.assertIn('"name":"naïve ☃ \\"quoted\\" %d"' % i, first_line)
            # A second drain: nothing new.
            sh.drain(timeout=120)
            self.assertEqual(len(h.s3_objects(emu.s3, prefix="unmarshalled/")), len(out.objects))

            # The commands that read the stream read this one too.
            rc, text = sh.run("checkpoint", "--config", sh.config_path, what="show")
            self.assertEqual(rc, 0, text)
            shard_lines = [ln for ln in text.splitlines() if ln.startswith("shardId-")]
            self.assertTrue(shard_lines, text)
            for ln in shard_lines:
                self.assertIn("caught up", ln, text)
            rc, text = sh.run("tap", "--config", sh.config_path, "--from", "checkpoint", what="tap-checkpoint")
            self.assertEqual(rc, 0, text)
            self.assertIn("0 record(s) from %s" % TABLE, text)
            rc, text = sh.run("tap", "--config", sh.config_path, "--from", "trim_horizon", "-n", "1000",
                              "--format", "json", what="tap")
            self.assertEqual(rc, 0, text)
            tapped = [json.loads(ln) for ln in text.splitlines() if ln.startswith("{")]
            self.assertEqual(len(tapped), len(changes), text[-2000:])
            self.assertEqual(sorted(t["line"] for t in tapped), sorted(ln for ln in lines))

            # raw: each line is the stream record as GetRecords returned it.
            raw = daemon("raw", "raw")
            raw.drain(timeout=120)
            rlines = [json.loads(ln) for o in h.s3_objects(emu.s3, prefix="raw/") for ln in o.lines]
            self.assertEqual(len(rlines), len(changes))
            for r in rlines:
                self.assertNotIn("tableName", r)
                self.assertIn("SequenceNumber", r["dynamodb"])
                self.assertIn(r["eventName"], ("INSERT", "MODIFY", "REMOVE"))
            h.log("dynamodb-streams: %d changes, %d unmarshalled objects, %d raw lines"
                  % (len(changes), len(out.objects), len(rlines)))

    def test_throttling_and_failures_back_off_and_lose_nothing(self):
        """The Streams API throttles (LimitExceededException), fails (500),
        resets connections and expires iterators, through a fault proxy in
        front of DynamoDB Local: the drain still writes every change once."""
        with h.TempDir() as work, h.Emulators(streams={}) as emu, h.DynamoDbLocal(work) as ddb, \
                fp.FaultProxy(ddb.port, "dynamodb", seed=12,
                              rates={"throttle": .25, "500": .05, "reset": .05, "expired": .1}) as proxy:
            changes = make_changes(ddb)
            sh = h.Shardhose(emu, work, TABLE, max_interval_s=1, source__stream_name=None,
                             source__type="dynamodb-streams", source__table_name=TABLE,
                             source__endpoint_url=proxy.url, source__idle_poll_interval_ms=200)
            res = sh.drain(timeout=180)
            lines = [ln for o in h.s3_objects(emu.s3) for ln in o.lines]
            ids = [h.loads_exact(ln)["event_id"] for ln in lines]
            self.assertEqual(len(ids), len(changes), res[-3000:])
            self.assertEqual(len(set(ids)), len(changes))
            self.assertGreater(proxy.counts.get("throttle", 0), 0, proxy.summary())
            self.assertIn("LimitExceededException", res)
            h.log("dynamodb-streams faults: %d changes once each; proxy %s" % (len(changes), proxy.summary()))


if __name__ == "__main__":
    unittest.main()
