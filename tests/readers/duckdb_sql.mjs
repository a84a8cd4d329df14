// Runs the SQL in the file named on the command line (any number of
// statements, e.g. CREATE VIEW ...; SELECT ...) with DuckDB and prints the
// rows of the last statement as one JSON array of objects. Extension
// autoloading is off (nothing may be downloaded at test time); JSON support
// is built into the binding. Exit status 1 on any error.
import { readFileSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';

async function main(file) {
  const inst = await DuckDBInstance.create(':memory:', {
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
  });
  const con = await inst.connect();
  const result = await con.runAndReadAll(readFileSync(file, 'utf8'));
  process.stdout.write(JSON.stringify(result.getRowObjectsJson()) + '\n');
}

main(process.argv[2]).catch((e) => {
  process.stderr.write(String(e && e.stack || e) + '\n');
  process.exit(1);
});
