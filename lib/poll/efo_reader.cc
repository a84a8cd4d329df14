#include "poll/efo_reader.h"

#include <curl/curl.h>

#include <map>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <spdlog/spdlog.h>

#include "aws/retry_class.h"
#include "aws/sigv4.h"

namespace shardhose::poll {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void Str(Writer& w, const std::string& s) { w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size())); }

std::string GetString(const rapidjson::Value& obj, const char* name) {
  if (!obj.IsObject()) return {};
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd() || !it->value.IsString()) return {};
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

std::string DefaultUrl(const EfoOptions& o) {
  std::string url =
      o.endpoint_url.empty() ? fmt::format("https://kinesis.{}.amazonaws.com/", o.region) : o.endpoint_url;
  if (url.find('/', url.find("://") + 3) == std::string::npos) url += '/';
  return url;
}

// A signed Kinesis JSON request (not yet sent).
Result<aws::HttpRequest> SignedRequest(const EfoOptions& o, const std::string& url, std::string_view op,
                                       std::string_view body, aws::CredentialsProvider* creds, Clock* clock) {
  auto c = creds->Get();
  if (!c.ok()) return c.status();
  aws::HttpRequest req;
  req.method = "POST";
  req.url = url;
  req.body = body;
  req.timeout = o.call_timeout;
  req.connect_timeout = o.connect_timeout;
  req.SetHeader("Content-Type", "application/x-amz-json-1.1");
  req.SetHeader("X-Amz-Target", fmt::format("Kinesis_20131202.{}", op));
  aws::SigningParams params;
  params.region = o.region;
  params.service = "kinesis";
  params.time = clock->WallNow();
  SHARDHOSE_RETURN_IF_ERROR(aws::SignRequest(&req, *c, params));
  return req;
}

struct CurlSlist {
  curl_slist* list = nullptr;
  ~CurlSlist() { curl_slist_free_all(list); }
};

// A failed SubscribeToShard, classified. ResourceInUseException there
// means the consumer's previous subscription to the shard is still active
// or ended less than 5 s ago (a fast restart): transient, so Unavailable,
// and throttled, so the retry waits seconds rather than milliseconds.
Status SubscribeError(Status st) {
  if (st.peer_code() != "ResourceInUseException") return st;
  return Status::Unavailable(st.message()).WithPeer(RetryClass::kThrottled, "ResourceInUseException");
}

// One shard's subscription: a thread streaming SubscribeToShard answers
// into a queue of parsed pages.
class Subscription {
 public:
  Subscription(const EfoOptions& options, std::string url, std::string consumer_arn, std::string shard,
               IteratorStart start, std::string expected, aws::CredentialsProvider* creds, Clock* clock)
      : options_(options),
        url_(std::move(url)),
        consumer_arn_(std::move(consumer_arn)),
        shard_(std::move(shard)),
        creds_(creds),
        clock_(clock),
        expected_(std::move(expected)),
        queue_(options.max_buffered_events) {
    thread_ = std::thread([this, start] { Run(start); });
  }
  ~Subscription() {
    queue_.Stop();
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
      if (queue_.stopped() || shard_end || !st.ok()) break;
      // The server ended the subscription (5 minutes on AWS): continue
      // from the last continuation sequence number. An answer without any
      // event is not progress; pause so a misbehaving server cannot spin us.
      spdlog::debug("shard {}: subscription ended after {} events, resubscribing", shard_, events);
      if (events == 0 && queue_.WaitForStop(std::chrono::seconds(1))) break;
    }
    queue_.Finish(st);
  }

  struct Transfer {
    Subscription* self;
    CURL* curl;
    EventStreamDecoder decoder;
    std::vector<EventMessage> messages;
    long status = 0;
    std::string error_body;
    Status error;
    IteratorStart* pos;
    bool* shard_end;
    int* events;
  };

  static size_t OnData(char* data, size_t size, size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const size_t len = size * n;
    if (t->status == 0) curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &t->status);
    if (t->status != 200) {
      if (t->error_body.size() < 65536) t->error_body.append(data, std::min<size_t>(len, 65536));
      return len;
    }
    t->messages.clear();
    Status st = t->decoder.Feed(std::string_view(data, len), &t->messages);
    for (auto& m : t->messages) {
      auto page = std::make_unique<RecordsPage>();
      auto r = PageFromEvent(std::move(m), page.get());
      if (!r.ok()) {
        t->error = r.status();
        return 0;
      }
      if (!*r) continue;
      ++*t->events;
      const bool end = page->continuation_seq.empty();
      if (!end) *t->pos = IteratorStart{IteratorType::kAfterSequenceNumber, page->continuation_seq, 0};
      if (!t->self->queue_.Push(std::move(page))) return 0;  // stopping
      if (end) {
        *t->shard_end = true;
        return 0;
      }
    }
    if (!st.ok()) {
      t->error = st.WithContext("SubscribeToShard").WithPeer(RetryClass::kNetwork, "");
      return 0;
    }
    return len;
  }

  static int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    auto* t = static_cast<Transfer*>(user);
    return t->self->queue_.stopped() ? 1 : 0;
  }

  // One SubscribeToShard call from *pos. OK when the server ended the
  // stream cleanly (or on stop / shard end).
  Status StreamOnce(IteratorStart* pos, bool* shard_end, int* events) {
    rapidjson::StringBuffer sb;
    Writer w(sb);
    w.StartObject();
    w.Key("ConsumerARN");
    Str(w, consumer_arn_);
    w.Key("ShardId");
    Str(w, shard_);
    w.Key("StartingPosition");
    w.StartObject();
    w.Key("Type");
    auto type = IteratorTypeName(pos->type);
    w.String(type.data(), static_cast<rapidjson::SizeType>(type.size()));
    if (pos->type == IteratorType::kAfterSequenceNumber || pos->type == IteratorType::kAtSequenceNumber) {
      w.Key("SequenceNumber");
      Str(w, pos->sequence);
    } else if (pos->type == IteratorType::kAtTimestamp) {
      w.Key("Timestamp");
      w.RawValue(fmt::format("{}.{:03}", pos->timestamp_ms / 1000, pos->timestamp_ms % 1000).c_str(), 0,
                 rapidjson::kNumberType);
    }
    w.EndObject();
    w.EndObject();
    const std::string body = sb.GetString();
    auto req = SignedRequest(options_, url_, "SubscribeToShard", body, creds_, clock_);
    if (!req.ok()) return req.status();

    CURL* curl = curl_easy_init();
    if (curl == nullptr) return Status::Internal("curl_easy_init failed");
    CurlSlist headers;
    for (const auto& h : req->headers) {
      if (h.name == "Content-Length" || h.name == "content-length") continue;  // curl sets it
      headers.list = curl_slist_append(headers.list, fmt::format("{}: {}", h.name, h.value).c_str());
    }
    headers.list = curl_slist_append(headers.list, "Expect:");
    Transfer t{this, curl, EventStreamDecoder(options_.max_message_bytes), {}, 0, {}, Status::OK(),
               pos, shard_end, events};
    const bool tls = url_.rfind("https://", 0) == 0;
    curl_easy_setopt(curl, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTP_VERSION,
                     tls ? long{CURL_HTTP_VERSION_2TLS} : long{CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE});
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.list);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, static_cast<long>(options_.stall_timeout.count()));
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Subscription::OnData);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &Subscription::OnProgress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &t);
    spdlog::debug("shard {}: SubscribeToShard {} {}", shard_, IteratorTypeName(pos->type), pos->sequence);
    const CURLcode rc = curl_easy_perform(curl);
    if (t.status == 0) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &t.status);
    curl_easy_cleanup(curl);

    if (queue_.stopped()) return Status::OK();
    if (*shard_end) return Status::OK();
    if (!t.error.ok()) return t.error;
    if (t.status != 200 && t.status != 0) {
      aws::HttpResponse resp;
      resp.status = static_cast<int>(t.status);
      resp.body = std::move(t.error_body);
      return SubscribeError(aws::ClassifyResponse("SubscribeToShard", resp));
    }
    if (rc != CURLE_OK) {
      return Status::Unavailable(fmt::format("SubscribeToShard {}: {}", shard_, curl_easy_strerror(rc)))
          .WithPeer(RetryClass::kNetwork, "");
    }
    if (t.decoder.buffered() > 0) {
      return Status::Unavailable("SubscribeToShard: the stream ended inside a message")
          .WithPeer(RetryClass::kNetwork, "");
    }
    return Status::OK();
  }

  const EfoOptions& options_;
  const std::string url_;
  const std::string consumer_arn_;
  const std::string shard_;
  aws::CredentialsProvider* creds_;
  Clock* clock_;
  std::string expected_;  // touched only by the one GetRecords caller of this shard
  EfoEventQueue queue_;
  std::thread thread_;
};

class EfoClient final : public KinesisClient {
 public:
  EfoClient(EfoOptions options, KinesisClient* polling, aws::HttpClient* http, aws::CredentialsProvider* creds,
            Clock* clock)
      : options_(std::move(options)), polling_(polling), http_(http), creds_(creds), clock_(clock) {
    url_ = DefaultUrl(options_);
  }

  ~EfoClient() override {
    std::map<std::string, std::unique_ptr<Subscription>> subs;
    {
      std::lock_guard<std::mutex> lock(mu_);
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
      std::lock_guard<std::mutex> lock(mu_);
      auto& slot = subs_[shard];
      if (slot == nullptr || slot->expected() != iterator || slot->queue().ended()) {
        old = std::move(slot);
        slot = std::make_unique<Subscription>(options_, url_, *consumer, shard, start, iterator, creds_, clock_);
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
    page->next_iterator = page->continuation_seq.empty()
                              ? std::string()
                              : EncodeEfoIterator(shard, IteratorStart{IteratorType::kAfterSequenceNumber,
                                                                       page->continuation_seq, 0});
    sub->set_expected(page->next_iterator);
    return Status::OK();
  }

 private:
  Result<aws::HttpResponse> Call(std::string_view op, const std::string& body) {
    auto req = SignedRequest(options_, url_, op, body, creds_, clock_);
    if (!req.ok()) return req.status();
    auto resp = http_->Send(*req);
    if (!resp.ok()) return resp.status().WithContext(op);
    Status st = aws::ClassifyResponse(op, *resp);
    if (!st.ok()) return st;
    return std::move(resp).value();
  }

  std::string ConsumerBody(const std::string& stream_arn) {
    rapidjson::StringBuffer sb;
    Writer w(sb);
    w.StartObject();
    w.Key("StreamARN");
    Str(w, stream_arn);
    w.Key("ConsumerName");
    Str(w, options_.consumer_name);
    w.EndObject();
    return sb.GetString();
  }

  // Describes the consumer: its ARN and status.
  Result<std::pair<std::string, std::string>> Describe(const std::string& stream_arn) {
    auto resp = Call("DescribeStreamConsumer", ConsumerBody(stream_arn));
    if (!resp.ok()) return resp.status();
    rapidjson::Document d;
    d.Parse<rapidjson::kParseIterativeFlag>(resp->body.data(), resp->body.size());
    if (d.HasParseError() || !d.IsObject() || !d.HasMember("ConsumerDescription")) {
      return Status::Internal("DescribeStreamConsumer: unexpected answer");
    }
    const auto& c = d["ConsumerDescription"];
    std::pair<std::string, std::string> out{GetString(c, "ConsumerARN"), GetString(c, "ConsumerStatus")};
    if (out.first.empty()) return Status::Internal("DescribeStreamConsumer: no ConsumerARN");
    return out;
  }

  // The ACTIVE consumer's ARN, registering it on first use.
  Result<std::string> ConsumerArn(const StreamRef& stream) {
    std::lock_guard<std::mutex> lock(consumer_mu_);
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
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
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
  aws::CredentialsProvider* creds_;
  Clock* clock_;
  std::string url_;

  std::mutex consumer_mu_;
  std::string consumer_arn_;  // guarded by consumer_mu_

  std::mutex mu_;
  std::map<std::string, std::unique_ptr<Subscription>> subs_;  // guarded by mu_
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

std::unique_ptr<KinesisClient> NewEfoKinesisClient(EfoOptions options, KinesisClient* polling,
                                                   aws::HttpClient* http, aws::CredentialsProvider* creds,
                                                   Clock* clock) {
  return std::make_unique<EfoClient>(std::move(options), polling, http, creds, clock);
}

}  // namespace shardhose::poll
