#include "poll/efo_reader.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <map>
#include <thread>
#include <vector>

#include "aws/retry_class.h"
#include "poll/kinesis_request.h"

namespace shardhose::poll {
namespace {

// A failed SubscribeToShard, classified. ResourceInUseException there
// means the consumer's previous subscription to the shard is still active
// or ended less than 5 s ago (a fast restart): transient, so Unavailable,
// and throttled, so the retry waits seconds rather than milliseconds.
Status SubscribeError(Status st) {
  if (st.peer_code() != "ResourceInUseException") return st;
  return Status::Unavailable(st.message()).WithPeer(RetryClass::kThrottled, "ResourceInUseException");
}

std::string SubscribeBody(const std::string& consumer_arn, const std::string& shard, const IteratorStart& pos) {
  rapidjson::StringBuffer sb;
  JsonWriter w(sb);
  w.StartObject();
  w.Key("ConsumerARN");
  WriteJsonString(w, consumer_arn);
  w.Key("ShardId");
  WriteJsonString(w, shard);
  w.Key("StartingPosition");
  w.StartObject();
  w.Key("Type");
  WriteJsonString(w, IteratorTypeName(pos.type));
  if (pos.type == IteratorType::kAfterSequenceNumber || pos.type == IteratorType::kAtSequenceNumber) {
    w.Key("SequenceNumber");
    WriteJsonString(w, pos.sequence);
  } else if (pos.type == IteratorType::kAtTimestamp) {
    w.Key("Timestamp");
    WriteJsonEpochSeconds(w, pos.timestamp_ms);
  }
  w.EndObject();
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

// One shard's subscription: a thread streaming SubscribeToShard answers
// into a queue of parsed pages.
class Subscription {
 public:
  Subscription(const EfoOptions& options, const KinesisRequestBuilder& requests, aws::HttpClient* http,
               std::string consumer_arn, std::string shard, IteratorStart start, std::string expected)
      : options_(options),
        requests_(requests),
        http_(http),
        consumer_arn_(std::move(consumer_arn)),
        shard_(std::move(shard)),
        expected_(std::move(expected)),
        queue_(options.max_buffered_events) {
    thread_ = std::thread([this, start] { Run(start); });
  }
  ~Subscription() {
    stop_ = true;   // ends a stream waiting for bytes
    queue_.Stop();  // ends a Push waiting for room, and the pause in Run
    thread_.join();
  }

  const std::string& expected() const { return expected_; }
  void set_expected(std::string it) { expected_ = std::move(it); }

  EfoEventQueue& queue() { return queue_; }

 private:
  void Run(IteratorStart start) {
    IteratorStart pos = std::move(start);
    Status st;
    while (true) {
      bool shard_end = false;
      int events = 0;
      st = StreamOnce(&pos, &shard_end, &events);
      if (stop_ || shard_end || !st.ok()) break;
      // The server ended the subscription (5 minutes on AWS): continue
      // from the last continuation sequence number. An answer without any
      // event is not progress; pause so a misbehaving server cannot spin us.
      spdlog::debug("shard {}: subscription ended after {} events, resubscribing", shard_, events);
      if (events == 0 && queue_.WaitForStop(std::chrono::seconds(1))) break;
    }
    queue_.Finish(st);
  }

  // One SubscribeToShard answer as it is read.
  struct Answer {
    IteratorStart* pos;
    bool* shard_end;
    int* events;
    EventStreamDecoder decoder;
    std::vector<EventMessage> messages;
    aws::HttpResponse head;  // body: an error answer's (first 64 KiB)
    Status error;            // a failing event or bad framing
  };

  // Body bytes: an error answer's are kept; a 200's are decoded and their
  // events queued. False stops the stream (an error, the shard's end, or
  // stopping).
  bool OnBody(Answer* a, std::string_view bytes) {
    if (a->head.status != 200) {
      if (a->head.body.size() < 65536) a->head.body.append(bytes.substr(0, 65536));
      return true;
    }
    a->messages.clear();
    Status st = a->decoder.Feed(bytes, &a->messages);
    for (auto& m : a->messages) {
      auto page = std::make_unique<RecordsPage>();
      auto r = PageFromEvent(std::move(m), page.get());
      if (!r.ok()) {
        a->error = r.status();
        return false;
      }
      if (!*r) continue;
      ++*a->events;
      const bool end = page->continuation_seq.empty();
      if (!end) *a->pos = IteratorStart{IteratorType::kAfterSequenceNumber, page->continuation_seq, 0};
      if (!queue_.Push(std::move(page))) return false;  // stopping
      if (end) {
        *a->shard_end = true;
        return false;
      }
    }
    if (!st.ok()) {
      a->error = st.WithContext("SubscribeToShard").WithPeer(RetryClass::kNetwork, "");
      return false;
    }
    return true;
  }

  // One SubscribeToShard call from *pos. OK when the server ended the
  // stream cleanly (or on stop / shard end).
  Status StreamOnce(IteratorStart* pos, bool* shard_end, int* events) {
    const std::string body = SubscribeBody(consumer_arn_, shard_, *pos);
    auto req = requests_.Build("SubscribeToShard", body);
    if (!req.ok()) return req.status();
    req->timeout = std::chrono::milliseconds(0);  // up to 5 minutes; stall_timeout guards it
    Answer a{pos, shard_end, events, EventStreamDecoder(options_.max_message_bytes), {}, {}, Status::OK()};
    aws::HttpStreamOptions stream;
    stream.http2 = true;  // SubscribeToShard is HTTP/2 only
    stream.stall_timeout = options_.stall_timeout;
    stream.stop = &stop_;
    stream.on_head = [&a](const aws::HttpResponse& head) {
      a.head = head;
      return true;
    };
    stream.on_body = [this, &a](std::string_view bytes) { return OnBody(&a, bytes); };
    spdlog::debug("shard {}: SubscribeToShard {} {}", shard_, IteratorTypeName(pos->type), pos->sequence);
    const Result<aws::StreamEnd> end = http_->Stream(*req, stream);

    if (stop_) return Status::OK();
    if (*shard_end) return Status::OK();
    if (!a.error.ok()) return a.error;
    if (a.head.status != 200 && a.head.status != 0) {
      return SubscribeError(aws::ClassifyResponse("SubscribeToShard", a.head));
    }
    if (!end.ok()) return end.status().WithContext(fmt::format("SubscribeToShard {}", shard_));
    if (a.decoder.buffered() > 0) {
      return Status::Unavailable("SubscribeToShard: the stream ended inside a message")
          .WithPeer(RetryClass::kNetwork, "");
    }
    return Status::OK();
  }

  const EfoOptions& options_;
  const KinesisRequestBuilder& requests_;
  aws::HttpClient* const http_;
  const std::string consumer_arn_;
  const std::string shard_;
  std::string expected_;  // touched only by the one GetRecords caller of this shard
  std::atomic<bool> stop_{false};
  EfoEventQueue queue_;
  std::thread thread_;
};

class EfoClient final : public KinesisClient {
 public:
  EfoClient(EfoOptions options, KinesisClient* polling, aws::HttpClient* http, aws::CredentialsProvider* creds,
            Clock* clock)
      : options_(std::move(options)),
        polling_(polling),
        http_(http),
        clock_(clock),
        requests_(Endpoint(options_), creds, clock) {}

  ~EfoClient() override {
    std::map<std::string, std::unique_ptr<Subscription>> subs;
    {
      MutexLock lock(&mu_);
      subs.swap(subs_);
    }
    subs.clear();  // stops and joins, outside mu_
  }

  Result<StreamSummary> DescribeStreamSummary(const StreamRef& stream) override {
    return polling_->DescribeStreamSummary(stream);
  }
  Result<std::vector<ShardInfo>> ListShards(const StreamRef& stream) override { return polling_->ListShards(stream); }

  Result<std::string> GetShardIterator(const StreamRef&, const std::string& shard_id,
                                       const IteratorStart& start) override {
    return EncodeEfoIterator(shard_id, start);
  }

  Status GetRecords(const StreamRef& stream, const std::string& iterator, int limit, RecordsPage* page) override {
    std::string shard;
    IteratorStart start;
    SHARDHOSE_RETURN_IF_ERROR(DecodeEfoIterator(iterator, &shard, &start));
    if (limit <= 1) {
      auto it = polling_->GetShardIterator(stream, shard, start);
      if (!it.ok()) return it.status();
      return polling_->GetRecords(stream, *it, limit, page);
    }
    auto consumer = ConsumerArn(stream);
    if (!consumer.ok()) return consumer.status();

    Subscription* sub = nullptr;
    std::unique_ptr<Subscription> old;
    {
      MutexLock lock(&mu_);
      auto& slot = subs_[shard];
      if (slot == nullptr || slot->expected() != iterator || slot->queue().ended()) {
        old = std::move(slot);
        slot = std::make_unique<Subscription>(options_, requests_, http_, *consumer, shard, start, iterator);
      }
      sub = slot.get();
    }
    old.reset();  // joins the replaced subscription, outside mu_

    Status error;
    const EfoEventQueue::Took took = sub->queue().Take(options_.wait_for_event, page, &error);
    if (took == EfoEventQueue::Took::kEnded) return error;
    if (took != EfoEventQueue::Took::kPage) {
      page->body.clear();
      page->records.clear();
      page->child_shards.clear();
      page->continuation_seq.clear();
      page->data_bytes = 0;
      page->millis_behind = took == EfoEventQueue::Took::kAtTip ? 0 : -1;
      page->next_iterator = iterator;
      return Status::OK();
    }
    page->next_iterator =
        page->continuation_seq.empty()
            ? std::string()
            : EncodeEfoIterator(shard, IteratorStart{IteratorType::kAfterSequenceNumber, page->continuation_seq, 0});
    sub->set_expected(page->next_iterator);
    return Status::OK();
  }

 private:
  static KinesisEndpoint Endpoint(const EfoOptions& o) {
    KinesisEndpoint e;
    e.region = o.region;
    e.endpoint_url = o.endpoint_url;
    e.timeout = o.call_timeout;
    e.connect_timeout = o.connect_timeout;
    return e;
  }

  Result<aws::HttpResponse> Call(std::string_view op, const std::string& body) {
    return requests_.Call(http_, op, body);
  }

  std::string ConsumerBody(const std::string& stream_arn) {
    rapidjson::StringBuffer sb;
    JsonWriter w(sb);
    w.StartObject();
    w.Key("StreamARN");
    WriteJsonString(w, stream_arn);
    w.Key("ConsumerName");
    WriteJsonString(w, options_.consumer_name);
    w.EndObject();
    return std::string(sb.GetString(), sb.GetSize());
  }

  // Describes the consumer: its ARN and status.
  Result<std::pair<std::string, std::string>> Describe(const std::string& stream_arn) {
    auto resp = Call("DescribeStreamConsumer", ConsumerBody(stream_arn));
    if (!resp.ok()) return resp.status();
    rapidjson::Document d;
    ParseJsonInPlace(resp->body, &d);
    if (d.HasParseError() || !d.IsObject() || !d.HasMember("ConsumerDescription")) {
      return Status::Internal("DescribeStreamConsumer: unexpected answer");
    }
    const auto& c = d["ConsumerDescription"];
    std::pair<std::string, std::string> out{JsonString(c, "ConsumerARN"), JsonString(c, "ConsumerStatus")};
    if (out.first.empty()) return Status::Internal("DescribeStreamConsumer: no ConsumerARN");
    return out;
  }

  // The ACTIVE consumer's ARN, registering it on first use.
  Result<std::string> ConsumerArn(const StreamRef& stream) {
    MutexLock lock(&consumer_mu_);
    if (!consumer_arn_.empty()) return consumer_arn_;
    std::string stream_arn = stream.arn;
    if (stream_arn.empty()) {
      auto s = polling_->DescribeStreamSummary(stream);
      if (!s.ok()) return s.status();
      stream_arn = s->arn;
    }
    auto desc = Describe(stream_arn);
    if (!desc.ok() && desc.status().IsNotFound()) {
      auto reg = Call("RegisterStreamConsumer", ConsumerBody(stream_arn));
      if (reg.ok()) {
        spdlog::info("registered stream consumer {} on {}", options_.consumer_name, stream_arn);
      } else if (reg.status().peer_code() != "ResourceInUseException") {  // registered meanwhile
        return reg.status();
      }
      desc = Describe(stream_arn);
    }
    const MonoTime deadline = clock_->Now() + options_.consumer_active_timeout;
    while (desc.ok() && desc->second != "ACTIVE" && clock_->Now() < deadline) {
      if (desc->second == "DELETING") break;
      clock_->SleepFor(std::chrono::milliseconds(250));
      desc = Describe(stream_arn);
    }
    if (!desc.ok()) return desc.status();
    if (desc->second != "ACTIVE") {
      return Status::Unavailable(fmt::format("stream consumer {} is {}", options_.consumer_name, desc->second))
          .WithPeer(RetryClass::kServerError, "ResourceInUseException");
    }
    spdlog::info("reading with enhanced fan-out: consumer {}", desc->first);
    consumer_arn_ = desc->first;
    return consumer_arn_;
  }

  const EfoOptions options_;
  KinesisClient* polling_;
  aws::HttpClient* http_;
  Clock* clock_;
  const KinesisRequestBuilder requests_;

  // Held across the Describe/Register calls, so one thread registers the
  // consumer and the others wait for its ARN.
  Mutex consumer_mu_;
  std::string consumer_arn_ GUARDED_BY(consumer_mu_);

  Mutex mu_;
  std::map<std::string, std::unique_ptr<Subscription>> subs_ GUARDED_BY(mu_);
};

}  // namespace

bool EfoEventQueue::Push(std::unique_ptr<RecordsPage> page) {
  std::unique_lock<std::mutex> lock(mu_);
  space_.wait(lock, [&] { return stopped_ || queue_.size() < capacity_; });
  if (stopped_) return false;
  queue_.push_back(std::move(page));
  ready_.notify_all();
  return true;
}

void EfoEventQueue::Finish(Status status) {
  std::lock_guard<std::mutex> lock(mu_);
  status_ = std::move(status);
  finished_ = true;
  ready_.notify_all();
}

void EfoEventQueue::Stop() {
  std::lock_guard<std::mutex> lock(mu_);
  stopped_ = true;
  space_.notify_all();
}

bool EfoEventQueue::stopped() {
  std::lock_guard<std::mutex> lock(mu_);
  return stopped_;
}

bool EfoEventQueue::WaitForStop(std::chrono::milliseconds wait) {
  std::unique_lock<std::mutex> lock(mu_);
  return space_.wait_for(lock, wait, [&] { return stopped_; });
}

EfoEventQueue::Took EfoEventQueue::Take(std::chrono::milliseconds wait, RecordsPage* page, Status* error) {
  std::unique_lock<std::mutex> lock(mu_);
  if (queue_.empty() && !finished_ && at_tip_) return Took::kAtTip;
  ready_.wait_for(lock, wait, [&] { return !queue_.empty() || finished_; });
  if (!queue_.empty()) {
    // A moved std::string keeps its heap buffer, so the record views stay
    // valid (a body short enough for the small-string buffer holds no
    // record).
    *page = std::move(*queue_.front());
    queue_.pop_front();
    space_.notify_all();
    at_tip_ = page->records.empty() && page->millis_behind == 0 && !page->continuation_seq.empty();
    return Took::kPage;
  }
  if (!finished_) return Took::kNothing;
  *error = status_.ok() ? Status::Unavailable("subscription ended").WithPeer(RetryClass::kNetwork, "") : status_;
  return Took::kEnded;
}

bool EfoEventQueue::ended() {
  std::lock_guard<std::mutex> lock(mu_);
  return finished_ && queue_.empty();
}

std::string EncodeEfoIterator(const std::string& shard_id, const IteratorStart& start) {
  std::string arg = start.type == IteratorType::kAtTimestamp ? std::to_string(start.timestamp_ms) : start.sequence;
  return fmt::format("efo|{}|{}|{}", shard_id, IteratorTypeName(start.type), arg);
}

Status DecodeEfoIterator(const std::string& iterator, std::string* shard_id, IteratorStart* start) {
  auto bad = [&] { return Status::InvalidArgument(fmt::format("not an enhanced fan-out iterator: '{}'", iterator)); };
  if (iterator.rfind("efo|", 0) != 0) return bad();
  const size_t a = 4;
  const size_t b = iterator.find('|', a);
  if (b == std::string::npos || b == a) return bad();
  const size_t c = iterator.find('|', b + 1);
  if (c == std::string::npos) return bad();
  const std::string type = iterator.substr(b + 1, c - b - 1);
  const std::string arg = iterator.substr(c + 1);
  IteratorStart s;
  bool found = false;
  for (IteratorType t : {IteratorType::kTrimHorizon, IteratorType::kLatest, IteratorType::kAtTimestamp,
                         IteratorType::kAfterSequenceNumber, IteratorType::kAtSequenceNumber}) {
    if (IteratorTypeName(t) == type) {
      s.type = t;
      found = true;
    }
  }
  if (!found) return bad();
  if (s.type == IteratorType::kAtTimestamp) {
    if (arg.empty() || arg.find_first_not_of("0123456789") != std::string::npos || arg.size() > 18) return bad();
    s.timestamp_ms = std::stoll(arg);
  } else if (s.type == IteratorType::kAfterSequenceNumber || s.type == IteratorType::kAtSequenceNumber) {
    if (arg.empty()) return bad();
    s.sequence = arg;
  } else if (!arg.empty()) {
    return bad();
  }
  *shard_id = iterator.substr(a, b - a);
  *start = std::move(s);
  return Status::OK();
}

Result<bool> PageFromEvent(EventMessage&& message, RecordsPage* page) {
  const std::string_view kind = message.StringHeader(":message-type");
  if (kind == "exception" || kind == "error") {
    std::string code(kind == "exception" ? message.StringHeader(":exception-type")
                                         : message.StringHeader(":error-code"));
    aws::HttpResponse resp;
    resp.status = kind == "exception" ? 400 : 500;
    resp.headers.push_back({"x-amzn-ErrorType", code});
    resp.body = kind == "exception" ? std::move(message.payload)
                                    : fmt::format(R"({{"message":"{}"}})", message.StringHeader(":error-message"));
    Status st = aws::ClassifyResponse("SubscribeToShard", resp);
    if (st.ok()) st = Status::Internal("SubscribeToShard: error event without a code");
    return SubscribeError(std::move(st));
  }
  if (kind != "event") return Status::Corruption(fmt::format("SubscribeToShard: message type '{}'", kind));
  const std::string_view type = message.StringHeader(":event-type");
  if (type == "initial-response") return false;
  if (type != "SubscribeToShardEvent") {
    return Status::Corruption(fmt::format("SubscribeToShard: unexpected event '{}'", type));
  }
  page->body = std::move(message.payload);
  SHARDHOSE_RETURN_IF_ERROR(ParseGetRecords(page));
  return true;
}

std::unique_ptr<KinesisClient> NewEfoKinesisClient(EfoOptions options, KinesisClient* polling, aws::HttpClient* http,
                                                   aws::CredentialsProvider* creds, Clock* clock) {
  return std::make_unique<EfoClient>(std::move(options), polling, http, creds, clock);
}

}  // namespace shardhose::poll
