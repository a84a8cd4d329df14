// get_records_fuzz: poll::ParseGetRecords on the input as a response body.
//
// Invariants (kinesis_client.h): never crashes; on success every record view
// points inside the page's own body, has a non-empty sequence number, and
// data_bytes is the sum of the Data lengths; on failure the message is
// non-empty.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_util.h"
#include "poll/kinesis_client.h"

namespace {

bool Inside(std::string_view v, const std::string& body) {
  if (v.empty()) return true;
  return v.data() >= body.data() && v.data() + v.size() <= body.data() + body.size();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  shardhose::poll::RecordsPage page;
  page.body.assign(reinterpret_cast<const char*>(data), size);
  auto st = shardhose::poll::ParseGetRecords(&page);
  if (!st.ok()) {
    FUZZ_CHECK(!st.message().empty(), "rejection without a message");
    return 0;
  }
  uint64_t bytes = 0;
  for (const auto& r : page.records) {
    FUZZ_CHECK(Inside(r.data_base64, page.body), "Data view outside the body");
    FUZZ_CHECK(Inside(r.sequence_number, page.body), "SequenceNumber view outside the body");
    FUZZ_CHECK(Inside(r.partition_key, page.body), "PartitionKey view outside the body");
    FUZZ_CHECK(!r.sequence_number.empty(), "record without a sequence number");
    bytes += r.data_base64.size();
  }
  FUZZ_CHECK(bytes == page.data_bytes, "data_bytes is not the sum of the Data lengths");
  for (const auto& c : page.child_shards) FUZZ_CHECK(!c.id.empty(), "child shard without an id");
  // A reused page parses the same body to the same answer.
  const size_t n = page.records.size();
  page.body.assign(reinterpret_cast<const char*>(data), size);
  FUZZ_CHECK(shardhose::poll::ParseGetRecords(&page).ok(), "second parse of the same body failed");
  FUZZ_CHECK(page.records.size() == n, "second parse gave another record count");
  return 0;
}
