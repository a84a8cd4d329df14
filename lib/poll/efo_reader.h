// File: poll/efo_reader.h
//
// Enhanced fan-out: a KinesisClient that reads shards with SubscribeToShard
// (HTTP/2 push, event-stream framed, see event_stream.h) instead of
// GetRecords, so the pipeline's poll loop is unchanged ([source] consumer =
// "efo"). It decorates a polling client:
//
//   DescribeStreamSummary, ListShards  -> the polling client.
//   GetShardIterator(shard, start)     -> no remote call: a synthetic
//                                         iterator naming shard and start.
//   GetRecords(iterator, limit > 1)    -> the next SubscribeToShardEvent of
//                                         that shard's subscription, as a
//                                         RecordsPage (records are views
//                                         into page->body, exactly as for
//                                         GetRecords). next_iterator is the
//                                         synthetic iterator AFTER the
//                                         event's ContinuationSequenceNumber,
//                                         or "" when the event has none (the
//                                         shard is closed; ChildShards are
//                                         passed on).
//   GetRecords(iterator, limit <= 1)   -> a one-shot GetRecords through the
//                                         polling client (the pipeline's
//                                         trim-horizon probe), never a
//                                         subscription.
//
// Subscriptions. One per shard, started by the first GetRecords for it and
// run by its own thread (one HTTP/2 stream, aws::HttpClient::Stream():
// prior knowledge for http://, ALPN for https://; the request built and
// SigV4-signed by kinesis_request.h). Decoded events queue up (at
// most `max_buffered_events`; the reading thread then stops reading and
// HTTP/2 flow control holds the server back). When the server ends the
// subscription (every 5 minutes on AWS) the thread resubscribes at once
// from the last ContinuationSequenceNumber it received (AFTER_SEQUENCE_
// NUMBER). A GetRecords whose iterator is not the one the subscription
// expects next (a restart from the checkpoint, a retry after an error)
// replaces the subscription with one starting where the iterator says:
// the pipeline, not this class, owns the read position, so checkpoints and
// the exactly-once journal behave as with polling.
//
// Errors. A failed subscription (HTTP error, exception event such as
// ResourceInUseException or LimitExceededException, network error, bad
// framing) ends its thread; the error is returned, classified as in
// aws/retry_class.h, by the GetRecords that finds the queue empty, and the
// pipeline backs off and asks again, which resubscribes. A
// ResourceInUseException (the consumer's previous subscription to the
// shard is still active, or ended less than 5 s ago: a fast restart) is
// returned as Unavailable, throttled class, so the retry backs off.
//
// Waiting. A GetRecords that finds no event queued returns at once when
// the last event it returned was empty and at the tip (MillisBehindLatest
// 0, the shard open): an empty page with millis_behind 0 and the same
// iterator, what a GetRecords at the tip answers; an event pushed since
// is returned by the next call (the pipeline's idle_poll_interval_ms later).
// Otherwise (no event yet, or behind) it waits at most `wait_for_event`;
// with none it returns an empty page with millis_behind -1 (unknown: never
// "caught up") and the same iterator. Drain therefore ends only after a
// real empty event with MillisBehindLatest 0, and a caught-up shard does
// not hold a poller thread: the pipeline's drain needs a moment with no
// GetRecords in flight, which shards blocking for pushes at staggered
// phases never gave it.
//
// Consumer. Before the first subscription the stream consumer
// `consumer_name` is looked up (DescribeStreamConsumer) and registered if
// missing (RegisterStreamConsumer; ResourceInUseException = someone else
// registered it first); an existing consumer is reused. It waits (at most
// `consumer_active_timeout`) for it to be ACTIVE; a failure is returned by
// that GetRecords and retried on the next. Consumers are never
// deregistered.
//
// Thread-safety: all methods may be called concurrently, but (as the
// pipeline guarantees) not for the same shard at once. Destruction stops
// and joins every subscription thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

#include "aws/credentials.h"
#include "aws/http.h"
#include "common/clock.h"
#include "common/status.h"
#include "poll/event_stream.h"
#include "poll/kinesis_client.h"

namespace shardhose::poll {

struct EfoOptions {
  std::string region = "us-east-1";
  std::string endpoint_url;  // "" = https://kinesis.<region>.amazonaws.com
  std::string consumer_name = "shardhose";
  std::chrono::milliseconds wait_for_event{1000};
  size_t max_buffered_events = 8;
  size_t max_message_bytes = EventStreamDecoder::kDefaultMaxMessageBytes;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::seconds stall_timeout{60};  // no byte for this long: network error
  std::chrono::seconds consumer_active_timeout{60};
  std::chrono::milliseconds call_timeout{30000};  // Register/DescribeStreamConsumer
};

// REQUIRES: polling, http, creds and clock outlive the client.
std::unique_ptr<KinesisClient> NewEfoKinesisClient(EfoOptions options, KinesisClient* polling, aws::HttpClient* http,
                                                   aws::CredentialsProvider* creds, Clock* clock);

// The synthetic iterators (exposed for tests): "efo|<shard>|<TYPE>|<arg>",
// arg being the sequence number or the epoch milliseconds.
std::string EncodeEfoIterator(const std::string& shard_id, const IteratorStart& start);
// InvalidArgument if `iterator` was not made by EncodeEfoIterator.
Status DecodeEfoIterator(const std::string& iterator, std::string* shard_id, IteratorStart* start);

// The hand-off between one shard's subscription thread and GetRecords
// (exposed for tests). The thread Pushes pages and Finishes with the
// subscription's outcome; GetRecords Takes. Thread-safe; one taker.
class EfoEventQueue {
 public:
  explicit EfoEventQueue(size_t capacity) : capacity_(capacity) {}

  // Queues one decoded event; blocks while `capacity` are queued (the
  // reading thread stops reading: HTTP/2 flow control holds the server
  // back). False, the page dropped, once stopped.
  bool Push(std::unique_ptr<RecordsPage> page);
  // The subscription is over: `status` (OK = ended by the server or at
  // the shard's end) is what Take reports once the queue is empty.
  void Finish(Status status);
  // Fails every Push from now on and wakes every wait.
  void Stop();
  bool stopped();
  // Waits up to `wait` for Stop(); true if stopped.
  bool WaitForStop(std::chrono::milliseconds wait);

  enum class Took {
    kPage,     // *page is the next event
    kAtTip,    // none queued, and the last one taken was empty at the tip
               // of an open shard: returned at once; *page untouched
    kNothing,  // none within `wait`; *page untouched
    kEnded,    // finished and empty: *error is why (never OK)
  };
  Took Take(std::chrono::milliseconds wait, RecordsPage* page, Status* error);
  // Finished and empty.
  bool ended();

 private:
  const size_t capacity_;
  std::mutex mu_;
  std::condition_variable ready_;                   // queue_ grew, or finished_
  std::condition_variable space_;                   // queue_ shrank, or stopped_
  std::deque<std::unique_ptr<RecordsPage>> queue_;  // guarded by mu_
  bool stopped_ = false;                            // guarded by mu_
  bool finished_ = false;                           // guarded by mu_
  bool at_tip_ = false;                             // guarded by mu_: the last page taken
  Status status_;                                   // guarded by mu_
};

// One event-stream message of a SubscribeToShard answer into *page
// (exposed for tests). Returns true for a SubscribeToShardEvent (page
// filled; page->continuation_seq set, "" at the end of a closed shard),
// false for a message to skip (initial-response), and an error Status
// classified as in aws/retry_class.h for an exception or error message
// (but ResourceInUseException: Unavailable, kThrottled), Corruption for
// anything else.
Result<bool> PageFromEvent(EventMessage&& message, RecordsPage* page);

}  // namespace shardhose::poll
