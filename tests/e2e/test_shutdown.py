"""Shutdown (issue 3, fault 5).

test_sigterm_healthy_flushes_everything: every record read, batches held
open (max_interval_s = 300); SIGTERM: exit 0 within shutdown.grace_period_s,
the bucket holds every record exactly once, the checkpoint names the last
record of every shard with nothing left pending, and a following drain adds
nothing.

test_sigterm_s3_unreachable_exits_at_deadline: S3 refuses connections (proxy
down) while batches wait; SIGTERM: exit 1 at about grace_period_s saying data
was not flushed; the checkpoint does not pass unflushed data; with S3 back a
drain ends with exactly-once output and earlier objects untouched.
"""

import re
import time
import unittest

import fault_proxy as fp
import harness as h

GRACE_S = 5


def caught_up_lines(text, shard):
    return len(re.findall(r"shard %s: 0 records, 0 errors, 0 ms behind" % re.escape(shard), text))


class ShutdownTest(unittest.TestCase):
    def test_sigterm_healthy_flushes_everything(self):
        stream = "ddb-shut-ok"
        with h.TempDir() as work, h.Emulators(streams={stream: 4}) as emu:
            sh = h.Shardhose(emu, work, stream, max_bytes=256 * 1024, max_interval_s=300,
                             shutdown__grace_period_s=10)
            producer = h.Producer(emu.kinesis_port, stream, seed=31, per_batch=100, interval=0.1,
                                  malformed_every=5, max_batches=25)
            try:
                sh.start(log_level="debug")
                producer.start()
                h.wait_for(lambda: producer.batches >= 25, 120, what="the producer to finish")
                produced = producer.stop()
                shards = sorted({v[1] for v in produced.records.values()})
                self.assertEqual(len(shards), 4)
                mark = len(sh.output())
                h.wait_for(lambda: all(caught_up_lines(sh.output()[mark:], s) >= 2 for s in shards), 60,
                           what="every shard to be read to its end")
                lines_before = sum(len(o.lines) for o in h.s3_objects(emu.s3))
                self.assertLess(lines_before, len(produced) // 2,
                                "most records were flushed before SIGTERM; the test is void")
                t0 = time.time()
                rc, text = sh.stop(timeout=60)
                elapsed = time.time() - t0
            finally:
                sh.close()
                producer.stop()
            self.assertEqual(rc, 0, "exit after SIGTERM\n" + text[-6000:])
            self.assertLess(elapsed, 10, "SIGTERM took %.1fs, grace period is 10s" % elapsed)
            bodies = {k: emu.s3.get_object(k) for k, _ in emu.s3.list_objects()}
            objects = [h.decode_object(k, b) for k, b in bodies.items()]
            checked, lost, dup = h.check_exactly_once_idents(self, produced, objects)
            body = h.read_checkpoint_doc(sh.checkpoint_path)
            last = {}
            for shard, seq in producer.idents():
                if shard not in last or int(seq) > int(last[shard]):
                    last[shard] = seq
            self.assertEqual({s: v["sequence"] for s, v in body["shards"].items()}, last,
                             "the checkpoint after SIGTERM is not at the last record of every shard")
            self.assertFalse([c for c in body["pending"] if not c["uploaded"]],
                             "cuts still pending upload after a clean SIGTERM")
            sh.drain(timeout=120)
            after = {k: emu.s3.get_object(k) for k, _ in emu.s3.list_objects()}
            self.assertEqual(after, bodies, "the drain after SIGTERM changed the bucket")
            print("\nSHUTDOWN (S3 healthy) FIGURES: exit 0 in %.1f s (grace 10 s); records checked %d; "
                  "lost %d; duplicated %d; the drain after it added 0 objects" % (elapsed, checked, lost, dup),
                  flush=True)

    def test_sigterm_s3_unreachable_exits_at_deadline(self):
        stream = "ddb-shut-down"
        with h.TempDir() as work, h.Emulators(streams={stream: 4}) as emu, \
                fp.FaultProxy(emu.s3_port, "s3", seed=5) as proxy:
            sh = h.Shardhose(emu, work, stream, max_bytes=64 * 1024, max_interval_s=1,
                             output__endpoint_url=proxy.url, output__upload_timeout_s=2,
                             shutdown__grace_period_s=GRACE_S)
            producer = h.Producer(emu.kinesis_port, stream, seed=32, per_batch=80, interval=0.2,
                                  malformed_every=5)
            monitor = h.CheckpointMonitor(sh.checkpoint_path, emu.s3, producer)
            history = h.BucketHistory(emu.s3, keep_dir=work)
            try:
                sh.start()
                producer.start()
                h.wait_for(lambda: len(emu.s3.list_objects()) >= 5, 60, what="first objects")
                proxy.set_down(True)
                time.sleep(4)  # batches seal (max_interval_s 1) and fail to upload
                history.snapshot("S3 down")
                t0 = time.time()
                sh.proc.send_signal(15)
                rc, text = sh.wait_exit(timeout=GRACE_S + 30)
                elapsed = time.time() - t0
                if rc is None:
                    sh.kill()
                    self.fail("daemon still running %ds after SIGTERM (grace %ds)\n%s"
                              % (GRACE_S + 30, GRACE_S, text[-6000:]))
                produced = producer.stop()
                monitor.check_once()
                cp_at_exit = h.read_checkpoint_doc(sh.checkpoint_path)
                proxy.set_down(False)
                sh.drain(timeout=300)
                bodies = history.snapshot("after drain")
            finally:
                sh.close()
                producer.stop()
            self.assertEqual(rc, 1, "exit status with S3 unreachable at the deadline\n" + text[-6000:])
            self.assertGreaterEqual(elapsed, GRACE_S - 0.5, "exited before the grace period: %.1fs" % elapsed)
            self.assertLessEqual(elapsed, GRACE_S + 2 + 3, "exited %.1fs after SIGTERM, grace %ds + upload "
                                 "timeout 2s" % (elapsed, GRACE_S))
            self.assertRegex(text, r"(?i)deadline.*not uploaded|not (been )?(flushed|uploaded)",
                             "no message says data was not flushed:\n" + text[-3000:])
            self.assertFalse(bool(monitor.violations), "checkpoint at exit passes unflushed data:\n"
                             + "\n".join(monitor.violations[:10]))
            durable = sum(1 for s, q in producer.idents()
                          if h.seq_le(q, cp_at_exit["shards"].get(s, {}).get("sequence", "")))
            self.assertLess(durable, len(produced), "the checkpoint covers everything; test is void")
            self.assertFalse(bool(history.conflicts), "objects rewritten with other content: %s" % history.conflicts)
            objects = [h.decode_object(k, b) for k, b in bodies.items()]
            checked, lost, dup = h.check_exactly_once_idents(self, produced, objects)
            print("\nSHUTDOWN (S3 down) FIGURES: exit %d %.1f s after SIGTERM (grace %d s); checkpoint at exit "
                  "covered %d of %d records, all in the bucket; after the drain: records checked %d; lost %d; "
                  "duplicated %d" % (rc, elapsed, GRACE_S, durable, len(produced), checked, lost, dup), flush=True)


if __name__ == "__main__":
    unittest.main()
