#include "source_factory.h"

#include "poll/dynamodb_streams_source.h"
#include "poll/efo_reader.h"
#include "poll/kinesis_api.h"
#include "poll/kinesis_source.h"

namespace shardhose::daemon {

ConfiguredSource NewConfiguredSource(const config::Config& cfg, aws::HttpClient* http, aws::CredentialsProvider* creds,
                                     Clock* clock, SourceUse use) {
  ConfiguredSource out;
  if (cfg.source.type == config::SourceType::kDynamoDbStreams) {
    poll::DynamoDbStreamsOptions sopts;
    sopts.region = cfg.source.region;
    sopts.endpoint_url = cfg.source.endpoint_url;
    sopts.dynamodb_endpoint_url = cfg.source.table_endpoint_url;
    sopts.stream_arn = cfg.source.stream_arn;
    sopts.table_name = cfg.source.table_name;
    sopts.timeout = use.timeout;
    out.source = poll::NewDynamoDbStreamsSource(sopts, http, creds, clock);
    return out;
  }
  poll::KinesisOptions kopts;
  kopts.region = cfg.source.region;
  kopts.endpoint_url = cfg.source.endpoint_url;
  kopts.timeout = use.timeout;
  out.kinesis = poll::NewKinesisClient(kopts, http, creds, clock);
  if (use.efo && cfg.source.consumer == config::ConsumerType::kEfo) {
    poll::EfoOptions eopts;
    eopts.region = kopts.region;
    eopts.endpoint_url = kopts.endpoint_url;
    eopts.consumer_name = cfg.source.consumer_name;
    out.efo = poll::NewEfoKinesisClient(eopts, out.kinesis.get(), http, creds, clock);
  }
  out.source = poll::NewKinesisSource(out.efo ? out.efo.get() : out.kinesis.get(),
                                      poll::StreamRef{cfg.source.stream_name, cfg.source.stream_arn});
  return out;
}

}  // namespace shardhose::daemon
