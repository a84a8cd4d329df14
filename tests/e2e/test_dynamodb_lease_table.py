"""Issue 11: the DynamoDB lease table (lib/lease/dynamodb_lease_table.h)
against AWS's DynamoDB Local. One DynamoDB Local for the module; the gtest
binary tests/e2e/dynamodb/dynamodb_lease_table_e2e.cc (path in
DYNAMODB_LEASE_TABLE_E2E_BIN, set by CTest) runs against it with
AWS_ENDPOINT_URL_DYNAMODB, then the tables it left are read back here with
harness.DynamoDbClient: what another client sees on the wire. Needs no
shardhose binary."""

import os
import subprocess
import unittest

import harness as h

PREFIX = "py"  # DYNAMODB_E2E_PREFIX: the gtest binary's table names are py-<case>


def gtest_bin():
    path = os.environ.get("DYNAMODB_LEASE_TABLE_E2E_BIN") or os.path.join(
        h.REPO_ROOT, "build", "tests", "e2e", "dynamodb", "dynamodb_lease_table_e2e")
    if not os.path.exists(path):
        raise unittest.SkipTest("%s not built" % path)
    return path


class DynamoDbLeaseTableTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.bin = gtest_bin()
        cls.tmp = h.TempDir(prefix="shardhose-e2e-ddb-")
        cls.workdir = cls.tmp.__enter__()
        cls.ddb = h.DynamoDbLocal(cls.workdir)
        try:
            cls.ddb.__enter__()
        except BaseException:
            cls.tmp.__exit__(None, None, None)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.ddb.__exit__(None, None, None)
        cls.tmp.__exit__(None, None, None)

    def test_1_lease_table(self):
        env = dict(os.environ, AWS_ENDPOINT_URL_DYNAMODB=self.ddb.url, DYNAMODB_E2E_PREFIX=PREFIX)
        proc = subprocess.run([self.bin, "--gtest_brief=1"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=120)
        out = proc.stdout.decode("utf-8", "replace")
        if proc.returncode != 0:
            self.fail("%s failed (%d):\n%s\n----- DynamoDB Local -----\n%s"
                      % (self.bin, proc.returncode, out[-8000:], self.ddb.tail()))
        self.assertNotIn("SKIPPED", out)

        # What the binary left, as another client sees it.
        c = self.ddb.client
        tables = set(c.list_tables())
        for case in ("ensure", "create", "transfer", "update", "paging", "bigpages", "workers"):
            self.assertIn("%s-%s" % (PREFIX, case), tables)
            self.assertIn("%s-%s-workers" % (PREFIX, case), tables)
        for name in ("py-ensure", "py-ensure-workers"):
            t = c.describe_table(name)
            self.assertEqual(t["TableStatus"], "ACTIVE")
            self.assertEqual(t["BillingModeSummary"]["BillingMode"], "PAY_PER_REQUEST")
            self.assertEqual([k["KeyType"] for k in t["KeySchema"]], ["HASH"])
        self.assertEqual(c.describe_table("py-ensure")["KeySchema"][0]["AttributeName"], "leaseKey")
        self.assertEqual(c.describe_table("py-ensure-workers")["KeySchema"][0]["AttributeName"], "workerId")

        # A released lease has no leaseOwner attribute (KCL's released form).
        released = c.get_item("py-transfer", {"leaseKey": {"S": "shardId-release"}})
        self.assertIsNotNone(released)
        self.assertNotIn("leaseOwner", released)
        self.assertEqual(released["leaseCounter"], {"N": "3"})
        self.assertEqual(released["ownerSwitchesSinceCheckpoint"], {"N": "1"})
        self.assertEqual(sorted(released["parentShardId"]["SS"]), ["shardId-p0", "shardId-p1"])

        self.assertEqual(len(c.scan("py-paging", limit=4)), 25)
        workers = c.scan("py-workers-workers")
        self.assertEqual([w["workerId"]["S"] for w in workers], ["w1"])
        self.assertEqual(workers[0]["beat"], {"N": "2"})

    def test_2_kcl_conditions_from_python(self):
        """The conditions the C++ table relies on, as DynamoDB Local applies
        them to a raw client: a counter-conditional write fails once another
        writer moved the counter."""
        c = self.ddb.client
        c.create_table("py-raw", "leaseKey")
        c.put_item("py-raw", {"leaseKey": {"S": "s0"}, "leaseCounter": {"N": "0"}},
                   condition="attribute_not_exists(leaseKey)")
        with self.assertRaises(h.AwsError) as e:
            c.put_item("py-raw", {"leaseKey": {"S": "s0"}, "leaseCounter": {"N": "9"}},
                       condition="attribute_not_exists(leaseKey)")
        self.assertEqual(e.exception.code, "ConditionalCheckFailedException")
        took = c.update_item("py-raw", {"leaseKey": {"S": "s0"}}, "SET #c = #c + :one, #o = :w",
                             condition="#c = :seen AND attribute_not_exists(#o)",
                             names={"#c": "leaseCounter", "#o": "leaseOwner"},
                             values={":one": {"N": "1"}, ":seen": {"N": "0"}, ":w": {"S": "w1"}})
        self.assertEqual(took["leaseCounter"], {"N": "1"})
        with self.assertRaises(h.AwsError) as e:
            c.update_item("py-raw", {"leaseKey": {"S": "s0"}}, "SET #c = #c + :one",
                          condition="#c = :seen", names={"#c": "leaseCounter"},
                          values={":one": {"N": "1"}, ":seen": {"N": "0"}})
        self.assertEqual(e.exception.code, "ConditionalCheckFailedException")


if __name__ == "__main__":
    unittest.main()
