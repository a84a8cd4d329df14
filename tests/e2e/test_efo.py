"""Enhanced fan-out ([source] consumer = "efo"): shardhose registers a stream
consumer and reads every shard with SubscribeToShard (HTTP/2, event-stream
framing) from kinesis-local. Every record exactly once; a restart resumes
from the checkpoint, reuses the consumer and writes nothing twice; a
checkpoint written by polling is continued by efo (and back) without loss
or duplicates."""

import unittest

import harness as h

STREAM = "ddb-efo"


def merged(*produced):
    both = h.Produced()
    for p in produced:
        both.records.update(p.records)
        both.malformed.extend(p.malformed)
    return both


def consumers(emu):
    arn = emu.kinesis.describe_stream_summary(STREAM)["StreamARN"]
    return emu.kinesis.call("ListStreamConsumers", {"StreamARN": arn}).get("Consumers", [])


class EfoTest(unittest.TestCase):
    def check_run(self, produced, objs_before, emu):
        objs = {o.key: o for o in h.s3_objects(emu.s3)}
        for key, o in objs_before.items():
            self.assertIn(key, objs, "object %s disappeared" % key)
            self.assertEqual(objs[key].body, o.body, "object %s was rewritten" % key)
        new = h.Output([o for k, o in objs.items() if k not in objs_before])
        h.check_exactly_once(self, produced, new)
        h.check_unmarshalled_content(self, produced, new)
        return objs

    def test_efo_drain_restart_exactly_once(self):
        gen = h.ChangeRecordGenerator(seed=9)
        with h.TempDir() as work, h.Emulators(streams={STREAM: 3}) as emu:
            sh = h.Shardhose(emu, work, STREAM, max_bytes=256 * 1024, max_interval_s=3600,
                             source__consumer="efo", source__consumer_name="lake-efo")
            first = h.produce(emu.kinesis, STREAM, gen.batch(2000, wide=2), gen.malformed()[:3])
            out = sh.drain(timeout=300)
            self.assertIn("enhanced fan-out", out)
            self.assertIn("registered stream consumer lake-efo", out)
            self.assertEqual([(c["ConsumerName"], c["ConsumerStatus"]) for c in consumers(emu)],
                             [("lake-efo", "ACTIVE")])
            objs1 = self.check_run(first, {}, emu)
            h.check_error_lines(self, first, h.Output(list(objs1.values())), STREAM)

            # Restart at once: resumes from the checkpoint, reuses the
            # consumer. The previous run's subscriptions may still be active
            # for kinesis-local (as within 5 s on AWS): SubscribeToShard
            # answers ResourceInUseException and the daemon backs off and
            # resubscribes.
            second = h.produce(emu.kinesis, STREAM, gen.batch(1000), gen.malformed()[3:])
            out = sh.drain(timeout=300)
            self.assertNotIn("registered stream consumer", out)
            self.assertEqual(len(consumers(emu)), 1)
            objs2 = self.check_run(second, objs1, emu)
            h.check_exactly_once(self, merged(first, second), h.Output(list(objs2.values())))

            # Nothing new, restarted at once: the drain still sees every
            # shard caught up, and writes nothing.
            sh.drain(timeout=120)
            self.assertEqual({k for k, _ in emu.s3.list_objects()}, set(objs2),
                             "a drain with nothing new changed the bucket")

    def test_switch_between_polling_and_efo(self):
        gen = h.ChangeRecordGenerator(seed=10)
        with h.TempDir() as work, h.Emulators(streams={STREAM: 2}) as emu:
            polling = h.Shardhose(emu, work, STREAM, max_bytes=256 * 1024, max_interval_s=3600,
                                  source__consumer="polling")
            first = h.produce(emu.kinesis, STREAM, gen.batch(800))
            out = polling.drain(timeout=300)
            self.assertNotIn("enhanced fan-out", out)
            self.assertEqual(consumers(emu), [])
            objs1 = self.check_run(first, {}, emu)

            efo = h.Shardhose(emu, work, STREAM, max_bytes=256 * 1024, max_interval_s=3600,
                              source__consumer="efo")
            second = h.produce(emu.kinesis, STREAM, gen.batch(800))
            out = efo.drain(timeout=300)
            self.assertIn("enhanced fan-out", out)
            objs2 = self.check_run(second, objs1, emu)

            third = h.produce(emu.kinesis, STREAM, gen.batch(500))
            polling.write_config()
            polling.drain(timeout=300)
            objs3 = self.check_run(third, objs2, emu)
            h.check_exactly_once(self, merged(first, second, third), h.Output(list(objs3.values())))


if __name__ == "__main__":
    unittest.main()
