// KPL aggregate reader (kpl.h has the format and the rules).

#include "decode/kpl.h"

#include <openssl/evp.h>

#include <cstring>

#include "common/base64.h"
#include "decode/fast_base64.h"

namespace shardhose::decode {
namespace {

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

// A bounds-checked cursor over one protobuf message. Offsets in messages are
// from the start of the whole protobuf (`base` is the message's offset in
// it).
class Reader {
 public:
  Reader(std::string_view msg, size_t base) : msg_(msg), base_(base) {}

  bool done() const { return pos_ == msg_.size(); }

  Status Varint(uint64_t* v) {
    const size_t start = pos_;
    uint64_t result = 0;
    for (int shift = 0; shift < 70; shift += 7) {
      if (pos_ == msg_.size()) return Bad(start, "truncated varint");
      const auto byte = static_cast<uint8_t>(msg_[pos_++]);
      if (shift == 63 && byte > 1) return Bad(start, "varint overflows 64 bits");
      result |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) {
        *v = result;
        return Status::OK();
      }
    }
    return Bad(start, "varint longer than 10 bytes");
  }

  // A field key. *field >= 1; *wire is one of WireType.
  Status Key(uint64_t* field, uint32_t* wire) {
    const size_t start = pos_;
    uint64_t key = 0;
    SHARDHOSE_RETURN_IF_ERROR(Varint(&key));
    *field = key >> 3;
    *wire = static_cast<uint32_t>(key & 7);
    if (*field == 0 || *field > 0x1fffffff) return Bad(start, "invalid field number");
    if (*wire != kVarint && *wire != kFixed64 && *wire != kLengthDelimited && *wire != kFixed32) {
      return Bad(start, "invalid wire type " + std::to_string(*wire));
    }
    return Status::OK();
  }

  // A length-delimited payload; *offset is its offset in the protobuf.
  Status Bytes(std::string_view* v, size_t* offset = nullptr) {
    const size_t start = pos_;
    uint64_t len = 0;
    SHARDHOSE_RETURN_IF_ERROR(Varint(&len));
    if (len > msg_.size() - pos_) return Bad(start, "length " + std::to_string(len) + " runs past the end");
    if (offset) *offset = base_ + pos_;
    *v = msg_.substr(pos_, static_cast<size_t>(len));
    pos_ += static_cast<size_t>(len);
    return Status::OK();
  }

  Status Skip(uint32_t wire) {
    const size_t start = pos_;
    uint64_t ignored = 0;
    std::string_view bytes;
    switch (wire) {
      case kVarint:
        return Varint(&ignored);
      case kLengthDelimited:
        return Bytes(&bytes);
      default: {
        const size_t n = wire == kFixed64 ? 8 : 4;
        if (msg_.size() - pos_ < n) return Bad(start, "truncated fixed-width field");
        pos_ += n;
        return Status::OK();
      }
    }
  }

  // Requires `want` for a known field.
  Status Expect(uint32_t wire, uint32_t want, std::string_view field) {
    if (wire == want) return Status::OK();
    return Bad(pos_, std::string(field) + " has wire type " + std::to_string(wire));
  }

  Status Bad(size_t at, std::string what) const {
    return Status::Corruption(what + " at byte " + std::to_string(base_ + at) + " of the protobuf");
  }

 private:
  std::string_view msg_;
  size_t base_;
  size_t pos_ = 0;
};

struct RawRecord {
  bool has_key = false;
  bool has_data = false;
  uint64_t key_index = 0;
  bool has_hash = false;
  uint64_t hash_index = 0;
  std::string_view data;
};

Status ParseTag(std::string_view msg, size_t base) {
  Reader r(msg, base);
  while (!r.done()) {
    uint64_t field = 0;
    uint32_t wire = 0;
    SHARDHOSE_RETURN_IF_ERROR(r.Key(&field, &wire));
    if (field == 1 || field == 2) SHARDHOSE_RETURN_IF_ERROR(r.Expect(wire, kLengthDelimited, "Tag field"));
    SHARDHOSE_RETURN_IF_ERROR(r.Skip(wire));
  }
  return Status::OK();
}

Status ParseRecord(std::string_view msg, size_t base, RawRecord* rec) {
  Reader r(msg, base);
  while (!r.done()) {
    uint64_t field = 0;
    uint32_t wire = 0;
    SHARDHOSE_RETURN_IF_ERROR(r.Key(&field, &wire));
    switch (field) {
      case 1:
        SHARDHOSE_RETURN_IF_ERROR(r.Expect(wire, kVarint, "partition_key_index"));
        SHARDHOSE_RETURN_IF_ERROR(r.Varint(&rec->key_index));
        rec->has_key = true;
        break;
      case 2:
        SHARDHOSE_RETURN_IF_ERROR(r.Expect(wire, kVarint, "explicit_hash_key_index"));
        SHARDHOSE_RETURN_IF_ERROR(r.Varint(&rec->hash_index));
        rec->has_hash = true;
        break;
      case 3:
        SHARDHOSE_RETURN_IF_ERROR(r.Expect(wire, kLengthDelimited, "data"));
        SHARDHOSE_RETURN_IF_ERROR(r.Bytes(&rec->data));
        rec->has_data = true;
        break;
      case 4: {
        SHARDHOSE_RETURN_IF_ERROR(r.Expect(wire, kLengthDelimited, "tags"));
        std::string_view tag;
        size_t at = 0;
        SHARDHOSE_RETURN_IF_ERROR(r.Bytes(&tag, &at));
        SHARDHOSE_RETURN_IF_ERROR(ParseTag(tag, at));
        break;
      }
      default:
        SHARDHOSE_RETURN_IF_ERROR(r.Skip(wire));
    }
  }
  return Status::OK();
}

std::string Md5(std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, EVP_md5(), nullptr);
  return std::string(reinterpret_cast<const char*>(out), len);
}

}  // namespace

bool IsAggregated(std::string_view data) {
  return data.size() >= kKplMagic.size() + kKplDigestSize && data.substr(0, kKplMagic.size()) == kKplMagic;
}

bool MayBeAggregatedBase64(std::string_view data_base64) {
  // F3 89 9A C2 encodes as "84ma" followed by a character from 'w' (0xC2's
  // top six bits, 110000).
  return data_base64.size() >= 5 && data_base64.substr(0, 5) == "84maw";
}

Status Deaggregate(std::string_view data, std::vector<KplSubRecord>* out) {
  out->clear();
  const std::string_view proto = data.substr(kKplMagic.size(), data.size() - kKplMagic.size() - kKplDigestSize);
  const std::string_view digest = data.substr(data.size() - kKplDigestSize);
  if (Md5(proto) != digest) return Status::Corruption("MD5 mismatch: the aggregate is corrupt");

  std::vector<std::string_view> keys;
  size_t hash_keys = 0;
  std::vector<RawRecord> records;
  Reader r(proto, 0);
  while (!r.done()) {
    uint64_t field = 0;
    uint32_t wire = 0;
    SHARDHOSE_RETURN_IF_ERROR(r.Key(&field, &wire));
    std::string_view bytes;
    size_t at = 0;
    switch (field) {
      case 1:
        SHARDHOSE_RETURN_IF_ERROR(r.Expect(wire, kLengthDelimited, "partition_key_table"));
        SHARDHOSE_RETURN_IF_ERROR(r.Bytes(&bytes));
        keys.push_back(bytes);
        break;
      case 2:
        SHARDHOSE_RETURN_IF_ERROR(r.Expect(wire, kLengthDelimited, "explicit_hash_key_table"));
        SHARDHOSE_RETURN_IF_ERROR(r.Bytes(&bytes));
        ++hash_keys;
        break;
      case 3: {
        SHARDHOSE_RETURN_IF_ERROR(r.Expect(wire, kLengthDelimited, "records"));
        SHARDHOSE_RETURN_IF_ERROR(r.Bytes(&bytes, &at));
        RawRecord rec;
        Status st = ParseRecord(bytes, at, &rec);
        if (!st.ok()) return st.WithContext("record " + std::to_string(records.size()));
        records.push_back(rec);
        break;
      }
      default:
        SHARDHOSE_RETURN_IF_ERROR(r.Skip(wire));
    }
  }
  if (records.empty()) return Status::Corruption("the aggregate holds no records");
  out->reserve(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    const RawRecord& rec = records[i];
    const std::string where = "record " + std::to_string(i) + ": ";
    if (!rec.has_key) return Status::Corruption(where + "no partition_key_index");
    if (!rec.has_data) return Status::Corruption(where + "no data");
    if (rec.key_index >= keys.size()) {
      return Status::Corruption(where + "partition_key_index " + std::to_string(rec.key_index) + " out of range (" +
                                std::to_string(keys.size()) + " keys)");
    }
    if (rec.has_hash && rec.hash_index >= hash_keys) {
      return Status::Corruption(where + "explicit_hash_key_index " + std::to_string(rec.hash_index) +
                                " out of range (" + std::to_string(hash_keys) + " keys)");
    }
    out->push_back(KplSubRecord{rec.data, keys[static_cast<size_t>(rec.key_index)], i});
  }
  return Status::OK();
}

void KplSplitter::Split(const poll::KinesisRecordView& record, std::vector<KplUnit>* out) {
  out->clear();
  KplUnit plain;
  plain.view = record;
  plain.position = record.sequence_number;
  if (!aggregation_ || !MayBeAggregatedBase64(record.data_base64) || !DecodeBase64(record.data_base64, &raw_) ||
      !IsAggregated(raw_)) {
    out->push_back(plain);
    return;
  }
  Status st = Deaggregate(raw_, &subs_);
  if (!st.ok()) {
    error_ = "KPL aggregate: " + st.message();
    plain.error = error_;
    out->push_back(plain);
    return;
  }
  // Sized first: the views below point into these strings.
  if (base64_.size() < subs_.size()) base64_.resize(subs_.size());
  if (positions_.size() < subs_.size()) positions_.resize(subs_.size());
  for (size_t i = 0; i < subs_.size(); ++i) {
    base64_[i].clear();
    Base64Encode(subs_[i].data, &base64_[i]);
    positions_[i].assign(record.sequence_number);
    positions_[i].push_back('.');
    positions_[i].append(std::to_string(subs_[i].index));
  }
  out->reserve(subs_.size());
  for (size_t i = 0; i < subs_.size(); ++i) {
    KplUnit u;
    u.view.data_base64 = base64_[i];
    u.view.sequence_number = positions_[i];
    u.view.partition_key = subs_[i].partition_key;
    u.view.arrival_ms = record.arrival_ms;
    u.position = positions_[i];
    u.ends_record = i + 1 == subs_.size();
    out->push_back(u);
  }
}

}  // namespace shardhose::decode
