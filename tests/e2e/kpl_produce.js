// Aggregates user records with the aws-kinesis-agg npm package (the KPL
// aggregated record format), for tests/e2e/test_kpl.py.
//
// stdin:  JSON [[{"partitionKey": "...", "data": "<base64>"}, ...], ...]:
//         groups of user records; each group becomes one aggregated record.
// stdout: one line per group, in order: the aggregated record's Data in
//         base64. Exit 1 (message on stderr) if a group does not aggregate
//         into exactly one record.
//
// Run with NODE_PATH (or cwd) pointing at tests/emulators/node_modules.
'use strict';

const agg = require('aws-kinesis-agg');

function aggregateGroup(group) {
  return new Promise((resolve, reject) => {
    const records = group.map((r) => ({partitionKey: r.partitionKey, data: Buffer.from(r.data, 'base64')}));
    const out = [];
    agg.aggregate(records, (encoded, done) => {
      out.push(Buffer.from(encoded.data).toString('base64'));
      done();
    }, () => {
      if (out.length !== 1) return reject(new Error(`a group of ${group.length} gave ${out.length} aggregated records`));
      resolve(out[0]);
    }, (err) => reject(err));
  });
}

async function main() {
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  const groups = JSON.parse(input);
  const lines = [];
  for (const g of groups) lines.push(await aggregateGroup(g));
  process.stdout.write(lines.map((l) => l + '\n').join(''));
}

main().catch((err) => {
  process.stderr.write(`kpl_produce: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
