"""Self-tests of the e2e harness: the emulators round-trip data, the
generator covers what the tests rely on, and the verifiers do fail on bad
output. Needs no shardhose binary."""

import base64
import gzip
import json
import unittest

import harness as h


def fake_output(produced, mutate=None, partition=None):
    """Objects a perfect engine would write for `produced` (one per record)."""
    objs = []
    for eid, (rec, shard, seq, _pk) in produced.records.items():
        line = h.expected_line(rec, shard, seq)
        text = h.dumps_exact(line)
        if mutate:
            text = mutate(text)
        key = (partition or h.expected_partition(rec)) + eid + ".json.gz"
        objs.append(h.decode_object(key, gzip.compress((text + "\n").encode())))
    return objs


class GeneratorTest(unittest.TestCase):
    def test_records_cover_the_contract(self):
        gen = h.ChangeRecordGenerator(seed=1)
        recs = gen.batch(2000, wide=3, big=1)
        self.assertEqual(len(recs), 2000)
        kinds = {(r["tableName"], r["eventName"]) for r in recs}
        self.assertEqual(kinds, {(t, k) for t in ("orders", "user-sessions") for k in ("INSERT", "MODIFY", "REMOVE")})
        for r in recs:
            d = r["dynamodb"]
            self.assertEqual("NewImage" in d, r["eventName"] != "REMOVE")
            self.assertEqual("OldImage" in d, r["eventName"] != "INSERT")
            self.assertLess(len(h.encode(r)), 1024 * 1024, "over Kinesis' 1 MiB record limit")
        self.assertTrue(any(r["userIdentity"] == h.TTL_IDENTITY for r in recs))
        text = "".join(h.encode(r).decode() for r in recs)
        for t in ('"S"', '"N"', '"B"', '"BOOL"', '"NULL"', '"M"', '"L"', '"SS"', '"NS"', '"BS"'):
            self.assertIn(t + ":", text)
        self.assertIn(h.NUMBER_SAMPLES[9], text)
        self.assertTrue(any(len(r["dynamodb"].get("NewImage") or r["dynamodb"]["OldImage"]) > 1000 for r in recs))
        self.assertTrue(any(len(h.encode(r)) > 350 * 1024 for r in recs))
        hours = {h.expected_partition(r) for r in recs}
        self.assertGreaterEqual(len(hours), 12)
        self.assertEqual(len({r["eventID"] for r in recs}), len(recs))

    def test_unmarshal(self):
        img = {"s": {"S": "x"}, "n": {"N": "12345678901234567890123456789012345678"}, "b": {"B": "AAE="},
               "t": {"BOOL": True}, "z": {"NULL": True}, "m": {"M": {"l": {"L": [{"N": "1.50"}]}}},
               "ss": {"SS": ["a"]}, "ns": {"NS": ["1", "2.5"]}, "bs": {"BS": ["AA=="]}}
        got = h.unmarshal_image(img)
        want = h.loads_exact('{"s":"x","n":12345678901234567890123456789012345678,"b":"AAE=","t":true,"z":null,'
                             '"m":{"l":[1.50]},"ss":["a"],"ns":[1,2.5],"bs":["AA=="]}')
        self.assertEqual(got, want)
        self.assertNotEqual(h.loads_exact('{"n":"1"}'), h.loads_exact('{"n":1}'))
        self.assertNotEqual(h.loads_exact('[1.50]'), h.loads_exact('[1.5]'))
        self.assertEqual(h.iso_millis(1716200000123), "2024-05-20T10:13:20.123Z")


class VerifierTest(unittest.TestCase):
    def setUp(self):
        gen = h.ChangeRecordGenerator(seed=2)
        self.produced = h.Produced()
        for i, r in enumerate(gen.batch(50)):
            img = r["dynamodb"].get("NewImage") or r["dynamodb"]["OldImage"]
            img["n38"] = {"N": h.NUMBER_SAMPLES[9]}
            self.produced.records[r["eventID"]] = (r, "shardId-00000000000%d" % (i % 4), str(10**40 + i), "pk")

    def test_perfect_output_passes(self):
        out = h.Output(fake_output(self.produced))
        h.check_exactly_once(self, self.produced, out)
        h.check_unmarshalled_content(self, self.produced, out)

    def test_duplicates_and_missing_fail(self):
        objs = fake_output(self.produced)
        with self.assertRaises(AssertionError):
            h.check_exactly_once(self, self.produced, h.Output(objs + objs[:1]))
        with self.assertRaises(AssertionError):
            h.check_exactly_once(self, self.produced, h.Output(objs[1:]))

    def test_wrong_partition_fails(self):
        out = h.Output(fake_output(self.produced, partition="ddb/orders/dt=2024-05-20/hr=99/"))
        with self.assertRaises(AssertionError):
            h.check_unmarshalled_content(self, self.produced, out)

    def test_inexact_numbers_fail(self):
        # A number turned into a string somewhere must be caught.
        out = h.Output(fake_output(self.produced, mutate=lambda t: t.replace(
            h.NUMBER_SAMPLES[9], '"%s"' % h.NUMBER_SAMPLES[9])))
        with self.assertRaises(AssertionError):
            h.check_unmarshalled_content(self, self.produced, out)
        # ... and so must a number written through a double.
        out = h.Output(fake_output(self.produced, mutate=lambda t: t.replace(
            h.NUMBER_SAMPLES[9], "1.2345678901234568e+37")))
        with self.assertRaises(AssertionError):
            h.check_unmarshalled_content(self, self.produced, out)

    def test_bad_objects_fail(self):
        with self.assertRaises(h.OutputError):
            h.decode_object("a/b.json.gz", b"not gzip")
        with self.assertRaises(h.OutputError):
            h.decode_object("a/b.json.gz", gzip.compress(b'{"a":1}'))  # no final newline
        with self.assertRaises(h.OutputError):
            h.decode_object("a/b.json.gz", gzip.compress(b'{"a":1}\n')[:-3])  # truncated
        with self.assertRaises(h.OutputError):
            h.decode_object("a/b.json", gzip.compress(b'{"a":1}\n'))  # wrong suffix for gzip
        with self.assertRaises(h.OutputError):
            h.Output([h.decode_object("a/b.json.gz", gzip.compress(b'{"a":1\n'))])


class EmulatorTest(unittest.TestCase):
    def test_round_trip(self):
        gen = h.ChangeRecordGenerator(seed=3)
        recs = gen.batch(1200, wide=2, big=1)
        malformed = gen.malformed()
        with h.Emulators(streams={"selftest": 4}) as emu:
            produced = h.produce(emu.kinesis, "selftest", recs, malformed)
            got = {}
            shards = emu.kinesis.list_shards("selftest")
            self.assertEqual(len(shards), 4)
            for s in shards:
                for r in emu.kinesis.read_all("selftest", s["ShardId"]):
                    got[(s["ShardId"], r["SequenceNumber"])] = (r["Data"], r["PartitionKey"])
            self.assertEqual(len(got), len(recs) + len(malformed))
            for eid, (rec, shard, seq, pk) in produced.records.items():
                self.assertEqual(got[(shard, seq)], (h.encode(rec), pk))
            for reason, data, shard, seq, pk in produced.malformed:
                self.assertEqual(got[(shard, seq)], (data, pk))

            # Create a stream through the API too, and reshard it.
            emu.kinesis.create_stream("other", 2)
            s0 = emu.kinesis.list_shards("other")[0]
            lo, hi = int(s0["HashKeyRange"]["StartingHashKey"]), int(s0["HashKeyRange"]["EndingHashKey"])
            emu.kinesis.split_shard("other", s0["ShardId"], (lo + hi) // 2)
            self.assertEqual(len(emu.kinesis.list_shards("other")), 4)

            body = gzip.compress(b'{"x":1}\n')
            for i in range(7):
                emu.s3.put_object("p/dt=2024-05-20/o%d.json.gz" % i, body)
            listed = emu.s3.list_objects("p/", page_size=3)
            self.assertEqual([k for k, _ in listed], ["p/dt=2024-05-20/o%d.json.gz" % i for i in range(7)])
            objs = h.s3_objects(emu.s3, "p/", page_size=2)
            self.assertEqual(len(objs), 7)
            self.assertEqual(objs[0].lines, ['{"x":1}'])
            self.assertEqual(base64.b64encode(emu.s3.get_object("p/dt=2024-05-20/o0.json.gz")),
                             base64.b64encode(body))


if __name__ == "__main__":
    unittest.main()
