// A Kinesis consumer of "Kinesis Data Streams for DynamoDB" records written
// the way users write one in Node.js with the AWS SDK v3 -- the peer
// shardhose is measured against (issue 14, target 4). Not a product, not a
// test: bench/daemon_bench.py `peer` runs it on the same bytes as
// shardhose.
//
// What it does, the usual way:
//   a KinesisClient over HTTP/1.1 keep-alive (NodeHttpHandler);
//   ListShards, then per shard (all shards at once, Promise.all):
//   GetShardIterator TRIM_HORIZON, GetRecords (Limit 10000) until a call
//   returns no records at MillisBehindLatest 0 (drained);
//   per record: JSON.parse of Data, unmarshall() of Keys / NewImage /
//   OldImage with wrapNumbers (numbers exact, as strings: Node 20 has no
//   JSON.rawJSON), one output line (shardhose's fields) with
//   JSON.stringify (sets as arrays);
//   lines buffered per event-time partition (dt=/hr=), each partition
//   gzip'd at level 1 (zlib.gzipSync) and written to --out when it passes
//   --max-bytes or at the end.
//
// Usage: node consumer.mjs --endpoint http://127.0.0.1:PORT --stream bench
//          --out DIR [--max-bytes 134217728] [--level 1]
//        node consumer.mjs --pages DIR [--rounds R] [--max-bytes ...] [--level 1]
// Prints one JSON line: records, data bytes, ndjson bytes, objects.
//
// --pages DIR: in memory, for the in-memory comparison (issue 14's
// ">= 15x"; bench/daemon_bench.py peer-memory). The same client and code,
// but the SDK's request handler answers from the GetRecords answers in DIR
// (hot_path_bench --dump-pages: one shard, the pages in name order), read
// into memory first; objects are gzip'd and dropped, not written. Runs R
// rounds in one process (the JIT warm after the first) and prints, per
// round, the process's CPU (process.cpuUsage) per GB of Data.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { GetRecordsCommand, GetShardIteratorCommand, KinesisClient, ListShardsCommand } from "@aws-sdk/client-kinesis";
import { NumberValueImpl as NumberValue, unmarshall } from "@aws-sdk/util-dynamodb";
import { NodeHttpHandler } from "@smithy/node-http-handler";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, a, i, all) => (a.startsWith("--") ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []),
);
const maxBytes = Number(args["max-bytes"] ?? 134217728);
const level = Number(args.level ?? 1);
// --pages: a request handler that answers from memory, as the network
// would: ListShards one shard, GetShardIterator an iterator, GetRecords the
// next page (a copy, as if just received), then an empty page at the tip.
class PagesHandler {
  constructor(dir) {
    this.pages = readdirSync(dir)
      .filter((f) => f.endsWith(".json"))
      .sort()
      .map((f) => readFileSync(join(dir, f)));
    this.next = 0;
  }
  async handle(request) {
    const target = request.headers["x-amz-target"] ?? "";
    let body;
    if (target.endsWith("ListShards")) body = Buffer.from('{"Shards":[{"ShardId":"shardId-000000000000"}]}');
    else if (target.endsWith("GetShardIterator")) body = Buffer.from('{"ShardIterator":"it"}');
    else if (this.next < this.pages.length) body = this.pages[this.next++];
    else body = Buffer.from('{"Records":[],"NextShardIterator":"it","MillisBehindLatest":0}');
    return {
      response: {
        statusCode: 200,
        reason: "OK",
        headers: { "content-type": "application/x-amz-json-1.1" },
        body: new Uint8Array(body),
      },
    };
  }
  updateHttpClientConfig() {}
  httpHandlerConfigs() {
    return {};
  }
  destroy() {}
}
const pages = args.pages ? new PagesHandler(args.pages) : null;

const client = new KinesisClient({
  endpoint: args.endpoint ?? "http://127.0.0.1:1",
  region: "us-east-1",
  credentials: { accessKeyId: "bench", secretAccessKey: "bench" },
  // HTTP/1.1: the Kinesis client defaults to HTTP/2 (for SubscribeToShard),
  // which the replay server (cpp-httplib, plain http) does not speak.
  requestHandler: pages ?? new NodeHttpHandler({ httpAgent: { keepAlive: true, maxSockets: 50 } }),
});

const replacer = (_k, v) => (v instanceof Set ? [...v] : v instanceof NumberValue ? v.toString() : v);
const image = (m) => (m ? unmarshall(m, { wrapNumbers: true }) : null);

const partitions = new Map(); // "dt=.../hr=.../" -> { lines: [], bytes }
const stats = { records: 0, data_bytes: 0, ndjson_bytes: 0, objects: 0 };
let objectNo = 0;

function flush(key, p) {
  if (p.lines.length === 0) return;
  const body = gzipSync(p.lines.join(""), { level });
  stats.objects += 1;
  p.lines = [];
  p.bytes = 0;
  if (pages) return; // in memory: compressed, then dropped
  const dir = join(args.out, key);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `part-${String(++objectNo).padStart(6, "0")}.json.gz`), body);
}

function handle(record, shardId) {
  stats.records += 1;
  stats.data_bytes += record.Data.length;
  const change = JSON.parse(Buffer.from(record.Data).toString("utf8"));
  const ddb = change.dynamodb;
  const t = new Date(ddb.ApproximateCreationDateTime);
  const line =
    JSON.stringify(
      {
        event_id: change.eventID,
        event_name: change.eventName,
        table: change.tableName,
        event_time: t.toISOString(),
        sequence_number: record.SequenceNumber,
        shard_id: shardId,
        keys: image(ddb.Keys),
        new_image: image(ddb.NewImage),
        old_image: image(ddb.OldImage),
        user_identity: change.userIdentity ?? null,
      },
      replacer,
    ) + "\n";
  const iso = t.toISOString();
  const key = `ddb/${change.tableName}/dt=${iso.slice(0, 10)}/hr=${iso.slice(11, 13)}/`;
  let p = partitions.get(key);
  if (!p) partitions.set(key, (p = { lines: [], bytes: 0 }));
  p.lines.push(line);
  p.bytes += line.length;
  stats.ndjson_bytes += Buffer.byteLength(line);
  if (p.bytes >= maxBytes) flush(key, p);
}

async function readShard(shardId) {
  let { ShardIterator: it } = await client.send(
    new GetShardIteratorCommand({ StreamName: args.stream, ShardId: shardId, ShardIteratorType: "TRIM_HORIZON" }),
  );
  while (it) {
    const page = await client.send(new GetRecordsCommand({ ShardIterator: it, Limit: 10000 }));
    for (const r of page.Records) handle(r, shardId);
    if (page.Records.length === 0 && page.MillisBehindLatest === 0) break;
    it = page.NextShardIterator;
  }
}

async function drain() {
  const shards = [];
  let token;
  do {
    const page = await client.send(new ListShardsCommand(token ? { NextToken: token } : { StreamName: args.stream }));
    shards.push(...page.Shards.map((s) => s.ShardId));
    token = page.NextToken;
  } while (token);
  await Promise.all(shards.map(readShard));
  for (const [key, p] of partitions) flush(key, p);
}

if (!pages) {
  await drain();
  process.stdout.write(JSON.stringify(stats) + "\n");
} else {
  for (let round = 0; round < Number(args.rounds ?? 3); ++round) {
    pages.next = 0;
    partitions.clear();
    Object.assign(stats, { records: 0, data_bytes: 0, ndjson_bytes: 0, objects: 0 });
    const before = process.cpuUsage();
    await drain();
    const used = process.cpuUsage(before);
    const cpu = (used.user + used.system) / 1e6;
    process.stdout.write(JSON.stringify({ ...stats, round, cpu_s: cpu, cpu_s_per_gb: cpu / (stats.data_bytes / 1e9) }) + "\n");
  }
}
