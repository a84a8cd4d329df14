// Test helper: builds KPL aggregated records (decode/kpl.h format) with a
// minimal protobuf writer. Used by the decode and pipeline unit tests.
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "decode/kpl.h"

namespace shardhose::kpltest {

inline std::string Varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}
inline std::string Key(uint64_t field, uint32_t wire) { return Varint(field << 3 | wire); }
inline std::string Len(uint64_t field, std::string_view bytes) {
  return Key(field, 2) + Varint(bytes.size()) + std::string(bytes);
}
inline std::string Uint(uint64_t field, uint64_t v) { return Key(field, 0) + Varint(v); }
inline std::string Record(uint64_t key_index, std::string_view data) { return Uint(1, key_index) + Len(3, data); }

inline std::string Md5(std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, EVP_md5(), nullptr);
  return std::string(reinterpret_cast<const char*>(out), len);
}

// magic + proto + MD5(proto).
inline std::string Aggregate(std::string_view proto) {
  return std::string(decode::kKplMagic) + std::string(proto) + Md5(proto);
}

// An aggregate of (partition key, data) user records, one key table entry
// per distinct key.
inline std::string AggregateOf(const std::vector<std::pair<std::string, std::string>>& records) {
  std::vector<std::string> keys;
  std::string proto_keys, proto_records;
  for (const auto& [pk, data] : records) {
    size_t i = 0;
    while (i < keys.size() && keys[i] != pk) ++i;
    if (i == keys.size()) {
      keys.push_back(pk);
      proto_keys += Len(1, pk);
    }
    proto_records += Len(3, Record(i, data));
  }
  return Aggregate(proto_keys + proto_records);
}

}  // namespace shardhose::kpltest
