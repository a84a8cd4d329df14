"""coordination.mode = "dynamodb": workers share one stream through a lease
table in AWS's DynamoDB Local (tests/emulators/dynamodb-local). Two workers
read a 6-shard stream while records arrive; one is SIGKILLed and a third
joins; the others stop with SIGTERM. Every record is in exactly one object,
every object holds the records of one shard, and at the end every lease is
released with its checkpoint in the table.

Then a single-process deployment moves to lease mode: its local checkpoint
is imported at the first start, and two workers `run --drain` the rest:
each exits 0 once nothing is left, and no record is lost or written twice
across the move."""

import http.client
import json
import os
import threading
import time
import unittest

import harness as h

STREAM = "ddb-shared"
SHARDS = 6


class LeaseTableTest(unittest.TestCase):
    def test_workers_share_the_stream_exactly_once_across_a_kill_and_a_join(self):
        gen = h.ChangeRecordGenerator(seed=1111)
        with h.TempDir() as work, h.Emulators(streams={STREAM: SHARDS}) as emu, h.DynamoDbLocal(work) as ddb:
            produced = h.Produced()
            table = "shardhose-%s-leases" % STREAM

            ports = {}

            def worker(name):
                ports[name] = h.free_port()
                return h.Shardhose(emu, os.path.join(work, name), STREAM, max_interval_s=1,
                                   coordination__mode="dynamodb", coordination__endpoint_url=ddb.url,
                                   coordination__worker_id=name, coordination__lease_duration_s=3,
                                   server__listen="127.0.0.1:%d" % ports[name])

            def get(name, path):
                c = http.client.HTTPConnection("127.0.0.1", ports[name], timeout=10)
                try:
                    c.request("GET", path)
                    res = c.getresponse()
                    return res.status, res.read().decode()
                finally:
                    c.close()

            def leases_held(name):
                _, text = get(name, "/metrics")
                values = [float(ln.split()[1]) for ln in text.splitlines() if ln.startswith("shardhose_leases_held ")]
                self.assertEqual(len(values), 1, text[-3000:])
                return int(values[0])

            def written():
                return h.Output(h.s3_objects(emu.s3, prefix="ddb/"))

            def all_written():
                try:
                    out = written()
                except h.OutputError:  # s3rver lists an object while its PUT is still being stored
                    return False
                return len(out.by_event_id) >= len(produced.records)

            h.produce(emu.kinesis, STREAM, gen.batch(300), produced=produced)
            a, b = worker("a"), worker("b")
            c = None
            try:
                a.start()
                b.start()
                h.wait_for(all_written, 120, what="the first records, read by two workers")
                leases = ddb.client.scan(table)
                self.assertEqual(len(leases), SHARDS, leases)
                owners = {}
                for item in leases:
                    owner = item.get("leaseOwner", {}).get("S")
                    owners[owner] = owners.get(owner, 0) + 1
                h.log("lease owners: %s" % owners)
                self.assertEqual(set(owners), {"a", "b"}, owners)
                self.assertLessEqual(max(owners.values()) - min(owners.values()), 1, owners)
                # What each worker says it holds (metrics, at its last tick) agrees with the table.
                h.wait_for(lambda: leases_held("a") + leases_held("b") == SHARDS, 30,
                           what="shardhose_leases_held of a and b to sum to the shard count")
                # /readyz: each holds its share of a table it reads.
                for name in ("a", "b"):
                    status, body = get(name, "/readyz")
                    self.assertEqual(status, 200, body)
                    self.assertRegex(body, r"; leases: holds [0-9]+ leases \(share [0-9]+\) of 6, 2 live workers\n$")
                # `shardhose leases --json` shows the same table: every shard owned, both workers.
                rc, text = a.run("leases", "--config", a.config_path, "--json", what="leases")
                self.assertEqual(rc, 0, text)
                listing = json.loads([ln for ln in text.splitlines() if ln.startswith("{")][-1])
                self.assertEqual(len(listing["leases"]), SHARDS, listing)
                self.assertEqual({le["owner"] for le in listing["leases"]}, {"a", "b"}, listing)
                self.assertTrue(all(le["stream_state"] == "open" for le in listing["leases"]), listing)
                self.assertTrue(all(le["millis_behind"] is not None for le in listing["leases"]), listing)
                self.assertEqual([w["worker_id"] for w in listing["workers"]], ["a", "b"], listing)
                rc, text = a.run("leases", "--config", a.config_path, what="leases")
                self.assertEqual(rc, 0, text)
                h.log("shardhose leases:\n" + text)
                self.assertRegex(text, r"shardId-000000000000 +open +[ab] ")

                # More records; a crashes mid-stream; c joins.
                stop = threading.Event()

                def producer():
                    for _ in range(6):
                        if stop.is_set():
                            return
                        h.produce(emu.kinesis, STREAM, gen.batch(100), produced=produced)
                        time.sleep(0.5)

                t = threading.Thread(target=producer, daemon=True)
                t.start()
                time.sleep(1.5)
                a.kill()
                c = worker("c")
                c.start()
                t.join(timeout=120)
                h.wait_for(all_written, 120, what="every record after the kill (a's leases expire and move)")
                for sh in (b, c):
                    rc, text = sh.stop()
                    self.assertEqual(rc, 0, text[-6000:])
                    self.assertIn("leases released", text)
            finally:
                stop_all = [x for x in (a, b, c) if x is not None and x.proc is not None]
                for sh in stop_all:
                    sh.kill()

            out = written()
            h.check_exactly_once(self, produced, out)
            # One shard per object: the lease of a shard holds its cuts alone.
            shard_of = {eid: v[1] for eid, v in produced.records.items()}
            for o in out.objects:
                shards = {shard_of[h.loads_exact(ln)["event_id"]] for ln in o.lines}
                self.assertEqual(len(shards), 1, "%s holds records of %s" % (o.key, shards))
            # Released, checkpointed, journal empty.
            for item in ddb.client.scan(table):
                self.assertNotIn("leaseOwner", item, item)
                self.assertTrue(item["checkpoint"]["S"].isdigit(), item)
                journal = item.get("shJournal", {}).get("S", "[]")
                self.assertNotIn('"uploaded":false', journal.replace(" ", ""), item)

    def test_local_checkpoint_imported_then_two_workers_drain(self):
        gen = h.ChangeRecordGenerator(seed=2222)
        stream = "ddb-moved"
        with h.TempDir() as work, h.Emulators(streams={stream: 4}) as emu, h.DynamoDbLocal(work) as ddb:
            produced = h.Produced()
            table = "shardhose-%s-leases" % stream
            h.produce(emu.kinesis, stream, gen.batch(200), produced=produced)
            # The single process: a drain in local mode (objects of several shards).
            solo_dir = os.path.join(work, "solo")
            h.Shardhose(emu, solo_dir, stream, max_interval_s=1).drain()
            first = len(h.Output(h.s3_objects(emu.s3, prefix="ddb/")).by_event_id)
            self.assertEqual(first, 200)
            h.produce(emu.kinesis, stream, gen.batch(200), produced=produced)

            def worker(name, workdir):
                return h.Shardhose(emu, workdir, stream, max_interval_s=1, coordination__mode="dynamodb",
                                   coordination__endpoint_url=ddb.url, coordination__worker_id=name,
                                   coordination__lease_duration_s=3)

            # Same directory, now in lease mode: the file is imported first...
            a = worker("a", solo_dir)
            b = worker("b", os.path.join(work, "b"))
            try:
                a.start(extra=["--drain"])
                h.wait_for(lambda: "imported the local checkpoint" in a.output(), 60, what="the import")
                self.assertIn("4 lease(s) made from it", a.output())
                # ... and a second worker joins the drain.
                b.start(extra=["--drain"])
                for sh in (a, b):
                    rc, text = sh.wait_exit(120)
                    self.assertEqual(rc, 0, text[-6000:])
                    self.assertIn("leases released", text)
            finally:
                for sh in (a, b):
                    if sh.proc is not None:
                        sh.kill()
            self.assertFalse(os.path.exists(os.path.join(solo_dir, "checkpoint.json")))
            self.assertTrue(os.path.exists(os.path.join(solo_dir, "checkpoint.json.imported")))
            h.check_exactly_once(self, produced, h.Output(h.s3_objects(emu.s3, prefix="ddb/")))
            for item in ddb.client.scan(table):
                self.assertNotIn("leaseOwner", item, item)
                self.assertTrue(item["checkpoint"]["S"].isdigit(), item)


if __name__ == "__main__":
    unittest.main()
