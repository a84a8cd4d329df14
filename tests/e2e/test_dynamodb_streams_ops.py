"""source.type = "dynamodb-streams" in operation (issue 12), against AWS's
DynamoDB Local (its Streams API):

- a steady load of PutItem/UpdateItem/DeleteItem while the daemon runs, is
  SIGKILLed twice, stopped with SIGTERM once and restarted each time, then a
  drain: every change exactly once, and per key in the order it was made;
- wide (1,000 attributes) and large (~390 KB) items, inserted then updated:
  every attribute exact;
- a TTL delete: its REMOVE line carries user_identity {"type": "Service",
  "principalId": "dynamodb.amazonaws.com"}, named as from Kinesis (the
  Streams API says Type and PrincipalId);
- the table's stream disabled and enabled again (a new stream ARN): `run`
  stops with exit 3 and says what to do; after `checkpoint reset` the new
  stream is read;
- lease mode (coordination.mode = "dynamodb", the lease table in the same
  DynamoDB Local): two workers share the table's stream, every change once.

What DynamoDB Local (1.25) does here, as probed: one shard per stream,
not rolled over within a test (3,000 writes stay in one open shard; it
rolls shards after 4 hours, or through its hidden test control, which
test_dynamodb_streams_shards.py turns on for rollover and the trim
horizon); TTL deletes (within seconds, userIdentity {"PrincipalId",
"Type"}); no throttling (LimitExceededException is never answered, so
throttling is tested with fakes, tests/unit/pipeline/, and a fault proxy,
test_dynamodb_streams.py); GetRecords answers up to 1,000 records per
call."""

import os
import random
import threading
import time
import unittest

import harness as h

TABLE = "orders"
KEYS = 40


def create_table(ddb, name=TABLE):
    ddb.client.call("CreateTable", {
        "TableName": name, "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}})


class Producer(threading.Thread):
    """Writes `total` changes over KEYS keys: a PutItem of version 1 for an
    absent key, else an UpdateItem to the next version (4 in 5) or a
    DeleteItem. `made[key]` is the list of (event_name, version) in order."""

    def __init__(self, client, total, seed, pause_s=0.0):
        super().__init__(daemon=True)
        self.client, self.total, self.pause_s = client, total, pause_s
        self.rng = random.Random(seed)
        self.made = {}
        self.version = {}
        self.count = 0
        self.error = None

    def run(self):
        try:
            for _ in range(self.total):
                key = "customer#%03d" % self.rng.randrange(KEYS)
                v = self.version.get(key)
                if v is None:
                    self.client.put_item(TABLE, {"pk": {"S": key}, "version": {"N": "1"}})
                    self.version[key] = 1
                    self.made.setdefault(key, []).append(("INSERT", 1))
                elif self.rng.random() < 0.8:
                    self.client.call("UpdateItem", {
                        "TableName": TABLE, "Key": {"pk": {"S": key}},
                        "UpdateExpression": "SET #v = :v", "ExpressionAttributeNames": {"#v": "version"},
                        "ExpressionAttributeValues": {":v": {"N": str(v + 1)}}})
                    self.version[key] = v + 1
                    self.made[key].append(("MODIFY", v + 1))
                else:
                    self.client.call("DeleteItem", {"TableName": TABLE, "Key": {"pk": {"S": key}}})
                    del self.version[key]
                    self.made[key].append(("REMOVE", None))
                self.count += 1
                if self.pause_s:
                    time.sleep(self.pause_s)
        except Exception as e:  # reported by the test
            self.error = e


def streams_daemon(emu, ddb, workdir, **overrides):
    return h.Shardhose(emu, workdir, TABLE, max_interval_s=1, source__stream_name=None,
                       source__type="dynamodb-streams", source__table_name=TABLE, source__endpoint_url=ddb.url,
                       **overrides)


def written(emu, prefix=""):
    """Every output line, parsed with exact numbers: (line dict, text)."""
    return [(h.loads_exact(ln), ln) for o in h.s3_objects(emu.s3, prefix=prefix) for ln in o.lines]


def count_written(emu):
    """How many lines are written so far (0 while s3rver lists an object
    whose PUT is still being stored)."""
    try:
        return len(written(emu))
    except h.OutputError:
        return 0


class DynamoDbStreamsOpsTest(unittest.TestCase):
    def setUp(self):
        why = h.DynamoDbLocal.missing()
        if why:
            self.skipTest(why)

    def check_once_in_order(self, lines, made):
        total = sum(len(v) for v in made.values())
        ids = [d["event_id"] for d, _ in lines]
        self.assertEqual(len(set(ids)), len(ids), "an event id written twice")
        self.assertEqual(len(ids), total, "changes written")
        got = {}
        for d, _ in lines:
            self.assertNotIn("error", d, d)
            version = d["new_image"]["version"] if d.get("new_image") else None
            got.setdefault(d["keys"]["pk"], []).append(
                (int(d["sequence_number"]), d["event_name"], None if version is None else int(version.text)))
        for key, want in made.items():
            self.assertEqual([(e, v) for _, e, v in sorted(got.get(key, []))], want, key)

    def test_kills_and_restarts_under_load_lose_and_double_nothing(self):
        with h.TempDir() as work, h.Emulators(streams={}) as emu, h.DynamoDbLocal(work) as ddb:
            create_table(ddb)
            producer = Producer(ddb.client, total=1500, seed=7, pause_s=0.01)
            sh = streams_daemon(emu, ddb, work)
            producer.start()
            sh.start()
            events = []
            for what in ("kill", "kill", "term"):
                h.wait_for(lambda: count_written(emu) > 0 and producer.count > 0, 60, what="some output")
                time.sleep(2 + random.random() * 2)
                if what == "kill":
                    sh.kill()
                else:
                    rc, out = sh.stop()
                    self.assertEqual(rc, 0, out[-3000:])
                events.append("%s after %d changes" % (what, producer.count))
                sh.start()
            producer.join(timeout=300)
            self.assertIsNone(producer.error)
            rc, out = sh.stop()
            self.assertEqual(rc, 0, out[-3000:])
            sh.drain(timeout=120)
            lines = written(emu)
            self.check_once_in_order(lines, producer.made)
            h.log("dynamodb-streams ops: %d changes over %d keys, %s; %d lines, each once, in order per key"
                  % (producer.count, len(producer.made), ", ".join(events), len(lines)))

    def test_wide_and_large_items_are_written_exactly(self):
        with h.TempDir() as work, h.Emulators(streams={}) as emu, h.DynamoDbLocal(work) as ddb:
            create_table(ddb)
            wide = {"pk": {"S": "wide"}}
            for i in range(1000):
                kind = i % 5
                wide["a%04d" % i] = (
                    {"S": "value %d ☃" % i} if kind == 0 else
                    {"N": "%038d" % (10 ** 37 + i)} if kind == 1 else
                    {"BOOL": i % 2 == 0} if kind == 2 else
                    {"L": [{"N": str(i)}, {"S": "x"}]} if kind == 3 else
                    {"M": {"n": {"N": "-0.%d" % (i + 1)}}})
            large = {"pk": {"S": "large"}, "blob": {"S": "y" * 390_000}, "n": {"N": "9" * 38}}
            for item in (wide, large):
                ddb.client.put_item(TABLE, item)
                ddb.client.call("UpdateItem", {
                    "TableName": TABLE, "Key": {"pk": item["pk"]}, "UpdateExpression": "SET #u = :u",
                    "ExpressionAttributeNames": {"#u": "updated"}, "ExpressionAttributeValues": {":u": {"BOOL": True}}})
            sh = streams_daemon(emu, ddb, work)
            sh.drain(timeout=120)
            lines = written(emu)
            self.assertEqual(len(lines), 4, [d.get("event_name") for d, _ in lines])
            for item in (wide, large):
                want = {k: h.unmarshal_value(v) for k, v in item.items()}
                mine = sorted((int(d["sequence_number"]), d) for d, _ in lines if d["keys"]["pk"] == item["pk"]["S"])
                self.assertEqual([d["event_name"] for _, d in mine], ["INSERT", "MODIFY"])
                insert, modify = mine[0][1], mine[1][1]
                self.assertEqual(insert["new_image"], want)
                self.assertEqual(modify["old_image"], want)
                self.assertEqual(modify["new_image"], dict(want, updated=True))
            sizes = sorted(len(t) for _, t in lines)
            h.log("dynamodb-streams wide/large: 4 lines, exact; line sizes %s bytes" % sizes)

    def test_a_ttl_delete_carries_the_service_identity(self):
        with h.TempDir() as work, h.Emulators(streams={}) as emu, h.DynamoDbLocal(work) as ddb:
            create_table(ddb)
            ddb.client.call("UpdateTimeToLive", {"TableName": TABLE, "TimeToLiveSpecification": {
                "Enabled": True, "AttributeName": "expires"}})
            ddb.client.put_item(TABLE, {"pk": {"S": "gone"}, "expires": {"N": str(int(time.time()) - 60)}})
            arn = ddb.client.call("DescribeTable", {"TableName": TABLE})["Table"]["LatestStreamArn"]
            streams_api = "DynamoDBStreams_20120810"
            shard = ddb.client.call("DescribeStream", {"StreamArn": arn},
                                    api=streams_api)["StreamDescription"]["Shards"][0]["ShardId"]

            def removed():  # DynamoDB Local's TTL sweep has deleted the item
                it = ddb.client.call("GetShardIterator", {"StreamArn": arn, "ShardId": shard,
                                                          "ShardIteratorType": "TRIM_HORIZON"}, api=streams_api)
                recs = ddb.client.call("GetRecords", {"ShardIterator": it["ShardIterator"]}, api=streams_api)
                return any(r["eventName"] == "REMOVE" for r in recs["Records"])
            h.wait_for(removed, 120, interval=1, what="the TTL delete in the stream")
            streams_daemon(emu, ddb, work).drain(timeout=120)
            lines = sorted(((d["event_name"], d) for d, _ in written(emu)), key=lambda x: x[0])
            self.assertEqual([e for e, _ in lines], ["INSERT", "REMOVE"])
            self.assertIsNone(lines[0][1]["user_identity"])
            self.assertEqual(lines[1][1]["user_identity"], {"type": "Service", "principalId": "dynamodb.amazonaws.com"})

    def test_a_new_stream_of_the_table_stops_run_with_exit_3(self):
        with h.TempDir() as work, h.Emulators(streams={}) as emu, h.DynamoDbLocal(work) as ddb:
            create_table(ddb)
            ddb.client.put_item(TABLE, {"pk": {"S": "before"}})
            old_arn = ddb.client.call("DescribeTable", {"TableName": TABLE})["Table"]["LatestStreamArn"]
            sh = streams_daemon(emu, ddb, work)
            sh.drain(timeout=120)
            ddb.client.call("UpdateTable", {"TableName": TABLE, "StreamSpecification": {"StreamEnabled": False}})
            ddb.client.call("UpdateTable", {"TableName": TABLE, "StreamSpecification": {
                "StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}})
            new_arn = ddb.client.call("DescribeTable", {"TableName": TABLE})["Table"]["LatestStreamArn"]
            self.assertNotEqual(new_arn, old_arn)
            ddb.client.put_item(TABLE, {"pk": {"S": "after"}})

            rc, out = sh.run("run", "--config", sh.config_path, "--drain", what="foreign")
            self.assertEqual(rc, 3, out[-3000:])
            for part in (old_arn, new_arn, "disabled and enabled again", "shardhose checkpoint reset"):
                self.assertIn(part, out)
            rc, out = sh.run("checkpoint", "reset", "--config", sh.config_path, "--yes", what="reset")
            self.assertEqual(rc, 0, out)
            sh.drain(timeout=120)
            keys = sorted(d["keys"]["pk"] for d, _ in written(emu))
            self.assertEqual(keys, ["after", "before"])

    def test_two_workers_share_the_stream_through_a_lease_table(self):
        with h.TempDir() as work, h.Emulators(streams={}) as emu, h.DynamoDbLocal(work) as ddb:
            create_table(ddb)
            producer = Producer(ddb.client, total=400, seed=11)
            producer.run()
            self.assertIsNone(producer.error)
            workers = [streams_daemon(emu, ddb, os.path.join(work, name), coordination__mode="dynamodb",
                                      coordination__endpoint_url=ddb.url, coordination__worker_id=name,
                                      coordination__lease_duration_s=3)
                       for name in ("a", "b")]
            for w in workers:
                w.start()
            try:
                h.wait_for(lambda: count_written(emu) >= producer.count, 120, what="every change written")
            finally:
                for w in workers:
                    rc, out = w.stop()
                    self.assertEqual(rc, 0, out[-3000:])
            self.check_once_in_order(written(emu), producer.made)
            h.log("dynamodb-streams lease mode: %d changes, 2 workers, each once, in order per key" % producer.count)


if __name__ == "__main__":
    unittest.main()
