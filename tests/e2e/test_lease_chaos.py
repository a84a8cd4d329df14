"""Chaos in lease mode (issue 11): three workers share an 8-shard stream
through a lease table in DynamoDB Local while a producer writes without
pause. Over the run, at random instants (seeded; the seed is printed, set
LEASE_CHAOS_SEED to replay a run's schedule):

  - a random worker is SIGKILLed and started again, at least KILLS times:
    half the time under the same worker id (it takes its own leases back),
    otherwise under a new one (its old leases expire and move);
  - once, a worker holding leases is SIGSTOPped past its lease duration
    until every lease it held is in other hands, then SIGCONTed: the zombie
    must be fenced (it logs "lease lost"; nothing it writes after breaks
    exactly once);
  - a SplitShard and, later, a MergeShards;
  - a fourth worker joins, and later leaves with SIGTERM (it releases its
    leases and exits 0).

S3 is reached through fault_proxy.FaultProxy (no faults) recording every
PUT, so that "no object key ever held two contents" is checked on what was
written, not only on what is left.

Then the producer stops; every record must reach S3, the workers must
reach balance (each live worker holds floor or ceil of open shards /
workers, counted in the lease table) and, after SIGTERM to all three at
once, every lease is released. What the output must show:

  - every change exactly once (by event id), nothing under errors/;
  - each line names the shard and sequence number PutRecords gave;
  - one shard per object, and within an object, sequence numbers increase
    line by line;
  - within one partition (directory), two objects of the same shard hold
    disjoint sequence ranges (no interleaving across lease moves);
  - per item key (the producer writes rounds: version n+1 of a key only
    after version n was acknowledged), within a shard, versions increase
    with sequence number; every version read from a shard is higher than
    every version of the key in any of its ancestors (Kinesis routes a key
    to a child only after the reshard);
  - across the workers' logs, a child's lease is first taken after each of
    its parents was logged "closed and fully read" (one host clock);
  - at the end, each closed shard's lease is at SHARD_END, every lease has
    no owner and no unuploaded cut in its journal;
  - every PUT of a key carried the same lines as its first (the same bytes,
    or -- README "Re-formed bytes" -- other gzip bytes of the same lines,
    counted apart).

Counts (kills, zombie, reshards, records, objects, lease moves from the
coordinators' "lease taken"/"lease stolen"/"lease taken back" log lines)
are printed on a line starting with CHAOS FIGURES; they are not asserted.
"""

import gzip
import json
import os
import random
import signal
import time
import unittest

import fault_proxy as fp
import harness as h
from test_resharding import OrderedProducer, ancestors_of, ts_seconds

STREAM = "ddb-chaos"
SHARDS = 8
WORKERS = 3
LEASE_S = 3
KILLS = 20
GAP_S = (1.0, 4.0)       # between two chaos events
ZOMBIE_PAUSE_S = 8.0     # at least; longer until its leases moved
KEYS = 48
ROUND_INTERVAL = 0.25


def json_log_lines(text):
    for ln in text.splitlines():
        if not ln.startswith("{"):
            continue
        try:
            yield json.loads(ln)
        except ValueError:
            continue


class Worker:
    """One slot of the fleet: the current process and every log it left."""

    def __init__(self, emu, ddb, work, name, s3_url):
        self.emu, self.ddb, self.work, self.s3_url = emu, ddb, work, s3_url
        self.sh = None
        self.name = None
        self.logs = []  # every finished run's output
        self.new_id(name)

    def new_id(self, name):
        self.name = name
        self.sh = h.Shardhose(self.emu, os.path.join(self.work, name), STREAM, max_interval_s=1,
                              batch__part_bytes=0,  # known gap: a zombie mid-multipart hits NoSuchUpload
                              coordination__mode="dynamodb", coordination__endpoint_url=self.ddb.url,
                              coordination__worker_id=name, coordination__lease_duration_s=LEASE_S,
                              output__endpoint_url=self.s3_url)

    def start(self):
        self.sh.start(extra=("--log-format", "json"), quiet=True)

    def alive(self):
        return self.sh.proc is not None and self.sh.proc.poll() is None

    def kill(self):
        _, text = self.sh.kill()
        self.logs.append(text)

    def signal(self, sig):
        self.sh.proc.send_signal(sig)

    def output(self):
        return self.sh.output() if self.sh.proc is not None else ""

    def close(self):
        if self.sh.proc is not None:
            with open(self.sh.proc_log, "rb") as f:
                text = f.read().decode("utf-8", "replace")
            self.sh.close()
            self.logs.append(text)


class LeaseChaosTest(unittest.TestCase):
    def test_kills_a_zombie_and_reshards_keep_exactly_once(self):
        seed = int(os.environ.get("LEASE_CHAOS_SEED") or random.SystemRandom().randrange(1 << 30))
        print("LEASE CHAOS SEED %d (LEASE_CHAOS_SEED=%d replays this schedule)" % (seed, seed), flush=True)
        rng = random.Random(seed)
        t0 = time.time()
        with h.TempDir() as work, h.Emulators(streams={STREAM: SHARDS}) as emu, h.DynamoDbLocal(work) as ddb, \
                fp.FaultProxy(emu.s3_port, "s3", record_puts=True) as s3p:
            table = "shardhose-%s-leases" % STREAM
            producer = OrderedProducer(emu.kinesis_port, STREAM, seed=seed, keys=KEYS, interval=ROUND_INTERVAL)
            fleet = [Worker(emu, ddb, work, "w%d" % i, s3p.url) for i in range(WORKERS)]
            guest = Worker(emu, ddb, work, "guest", s3p.url)  # joins, then leaves
            figures = {"kills": 0, "same_id": 0, "new_id": 0, "zombie": 0, "reshards": 0, "joined": 0, "left": 0}
            ids_made = WORKERS

            def leases():
                try:
                    return ddb.client.scan(table)
                except h.AwsError as e:  # before the first worker made the table
                    if "ResourceNotFoundException" in str(e):
                        return []
                    raise

            def owner(item):
                return item.get("leaseOwner", {}).get("S", "")

            def held_by(name):
                return [it["leaseKey"]["S"] for it in leases() if owner(it) == name]

            def check_fleet_running():
                for w in fleet + ([guest] if guest.sh.proc is not None else []):
                    if not w.alive():
                        self.fail("worker %s exited by itself:\n%s" % (w.name, w.output()[-6000:]))

            try:
                for w in fleet:
                    w.start()
                producer.start()
                h.wait_for(lambda: len(leases()) == SHARDS, 60, what="a lease per shard")
                h.wait_for(lambda: len(emu.s3.list_objects(prefix="ddb/")) > 0, 60, what="a first object")

                # The schedule: KILLS kills; the split, the zombie and the
                # merge between kills at seeded positions.
                events = ["kill"] * KILLS
                positions = sorted(rng.sample(range(2, KILLS - 1), 5))
                for pos, what in zip(reversed(positions), reversed(["join", "split", "zombie", "merge", "leave"])):
                    events.insert(pos, what)
                h.log("chaos schedule: %s" % " ".join(events))
                for what in events:
                    time.sleep(rng.uniform(*GAP_S))  # pacing only; every correctness wait below polls
                    check_fleet_running()
                    if producer.error is not None:
                        self.fail("producer failed: %r" % (producer.error,))
                    if what == "kill":
                        w = rng.choice(fleet)
                        same = rng.random() < 0.5
                        w.kill()
                        figures["kills"] += 1
                        if same:
                            figures["same_id"] += 1
                        else:
                            figures["new_id"] += 1
                            w.new_id("w%d" % ids_made)
                            ids_made += 1
                        h.log("chaos: SIGKILL, restarted as %s (%s id)" % (w.name, "same" if same else "new"))
                        w.start()
                    elif what == "join":
                        h.log("chaos: %s joins" % guest.name)
                        guest.start()
                        figures["joined"] += 1
                    elif what == "leave":
                        h.log("chaos: %s leaves (SIGTERM)" % guest.name)
                        rc, text = guest.sh.stop()
                        guest.logs.append(text)
                        self.assertEqual(rc, 0, "%s after SIGTERM:\n%s" % (guest.name, text[-6000:]))
                        self.assertIn("leases released", text)
                        figures["left"] += 1
                    elif what == "split":
                        open_shards = emu.kinesis.open_shards(STREAM)
                        s = rng.choice(open_shards)
                        lo = int(s["HashKeyRange"]["StartingHashKey"])
                        hi = int(s["HashKeyRange"]["EndingHashKey"])
                        h.log("chaos: SplitShard %s" % s["ShardId"])
                        emu.kinesis.split_shard(STREAM, s["ShardId"], (lo + hi + 1) // 2)
                        figures["reshards"] += 1
                    elif what == "merge":
                        open_shards = emu.kinesis.open_shards(STREAM)
                        i = rng.randrange(len(open_shards) - 1)
                        a, b = open_shards[i]["ShardId"], open_shards[i + 1]["ShardId"]
                        h.log("chaos: MergeShards %s + %s" % (a, b))
                        emu.kinesis.merge_shards(STREAM, a, b)
                        figures["reshards"] += 1
                    elif what == "zombie":
                        # A worker holding leases (after a kill one may hold
                        # none for a moment: wait for one that does).
                        holders = []

                        def some_holder():
                            holders[:] = [w for w in fleet if held_by(w.name)]
                            return bool(holders)

                        h.wait_for(some_holder, 4 * LEASE_S + 30, what="a worker holding leases")
                        z = rng.choice(holders)
                        had = held_by(z.name)
                        h.log("chaos: SIGSTOP %s holding %s" % (z.name, had))
                        z.signal(signal.SIGSTOP)
                        stopped = time.time()
                        try:
                            h.wait_for(lambda: not held_by(z.name), 4 * LEASE_S + 30, interval=0.25,
                                       what="the paused worker's leases to move")
                            time.sleep(max(0.0, ZOMBIE_PAUSE_S - (time.time() - stopped)))
                        finally:
                            z.signal(signal.SIGCONT)
                        h.log("chaos: SIGCONT %s after %.1f s" % (z.name, time.time() - stopped))
                        figures["zombie"] += 1
                        h.wait_for(lambda: "lease lost" in z.output(), 30,
                                   what="the zombie %s to notice its leases are gone" % z.name)
                check_fleet_running()
                producer.wait_rounds(8)
                produced = producer.stop()
                chaos_end = time.time()
                h.log("producer stopped: %d records in %d rounds" % (len(produced.records), producer.rounds))

                def all_written():
                    check_fleet_running()
                    try:
                        out = h.Output(h.s3_objects(emu.s3, prefix="ddb/"))
                    except h.OutputError:  # s3rver lists an object while its PUT is still being stored
                        return False
                    return len(out.by_event_id) >= len(produced.records)

                h.wait_for(all_written, 180, interval=1, what="every produced record in S3")
                written_at = time.time()

                open_ids = {s["ShardId"] for s in emu.kinesis.open_shards(STREAM)}
                live = [w.name for w in fleet]
                lo, hi = len(open_ids) // WORKERS, -(-len(open_ids) // WORKERS)
                balance = {}

                def balanced():
                    check_fleet_running()
                    items = leases()
                    unfinished = [it for it in items if it.get("checkpoint", {}).get("S") != "SHARD_END"]
                    counts = {n: 0 for n in live}
                    for it in unfinished:
                        counts[owner(it)] = counts.get(owner(it), 0) + 1
                    balance.clear()
                    balance.update(counts)
                    return ({it["leaseKey"]["S"] for it in unfinished} == open_ids and set(counts) == set(live)
                            and all(lo <= c <= hi for c in counts.values()))

                try:
                    h.wait_for(balanced, 2 * LEASE_S + 30, interval=0.5, what="balance")
                except AssertionError as e:
                    self.fail("%s: unfinished leases per owner %s, open shards %d, live %s\n%s"
                              % (e, balance, len(open_ids), live, json.dumps(leases(), indent=1)[-6000:]))
                balanced_at = time.time()
                h.log("balanced: %s" % balance)

                # SIGTERM to every worker at once, as a fleet is stopped.
                for w in fleet:
                    w.signal(signal.SIGTERM)
                for w in fleet:
                    try:
                        rc = w.sh.proc.wait(timeout=120)
                    except Exception:
                        self.fail("worker %s did not exit within 120 s of SIGTERM:\n%s" % (w.name, w.output()[-6000:]))
                    w.sh._lf.close()
                    w.sh.proc = None
                    text = w.sh.output()
                    w.logs.append(text)
                    self.assertEqual(rc, 0, "%s after SIGTERM:\n%s" % (w.name, text[-6000:]))
                    self.assertIn("leases released", text, w.name)
            finally:
                producer._stop.set()
                for w in fleet + [guest]:
                    if w.alive():
                        w.signal(signal.SIGCONT)  # a paused worker would not die of SIGTERM
                    w.close()

            self.verify(emu, ddb, table, producer, fleet + [guest], figures, s3p.puts)
            h.log("timings: chaos %.1f s, catch-up %.1f s, balance %.1f s, total %.1f s"
                  % (chaos_end - t0, written_at - chaos_end, balanced_at - written_at, time.time() - t0))

    # ------------------------------------------------------------- checks
    def verify(self, emu, ddb, table, producer, fleet, figures, puts):
        produced = producer.produced
        shards = emu.kinesis.list_shards(STREAM)
        parents = h.KinesisClient.parents(shards)
        ancestors = ancestors_of(parents)
        closed = {s["ShardId"] for s in shards if s["SequenceNumberRange"].get("EndingSequenceNumber")}

        objects = h.s3_objects(emu.s3)
        out = h.Output(objects)
        h.check_exactly_once(self, produced, out)  # also: no error lines (none produced)

        # No key ever held two contents: every PUT of a key carried its
        # first PUT's lines (the same bytes, or re-formed bytes of them).
        same_bytes = recompressed = 0
        for path, bodies in puts.items():
            if "/ddb/" not in path or "_shardhose_probe" in path:
                continue  # the start-up probe
            first = bodies[0]
            for b in bodies[1:]:
                if b == first:
                    same_bytes += 1
                    continue
                self.assertEqual(gzip.decompress(b), gzip.decompress(first), "%s was written with two contents" % path)
                recompressed += 1
        written = {p for p in puts if "/ddb/" in p and "_shardhose_probe" not in p}
        self.assertEqual(written, {"/lake/" + o.key for o in objects if o.key.startswith("ddb/")},
                         "keys PUT vs objects in the bucket")

        # Each line where PutRecords put it; one shard per object, in order.
        for o in objects:
            shard, last = None, -1
            for ln in o.lines:
                d = json.loads(ln)
                _, want_shard, want_seq, _ = produced.records[d["event_id"]]
                self.assertEqual((d["shard_id"], d["sequence_number"]), (want_shard, want_seq), o.key)
                if shard is None:
                    shard = d["shard_id"]
                self.assertEqual(d["shard_id"], shard, "%s holds records of two shards" % o.key)
                seq = int(d["sequence_number"])
                self.assertGreater(seq, last, "%s: sequence numbers not increasing line by line" % o.key)
                last = seq

        # Within a partition, objects of one shard hold disjoint ranges.
        ranges = {}
        for o in objects:
            seqs = [int(json.loads(ln)["sequence_number"]) for ln in o.lines]
            shard = json.loads(o.lines[0])["shard_id"]
            ranges.setdefault((h.key_dir(o.key), shard), []).append((min(seqs), max(seqs), o.key))
        for (part, shard), rs in ranges.items():
            rs.sort()
            for (_, hi_a, ka), (lo_b, _, kb) in zip(rs, rs[1:]):
                self.assertLess(hi_a, lo_b, "%s and %s hold interleaved records of %s" % (ka, kb, shard))

        # Per key: versions follow sequence order in a shard; ancestors first.
        per_key = {}
        for eid, [(key, line)] in out.by_event_id.items():
            k, v = producer.version[eid]
            per_key.setdefault(k, {}).setdefault(line["shard_id"], []).append((int(line["sequence_number"]), v))
        pairs_checked = 0
        for k, by_shard in per_key.items():
            for shard, items in by_shard.items():
                items.sort()
                versions = [v for _, v in items]
                self.assertEqual(versions, sorted(versions),
                                 "key %d, shard %s: versions out of sequence order: %s" % (k, shard, versions))
            for shard, items in by_shard.items():
                lo = min(v for _, v in items)
                for anc in ancestors.get(shard, ()):
                    if anc in by_shard:
                        pairs_checked += 1
                        hi = max(v for _, v in by_shard[anc])
                        self.assertLess(hi, lo, "key %d: version %d in ancestor %s is not before version %d in %s"
                                        % (k, hi, anc, lo, shard))
        self.assertGreater(pairs_checked, 0, "no key was seen in both a parent and a child: test is void")

        # Children's leases taken only after their parents were read to the end.
        texts = [t for w in fleet for t in w.logs]
        first_taken, closed_at = {}, {}
        moves = {"lease taken": 0, "lease stolen": 0, "lease taken back (held in our name before)": 0}
        lost = reformed = 0
        for text in texts:
            for d in json_log_lines(text):
                msg, ts = d.get("msg", ""), d.get("ts", "")
                if msg in moves:
                    moves[msg] += 1
                elif msg.startswith("lease lost"):
                    lost += 1
                elif ": lease taken; reading after " in msg:  # lib/pipeline/leased_shards.cc
                    reformed += int(d.get("journaled", 0) or 0)
                    sid = msg.split()[1].rstrip(":")
                    t = ts_seconds(ts)
                    first_taken[sid] = min(first_taken.get(sid, t), t)
                elif " is closed and fully read" in msg:  # lib/pipeline/reader.cc
                    sid = msg.split()[1]
                    t = ts_seconds(ts)
                    closed_at[sid] = max(closed_at.get(sid, t), t)
        for child, ps in parents.items():
            if not ps or child not in first_taken:
                continue
            for p in ps:
                self.assertIn(p, closed_at, "parent %s of %s never logged closed and fully read" % (p, child))
                self.assertLessEqual(closed_at[p], first_taken[child],
                                     "child %s taken before its parent %s was read to its end" % (child, p))

        # The table at the end: released, finished, nothing left to upload.
        # An open shard's checkpoint is its last record (a child that no
        # key hashed into has none: it stays where it started).
        last_seq = {}
        for _, shard, seq, _ in produced.records.values():
            last_seq[shard] = max(last_seq.get(shard, 0), int(seq))
        items = ddb.client.scan(table)
        self.assertEqual({it["leaseKey"]["S"] for it in items}, {s["ShardId"] for s in shards})
        for it in items:
            self.assertNotIn("leaseOwner", it, it)
            cp, key = it["checkpoint"]["S"], it["leaseKey"]["S"]
            if key in closed:
                self.assertEqual(cp, "SHARD_END", it)
            elif key in last_seq:
                self.assertEqual(cp, str(last_seq[key]), it)
            else:
                self.assertIn(cp, ("TRIM_HORIZON", "AT_TIMESTAMP"), it)
            journal = it.get("shJournal", {}).get("S", "[]")
            self.assertNotIn('"uploaded":false', journal.replace(" ", ""), it)

        print("CHAOS FIGURES: %d records (%d rounds of %d keys), 0 lost, 0 duplicated, %d objects "
              "(%d journaled cuts re-formed by a next owner; %d PUTs again with the same bytes, "
              "%d with re-formed bytes of the same lines), "
              "%d kills (%d same id, %d new id), %d joined, %d left, %d zombie, %d reshards, %d shards (%d closed), "
              "lease moves: %d taken, %d stolen, %d taken back, %d lost, %d parent/child key pairs checked"
              % (len(produced.records), producer.rounds, KEYS, len(objects), reformed, same_bytes, recompressed,
                 figures["kills"], figures["same_id"], figures["new_id"], figures["joined"], figures["left"],
                 figures["zombie"], figures["reshards"], len(shards), len(closed),
                 moves["lease taken"], moves["lease stolen"], moves["lease taken back (held in our name before)"],
                 lost, pairs_checked), flush=True)


if __name__ == "__main__":
    unittest.main()
