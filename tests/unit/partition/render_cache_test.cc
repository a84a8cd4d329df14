#include "partition/render_cache.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace shardhose::partition {
namespace {

// For every template shape, a cached rendering equals a fresh one over a
// long run of records whose fields repeat and whose times walk across
// second, minute, hour, day, month and year boundaries (and before 1970).
TEST(RenderCache, RendersExactlyAsTheTemplate) {
  const std::vector<std::string> templates = {
      "ddb/{table}/dt={event_time:%Y-%m-%d}/hr={event_time:%H}/",
      "x/{event_time:%Y/%m/%d/%H/%M/%S}/",
      "y/{stream}/{shard_id}/{event_name}/{event_time:%G-W%V-%u}/",
      "z/{arrival_time:%Y%j}/{event_time:%e}/m={arrival_time:%M}/",
      "errors/{error}/{table}/{arrival_time:%Y-%m-%d-%H}/",
      "static/prefix/",
      "t={table}/",
  };
  std::mt19937_64 rng(7);
  const std::vector<std::string> tables = {"orders", "users", "a b", "ü"};
  const std::vector<std::string> names = {"INSERT", "MODIFY", "REMOVE"};
  const std::vector<std::string> errors = {"", "bad_json", "bad_base64"};
  const std::vector<std::string> shards = {"shardId-0", "shardId-1"};
  for (const std::string& text : templates) {
    auto t = KeyTemplate::Parse(text, TemplateKind::kError);
    ASSERT_TRUE(t.ok()) << text;
    RenderCache cache(&*t);
    // Start just before midnight of a new year, and before 1970.
    for (int64_t start_s : {int64_t{1704067199}, int64_t{-2}, int64_t{1716200000}}) {
      int64_t event_us = start_s * 1000000 - 1500;
      int64_t arrival_ms = start_s * 1000 + 999;
      for (int i = 0; i < 20000; ++i) {
        // Mostly tiny steps (the same partition), sometimes a jump back or
        // across a boundary.
        const uint64_t r = rng() % 100;
        if (r < 80) {
          event_us += static_cast<int64_t>(rng() % 200000);
        } else if (r < 90) {
          event_us -= static_cast<int64_t>(rng() % 5000000000);
        } else {
          event_us += static_cast<int64_t>(rng() % 90000000000);
        }
        arrival_ms += static_cast<int64_t>(rng() % 1500);
        PartitionFields f{tables[rng() % 97 == 0 ? rng() % tables.size() : 0],
                          names[rng() % names.size()],
                          "orders-changes",
                          shards[rng() % 50 == 0 ? 1 : 0],
                          errors[rng() % 31 == 0 ? rng() % errors.size() : 0],
                          event_us,
                          arrival_ms};
        ASSERT_EQ(cache.Render(f), t->Render(f)) << text << " at record " << i;
      }
    }
  }
}

// Times far outside any calendar are rendered afresh, never from a window.
TEST(RenderCache, ExtremeTimesRenderAsTheTemplate) {
  auto t = KeyTemplate::Parse("{event_time:%Y-%m-%d %H}/{arrival_time:%S}", TemplateKind::kRecord);
  ASSERT_TRUE(t.ok());
  RenderCache cache(&*t);
  for (int64_t v : {INT64_MIN, INT64_MIN + 1, int64_t{-1}, int64_t{0}, INT64_MAX - 1, INT64_MAX, INT64_MAX}) {
    PartitionFields f{"t", "INSERT", "s", "sh", "", v, v};
    EXPECT_EQ(cache.Render(f), t->Render(f)) << v;
  }
}

}  // namespace
}  // namespace shardhose::partition
