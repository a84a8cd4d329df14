"""KPL aggregation: records aggregated by the aws-kinesis-agg npm package
(tests/e2e/kpl_produce.js) mixed with plain records. Every sub-record is
written exactly once as its own line (sequence_number "seq.sub"), in the
partition of its own event time; an aggregate with a corrupt MD5 becomes one
bad_aggregate error line with the original bytes; a malformed sub-record is
an ordinary error line carrying its own bytes; a second drain writes nothing.
Then crashes at upload kill points while sub-records of one aggregate are
spread over many small batches: a later drain still delivers every
sub-record exactly once (replay routing by (seq, sub) position)."""

import base64
import json
import os
import random
import re
import shutil
import subprocess
import unittest

import harness as h

STREAM = "ddb-kpl"
NODE_MODULES = os.path.join(h.EMULATORS_DIR, "node_modules")


def aggregate(groups):
    """groups: [[(partition_key, bytes)]] -> [aggregated Data bytes], one per
    group, produced by aws-kinesis-agg."""
    doc = [[{"partitionKey": pk, "data": base64.b64encode(data).decode()} for pk, data in g] for g in groups]
    env = dict(os.environ, NODE_PATH=NODE_MODULES)
    p = subprocess.run(["node", os.path.join(h.HERE, "kpl_produce.js")], input=json.dumps(doc).encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=h.EMULATORS_DIR,
                       timeout=120)
    if p.returncode != 0:
        raise AssertionError("kpl_produce.js failed: %s" % p.stderr.decode(errors="replace"))
    lines = p.stdout.decode().split()
    assert len(lines) == len(groups), (len(lines), len(groups))
    return [base64.b64decode(l, validate=True) for l in lines]


def produce_mixed(emu, gen, rng, n_kinesis_records):
    """Puts n Kinesis records, about two thirds of them KPL aggregates of 1..12
    change records (of different tables and event times), the rest plain;
    one aggregate has a corrupt MD5 and one holds a malformed sub-record.
    Returns (Produced with positions as sequence numbers, number of
    aggregates, number of sub-records)."""
    items = []   # (kind, partition key, data, [(rec or None, pk, bytes)])
    groups = []
    for i in range(n_kinesis_records):
        if rng.random() < 0.34 and i > 1:
            rec = gen.record()
            items.append(("plain", h.partition_key(rec), h.encode(rec), [(rec, h.partition_key(rec), h.encode(rec))]))
            continue
        subs = []
        for _ in range(rng.randint(1, 12)):
            rec = gen.record()
            subs.append((rec, h.partition_key(rec), h.encode(rec)))
        if i == 0:  # a malformed change record inside a valid aggregate
            subs.insert(1, (None, "bad-sub-pk", b"this sub-record is not json"))
        items.append(("agg", subs[0][1], None, subs))
        groups.append([(pk, data) for _, pk, data in subs])
    blobs = iter(aggregate(groups))
    bad_md5_index = None
    for idx, it in enumerate(items):
        if it[0] == "agg":
            data = next(blobs)
            if bad_md5_index is None and idx > 0:
                data = data[:-1] + bytes([data[-1] ^ 0x5A])  # corrupt the trailing MD5
                bad_md5_index = idx
            items[idx] = (it[0], it[1], data, it[3])
    assert bad_md5_index is not None
    res = emu.kinesis.put_records(STREAM, [(pk, data) for _, pk, data, _ in items])

    produced = h.Produced()
    aggregates = subrecords = 0
    for idx, ((kind, pk, data, subs), out) in enumerate(zip(items, res)):
        shard, seq = out["ShardId"], out["SequenceNumber"]
        if idx == bad_md5_index:
            produced.malformed.append(("bad_aggregate", data, shard, seq, pk))
            continue
        if kind == "plain":
            rec = subs[0][0]
            produced.records[rec["eventID"]] = (rec, shard, seq, pk)
            continue
        aggregates += 1
        for k, (rec, sub_pk, sub_data) in enumerate(subs):
            subrecords += 1
            pos = "%s.%d" % (seq, k)
            if rec is None:
                produced.malformed.append(("not_json", sub_data, shard, pos, sub_pk))
            else:
                produced.records[rec["eventID"]] = (rec, shard, pos, sub_pk)
    return produced, aggregates, subrecords


class KplTest(unittest.TestCase):
    def setUp(self):
        if not os.path.exists(os.path.join(NODE_MODULES, "aws-kinesis-agg", "index.js")):
            self.fail("aws-kinesis-agg missing: run npm ci in tests/emulators")

    def test_aggregated_records_exactly_once(self):
        gen = h.ChangeRecordGenerator(seed=51)
        rng = random.Random(51)
        with h.TempDir() as work, h.Emulators(streams={STREAM: 2}) as emu:
            produced, aggregates, subs = produce_mixed(emu, gen, rng, 120)
            h.log("KPL: %d change records (%d sub-records in %d aggregates), %d error records"
                  % (len(produced.records), subs, aggregates, len(produced.malformed)))
            sh = h.Shardhose(emu, work, STREAM, max_bytes=64 * 1024, max_interval_s=3600)
            sh.drain(timeout=300)
            objs = {o.key: o for o in h.s3_objects(emu.s3)}
            out = h.Output(list(objs.values()))
            h.check_exactly_once(self, produced, out)
            h.check_unmarshalled_content(self, produced, out)
            h.check_error_lines(self, produced, out, STREAM)
            reasons = sorted(line["error"] for _, line in out.errors)
            self.assertEqual(reasons, ["bad_aggregate", "not_json"])

            # Object keys carry the first position, with its sub-sequence.
            self.assertTrue(any(re.search(r"-\d+\.\d+-[0-9a-f]{12}\.json\.gz$", k) for k in objs),
                            "no object key names a sub-record position: %s" % sorted(objs)[:5])
            # The checkpoint ends at each shard's last Kinesis record (whole).
            last = {}
            for rec, shard, pos, _ in produced.records.values():
                seq = pos.split(".")[0]
                if h.seq_le(last.get(shard, ""), seq):
                    last[shard] = seq
            for _, _, shard, pos, _ in produced.malformed:
                seq = pos.split(".")[0]
                if h.seq_le(last.get(shard, ""), seq):
                    last[shard] = seq
            self.assertEqual(h.read_checkpoint(sh.checkpoint_path), last)

            sh.drain(timeout=120)
            self.assertEqual({k for k, _ in emu.s3.list_objects()}, set(objs),
                             "a second drain changed the bucket")

    def test_crash_with_sub_records_in_many_batches(self):
        gen = h.ChangeRecordGenerator(seed=52)
        rng = random.Random(52)
        with h.TempDir() as work, h.Emulators(streams={STREAM: 2}) as emu:
            produced, aggregates, subs = produce_mixed(emu, gen, rng, 40)
            killed = 0
            saw_sub_positions = False
            # Small pages, one uploader, small batches flushed by size (a
            # batch with some sub-records of an aggregate is uploaded while
            # others of it sit in open batches) or after every poll
            # (interval 0): the kill leaves an aggregate's sub-records partly
            # uploaded, partly journaled, partly in no batch.
            for i, (point, interval) in enumerate([("upload.after_put:4", 3600), ("upload.after_journal:9", 3600),
                                                   ("upload.after_put:17", 0), ("poll.after_batch:3", 0)]):
                run = os.path.join(work, "run%d" % i)
                lake = os.path.join(run, "lake")
                sh = h.Shardhose(emu, run, STREAM, output_dir=lake, max_bytes=4096, max_interval_s=interval,
                                 source__max_records_per_call=3, output__upload_threads=1,
                                 source__poll_threads=1)
                sh.start(extra=["--drain"], env={"SHARDHOSE_KILL_AT": point}, quiet=True)
                rc, text = sh.wait_exit(120)
                if rc is None:
                    sh.close()
                    self.fail("the daemon did not exit: %s" % text[-3000:])
                if os.environ.get("SHARDHOSE_E2E_KILL_POINTS", "1") == "1":
                    self.assertEqual(rc, -9, "kill point %s not reached (exit %s)\n%s" % (point, rc, text[-3000:]))
                killed += rc == -9
                with open(sh.checkpoint_path, "rb") as f:
                    doc = json.loads(f.read())
                saw_sub_positions |= any("." in r["first"] or "." in r["last"]
                                         for cut in doc["body"]["pending"] for r in cut["ranges"].values())
                sh.drain(timeout=300)
                objs = h.file_objects(lake)
                out = h.Output(objs)
                h.check_exactly_once(self, produced, out)
                h.check_unmarshalled_content(self, produced, out)
                h.check_error_lines(self, produced, out, STREAM)
                if not h.KEEP:
                    shutil.rmtree(lake, ignore_errors=True)
            h.log("KPL CRASH: %d kills, %d change records, %d sub-records in %d aggregates, sub positions "
                  "journaled: %s" % (killed, len(produced.records), subs, aggregates, saw_sub_positions))
            if killed:
                self.assertTrue(saw_sub_positions, "no checkpoint journaled a sub-record position")


if __name__ == "__main__":
    unittest.main()
