#include "stream_probe.h"

#include <fmt/format.h>

#include <algorithm>

#include "aws/credentials_chain.h"
#include "aws/curl_http.h"
#include "common/clock.h"
#include "source_factory.h"

namespace shardhose::daemon {
namespace {

// Pages read past empty answers when the source has no MillisBehindLatest.
constexpr int kEmptyPages = 3;

std::optional<ShardLag> Probe(poll::ChangeSource& source, const std::string& id, const poll::IteratorStart& start,
                              int64_t now_ms) {
  auto it = source.GetShardIterator(id, start);
  if (!it.ok()) return std::nullopt;
  poll::RecordsPage page;
  std::string iterator = std::move(it).value();
  for (int i = 0; i < kEmptyPages; ++i) {
    if (!source.GetRecords(iterator, 1, &page).ok()) return std::nullopt;
    if (page.millis_behind >= 0) return ShardLag{page.millis_behind, page.records.empty() && page.millis_behind == 0};
    if (!page.records.empty()) {
      const int64_t arrival = page.records.front().arrival_ms;
      return ShardLag{arrival > 0 ? std::max<int64_t>(0, now_ms - arrival) : 0, false, true};
    }
    if (page.next_iterator.empty()) break;  // a closed shard, read to its end
    iterator = page.next_iterator;
  }
  return ShardLag{0, true, true};
}

}  // namespace

StreamProbe ProbeStream(const config::Config& cfg, const std::map<std::string, poll::IteratorStart>& positions) {
  StreamProbe probe;
  auto http = aws::NewCurlHttpClient();
  auto creds = aws::NewDefaultCredentialsProvider(aws::ProcessEnv(), http.get(), Clock::Real());
  ConfiguredSource configured =
      NewConfiguredSource(cfg, http.get(), creds.get(), Clock::Real(), SourceUse{.timeout = std::chrono::seconds(5)});
  poll::ChangeSource& source = *configured.source;
  auto listed = source.ListShards();
  if (!listed.ok()) {
    probe.unreachable = listed.status().ToString();
    return probe;
  }
  for (const auto& sh : listed.value()) probe.closed[sh.id] = sh.closed();
  const int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::Real()->WallNow().time_since_epoch()).count();
  for (const auto& [id, start] : positions) {
    if (!probe.closed.count(id)) continue;
    if (auto lag = Probe(source, id, start, now_ms)) probe.lag[id] = *lag;
  }
  return probe;
}

std::string FormatLag(const ShardLag& lag) {
  if (lag.caught_up) return "caught up";
  return fmt::format("{}{:.1f} s", lag.estimated ? "~" : "", static_cast<double>(lag.millis_behind) / 1000.0);
}

}  // namespace shardhose::daemon
