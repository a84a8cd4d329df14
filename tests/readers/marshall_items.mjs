// Export lines ({"Item": ...}, DYNAMODB_JSON) marshalled by the AWS SDK's own
// marshaller (@aws-sdk/util-dynamodb's marshall), for the load's e2e fixtures
// (tests/e2e/test_load.py).
//
// stdin: one item per line in plain JSON, with tags for what JSON cannot
// say: {"$n": "<digits>"} a number kept as text (the SDK's NumberValue),
// {"$b": "<base64>"} binary (Uint8Array), {"$ss": [...]}, {"$ns": ["1", ...]}
// and {"$bs": ["<base64>", ...]} sets (Set). Plain JSON numbers stay JS
// numbers (the SDK writes them with String(n)); null, booleans, strings,
// arrays and objects are themselves.
// stdout: {"Item": marshall(item)} per line, binary as base64 (as the JSON
// protocol and an export's data files carry it).
import { createInterface } from "node:readline";
import { marshall, NumberValueImpl as NumberValue } from "@aws-sdk/util-dynamodb";

function toNative(v) {
  if (Array.isArray(v)) return v.map(toNative);
  if (v === null || typeof v !== "object") return v;
  if ("$n" in v) return new NumberValue(v.$n);
  if ("$b" in v) return new Uint8Array(Buffer.from(v.$b, "base64"));
  if ("$ss" in v) return new Set(v.$ss);
  if ("$ns" in v) return new Set(v.$ns.map((n) => new NumberValue(n)));
  if ("$bs" in v) return new Set(v.$bs.map((b) => new Uint8Array(Buffer.from(b, "base64"))));
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toNative(x)]));
}

const base64 = (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString("base64") : v);

for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  if (line.trim() === "") continue;
  const item = marshall(toNative(JSON.parse(line)), { removeUndefinedValues: true });
  process.stdout.write(JSON.stringify({ Item: item }, base64) + "\n");
}
