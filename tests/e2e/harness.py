"""End-to-end test harness for shardhose (Python 3 standard library only).

What is here:
  free_port()         a TCP port nobody listens on right now.
  Emulators           context manager: kinesis-local + s3rver on free ports in
                      a temp dir, waited for, killed (whole process groups) on
                      exit; their logs are files, tail() shows them.
  KinesisClient       the few Kinesis JSON-protocol calls the tests need.
  DynamoDbLocal       context manager: AWS's DynamoDB Local (a jar, Java 17;
                      tests/emulators/dynamodb-local.lock) in memory on a free
                      port, waited for, killed (process group) on exit.
                      test_control=True: the same jar with its test control
                      on (stream shard rollover; dynamodb/TestControlServer.java).
  DynamoDbClient      the few DynamoDB JSON 1.0 calls the tests need (items in
                      the wire form, {"attr": {"S": "..."}}); streams() calls
                      the DynamoDB Streams API on the same endpoint.
  S3Client            ListObjectsV2 (paged) and GetObject/PutObject, path-style.
  ChangeRecordGenerator
                      realistic DynamoDB change records ("Kinesis Data Streams
                      for DynamoDB" shape) plus malformed ones.
  unmarshal_*         the reference unmarshalling the engine's output is
                      compared with.
  Shardhose           writes a TOML config and runs the binary (SHARDHOSE_BIN).
  Verifier helpers    download every object under a prefix, check gzip, split
                      lines, parse JSON, index by event id.

Environment:
  SHARDHOSE_BIN           the daemon (CTest sets it); default build/daemon/shardhose.
  SHARDHOSE_E2E_KEEP=1    keep temp dirs (emulator data, logs, configs) after a run.
  SHARDHOSE_E2E_EMULATORS the tests/emulators dir (default: next to this file).
"""

import base64
import contextlib
import datetime as _dt
import gzip
import hashlib
import http.client
import io
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
import xml.etree.ElementTree as ET
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
EMULATORS_DIR = os.environ.get("SHARDHOSE_E2E_EMULATORS", os.path.join(REPO_ROOT, "tests", "emulators"))
KEEP = os.environ.get("SHARDHOSE_E2E_KEEP") == "1"

BUCKET = "lake"
ACCESS_KEY = "S3RVER"
SECRET_KEY = "S3RVER"
REGION = "us-east-1"


def log(msg):
    sys.stderr.write("[e2e %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


# --------------------------------------------------------------------------
# Ports and processes
# --------------------------------------------------------------------------

def free_port():
    """A port that was free a moment ago (bind to 0, read it, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(path, max_bytes=6000):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - max_bytes))
            data = f.read()
        return data.decode("utf-8", "replace")
    except OSError as e:
        return "<cannot read %s: %s>" % (path, e)


def kill_group(proc, timeout=10.0):
    """SIGTERM the process group of `proc`, then SIGKILL what is left."""
    if proc is None:
        return
    try:
        pgid = os.getpgid(proc.pid)
    except ProcessLookupError:
        pgid = None
    if pgid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass
    if pgid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=timeout)


def amz_date():
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())


def fake_auth(service, access_key="AKID"):
    day = time.strftime("%Y%m%d", time.gmtime())
    return ("AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, "
            "SignedHeaders=host;x-amz-date, Signature=%s" % (access_key, day, REGION, service, "0" * 64))


class AwsError(Exception):
    def __init__(self, status, body, op=""):
        super().__init__("%s: HTTP %s: %s" % (op, status, body[:500]))
        self.status = status
        self.body = body
        self.code = ""  # the AWS error code, where the client parses it (DynamoDbClient)


# --------------------------------------------------------------------------
# Kinesis (JSON 1.1 protocol)
# --------------------------------------------------------------------------

class KinesisClient:
    """Minimal Kinesis client for kinesis-local. Signatures are not checked by
    the emulator, but Authorization and X-Amz-Date must be present."""

    MAX_BATCH_RECORDS = 500
    MAX_BATCH_BYTES = 5 * 1024 * 1024

    def __init__(self, port, host="127.0.0.1", timeout=60):
        self.host, self.port, self.timeout = host, port, timeout
        self._local = threading.local()

    def _conn(self):
        c = getattr(self._local, "conn", None)
        if c is None:
            c = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self._local.conn = c
        return c

    def call(self, op, body, retries=3):
        payload = json.dumps(body).encode()
        headers = {
            "X-Amz-Target": "Kinesis_20131202." + op,
            "Content-Type": "application/x-amz-json-1.1",
            "Authorization": fake_auth("kinesis"),
            "X-Amz-Date": amz_date(),
        }
        last = None
        for attempt in range(retries):
            try:
                c = self._conn()
                c.request("POST", "/", body=payload, headers=headers)
                resp = c.getresponse()
                data = resp.read()
            except (OSError, http.client.HTTPException) as e:
                last = e
                self._local.conn = None
                time.sleep(0.2 * (attempt + 1))
                continue
            if resp.status != 200:
                raise AwsError(resp.status, data.decode("utf-8", "replace"), op)
            return json.loads(data) if data else {}
        raise last

    # --- control plane
    def create_stream(self, name, shards):
        self.call("CreateStream", {"StreamName": name, "ShardCount": shards})
        self.wait_active(name)

    def describe_stream_summary(self, name):
        return self.call("DescribeStreamSummary", {"StreamName": name})["StreamDescriptionSummary"]

    def wait_active(self, name, timeout=60):
        deadline = time.time() + timeout
        while True:
            try:
                if self.describe_stream_summary(name)["StreamStatus"] == "ACTIVE":
                    return
            except AwsError:
                pass
            if time.time() > deadline:
                raise TimeoutError("stream %s not ACTIVE after %ss" % (name, timeout))
            time.sleep(0.25)

    def list_shards(self, name):
        shards, token = [], None
        while True:
            body = {"NextToken": token} if token else {"StreamName": name}
            r = self.call("ListShards", body)
            shards.extend(r.get("Shards", []))
            token = r.get("NextToken")
            if not token:
                return shards

    def split_shard(self, name, shard_id, new_starting_hash_key):
        self.call("SplitShard", {"StreamName": name, "ShardToSplit": shard_id,
                                 "NewStartingHashKey": str(new_starting_hash_key)})
        self.wait_active(name)

    def merge_shards(self, name, shard_id, adjacent_shard_id):
        self.call("MergeShards", {"StreamName": name, "ShardToMerge": shard_id,
                                  "AdjacentShardToMerge": adjacent_shard_id})
        self.wait_active(name)

    def update_shard_count(self, name, target):
        """UNIFORM_SCALING to `target` open shards (kinesis-local splits or
        merges every open shard); waits until the stream is ACTIVE again."""
        self.call("UpdateShardCount", {"StreamName": name, "TargetShardCount": target,
                                       "ScalingType": "UNIFORM_SCALING"})
        self.wait_active(name)

    def open_shards(self, name):
        """The open shards (no EndingSequenceNumber), in hash key order, so
        that neighbours in the list are adjacent (MergeShards needs that)."""
        shards = [s for s in self.list_shards(name)
                  if not s.get("SequenceNumberRange", {}).get("EndingSequenceNumber")]
        return sorted(shards, key=lambda s: int(s["HashKeyRange"]["StartingHashKey"]))

    @staticmethod
    def parents(shards):
        """{shard_id: [parent ids]} (ParentShardId, AdjacentParentShardId)
        from a ListShards answer."""
        return {s["ShardId"]: [p for p in (s.get("ParentShardId"), s.get("AdjacentParentShardId")) if p]
                for s in shards}

    # --- data plane
    def put_records(self, name, records):
        """records: list of (partition_key, data_bytes). Sends batches of at
        most 500 records / 5 MB, retrying failed entries. Returns, in input
        order, a list of {"ShardId", "SequenceNumber"}."""
        results = [None] * len(records)
        pending = list(range(len(records)))
        for _round in range(20):
            if not pending:
                return results
            failed = []
            for batch in self._batches(records, pending):
                entries = [{"PartitionKey": records[i][0],
                            "Data": base64.b64encode(records[i][1]).decode()} for i in batch]
                r = self.call("PutRecords", {"StreamName": name, "Records": entries})
                for i, res in zip(batch, r["Records"]):
                    if res.get("ErrorCode"):
                        failed.append(i)
                    else:
                        results[i] = {"ShardId": res["ShardId"], "SequenceNumber": res["SequenceNumber"]}
            pending = failed
            if pending:
                time.sleep(0.5)
        raise RuntimeError("PutRecords: %d records still failing" % len(pending))

    def close(self):
        """Closes the calling thread's connection."""
        c = getattr(self._local, "conn", None)
        if c is not None:
            c.close()
            self._local.conn = None

    def _batches(self, records, indexes):
        batch, size = [], 0
        for i in indexes:
            pk, data = records[i]
            n = len(pk.encode()) + len(data)
            if batch and (len(batch) >= self.MAX_BATCH_RECORDS or size + n > self.MAX_BATCH_BYTES):
                yield batch
                batch, size = [], 0
            batch.append(i)
            size += n
        if batch:
            yield batch

    def get_shard_iterator(self, name, shard_id, iterator_type="TRIM_HORIZON", sequence=None):
        body = {"StreamName": name, "ShardId": shard_id, "ShardIteratorType": iterator_type}
        if sequence:
            body["StartingSequenceNumber"] = sequence
        return self.call("GetShardIterator", body)["ShardIterator"]

    def read_all(self, name, shard_id, max_empty=2):
        """Every record of a shard (Data decoded to bytes), until `max_empty`
        consecutive empty GetRecords answers."""
        it = self.get_shard_iterator(name, shard_id)
        out, empty = [], 0
        while it and empty < max_empty:
            r = self.call("GetRecords", {"ShardIterator": it, "Limit": 10000})
            recs = r.get("Records", [])
            for rec in recs:
                out.append({"SequenceNumber": rec["SequenceNumber"], "PartitionKey": rec["PartitionKey"],
                            "Data": base64.b64decode(rec["Data"])})
            empty = 0 if recs else empty + 1
            it = r.get("NextShardIterator")
        return out


# --------------------------------------------------------------------------
# S3 (path-style, s3rver)
# --------------------------------------------------------------------------

# The namespace of S3's XML answers is S3's own,
# http://s3.amazonaws.com/doc/2006-03-01/ (moto); s3rver writes another.
# Parsers take it from the root element.


class S3Client:
    def __init__(self, port, host="127.0.0.1", bucket=BUCKET, timeout=60):
        self.host, self.port, self.bucket, self.timeout = host, port, bucket, timeout

    def _request(self, method, path, body=None, query=None):
        url = "/" + self.bucket + "/" + urllib.parse.quote(path, safe="/-_.~=")
        if query:
            url += "?" + urllib.parse.urlencode(query)
        headers = {
            "Authorization": fake_auth("s3", ACCESS_KEY),
            "X-Amz-Date": amz_date(),
            "x-amz-content-sha256": hashlib.sha256(body or b"").hexdigest(),
        }
        c = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            c.request(method, url, body=body, headers=headers)
            resp = c.getresponse()
            return resp.status, resp.read()
        finally:
            c.close()

    def list_objects(self, prefix="", page_size=1000, probes=False):
        """[(key, size)] for every object under prefix, following
        continuation tokens (ListObjectsV2). The daemon's start-up probe
        object (<prefix>_shardhose_probe) is left out unless `probes`."""
        out, token = [], None
        while True:
            q = {"list-type": "2", "prefix": prefix, "max-keys": str(page_size)}
            if token:
                q["continuation-token"] = token
            # s3rver answers 500 when it lists an object whose PUT is still
            # being written (its metadata file is not there yet): retry.
            for attempt in range(10):
                status, data = self._request("GET", "", query=q)
                if status < 500:
                    break
                time.sleep(0.2)
            if status != 200:
                raise AwsError(status, data.decode("utf-8", "replace"), "ListObjectsV2")
            root = ET.fromstring(data)
            ns = root.tag[:root.tag.index("}") + 1] if root.tag.startswith("{") else ""
            for c in root.findall(ns + "Contents"):
                key = c.find(ns + "Key").text
                if probes or key.rsplit("/", 1)[-1] != "_shardhose_probe":
                    out.append((key, int(c.find(ns + "Size").text)))
            truncated = (root.findtext(ns + "IsTruncated") or "false") == "true"
            token = root.findtext(ns + "NextContinuationToken")
            if not truncated:
                return out
            if not token:
                raise AssertionError("ListObjectsV2 truncated without NextContinuationToken")

    def get_object(self, key):
        # s3rver's PUT is not atomic: a GET while it writes may announce the
        # whole object's Content-Length and send fewer bytes (IncompleteRead).
        # Wait for the bytes (S3 itself makes an object visible whole).
        for attempt in range(50):
            try:
                status, data = self._request("GET", key)
                break
            except http.client.IncompleteRead:
                if attempt == 49:
                    raise
                time.sleep(0.1)
        if status != 200:
            raise AwsError(status, data.decode("utf-8", "replace"), "GetObject " + key)
        return data

    def put_object(self, key, body):
        status, data = self._request("PUT", key, body=body)
        if status != 200:
            raise AwsError(status, data.decode("utf-8", "replace"), "PutObject " + key)

    def ready(self):
        try:
            status, _ = self._request("GET", "", query={"list-type": "2", "max-keys": "1"})
            return status == 200
        except OSError:
            return False


# --------------------------------------------------------------------------
# Emulators
# --------------------------------------------------------------------------

class EmulatorError(RuntimeError):
    pass


class Emulators:
    """kinesis-local + s3rver on free ports, data and logs in a temp dir.

        with Emulators(streams={"orders": 4}) as emu:
            emu.kinesis.put_records(...); emu.s3.list_objects(...)
            emu.kinesis_url, emu.s3_url, emu.workdir
    """

    def __init__(self, streams=None, start_timeout=90, workdir=None, kinesis_env=None, ports=None):
        self.streams = dict(streams or {})
        self.ports = ports  # (kinesis, s3) to use instead of free ones (scripts/emulators.sh)
        self.kinesis_env = dict(kinesis_env or {})  # e.g. {"MERGE_SHARDS_DURATION": "4s"}
        self.start_timeout = start_timeout
        self.workdir = workdir
        self._own_workdir = workdir is None
        self.kinesis_proc = self.s3_proc = None

    # -- lifecycle
    def __enter__(self):
        if self.workdir is None:
            self.workdir = tempfile.mkdtemp(prefix="shardhose-e2e-")
        os.makedirs(self.workdir, exist_ok=True)
        self.kinesis_log = os.path.join(self.workdir, "kinesis-local.log")
        self.s3_log = os.path.join(self.workdir, "s3rver.log")
        try:
            self._check_installed()
            for attempt in range(3):
                try:
                    self._start()
                    break
                except EmulatorError:
                    self._stop()
                    if attempt == 2 or self.ports:
                        raise
                    log("emulators did not start; retrying on other ports")
        except BaseException:
            self._stop()
            sys.stderr.write(self.logs())
            self._cleanup()
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        self._stop()
        if exc_type is not None:
            sys.stderr.write(self.logs())
        self._cleanup()
        return False

    def _cleanup(self):
        if self._own_workdir and not KEEP:
            shutil.rmtree(self.workdir, ignore_errors=True)
        elif KEEP:
            log("kept %s" % self.workdir)

    def logs(self):
        return ("\n----- kinesis-local log (%s) -----\n%s\n----- s3rver log (%s) -----\n%s\n"
                % (self.kinesis_log, tail(self.kinesis_log), self.s3_log, tail(self.s3_log)))

    def _check_installed(self):
        for rel in ("node_modules/kinesis-local/main.js", "node_modules/s3rver/bin/s3rver.js"):
            if not os.path.exists(os.path.join(EMULATORS_DIR, rel)):
                raise EmulatorError("%s missing: run scripts/install-deps.sh (npm ci in tests/emulators)"
                                    % os.path.join(EMULATORS_DIR, rel))
        if shutil.which("node") is None:
            raise EmulatorError("node not found: run scripts/install-deps.sh")

    def _start(self):
        self.kinesis_port, tls_port, self.s3_port = free_port(), free_port(), free_port()
        if self.ports:
            self.kinesis_port, self.s3_port = self.ports
        while len({self.kinesis_port, tls_port, self.s3_port}) < 3:
            tls_port = free_port()
            if not self.ports:
                self.s3_port = free_port()
        env = dict(os.environ)
        env.update({
            "KINESIS_MOCK_PLAIN_PORT": str(self.kinesis_port),
            "KINESIS_MOCK_TLS_PORT": str(tls_port),
            "LOG_LEVEL": os.environ.get("KINESIS_MOCK_LOG_LEVEL", "WARN"),
            "AWS_REGION": REGION,
        })
        env.update(self.kinesis_env)
        if self.streams:
            env["INITIALIZE_STREAMS"] = ",".join("%s:%d" % kv for kv in self.streams.items())
        kdir = os.path.join(EMULATORS_DIR, "node_modules", "kinesis-local")
        with open(self.kinesis_log, "ab") as lf:
            self.kinesis_proc = subprocess.Popen(["node", "main.js"], cwd=kdir, env=env, stdout=lf,
                                                 stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                                 start_new_session=True)
        s3dir = os.path.join(self.workdir, "s3rver-data")
        os.makedirs(s3dir, exist_ok=True)
        with open(self.s3_log, "ab") as lf:
            self.s3_proc = subprocess.Popen(
                ["node", "--openssl-legacy-provider", os.path.join("node_modules", "s3rver", "bin", "s3rver.js"),
                 "-d", s3dir, "-p", str(self.s3_port), "-a", "127.0.0.1", "--configure-bucket", BUCKET],
                cwd=EMULATORS_DIR, stdout=lf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
        self.kinesis = KinesisClient(self.kinesis_port)
        self.s3 = S3Client(self.s3_port)
        deadline = time.time() + self.start_timeout
        k_ready = s_ready = False
        while not (k_ready and s_ready):
            for name, p in (("kinesis-local", self.kinesis_proc), ("s3rver", self.s3_proc)):
                if p.poll() is not None:
                    raise EmulatorError("%s exited with %s during startup" % (name, p.returncode))
            if time.time() > deadline:
                raise EmulatorError("emulators not ready after %ss (kinesis=%s s3=%s)"
                                    % (self.start_timeout, k_ready, s_ready))
            if not s_ready:
                s_ready = self.s3.ready()
            if not k_ready:
                k_ready = self._kinesis_ready()
            if not (k_ready and s_ready):
                time.sleep(0.3)

    def _kinesis_ready(self):
        try:
            self.kinesis.call("ListStreams", {}, retries=1)
            for name in self.streams:
                if self.kinesis.describe_stream_summary(name)["StreamStatus"] != "ACTIVE":
                    return False
            return True
        except (OSError, AwsError, http.client.HTTPException, KeyError, ValueError):
            self.kinesis._local.conn = None
            return False

    def _stop(self):
        if getattr(self, "kinesis", None) is not None:
            self.kinesis.close()
        for p in (self.kinesis_proc, self.s3_proc):
            kill_group(p)
        self.kinesis_proc = self.s3_proc = None

    @property
    def kinesis_url(self):
        return "http://127.0.0.1:%d" % self.kinesis_port

    @property
    def s3_url(self):
        return "http://127.0.0.1:%d" % self.s3_port


class MotoS3:
    """moto's S3, single-threaded (moto_s3.py), with the bucket BUCKET; for
    what s3rver does not do (conditional writes). `available()` says whether
    moto is installed (scripts/install-deps.sh installs it with pip).

        with MotoS3(workdir) as moto:
            moto.url, moto.s3 (an S3Client)
    """

    def __init__(self, workdir, start_timeout=60):
        self.workdir, self.start_timeout, self.proc = workdir, start_timeout, None

    @staticmethod
    def available():
        try:
            import moto.server  # noqa: F401
            import werkzeug  # noqa: F401
            return True
        except ImportError:
            return False

    def __enter__(self):
        self.port = free_port()
        self.log_path = os.path.join(self.workdir, "moto.log")
        with open(self.log_path, "ab") as lf:
            self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "moto_s3.py"), str(self.port)],
                                         stdout=lf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True)
        self.s3 = S3Client(self.port)
        deadline = time.time() + self.start_timeout
        while True:
            if self.proc.poll() is not None:
                raise EmulatorError("moto exited with %s\n%s" % (self.proc.returncode, tail(self.log_path)))
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                c.request("PUT", "/" + BUCKET)
                status = c.getresponse().status
                c.close()
                if status == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                raise EmulatorError("moto not ready after %ss\n%s" % (self.start_timeout, tail(self.log_path)))
            time.sleep(0.2)
        return self

    def __exit__(self, *exc):
        kill_group(self.proc)
        return False

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port


# --------------------------------------------------------------------------
# DynamoDB (the lease table): DynamoDB Local and a JSON 1.0 client
# --------------------------------------------------------------------------

DYNAMODB_LOCAL_DIR = os.path.join(EMULATORS_DIR, "dynamodb-local")


class DynamoDbClient:
    """Minimal DynamoDB client (JSON 1.0 protocol) for DynamoDB Local, which
    does not check signatures but wants an Authorization header. Items are
    in the wire form: {"leaseKey": {"S": "shardId-0"}, ...}. Errors raise
    AwsError with `.code` (the __type after '#')."""

    def __init__(self, port, host="127.0.0.1", timeout=60):
        self.host, self.port, self.timeout = host, port, timeout
        self._local = threading.local()

    def call(self, op, body, api="DynamoDB_20120810"):
        """`api` "DynamoDBStreams_20120810": the Streams API (DynamoDB Local
        serves it on the same port); streams() says so shorter."""
        payload = json.dumps(body).encode()
        headers = {
            "X-Amz-Target": api + "." + op,
            "Content-Type": "application/x-amz-json-1.0",
            "Authorization": fake_auth("dynamodb"),
            "X-Amz-Date": amz_date(),
        }
        # A kept-alive connection the server closed while idle fails at once
        # (RemoteDisconnected, BrokenPipe, reset): that request never reached
        # the server, so it is sent once more on a new connection.
        for attempt in (0, 1):
            c = getattr(self._local, "conn", None)
            reused = c is not None
            if c is None:
                c = self._local.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                c.request("POST", "/", body=payload, headers=headers)
                resp = c.getresponse()
                data = resp.read()
                break
            except (OSError, http.client.HTTPException) as e:
                self._local.conn = None
                c.close()
                stale = isinstance(e, (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError))
                if not (reused and stale and attempt == 0):
                    raise
        if resp.status != 200:
            err = AwsError(resp.status, data.decode("utf-8", "replace"), op)
            try:
                err.code = json.loads(data).get("__type", "").rsplit("#", 1)[-1]
            except ValueError:
                err.code = ""
            raise err
        return json.loads(data) if data else {}

    def streams(self, op, body):
        """A DynamoDB Streams call (DescribeStream, GetShardIterator, ...)."""
        return self.call(op, body, api="DynamoDBStreams_20120810")

    def list_tables(self):
        return self.call("ListTables", {}).get("TableNames", [])

    def create_table(self, name, hash_key, wait=True):
        self.call("CreateTable", {
            "TableName": name,
            "AttributeDefinitions": [{"AttributeName": hash_key, "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": hash_key, "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST"})
        if wait:
            wait_for(lambda: self.describe_table(name)["TableStatus"] == "ACTIVE", 60, interval=0.2,
                     what="table %s ACTIVE" % name)

    def describe_table(self, name):
        return self.call("DescribeTable", {"TableName": name})["Table"]

    def scan(self, name, consistent=True, limit=None):
        """Every item (all pages)."""
        items, body = [], {"TableName": name, "ConsistentRead": consistent}
        if limit:
            body["Limit"] = limit
        while True:
            page = self.call("Scan", body)
            items.extend(page.get("Items", []))
            if not page.get("LastEvaluatedKey"):
                return items
            body["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def get_item(self, name, key, consistent=True):
        """The item, or None."""
        return self.call("GetItem", {"TableName": name, "Key": key, "ConsistentRead": consistent}).get("Item")

    @staticmethod
    def _expr(body, condition, names, values):
        if condition:
            body["ConditionExpression"] = condition
        if names:
            body["ExpressionAttributeNames"] = names
        if values:
            body["ExpressionAttributeValues"] = values
        return body

    def put_item(self, name, item, condition=None, names=None, values=None):
        self.call("PutItem", self._expr({"TableName": name, "Item": item}, condition, names, values))

    def update_item(self, name, key, update, condition=None, names=None, values=None):
        """The item as now stored (ReturnValues ALL_NEW)."""
        body = self._expr({"TableName": name, "Key": key, "UpdateExpression": update, "ReturnValues": "ALL_NEW"},
                          condition, names, values)
        return self.call("UpdateItem", body).get("Attributes", {})

    def close(self):
        c = getattr(self._local, "conn", None)
        if c is not None:
            c.close()
            self._local.conn = None


class DynamoDbLocal:
    """AWS's DynamoDB Local (DynamoDBLocal.jar, installed into
    tests/emulators/dynamodb-local/ by scripts/install-deps.sh) in memory on a
    free port. -sharedDb: one database whatever the region and credentials a
    client signs with, so the C++ client and DynamoDbClient see the same
    tables. -disableTelemetry: nothing leaves the machine.

        with DynamoDbLocal(workdir) as ddb:
            ddb.url, ddb.client (a DynamoDbClient), ddb.tail()
    """

    JVM_OPTIONS = ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"]  # starts faster; the tests are short

    def __init__(self, workdir, start_timeout=90, test_control=False):
        self.workdir, self.start_timeout, self.proc = workdir, start_timeout, None
        # test_control: the same jar started by dynamodb/TestControlServer.java
        # (compiled here with javac), which takes test_control() calls.
        self.test_control_on = test_control
        self.log_path = os.path.join(workdir, "dynamodb-local.log")
        self.started_in = None  # seconds until it answered

    @staticmethod
    def missing(test_control=False):
        """Why it cannot run here, or None."""
        if not os.path.exists(os.path.join(DYNAMODB_LOCAL_DIR, "DynamoDBLocal.jar")):
            return ("%s missing: run scripts/install-deps.sh (DynamoDB Local, tests/emulators/dynamodb-local.lock)"
                    % os.path.join(DYNAMODB_LOCAL_DIR, "DynamoDBLocal.jar"))
        if shutil.which("java") is None:
            return "java not found: run scripts/install-deps.sh (openjdk-17-jdk-headless)"
        if test_control and shutil.which("javac") is None:
            return "javac not found: run scripts/install-deps.sh (openjdk-17-jdk-headless)"
        return None

    def __enter__(self):
        why = self.missing(self.test_control_on)
        if why:
            raise EmulatorError(why)
        try:
            if self.test_control_on:
                self._compile_test_control()
            for attempt in range(3):
                try:
                    self._start()
                    return self
                except EmulatorError:
                    kill_group(self.proc)
                    self.proc = None
                    if attempt == 2:
                        raise
                    log("DynamoDB Local did not start; retrying on another port")
        except BaseException:
            kill_group(self.proc)
            sys.stderr.write("\n----- DynamoDB Local log (%s) -----\n%s\n" % (self.log_path, self.tail()))
            raise

    def _compile_test_control(self):
        self.classes = os.path.join(self.workdir, "test-control-classes")
        os.makedirs(self.classes, exist_ok=True)
        cmd = ["javac", "-nowarn", "-cp", os.path.join(DYNAMODB_LOCAL_DIR, "DynamoDBLocal.jar"), "-d", self.classes,
               os.path.join(HERE, "dynamodb", "TestControlServer.java")]
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        if p.returncode != 0:
            raise EmulatorError("%s failed:\n%s" % (" ".join(cmd), p.stdout.decode("utf-8", "replace")))

    def _start(self):
        self.port = free_port()
        t0 = time.time()
        jar = os.path.join(DYNAMODB_LOCAL_DIR, "DynamoDBLocal.jar")
        cmd = ["java"] + self.JVM_OPTIONS + ["-Djava.library.path=" + os.path.join(DYNAMODB_LOCAL_DIR, "DynamoDBLocal_lib")]
        if self.test_control_on:
            cmd += ["-cp", self.classes + os.pathsep + jar, "TestControlServer", str(self.port)]
        else:
            cmd += ["-jar", jar, "-inMemory", "-sharedDb", "-disableTelemetry", "-port", str(self.port)]
        with open(self.log_path, "ab") as lf:
            self.proc = subprocess.Popen(
                cmd, cwd=DYNAMODB_LOCAL_DIR, stdout=lf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
        self.client = DynamoDbClient(self.port, timeout=10)
        deadline = t0 + self.start_timeout
        while True:
            if self.proc.poll() is not None:
                raise EmulatorError("DynamoDB Local exited with %s during startup" % self.proc.returncode)
            try:
                self.client.list_tables()
                break
            except (OSError, AwsError, http.client.HTTPException, ValueError):
                pass
            if time.time() > deadline:
                raise EmulatorError("DynamoDB Local not ready after %ss" % self.start_timeout)
            time.sleep(0.1)
        self.started_in = time.time() - t0
        log("DynamoDB Local answered on port %d after %.1f s" % (self.port, self.started_in))

    def __exit__(self, exc_type, exc, tb):
        if getattr(self, "client", None) is not None:
            self.client.close()
        kill_group(self.proc)
        self.proc = None
        if exc_type is not None:
            sys.stderr.write("\n----- DynamoDB Local log (%s) -----\n%s\n" % (self.log_path, self.tail()))
        return False

    def tail(self):
        return tail(self.log_path)

    def test_control(self, action, **params):
        """test_control=True only: "ROLLOVER" closes every open stream shard;
        "DILATE_TIME", HOURS="25" ages every stream record by 25 hours."""
        item = {"ACTION": {"S": action}}
        item.update({k: {"S": str(v)} for k, v in params.items()})
        self.client.put_item("[TEST_CONTROL]", item)

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port


# --------------------------------------------------------------------------
# DynamoDB change records
# --------------------------------------------------------------------------

FIXED_DAY = _dt.datetime(2024, 5, 20, tzinfo=_dt.timezone.utc)
TTL_IDENTITY = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}

UNICODE_SAMPLES = [
    "café", "naïve façade", "Grüße aus Köln", "日本語のテキスト", "中文字符", "한국어",
    "emoji 🚀🔥👩‍💻", "RTL עברית العربية", "math ∑∫√∞", "combining e\u0301", "zero\u200bwidth",
    "line\nbreak", "tab\tand \"quotes\" and \\backslash", "sep\u2028\u2029", "ctl\u0001\u001f",
    "", "   ", "<html>&amp;</html>", "null", "123",
]

NUMBER_SAMPLES = [
    "0", "1", "-1", "42", "3.14159", "-0.5", "0.001", "100", "99999999999999999999",
    "12345678901234567890123456789012345678",           # 38 digits
    "-98765432109876543210987654321098765432",          # 38 digits, negative
    "1234567890123456789.0123456789012345678",          # 38 significant digits
    "0.00000000000000000000000000000000000001",
    "9007199254740993",                                  # 2^53 + 1: not exact as double
    "18446744073709551617",                              # 2^64 + 1
]


def ddb_number(rng):
    if rng.random() < 0.4:
        return rng.choice(NUMBER_SAMPLES)
    if rng.random() < 0.5:
        return str(rng.randint(-10**6, 10**12))
    return "%d.%02d" % (rng.randint(0, 100000), rng.randint(1, 99))


def ddb_binary(rng, n=None):
    n = rng.randint(1, 48) if n is None else n
    return base64.b64encode(bytes(rng.getrandbits(8) for _ in range(n))).decode()


def ddb_string(rng):
    r = rng.random()
    if r < 0.35:
        return rng.choice(UNICODE_SAMPLES)
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789 -_") for _ in range(rng.randint(1, 24)))


def ddb_value(rng, depth=0, max_depth=3):
    """A random DynamoDB typed attribute value of any type."""
    kinds = ["S", "N", "B", "BOOL", "NULL", "SS", "NS", "BS"]
    if depth < max_depth:
        kinds += ["M", "L"]
    k = rng.choice(kinds)
    if k == "S":
        return {"S": ddb_string(rng)}
    if k == "N":
        return {"N": ddb_number(rng)}
    if k == "B":
        return {"B": ddb_binary(rng)}
    if k == "BOOL":
        return {"BOOL": rng.random() < 0.5}
    if k == "NULL":
        return {"NULL": True}
    if k == "SS":
        return {"SS": sorted({ddb_string(rng) + str(i) for i in range(rng.randint(1, 4))})}
    if k == "NS":
        return {"NS": sorted({ddb_number(rng) for _ in range(rng.randint(1, 4))})}
    if k == "BS":
        return {"BS": sorted({ddb_binary(rng) for _ in range(rng.randint(1, 3))})}
    if k == "M":
        return {"M": {"f%d_%s" % (i, ddb_string(rng)[:6]): ddb_value(rng, depth + 1, max_depth)
                      for i in range(rng.randint(0, 4))}}
    return {"L": [ddb_value(rng, depth + 1, max_depth) for _ in range(rng.randint(0, 4))]}


def all_types_map(rng):
    """One attribute of every type, nested types included."""
    return {
        "s": {"S": "ünïcödé 🚀 " + ddb_string(rng)}, "n": {"N": rng.choice(NUMBER_SAMPLES)},
        "b": {"B": ddb_binary(rng)}, "bool_t": {"BOOL": True}, "bool_f": {"BOOL": False},
        "nul": {"NULL": True}, "ss": {"SS": ["a", "b", "ç"]}, "ns": {"NS": ["1", "-2.5", NUMBER_SAMPLES[9]]},
        "bs": {"BS": [ddb_binary(rng, 3), ddb_binary(rng, 5)]},
        "m": {"M": {"inner": {"L": [{"N": "1"}, {"S": "x"}, {"M": {"deep": {"NULL": True}}}]},
                    "empty_m": {"M": {}}, "empty_l": {"L": []}}},
        "l": {"L": [{"BOOL": False}, {"NS": ["7"]}, {"L": [{"B": ddb_binary(rng, 2)}]}]},
    }


def nested(depth, leaf):
    v = leaf
    for i in range(depth):
        v = {"M": {"level%d" % i: v}} if i % 2 == 0 else {"L": [v]}
    return v


TABLES = {
    # table -> (key schema builder)
    "orders": lambda rng, i: {"pk": {"S": "customer#%05d" % rng.randint(0, 9999)}, "sk": {"N": str(i)}},
    "user-sessions": lambda rng, i: {"session_id": {"S": str(uuid.UUID(int=rng.getrandbits(128)))}},
}


class ChangeRecordGenerator:
    """Deterministic (seeded) DynamoDB change records.

    Every record is a dict; `encode(rec)` gives the bytes put on the stream.
    Event times are spread over hours of FIXED_DAY (plus a few minutes of
    the day before, so two dt= partitions appear)."""

    def __init__(self, seed=1, hours=(8, 14), tables=("orders", "user-sessions")):
        self.rng = random.Random(seed)
        self.hours = hours
        self.tables = list(tables)
        self.counter = 0

    def event_time_ms(self):
        rng = self.rng
        if rng.random() < 0.03:  # late evening of the previous day
            base = FIXED_DAY - _dt.timedelta(minutes=30)
            return int(base.timestamp() * 1000) + rng.randint(0, 30 * 60 * 1000 - 1)
        h0, h1 = self.hours
        base = FIXED_DAY + _dt.timedelta(hours=h0)
        return int(base.timestamp() * 1000) + rng.randint(0, (h1 - h0) * 3600 * 1000 - 1)

    def image(self, keys, n_attrs=None):
        rng = self.rng
        img = dict(keys)
        n_attrs = rng.randint(1, 6) if n_attrs is None else n_attrs
        for i in range(n_attrs):
            if n_attrs >= 1000:  # wide items: mostly small scalars
                img["attr_%04d" % i] = ddb_value(rng, max_depth=0) if i % 50 == 0 else \
                    rng.choice([{"S": ddb_string(rng)}, {"N": ddb_number(rng)}, {"BOOL": True}])
            else:
                img["a%d" % i] = ddb_value(rng)
        if rng.random() < 0.08:
            img["all_types"] = {"M": all_types_map(rng)}
        if rng.random() < 0.02:
            img["deep"] = nested(30, {"S": "bottom"})
        return img

    def record(self, event_name=None, table=None, wide=False, big=False, ttl=False, event_time_ms=None):
        rng = self.rng
        self.counter += 1
        table = table or rng.choice(self.tables)
        if ttl:
            event_name = "REMOVE"
        event_name = event_name or rng.choice(["INSERT", "INSERT", "MODIFY", "MODIFY", "REMOVE"])
        keys = TABLES[table](rng, self.counter)
        n_attrs = 1000 if wide else None
        new = old = None
        if event_name in ("INSERT", "MODIFY"):
            new = self.image(keys, n_attrs)
        if event_name in ("MODIFY", "REMOVE"):
            old = self.image(keys, n_attrs if event_name == "REMOVE" else None)
        if big:
            # ~400 KB item (DynamoDB's item size limit): a large string and a large binary.
            target = new if new is not None else old
            target["payload"] = {"S": ("Blob of text ✓ ünïcode " * 14000)[:300000]}
            target["blob"] = {"B": ddb_binary(rng, 75000)}
        ddb = {
            "ApproximateCreationDateTime": event_time_ms if event_time_ms is not None else self.event_time_ms(),
            "ApproximateCreationDateTimePrecision": "MILLISECOND",
            "Keys": keys,
        }
        if new is not None:
            ddb["NewImage"] = new
        if old is not None:
            ddb["OldImage"] = old
        rec = {
            "awsRegion": REGION,
            "eventID": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "eventName": event_name,
            "userIdentity": TTL_IDENTITY if ttl else None,
            "recordFormat": "application/json",
            "tableName": table,
            "dynamodb": ddb,
            "eventSource": "aws:dynamodb",
        }
        ddb["SizeBytes"] = len(json.dumps(ddb.get("NewImage") or ddb.get("OldImage") or {}))
        return rec

    def batch(self, n, wide=0, big=0, ttl=None):
        """n records: `wide` with 1,000 attributes, `big` ~400 KB ones, some
        TTL deletes, every event kind; shuffled."""
        ttl = max(1, n // 100) if ttl is None else ttl
        recs = [self.record(wide=True, event_name=["INSERT", "MODIFY", "REMOVE"][i % 3]) for i in range(wide)]
        recs += [self.record(big=True, event_name="INSERT") for _ in range(big)]
        recs += [self.record(ttl=True) for _ in range(ttl)]
        for kind in ("INSERT", "MODIFY", "REMOVE"):
            for table in self.tables:
                recs.append(self.record(event_name=kind, table=table))
        while len(recs) < n:
            recs.append(self.record())
        self.rng.shuffle(recs)
        return recs

    def malformed(self):
        """[(reason, bytes)]: records the engine must route to errors/."""
        good = self.record(event_name="INSERT", table="orders")
        bad_n = json.loads(json.dumps(good))
        bad_n["dynamodb"]["NewImage"]["price"] = {"N": "twelve"}
        bad_key = json.loads(json.dumps(good))
        bad_key["eventID"] = str(uuid.uuid4())
        bad_key["dynamodb"]["Keys"]["sk"] = {"N": "1.2.3"}
        bad_key["dynamodb"]["NewImage"]["sk"] = {"N": "1.2.3"}
        no_ddb = json.loads(json.dumps(good))
        del no_ddb["dynamodb"]
        no_ddb["eventID"] = str(uuid.uuid4())
        return [
            ("not_json", b"this is not json at all"),
            ("not_json", b"\xff\xfe\x00binary garbage \x80\x81"),
            ("not_json", b'{"eventID": "truncated", "dynamodb": {'),
            ("not_change_record", b'{"hello": "world"}'),
            ("not_change_record", b"[1, 2, 3]"),
            ("not_change_record", encode(no_ddb)),
            ("bad_attribute", encode(bad_n)),
            ("bad_attribute", encode(bad_key)),
        ]


def encode(rec, indent=None):
    """The bytes put on the stream for a change record."""
    if indent is None:
        return json.dumps(rec, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return json.dumps(rec, ensure_ascii=False, indent=indent).encode("utf-8")


def compact(rec):
    return json.dumps(rec, ensure_ascii=False, separators=(",", ":"))


def partition_key(rec):
    keys = rec["dynamodb"]["Keys"]
    return rec["tableName"] + "|" + json.dumps(keys, sort_keys=True)[:200]


# --------------------------------------------------------------------------
# Reference unmarshalling and strict JSON parsing
# --------------------------------------------------------------------------

class Num:
    """A JSON number kept as its exact text, distinct from a string."""
    __slots__ = ("text",)

    def __init__(self, text):
        self.text = text

    def __eq__(self, other):
        return isinstance(other, Num) and other.text == self.text

    def __hash__(self):
        return hash(("Num", self.text))

    def __repr__(self):
        return "Num(%s)" % self.text


def loads_exact(s):
    """json.loads with numbers kept as Num(exact text)."""
    return json.loads(s, parse_int=Num, parse_float=Num)


def unmarshal_value(av):
    if not isinstance(av, dict) or len(av) != 1:
        raise ValueError("not a typed value: %r" % (av,))
    (t, v), = av.items()
    if t == "S":
        return v
    if t == "N":
        return Num(v)
    if t == "B":
        return v
    if t == "BOOL":
        return v
    if t == "NULL":
        return None
    if t == "M":
        return {k: unmarshal_value(x) for k, x in v.items()}
    if t == "L":
        return [unmarshal_value(x) for x in v]
    if t == "SS":
        return list(v)
    if t == "NS":
        return [Num(x) for x in v]
    if t == "BS":
        return list(v)
    raise ValueError("unknown type %s" % t)


def unmarshal_image(img):
    return None if img is None else {k: unmarshal_value(v) for k, v in img.items()}


def iso_millis(ms):
    t = _dt.datetime.fromtimestamp(ms // 1000, tz=_dt.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (ms % 1000)


def expected_line(rec, shard_id, sequence_number):
    """The unmarshalled output line (parsed) the engine must write for rec."""
    d = rec["dynamodb"]
    return {
        "event_id": rec["eventID"],
        "event_name": rec["eventName"],
        "table": rec["tableName"],
        "event_time": iso_millis(d["ApproximateCreationDateTime"]),
        "sequence_number": sequence_number,
        "shard_id": shard_id,
        "keys": unmarshal_image(d["Keys"]),
        "new_image": unmarshal_image(d.get("NewImage")),
        "old_image": unmarshal_image(d.get("OldImage")),
        "user_identity": rec.get("userIdentity"),
    }


UNMARSHALLED_FIELDS = ["event_id", "event_name", "table", "event_time", "sequence_number", "shard_id",
                       "keys", "new_image", "old_image", "user_identity"]
ERROR_FIELDS = ["error", "message", "stream", "shard_id", "sequence_number", "partition_key",
                "arrival_time", "data_base64"]


def expected_partition(rec, table_prefix="ddb"):
    ms = rec["dynamodb"]["ApproximateCreationDateTime"]
    t = _dt.datetime.fromtimestamp(ms / 1000.0, tz=_dt.timezone.utc)
    return "%s/%s/dt=%s/hr=%s/" % (table_prefix, rec["tableName"], t.strftime("%Y-%m-%d"), t.strftime("%H"))


def canonical(value):
    """A hashable, order-insensitive-for-objects form of a parsed value."""
    if isinstance(value, dict):
        return ("{", tuple(sorted((k, canonical(v)) for k, v in value.items())))
    if isinstance(value, list):
        return ("[", tuple(canonical(v) for v in value))
    if isinstance(value, Num):
        return ("n", value.text)
    return (type(value).__name__, value)


# --------------------------------------------------------------------------
# Producing
# --------------------------------------------------------------------------

class Produced:
    """What was put on the stream: by event id, and the malformed ones."""

    def __init__(self):
        self.records = {}      # event_id -> (rec, shard_id, sequence_number, partition_key)
        self.malformed = []    # (reason, bytes, shard_id, sequence_number, partition_key)

    def __len__(self):
        return len(self.records) + len(self.malformed)


def produce(kinesis, stream, records, malformed=(), produced=None, indent=None):
    produced = produced if produced is not None else Produced()
    items = [(partition_key(r), encode(r, indent)) for r in records]
    items += [("malformed-%d-%s" % (i, reason), data) for i, (reason, data) in enumerate(malformed)]
    res = kinesis.put_records(stream, items)
    for r, (pk, _), out in zip(records, items, res):
        assert r["eventID"] not in produced.records, "generator produced a duplicate event id"
        produced.records[r["eventID"]] = (r, out["ShardId"], out["SequenceNumber"], pk)
    for (reason, data), (pk, _), out in zip(malformed, items[len(records):], res[len(records):]):
        produced.malformed.append((reason, data, out["ShardId"], out["SequenceNumber"], pk))
    return produced


# --------------------------------------------------------------------------
# The daemon
# --------------------------------------------------------------------------

def shardhose_bin():
    path = os.environ.get("SHARDHOSE_BIN") or os.path.join(REPO_ROOT, "build", "daemon", "shardhose")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise RuntimeError("shardhose binary not found at %s (set SHARDHOSE_BIN)" % path)
    return path


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)  # a TOML basic string is a JSON string for our values
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    raise TypeError(v)


def render_toml(sections):
    out = []
    for name, kv in sections.items():
        out.append("[%s]" % name)
        for k, v in kv.items():
            out.append("%s = %s" % (k, toml_value(v)))
        out.append("")
    return "\n".join(out)


class Shardhose:
    """One configuration of the daemon and the runs made with it.

        sh = Shardhose(emu, workdir, stream="orders", max_bytes=1 << 20)
        res = sh.drain()                      # run --config X --drain
        p = sh.start(); ...; rc = sh.stop()   # background + SIGTERM
    """

    def __init__(self, emu, workdir, stream, output_dir=None, checkpoint=None, **overrides):
        self.emu, self.workdir, self.stream = emu, workdir, stream
        os.makedirs(workdir, exist_ok=True)
        self.config_path = os.path.join(workdir, "shardhose.toml")
        self.checkpoint_path = checkpoint or os.path.join(workdir, "checkpoint.json")
        self.runs = 0
        self.proc = None
        sections = {
            "source": {"stream_name": stream, "region": REGION, "endpoint_url": emu.kinesis_url,
                       "initial_position": "TRIM_HORIZON",
                       "poll_interval_ms": 100, "idle_poll_interval_ms": 250},
            "batch": {"max_bytes": 1 << 20, "max_interval_s": 60, "max_records": 0},
            "output": {"bucket": BUCKET, "region": REGION,
                       "endpoint_url": ("file://" + output_dir) if output_dir else emu.s3_url,
                       "force_path_style": True,
                       "prefix": "ddb/{table}/dt={event_time:%Y-%m-%d}/hr={event_time:%H}/",
                       "error_prefix": "errors/{error}/dt={arrival_time:%Y-%m-%d}/",
                       "format": "unmarshalled", "compression": "gzip"},
            "checkpoint": {"path": self.checkpoint_path},
            # Off unless a test asks (server__listen=...): daemons of
            # parallel tests must not compete for the default port.
            "server": {"listen": ""},
        }
        for dotted, v in overrides.items():
            sec, key = dotted.split("__", 1) if "__" in dotted else (None, dotted)
            if sec is None:
                sec = next(s for s, kv in sections.items() if key in kv)
            if v is None:
                sections[sec].pop(key, None)
            else:
                sections.setdefault(sec, {})[key] = v
        self.sections = sections
        self.write_config()

    def write_config(self, text=None):
        with open(self.config_path, "w") as f:
            f.write(text if text is not None else render_toml(self.sections))

    def env(self):
        env = {k: v for k, v in os.environ.items()
               if not (k.startswith("AWS_") or k.startswith("SHARDHOSE_"))}
        env.update({"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
                    "AWS_EC2_METADATA_DISABLED": "true", "AWS_REGION": REGION})
        return env

    def _log_path(self, what):
        self.runs += 1
        return os.path.join(self.workdir, "shardhose-%02d-%s.log" % (self.runs, what))

    def run(self, *args, timeout=300, what="cmd"):
        """Runs `shardhose <args>`; returns (returncode, output text)."""
        path = self._log_path(what)
        cmd = [shardhose_bin()] + list(args)
        log("running %s" % " ".join(cmd))
        with open(path, "wb") as lf:
            p = subprocess.Popen(cmd, stdout=lf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 env=self.env(), start_new_session=True, cwd=self.workdir)
            try:
                rc = p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                kill_group(p, timeout=5)
                raise AssertionError("%s timed out after %ss\n%s" % (" ".join(cmd), timeout, tail(path)))
        with open(path, "rb") as f:
            out = f.read().decode("utf-8", "replace")
        return rc, out

    def drain(self, timeout=300, extra=()):
        rc, out = self.run("run", "--config", self.config_path, "--drain", "--log-level", "info",
                           *extra, timeout=timeout, what="drain")
        if rc != 0:
            raise AssertionError("shardhose run --drain exited %s\n%s" % (rc, out[-8000:]))
        return out

    def start(self, extra=(), env=None, log_level="info", quiet=False):
        """Starts `shardhose run` in the background; `env` adds variables
        (e.g. SHARDHOSE_KILL_AT). log_level=None: no --log-level (the
        file's log.level decides)."""
        path = self._log_path("daemon")
        self.proc_log = path
        cmd = [shardhose_bin(), "run", "--config", self.config_path] + (
            ["--log-level", log_level] if log_level else []) + list(extra)
        if not quiet:
            log("starting %s%s" % (" ".join(cmd), " with %s" % env if env else ""))
        self._lf = open(path, "wb")
        full_env = self.env()
        full_env.update(env or {})
        self.proc = subprocess.Popen(cmd, stdout=self._lf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env=full_env, start_new_session=True, cwd=self.workdir)
        return self.proc

    def wait_exit(self, timeout):
        """Waits for the background daemon to exit by itself; returns
        (returncode, output) or (None, output) if it is still running."""
        p = self.proc
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None, self.output()
        self._lf.close()
        self.proc = None
        return rc, self.output()

    def kill(self):
        """SIGKILLs the background daemon (a crash); returns its output."""
        p = self.proc
        with contextlib.suppress(ProcessLookupError):
            p.send_signal(signal.SIGKILL)
        rc = p.wait(timeout=30)
        self._lf.close()
        self.proc = None
        return rc, self.output()

    def output(self):
        with open(self.proc_log, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self, sig=signal.SIGTERM, timeout=120):
        """Sends `sig` to the daemon (only to it, not its group) and waits.
        Returns (returncode, output)."""
        p = self.proc
        p.send_signal(sig)
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(p, timeout=5)
            rc = None
        self._lf.close()
        self.proc = None
        with open(self.proc_log, "rb") as f:
            out = f.read().decode("utf-8", "replace")
        if rc is None:
            raise AssertionError("shardhose did not exit within %ss of %s\n%s" % (timeout, sig, out[-8000:]))
        return rc, out

    def close(self):
        if self.proc is not None:
            kill_group(self.proc, timeout=5)
            self._lf.close()
            self.proc = None


# --------------------------------------------------------------------------
# Verifying the output
# --------------------------------------------------------------------------

class Obj:
    __slots__ = ("key", "body", "data", "lines")

    def __init__(self, key, body, data, lines):
        self.key, self.body, self.data, self.lines = key, body, data, lines


class OutputError(AssertionError):
    pass


def decode_object(key, body, compression="gzip"):
    """Checks one object and returns Obj with its lines (raw text, without
    the trailing newline)."""
    if compression == "gzip":
        if not key.endswith(".json.gz"):
            raise OutputError("%s: gzip object key does not end in .json.gz" % key)
        if body[:2] != b"\x1f\x8b":
            raise OutputError("%s: not gzip (magic %r)" % (key, body[:2]))
        try:
            data = gzip.decompress(body)
        except (OSError, EOFError, zlib.error) as e:
            raise OutputError("%s: invalid gzip: %s" % (key, e))
    else:
        if not key.endswith(".json") or key.endswith(".json.gz"):
            raise OutputError("%s: uncompressed object key does not end in .json" % key)
        data = body
    if not data:
        raise OutputError("%s: empty object" % key)
    if not data.endswith(b"\n"):
        raise OutputError("%s: last line does not end in newline" % key)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise OutputError("%s: not UTF-8: %s" % (key, e))
    lines = text[:-1].split("\n")
    for i, ln in enumerate(lines):
        if not ln:
            raise OutputError("%s: line %d is empty" % (key, i + 1))
    return Obj(key, body, data, lines)


def s3_objects(s3, prefix="", compression="gzip", page_size=1000):
    return [decode_object(k, s3.get_object(k), compression) for k, _ in s3.list_objects(prefix, page_size)]


def file_objects(root, prefix="", compression="gzip"):
    out = []
    for dirpath, _dirs, files in os.walk(root):
        for fn in files:
            full = os.path.join(dirpath, fn)
            key = os.path.relpath(full, root).replace(os.sep, "/")
            if fn == "_shardhose_probe":  # the daemon's start-up write check
                continue
            if key.startswith(prefix):
                with open(full, "rb") as f:
                    out.append(decode_object(key, f.read(), compression))
    return out


class Output:
    """Every line of a set of objects, parsed and indexed."""

    def __init__(self, objects):
        self.objects = objects
        self.by_event_id = {}   # event_id -> [(key, parsed)]
        self.errors = []        # (key, parsed) for objects under errors/
        self.lines = 0
        for o in objects:
            for ln in o.lines:
                self.lines += 1
                try:
                    parsed = loads_exact(ln)
                except ValueError as e:
                    raise OutputError("%s: line is not JSON (%s): %r" % (o.key, e, ln[:200]))
                if not isinstance(parsed, dict):
                    raise OutputError("%s: line is not an object: %r" % (o.key, ln[:200]))
                if o.key.startswith("errors/"):
                    self.errors.append((o.key, parsed))
                else:
                    eid = parsed.get("event_id", parsed.get("eventID"))
                    if not isinstance(eid, str):
                        raise OutputError("%s: line without event id: %r" % (o.key, ln[:200]))
                    self.by_event_id.setdefault(eid, []).append((o.key, parsed))

    def duplicates(self):
        return {e: [k for k, _ in v] for e, v in self.by_event_id.items() if len(v) > 1}


def key_dir(key):
    return key.rsplit("/", 1)[0] + "/"


def check_exactly_once(tc, produced, output):
    """Every produced event id exactly once, nothing else."""
    dups = output.duplicates()
    tc.assertFalse(bool(dups), "%d event ids written more than once, e.g. %s"
                   % (len(dups), list(dups.items())[:3]))
    missing = set(produced.records) - set(output.by_event_id)
    extra = set(output.by_event_id) - set(produced.records)
    tc.assertFalse(bool(missing), "%d of %d event ids missing, e.g. %s"
                   % (len(missing), len(produced.records), sorted(missing)[:5]))
    tc.assertFalse(bool(extra), "%d unexpected event ids, e.g. %s" % (len(extra), sorted(extra)[:5]))
    tc.assertEqual(len(output.errors), len(produced.malformed),
                   "error lines: %d written, %d malformed records produced"
                   % (len(output.errors), len(produced.malformed)))


def check_unmarshalled_content(tc, produced, output):
    """Each line is in its event-time partition and equals the reference
    unmarshalling of its source record (numbers compared as exact text)."""
    bad = []
    for eid, [(key, line)] in output.by_event_id.items():
        rec, shard, seq, _pk = produced.records[eid]
        want_dir = expected_partition(rec)
        if key_dir(key) != want_dir:
            bad.append("%s: in %s, expected partition %s" % (eid, key, want_dir))
            continue
        if list(line.keys()) != UNMARSHALLED_FIELDS:
            bad.append("%s: fields %s, expected %s" % (eid, list(line.keys()), UNMARSHALLED_FIELDS))
            continue
        want = expected_line(rec, shard, seq)
        if line != want:
            diffs = [f for f in UNMARSHALLED_FIELDS if line.get(f) != want.get(f)]
            bad.append("%s (%s): fields differ: %s; e.g. %s: got %.300r want %.300r"
                       % (eid, key, diffs, diffs[0], line.get(diffs[0]), want.get(diffs[0])))
        if len(bad) > 20:
            break
    tc.assertFalse(bad, "%d bad lines:\n%s" % (len(bad), "\n".join(bad[:20])))


def check_error_lines(tc, produced, output, stream):
    """Malformed records: one error line each, under
    errors/<reason>/dt=<arrival date>/, with the original bytes."""
    want = {}
    for reason, data, shard, seq, pk in produced.malformed:
        want[seq + "|" + shard] = (reason, data, shard, seq, pk)
    seen = set()
    for key, line in output.errors:
        tc.assertEqual(list(line.keys()), ERROR_FIELDS, "%s: error line fields" % key)
        ident = "%s|%s" % (line["sequence_number"], line["shard_id"])
        tc.assertIn(ident, want, "%s: error line for a record that was not malformed: %r" % (key, line))
        tc.assertNotIn(ident, seen, "%s: error line written twice: %r" % (key, line))
        seen.add(ident)
        reason, data, shard, seq, pk = want[ident]
        tc.assertEqual(line["error"], reason, "%s: reason for %r" % (key, data[:80]))
        tc.assertEqual(base64.b64decode(line["data_base64"], validate=True), data,
                       "%s: data_base64 is not the original bytes" % key)
        tc.assertEqual(line["stream"], stream)
        tc.assertEqual(line["partition_key"], pk)
        tc.assertIsInstance(line["message"], str)
        tc.assertTrue(line["message"], "%s: empty message" % key)
        arrival = line["arrival_time"]
        tc.assertRegex(arrival, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        tc.assertEqual(key_dir(key), "errors/%s/dt=%s/" % (reason, arrival[:10]), "error partition of %s" % key)
    tc.assertEqual(len(seen), len(want), "malformed records without an error line")


def check_object_sizes(tc, objects, max_bytes):
    for o in objects:
        if len(o.lines) > 1:
            tc.assertLessEqual(len(o.data), max_bytes,
                               "%s: %d uncompressed bytes in %d lines > max_bytes %d"
                               % (o.key, len(o.data), len(o.lines), max_bytes))


def wait_for(predicate, timeout, interval=0.5, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))


# --------------------------------------------------------------------------
# Checkpoint file (format in lib/checkpoint/checkpoint.h, version 1)
# --------------------------------------------------------------------------

def read_checkpoint(path, with_pending=False):
    """{shard_id: sequence string} from a version-1 checkpoint file; with
    with_pending, also [(shard_id, first, last)] of its pending cuts."""
    with open(path, "rb") as f:
        doc = json.loads(f.read())
    if doc.get("format") != "shardhose-checkpoint":
        raise AssertionError("%s: not a shardhose checkpoint: %.200r" % (path, doc))
    shards = {sid: s.get("sequence", "") for sid, s in doc["body"]["shards"].items()}
    if not with_pending:
        return shards
    pending = [(sid, r["first"], r["last"]) for cut in doc["body"].get("pending", [])
               for sid, r in cut.get("ranges", {}).items()]
    return shards, pending


def durable_per_checkpoint(shard, seq, shards, pending):
    """True when the checkpoint says record (shard, seq) is in the store."""
    if seq_le(seq, shards.get(shard, "")):
        return True
    return any(s == shard and int(first) <= int(seq) <= int(last) for s, first, last in pending)


def seq_le(a, b):
    """Kinesis sequence numbers compare as integers; "" is before everything."""
    if a == "":
        return True
    if b == "":
        return False
    return int(a) <= int(b)


class TempDir:
    """A temp dir removed on exit unless SHARDHOSE_E2E_KEEP=1 or the test failed."""

    def __init__(self, prefix="shardhose-e2e-run-"):
        self.path = tempfile.mkdtemp(prefix=prefix)

    def __enter__(self):
        return self.path

    def __exit__(self, exc_type, exc, tb):
        if KEEP or exc_type is not None:
            log("kept %s" % self.path)
        else:
            shutil.rmtree(self.path, ignore_errors=True)
        return False


def dumps_exact(v):
    """JSON text of a value parsed by loads_exact (Num written as its text)."""
    if isinstance(v, Num):
        return v.text
    if isinstance(v, dict):
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + dumps_exact(x) for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ",".join(dumps_exact(x) for x in v) + "]"
    return json.dumps(v, ensure_ascii=False)


# --------------------------------------------------------------------------
# Fault tests: a live producer, bucket history, checkpoint monitor, RSS
# --------------------------------------------------------------------------

class Producer:
    """Writes change records into a stream from a background thread, in
    batches of `per_batch` every `interval` s (plus one malformed record every
    `malformed_every` batches and one ~400 KB record every `big_every`), until
    stop() or `max_batches`. `produced` is guarded by `lock`.

        p = Producer(emu.kinesis_port, STREAM, seed=5).start()
        ...; p.stop()   # joins; raises if the thread failed
    """

    def __init__(self, kinesis_port, stream, seed, per_batch=100, interval=0.25, malformed_every=5,
                 big_every=0, max_batches=None):
        self.kinesis = KinesisClient(kinesis_port)
        self.stream = stream
        self.gen = ChangeRecordGenerator(seed=seed)
        self.per_batch, self.interval = per_batch, interval
        self.malformed_every, self.big_every = malformed_every, big_every
        self.max_batches = max_batches
        self.produced = Produced()
        self.lock = threading.Lock()
        self.batches = 0
        self.error = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="producer")
        self._malformed = []

    def start(self):
        self._thread.start()
        return self

    def _run(self):
        try:
            while not self._stop.is_set():
                if self.max_batches is not None and self.batches >= self.max_batches:
                    return
                n = self.batches
                big = 1 if self.big_every and n % self.big_every == 0 else 0
                recs = self.gen.batch(self.per_batch, big=big, ttl=1)
                bad = ()
                if self.malformed_every and n % self.malformed_every == 0:
                    if not self._malformed:
                        self._malformed = self.gen.malformed()
                    bad = [self._malformed.pop()]
                with self.lock:
                    produce(self.kinesis, self.stream, recs, bad, produced=self.produced)
                    self.batches += 1
                self._stop.wait(self.interval)
        except Exception as e:  # reported by stop()
            self.error = e
        finally:
            self.kinesis.close()

    def count(self):
        with self.lock:
            return len(self.produced)

    def stop(self, timeout=120):
        self._stop.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise AssertionError("producer did not stop within %ss" % timeout)
        if self.error is not None:
            raise AssertionError("producer failed: %r" % (self.error,))
        return self.produced

    def idents(self):
        """[(shard_id, sequence_number)] of everything produced so far."""
        with self.lock:
            out = [(v[1], v[2]) for v in self.produced.records.values()]
            out += [(m[2], m[3]) for m in self.produced.malformed]
        return out


def line_idents(obj):
    """{(shard_id, sequence_number)} of every line of an object (record and
    error lines both carry them)."""
    out = set()
    for ln in obj.lines:
        d = json.loads(ln)
        out.add((d["shard_id"], d["sequence_number"]))
    return out


class BucketHistory:
    """Snapshots of the bucket (key -> sha256 of the bytes); remembers every
    key's first content and records any key whose content later differs.
    With `keep_dir`, both versions of a changed object are saved there
    (<n>.first / <n>.later) for a look after the test."""

    def __init__(self, s3, keep_dir=None):
        self.s3 = s3
        self.keep_dir = keep_dir
        self.first = {}       # key -> (sha256, label of the first snapshot)
        self.conflicts = []   # (key, first label, label, sha1, sha2, what differs)
        self.snapshots = 0
        self._first_body = {}

    def snapshot(self, label):
        bodies = {}
        for key, _size in self.s3.list_objects():
            body = self.s3.get_object(key)
            bodies[key] = body
            digest = hashlib.sha256(body).hexdigest()
            if key not in self.first:
                self.first[key] = (digest, label)
                self._first_body[key] = body
            elif self.first[key][0] != digest:
                before = self._first_body[key]
                self.conflicts.append((key, self.first[key][1], label, self.first[key][0][:12], digest[:12],
                                       describe_body_change(before, body)))
                if self.keep_dir:
                    n = len(self.conflicts)
                    for suffix, data in ((".first", before), (".later", body)):
                        with open(os.path.join(self.keep_dir, "conflict-%d%s" % (n, suffix)), "wb") as f:
                            f.write(data)
        self.snapshots += 1
        return bodies


def describe_body_change(before, after):
    """What differs between two versions of one object: the lines (how), or
    only the gzip bytes around the same lines (and where they part)."""
    def lines(body):
        try:
            return gzip.decompress(body).split(b"\n")
        except (OSError, EOFError, zlib.error) as e:
            return "undecodable (%s)" % e
    a, b = lines(before), lines(after)
    if isinstance(a, str) or isinstance(b, str):
        return "first %s, later %s" % (a if isinstance(a, str) else "ok", b if isinstance(b, str) else "ok")
    if a == b:
        at = next((i for i in range(min(len(before), len(after))) if before[i] != after[i]), None)
        return ("same %d lines, other gzip bytes (%d vs %d bytes, first difference at byte %s)"
                % (len(a) - 1, len(before), len(after), at))
    only_a = [l for l in a if l not in set(b)]
    only_b = [l for l in b if l not in set(a)]
    return ("other lines: %d vs %d lines; %d only in the first (e.g. %.300r), %d only in the later (e.g. %.300r)"
            % (len(a) - 1, len(b) - 1, len(only_a), only_a[:1], len(only_b), only_b[:1]))


def read_checkpoint_doc(path):
    """The parsed body of a version-1 checkpoint, or None if there is no file."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return None
    doc = json.loads(raw)
    if doc.get("format") != "shardhose-checkpoint" or doc.get("version") != 1:
        raise AssertionError("%s: not a version-1 shardhose checkpoint: %.200r" % (path, raw))
    return doc["body"]


def _crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def rewrite_checkpoint(path, change):
    """Rewrites a version-1 checkpoint file in place: change(body) edits the
    parsed body; the file gets the new body's CRC-32C (lib/checkpoint/
    checkpoint.h), as if the daemon had written it."""
    body = read_checkpoint_doc(path)
    change(body)
    text = json.dumps(body, separators=(",", ":"))
    with open(path + ".tmp", "w") as f:
        f.write('{"format":"shardhose-checkpoint","version":1,"crc32c":"%08x","body":%s}\n'
                % (_crc32c(text.encode()), text))
    os.replace(path + ".tmp", path)


class CheckpointMonitor:
    """Watches a checkpoint file while the daemon runs and checks, for every
    new generation, that it never passes an unacknowledged upload:
      - every produced record of a shard at or below the shard's `sequence`
        is in some object in the bucket;
      - every journaled cut marked uploaded names an object in the bucket.
    The checkpoint is read BEFORE the bucket is listed, and objects are only
    ever added, so a record durable when the checkpoint was written must be in
    the listing. Violations are collected in `violations`."""

    def __init__(self, path, s3, producer, interval=0.4):
        self.path, self.s3, self.producer, self.interval = path, s3, producer, interval
        self.violations = []
        self.generations = 0
        self.records_checked = 0
        self.max_checked = 0
        self.error = None
        self._objects = {}   # key -> idents
        self._last_gen = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="checkpoint-monitor")

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join(60)
        if self.error is not None:
            raise AssertionError("checkpoint monitor failed: %r" % (self.error,))

    def _run(self):
        try:
            while not self._stop.is_set():
                self.check_once()
                self._stop.wait(self.interval)
        except Exception as e:  # reported by stop()
            self.error = e

    def _read_idents(self, key):
        # s3rver lists an object while its PUT is still being written (its
        # PUT is not atomic): a GET then answers 500, 200 with no bytes yet,
        # or fewer bytes than its Content-Length. Objects this daemon writes
        # are never empty and always decode: wait for the whole object (up
        # to 5 s; the final exactly-once check reads every object again).
        for attempt in range(50):
            try:
                body = self.s3.get_object(key)
                if body:
                    return line_idents(decode_object(key, body))
                if attempt == 49:
                    raise OutputError("%s: empty object" % key)
            except (AwsError, OutputError) as e:
                if attempt == 49 or (isinstance(e, AwsError) and e.status != 500):
                    raise
            time.sleep(0.1)

    def check_once(self):
        body = read_checkpoint_doc(self.path)
        if body is None or body["generation"] == self._last_gen:
            return
        self._last_gen = body["generation"]
        self.generations += 1
        keys = {k for k, _ in self.s3.list_objects()}
        for k in keys - set(self._objects):
            self._objects[k] = self._read_idents(k)
        present = set()
        for ids in self._objects.values():
            present |= ids
        seqs = {sid: s["sequence"] for sid, s in body["shards"].items()}
        checked = 0
        for shard, seq in self.producer.idents():
            if seq_le(seq, seqs.get(shard, "")):
                checked += 1
                if (shard, seq) not in present:
                    self.violations.append("generation %d: %s durable through %s, but record %s is in no object"
                                           % (body["generation"], shard, seqs[shard], seq))
        for cut in body.get("pending", []):
            if cut["uploaded"] and cut["key"] not in keys:
                self.violations.append("generation %d: cut %s marked uploaded, no such object"
                                       % (body["generation"], cut["key"]))
        self.records_checked += checked
        self.max_checked = max(self.max_checked, checked)


def rss_bytes(pid):
    """VmRSS of a process, in bytes (None if it is gone)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for ln in f:
                if ln.startswith("VmRSS:"):
                    return int(ln.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def check_exactly_once_idents(tc, produced, objects):
    """Exactly-once by eventID (records) and by (shard, sequence) (error
    lines); returns (records checked, lost, duplicated) after asserting."""
    out = Output(objects)
    dups = out.duplicates()
    missing = set(produced.records) - set(out.by_event_id)
    extra = set(out.by_event_id) - set(produced.records)
    err_seen = {}
    for key, line in out.errors:
        ident = (line["shard_id"], line["sequence_number"])
        err_seen[ident] = err_seen.get(ident, 0) + 1
    want_err = {(m[2], m[3]) for m in produced.malformed}
    err_missing = want_err - set(err_seen)
    err_dups = {k: n for k, n in err_seen.items() if n > 1}
    err_extra = set(err_seen) - want_err
    lost = len(missing) + len(err_missing)
    duplicated = sum(len(v) - 1 for v in dups.values()) + sum(n - 1 for n in err_dups.values())
    checked = len(produced.records) + len(produced.malformed)
    log("exactly-once check: %d records + %d error records checked in %d objects: %d lost, %d duplicated, "
        "%d unexpected" % (len(produced.records), len(produced.malformed), len(objects), lost, duplicated,
                           len(extra) + len(err_extra)))
    tc.assertFalse(bool(dups), "%d event ids written more than once, e.g. %s" % (len(dups), list(dups.items())[:3]))
    tc.assertFalse(bool(missing), "%d of %d event ids missing, e.g. %s" % (len(missing), len(produced.records),
                                                                    sorted(missing)[:5]))
    tc.assertFalse(bool(extra), "%d unexpected event ids, e.g. %s" % (len(extra), sorted(extra)[:5]))
    tc.assertFalse(bool(err_dups), "error records written more than once: %s" % list(err_dups.items())[:5])
    tc.assertFalse(bool(err_missing), "error records missing: %s" % sorted(err_missing)[:5])
    tc.assertFalse(bool(err_extra), "unexpected error lines: %s" % sorted(err_extra)[:5])
    return checked, lost, duplicated
