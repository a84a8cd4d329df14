"""deploy/iam-policy.json against what the daemon does with the example
configuration (config/shardhose.example.toml):

  - it is a valid IAM policy document (Version 2012-10-17, Allow statements
    with Action and Resource);
  - the objects it lets shardhose write cover the static part of both
    output.prefix and output.error_prefix (records that fail to decode go
    under the latter: without it they would be refused forever), and the
    start-up probe object under the former;
  - the Kinesis read actions are there, and s3:ListBucket is not (the
    README's claim: it is not needed).
"""

import fnmatch
import json
import os
import re
import tomllib
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))


def static_part(template):
    return template.split("{", 1)[0]


class IamPolicy(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(os.path.join(REPO, "deploy", "iam-policy.json")) as f:
            cls.policy = json.load(f)
        with open(os.path.join(REPO, "config", "shardhose.example.toml"), "rb") as f:
            cls.config = tomllib.load(f)

    def statements(self):
        for st in self.policy["Statement"]:
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
            yield st, actions, resources

    def allowed(self, action, resource):
        return any(st["Effect"] == "Allow" and action in actions and any(fnmatch.fnmatchcase(resource, r)
                                                                           for r in resources)
                   for st, actions, resources in self.statements())

    def test_document_shape(self):
        self.assertEqual(self.policy["Version"], "2012-10-17")
        for st, actions, resources in self.statements():
            self.assertEqual(st["Effect"], "Allow", st)
            self.assertTrue(actions and resources, st)

    def test_writes_cover_both_prefixes_and_the_probe(self):
        out = self.config["output"]
        m = re.search(r"arn:aws:s3:::([^/]+)/", json.dumps(self.policy))
        bucket = m.group(1)  # the policy's placeholder bucket
        for key in (static_part(out["prefix"]) + "orders/dt=2024-05-20/hr=10/x.json.gz",
                    static_part(out["error_prefix"]) + "decode/dt=2024-05-20/x.json.gz",
                    static_part(out["prefix"]) + "_shardhose_probe"):
            arn = "arn:aws:s3:::%s/%s" % (bucket, key)
            for action in ("s3:PutObject", "s3:AbortMultipartUpload"):
                self.assertTrue(self.allowed(action, arn), "%s not allowed on %s" % (action, arn))

    def test_kinesis_reads_and_no_list_bucket(self):
        for action in ("kinesis:DescribeStreamSummary", "kinesis:ListShards", "kinesis:GetShardIterator",
                       "kinesis:GetRecords"):
            self.assertTrue(any(action in actions for _, actions, _ in self.statements()), action)
        self.assertFalse(any("s3:ListBucket" in actions for _, actions, _ in self.statements()))


if __name__ == "__main__":
    unittest.main()
