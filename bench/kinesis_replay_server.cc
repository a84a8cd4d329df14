// File: bench/kinesis_replay_server.cc
//
// A fast local Kinesis for benchmarking the daemon as a process: it speaks
// the JSON protocol (POST /, X-Amz-Target: Kinesis_20131202.<Op>) for the
// calls shardhose makes — DescribeStreamSummary, ListShards (pages of 1,000
// with NextToken), GetShardIterator (TRIM_HORIZON, LATEST, AT_TIMESTAMP,
// AT/AFTER_SEQUENCE_NUMBER) and GetRecords — from records generated at
// startup. kinesis-local manages ~1 MB/s; this serves hundreds.
//
// A benchmark tool, NOT a test double: it does not verify SigV4, has one
// stream, never reshards, never throttles and never expires an iterator.
// Correctness is tested against kinesis-local (tests/e2e).
//
// Data: N shards. Shard s holds `--records` records at startup and gains
// `--rate` more per second from then on (staggered across shards), so
//   --records M --rate 0      a backlog to drain,
//   --records 0 --rate 0      idle shards,
//   --records 0 --rate R      a low steady rate.
// Record bodies come from a pool of `--pool` pre-generated change records
// (bench/change_records.h) already base64-encoded; record i of shard s is
// pool[(i + 7919 s) % pool]. Event times span --spread-hours across the
// pool: in pool order, each up to 1 s after its place (`--event-times
// ordered`, the default: a shard reads them in time order, as a table's
// changes arrive, until it wraps around the pool), or uniform over the span
// in any order (`random`: consecutive records rarely share an hour).
// A GetRecords answer is assembled by
// concatenating pre-encoded pieces: at most min(Limit, --page-records)
// records and about 10 MiB, like Kinesis; MillisBehindLatest is 0 once the
// iterator reaches the records available, and NextShardIterator is never
// null (shards stay open).
//
// Sequence numbers: "49" + shard (12 digits) + position (42 digits), 56
// digits like Kinesis, ordered within a shard. Iterators: "it:<shard>:<pos>".
//
// GET /stats answers JSON counters (calls per operation, GetRecords calls
// per shard: the most in any sliding 1 s window and the shortest gap,
// records and Data bytes served); GET /stats?reset=1 also zeroes them.
//
// Usage: kinesis_replay_server [--port 0] [--shards 4] [--records 100000]
//          [--rate 0] [--page-records 10000] [--pool 20000] [--threads 32]
//          [--stream bench] [--spread-hours 6] [--event-times ordered|random]
// Prints "PORT <n>" on stdout once listening; runs until killed.
#include <httplib.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "bench/change_records.h"
#include "common/base64.h"

namespace {

using Steady = std::chrono::steady_clock;

struct Options {
  int port = 0;
  int shards = 4;
  int64_t records = 100000;  // per shard, available at startup
  double rate = 0;           // records per second per shard after startup
  int page_records = 10000;
  int pool = 20000;
  int threads = 32;  // httplib holds a worker per keep-alive connection
  int spread_hours = 6;
  bool ordered = true;  // --event-times
  std::string stream = "bench";
};

constexpr size_t kMaxPageBytes = 10u << 20;  // Kinesis: 10 MiB per GetRecords
constexpr int kRingSize = 16;

struct ShardStats {
  int64_t calls = 0;
  int64_t empty_calls = 0;
  int64_t max_in_1s = 0;
  int64_t min_gap_ms = -1;
  int64_t ring[kRingSize] = {};  // steady ms of the last calls
  int ring_next = 0;
  int ring_fill = 0;
};

class ReplayServer {
 public:
  explicit ReplayServer(Options o) : o_(std::move(o)), stats_(static_cast<size_t>(o_.shards)) {
    std::mt19937_64 rng(42);
    const int64_t spread_ms = static_cast<int64_t>(o_.spread_hours) * 3600000;
    pool_.reserve(static_cast<size_t>(o_.pool));
    for (int i = 0; i < o_.pool; ++i) {
      std::string rec = shardhose::bench::ChangeRecordInSpan(rng, i, o_.pool, 1716192000000, spread_ms, o_.ordered);
      pool_raw_bytes_.push_back(rec.size());
      pool_.push_back(shardhose::Base64Encode(rec));
    }
    start_ = Steady::now();
    start_wall_ms_ =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    for (int s = 0; s < o_.shards; ++s) {
      char id[32];
      std::snprintf(id, sizeof(id), "shardId-%012d", s);
      shard_ids_.emplace_back(id);
    }
  }

  int Run() {
    server_.new_task_queue = [this] { return new httplib::ThreadPool(static_cast<size_t>(o_.threads)); };
    server_.set_keep_alive_max_count(1000000);
    server_.set_tcp_nodelay(true);
    server_.Post("/", [this](const httplib::Request& req, httplib::Response& res) { Handle(req, res); });
    server_.Get("/stats", [this](const httplib::Request& req, httplib::Response& res) {
      res.set_content(Stats(req.has_param("reset")), "application/json");
    });
    const int port =
        o_.port ? (server_.bind_to_port("127.0.0.1", o_.port) ? o_.port : -1) : server_.bind_to_any_port("127.0.0.1");
    if (port <= 0) {
      std::fprintf(stderr, "kinesis_replay_server: cannot bind\n");
      return 1;
    }
    std::printf("PORT %d\n", port);
    std::fflush(stdout);
    return server_.listen_after_bind() ? 0 : 1;
  }

 private:
  int64_t NowMs() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - start_).count();
  }

  // Records of shard s that exist at steady ms `now`.
  int64_t Available(int s, int64_t now) const {
    if (o_.rate <= 0) return o_.records;
    const double stagger = static_cast<double>(s) / o_.shards;
    return o_.records + static_cast<int64_t>(o_.rate * static_cast<double>(now) / 1000.0 + stagger);
  }

  // Wall-clock arrival of record i of shard s (ms since epoch).
  int64_t ArrivalMs(int s, int64_t i) const {
    if (i < o_.records) return start_wall_ms_ - (o_.records - i);
    const double stagger = static_cast<double>(s) / o_.shards;
    return start_wall_ms_ +
           static_cast<int64_t>((static_cast<double>(i - o_.records) + 1 - stagger) * 1000.0 / o_.rate);
  }

  static std::string Seq(int s, int64_t pos) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "49%012d%042lld", s, static_cast<long long>(pos));
    return buf;
  }

  static bool ParseSeq(std::string_view seq, int* s, int64_t* pos) {
    if (seq.size() != 56 || seq.substr(0, 2) != "49") return false;
    *s = std::atoi(std::string(seq.substr(2, 12)).c_str());
    *pos = std::atoll(std::string(seq.substr(14 + 24)).c_str());  // fits in 18 digits
    return true;
  }

  int ShardIndex(std::string_view id) const {
    if (id.size() != 20 || id.substr(0, 8) != "shardId-") return -1;
    const int s = std::atoi(std::string(id.substr(8)).c_str());
    return s >= 0 && s < o_.shards ? s : -1;
  }

  static void Error(httplib::Response& res, int status, const char* type, const std::string& msg) {
    res.status = status;
    res.set_content(std::string("{\"__type\":\"") + type + "\",\"message\":\"" + msg + "\"}",
                    "application/x-amz-json-1.1");
  }

  static std::string Str(const rapidjson::Document& d, const char* name) {
    auto it = d.FindMember(name);
    if (it == d.MemberEnd() || !it->value.IsString()) return {};
    return std::string(it->value.GetString(), it->value.GetStringLength());
  }

  void Handle(const httplib::Request& req, httplib::Response& res) {
    const std::string target = req.get_header_value("X-Amz-Target");
    const std::string_view prefix = "Kinesis_20131202.";
    if (target.compare(0, prefix.size(), prefix) != 0) {
      return Error(res, 400, "UnknownOperationException", "no X-Amz-Target");
    }
    const std::string op = target.substr(prefix.size());
    rapidjson::Document d;
    d.Parse(req.body.c_str(), req.body.size());
    if (d.HasParseError() || !d.IsObject()) return Error(res, 400, "SerializationException", "bad JSON");
    if (op == "GetRecords") return GetRecords(d, res);
    if (op == "GetShardIterator") return GetShardIterator(d, res);
    if (op == "ListShards") return ListShards(d, res);
    if (op == "DescribeStreamSummary") return DescribeStreamSummary(res);
    Error(res, 400, "UnknownOperationException", op);
  }

  std::string Arn() const { return "arn:aws:kinesis:us-east-1:000000000000:stream/" + o_.stream; }

  void DescribeStreamSummary(httplib::Response& res) {
    other_calls_++;
    res.set_content("{\"StreamDescriptionSummary\":{\"StreamName\":\"" + o_.stream + "\",\"StreamARN\":\"" + Arn() +
                        "\",\"StreamStatus\":\"ACTIVE\",\"RetentionPeriodHours\":24,\"OpenShardCount\":" +
                        std::to_string(o_.shards) +
                        ",\"StreamModeDetails\":{\"StreamMode\":\"PROVISIONED\"},\"EnhancedMonitoring\":[],"
                        "\"EncryptionType\":\"NONE\",\"ConsumerCount\":0,\"StreamCreationTimestamp\":"
                        "1716192000}}",
                    "application/x-amz-json-1.1");
  }

  void ListShards(const rapidjson::Document& d, httplib::Response& res) {
    other_calls_++;
    int first = 0;
    const std::string token = Str(d, "NextToken");
    if (!token.empty()) first = std::atoi(token.c_str() + (token.rfind("page-", 0) == 0 ? 5 : 0));
    const int last = std::min(o_.shards, first + 1000);
    std::string body = "{\"Shards\":[";
    for (int s = first; s < last; ++s) {
      if (s != first) body += ',';
      body += "{\"ShardId\":\"" + shard_ids_[static_cast<size_t>(s)] +
              "\",\"HashKeyRange\":{\"StartingHashKey\":\"0\",\"EndingHashKey\":\"0\"},"
              "\"SequenceNumberRange\":{\"StartingSequenceNumber\":\"" +
              Seq(s, 0) + "\"}}";
    }
    body += "]";
    if (last < o_.shards) body += ",\"NextToken\":\"page-" + std::to_string(last) + "\"";
    body += "}";
    res.set_content(body, "application/x-amz-json-1.1");
  }

  void GetShardIterator(const rapidjson::Document& d, httplib::Response& res) {
    iterator_calls_++;
    const int s = ShardIndex(Str(d, "ShardId"));
    if (s < 0) return Error(res, 400, "ResourceNotFoundException", "no such shard");
    const std::string type = Str(d, "ShardIteratorType");
    int64_t pos = 0;
    if (type == "LATEST") {
      pos = Available(s, NowMs());
    } else if (type == "AT_SEQUENCE_NUMBER" || type == "AFTER_SEQUENCE_NUMBER") {
      int seq_shard = 0;
      if (!ParseSeq(Str(d, "StartingSequenceNumber"), &seq_shard, &pos) || seq_shard != s) {
        return Error(res, 400, "InvalidArgumentException", "bad StartingSequenceNumber");
      }
      if (type == "AFTER_SEQUENCE_NUMBER") ++pos;
    } else if (type == "AT_TIMESTAMP") {
      auto it = d.FindMember("Timestamp");
      const int64_t ts_ms =
          it != d.MemberEnd() && it->value.IsNumber() ? static_cast<int64_t>(it->value.GetDouble() * 1000.0) : 0;
      // The first record that arrived at or after ts (records are in arrival order).
      int64_t lo = 0, hi = Available(s, NowMs());
      while (lo < hi) {
        const int64_t mid = lo + (hi - lo) / 2;
        if (ArrivalMs(s, mid) < ts_ms)
          lo = mid + 1;
        else
          hi = mid;
      }
      pos = lo;
    } else if (type != "TRIM_HORIZON") {
      return Error(res, 400, "InvalidArgumentException", "bad ShardIteratorType");
    }
    res.set_content("{\"ShardIterator\":\"it:" + std::to_string(s) + ":" + std::to_string(pos) + "\"}",
                    "application/x-amz-json-1.1");
  }

  void GetRecords(const rapidjson::Document& d, httplib::Response& res) {
    const std::string it = Str(d, "ShardIterator");
    int s = -1;
    long long pos = -1;
    if (std::sscanf(it.c_str(), "it:%d:%lld", &s, &pos) != 2 || s < 0 || s >= o_.shards || pos < 0) {
      return Error(res, 400, "InvalidArgumentException", "bad ShardIterator");
    }
    int limit = o_.page_records;
    auto l = d.FindMember("Limit");
    if (l != d.MemberEnd() && l->value.IsInt()) limit = std::min(limit, std::max(1, l->value.GetInt()));
    const int64_t now = NowMs();
    const int64_t avail = Available(s, now);
    std::string body;
    body.reserve(std::min<size_t>(kMaxPageBytes + 4096, static_cast<size_t>(limit) * 1700 + 256));
    body += "{\"Records\":[";
    int64_t p = pos;
    uint64_t raw_bytes = 0;
    char tail[160];
    for (int n = 0; n < limit && p < avail && body.size() < kMaxPageBytes; ++n, ++p) {
      const size_t k = static_cast<size_t>((p + 7919LL * s) % o_.pool);
      if (n) body += ',';
      body += "{\"Data\":\"";
      body += pool_[k];
      const int64_t arrival = ArrivalMs(s, p);
      const int len = std::snprintf(tail, sizeof(tail),
                                    "\",\"PartitionKey\":\"pk%zu\",\"SequenceNumber\":\"49%012d%042lld\","
                                    "\"ApproximateArrivalTimestamp\":%lld.%03lld}",
                                    k, s, static_cast<long long>(p), static_cast<long long>(arrival / 1000),
                                    static_cast<long long>(arrival % 1000));
      body.append(tail, static_cast<size_t>(len));
      raw_bytes += pool_raw_bytes_[k];
    }
    const int64_t served = p - pos;
    const int64_t behind = p < avail ? std::max<int64_t>(1, start_wall_ms_ + now - ArrivalMs(s, p)) : 0;
    body += "],\"NextShardIterator\":\"it:" + std::to_string(s) + ":" + std::to_string(p) +
            "\",\"MillisBehindLatest\":" + std::to_string(behind) + "}";
    Count(s, now, served, raw_bytes, body.size());
    res.body = std::move(body);
    res.set_header("Content-Type", "application/x-amz-json-1.1");
  }

  void Count(int s, int64_t now, int64_t records, uint64_t raw_bytes, size_t body_bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    ShardStats& st = stats_[static_cast<size_t>(s)];
    st.calls++;
    if (records == 0) st.empty_calls++;
    int64_t in_1s = 1;
    for (int i = 0; i < st.ring_fill; ++i) in_1s += now - st.ring[i] < 1000;
    st.max_in_1s = std::max(st.max_in_1s, in_1s);
    if (st.ring_fill) {
      const int64_t prev = st.ring[(st.ring_next + kRingSize - 1) % kRingSize];
      if (st.min_gap_ms < 0 || now - prev < st.min_gap_ms) st.min_gap_ms = now - prev;
    }
    st.ring[st.ring_next] = now;
    st.ring_next = (st.ring_next + 1) % kRingSize;
    st.ring_fill = std::min(st.ring_fill + 1, kRingSize);
    records_ += records;
    raw_bytes_ += raw_bytes;
    body_bytes_ += body_bytes;
  }

  std::string Stats(bool reset) {
    std::lock_guard<std::mutex> lock(mu_);
    const int64_t now = NowMs();
    int64_t calls = 0, empty = 0, max_in_1s = 0, min_gap = -1, shards_called = 0;
    for (const auto& st : stats_) {
      calls += st.calls;
      empty += st.empty_calls;
      max_in_1s = std::max(max_in_1s, st.max_in_1s);
      shards_called += st.calls > 0;
      if (st.min_gap_ms >= 0 && (min_gap < 0 || st.min_gap_ms < min_gap)) min_gap = st.min_gap_ms;
    }
    const double window_s = static_cast<double>(now - window_start_ms_) / 1000.0;
    std::string out =
        "{\"window_s\":" + std::to_string(window_s) + ",\"shards\":" + std::to_string(o_.shards) +
        ",\"shards_called\":" + std::to_string(shards_called) + ",\"get_records_calls\":" + std::to_string(calls) +
        ",\"get_records_empty\":" + std::to_string(empty) + ",\"get_records_per_shard_per_s\":" +
        std::to_string(window_s > 0 ? static_cast<double>(calls) / window_s / o_.shards : 0) +
        ",\"max_calls_in_1s_per_shard\":" + std::to_string(max_in_1s) + ",\"min_gap_ms\":" + std::to_string(min_gap) +
        ",\"get_shard_iterator_calls\":" + std::to_string(iterator_calls_.load()) +
        ",\"other_calls\":" + std::to_string(other_calls_.load()) + ",\"records\":" + std::to_string(records_) +
        ",\"data_bytes\":" + std::to_string(raw_bytes_) + ",\"body_bytes\":" + std::to_string(body_bytes_) + "}";
    if (reset) {
      for (auto& st : stats_) st = ShardStats{};
      records_ = 0;
      raw_bytes_ = 0;
      body_bytes_ = 0;
      iterator_calls_ = 0;
      other_calls_ = 0;
      window_start_ms_ = now;
    }
    return out;
  }

  Options o_;
  std::vector<std::string> pool_;       // base64 of each record
  std::vector<size_t> pool_raw_bytes_;  // its decoded size
  std::vector<std::string> shard_ids_;
  Steady::time_point start_;
  int64_t start_wall_ms_ = 0;
  httplib::Server server_;

  std::mutex mu_;
  std::vector<ShardStats> stats_;  // GUARDED_BY(mu_), and the counters below
  int64_t records_ = 0;
  uint64_t raw_bytes_ = 0;
  uint64_t body_bytes_ = 0;
  int64_t window_start_ms_ = 0;
  std::atomic<int64_t> iterator_calls_{0};
  std::atomic<int64_t> other_calls_{0};
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h" || i + 1 >= argc) {
      std::fprintf(stderr,
                   "usage: kinesis_replay_server [--port 0] [--shards 4] [--records 100000] [--rate 0]\n"
                   "         [--page-records 10000] [--pool 20000] [--threads 32] [--stream bench]\n"
                   "         [--spread-hours 6] [--event-times ordered|random]\n");
      return a == "--help" || a == "-h" ? 0 : 2;
    }
    const char* v = argv[++i];
    if (a == "--port")
      o.port = std::atoi(v);
    else if (a == "--shards")
      o.shards = std::max(1, std::atoi(v));
    else if (a == "--records")
      o.records = std::max(0LL, std::atoll(v));
    else if (a == "--rate")
      o.rate = std::max(0.0, std::atof(v));
    else if (a == "--page-records")
      o.page_records = std::max(1, std::atoi(v));
    else if (a == "--pool")
      o.pool = std::max(1, std::atoi(v));
    else if (a == "--threads")
      o.threads = std::max(1, std::atoi(v));
    else if (a == "--stream")
      o.stream = v;
    else if (a == "--spread-hours")
      o.spread_hours = std::max(1, std::atoi(v));
    else if (a == "--event-times" && (std::string_view(v) == "ordered" || std::string_view(v) == "random"))
      o.ordered = std::string_view(v) == "ordered";
    else {
      std::fprintf(stderr, "kinesis_replay_server: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  ReplayServer server(o);
  return server.Run();
}
