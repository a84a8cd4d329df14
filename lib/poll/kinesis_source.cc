// A Kinesis data stream as a ChangeSource: kinesis_source.h.
#include "poll/kinesis_source.h"

namespace shardhose::poll {
namespace {

class KinesisSource final : public ChangeSource {
 public:
  KinesisSource(KinesisClient* client, StreamRef stream) : client_(client), stream_(std::move(stream)) {}
  Result<StreamSummary> Describe() override { return client_->DescribeStreamSummary(stream_); }
  Result<std::vector<ShardInfo>> ListShards() override { return client_->ListShards(stream_); }
  Result<std::string> GetShardIterator(const std::string& shard_id, const IteratorStart& start) override {
    return client_->GetShardIterator(stream_, shard_id, start);
  }
  Status GetRecords(const std::string& iterator, int limit, RecordsPage* page) override {
    return client_->GetRecords(stream_, iterator, limit, page);
  }
  RecordFormat format() const override { return RecordFormat::kKinesisDynamoDb; }

 private:
  KinesisClient* client_;
  StreamRef stream_;
};

}  // namespace

std::unique_ptr<ChangeSource> NewKinesisSource(KinesisClient* client, StreamRef stream) {
  return std::make_unique<KinesisSource>(client, std::move(stream));
}

}  // namespace shardhose::poll
