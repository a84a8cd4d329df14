"""Kinesis failing (issue 3, fault 4), through fault_proxy.FaultProxy in
front of kinesis-local: ProvisionedThroughputExceededException (and
LimitExceededException on control-plane calls), ExpiredIteratorException on
GetRecords, 500, 503, connection resets and slow answers, on a seeded
schedule, while a producer writes (directly, not through the proxy). The
checkpoint is watched as in test_s3_faults; then SIGTERM, a drain still
through the faults, and exactly-once. (The checkpoint-older-than-the-trim-
horizon case is tested elsewhere.)"""

import os
import re
import time
import unittest

import fault_proxy as fp
import harness as h

SEED = int(os.environ.get("KINESIS_FAULTS_SEED", "11"))
FAULT_RATES = {"throttle": 0.08, "expired": 0.08, "500": 0.04, "503": 0.04, "reset": 0.04, "delay": 0.03}


class KinesisFaultsTest(unittest.TestCase):
    def test_kinesis_faults_exactly_once(self):
        stream = "ddb-kfaults"
        with h.TempDir() as work, h.Emulators(streams={stream: 4}) as emu, \
                fp.FaultProxy(emu.kinesis_port, "kinesis", seed=SEED, rates=FAULT_RATES, delay_s=1.5,
                              log_path=os.path.join(work, "kinesis-proxy.log")) as proxy:
            sh = h.Shardhose(emu, work, stream, max_bytes=64 * 1024, max_interval_s=1,
                             source__endpoint_url=proxy.url, source__poll_threads=3,
                             output__upload_threads=2)
            producer = h.Producer(emu.kinesis_port, stream, seed=SEED, per_batch=80, interval=0.25,
                                  malformed_every=6)
            monitor = h.CheckpointMonitor(sh.checkpoint_path, emu.s3, producer)
            started = time.time()
            try:
                sh.start()
                producer.start()
                monitor.start()
                time.sleep(30)
                self.assertIsNone(sh.proc.poll(), "daemon exited under Kinesis faults\n" + sh.output()[-6000:])
                produced = producer.stop()
                rc, text = sh.stop(timeout=60)
                self.assertEqual(rc, 0, "exit after SIGTERM under Kinesis faults\n" + text[-6000:])
                out = sh.drain(timeout=300)
                monitor.check_once()
            finally:
                monitor.stop()
                sh.close()
                producer.stop()
            self.assertFalse(bool(monitor.violations), "checkpoint passed unacknowledged uploads:\n"
                             + "\n".join(monitor.violations[:10]))
            for kind in FAULT_RATES:
                self.assertGreaterEqual(proxy.counts.get(kind, 0), 3, "fault %s injected too rarely: %s"
                                        % (kind, proxy.summary()))
            logged = text + out
            self.assertTrue(re.search(r"ProvisionedThroughputExceeded|throttl", logged, re.I),
                            "throttling never shows in the daemon's log")
            self.assertGreater(len(re.findall(r"poll failed, backing off .*op=(?:GetRecords|GetShardIterator)", logged)), 5,
                               "daemon logged too few Kinesis retries")
            objects = h.s3_objects(emu.s3)
            checked, lost, dup = h.check_exactly_once_idents(self, produced, objects)
            output = h.Output(objects)
            h.check_unmarshalled_content(self, produced, output)
            h.check_error_lines(self, produced, output, stream)
            print("\nKINESIS FAULT FIGURES: faults injected %d (%s); %d checkpoint generations checked, "
                  "0 violations; records checked %d; lost %d; duplicated %d; %.0f s"
                  % (proxy.total_faults(), proxy.summary(), monitor.generations, checked, lost, dup,
                     time.time() - started), flush=True)


if __name__ == "__main__":
    unittest.main()
