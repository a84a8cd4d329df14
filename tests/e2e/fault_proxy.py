"""A fault-injecting HTTP/1.1 proxy for the end-to-end tests (stdlib only).

It sits between shardhose and an emulator (s3rver or kinesis-local) and, per
request, either forwards it unchanged or injects a fault chosen from a seeded
random schedule:

  S3 flavour ("s3"):
    "500"       HTTP 500 with S3's <Error><Code>InternalError</Code> XML
    "503"       HTTP 503 with S3's <Error><Code>SlowDown</Code> XML
    "reset"     the request is read, then the connection is reset (RST)
    "stall"     the request is read, nothing is answered for `stall_s`
                seconds (set it past output.upload_timeout_s), then RST
    "head_403"  HEAD only: 403 with no body, as S3 answers a HEAD of a missing
                key to a role without s3:ListBucket
    "put_403"   PUT (and POST: CompleteMultipartUpload) only, except the
                start-up probe (_shardhose_probe): 403 AccessDenied, as S3
                answers when the role lost s3:PutObject
    "put_drop"  PUT only: forwarded to the emulator (the object IS written),
                then the connection is reset before the answer is relayed
  Kinesis flavour ("kinesis"):
    "throttle"  HTTP 400 ProvisionedThroughputExceededException (GetRecords,
                GetShardIterator) or LimitExceededException (other calls)
    "expired"   GetRecords only: HTTP 400 ExpiredIteratorException
    "500"       HTTP 500 InternalFailure
    "503"       HTTP 503 ServiceUnavailable
    "reset"     connection reset after the request is read
    "delay"     answered correctly, but only after `delay_s` seconds
  DynamoDB flavour ("dynamodb": the DynamoDB and DynamoDB Streams APIs, as
  DynamoDB Local serves both): the Kinesis kinds, answered as DynamoDB
  does (JSON 1.0, "com.amazonaws.dynamodb.v20120810#<Code>"): "throttle" is
  LimitExceededException (the Streams API's throttling answer), "500"
  InternalServerError.

Only complete requests are forwarded, so with no faults the proxy also gives
s3rver the atomic PUT of S3 (s3rver itself keeps a partial object, and
answers HEAD 200 for it, when a client dies mid-PUT).

`set_down(True)` closes the listening socket and resets every open
connection, so new connections are refused (S3 "down"); `set_down(False)`
listens again on the same port.

With `record_puts=True` (S3), every PUT of a whole object that the
emulator answered 2xx is kept: `puts[path]` is the list of its bodies in
the order answered (path as sent, percent-decoded, query cut off; parts of
a multipart upload are not recorded). A test checks with it that no key
ever held two contents.

The decision for the n-th request is the n-th draw of random.Random(seed):
the schedule is reproducible as a sequence (which request gets which draw
depends on thread timing). Every decision is counted in `counts` (by fault
kind, plus "forwarded") and appended to `log_path` if given.

    with FaultProxy(emu.s3_port, "s3", seed=3, rates={"500": .05}) as proxy:
        ... output.endpoint_url = proxy.url ...
        proxy.counts["500"]
"""

import http.client
import socket
import struct
import threading
import time
import urllib.parse
import uuid

S3_FAULTS = ("500", "503", "reset", "stall", "put_drop", "head_403", "put_403")
KINESIS_FAULTS = ("throttle", "expired", "500", "503", "reset", "delay")

_HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
               "upgrade", "expect"}


class _Request:
    __slots__ = ("method", "target", "version", "headers", "body")

    def header(self, name):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None


class _Closed(Exception):
    pass


class _Conn:
    """Buffered reads from a client socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise _Closed()
        self.buf += data

    def read_until(self, marker, limit=1 << 20):
        while marker not in self.buf:
            if len(self.buf) > limit:
                raise _Closed()
            self._fill()
        i = self.buf.index(marker) + len(marker)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def read_exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out


class FaultProxy:
    def __init__(self, upstream_port, flavour, seed=1, rates=None, stall_s=5.0, delay_s=1.5,
                 upstream_host="127.0.0.1", log_path=None, record_puts=False):
        if flavour not in ("s3", "kinesis", "dynamodb"):
            raise ValueError(flavour)
        self.upstream = (upstream_host, upstream_port)
        self.flavour = flavour
        self.stall_s, self.delay_s = stall_s, delay_s
        self.log_path = log_path
        self._rng_lock = threading.Lock()
        import random
        self._rng = random.Random(seed)
        self._rates = {}
        self.set_rates(rates or {})
        self.counts = {}
        self.requests = 0
        self._down = False
        self._closing = False
        self._listener = None
        self._accept_thread = None
        self._clients = set()
        self._clients_lock = threading.Lock()
        self.in_flight = 0  # requests read and not yet answered (or dropped)
        self.record_puts = record_puts
        self.puts = {}  # path -> [body, ...] (record_puts)
        self._puts_lock = threading.Lock()
        self.port = None
        self._log = open(log_path, "a") if log_path else None

    # ------------------------------------------------------------ control
    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def set_rates(self, rates):
        allowed = S3_FAULTS if self.flavour == "s3" else KINESIS_FAULTS
        for k in rates:
            if k not in allowed:
                raise ValueError("unknown %s fault %r" % (self.flavour, k))
        if sum(rates.values()) > 1.0:
            raise ValueError("fault rates add up to more than 1")
        with self._rng_lock:
            self._rates = dict(rates)

    def set_down(self, down):
        """True: refuse new connections and reset open ones. False: listen again."""
        if down == self._down:
            return
        self._down = down
        if down:
            self._close_listener()
            with self._clients_lock:
                clients = list(self._clients)
            for s in clients:
                _reset(s)
            self._count("down_reset", len(clients))
        else:
            self._listen()

    def total_faults(self):
        return sum(v for k, v in self.counts.items() if k not in ("forwarded",))

    def summary(self):
        return ", ".join("%s=%d" % kv for kv in sorted(self.counts.items()))

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def start(self):
        self._listen()
        return self

    def idle(self):
        """No client connection open, so no request being read or answered.
        After the only client (a daemon) is killed, its connections close once
        the proxy has read what they had sent: a request whose bytes were all
        sent before the kill is forwarded only then. `in_flight` alone counts
        a request from when its body has been read, which is later."""
        with self._clients_lock:
            return self.in_flight == 0 and not self._clients

    def close(self):
        self._closing = True
        self._close_listener()
        with self._clients_lock:
            clients = list(self._clients)
        for s in clients:
            _reset(s)
        if self._log:
            self._log.close()
            self._log = None

    # ------------------------------------------------------------ internals
    def _listen(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port or 0))
        s.listen(128)
        self.port = s.getsockname()[1]
        self._listener = s
        t = threading.Thread(target=self._accept_loop, args=(s,), daemon=True, name="fault-proxy-accept")
        self._accept_thread = t
        t.start()

    def _close_listener(self):
        s, self._listener = self._listener, None
        if s is not None:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def _accept_loop(self, listener):
        while True:
            try:
                sock, _ = listener.accept()
            except OSError:
                return
            if self._down or self._closing:
                _reset(sock)
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._clients_lock:
                self._clients.add(sock)
            threading.Thread(target=self._serve, args=(sock,), daemon=True, name="fault-proxy-conn").start()

    def _count(self, what, n=1):
        with self._rng_lock:
            self.counts[what] = self.counts.get(what, 0) + n

    def _decide(self, req):
        op = self._op(req)
        with self._rng_lock:
            self.requests += 1
            n = self.requests
            r = self._rng.random()
            fault = None
            acc = 0.0
            for kind in sorted(self._rates):
                acc += self._rates[kind]
                if r < acc:
                    fault = kind
                    break
            if fault is not None and not self._applies(fault, req, op):
                fault = None
            self.counts[fault or "forwarded"] = self.counts.get(fault or "forwarded", 0) + 1
            if self._log:
                self._log.write("%.3f #%d %s %s -> %s\n" % (time.time(), n, op, req.target[:120], fault or "forward"))
                self._log.flush()
        return fault

    def _op(self, req):
        if self.flavour in ("kinesis", "dynamodb"):
            target = req.header("X-Amz-Target") or ""
            return target.rsplit(".", 1)[-1]
        return req.method

    def _applies(self, fault, req, op):
        if fault == "put_drop":
            return req.method == "PUT"
        if fault == "head_403":
            return req.method == "HEAD"
        if fault == "put_403":
            return req.method in ("PUT", "POST") and "_shardhose_probe" not in req.target
        if fault == "expired":
            return op == "GetRecords"
        return True

    def _serve(self, sock):
        conn = _Conn(sock)
        upstream = None
        try:
            sock.settimeout(300)
            while not self._closing:
                req = self._read_request(conn)
                if req is None:
                    return
                with self._clients_lock:
                    self.in_flight += 1
                prev = upstream
                try:
                    upstream = self._handle(sock, req, upstream)
                finally:
                    with self._clients_lock:
                        self.in_flight -= 1
                if upstream is False:
                    if prev:
                        prev.close()
                    return
        except (_Closed, OSError, ValueError):
            return
        finally:
            if upstream:
                upstream.close()
            with self._clients_lock:
                self._clients.discard(sock)
            try:
                sock.close()
            except OSError:
                pass

    def _handle(self, sock, req, upstream):
        """Answers one request; returns the upstream connection to reuse, or
        False when the client connection is gone."""
        fault = self._decide(req)
        if fault in ("500", "503", "throttle", "expired", "head_403", "put_403"):
            self._send(sock, req, *self._error(fault, req))
            return upstream
        if fault == "reset":
            _reset(sock)
            return False
        if fault == "stall":
            deadline = time.time() + self.stall_s
            while time.time() < deadline and not self._closing:
                time.sleep(0.05)
            _reset(sock)
            return False
        if fault == "delay":
            time.sleep(self.delay_s)
        if not upstream:
            upstream = http.client.HTTPConnection(*self.upstream, timeout=120)
        try:
            status, reason, headers, body = self._forward(upstream, req)
        except (OSError, http.client.HTTPException) as e:
            upstream.close()
            self._count("upstream_error")
            self._send(sock, req, 502, "Bad Gateway", [("Content-Type", "text/plain")],
                       ("proxy: upstream failed: %s" % e).encode())
            return None
        if self.record_puts and req.method == "PUT" and 200 <= status < 300 and "?" not in req.target:
            path = urllib.parse.unquote(req.target)
            with self._puts_lock:
                self.puts.setdefault(path, []).append(req.body)
        if fault == "put_drop":
            _reset(sock)  # the object is written; the client never hears so
            upstream.close()
            return False
        self._send(sock, req, status, reason, headers, body, passthrough=True)
        return upstream

    def _read_request(self, conn):
        try:
            head = conn.read_until(b"\r\n\r\n")
        except _Closed:
            return None
        lines = head[:-4].decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ", 2)
        req = _Request()
        req.method, req.target, req.version = method, target, version
        req.headers = []
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            req.headers.append((k.strip(), v.strip()))
        if (req.header("Expect") or "").lower() == "100-continue":
            conn.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        te = (req.header("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            body = b""
            while True:
                size_line = conn.read_until(b"\r\n")
                size = int(size_line.split(b";")[0].strip(), 16)
                if size == 0:
                    conn.read_until(b"\r\n")  # no trailers expected
                    break
                body += conn.read_exact(size)
                conn.read_exact(2)
            req.body = body
        else:
            req.body = conn.read_exact(int(req.header("Content-Length") or "0"))
        return req

    def _forward(self, upstream, req):
        upstream.putrequest(req.method, req.target, skip_host=True, skip_accept_encoding=True)
        for k, v in req.headers:
            if k.lower() in _HOP_BY_HOP or k.lower() == "content-length":
                continue
            upstream.putheader(k, v)
        if req.body or req.method in ("PUT", "POST"):
            upstream.putheader("Content-Length", str(len(req.body)))
        upstream.endheaders(req.body if req.body else None)
        resp = upstream.getresponse()
        body = resp.read()
        headers = [(k, v) for k, v in resp.getheaders()]
        if resp.will_close:
            upstream.close()
        return resp.status, resp.reason, headers, body

    def _send(self, sock, req, status, reason, headers, body, passthrough=False):
        out = ["HTTP/1.1 %d %s" % (status, reason)]
        for k, v in headers:
            kl = k.lower()
            if kl in _HOP_BY_HOP:
                continue
            if kl == "content-length" and not (passthrough and req.method == "HEAD"):
                continue
            out.append("%s: %s" % (k, v))
        if req.method == "HEAD":
            if not passthrough:
                out.append("Content-Length: 0")
            body = b""
        else:
            out.append("Content-Length: %d" % len(body))
        data = ("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + body
        sock.sendall(data)

    def _error(self, fault, req):
        rid = uuid.uuid4().hex[:16].upper()
        if self.flavour == "s3":
            code, status, reason, msg = {
                "500": ("InternalError", 500, "Internal Server Error", "We encountered an internal error. Please try again."),
                "503": ("SlowDown", 503, "Slow Down", "Please reduce your request rate."),
                "head_403": ("AccessDenied", 403, "Forbidden", ""),
                "put_403": ("AccessDenied", 403, "Forbidden", "Access Denied"),
            }[fault]
            if fault == "head_403":  # a HEAD answer has no body
                return status, reason, [("x-amz-request-id", rid)], b""
            body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code><Message>%s</Message>'
                    '<RequestId>%s</RequestId><HostId>fault-proxy</HostId></Error>' % (code, msg, rid)).encode()
            return status, reason, [("Content-Type", "application/xml"), ("x-amz-request-id", rid)], body
        op = self._op(req)
        if fault == "throttle":
            if op in ("GetRecords", "GetShardIterator", "PutRecords", "PutRecord"):
                typ, msg = "ProvisionedThroughputExceededException", "Rate exceeded for shard"
            else:
                typ, msg = "LimitExceededException", "Rate exceeded"
            status, reason = 400, "Bad Request"
        elif fault == "expired":
            typ, msg = "ExpiredIteratorException", "Iterator expired. The iterator was created at time " \
                                                   "Mon May 20 10:00:00 UTC 2024 while right now it is later."
            status, reason = 400, "Bad Request"
        elif fault == "500":
            typ, msg, status, reason = "InternalFailure", "Internal service failure.", 500, "Internal Server Error"
        else:
            typ, msg, status, reason = "ServiceUnavailable", "Service unavailable.", 503, "Service Unavailable"
        import json
        content_type = "application/x-amz-json-1.1"
        if self.flavour == "dynamodb":
            typ = {"ProvisionedThroughputExceededException": "LimitExceededException",
                   "InternalFailure": "InternalServerError"}.get(typ, typ)
            typ = "com.amazonaws.dynamodb.v20120810#" + typ
            content_type = "application/x-amz-json-1.0"
        body = json.dumps({"__type": typ, "message": msg}).encode()
        return status, reason, [("Content-Type", content_type), ("x-amzn-RequestId", rid)], body


def _reset(sock):
    """Closes with RST (SO_LINGER 0) instead of FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass
