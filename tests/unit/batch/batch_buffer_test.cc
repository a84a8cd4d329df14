#include "batch/batch_buffer.h"

#include <gtest/gtest.h>

namespace shardhose::batch {
namespace {

using std::chrono::seconds;

std::string Line(size_t n) { return std::string(n - 1, 'x') + "\n"; }

TEST(BatchBuffer, OneBatchPerPartitionWithShardSpans) {
  SimulatedClock clock;
  BatchBuffer buf({.max_bytes = 1000, .max_interval = seconds(300), .max_records = 0});
  std::vector<SealedBatch> sealed;
  uint64_t a = buf.Append("p/a/", "1\n", "shard-1", "10", clock.Now(), &sealed);
  uint64_t b = buf.Append("p/b/", "2\n", "shard-1", "11", clock.Now(), &sealed);
  EXPECT_EQ(buf.Append("p/a/", "3\n", "shard-2", "5", clock.Now(), &sealed), a);
  EXPECT_EQ(buf.Append("p/a/", "4\n", "shard-1", "12", clock.Now(), &sealed), a);
  EXPECT_NE(a, b);
  EXPECT_TRUE(sealed.empty());
  EXPECT_EQ(buf.open_batches(), 2u);
  EXPECT_EQ(buf.open_bytes(), 8u);

  buf.SealAll(FlushCause::kShutdown, &sealed);
  for (auto& done : sealed) Finish(&done);  // the uploader's step
  ASSERT_EQ(sealed.size(), 2u);
  const SealedBatch& pa = sealed[0].partition == "p/a/" ? sealed[0] : sealed[1];
  EXPECT_EQ(pa.body, "1\n4\n3\n");  // grouped by shard, canonical
  EXPECT_EQ(pa.records, 3u);
  EXPECT_EQ(pa.bytes, 6u);
  EXPECT_EQ(pa.cause, FlushCause::kShutdown);
  ASSERT_EQ(pa.shards.size(), 2u);
  EXPECT_EQ(pa.shards.at("shard-1").first_seq, "10");
  EXPECT_EQ(pa.shards.at("shard-1").last_seq, "12");
  EXPECT_EQ(pa.shards.at("shard-1").records, 2u);
  EXPECT_EQ(pa.shards.at("shard-2").first_seq, "5");
  EXPECT_EQ(buf.open_bytes(), 0u);
}

TEST(BatchBuffer, ConsecutiveLinesAfterEverySealGoToANewBatch) {
  // Place() remembers the batch and run it used last (the next line of the
  // same partition and shard skips the lookups): every way a batch closes
  // must make the next line of that partition open a new one.
  SimulatedClock clock;
  BatchBuffer buf({.max_bytes = 1000, .max_interval = seconds(10), .max_records = 0});
  std::vector<SealedBatch> sealed;
  uint64_t id = buf.Append("p/", "1\n", "s", "1", clock.Now(), &sealed);
  EXPECT_EQ(buf.Append("p/", "2\n", "s", "2", clock.Now(), &sealed), id);  // the remembered batch
  EXPECT_EQ(buf.Append("p/", "3\n", "t", "9", clock.Now(), &sealed), id);  // same batch, other run
  EXPECT_EQ(buf.Append("p/", "4\n", "s", "3", clock.Now(), &sealed), id);
  // Sealed while a placed line is still being written: the batch lives on
  // (closing) until Written(), and the next line must not join it.
  const auto pending = buf.Place("p/", "s", "4b", 3, clock.Now(), &sealed);
  EXPECT_EQ(pending.batch_id, id);
  clock.Advance(seconds(11));
  buf.SealDue(clock.Now(), &sealed);
  EXPECT_TRUE(sealed.empty()) << "handed back before its last line was written";
  const auto after = buf.Place("p/", "s", "4c", 3, clock.Now(), &sealed);
  EXPECT_NE(after.batch_id, id) << "a line went to a sealed (closing) batch";
  pending.run->Append("4b\n", "4b");
  buf.Written(pending, &sealed);
  after.run->Append("4c\n", "4c");
  buf.Written(after, &sealed);
  ASSERT_EQ(sealed.size(), 1u);
  id = after.batch_id;
  auto next = [&](const char* seq) {
    const uint64_t n = buf.Append("p/", std::string(seq) + "\n", "s", seq, clock.Now(), &sealed);
    EXPECT_NE(n, id) << "line " << seq << " went to the sealed batch";
    id = n;
  };
  clock.Advance(seconds(11));
  buf.SealDue(clock.Now(), &sealed);  // age
  ASSERT_EQ(sealed.size(), 2u);
  next("5");
  buf.SealLargest(0, &sealed);  // pressure
  ASSERT_EQ(sealed.size(), 3u);
  next("6");
  buf.SealShard("s", FlushCause::kShutdown, &sealed);
  ASSERT_EQ(sealed.size(), 4u);
  next("7");
  EXPECT_TRUE(buf.SealPartition("p/", FlushCause::kReplay, &sealed));
  ASSERT_EQ(sealed.size(), 5u);
  next("8");
  buf.SealAll(FlushCause::kShutdown, &sealed);
  ASSERT_EQ(sealed.size(), 6u);
  next("9");
  buf.SealAll(FlushCause::kDrain, &sealed);
  ASSERT_EQ(sealed.size(), 7u);
  for (auto& done : sealed) Finish(&done);
  EXPECT_EQ(sealed[0].body, "1\n2\n4\n4b\n3\n");
  EXPECT_EQ(sealed[0].shards.at("s").last_seq, "4b");
  EXPECT_EQ(sealed[0].shards.at("t").last_seq, "9");
  EXPECT_EQ(sealed[1].body, "4c\n");
  for (size_t i = 2; i < sealed.size(); ++i) {
    const std::string seq = std::to_string(i + 3);
    EXPECT_EQ(sealed[i].body, seq + "\n");
    EXPECT_EQ(sealed[i].shards.at("s").first_seq, seq);
    EXPECT_EQ(sealed[i].shards.at("s").last_seq, seq);
  }
}

TEST(BatchBuffer, SizeCutsBeforeTheLineThatWouldOverflow) {
  SimulatedClock clock;
  BatchBuffer buf({.max_bytes = 100, .max_interval = seconds(300), .max_records = 0});
  std::vector<SealedBatch> sealed;
  buf.Append("p/", Line(60), "s", "1", clock.Now(), &sealed);
  buf.Append("p/", Line(40), "s", "2", clock.Now(), &sealed);  // exactly 100: full, sealed
  ASSERT_EQ(sealed.size(), 1u);
  EXPECT_EQ(sealed[0].bytes, 100u);
  EXPECT_EQ(sealed[0].cause, FlushCause::kSize);
  buf.Append("p/", Line(60), "s", "3", clock.Now(), &sealed);
  buf.Append("p/", Line(60), "s", "4", clock.Now(), &sealed);  // would be 120: cut first
  ASSERT_EQ(sealed.size(), 2u);
  EXPECT_EQ(sealed[1].bytes, 60u);
  EXPECT_EQ(sealed[1].shards.at("s").first_seq, "3");
  EXPECT_EQ(buf.open_bytes(), 60u);
}

TEST(BatchBuffer, OversizeLineBecomesItsOwnObject) {
  SimulatedClock clock;
  BatchBuffer buf({.max_bytes = 100, .max_interval = seconds(300), .max_records = 0});
  std::vector<SealedBatch> sealed;
  buf.Append("p/", Line(10), "s", "1", clock.Now(), &sealed);
  buf.Append("p/", Line(500), "s", "2", clock.Now(), &sealed);
  ASSERT_EQ(sealed.size(), 2u);
  EXPECT_EQ(sealed[0].records, 1u);
  EXPECT_EQ(sealed[0].bytes, 10u);
  EXPECT_EQ(sealed[1].records, 1u);
  EXPECT_EQ(sealed[1].bytes, 500u);
  EXPECT_EQ(buf.open_batches(), 0u);
}

TEST(BatchBuffer, RecordsLimit) {
  SimulatedClock clock;
  BatchBuffer buf({.max_bytes = 1000, .max_interval = seconds(300), .max_records = 2});
  std::vector<SealedBatch> sealed;
  buf.Append("p/", "a\n", "s", "1", clock.Now(), &sealed);
  EXPECT_TRUE(sealed.empty());
  buf.Append("p/", "b\n", "s", "2", clock.Now(), &sealed);
  ASSERT_EQ(sealed.size(), 1u);
  EXPECT_EQ(sealed[0].cause, FlushCause::kRecords);
}

TEST(BatchBuffer, NewLimitsApplyToOpenBatches) {
  SimulatedClock clock;
  BatchBuffer buf({.max_bytes = 1000, .max_interval = seconds(300), .max_records = 0});
  std::vector<SealedBatch> sealed;
  for (int i = 0; i < 5; ++i) buf.Append("many/", "xx\n", "s", std::to_string(i + 1), clock.Now(), &sealed);
  buf.Append("young/", "y\n", "s", "10", clock.Now() + seconds(21), &sealed);
  clock.Advance(seconds(30));
  buf.SealDue(clock.Now(), &sealed);
  EXPECT_TRUE(sealed.empty());
  // Fewer records: the batch of 5 is due at once; age 10 s: "young/" (9 s
  // old) is not yet, "many/" (30 s old) would be too.
  buf.SetLimits({.max_bytes = 1000, .max_interval = seconds(10), .max_records = 4});
  EXPECT_EQ(buf.limits().max_records, 4u);
  buf.SealDue(clock.Now(), &sealed);
  ASSERT_EQ(sealed.size(), 1u);
  EXPECT_EQ(sealed[0].partition, "many/");
  EXPECT_EQ(sealed[0].cause, FlushCause::kRecords);
  sealed.clear();
  clock.Advance(seconds(1));
  buf.SealDue(clock.Now(), &sealed);
  ASSERT_EQ(sealed.size(), 1u);
  EXPECT_EQ(sealed[0].partition, "young/");
  EXPECT_EQ(sealed[0].cause, FlushCause::kAge);
  // A smaller max_bytes cuts before the next line that would overflow it.
  sealed.clear();
  buf.SetLimits({.max_bytes = 4, .max_interval = seconds(300), .max_records = 0});
  buf.Append("p/", "abc\n", "s", "20", clock.Now(), &sealed);
  EXPECT_EQ(sealed.size(), 1u);  // exactly full: sealed by size
}

TEST(BatchBuffer, AgeIsPerBatchFromItsOldestLine) {
  SimulatedClock clock;
  BatchBuffer buf({.max_bytes = 1000, .max_interval = seconds(60), .max_records = 0});
  std::vector<SealedBatch> sealed;
  buf.Append("old/", "a\n", "s", "1", clock.Now(), &sealed);
  clock.Advance(seconds(30));
  buf.Append("new/", "b\n", "s", "2", clock.Now(), &sealed);
  buf.Append("old/", "c\n", "s", "3", clock.Now(), &sealed);
  EXPECT_EQ(*buf.OldestLine(), clock.Now() - seconds(30));
  clock.Advance(seconds(29));
  buf.SealDue(clock.Now(), &sealed);
  for (auto& done : sealed) Finish(&done);  // the uploader's step
  EXPECT_TRUE(sealed.empty());
  clock.Advance(seconds(1));
  buf.SealDue(clock.Now(), &sealed);
  for (auto& done : sealed) Finish(&done);  // the uploader's step
  ASSERT_EQ(sealed.size(), 1u);
  EXPECT_EQ(sealed[0].partition, "old/");
  EXPECT_EQ(sealed[0].cause, FlushCause::kAge);
  clock.Advance(seconds(30));
  buf.SealDue(clock.Now(), &sealed);
  for (auto& done : sealed) Finish(&done);  // the uploader's step
  ASSERT_EQ(sealed.size(), 2u);
  EXPECT_EQ(sealed[1].partition, "new/");
}

TEST(BatchBuffer, PressureSealsLargestFirst) {
  SimulatedClock clock;
  BatchBuffer buf({.max_bytes = 10000, .max_interval = seconds(300), .max_records = 0});
  std::vector<SealedBatch> sealed;
  buf.Append("small/", Line(10), "s", "1", clock.Now(), &sealed);
  buf.Append("big/", Line(300), "s", "2", clock.Now(), &sealed);
  buf.Append("mid/", Line(100), "s", "3", clock.Now(), &sealed);
  buf.SealLargest(150, &sealed);
  for (auto& done : sealed) Finish(&done);  // the uploader's step
  ASSERT_EQ(sealed.size(), 1u);
  EXPECT_EQ(sealed[0].partition, "big/");
  EXPECT_EQ(sealed[0].cause, FlushCause::kPressure);
  EXPECT_EQ(buf.open_bytes(), 110u);
  buf.SealLargest(0, &sealed);
  for (auto& done : sealed) Finish(&done);  // the uploader's step
  EXPECT_EQ(sealed.size(), 3u);
  EXPECT_EQ(buf.open_batches(), 0u);
}

}  // namespace
}  // namespace shardhose::batch

namespace shardhose::batch {
namespace {

TEST(BatchBuffer, SealedBodyIsCanonicalWhateverTheInterleaving) {
  SimulatedClock clock;
  const FlushLimits limits{.max_bytes = 1000, .max_interval = std::chrono::seconds(300), .max_records = 0};
  BatchBuffer one(limits), two(limits);
  std::vector<SealedBatch> a, b;
  one.Append("p/", "b1\n", "shard-b", "1", clock.Now(), &a);
  one.Append("p/", "a1\n", "shard-a", "7", clock.Now(), &a);
  one.Append("p/", "b2\n", "shard-b", "2", clock.Now(), &a);
  two.Append("p/", "a1\n", "shard-a", "7", clock.Now(), &b);
  two.Append("p/", "b1\n", "shard-b", "1", clock.Now(), &b);
  two.Append("p/", "b2\n", "shard-b", "2", clock.Now(), &b);
  one.SealAll(FlushCause::kDrain, &a);
  for (auto& done : a) Finish(&done);  // the uploader's step
  two.SealAll(FlushCause::kDrain, &b);
  for (auto& done : b) Finish(&done);  // the uploader's step
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(a[0].body, "a1\nb1\nb2\n");
  EXPECT_EQ(a[0].body, b[0].body);
}

}  // namespace
}  // namespace shardhose::batch

// ------------------------------------------------- held compressed (gzip)
#include <random>

#include "compress/compress.h"
#include "compress/gzip_chunks.h"

namespace shardhose::batch {
namespace {

std::string Gunzipped(const std::string& gz) {
  std::string out;
  EXPECT_TRUE(compress::Gunzip(gz, &out).ok());
  return out;
}

struct Rec {
  std::string partition, line, shard, seq;
};

// Records of 3 shards over 2 partitions, in shard-sequence order per shard.
std::vector<Rec> Records(int n) {
  std::vector<Rec> out;
  std::mt19937 rng(3);
  for (int i = 0; i < n; ++i) {
    const std::string shard = "shard-" + std::to_string(i % 3);
    const std::string line = "{\"i\":" + std::to_string(i) + ",\"pad\":\"" + std::string(rng() % 200, 'z') + "\"}\n";
    out.push_back({i % 5 == 0 ? "p/b/" : "p/a/", line, shard, std::to_string(1000 + i)});
  }
  return out;
}

TEST(BatchBufferGzip, SameLinesAndBytesAsPlainWhateverTheInterleaving) {
  SimulatedClock clock;
  const FlushLimits limits{.max_bytes = 40000, .max_interval = std::chrono::seconds(300), .max_records = 0};
  const BodyEncoding gzip{.gzip = true, .level = 1, .chunk_bytes = 1000};  // history: half a chunk
  const std::vector<Rec> recs = Records(2000);
  // Another interleaving that keeps each shard's order: all of shard-2
  // first, then the rest.
  std::vector<Rec> shuffled;
  for (const auto& r : recs)
    if (r.shard == "shard-2") shuffled.push_back(r);
  for (const auto& r : recs)
    if (r.shard != "shard-2") shuffled.push_back(r);

  auto run = [&](const std::vector<Rec>& in, BodyEncoding enc, uint64_t* peak_open, FlushLimits lim) {
    BatchBuffer buf(lim, 1, enc);
    std::vector<SealedBatch> sealed;
    for (const auto& r : in) {
      buf.Append(r.partition, r.line, r.shard, r.seq, clock.Now(), &sealed);
      *peak_open = std::max(*peak_open, buf.open_bytes());
    }
    buf.SealAll(FlushCause::kDrain, &sealed);
    for (auto& done : sealed) Finish(&done);  // the uploader's step
    return sealed;
  };
  uint64_t peak_plain = 0, peak_gz = 0, peak_gz2 = 0;
  const auto plain = run(recs, {}, &peak_plain, limits);
  const auto gz = run(recs, gzip, &peak_gz, limits);
  // Without size cuts (which depend on the interleaving) for the comparison.
  const FlushLimits no_cuts{.max_bytes = 1 << 30, .max_interval = std::chrono::seconds(300), .max_records = 0};
  uint64_t unused = 0;
  const auto gz1 = run(recs, gzip, &unused, no_cuts);
  const auto gz2 = run(shuffled, gzip, &peak_gz2, no_cuts);
  ASSERT_EQ(plain.size(), gz.size());
  ASSERT_GT(plain.size(), 2u);  // size cuts happened
  for (size_t i = 0; i < plain.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(gz[i].partition, plain[i].partition);
    EXPECT_EQ(gz[i].bytes, plain[i].bytes);
    EXPECT_EQ(gz[i].bytes, plain[i].body.size());
    EXPECT_EQ(gz[i].records, plain[i].records);
    EXPECT_EQ(Gunzipped(gz[i].body), plain[i].body);
    EXPECT_LT(gz[i].body.size(), plain[i].body.size());
  }
  // Batches with the same shard spans have the same bytes, however the
  // shards interleaved (what makes a re-formed batch identical).
  std::map<std::string, std::string> by_span;
  auto span_key = [](const SealedBatch& b) {
    std::string k = b.partition;
    for (const auto& [shard, s] : b.shards) k += "|" + shard + ":" + s.first_seq + "-" + s.last_seq;
    return k;
  };
  for (const auto& b : gz1) by_span[span_key(b)] = b.body;
  size_t matched = 0;
  for (const auto& b : gz2) {
    auto it = by_span.find(span_key(b));
    if (it == by_span.end()) continue;
    EXPECT_EQ(it->second, b.body);
    ++matched;
  }
  EXPECT_EQ(matched, 2u);
  // Held compressed: far less memory than the lines themselves.
  EXPECT_LT(peak_gz, peak_plain / 2);
}

TEST(BatchBufferGzip, OpenBytesCountsWhatIsHeld) {
  SimulatedClock clock;
  BatchBuffer buf({.max_bytes = 1 << 30, .max_interval = std::chrono::seconds(300), .max_records = 0}, 1,
                  {.gzip = true, .level = 1, .chunk_bytes = 4096});
  std::vector<SealedBatch> sealed;
  const std::string line = std::string(99, 'a') + "\n";
  buf.Append("p/", line, "s", "1", clock.Now(), &sealed);
  EXPECT_EQ(buf.open_bytes(), line.size());  // in the tail, uncompressed
  for (int i = 2; i <= 100; ++i) buf.Append("p/", line, "s", std::to_string(i), clock.Now(), &sealed);
  // 10,000 bytes of lines: 41 lines make the first chunk; then the tail
  // keeps 2,048 bytes of history (the default 4 KiB, at most half a chunk),
  // so 21 lines make each next one. Held: 3 chunks compressed, and the
  // tail's buffer as far as it was ever written (2,048 + 2,100 bytes), not
  // the 2,048 + 1,700 it holds now: those pages stay the run's.
  EXPECT_GT(buf.open_bytes(), 2048u + 2100u);
  EXPECT_LT(buf.open_bytes(), 2048u + 2100u + 200u);
  buf.SealLargest(0, &sealed);
  for (auto& done : sealed) Finish(&done);  // the uploader's step
  ASSERT_EQ(sealed.size(), 1u);
  EXPECT_EQ(buf.open_bytes(), 0u);
  EXPECT_EQ(sealed[0].bytes, 10000u);
  std::string expect;
  for (int i = 0; i < 100; ++i) expect += line;
  EXPECT_EQ(Gunzipped(sealed[0].body), expect);
}

}  // namespace
}  // namespace shardhose::batch

namespace shardhose::batch {
namespace {

// Parts put together are the body the batch would have had unsplit; every
// part but the last ends on a chunk boundary after a whole line; with
// per_shard every (partition, shard) is its own batch; and the same lines
// always split the same way.
TEST(BatchBufferParts, PartsConcatenateToTheUnsplitBody) {
  SimulatedClock clock;
  const FlushLimits limits{.max_bytes = 1 << 30, .max_interval = std::chrono::seconds(300), .max_records = 0};
  const std::vector<Rec> recs = Records(3000);
  for (bool gzip : {true, false}) {
    SCOPED_TRACE(gzip ? "gzip" : "plain");
    auto run = [&](uint64_t part_bytes) {
      BodyEncoding enc{.gzip = gzip, .level = 1, .chunk_bytes = 2000, .part_bytes = part_bytes, .per_shard = true};
      BatchBuffer buf(limits, 1, enc);
      std::vector<SealedBatch> out;
      for (const auto& r : recs) buf.Append(r.partition, r.line, r.shard, r.seq, clock.Now(), &out);
      buf.SealAll(FlushCause::kDrain, &out);
      for (auto& done : out) Finish(&done);  // the uploader's step
      return out;
    };
    const auto whole = run(0);
    const auto split = run(gzip ? 3000 : 20000);
    ASSERT_EQ(whole.size(), 6u);  // 2 partitions x 3 shards
    std::map<uint64_t, std::string> joined;
    std::map<uint64_t, int> parts;
    std::map<uint64_t, uint64_t> records;
    for (const auto& b : split) {
      ASSERT_EQ(b.shards.size(), 1u);
      if (b.part == 0) {  // never reached a part: the whole object at once
        EXPECT_EQ(parts.count(b.id), 0u) << b.id;
        EXPECT_TRUE(b.last_part);
      } else {
        EXPECT_EQ(b.part, ++parts[b.id]) << b.id;
      }
      joined[b.id] += b.body;
      records[b.id] += b.records;
    }
    for (const auto& w : whole) {
      EXPECT_EQ(w.part, 0);
      EXPECT_EQ(joined[w.id], w.body) << w.partition;
      EXPECT_EQ(records[w.id], w.records);
      if (w.partition == "p/a/") {
        EXPECT_GE(parts[w.id], 3) << w.partition;
      }
    }
    EXPECT_EQ(split.size(), run(gzip ? 3000 : 20000).size());
  }
}

}  // namespace
}  // namespace shardhose::batch

namespace shardhose::batch {
namespace {

// Place / append / Written (the pipeline's three steps): a batch sealed
// while a placed line is not written yet leaves the open batches at once,
// and is handed back -- with that line -- by the line's Written().
TEST(BatchBufferSteps, ASealWaitsForLinesBeingWritten) {
  SimulatedClock clock;
  BatchBuffer buf({.max_bytes = 1000, .max_interval = seconds(300), .max_records = 0}, 1,
                  {.gzip = true, .level = 1, .chunk_bytes = 64});
  std::vector<SealedBatch> sealed;
  const auto p1 = buf.Place("p/", "s", "1", 2, clock.Now(), &sealed);
  const auto p2 = buf.Place("p/", "t", "7", 2, clock.Now(), &sealed);
  buf.SealAll(FlushCause::kShutdown, &sealed);  // both lines still being written
  EXPECT_TRUE(sealed.empty());
  EXPECT_EQ(buf.open_batches(), 0u);
  // A new line of the partition opens a new batch meanwhile.
  const auto p3 = buf.Place("p/", "s", "2", 2, clock.Now(), &sealed);
  EXPECT_NE(p3.batch_id, p1.batch_id);
  p1.run->Append("a\n", "1");
  buf.Written(p1, &sealed);
  EXPECT_TRUE(sealed.empty());  // the line of shard t is still out
  p2.run->Append("b\n", "7");
  buf.Written(p2, &sealed);
  ASSERT_EQ(sealed.size(), 1u);
  EXPECT_EQ(sealed[0].cause, FlushCause::kShutdown);
  EXPECT_EQ(sealed[0].records, 2u);
  EXPECT_TRUE(sealed[0].body.empty());  // bytes come with Finish(), in the uploader
  Finish(&sealed[0]);
  EXPECT_EQ(Gunzipped(sealed[0].body), "a\nb\n");
  p3.run->Append("c\n", "2");
  buf.Written(p3, &sealed);
  EXPECT_EQ(buf.open_batches(), 1u);
  EXPECT_EQ(buf.open_bytes(), 2u);
}

// Each chunk after the first is compressed after the run's last bytes
// (its history): lines that repeat what came just before a chunk's start
// cost almost nothing, and the member reads back the same.
TEST(ShardRun, EachChunkIsCompressedAfterTheLinesBeforeIt) {
  std::mt19937_64 rng(5);
  std::vector<std::string> lines;  // 20 distinct lines of ~200 bytes, each written 10 times in a row
  for (int k = 0; k < 20; ++k) {
    std::string line;
    while (line.size() < 200) line += std::to_string(rng());
    for (int i = 0; i < 10; ++i) lines.push_back(line + "\n");
  }
  auto body = [&](size_t history) {
    ShardRun run({.gzip = true, .level = 1, .chunk_bytes = 1000, .history_bytes = history});
    std::string expect;
    for (size_t i = 0; i < lines.size(); ++i) {
      run.Append(lines[i], std::to_string(i));
      expect += lines[i];
    }
    run.Finish();
    EXPECT_EQ(run.held(), run.body().size());  // Finish frees the tail, history included
    std::string gz;
    compress::AppendGzipHeader(&gz);
    run.body().CopyTo(&gz);
    compress::AppendGzipTrailer(run.crc(), run.raw(), &gz);
    EXPECT_EQ(Gunzipped(gz), expect);
    return gz.size();
  };
  const size_t alone = body(0), after = body(300);
  EXPECT_LT(after * 10, alone * 7) << after << " vs " << alone;  // 3,080 vs 5,158 bytes here
}

// A run cuts a part where a chunk ends once the finished chunks reach
// part_bytes, and the part ends with the last line of that chunk.
TEST(ShardRun, PartsEndWhereAChunkEnds) {
  ShardRun run({.gzip = true, .level = 1, .chunk_bytes = 10, .history_bytes = 4, .part_bytes = 1});
  run.Append("12345\n", "1");
  EXPECT_FALSE(run.has_parts());
  run.Append("67890\n", "2");  // the chunk is full: compressed, and a part
  run.Append("x\n", "3");
  ASSERT_TRUE(run.has_parts());
  std::vector<ReadyPart> parts = run.TakeParts();
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(parts[0].last_pos, "2");
  EXPECT_EQ(parts[0].records, 2u);
  EXPECT_EQ(parts[0].bytes, 12u);
  EXPECT_TRUE(parts[0].body.starts_with("\x1f\x8b"));  // the first part carries the header
  // The tail holds the chunk's last 4 bytes (the next one's history) and
  // "x\n"; its buffer was written up to 12 bytes, and that is what it holds.
  EXPECT_EQ(run.held(), 12u);
}

}  // namespace
}  // namespace shardhose::batch
