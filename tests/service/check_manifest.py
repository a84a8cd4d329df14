"""deploy/kubernetes/shardhose-sidecar.yaml parses (python3-yaml) and keeps
its promises:

  - a Deployment with an app container and a `shardhose` sidecar, one
    replica, strategy Recreate (one writer of the checkpoint);
  - liveness /healthz, readiness /readyz, both on the port of
    SHARDHOSE_SERVER_LISTEN (and that port is the Dockerfile's);
  - terminationGracePeriodSeconds = SHARDHOSE_SHUTDOWN_GRACE_PERIOD_S (or
    the default from config/shardhose.example.toml) + 5;
  - SHARDHOSE_CHECKPOINT_PATH on a volume mount backed by a PVC defined in
    the same file;
  - non-root (the image's uid), read-only root filesystem, no privilege
    escalation, all capabilities dropped;
  - JSON logs; a memory limit above batch.max_buffered_bytes.
"""

import os
import re
import sys
import unittest

try:
    import yaml
except ImportError:  # e.g. a pyenv python3 first in PATH: use Debian's, which has python3-yaml
    if os.path.exists("/usr/bin/python3") and os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    raise

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
MANIFEST = os.path.join(REPO, "deploy", "kubernetes", "shardhose-sidecar.yaml")
DOCKERFILE = os.path.join(REPO, "Dockerfile")

UNITS = {"Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "k": 10 ** 3, "M": 10 ** 6, "G": 10 ** 9}


def quantity_bytes(q):
    m = re.fullmatch(r"(\d+)(Ki|Mi|Gi|Ti|k|M|G)?", str(q))
    assert m, "unsupported quantity %r" % q
    return int(m.group(1)) * UNITS.get(m.group(2) or "", 1)


def example_default(section, key):
    with open(os.path.join(REPO, "config", "shardhose.example.toml")) as f:
        text = f.read()
    sec = re.search(r"^\[%s\]\s*$(.*?)(?=^\[|\Z)" % re.escape(section), text, re.M | re.S)
    m = re.search(r"^\s*%s\s*=\s*(\d+)" % re.escape(key), sec.group(1), re.M)
    return int(m.group(1))


def dockerfile_user():
    with open(DOCKERFILE) as f:
        m = re.search(r"^USER\s+(\d+)(?::(\d+))?\s*$", f.read(), re.M)
    return m and int(m.group(1))


class Manifest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(MANIFEST) as f:
            cls.docs = [d for d in yaml.safe_load_all(f) if d]
        deployments = [d for d in cls.docs if d.get("kind") == "Deployment"]
        assert len(deployments) == 1, "expected one Deployment"
        cls.dep = deployments[0]
        cls.pod = cls.dep["spec"]["template"]["spec"]
        by_name = {c["name"]: c for c in cls.pod["containers"]}
        cls.sidecar = by_name["shardhose"]
        cls.others = [c for n, c in by_name.items() if n != "shardhose"]
        cls.env = {e["name"]: e.get("value") for e in cls.sidecar.get("env", [])}

    def test_every_document_has_kind_and_name(self):
        for d in self.docs:
            self.assertIn("apiVersion", d)
            self.assertIn("kind", d)
            self.assertTrue(d.get("metadata", {}).get("name"), d)

    def test_app_plus_sidecar_single_writer(self):
        self.assertTrue(self.others, "no app container next to the sidecar")
        self.assertEqual(self.dep["spec"].get("replicas"), 1)
        self.assertEqual(self.dep["spec"]["strategy"]["type"], "Recreate")
        labels = self.dep["spec"]["template"]["metadata"]["labels"]
        for k, v in self.dep["spec"]["selector"]["matchLabels"].items():
            self.assertEqual(labels.get(k), v)

    def test_probes_match_the_http_endpoint(self):
        listen = self.env.get("SHARDHOSE_SERVER_LISTEN")
        self.assertTrue(listen, "SHARDHOSE_SERVER_LISTEN not set: no /healthz to probe")
        host, _, port = listen.rpartition(":")
        self.assertEqual(host, "0.0.0.0", "the kubelet probes the pod IP: listen on all addresses")
        port = int(port)
        self.assertEqual(port, 9600)
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz"),
                            ("startupProbe", "/readyz")):
            with self.subTest(probe=probe):
                p = self.sidecar.get(probe)
                self.assertIsNotNone(p, probe)
                self.assertEqual(p["httpGet"]["path"], path)
                self.assertEqual(p["httpGet"]["port"], port)
        self.assertIn(port, [p["containerPort"] for p in self.sidecar.get("ports", [])])
        with open(DOCKERFILE) as f:
            docker = f.read()
        self.assertIn("SHARDHOSE_SERVER_LISTEN=0.0.0.0:%d" % port, docker)
        # The image's HEALTHCHECK follows SHARDHOSE_SERVER_LISTEN (check_dockerfile.py runs it).
        self.assertRegex(docker, r"HEALTHCHECK[^\n]*(\\\n[^\n]*)*SHARDHOSE_SERVER_LISTEN[^\n]*/healthz")

    def test_grace_period_matches_flush_deadline(self):
        grace = int(self.env.get("SHARDHOSE_SHUTDOWN_GRACE_PERIOD_S")
                    or example_default("shutdown", "grace_period_s"))
        self.assertEqual(self.pod.get("terminationGracePeriodSeconds"), grace + 5,
                         "terminationGracePeriodSeconds must be shutdown.grace_period_s (%d) + 5" % grace)

    def test_checkpoint_on_a_persistent_volume(self):
        path = self.env.get("SHARDHOSE_CHECKPOINT_PATH")
        self.assertTrue(path and path.startswith("/"), "SHARDHOSE_CHECKPOINT_PATH not set")
        mounts = {m["mountPath"].rstrip("/"): m["name"] for m in self.sidecar.get("volumeMounts", [])}
        mount = mounts.get(os.path.dirname(path))
        self.assertIsNotNone(mount, "the checkpoint's directory %s is not a volume mount" % os.path.dirname(path))
        volumes = {v["name"]: v for v in self.pod.get("volumes", [])}
        claim = volumes[mount].get("persistentVolumeClaim", {}).get("claimName")
        self.assertTrue(claim, "checkpoint volume %s is not a PVC" % mount)
        pvcs = [d for d in self.docs if d["kind"] == "PersistentVolumeClaim" and d["metadata"]["name"] == claim]
        self.assertEqual(len(pvcs), 1, "PVC %s not defined in the manifest" % claim)
        self.assertIn("ReadWriteOnce", pvcs[0]["spec"]["accessModes"])

    def test_security_context(self):
        pod_sc = self.pod.get("securityContext", {})
        sc = dict(pod_sc)
        sc.update(self.sidecar.get("securityContext", {}))
        self.assertTrue(sc.get("runAsNonRoot"))
        self.assertEqual(sc.get("runAsUser"), dockerfile_user(), "runAsUser is not the image's USER")
        self.assertTrue(sc.get("readOnlyRootFilesystem"))
        self.assertIs(sc.get("allowPrivilegeEscalation"), False)
        self.assertIn("ALL", sc.get("capabilities", {}).get("drop", []))
        self.assertEqual(pod_sc.get("fsGroup"), dockerfile_user(), "the PVC must be writable by the image's user")

    def test_json_logs_and_memory(self):
        self.assertEqual(self.env.get("SHARDHOSE_LOG_FORMAT"), "json")
        limit = quantity_bytes(self.sidecar["resources"]["limits"]["memory"])
        buffered = int(self.env.get("SHARDHOSE_BATCH_MAX_BUFFERED_BYTES")
                       or example_default("batch", "max_buffered_bytes"))
        max_bytes = int(self.env.get("SHARDHOSE_BATCH_MAX_BYTES") or example_default("batch", "max_bytes"))
        self.assertLessEqual(max_bytes, buffered, "batch.max_bytes must be <= batch.max_buffered_bytes")
        self.assertGreater(limit, buffered * 1.5, "memory limit %d too close to max_buffered_bytes %d"
                           % (limit, buffered))

    def test_env_names_are_configuration_keys(self):
        # Every SHARDHOSE_* variable must be a key of the example configuration
        # (or a command-line variable), else it is silently ignored.
        with open(os.path.join(REPO, "config", "shardhose.example.toml")) as f:
            text = f.read()
        keys, section = set(), None
        for line in text.splitlines():
            m = re.match(r"^\[(\w+)\]", line)
            if m:
                section = m.group(1)
            m = re.match(r"^#?\s*(\w+)\s*=", line)
            if m and section:
                keys.add("SHARDHOSE_%s_%s" % (section.upper(), m.group(1).upper()))
        cli = {"SHARDHOSE_CONFIG", "SHARDHOSE_LOG_LEVEL", "SHARDHOSE_LOG_FORMAT"}
        for name in self.env:
            if name.startswith("SHARDHOSE_") and name not in cli:
                self.assertIn(name, keys, "%s is not a configuration key" % name)


if __name__ == "__main__":
    unittest.main()
