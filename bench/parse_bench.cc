// simdjson (on-demand) against the rapidjson paths shardhose parses with
// (issue 14, target 2): measured, to decide where simdjson would pay (the
// issue's bar: >= 1.3x). Built only when libsimdjson-dev is installed
// (bench/CMakeLists.txt); nothing in the product uses simdjson.
//
// The same bytes for both sides: bench/change_records.h's records, in
// GetRecords pages of 1,000 as bench/hot_path_bench.cc makes them.
//
//   envelope   a GetRecords answer to record views (Data, SequenceNumber,
//              PartitionKey as views into the body, ApproximateArrivalTimestamp
//              as ms): poll::ParseGetRecords (rapidjson DOM, in situ, as the
//              daemon does today) against simdjson on-demand extracting the
//              same fields (raw string views: base64 and digits have no
//              escapes);
//   parse      one change record's JSON (Data decoded, outside the timing),
//              every value visited: rapidjson's SAX Reader, in situ with
//              numbers as strings (the decoder's flags) into a handler that
//              accepts everything, against simdjson on-demand walking every
//              key and value (strings unescaped, numbers as their raw text);
//              each copies the record into a reused padded buffer first, as
//              the decoder does;
//   decode     decode::Decoder::Decode of the same records (parse + unmarshal
//              + serialise, the whole stage), for scale.
// CPU time of the process (one thread), median of --rounds; MB = the JSON
// bytes parsed (answers for envelope, decoded Data for parse and decode).
//
// Usage: parse_bench [--records 100000] [--rounds 5]
#include <rapidjson/reader.h>
#include <simdjson.h>
#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "bench_util.h"
#include "change_records.h"
#include "common/base64.h"
#include "decode/change_record.h"
#include "poll/kinesis_client.h"

#define PARSE_BENCH_TEXT2(x) #x
#define PARSE_BENCH_TEXT(x) PARSE_BENCH_TEXT2(x)  // SIMDJSON_VERSION is a bare 3.0.1

namespace {

using namespace shardhose;
using bench::CpuSeconds;
namespace od = simdjson::ondemand;

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::vector<std::string> MakePages(int records, std::vector<std::string>* data) {
  std::mt19937_64 rng(42);
  std::vector<std::string> pages;
  const std::string seq_prefix = "4968047197856839626837198121063461017808541286720";
  for (int i = 0; i < records;) {
    std::string body = "{\"Records\":[";
    for (int k = 0; k < 1000 && i < records; ++k, ++i) {
      if (k) body += ',';
      std::string rec = bench::ChangeRecord(rng, i);
      body += "{\"Data\":\"" + Base64Encode(rec) + "\",\"PartitionKey\":\"pk\",\"SequenceNumber\":\"" + seq_prefix +
              std::to_string(1000000 + i) + "\",\"ApproximateArrivalTimestamp\":1716200000.123}";
      data->push_back(std::move(rec));
    }
    body += "],\"NextShardIterator\":\"AAAA\",\"MillisBehindLatest\":0}";
    pages.push_back(std::move(body));
  }
  return pages;
}

// rapidjson SAX: accepts everything, keeps nothing.
struct NullHandler : rapidjson::BaseReaderHandler<rapidjson::UTF8<>, NullHandler> {
  size_t values = 0;
  bool Default() {
    ++values;
    return true;
  }
  bool RawNumber(const char*, rapidjson::SizeType, bool) { return Default(); }
  bool String(const char*, rapidjson::SizeType, bool) { return Default(); }
  bool Key(const char*, rapidjson::SizeType, bool) { return Default(); }
  bool EndObject(rapidjson::SizeType) { return true; }  // a container counts once, as in Walk()
  bool EndArray(rapidjson::SizeType) { return true; }
};

// simdjson on-demand: every key and value visited once.
simdjson::error_code Walk(od::value v, size_t* values) {
  od::json_type t;
  if (auto e = v.type().get(t)) return e;
  ++*values;
  switch (t) {
    case od::json_type::object: {
      od::object o;
      if (auto e = v.get_object().get(o)) return e;
      for (auto field : o) {
        std::string_view key;
        if (auto e = field.unescaped_key().get(key)) return e;
        ++*values;
        od::value x;
        if (auto e = field.value().get(x)) return e;
        if (auto e = Walk(x, values)) return e;
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::array: {
      od::array a;
      if (auto e = v.get_array().get(a)) return e;
      for (auto item : a) {
        od::value x;
        if (auto e = item.get(x)) return e;
        if (auto e = Walk(x, values)) return e;
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::string: {
      std::string_view s;
      return v.get_string().get(s);
    }
    case od::json_type::number: {
      std::string_view raw = v.raw_json_token();  // the exact text, as the decoder keeps numbers
      return raw.empty() ? simdjson::NUMBER_ERROR : simdjson::SUCCESS;
    }
    case od::json_type::boolean: {
      bool b;
      return v.get_bool().get(b);
    }
    case od::json_type::null:
      return v.is_null() ? simdjson::SUCCESS : simdjson::INCORRECT_TYPE;
  }
  return simdjson::SUCCESS;
}

}  // namespace

int main(int argc, char** argv) {
  int records = 100000, rounds = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--records") records = std::atoi(argv[i + 1]);
    if (a == "--rounds") rounds = std::atoi(argv[i + 1]);
  }
  std::vector<std::string> data;
  const std::vector<std::string> pages = MakePages(records, &data);
  double page_mb = 0, data_mb = 0;
  for (const auto& p : pages) page_mb += static_cast<double>(p.size()) / 1e6;
  for (const auto& d : data) data_mb += static_cast<double>(d.size()) / 1e6;
  std::printf("parse_bench: %d records, %.1f MB of GetRecords answers, %.1f MB of change records; simdjson %s (%s)\n",
              records, page_mb, data_mb, PARSE_BENCH_TEXT(SIMDJSON_VERSION),
              simdjson::get_active_implementation()->name().c_str());

  std::vector<double> env_rj, env_sj, parse_rj, parse_sj, decode_full;
  size_t check_rj = 0, check_sj = 0;
  std::string buf;
  buf.reserve(1 << 20);
  simdjson::padded_string page_buf;
  od::parser parser;
  poll::RecordsPage page;
  for (int r = 0; r < rounds; ++r) {
    // envelope: rapidjson (the daemon's ParseGetRecords; the body is copied
    // into the page, as a read from the network would put it there).
    double c0 = CpuSeconds();
    for (const auto& body : pages) {
      page.body = body;
      if (!poll::ParseGetRecords(&page).ok()) return 1;
      check_rj += page.records.size();
    }
    env_rj.push_back(CpuSeconds() - c0);
    // envelope: simdjson on-demand (the body copied into a padded buffer).
    c0 = CpuSeconds();
    std::vector<poll::KinesisRecordView> views;
    for (const auto& body : pages) {
      buf.assign(body);
      buf.append(simdjson::SIMDJSON_PADDING, '\0');
      od::document doc;
      if (parser.iterate(buf.data(), body.size(), buf.size()).get(doc)) return 1;
      views.clear();
      od::array recs;
      if (doc["Records"].get_array().get(recs)) return 1;
      for (auto rec : recs) {
        od::object o;
        if (rec.get_object().get(o)) return 1;
        poll::KinesisRecordView v;
        for (auto field : o) {
          std::string_view key;
          if (field.unescaped_key().get(key)) return 1;
          od::value x = field.value();
          if (key == "ApproximateArrivalTimestamp") {
            double ts;
            if (x.get_double().get(ts)) return 1;
            v.arrival_ms = static_cast<int64_t>(std::llround(ts * 1000.0));
            continue;
          }
          simdjson::ondemand::raw_json_string raw;
          if (x.get_raw_json_string().get(raw)) return 1;
          // No escapes in base64 or digits: the view ends at the closing quote.
          const char* s = reinterpret_cast<const char*>(raw.raw());
          const std::string_view text(s, static_cast<size_t>(std::strchr(s, '"') - s));
          if (key == "Data") v.data_base64 = text;
          if (key == "SequenceNumber") v.sequence_number = text;
          if (key == "PartitionKey") v.partition_key = text;
        }
        views.push_back(v);
      }
      check_sj += views.size();
    }
    env_sj.push_back(CpuSeconds() - c0);

    // parse: rapidjson SAX, in situ, numbers as strings.
    c0 = CpuSeconds();
    size_t values_rj = 0, values_sj = 0;
    rapidjson::Reader reader;
    for (const auto& d : data) {
      buf.assign(d);
      buf.push_back('\0');
      NullHandler h;
      rapidjson::InsituStringStream in(buf.data());
      if (reader.Parse<rapidjson::kParseInsituFlag | rapidjson::kParseNumbersAsStringsFlag>(in, h).IsError()) return 1;
      values_rj += h.values;
    }
    parse_rj.push_back(CpuSeconds() - c0);
    // parse: simdjson on-demand, every value visited.
    c0 = CpuSeconds();
    for (const auto& d : data) {
      buf.assign(d);
      buf.append(simdjson::SIMDJSON_PADDING, '\0');
      od::document doc;
      if (parser.iterate(buf.data(), d.size(), buf.size()).get(doc)) return 1;
      od::value root;
      if (doc.get_value().get(root)) return 1;
      if (Walk(root, &values_sj)) return 1;
    }
    parse_sj.push_back(CpuSeconds() - c0);
    if (values_rj != values_sj) {
      std::fprintf(stderr, "parse_bench: rapidjson saw %zu values, simdjson %zu\n", values_rj, values_sj);
      return 1;
    }

    // decode: the whole stage, for scale; the pages parsed first, outside
    // the timing (the envelope is measured above).
    std::vector<poll::RecordsPage> parsed(pages.size());
    for (size_t i = 0; i < pages.size(); ++i) {
      parsed[i].body = pages[i];
      if (!poll::ParseGetRecords(&parsed[i]).ok()) return 1;
    }
    decode::Decoder decoder(decode::OutputFormat::kUnmarshalled, "orders-changes");
    decode::DecodedRecord rec;
    c0 = CpuSeconds();
    for (const auto& p : parsed) {
      for (const auto& v : p.records) decoder.Decode(v, "shardId-000000000000", &rec);
    }
    decode_full.push_back(CpuSeconds() - c0);
  }
  if (check_rj != check_sj) return 1;
  const double er = Median(env_rj), es = Median(env_sj), pr = Median(parse_rj), ps = Median(parse_sj),
               dd = Median(decode_full);
  std::printf("median of %d, CPU:\n", rounds);
  std::printf("  envelope  rapidjson DOM in situ %.3f s (%.0f MB/s)  simdjson on-demand %.3f s (%.0f MB/s)  %.2fx\n",
              er, page_mb / er, es, page_mb / es, er / es);
  std::printf("  parse     rapidjson SAX in situ %.3f s (%.0f MB/s)  simdjson on-demand %.3f s (%.0f MB/s)  %.2fx\n",
              pr, data_mb / pr, ps, data_mb / ps, pr / ps);
  std::printf(
      "  decode    Decoder::Decode (base64 + parse + unmarshal + serialise) %.3f s (%.0f MB/s of records); "
      "the rapidjson parse is %.0f%% of it\n",
      dd, data_mb / dd, 100.0 * pr / dd);
  return 0;
}
