#include "poll/event_stream.h"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>

namespace shardhose::poll {
namespace {

constexpr size_t kPreludeBytes = 12;   // total, headers length, prelude crc
constexpr size_t kOverheadBytes = 16;  // prelude + message crc

uint32_t Crc32(std::string_view data) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib takes uInt lengths; messages are capped far below 4 GiB, but feed
  // in slices anyway.
  while (!data.empty()) {
    const size_t n = std::min<size_t>(data.size(), 1u << 30);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(n));
    data.remove_prefix(n);
  }
  return static_cast<uint32_t>(crc);
}

uint64_t ReadBE(const char* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

void AppendBE(std::string* out, uint64_t v, int n) {
  for (int i = n - 1; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

}  // namespace

const EventHeader* EventMessage::Find(std::string_view name) const {
  for (const auto& h : headers) {
    if (h.name == name) return &h;
  }
  return nullptr;
}

std::string_view EventMessage::StringHeader(std::string_view name) const {
  const EventHeader* h = Find(name);
  if (h == nullptr || h->type != EventHeaderType::kString) return {};
  return h->bytes;
}

std::string EncodeEventMessage(const EventMessage& message) {
  std::string headers;
  for (const auto& h : message.headers) {
    headers.push_back(static_cast<char>(h.name.size()));
    headers += h.name;
    headers.push_back(static_cast<char>(h.type));
    switch (h.type) {
      case EventHeaderType::kBoolTrue:
      case EventHeaderType::kBoolFalse:
        break;
      case EventHeaderType::kByte:
        AppendBE(&headers, static_cast<uint64_t>(h.integer), 1);
        break;
      case EventHeaderType::kShort:
        AppendBE(&headers, static_cast<uint64_t>(h.integer), 2);
        break;
      case EventHeaderType::kInteger:
        AppendBE(&headers, static_cast<uint64_t>(h.integer), 4);
        break;
      case EventHeaderType::kLong:
      case EventHeaderType::kTimestamp:
        AppendBE(&headers, static_cast<uint64_t>(h.integer), 8);
        break;
      case EventHeaderType::kByteArray:
      case EventHeaderType::kString:
        AppendBE(&headers, h.bytes.size(), 2);
        headers += h.bytes;
        break;
      case EventHeaderType::kUuid:
        headers += h.bytes;
        break;
    }
  }
  std::string out;
  const size_t total = kOverheadBytes + headers.size() + message.payload.size();
  AppendBE(&out, total, 4);
  AppendBE(&out, headers.size(), 4);
  AppendBE(&out, Crc32(out), 4);
  out += headers;
  out += message.payload;
  AppendBE(&out, Crc32(out), 4);
  return out;
}

Status EventStreamDecoder::Feed(std::string_view bytes, std::vector<EventMessage>* out) {
  if (!error_.ok()) return error_;
  // Compact before appending so the buffer never grows past one message
  // plus one chunk.
  if (pos_ > 0) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  buf_.append(bytes.data(), bytes.size());
  while (buf_.size() - pos_ >= kPreludeBytes) {
    const char* p = buf_.data() + pos_;
    const uint64_t total = ReadBE(p, 4);
    const uint64_t headers_len = ReadBE(p + 4, 4);
    const uint32_t prelude_crc = static_cast<uint32_t>(ReadBE(p + 8, 4));
    if (Crc32(std::string_view(p, 8)) != prelude_crc) {
      error_ = Status::Corruption("event stream: prelude CRC mismatch");
      return error_;
    }
    if (total < kOverheadBytes || total > max_message_bytes_) {
      error_ = Status::Corruption(
          fmt::format("event stream: message length {} outside [{}, {}]", total, kOverheadBytes, max_message_bytes_));
      return error_;
    }
    if (headers_len > total - kOverheadBytes) {
      error_ = Status::Corruption(
          fmt::format("event stream: headers length {} exceeds message length {}", headers_len, total));
      return error_;
    }
    if (buf_.size() - pos_ < total) break;  // wait for the rest
    std::string_view msg(p, static_cast<size_t>(total));
    EventMessage m;
    Status st = DecodeOne(msg, &m);
    if (!st.ok()) {
      error_ = st;
      return error_;
    }
    out->push_back(std::move(m));
    pos_ += static_cast<size_t>(total);
  }
  return Status::OK();
}

Status EventStreamDecoder::DecodeOne(std::string_view msg, EventMessage* out) const {
  const size_t total = msg.size();
  const uint32_t message_crc = static_cast<uint32_t>(ReadBE(msg.data() + total - 4, 4));
  if (Crc32(msg.substr(0, total - 4)) != message_crc) {
    return Status::Corruption("event stream: message CRC mismatch");
  }
  const size_t headers_len = static_cast<size_t>(ReadBE(msg.data() + 4, 4));
  std::string_view h = msg.substr(kPreludeBytes, headers_len);
  auto need = [&](size_t n) { return h.size() >= n; };
  while (!h.empty()) {
    EventHeader header;
    const size_t name_len = static_cast<uint8_t>(h[0]);
    if (name_len == 0) return Status::Corruption("event stream: empty header name");
    if (!need(1 + name_len + 1)) return Status::Corruption("event stream: header name past the headers");
    header.name.assign(h.data() + 1, name_len);
    const uint8_t type = static_cast<uint8_t>(h[1 + name_len]);
    h.remove_prefix(2 + name_len);
    auto fixed = [&](int n, bool is_signed) -> bool {
      if (!need(static_cast<size_t>(n))) return false;
      uint64_t v = ReadBE(h.data(), n);
      if (is_signed && n < 8 && (v >> (8 * n - 1)) != 0) v |= ~uint64_t{0} << (8 * n);  // sign-extend
      header.integer = static_cast<int64_t>(v);
      h.remove_prefix(static_cast<size_t>(n));
      return true;
    };
    bool ok = true;
    switch (type) {
      case 0:
        header.integer = 1;
        break;
      case 1:
        header.integer = 0;
        break;
      case 2:
        ok = fixed(1, true);
        break;
      case 3:
        ok = fixed(2, true);
        break;
      case 4:
        ok = fixed(4, true);
        break;
      case 5:
      case 8:
        ok = fixed(8, true);
        break;
      case 6:
      case 7: {
        if (!need(2)) {
          ok = false;
          break;
        }
        const size_t len = static_cast<size_t>(ReadBE(h.data(), 2));
        if (!need(2 + len)) {
          ok = false;
          break;
        }
        header.bytes.assign(h.data() + 2, len);
        h.remove_prefix(2 + len);
        break;
      }
      case 9:
        if (!need(16)) {
          ok = false;
          break;
        }
        header.bytes.assign(h.data(), 16);
        h.remove_prefix(16);
        break;
      default:
        return Status::Corruption(fmt::format("event stream: unknown header value type {}", type));
    }
    if (!ok) return Status::Corruption(fmt::format("event stream: header '{}' value past the headers", header.name));
    header.type = static_cast<EventHeaderType>(type);
    out->headers.push_back(std::move(header));
  }
  out->payload.assign(msg.substr(kPreludeBytes + headers_len, total - kOverheadBytes - headers_len));
  return Status::OK();
}

}  // namespace shardhose::poll
