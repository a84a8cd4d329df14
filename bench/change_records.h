// File: bench/change_records.h
//
// Realistic DynamoDB change records (the JSON that "Kinesis Data Streams for
// DynamoDB" puts in a record's Data) for benchmarks: an order with a nested
// customer map, a list of three item maps, a string set and a NULL;
// INSERT / MODIFY / REMOVE mixed evenly (INSERT has NewImage only, REMOVE
// OldImage only, MODIFY both), ~0.6-1.2 KB each; and the same item as a
// line of a DynamoDB export (bench/load_bench.cc).
//
// The same shape and sizes as the records of bench/hot_path_bench.cc, so
// figures of the two benchmarks describe the same bytes.
//
// Deterministic for a given generator state. Not a test double: benchmarks
// only (tests use tests/e2e/harness.py's generator, which covers every type).
// Thread-safety: pure functions of their arguments.
#pragma once

#include <cstdint>
#include <cstring>
#include <random>
#include <string>

namespace shardhose::bench {

// The item every record carries: an order keyed by pk "order#<id>" and sort
// key `i`.
inline std::string OrderImage(std::mt19937_64& rng, int64_t i, const std::string& id) {
  std::string image =
      R"({"pk":{"S":"order#)" + id + R"("},"sk":{"N":")" + std::to_string(i) +
      R"("},"status":{"S":"SHIPPED"},"total":{"N":"1234.56"},"customer":{"M":{"name":{"S":"Ada Lovelace"},"email":{"S":"ada@example.com"},"vip":{"BOOL":true}}},"items":{"L":[)";
  for (int k = 0; k < 3; ++k) {
    if (k) image += ',';
    image += R"({"M":{"sku":{"S":"SKU-)" + std::to_string(rng() % 100000) + R"("},"qty":{"N":")" +
             std::to_string(1 + rng() % 5) + R"("},"price":{"N":"19.99"}}})";
  }
  image += R"(]},"tags":{"SS":["gift","express"]},"note":{"NULL":true}})";
  return image;
}

// One change record. `i` becomes the sort key; ApproximateCreationDateTime
// is `base_ms` plus a uniform offset in [0, spread_ms), so the event-time
// partitions are those of that window.
inline std::string ChangeRecord(std::mt19937_64& rng, int64_t i, int64_t base_ms = 1716200000000,
                                int64_t spread_ms = 86400000) {
  const char* names[] = {"INSERT", "MODIFY", "REMOVE"};
  const char* ev = names[rng() % 3];
  std::string id = std::to_string(rng());
  int64_t ms = base_ms + static_cast<int64_t>(rng() % static_cast<uint64_t>(spread_ms > 0 ? spread_ms : 1));
  std::string image = OrderImage(rng, i, id);
  std::string r =
      R"({"awsRegion":"us-east-1","eventID":")" + id + R"(","eventName":")" + ev +
      R"(","userIdentity":null,"recordFormat":"application/json","tableName":"orders","dynamodb":{"ApproximateCreationDateTime":)" +
      std::to_string(ms) + R"(,"Keys":{"pk":{"S":"order#)" + id + R"("},"sk":{"N":")" + std::to_string(i) + R"("}},)";
  if (std::strcmp(ev, "REMOVE") != 0) r += R"("NewImage":)" + image + ",";
  if (std::strcmp(ev, "INSERT") != 0) r += R"("OldImage":)" + image + ",";
  r += R"("SizeBytes":512},"eventSource":"aws:dynamodb"})";
  return r;
}

// Record i of n whose event times span [base_ms, base_ms + span_ms): in
// stream order (`ordered`: each up to 1 s after its place i/n in the span,
// as a table's changes arrive) or uniform over the span in any order
// (consecutive records rarely share an hour). The records are otherwise the
// same either way (the same draws from rng).
inline std::string ChangeRecordInSpan(std::mt19937_64& rng, int64_t i, int64_t n, int64_t base_ms, int64_t span_ms,
                                      bool ordered) {
  return ordered ? ChangeRecord(rng, i, base_ms + span_ms * i / (n > 0 ? n : 1), 1000)
                 : ChangeRecord(rng, i, base_ms, span_ms);
}

// One line of a DynamoDB export's data file (DYNAMODB_JSON): {"Item": <the
// order image>} with a random 32-hex-digit "ref" and a random "total", so
// the gzip'd export is not more compressible than a real table's (~0.5 KB
// a line; the export gzips ~7x), without its '\n'.
inline std::string ExportItemLine(std::mt19937_64& rng, int64_t i) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string ref(32, '0');
  for (char& c : ref) c = kHex[rng() % 16];
  std::string image = OrderImage(rng, i, std::to_string(rng()));
  const size_t total = image.find(R"("total":{"N":"1234.56"})");
  if (total != std::string::npos) {
    image.replace(total, 23,
                  R"("total":{"N":")" + std::to_string(rng() % 100000) + "." + std::to_string(10 + rng() % 90) + "\"}");
  }
  return R"({"Item":{"ref":{"S":")" + ref + "\"}," + image.substr(1) + "}";
}

}  // namespace shardhose::bench
