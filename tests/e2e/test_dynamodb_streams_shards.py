"""source.type = "dynamodb-streams" when the server rolls and trims shards
(issue 12), against AWS's DynamoDB Local started with its test control on
(harness.DynamoDbLocal(test_control=True), dynamodb/TestControlServer.java:
its command line cannot turn it on). A PutItem to table "[TEST_CONTROL]"
with ACTION = "ROLLOVER" closes every open shard now (a child opens at the
next write); "DILATE_TIME" with HOURS = n ages every stream record by n
hours, then rolls shards older than 4 hours over.

- shard rollover: five rollovers, one under a running daemon and one
  leaving an empty closed shard, make a chain of six shards; every change
  once, in order per key, each closed shard "finished" in the checkpoint.
- a wholly expired shard: a drain leaves a checkpoint in the first shard;
  more changes; the records age 25 hours (past the 24-hour retention) and
  the checkpoint says the shard was last caught up 25 hours ago (as after
  an outage: the daemon's clock is not dilated), so the shard is closed
  and every iterator of it, TRIM_HORIZON included, is answered
  TrimmedDataAccessException; changes go on in its child. The next drain
  reports the loss once (one error log line, naming the shard), ends the
  shard as finished, reads the child and ends: the 15 changes in the child
  written once; a second drain writes and reports nothing.

What DynamoDB Local 1.25.1 (tests/emulators/dynamodb-local.lock) does with
streams, found with API calls and `javap` on DynamoDBLocal.jar:

- A new table's stream has ONE shard, starting at sequence number
  "000000000000000000001" (21 digits, +1 per change across the table);
  3,000 PutItems in a row leave it one open shard. It rolls a shard over
  only by age (4 hours, AmazonDynamoDBLocal.SHARD_ROLLOVER_TIME) or through
  the test control. A rollover closes an empty shard too: its
  EndingSequenceNumber is then its StartingSequenceNumber. A closed shard
  read to its end answers no NextShardIterator.
- Retention: records expire after 24 hours, closed shards 24 hours after
  closing, iterators after 15 minutes. A closed shard whose records have
  all expired is still listed and GetShardIterator of it succeeds, but the
  first GetRecords of every iterator, TRIM_HORIZON and LATEST included,
  answers TrimmedDataAccessException.
- No throttling: 300 GetRecords on one shard without a pause took 0.2 s;
  LimitExceededException is never answered (tested with fault proxies and
  fakes instead).
- ApproximateCreationDateTime is rounded down to the minute.
- GetShardIterator AT_SEQUENCE_NUMBER past the shard's last record is
  InternalFailure (HTTP 500).
"""

import os
import random
import re
import string
import time
import unittest

import harness as h

SEED = int(os.environ.get("STREAMS_SHARDS_SEED", "20240612"))
KEYS = 40


def create_table(client, name):
    """A table with a NEW_AND_OLD_IMAGES stream; its LatestStreamArn."""
    client.call("CreateTable", {
        "TableName": name, "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}})
    h.wait_for(lambda: client.describe_table(name)["TableStatus"] == "ACTIVE", 60, interval=0.2,
               what="table %s ACTIVE" % name)
    return client.describe_table(name)["LatestStreamArn"]


def error_log_lines(text):
    """Lines of a text-format log at level error or critical."""
    return [ln for ln in text.splitlines() if re.match(r"^\S+ (error|critical) ", ln)]


def run_logs(workdir):
    out = ""
    for fn in sorted(os.listdir(workdir)):
        if fn.startswith("shardhose-") and fn.endswith(".log"):
            with open(os.path.join(workdir, fn), errors="replace") as f:
                out += f.read()
    return out



class ChangeProducer:
    """Changes to KEYS items of a table: PutItem when the key is absent
    (INSERT), else UpdateItem (MODIFY), a PutItem overwrite (MODIFY) or
    DeleteItem (REMOVE). Each key's `version` goes up by one per INSERT and
    MODIFY; `changes` holds (key, event name, version) in the order made
    (a REMOVE with the version it removed). step(n) writes n changes, from
    the test's thread: rollovers and ageing happen between steps."""

    def __init__(self, client, table, seed):
        self.client, self.table = client, table
        self.rng = random.Random(seed)
        self.version = {}
        self.live = set()
        self.changes = []

    def _one(self):
        key = "item#%02d" % self.rng.randrange(KEYS)
        n = self.version.get(key, 0) + 1
        pk = {"pk": {"S": key}}
        note = {"S": "".join(self.rng.choice(string.ascii_letters) for _ in range(self.rng.randint(0, 40)))}
        if key not in self.live:
            self.client.put_item(self.table, dict(pk, version={"N": str(n)}, note=note))
            change = (key, "INSERT", n)
            self.live.add(key)
        else:
            r = self.rng.random()
            if r < 0.6:
                self.client.update_item(self.table, pk, "SET #v = :v, note = :n", names={"#v": "version"},
                                        values={":v": {"N": str(n)}, ":n": note})
                change = (key, "MODIFY", n)
            elif r < 0.8:
                self.client.put_item(self.table, dict(pk, version={"N": str(n)}, note=note))
                change = (key, "MODIFY", n)
            else:
                self.client.call("DeleteItem", {"TableName": self.table, "Key": pk})
                n = self.version[key]
                change = (key, "REMOVE", n)
                self.live.discard(key)
        self.version[key] = n
        self.changes.append(change)

    def step(self, n):
        for _ in range(n):
            self._one()


def shard_list(client, arn):
    """Every shard of the stream (DescribeStream, paged)."""
    out, body = [], {"StreamArn": arn}
    while True:
        d = client.streams("DescribeStream", body)["StreamDescription"]
        out.extend(d["Shards"])
        if not d.get("LastEvaluatedShardId"):
            return out
        body["ExclusiveStartShardId"] = d["LastEvaluatedShardId"]


class DynamoDbStreamsShardsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        why = h.DynamoDbLocal.missing(test_control=True)
        if why:
            raise unittest.SkipTest(why)
        cls.t0 = time.time()
        cls.tmp = h.TempDir(prefix="shardhose-e2e-streams-shards-")
        cls.work = cls.tmp.__enter__()
        cls.emu = h.Emulators(streams={})
        try:
            cls.emu.__enter__()
        except BaseException:
            cls.tmp.__exit__(None, None, None)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.emu.__exit__(None, None, None)
        cls.tmp.__exit__(None, None, None)
        h.log("class done in %.1f s" % (time.time() - cls.t0))

    def setUp(self):
        self.started = time.time()
        # Each test its own server: DILATE_TIME ages every table's records.
        self.ddb_dir = os.path.join(self.work, self.id().rsplit(".", 1)[-1])
        os.makedirs(self.ddb_dir)
        self.ddb = h.DynamoDbLocal(self.ddb_dir, test_control=True).__enter__()

    def tearDown(self):
        self.ddb.__exit__(None, None, None)
        h.log("%s: %.1f s" % (self.id().rsplit(".", 1)[-1], time.time() - self.started))

    def daemon(self, name, table, **overrides):
        kw = dict(max_interval_s=1, source__stream_name=None, source__type="dynamodb-streams",
                  source__table_name=table, source__endpoint_url=self.ddb.url,
                  output__error_prefix="errors/%s/{error}/" % table)
        kw.update(overrides)
        return h.Shardhose(self.emu, os.path.join(self.work, name), table, **kw)

    def written(self, table):
        return h.Output(h.s3_objects(self.emu.s3, prefix="ddb/%s/" % table))

    def all_written(self, table, n):
        try:
            return len(self.written(table).by_event_id) >= n
        except h.OutputError:  # s3rver lists an object while its PUT is still being stored
            return False

    def check_changes(self, table, changes, out):
        """Every change once (by event id), per key in the order made (by
        sequence number), a MODIFY's old image the previous version, an
        INSERT without one. No error line."""
        self.assertEqual(out.duplicates(), {}, "event ids written more than once")
        self.assertEqual(len(out.by_event_id), len(changes), "distinct event ids vs changes made")
        self.assertEqual(out.lines, len(changes), "lines vs changes made")
        self.assertEqual(out.errors, [])
        self.assertEqual(h.s3_objects(self.emu.s3, prefix="errors/%s/" % table), [])
        by_key = {}
        for (_key, d), in out.by_event_id.values():
            self.assertEqual(d["table"], table)
            image = d["new_image"] if d["event_name"] != "REMOVE" else d["old_image"]
            old = d["old_image"]["version"].text if d["old_image"] else None
            by_key.setdefault(d["keys"]["pk"], []).append(
                (int(d["sequence_number"]), d["event_name"], int(image["version"].text), old))
        want = {}
        for key, kind, version in changes:
            want.setdefault(key, []).append((kind, version))
        self.assertEqual(set(by_key), set(want))
        for key, evs in by_key.items():
            evs.sort()
            self.assertEqual([(kind, v) for _, kind, v, _ in evs], want[key], key)
            for prev, ev in zip([None] + evs, evs):
                if ev[1] == "INSERT":
                    self.assertIsNone(ev[3], "%s: %s has an old image" % (key, ev))
                elif ev[1] == "MODIFY":
                    self.assertEqual(ev[3], str(prev[2]), "%s: old image of %s" % (key, ev))

    # -------------------------------------------------------------- rollover
    def test_shard_rollover(self):
        """DynamoDB Local rolls a shard over only after 4 hours; its test
        control (harness.DynamoDbLocal(test_control=True)) does it now."""
        table = "rolled"
        ddb = self.ddb
        c = ddb.client
        arn = create_table(c, table)
        producer = ChangeProducer(c, table, seed=SEED + 5)
        producer.step(40)
        ddb.test_control("ROLLOVER")
        producer.step(40)
        self.assertEqual(len(shard_list(c, arn)), 2)
        sh = self.daemon("rolled", table, source__shard_refresh_s=1)
        sh.start()
        try:
            h.wait_for(lambda: self.all_written(table, 80), 60, what="the first 80 changes, two shards")
            ddb.test_control("ROLLOVER")  # under the running daemon
            producer.step(40)
            ddb.test_control("ROLLOVER")
            ddb.test_control("ROLLOVER")  # a shard closed with no record in it
            producer.step(40)
            h.wait_for(lambda: self.all_written(table, 160), 60, what="160 changes across the rollovers")
            rc, text = sh.stop()
            self.assertEqual(rc, 0, text[-6000:])
        finally:
            sh.close()
        ddb.test_control("ROLLOVER")
        producer.step(30)
        listed = shard_list(c, arn)
        sh.drain(timeout=120)
        out = self.written(table)
        self.check_changes(table, producer.changes, out)
        self.assertEqual(error_log_lines(run_logs(sh.workdir)), [])
        # A chain: each shard the child of the one before; all but the last closed.
        self.assertEqual(len(listed), 6, listed)
        for parent, child in zip(listed, listed[1:]):
            self.assertEqual(child.get("ParentShardId"), parent["ShardId"], listed)
        closed = [s["ShardId"] for s in listed if s["SequenceNumberRange"].get("EndingSequenceNumber")]
        self.assertEqual(closed, [s["ShardId"] for s in listed[:-1]], listed)
        empty = [s for s in listed if s["SequenceNumberRange"].get("EndingSequenceNumber")
                 == s["SequenceNumberRange"]["StartingSequenceNumber"]]
        self.assertEqual(len(empty), 1, listed)
        shard_of = {d["event_id"]: d["shard_id"] for (_k, d), in out.by_event_id.values()}
        per_shard = {s["ShardId"]: 0 for s in listed}
        for sid in shard_of.values():
            per_shard[sid] += 1
        self.assertEqual(per_shard[empty[0]["ShardId"]], 0)
        states = {sid: st.get("state") for sid, st in h.read_checkpoint_doc(sh.checkpoint_path)["shards"].items()}
        for sid in closed:
            self.assertEqual(states.get(sid), "finished", "closed shard %s in the checkpoint: %s" % (sid, states))
        h.log("rollover: %d changes over shards %s" % (len(producer.changes), list(per_shard.values())))

    # -------------------------------------------------------------- trim horizon
    def test_a_wholly_expired_shard_is_reported_and_its_child_read(self):
        table = "expired"
        c = self.ddb.client
        arn = create_table(c, table)
        producer = ChangeProducer(c, table, seed=SEED + 7)
        producer.step(20)
        sh = self.daemon("expired", table)
        sh.drain(timeout=120)
        first = self.written(table)
        self.assertEqual(len(first.by_event_id), 20)
        producer.step(10)  # never read: they expire
        self.ddb.test_control("DILATE_TIME", HOURS="25")
        # The server's clock is 25 hours on, the daemon's is not: as after
        # an outage of 25 hours, the shard was last seen caught up then.
        old_ms = int((time.time() - 25 * 3600) * 1000)

        def caught_up_long_ago(body):
            for st in body["shards"].values():
                st["caught_up_ms"] = min(st.get("caught_up_ms", old_ms), old_ms)
        h.rewrite_checkpoint(sh.checkpoint_path, caught_up_long_ago)
        producer.step(15)  # into the rolled-over shard's child
        listed = shard_list(c, arn)
        self.assertEqual(len(listed), 2, listed)
        old = listed[0]["ShardId"]
        it = c.streams("GetShardIterator", {"StreamArn": arn, "ShardId": old,
                                            "ShardIteratorType": "TRIM_HORIZON"})["ShardIterator"]
        with self.assertRaises(h.AwsError) as cm:  # DynamoDB Local refuses the first GetRecords
            c.streams("GetRecords", {"ShardIterator": it})
        self.assertEqual(cm.exception.code, "TrimmedDataAccessException")
        t0 = time.time()
        out = sh.drain(timeout=120)
        took = time.time() - t0
        lost = [ln for ln in error_log_lines(out) if "LOST" in ln]
        self.assertEqual(len(lost), 1, out[-6000:])
        self.assertIn(old, lost[0])
        self.assertEqual(len(error_log_lines(out)), 1, out[-6000:])
        self.assertIn("every record in it has expired", out)
        states = {sid: st.get("state") for sid, st in h.read_checkpoint_doc(sh.checkpoint_path)["shards"].items()}
        self.assertEqual(states.get(old), "finished", states)
        # The 20 read before, and the 15 made after the expiry, once each.
        made = producer.changes[:20] + producer.changes[30:]
        out_lines = self.written(table)
        self.assertEqual(out_lines.duplicates(), {})
        self.assertEqual(len(out_lines.by_event_id), 35)
        child = {d["event_id"] for (_k, d), in out_lines.by_event_id.values() if d["shard_id"] != old}
        self.assertEqual(len(child), 15)
        self.assertEqual(len(made), 35)
        # A second drain: nothing new, no second report.
        again = sh.drain(timeout=60)
        self.assertEqual(error_log_lines(again), [])
        self.assertEqual(len(self.written(table).by_event_id), 35)
        h.log("expired shard: 20 read, 10 expired unread (one LOST report), 15 in the child; drain %.1f s" % took)


if __name__ == "__main__":
    unittest.main()
