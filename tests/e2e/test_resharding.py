"""Live resharding against kinesis-local: SplitShard, MergeShards and
UpdateShardCount while a producer keeps writing and the daemon runs (not
--drain), a stop and restart across a reshard (one SIGTERM while the stream is
UPDATING), then a --drain.

The producer writes rounds: round n holds version n of every item key (one
PutRecords per round, keys shuffled), so version n+1 of a key is written only
after version n was acknowledged. Kinesis puts it later in the same shard, or,
after a reshard, in a child shard. A small GetRecords limit, a SIGSTOP across
one reshard and a restart after another make the daemon know children while
their parents still hold a backlog. What the output must show:

  - every change exactly once (by event id), each line equal to the reference
    unmarshalling and naming the shard and sequence number PutRecords gave;
  - per item key, within a shard, versions increase with sequence number;
  - per item key, every version read from a shard is higher than every
    version read from any of its ancestors (ParentShardId and
    AdjacentParentShardId, transitively, from the final ListShards);
  - per item key, within one object, versions increase line by line (bodies
    are grouped by shard in shard-id order; a child's id is always higher);
  - per item key, across the objects of one partition, in the order they were
    sealed (known where two objects hold records of one shard, made
    transitive), versions increase: this is where reading a child before its
    parent is finished shows in the output (checked: a build whose children
    do not wait fails here);
  - in the daemon's debug log (JSON lines, every run in order), the first
    GetRecords of a child comes after "shard <parent> is closed and fully
    read" for each of its parents: children start only after their parents
    are finished;
  - the final checkpoint marks every closed shard finished.

Figures (records, shards, objects, how long a child waited after its last
parent closed) are printed on a line starting with RESHARD FIGURES; they are
not asserted (no wall-clock checks).
"""

import calendar
import json
import random
import re
import signal
import threading
import time
import unittest

import harness as h

STREAM = "ddb-reshard"
KEYS = 48
ROUND_INTERVAL = 0.2

POLL_RE = re.compile(r"^shard (\S+): (\d+) records")
CLOSED_RE = re.compile(r"^shard (\S+) is closed and fully read")


class OrderedProducer:
    """Rounds of one change per item key, from a background thread."""

    def __init__(self, kinesis_port, stream, seed, keys=KEYS, interval=ROUND_INTERVAL):
        self.kinesis = h.KinesisClient(kinesis_port)
        self.stream = stream
        self.gen = h.ChangeRecordGenerator(seed=seed, tables=("orders",))
        self.rng = random.Random(seed)
        self.keys = [{"pk": {"S": "customer#%05d" % i}, "sk": {"N": "0"}} for i in range(keys)]
        self.interval = interval
        self.produced = h.Produced()
        self.version = {}  # event id -> (key index, version)
        self.rounds = 0
        self.lock = threading.Lock()
        self.error = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="ordered-producer")

    def start(self):
        self._thread.start()
        return self

    def _record(self, key_index, n):
        rec = self.gen.record(event_name="INSERT" if n == 1 else "MODIFY", table="orders")
        d = rec["dynamodb"]
        keys = self.keys[key_index]
        d["Keys"] = dict(keys)
        d["NewImage"].update(keys)
        d["NewImage"]["version"] = {"N": str(n)}
        if "OldImage" in d:
            d["OldImage"].update(keys)
            d["OldImage"]["version"] = {"N": str(n - 1)}
        return rec

    def _run(self):
        try:
            while not self._stop.is_set():
                n = self.rounds + 1
                recs = [(i, self._record(i, n)) for i in range(len(self.keys))]
                self.rng.shuffle(recs)
                with self.lock:
                    h.produce(self.kinesis, self.stream, [r for _, r in recs], produced=self.produced)
                    for i, r in recs:
                        self.version[r["eventID"]] = (i, n)
                    self.rounds = n
                self._stop.wait(self.interval)
        except Exception as e:  # reported by stop()
            self.error = e
        finally:
            self.kinesis.close()

    def wait_rounds(self, more, timeout=120):
        target = self.rounds + more
        h.wait_for(lambda: self.rounds >= target or self.error is not None, timeout, interval=0.1,
                   what="%d more producer rounds" % more)
        if self.error is not None:
            raise AssertionError("producer failed: %r" % (self.error,))

    def stop(self, timeout=120):
        self._stop.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise AssertionError("producer did not stop within %ss" % timeout)
        if self.error is not None:
            raise AssertionError("producer failed: %r" % (self.error,))
        return self.produced


def ancestors_of(parents):
    """{shard: set of every ancestor} from {shard: [parents]}."""
    memo = {}

    def walk(s):
        if s not in memo:
            memo[s] = set()
            for p in parents.get(s, []):
                memo[s] |= {p} | walk(p)
        return memo[s]

    for s in parents:
        walk(s)
    return memo


def log_events(texts):
    """[(index, kind, shard, ts)] over every run's JSON log, in order; kind is
    "poll" or "closed"."""
    out = []
    for text in texts:
        for ln in text.splitlines():
            if not ln.startswith("{"):
                continue
            try:
                d = json.loads(ln)
            except ValueError:
                continue
            msg = d.get("msg", "")
            m = POLL_RE.match(msg)
            if m:
                out.append((len(out), "poll", m.group(1), d.get("ts", "")))
                continue
            m = CLOSED_RE.match(msg)
            if m:
                out.append((len(out), "closed", m.group(1), d.get("ts", "")))
    return out


def ts_seconds(ts):
    """Seconds since the epoch of a log timestamp (2026-11-23T01:13:12.345Z, UTC)."""
    return calendar.timegm(time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S")) + int(ts[20:23]) / 1000.0


class ReshardBase(unittest.TestCase):
    """Shared plumbing; subclasses hold one scenario each (one CTest entry
    each, so every one stays well under three minutes)."""

    SHARDS = 2
    KINESIS_ENV = {}

    def daemon(self, emu, work, refresh_s, records_per_call=10000):
        # A small GetRecords limit makes a parent's backlog take several
        # polls, so children are known while their parents are still read.
        return h.Shardhose(emu, work, STREAM, max_bytes=64 * 1024, max_interval_s=1,
                           source__shard_refresh_s=refresh_s, source__max_records_per_call=records_per_call)

    def start(self, sh):
        sh.start(extra=("--log-format", "json"), log_level="debug")

    def stop(self, sh, logs):
        self.assertIsNone(sh.proc.poll(), "daemon exited early:\n" + sh.output()[-6000:])
        rc, text = sh.stop(signal.SIGTERM)
        logs.append(text)
        self.assertEqual(rc, 0, "exit status after SIGTERM\n" + text[-6000:])

    def drain(self, sh, logs):
        rc, text = sh.run("run", "--config", sh.config_path, "--drain", "--log-level", "debug",
                          "--log-format", "json", timeout=300, what="drain")
        logs.append(text)
        self.assertEqual(rc, 0, "shardhose run --drain\n" + text[-8000:])

    def split_middle(self, emu, shard):
        lo = int(shard["HashKeyRange"]["StartingHashKey"])
        hi = int(shard["HashKeyRange"]["EndingHashKey"])
        h.log("SplitShard %s" % shard["ShardId"])
        emu.kinesis.split_shard(STREAM, shard["ShardId"], (lo + hi + 1) // 2)

    # ------------------------------------------------------------- checks
    def verify(self, emu, sh, producer, logs, reshards):
        produced = producer.produced
        shards = emu.kinesis.list_shards(STREAM)
        parents = h.KinesisClient.parents(shards)
        ancestors = ancestors_of(parents)
        closed = {s["ShardId"] for s in shards if s["SequenceNumberRange"].get("EndingSequenceNumber")}

        objects = h.s3_objects(emu.s3)
        out = h.Output(objects)
        h.check_exactly_once(self, produced, out)
        h.check_unmarshalled_content(self, produced, out)

        # Per key and shard: [(sequence, version)], from the output lines.
        per_key = {}
        for eid, [(key, line)] in out.by_event_id.items():
            k, v = producer.version[eid]
            per_key.setdefault(k, {}).setdefault(line["shard_id"], []).append((int(line["sequence_number"]), v))
        with_records = set()
        pairs_checked = 0
        for k, by_shard in per_key.items():
            for shard, items in by_shard.items():
                with_records.add(shard)
                items.sort()
                versions = [v for _, v in items]
                self.assertEqual(versions, sorted(versions),
                                 "key %d, shard %s: versions out of sequence order: %s" % (k, shard, versions))
            for shard, items in by_shard.items():
                lo = min(v for _, v in items)
                for anc in ancestors.get(shard, ()):
                    if anc not in by_shard:
                        continue
                    hi = max(v for _, v in by_shard[anc])
                    pairs_checked += 1
                    self.assertLess(hi, lo, "key %d: version %d in ancestor %s is not before version %d in %s"
                                    % (k, hi, anc, lo, shard))
        self.assertGreater(pairs_checked, 0, "no key was seen in both a parent and a child: test is void")
        self.assertEqual(with_records, {s["ShardId"] for s in shards},
                         "every shard, parents and children, should have carried records")

        # Within one object, a key's versions increase line by line.
        for o in objects:
            if o.key.startswith("errors/"):
                continue
            last = {}
            for ln in o.lines:
                eid = json.loads(ln)["event_id"]
                k, v = producer.version[eid]
                if v <= last.get(k, 0):
                    self.fail("%s: key %d: version %d after version %d" % (o.key, k, v, last[k]))
                last[k] = v

        # Across the objects of one partition: batches of a partition are
        # sealed one after the other, and a shard's records are appended in
        # sequence order, so two objects holding records of the same shard
        # were sealed in the order of those records. Over that order (made
        # transitive), a key's versions must increase from object to object:
        # records read late (a parent after its child) would show here.
        pairs_ordered = self.check_partition_order(objects, producer)

        # Children are polled only after every parent was read to its end.
        events = log_events(logs)
        first_poll, closed_at = {}, {}
        for i, kind, shard, ts in events:
            if kind == "poll":
                first_poll.setdefault(shard, (i, ts))
            elif shard not in closed_at:
                closed_at[shard] = (i, ts)
        waits = []
        for shard, ps in parents.items():
            if not ps:
                continue
            self.assertIn(shard, first_poll, "child %s never polled" % shard)
            for p in ps:
                self.assertIn(p, closed_at, "parent %s of %s never logged as closed and fully read" % (p, shard))
                self.assertLess(closed_at[p][0], first_poll[shard][0],
                                "child %s polled (%s) before its parent %s was read to its end (%s)"
                                % (shard, first_poll[shard][1], p, closed_at[p][1]))
            waits.append(ts_seconds(first_poll[shard][1]) - max(ts_seconds(closed_at[p][1]) for p in ps))
        for shard in closed:
            self.assertIn(shard, closed_at, "closed shard %s never read to its end" % shard)

        body = h.read_checkpoint_doc(sh.checkpoint_path)
        states = {sid: s.get("state") for sid, s in body["shards"].items()}
        for shard in closed:
            self.assertEqual(states.get(shard), "finished", "closed shard %s in the checkpoint" % shard)
        for shard, s in body["shards"].items():
            self.assertEqual(sorted(p for p in (s.get("parent"), s.get("adjacent_parent")) if p),
                             sorted(parents.get(shard, [])), "lineage of %s in the checkpoint" % shard)

        print("RESHARD FIGURES %s: %d records, %d rounds of %d keys, %d reshards, %d shards (%d closed), "
              "%d objects, %d parent/child key pairs checked, %d ordered object pairs, %d runs, child start after last parent closed: "
              "max %.2f s, mean %.2f s"
              % (type(self).__name__, len(produced.records), producer.rounds, KEYS, reshards, len(shards),
                 len(closed), len(objects), pairs_checked, pairs_ordered, len(logs), max(waits) if waits else 0,
                 sum(waits) / len(waits) if waits else 0), flush=True)


    def check_partition_order(self, objects, producer):
        """Returns how many (earlier, later) object pairs were compared."""
        by_partition = {}
        for o in objects:
            if o.key.startswith("errors/"):
                continue
            seqs, versions = {}, {}
            for ln in o.lines:
                d = json.loads(ln)
                k, v = producer.version[d["event_id"]]
                sq = int(d["sequence_number"])
                lo, hi = seqs.get(d["shard_id"], (sq, sq))
                seqs[d["shard_id"]] = (min(lo, sq), max(hi, sq))
                lo, hi = versions.get(k, (v, v))
                versions[k] = (min(lo, v), max(hi, v))
            by_partition.setdefault(h.key_dir(o.key), []).append((o.key, seqs, versions))
        compared = 0
        for part, objs in by_partition.items():
            n = len(objs)
            before = [[False] * n for _ in range(n)]
            for a in range(n):
                for b in range(n):
                    if a == b:
                        continue
                    for shard, (lo_a, hi_a) in objs[a][1].items():
                        if shard not in objs[b][1]:
                            continue
                        lo_b, hi_b = objs[b][1][shard]
                        if hi_a < lo_b:
                            before[a][b] = True
                        elif not hi_b < lo_a:
                            self.fail("%s and %s hold interleaved records of %s" % (objs[a][0], objs[b][0], shard))
            for m in range(n):  # transitive closure
                for a in range(n):
                    if before[a][m]:
                        for b in range(n):
                            before[a][b] = before[a][b] or before[m][b]
            for a in range(n):
                for b in range(n):
                    if not before[a][b]:
                        continue
                    compared += 1
                    for k, (_, hi) in objs[a][2].items():
                        if k in objs[b][2] and not hi < objs[b][2][k][0]:
                            self.fail("key %d: version %d in %s, sealed before %s which holds version %d"
                                      % (k, hi, objs[a][0], objs[b][0], objs[b][2][k][0]))
        return compared


class SplitMergeTest(ReshardBase):
    def test_split_then_merge_while_running(self):
        # A refresh period longer than the test: children can only be found
        # through the ChildShards of their parent's last GetRecords.
        with h.TempDir() as work, h.Emulators(streams={STREAM: self.SHARDS}) as emu:
            sh = self.daemon(emu, work, refresh_s=3600)
            producer = OrderedProducer(emu.kinesis_port, STREAM, seed=71)
            logs = []
            try:
                self.start(sh)
                producer.start()
                producer.wait_rounds(10)
                h.wait_for(lambda: len(emu.s3.list_objects()) > 0, 60, what="a first object")
                self.split_middle(emu, emu.kinesis.open_shards(STREAM)[0])
                producer.wait_rounds(12)
                # [child 0a, child 0b, shard 1]: merge a child of the split
                # with an original shard (lineage of different depths).
                open_shards = emu.kinesis.open_shards(STREAM)
                self.assertEqual(len(open_shards), 3)
                h.log("MergeShards %s + %s" % (open_shards[1]["ShardId"], open_shards[2]["ShardId"]))
                emu.kinesis.merge_shards(STREAM, open_shards[1]["ShardId"], open_shards[2]["ShardId"])
                producer.wait_rounds(12)
                producer.stop()
                self.stop(sh, logs)
            finally:
                producer._stop.set()
                sh.close()
            self.drain(sh, logs)
            self.verify(emu, sh, producer, logs, reshards=2)


class UpdateShardCountTest(ReshardBase):
    def test_scale_up_then_down_while_running(self):
        with h.TempDir() as work, h.Emulators(streams={STREAM: self.SHARDS}) as emu:
            sh = self.daemon(emu, work, refresh_s=1, records_per_call=20)
            producer = OrderedProducer(emu.kinesis_port, STREAM, seed=72)
            logs = []
            try:
                self.start(sh)
                producer.start()
                producer.wait_rounds(10)
                # The daemon is frozen (SIGSTOP, as in a VM pause) across the
                # first reshard: when it resumes, the periodic ListShards
                # names the children at once while the parents still hold a
                # backlog of several GetRecords calls; the children must wait.
                sh.proc.send_signal(signal.SIGSTOP)
                try:
                    producer.wait_rounds(6)
                    h.log("UpdateShardCount 2 -> 4 (daemon stopped)")
                    emu.kinesis.update_shard_count(STREAM, 4)
                    self.assertEqual(len(emu.kinesis.open_shards(STREAM)), 4)
                    producer.wait_rounds(6)
                finally:
                    sh.proc.send_signal(signal.SIGCONT)
                producer.wait_rounds(8)
                h.log("UpdateShardCount 4 -> 2")
                emu.kinesis.update_shard_count(STREAM, 2)
                self.assertEqual(len(emu.kinesis.open_shards(STREAM)), 2)
                producer.wait_rounds(12)
                producer.stop()
                self.stop(sh, logs)
            finally:
                producer._stop.set()
                sh.close()
            self.drain(sh, logs)
            self.verify(emu, sh, producer, logs, reshards=2)


class RestartAcrossReshardTest(ReshardBase):
    """SIGTERM, split while stopped, restart; merge, SIGTERM while UPDATING,
    restart at once; SIGKILL, split while down, restart; --drain."""

    # Long enough that the daemon is stopped and started again while the
    # stream is still UPDATING after MergeShards (kinesis-local lists the
    # merged child at once; only the status lags).
    KINESIS_ENV = {"MERGE_SHARDS_DURATION": "10s"}

    def test_stop_and_restart_across_reshards(self):
        with h.TempDir() as work, h.Emulators(streams={STREAM: self.SHARDS}, kinesis_env=self.KINESIS_ENV) as emu:
            sh = self.daemon(emu, work, refresh_s=2, records_per_call=20)
            producer = OrderedProducer(emu.kinesis_port, STREAM, seed=73)
            logs = []
            try:
                self.start(sh)
                producer.start()
                producer.wait_rounds(8)
                h.wait_for(lambda: len(emu.s3.list_objects()) > 0, 60, what="a first object")
                self.stop(sh, logs)
                # Stopped: the stream is resharded and records keep coming.
                self.split_middle(emu, emu.kinesis.open_shards(STREAM)[1])
                producer.wait_rounds(8)
                self.start(sh)
                producer.wait_rounds(10)
                # SIGTERM while the stream is UPDATING, and start again at once.
                open_shards = emu.kinesis.open_shards(STREAM)
                self.assertEqual(len(open_shards), 3)
                h.log("MergeShards %s + %s, SIGTERM while UPDATING"
                      % (open_shards[0]["ShardId"], open_shards[1]["ShardId"]))
                emu.kinesis.call("MergeShards", {"StreamName": STREAM, "ShardToMerge": open_shards[0]["ShardId"],
                                                 "AdjacentShardToMerge": open_shards[1]["ShardId"]})
                producer.wait_rounds(2)
                self.stop(sh, logs)
                self.start(sh)
                self.assertEqual(emu.kinesis.describe_stream_summary(STREAM)["StreamStatus"], "UPDATING",
                                 "the merge finished before the restart: the scenario did not happen")
                emu.kinesis.wait_active(STREAM)
                producer.wait_rounds(6)
                # A crash (SIGKILL) once the merged child is being read, and
                # a split of that child while the daemon is down.
                _, text = sh.kill()
                logs.append(text)
                self.split_middle(emu, emu.kinesis.open_shards(STREAM)[0])
                producer.wait_rounds(6)
                self.start(sh)
                producer.wait_rounds(6)
                producer.stop()
                self.stop(sh, logs)
            finally:
                producer._stop.set()
                sh.close()
            self.drain(sh, logs)
            self.verify(emu, sh, producer, logs, reshards=3)


if __name__ == "__main__":
    unittest.main()
