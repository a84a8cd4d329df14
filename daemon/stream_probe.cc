#include "stream_probe.h"

#include <fmt/format.h>

#include "aws/credentials_chain.h"
#include "aws/curl_http.h"
#include "common/clock.h"
#include "poll/kinesis_api.h"

namespace shardhose::daemon {

StreamProbe ProbeStream(const config::Config& cfg, const std::map<std::string, poll::IteratorStart>& positions) {
  StreamProbe probe;
  auto http = aws::NewCurlHttpClient();
  auto creds = aws::NewDefaultCredentialsProvider(aws::ProcessEnv(), http.get(), Clock::Real());
  poll::KinesisOptions kopts;
  kopts.region = cfg.source.region;
  kopts.endpoint_url = cfg.source.endpoint_url;
  kopts.timeout = std::chrono::seconds(5);
  auto kinesis = poll::NewKinesisClient(kopts, http.get(), creds.get(), Clock::Real());
  poll::StreamRef stream{cfg.source.stream_name, cfg.source.stream_arn};
  auto listed = kinesis->ListShards(stream);
  if (!listed.ok()) {
    probe.unreachable = listed.status().ToString();
    return probe;
  }
  for (const auto& sh : listed.value()) probe.closed[sh.id] = sh.closed();
  for (const auto& [id, start] : positions) {
    if (!probe.closed.count(id)) continue;
    auto it = kinesis->GetShardIterator(stream, id, start);
    poll::RecordsPage page;
    if (it.ok() && kinesis->GetRecords(stream, *it, 1, &page).ok()) {
      probe.lag[id] = {page.millis_behind, page.records.empty() && page.millis_behind == 0};
    }
  }
  return probe;
}

std::string FormatLag(const ShardLag& lag) {
  return lag.caught_up ? "caught up" : fmt::format("{:.1f} s", static_cast<double>(lag.millis_behind) / 1000.0);
}

}  // namespace shardhose::daemon
