"""gzip readers: objects written at every compression_level (1..2 ISA-L
igzip, 3..9 zlib; lib/compress/gzip_chunks.h) are each ONE standard gzip
member, and every reader a user of the lake might point at them returns the
same lines:

  - gzip -t and gzip -d (the command-line tool);
  - Python's zlib (one member, nothing after it) and gzip modules;
  - Java's java.util.zip.GZIPInputStream, what Athena, Hive and Trino use
    (readers/GzipCat.java, compiled with javac into the test's temp dir);
  - DuckDB (tests/readers, @duckdb/node-api from npm): read_ndjson_auto row
    count, the event ids, and every line as text.

Level 9 is set through SHARDHOSE_OUTPUT_COMPRESSION_LEVEL (the file says 1)
to check that the environment override reaches the compressor.
Needs javac (default-jdk-headless) and tests/readers/node_modules, both
installed by scripts/install-deps.sh."""

import hashlib
import json
import os
import shutil
import subprocess
import unittest
import zlib

import harness as h

STREAM = "ddb-gzip-readers"
LEVELS = range(1, 10)
ENV_LEVEL = 9
READERS_DIR = os.path.join(h.REPO_ROOT, "tests", "readers")
JAVA_SRC = os.path.join(h.HERE, "readers", "GzipCat.java")


def engine_of(level):
    return "igzip %d" % level if level <= 2 else "zlib %d" % level


def one_member(path, body):
    """The decompressed bytes of `body`, which must be exactly one gzip member."""
    d = zlib.decompressobj(wbits=31)
    data = d.decompress(body) + d.flush()
    if not d.eof:
        raise AssertionError("%s: gzip member is truncated" % path)
    if d.unused_data:
        raise AssertionError("%s: %d bytes after the first gzip member" % (path, len(d.unused_data)))
    return data


def check_prerequisites(tc):
    missing = [t for t in ("gzip", "javac", "java", "node") if shutil.which(t) is None]
    if not os.path.isfile(os.path.join(READERS_DIR, "node_modules", "@duckdb", "node-api", "package.json")):
        missing.append("tests/readers/node_modules (@duckdb/node-api)")
    if missing:
        tc.fail("missing %s: run scripts/install-deps.sh" % ", ".join(missing))


class GzipReadersTest(unittest.TestCase):
    def test_every_level_is_read_alike_by_every_reader(self):
        check_prerequisites(self)
        gen = h.ChangeRecordGenerator(seed=5151)
        with h.TempDir() as work, h.Emulators(streams={STREAM: 2}) as emu:
            produced = h.produce(emu.kinesis, STREAM, gen.batch(400, wide=1, big=1), gen.malformed())
            classes = os.path.join(work, "java")
            subprocess.run(["javac", "-d", classes, JAVA_SRC], check=True)

            total_bytes = {}
            for level in LEVELS:
                with self.subTest(level=level):
                    total_bytes[level] = self.run_level(work, emu, produced, classes, level)
            # Sanity on the scale: the top level compresses better than the default.
            if 1 in total_bytes and 9 in total_bytes:
                self.assertLess(total_bytes[9], total_bytes[1])

    def run_level(self, work, emu, produced, classes, level):
        outdir = os.path.join(work, "out-%d" % level)
        from_env = level == ENV_LEVEL
        sh = h.Shardhose(emu, os.path.join(work, "run-%d" % level), STREAM, output_dir=outdir,
                         max_bytes=64 * 1024, output__compression_level=1 if from_env else level)
        if from_env:
            base_env = sh.env
            sh.env = lambda: dict(base_env(), SHARDHOSE_OUTPUT_COMPRESSION_LEVEL=str(level))
        out = sh.drain(timeout=300)
        self.assertIn('compression="gzip level %d (%s)"' % (level, engine_of(level)), out)

        objs = h.file_objects(outdir)  # Python's gzip module, line checks
        self.assertTrue(objs, "nothing written under %s" % outdir)
        result = h.Output(objs)
        h.check_exactly_once(self, produced, result)
        h.check_unmarshalled_content(self, produced, result)

        paths = sorted(os.path.join(outdir, o.key) for o in objs)
        want = {}  # path -> decompressed bytes, from zlib
        size = 0
        for p in paths:
            with open(p, "rb") as f:
                body = f.read()
            size += len(body)
            want[p] = one_member(p, body)
            subprocess.run(["gzip", "-t", p], check=True)
            got = subprocess.run(["gzip", "-dc", p], check=True, stdout=subprocess.PIPE).stdout
            self.assertEqual(got, want[p], "gzip -d differs on %s" % p)

        java = subprocess.run(["java", "-cp", classes, "GzipCat"] + paths, check=True,
                              stdout=subprocess.PIPE, text=True).stdout.splitlines()
        self.assertEqual(len(java), len(paths))
        for line in java:
            digest, n, p = line.split(" ", 2)
            self.assertEqual(int(n), len(want[p]), "GZIPInputStream length differs on %s" % p)
            self.assertEqual(digest, hashlib.sha256(want[p]).hexdigest(), "GZIPInputStream differs on %s" % p)

        duck = subprocess.run(["node", os.path.join(READERS_DIR, "duckdb_read.mjs")] + paths, check=True,
                              stdout=subprocess.PIPE, text=True, cwd=READERS_DIR).stdout.split("\n")[:-1]
        # (split on "\n" only: lines may hold U+2028 and the like, which
        # splitlines() would also split on)
        self.assertEqual(len(duck), len(paths))
        lines_seen = 0
        for line in duck:
            d = json.loads(line)
            p = d["file"]
            lines = want[p].decode("utf-8")[:-1].split("\n")
            lines_seen += len(lines)
            self.assertEqual(d["rows"], len(lines), "DuckDB read_ndjson_auto row count differs on %s" % p)
            self.assertEqual(sorted(d["lines"]), sorted(lines), "DuckDB lines differ on %s" % p)
            ids = sorted(o["event_id"] for o in map(json.loads, lines) if isinstance(o.get("event_id"), str))
            self.assertEqual(sorted(d["event_ids"]), ids, "DuckDB event ids differ on %s" % p)
        self.assertEqual(lines_seen, result.lines)
        h.log("level %d (%s): %d objects, %d lines, %d bytes, read alike by gzip, zlib, Java, DuckDB"
              % (level, engine_of(level), len(paths), lines_seen, size))
        return size


if __name__ == "__main__":
    unittest.main()
