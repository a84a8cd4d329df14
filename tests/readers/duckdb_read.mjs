// Reads each .json.gz named on the command line with DuckDB and prints one
// JSON line per file:
//   {"file": path, "rows": <read_ndjson_auto row count>,
//    "event_ids": [event_id of every line that has one],
//    "lines": [every line as text, via read_csv with no quoting]}
// Extension autoloading is off: JSON support is built into the binding, and
// nothing may be downloaded at test time. Exit status 1 on any error.
import { DuckDBInstance } from '@duckdb/node-api';

const quote = (s) => "'" + s.replaceAll("'", "''") + "'";

async function main(files) {
  const inst = await DuckDBInstance.create(':memory:', {
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
  });
  const con = await inst.connect();
  for (const file of files) {
    const f = quote(file);
    const rows = await con.runAndReadAll(
      `select count(*)::BIGINT as n from read_ndjson_auto(${f}, compression='gzip')`);
    const ids = await con.runAndReadAll(
      `select event_id from read_ndjson(${f}, compression='gzip', columns={'event_id': 'VARCHAR'}) ` +
      `where event_id is not null`);
    const lines = await con.runAndReadAll(
      `select line from read_csv(${f}, compression='gzip', columns={'line': 'VARCHAR'}, header=false, ` +
      `auto_detect=false, delim=${quote('\x01')}, quote='', escape='', new_line='\\n', ` +
      `max_line_size=67108864)`);
    process.stdout.write(JSON.stringify({
      file,
      rows: Number(rows.getRowObjectsJson()[0].n),
      event_ids: ids.getRows().map((r) => r[0]),
      lines: lines.getRows().map((r) => r[0]),
    }) + '\n');
  }
}

main(process.argv.slice(2)).catch((e) => {
  process.stderr.write(String(e && e.stack || e) + '\n');
  process.exit(1);
});
