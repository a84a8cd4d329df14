"""`shardhose athena-ddl`: the partition projection it prints reproduces the
real partition prefixes of an end-to-end run.

For each configuration: drain a stream, run `athena-ddl`, parse LOCATION,
PARTITIONED BY and the projection TBLPROPERTIES from its output, and model
what Athena does with them: every date/integer/enum column's values are
enumerated from its properties (date: from the range start to NOW by the
interval, formatted with the Java pattern), an injected column takes any
value a query gives. Then every object's partition prefix (its key minus the
file name, under the S3 root) must equal `storage.location.template` with
each ${column} replaced by one of its projected values (so it is inside the
projected ranges), and the values found must be the ones of the records in
the object (a query `WHERE dt = '2024-05-20'` returns that day's changes).
Objects outside LOCATION must be error objects only."""

import calendar
import datetime as _dt
import json
import os
import re
import subprocess
import unittest

import harness as h

STREAM = "ddb-athena"
UTC = _dt.timezone.utc


# --------------------------------------------------------------------------
# The DDL, parsed
# --------------------------------------------------------------------------

class Table:
    def __init__(self, sql):
        self.sql = sql
        m = re.search(r"^CREATE EXTERNAL TABLE `([^`]+)`\.`([^`]+)` \(", sql, re.M)
        if not m:
            raise AssertionError("no CREATE EXTERNAL TABLE in:\n" + sql)
        self.database, self.name = m.group(1), m.group(2)
        m = re.search(r"^LOCATION '([^']*)'", sql, re.M)
        if not m:
            raise AssertionError("no LOCATION in:\n" + sql)
        self.location = m.group(1)
        m = re.search(r"^PARTITIONED BY \(\n(.*?)\n\)", sql, re.M | re.S)
        self.columns = re.findall(r"`([^`]+)` string", m.group(1)) if m else []
        m = re.search(r"^TBLPROPERTIES \(\n(.*?)\n\);", sql, re.M | re.S)
        self.props = dict(re.findall(r"'([^']*)'='([^']*)'", m.group(1))) if m else {}
        self.template = self.props.get("storage.location.template", "")


# --------------------------------------------------------------------------
# Java DateTimeFormatter patterns (the letters athena-ddl emits)
# --------------------------------------------------------------------------

JAVA_LETTERS = {"yyyy": "%Y", "yy": "%y", "MM": "%m", "dd": "%d", "HH": "%H", "mm": "%M", "ss": "%S", "DDD": "%j"}


def java_to_strftime(pattern):
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "'":
            j = i + 1
            lit = []
            while True:
                if j >= len(pattern):
                    raise AssertionError("unterminated quote in Java pattern %r" % pattern)
                if pattern[j] == "'":
                    if j + 1 < len(pattern) and pattern[j + 1] == "'":
                        lit.append("'")
                        j += 2
                        continue
                    break
                lit.append(pattern[j])
                j += 1
            text = "".join(lit) if j > i + 1 else "'"  # '' alone is a quote
            out.append(text.replace("%", "%%"))
            i = j + 1
            continue
        if c.isalpha():
            j = i
            while j < len(pattern) and pattern[j] == c:
                j += 1
            run = pattern[i:j]
            if run not in JAVA_LETTERS:
                raise AssertionError("Java pattern letters %r not modelled by this test" % run)
            out.append(JAVA_LETTERS[run])
            i = j
            continue
        if c in "[]{}#":
            raise AssertionError("reserved character %r unquoted in Java pattern %r" % (c, pattern))
        out.append("%%" if c == "%" else c)
        i += 1
    return "".join(out)


def add_months(t, n):
    y, m = divmod(t.month - 1 + n, 12)
    y += t.year
    return t.replace(year=y, month=m + 1, day=min(t.day, calendar.monthrange(y, m + 1)[1]))


def date_values(col, props, now):
    fmt = java_to_strftime(props["projection.%s.format" % col])
    start_s, end_s = props["projection.%s.range" % col].split(",")
    if end_s != "NOW":
        raise AssertionError("range end %r: expected NOW" % end_s)
    start = _dt.datetime.strptime(start_s, fmt).replace(tzinfo=UTC)
    interval = int(props.get("projection.%s.interval" % col, "1"))
    unit = props["projection.%s.interval.unit" % col]
    step = {"DAYS": _dt.timedelta(days=interval), "HOURS": _dt.timedelta(hours=interval),
            "MINUTES": _dt.timedelta(minutes=interval), "SECONDS": _dt.timedelta(seconds=interval)}.get(unit)
    values, t, n = [], start, 0
    while t <= now:
        values.append(t.strftime(fmt))
        n += 1
        if n > 3_000_000:
            raise AssertionError("date projection %s enumerates too many values" % col)
        if step is not None:
            t = start + step * n
        elif unit == "MONTHS":
            t = add_months(start, interval * n)
        elif unit == "YEARS":
            t = add_months(start, 12 * interval * n)
        else:
            raise AssertionError("unknown interval unit %r" % unit)
    return set(values)


class Projection:
    """The partition values Athena would generate for each column; None for
    an injected column (the query gives any value)."""

    def __init__(self, table, now):
        self.table = table
        self.values = {}
        p = table.props
        if table.columns:
            assert p.get("projection.enabled") == "true", p
        for col in table.columns:
            kind = p.get("projection.%s.type" % col)
            if kind == "date":
                self.values[col] = date_values(col, p, now)
            elif kind == "integer":
                lo, hi = (int(x) for x in p["projection.%s.range" % col].split(","))
                step = int(p.get("projection.%s.interval" % col, "1"))
                digits = int(p.get("projection.%s.digits" % col, "0"))
                self.values[col] = {str(v).zfill(digits) for v in range(lo, hi + 1, step)}
            elif kind == "enum":
                self.values[col] = set(p["projection.%s.values" % col].split(","))
            elif kind == "injected":
                self.values[col] = None
            else:
                raise AssertionError("column %s: projection type %r" % (col, kind))
        # The template: literal text and ${column}s, every column exactly once.
        self.parts = re.split(r"\$\{([^}]*)\}", table.template)
        cols_in_template = self.parts[1::2]
        assert sorted(cols_in_template) == sorted(table.columns), (cols_in_template, table.columns)

    def match(self, location):
        """Assignments {column: value} of projected values whose substitution
        into the template gives exactly `location`."""
        parts, found = self.parts, []

        def rec(i, pos, acc):
            if i == len(parts):
                if pos == len(location):
                    found.append(dict(acc))
                return
            if i % 2 == 0:
                lit = parts[i]
                if location.startswith(lit, pos):
                    rec(i + 1, pos + len(lit), acc)
                return
            col = parts[i]
            allowed = self.values[col]
            if allowed is None:  # injected: any non-empty value without '/'
                end = location.find("/", pos)
                end = len(location) if end < 0 else end
                candidates = [location[pos:k] for k in range(pos + 1, end + 1)]
            else:
                lengths = {len(v) for v in allowed}
                candidates = [location[pos:pos + n] for n in lengths if location[pos:pos + n] in allowed]
            for v in candidates:
                acc[col] = v
                rec(i + 1, pos + len(v), acc)
                del acc[col]

        rec(0, 0, {})
        return found


# --------------------------------------------------------------------------
# The records' own partition values
# --------------------------------------------------------------------------

def sanitise(s):
    out = []
    for ch in s:
        out.append(ch if (ch.isascii() and (ch.isalnum() or ch in "._=-")) else "_")
    return "".join(out)


def record_fields(line, fmt, produced):
    rec = h.loads_exact(line)
    if fmt == "raw":
        act = rec["dynamodb"]["ApproximateCreationDateTime"]
        ms = int(act.text if isinstance(act, h.Num) else act)
        return {"table": rec["tableName"], "event_name": rec["eventName"], "stream": STREAM,
                "shard_id": produced.records[rec["eventID"]][1],
                "event_time": _dt.datetime.fromtimestamp(ms // 1000, tz=UTC)}
    t = _dt.datetime.strptime(rec["event_time"][:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    return {"table": rec["table"], "event_name": rec["event_name"], "stream": STREAM,
            "shard_id": rec["shard_id"], "event_time": t}


def run_ddl(sh, *args):
    cmd = [h.shardhose_bin(), "athena-ddl", "--config", sh.config_path] + list(args)
    h.log("running %s" % " ".join(cmd))
    p = subprocess.run(cmd, capture_output=True, env=sh.env(), cwd=sh.workdir, timeout=60)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


class AthenaDdlTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work_cm = h.TempDir()
        cls.work = cls.work_cm.__enter__()
        cls.emu = h.Emulators(streams={STREAM: 2})
        cls.emu.__enter__()
        gen = h.ChangeRecordGenerator(seed=44, tables=("orders", "user-sessions"))
        records = gen.batch(300)
        # Times that cross year, month and day boundaries, and an early one.
        for iso in ("2023-12-31T23:59:59.999", "2024-01-01T00:00:00.000", "2024-02-29T12:30:00.000",
                    "2021-03-01T00:00:00.001"):
            ms = int(_dt.datetime.fromisoformat(iso).replace(tzinfo=UTC).timestamp() * 1000)
            records.append(gen.record(event_time_ms=ms))
        cls.produced = h.produce(cls.emu.kinesis, STREAM, records, gen.malformed())

    @classmethod
    def tearDownClass(cls):
        cls.emu.__exit__(None, None, None)
        cls.work_cm.__exit__(None, None, None)

    def check_projection(self, objects, table, root, fmt, expected_columns):
        """`objects`: [Obj]; `root`: what precedes the object key in S3
        ("s3://lake/"); `expected_columns`: column -> (source, strftime or
        None) saying what each value must be for the records in the object."""
        self.assertEqual(table.columns, list(expected_columns), table.sql)
        projection = Projection(table, _dt.datetime.now(UTC))
        in_table = [o for o in objects if (root + o.key).startswith(table.location)]
        outside = [o.key for o in objects if not (root + o.key).startswith(table.location)]
        self.assertTrue(in_table, "no object under LOCATION %s" % table.location)
        self.assertTrue(all(k.startswith("errors/") for k in outside),
                        "objects outside LOCATION that are not error objects: %s" % outside[:5])
        seen_values = {c: set() for c in table.columns}
        lines = 0
        for o in in_table:
            prefix = root + h.key_dir(o.key)
            matches = projection.match(prefix)
            self.assertTrue(matches, "partition prefix %s is not the storage.location.template %s with "
                                     "projected values" % (prefix, table.template))
            self.assertEqual(len(matches), 1, "ambiguous: %s -> %s" % (prefix, matches))
            values = matches[0]
            for c, v in values.items():
                seen_values[c].add(v)
            for line in o.lines:
                lines += 1
                f = record_fields(line, fmt, self.produced)
                for col, (source, strftime) in expected_columns.items():
                    if source == "arrival_time":
                        continue  # not in the line; the range check above covers it
                    want = f[source].strftime(strftime) if strftime else sanitise(f[source])
                    self.assertEqual(values[col], want, "%s: column %s" % (o.key, col))
        h.log("%d objects, %d lines, partition values: %s" % (
            len(in_table), lines, {c: sorted(v)[:4] + (["..."] if len(v) > 4 else []) for c, v in seen_values.items()}))
        self.assertEqual(lines, len(self.produced.records), "every record is in a projected partition")
        return seen_values

    def test_default_prefix_on_s3(self):
        sh = h.Shardhose(self.emu, os.path.join(self.work, "default"), STREAM, max_interval_s=3600)
        sh.drain()
        rc, sql, err = run_ddl(sh)
        self.assertEqual(rc, 0, err)
        table = Table(sql)
        self.assertEqual((table.database, table.name), ("default", "ddb_athena"))
        self.assertEqual(table.location, "s3://%s/ddb/" % h.BUCKET)
        self.assertEqual(table.template, "s3://%s/ddb/${table_name}/dt=${dt}/hr=${hr}/" % h.BUCKET)
        self.assertIn("table_name is injected", err)
        for col in h.UNMARSHALLED_FIELDS:
            self.assertIn("`%s` " % col, sql)
        self.assertIn('CREATE OR REPLACE VIEW "default"."ddb_athena_latest" AS', sql)
        objects = h.s3_objects(self.emu.s3)
        seen = self.check_projection(objects, table, "s3://%s/" % h.BUCKET, "unmarshalled", {
            "table_name": ("table", None), "dt": ("event_time", "%Y-%m-%d"), "hr": ("event_time", "%H")})
        self.assertEqual(seen["table_name"], {"orders", "user-sessions"})
        self.assertIn("2023-12-31", seen["dt"])
        self.assertIn("2021-03-01", seen["dt"])

        # With the tables known, table_name is an enum and nothing is injected.
        rc, sql, err = run_ddl(sh, "--partition-values", "table_name=orders,user-sessions")
        self.assertEqual(rc, 0, err)
        self.assertNotIn("injected", sql)
        self.check_projection(objects, Table(sql), "s3://%s/" % h.BUCKET, "unmarshalled", {
            "table_name": ("table", None), "dt": ("event_time", "%Y-%m-%d"), "hr": ("event_time", "%H")})

    def test_split_date_arrival_time_raw_format(self):
        outdir = os.path.join(self.work, "split-out")
        prefix = ("cdc/{event_name}/year={event_time:%Y}/month={event_time:%m}/day={event_time:%d}/"
                  "{event_time:%H}/ah={arrival_time:%Y%m%d%H}/{stream}/s-{shard_id}/")
        sh = h.Shardhose(self.emu, os.path.join(self.work, "split"), STREAM, output_dir=outdir,
                         format="raw", prefix=prefix, max_interval_s=3600)
        sh.drain()
        root = "s3://archive/replica/"
        rc, sql, err = run_ddl(sh, "--location", root, "--database", "lake", "--table", "cdc_raw",
                               "--since", "2021-01-01")
        self.assertEqual(rc, 0, err)
        table = Table(sql)
        self.assertEqual((table.database, table.name), ("lake", "cdc_raw"))
        self.assertEqual(table.location, root + "cdc/")
        self.assertNotIn("VIEW", sql)
        self.assertIn("no <table>_latest view for format = raw", err)
        self.assertEqual(table.props["projection.event_name.type"], "enum")
        self.assertEqual(table.props["projection.year.type"], "date")
        self.assertEqual(table.props["projection.ah.format"], "yyyyMMddHH")
        self.assertEqual(table.props["projection.stream.values"], STREAM)
        objects = h.file_objects(outdir)
        seen = self.check_projection(objects, table, root, "raw", {
            "event_name": ("event_name", None), "year": ("event_time", "%Y"), "month": ("event_time", "%m"),
            "day": ("event_time", "%d"), "hour": ("event_time", "%H"), "ah": ("arrival_time", None),
            "stream": ("stream", None), "shard_id": ("shard_id", None)})
        self.assertEqual(seen["event_name"], {"INSERT", "MODIFY", "REMOVE"})
        self.assertEqual(seen["year"], {"2021", "2023", "2024"})
        self.assertEqual(seen["shard_id"], {r[1] for r in self.produced.records.values()})

    def test_inexpressible_prefix_rejected(self):
        sh = h.Shardhose(self.emu, os.path.join(self.work, "reject"), STREAM,
                         prefix="ddb/{table}/day={event_time:%Y-%m-%e}/")
        rc, sql, err = run_ddl(sh)
        self.assertEqual(rc, 2, err)
        self.assertEqual(sql, "")
        self.assertIn("{event_time:%Y-%m-%e}", err)
        self.assertIn("%e", err)

        sh.sections["output"]["prefix"] = "ddb/{table}/dt={event_time:%Y-%m-%d}"
        sh.write_config()
        rc, sql, err = run_ddl(sh)
        self.assertEqual(rc, 2, err)
        self.assertIn("after the last '/'", err)


if __name__ == "__main__":
    unittest.main()
