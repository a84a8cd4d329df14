// File: poll/event_stream.h
//
// A decoder for the AWS event-stream binary framing
// (application/vnd.amazon.eventstream), which SubscribeToShard answers in.
// Every message, all integers big-endian:
//
//   message  := prelude prelude_crc headers payload message_crc
//   prelude  := total_length:u32 headers_length:u32
//   prelude_crc := CRC32(prelude)                      (IEEE, as zlib)
//   message_crc := CRC32(every byte before it)
//   headers  := header*            (exactly headers_length bytes)
//   header   := name_len:u8 name[name_len] type:u8 value
//   value    := (by type) 0 true | 1 false | 2 i8 | 3 i16 | 4 i32 | 5 i64
//               | 6 len:u16 bytes | 7 len:u16 utf8 | 8 i64 ms since epoch
//               | 9 uuid[16]
//   payload  := total_length - headers_length - 16 bytes
//
// The decoder is incremental: Feed() takes bytes in chunks of any size
// (split anywhere, even inside the prelude) and hands out each message
// once it is complete. It is strict: a bad CRC, a length below 16 or above
// the cap, headers that do not exactly fill headers_length, an empty header
// name or an unknown value type are Corruption, and the decoder stays
// failed (every later Feed returns the same error) — a framing error
// desynchronises the stream, which can only be restarted.
//
// Thread-safety: none; one decoder per stream.
//
// Example:
//   EventStreamDecoder dec;
//   std::vector<EventMessage> msgs;
//   SHARDHOSE_RETURN_IF_ERROR(dec.Feed(chunk, &msgs));
//   for (auto& m : msgs) if (m.StringHeader(":event-type") == "SubscribeToShardEvent") ...
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace shardhose::poll {

enum class EventHeaderType : uint8_t {
  kBoolTrue = 0,
  kBoolFalse = 1,
  kByte = 2,
  kShort = 3,
  kInteger = 4,
  kLong = 5,
  kByteArray = 6,
  kString = 7,
  kTimestamp = 8,
  kUuid = 9,
};

struct EventHeader {
  std::string name;
  EventHeaderType type = EventHeaderType::kString;
  int64_t integer = 0;  // bools (1/0), byte, short, integer, long, timestamp (ms)
  std::string bytes;    // byte array, string, uuid (16 raw bytes)
};

struct EventMessage {
  std::vector<EventHeader> headers;
  std::string payload;

  // The first header named `name`, or nullptr.
  const EventHeader* Find(std::string_view name) const;
  // The value of the string header `name`, or "" if absent or not a string.
  std::string_view StringHeader(std::string_view name) const;
};

// Encodes one message (for tests and fuzzing; the daemon only decodes).
std::string EncodeEventMessage(const EventMessage& message);

class EventStreamDecoder {
 public:
  static constexpr size_t kDefaultMaxMessageBytes = 16u << 20;

  explicit EventStreamDecoder(size_t max_message_bytes = kDefaultMaxMessageBytes)
      : max_message_bytes_(max_message_bytes) {}

  // Appends `bytes` and moves every message completed by them to the end
  // of *out, in stream order. On Corruption *out holds the messages that
  // were complete before the bad one.
  Status Feed(std::string_view bytes, std::vector<EventMessage>* out);

  // Bytes of an incomplete message held back (0 between messages: a
  // stream that ends with buffered() > 0 was cut mid-message).
  size_t buffered() const { return buf_.size() - pos_; }
  const Status& error() const { return error_; }

 private:
  Status DecodeOne(std::string_view msg, EventMessage* out) const;

  size_t max_message_bytes_;
  std::string buf_;
  size_t pos_ = 0;  // start of the first unconsumed byte in buf_
  Status error_;
};

}  // namespace shardhose::poll
