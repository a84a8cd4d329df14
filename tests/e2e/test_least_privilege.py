"""Least privilege and failing fast against S3 (issue 10, findings 2 and 3).

  - A restart that re-forms an uploaded batch, against moto (which honours
    If-None-Match, unlike s3rver): the re-formed object is written
    conditionally, the 412 says it is there, nothing is written twice.
  - The same restart when HEAD answers 403 (S3 without s3:ListBucket; the
    fault proxy answers every HEAD so, s3rver behind it): the restart
    completes, exactly once, no endless HEAD loop.
  - A missing bucket and credentials S3 refuses: `run` exits 1 within
    seconds, naming the AWS code.
  - PUTs refused with AccessDenied mid-run: `run --drain` exits 1 once
    that lasts output.permanent_error_grace_s, without reading on.

The crash is the kill point upload.after_put (a build with
-DSHARDHOSE_KILL_POINTS=ON, as scripts/test.sh builds): the daemon dies
right after an object is durable, before the checkpoint says so.
"""

import os
import signal
import time
import unittest

import harness as h
from fault_proxy import FaultProxy

STREAM = "ddb-lp"
WITH_KILL_POINTS = os.environ.get("SHARDHOSE_E2E_KILL_POINTS", "1") == "1"


def crash_after_first_put(tc, sh):
    """Runs the daemon until its first object is durable, then it dies
    (SIGKILL at the kill point) before checkpointing it."""
    sh.start(env={"SHARDHOSE_KILL_AT": "upload.after_put:1"})
    rc, out = sh.wait_exit(timeout=90)
    if rc is None:
        sh.kill()
        tc.fail("kill point upload.after_put:1 not reached in 90 s\n" + out[-4000:])
    tc.assertEqual(rc, -signal.SIGKILL, out[-4000:])
    return out


@unittest.skipUnless(WITH_KILL_POINTS, "needs a build with -DSHARDHOSE_KILL_POINTS=ON")
class RestartWithoutListBucket(unittest.TestCase):
    @unittest.skipUnless(h.MotoS3.available(), "moto is not installed (scripts/install-deps.sh installs it)")
    def test_conditional_writes_against_moto(self):
        with h.Emulators(streams={STREAM: 2}) as emu, h.TempDir() as work, h.MotoS3(work) as moto:
            produced = h.produce(emu.kinesis, STREAM, h.ChangeRecordGenerator(seed=21).batch(400))
            sh = h.Shardhose(emu, work, STREAM, output__endpoint_url=moto.url, max_records=50, max_interval_s=2)
            try:
                crash_after_first_put(self, sh)
                out = sh.drain()
            finally:
                sh.close()
            self.assertIn("by conditional writes (If-None-Match)", out)
            self.assertIn("was uploaded before the restart", out)
            h.check_exactly_once(self, produced, h.Output(h.s3_objects(moto.s3, prefix="ddb/")))

    def test_head_403_is_unknown_not_a_loop(self):
        with h.Emulators(streams={STREAM: 2}) as emu, h.TempDir() as work:
            produced = h.produce(emu.kinesis, STREAM, h.ChangeRecordGenerator(seed=22).batch(400))
            sh = h.Shardhose(emu, work, STREAM, max_records=50, max_interval_s=2, output__conditional_writes="off")
            try:
                crash_after_first_put(self, sh)
                with FaultProxy(emu.s3_port, "s3", seed=1, rates={"head_403": 1.0}) as proxy:
                    sh.sections["output"]["endpoint_url"] = proxy.url
                    sh.write_config()
                    t0 = time.time()
                    out = sh.drain(timeout=120)
                    self.assertLess(time.time() - t0, 90)
                    heads = proxy.counts.get("head_403", 0)
            finally:
                sh.close()
            objects = h.s3_objects(emu.s3, prefix="ddb/")
            self.assertGreaterEqual(heads, 1, "the re-formed objects were not checked with HEAD")
            # One HEAD per re-formed object at most (each is then written
            # again: the same cut, the same bytes), never a loop.
            self.assertLessEqual(heads, len(objects), "HEAD retried in a loop")
            h.check_exactly_once(self, produced, h.Output(objects))


class FailFast(unittest.TestCase):
    def test_missing_bucket_exits_1_naming_the_code(self):
        with h.Emulators(streams={STREAM: 1}) as emu, h.TempDir() as work:
            sh = h.Shardhose(emu, work, STREAM, output__bucket="no-such-bucket")
            t0 = time.time()
            rc, out = sh.run("run", "--config", sh.config_path, "--drain", timeout=60, what="no-bucket")
            self.assertEqual(rc, 1, out[-4000:])
            self.assertLess(time.time() - t0, 30)
            self.assertIn("NoSuchBucket", out)

    def test_refused_credentials_exit_1_naming_the_code(self):
        with h.Emulators(streams={STREAM: 1}) as emu, h.TempDir() as work:
            sh = h.Shardhose(emu, work, STREAM)
            sh.start(env={"AWS_ACCESS_KEY_ID": "AKIDWRONG", "AWS_SECRET_ACCESS_KEY": "wrong"})
            rc, out = sh.wait_exit(timeout=60)
            if rc is None:
                sh.kill()
            self.assertEqual(rc, 1, out[-4000:])
            self.assertRegex(out, r"InvalidAccessKeyId|SignatureDoesNotMatch|AccessDenied")

    def test_drain_stops_after_the_grace_when_puts_are_denied(self):
        with h.Emulators(streams={STREAM: 2}) as emu, h.TempDir() as work, \
                FaultProxy(emu.s3_port, "s3", seed=2, rates={"put_403": 1.0}) as proxy:
            h.produce(emu.kinesis, STREAM, h.ChangeRecordGenerator(seed=23).batch(300))
            sh = h.Shardhose(emu, work, STREAM, max_records=50, output__endpoint_url=proxy.url,
                             output__permanent_error_grace_s=3, shutdown__grace_period_s=5)
            t0 = time.time()
            rc, out = sh.run("run", "--config", sh.config_path, "--drain", "--log-level", "info", timeout=120,
                             what="denied")
            self.assertEqual(rc, 1, out[-4000:])
            self.assertLess(time.time() - t0, 60)
            self.assertIn("AccessDenied", out)
            self.assertGreaterEqual(proxy.counts.get("put_403", 0), 1)
            self.assertEqual(emu.s3.list_objects("ddb/"), [], "nothing was written")


if __name__ == "__main__":
    unittest.main()
