// The checkpoint file, version 1 or 2. The bytes, as a grammar (checkpoint.h
// has the meaning of each field; this is what Encode writes and Decode
// accepts):
//
//   file   := HEADER HEX8 '","body":' BODY '}' '\n'
//   HEADER := '{"format":"shardhose-checkpoint","version":' VERSION ',"crc32c":"'
//   VERSION:= '1' | '2'             (any other digits: "unsupported version N");
//             '2' iff some cut range holds a "seq.sub" position
//   HEX8   := CRC-32C (Castagnoli) of the exact BODY bytes, 8 lowercase hex
//   BODY   := any JSON text whose value is the object of checkpoint.h, with no
//             raw NUL byte. Decode verifies the checksum before parsing and
//             then accepts any JSON whitespace, but rejects unknown, missing
//             and duplicate fields, wrong types and bad enum values.
//
// The BODY Encode writes (deterministic: fields in this order, shards and
// ranges sorted by id, which std::map gives us, no optional whitespace except
// the line breaks shown):
//
//   '{"stream_name":' STR ',"stream_arn":' STR ',"generation":' UINT
//   ',"written_at":' STR ',"shards":{' SHARDS '},"pending":[' CUTS ']}'
//   SHARDS := ''  |  '\n' SHARD_LINE (',\n' SHARD_LINE)* '\n'
//   SHARD_LINE := STR ':{"state":' STR ',"sequence":' STR ',"start":' STR
//                 ',"start_timestamp_ms":' INT ',"parent":' STR
//                 ',"adjacent_parent":' STR ',"caught_up_ms":' INT '}'
//   CUTS   := ''  |  '\n' CUT_LINE (',\n' CUT_LINE)* '\n'
//   CUT_LINE := '{"partition":' STR ',"key":' STR ',"uploaded":' BOOL
//               ',"ranges":{' RANGES '}}'
//   BOOL   := 'true' | 'false'
//   RANGES := ''  |  RANGE (',' RANGE)*
//   RANGE  := STR ':{"first":' STR ',"last":' STR '}'
//   UINT, INT := shortest decimal, '-' for negative INT
//   STR    := '"' chars '"' where '"' '\' BS FF LF CR TAB are escaped as
//             \" \\ \b \f \n \r \t, other bytes < 0x20 as \u00XX (lowercase
//             hex), every other byte (including >= 0x80) as is. Strings
//             are byte strings: UTF-8 is expected but not validated, so any
//             std::string round-trips.
//
// So one shard (and one pending cut) per line, which keeps the file readable
// with `cat` and diffable.

#include "checkpoint/checkpoint.h"

#include <fmt/format.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <array>
#include <charconv>
#include <cstring>
#include <initializer_list>
#include <utility>

#include "common/seqnum.h"

namespace shardhose::checkpoint {
namespace {

constexpr std::string_view kHeader = R"({"format":"shardhose-checkpoint","version":)";
constexpr std::string_view kCrcField = R"(,"crc32c":")";
constexpr std::string_view kBodyField = R"(","body":)";
constexpr std::string_view kTrailer = "}\n";

// ---------------------------------------------------------------------------
// CRC-32C, reflected polynomial 0x82F63B78, slice-by-1 table.

constexpr std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr std::array<uint32_t, 256> kCrcTable = MakeCrcTable();

// ---------------------------------------------------------------------------
// Encoding.

void AppendString(std::string* out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c < 0x20) {
          out->append("\\u00");
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 0xf]);
        } else {
          out->push_back(ch);
        }
    }
  }
  out->push_back('"');
}

template <typename Int>
void AppendInt(std::string* out, Int v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;  // 24 bytes always hold a 64-bit integer
  out->append(buf, end);
}

std::string_view StateName(ShardCheckpoint::State s) {
  return s == ShardCheckpoint::State::kFinished ? "finished" : "open";
}

std::string_view StartName(ShardCheckpoint::Start s) {
  return s == ShardCheckpoint::Start::kAtTimestamp ? "AT_TIMESTAMP" : "TRIM_HORIZON";
}

// CUTS of the grammar above (the "pending" array's contents, without its
// brackets): one cut per line.
void AppendCuts(std::string* out, const std::vector<PendingCut>& cuts) {
  bool first = true;
  for (const PendingCut& cut : cuts) {
    out->append(first ? "\n" : ",\n");
    first = false;
    out->append(R"({"partition":)");
    AppendString(out, cut.partition);
    out->append(R"(,"key":)");
    AppendString(out, cut.key);
    out->append(cut.uploaded ? R"(,"uploaded":true)" : R"(,"uploaded":false)");
    out->append(R"(,"ranges":{)");
    bool first_range = true;
    for (const auto& [id, r] : cut.ranges) {
      if (!first_range) out->push_back(',');
      first_range = false;
      AppendString(out, id);
      out->append(R"(:{"first":)");
      AppendString(out, r.first);
      out->append(R"(,"last":)");
      AppendString(out, r.last);
      out->push_back('}');
    }
    out->append("}}");
  }
  if (!first) out->push_back('\n');
}

std::string EncodeBody(const Checkpoint& cp) {
  std::string b;
  b.reserve(256 + 192 * cp.shards.size());
  b.append(R"({"stream_name":)");
  AppendString(&b, cp.stream_name);
  b.append(R"(,"stream_arn":)");
  AppendString(&b, cp.stream_arn);
  b.append(R"(,"generation":)");
  AppendInt(&b, cp.generation);
  b.append(R"(,"written_at":)");
  AppendString(&b, cp.written_at);

  b.append(R"(,"shards":{)");
  bool first = true;
  for (const auto& [id, s] : cp.shards) {
    b.append(first ? "\n" : ",\n");
    first = false;
    AppendString(&b, id);
    b.append(R"(:{"state":)");
    AppendString(&b, StateName(s.state));
    b.append(R"(,"sequence":)");
    AppendString(&b, s.sequence);
    b.append(R"(,"start":)");
    AppendString(&b, StartName(s.start));
    b.append(R"(,"start_timestamp_ms":)");
    AppendInt(&b, s.start_timestamp_ms);
    b.append(R"(,"parent":)");
    AppendString(&b, s.parent);
    b.append(R"(,"adjacent_parent":)");
    AppendString(&b, s.adjacent_parent);
    b.append(R"(,"caught_up_ms":)");
    b.append(std::to_string(s.caught_up_ms));
    b.push_back('}');
  }
  if (!first) b.push_back('\n');

  b.append(R"(},"pending":[)");
  AppendCuts(&b, cp.pending);
  b.append("]}");
  return b;
}

// ---------------------------------------------------------------------------
// Decoding.

using rapidjson::Value;

// Bytes from the file quoted in an error message: non-printable bytes as
// \xNN, cut at 64 bytes, so a corrupt file cannot wreck a log line.
std::string Printable(std::string_view s) {
  constexpr size_t kMax = 64;
  std::string out;
  for (size_t i = 0; i < s.size() && i < kMax; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      out.append(fmt::format("\\x{:02x}", c));
    }
  }
  if (s.size() > kMax) out.append("...");
  return out;
}

std::string_view StringOf(const Value& v) { return {v.GetString(), v.GetStringLength()}; }

Status Bad(std::string_view where, std::string_view what) {
  return Status::Corruption(fmt::format("{}: {}", where, what));
}

// Calls on_field(i, value) for every member of `obj` whose name is names[i].
// Unknown, duplicate and (after the walk) missing names are errors.
template <typename F>
Status ForEachField(const Value& obj, std::string_view where, std::initializer_list<std::string_view> names,
                    F&& on_field) {
  if (!obj.IsObject()) return Bad(where, "is not an object");
  uint32_t seen = 0;  // bit i = names[i] seen; no object here has 32 fields
  for (auto m = obj.MemberBegin(); m != obj.MemberEnd(); ++m) {
    const std::string_view name = StringOf(m->name);
    size_t i = 0;
    for (std::string_view n : names) {
      if (n == name) break;
      ++i;
    }
    if (i == names.size()) {
      return Bad(where, fmt::format("unknown field \"{}\"", Printable(name)));
    }
    if (seen & (1u << i)) {
      return Bad(where, fmt::format("duplicate field \"{}\"", Printable(name)));
    }
    seen |= 1u << i;
    SHARDHOSE_RETURN_IF_ERROR(on_field(i, m->value));
  }
  size_t i = 0;
  for (std::string_view n : names) {
    if (!(seen & (1u << i))) return Bad(where, fmt::format("missing field \"{}\"", n));
    ++i;
  }
  return Status::OK();
}

Status GetString(const Value& v, std::string_view where, std::string_view field, std::string* out) {
  if (!v.IsString()) return Bad(where, fmt::format("{} is not a string", field));
  out->assign(v.GetString(), v.GetStringLength());
  return Status::OK();
}

// A position (common/seqnum.h): a sequence number, or "seq.sub" (a
// sub-record of an aggregated record, version 2).
Status GetPos(const Value& v, std::string_view where, std::string_view field, std::string* out) {
  SHARDHOSE_RETURN_IF_ERROR(GetString(v, where, field, out));
  if (!IsValidPos(*out)) {
    return Bad(where, fmt::format("{} is not a position: \"{}\"", field, Printable(*out)));
  }
  return Status::OK();
}

// A sequence number: decimal digits (common/seqnum.h), or "" if allow_empty.
Status GetSeq(const Value& v, std::string_view where, std::string_view field, bool allow_empty, std::string* out) {
  SHARDHOSE_RETURN_IF_ERROR(GetString(v, where, field, out));
  if (out->empty() && allow_empty) return Status::OK();
  if (!IsValidSeq(*out)) {
    return Bad(where, fmt::format("{} is not a number: \"{}\"", field, Printable(*out)));
  }
  return Status::OK();
}

// A map key naming a shard.
Status CheckShardId(std::string_view id, std::string_view where) {
  if (id.empty()) return Bad(where, "empty shard id");
  return Status::OK();
}

Status DecodeShard(const Value& v, const std::string& where, ShardCheckpoint* s) {
  return ForEachField(
      v, where, {"state", "sequence", "start", "start_timestamp_ms", "parent", "adjacent_parent", "caught_up_ms"},
      [&](size_t i, const Value& f) -> Status {
        std::string tmp;
        switch (i) {
          case 0:
            SHARDHOSE_RETURN_IF_ERROR(GetString(f, where, "state", &tmp));
            if (tmp == "open") {
              s->state = ShardCheckpoint::State::kOpen;
            } else if (tmp == "finished") {
              s->state = ShardCheckpoint::State::kFinished;
            } else {
              return Bad(where, fmt::format("state is \"{}\", expected \"open\" or \"finished\"", Printable(tmp)));
            }
            return Status::OK();
          case 1:
            return GetSeq(f, where, "sequence", /*allow_empty=*/true, &s->sequence);
          case 2:
            SHARDHOSE_RETURN_IF_ERROR(GetString(f, where, "start", &tmp));
            if (tmp == "TRIM_HORIZON") {
              s->start = ShardCheckpoint::Start::kTrimHorizon;
            } else if (tmp == "AT_TIMESTAMP") {
              s->start = ShardCheckpoint::Start::kAtTimestamp;
            } else {
              return Bad(where, fmt::format("start is \"{}\", expected \"TRIM_HORIZON\" or "
                                            "\"AT_TIMESTAMP\"",
                                            Printable(tmp)));
            }
            return Status::OK();
          case 3:
            if (!f.IsInt64()) return Bad(where, "start_timestamp_ms is not a 64-bit integer");
            s->start_timestamp_ms = f.GetInt64();
            return Status::OK();
          case 4:
            return GetString(f, where, "parent", &s->parent);
          case 5:
            return GetString(f, where, "adjacent_parent", &s->adjacent_parent);
          default:
            if (!f.IsInt64()) return Bad(where, "caught_up_ms is not a 64-bit integer");
            s->caught_up_ms = f.GetInt64();
            return Status::OK();
        }
      });
}

Status DecodeCut(const Value& v, const std::string& where, PendingCut* cut) {
  return ForEachField(v, where, {"partition", "key", "uploaded", "ranges"}, [&](size_t i, const Value& f) {
    switch (i) {
      case 0:
        return GetString(f, where, "partition", &cut->partition);
      case 1:
        return GetString(f, where, "key", &cut->key);
      case 2:
        if (!f.IsBool()) return Bad(where, "uploaded is not a boolean");
        cut->uploaded = f.GetBool();
        return Status::OK();
      default:
        break;
    }
    if (!f.IsObject()) return Bad(where, "ranges is not an object");
    for (auto m = f.MemberBegin(); m != f.MemberEnd(); ++m) {
      std::string id(m->name.GetString(), m->name.GetStringLength());
      const std::string range_where = fmt::format("{} range {}", where, Printable(id));
      SHARDHOSE_RETURN_IF_ERROR(CheckShardId(id, where + " ranges"));
      SeqRange r;
      SHARDHOSE_RETURN_IF_ERROR(ForEachField(m->value, range_where, {"first", "last"}, [&](size_t j, const Value& g) {
        return j == 0 ? GetPos(g, range_where, "first", &r.first) : GetPos(g, range_where, "last", &r.last);
      }));
      if (!cut->ranges.emplace(std::move(id), std::move(r)).second) {
        return Bad(where, fmt::format("duplicate range for shard {}", Printable(StringOf(m->name))));
      }
    }
    return Status::OK();
  });
}

Status DecodeBody(const Value& body, Checkpoint* cp) {
  return ForEachField(body, "body", {"stream_name", "stream_arn", "generation", "written_at", "shards", "pending"},
                      [&](size_t i, const Value& f) -> Status {
                        switch (i) {
                          case 0:
                            return GetString(f, "body", "stream_name", &cp->stream_name);
                          case 1:
                            return GetString(f, "body", "stream_arn", &cp->stream_arn);
                          case 2:
                            if (!f.IsUint64()) return Bad("body", "generation is not an unsigned 64-bit integer");
                            cp->generation = f.GetUint64();
                            return Status::OK();
                          case 3:
                            return GetString(f, "body", "written_at", &cp->written_at);
                          case 4:
                            if (!f.IsObject()) return Bad("body", "shards is not an object");
                            for (auto m = f.MemberBegin(); m != f.MemberEnd(); ++m) {
                              std::string id(m->name.GetString(), m->name.GetStringLength());
                              SHARDHOSE_RETURN_IF_ERROR(CheckShardId(id, "shards"));
                              ShardCheckpoint s;
                              SHARDHOSE_RETURN_IF_ERROR(DecodeShard(m->value, "shard " + Printable(id), &s));
                              if (!cp->shards.emplace(std::move(id), std::move(s)).second) {
                                return Bad("shards", fmt::format("duplicate shard {}", Printable(StringOf(m->name))));
                              }
                            }
                            return Status::OK();
                          default:
                            if (!f.IsArray()) return Bad("body", "pending is not an array");
                            for (rapidjson::SizeType j = 0; j < f.Size(); ++j) {
                              PendingCut cut;
                              SHARDHOSE_RETURN_IF_ERROR(DecodeCut(f[j], fmt::format("pending[{}]", j), &cut));
                              cp->pending.push_back(std::move(cut));
                            }
                            return Status::OK();
                        }
                      });
}

// A cursor over the framing. Expect() tells "the file stops inside this
// literal" (truncated) apart from "the bytes differ" (corrupt).
class Framing {
 public:
  explicit Framing(std::string_view bytes) : bytes_(bytes) {}

  size_t pos() const { return pos_; }
  std::string_view rest() const { return bytes_.substr(pos_); }

  Status Expect(std::string_view literal, std::string_view what) {
    std::string_view r = rest();
    const size_t n = std::min(r.size(), literal.size());
    if (r.substr(0, n) != literal.substr(0, n)) {
      return Status::Corruption(fmt::format("bad framing at byte {}: expected {}", pos_, what));
    }
    if (n < literal.size()) return Truncated();
    pos_ += literal.size();
    return Status::OK();
  }

  Status Truncated() const { return Status::Corruption(fmt::format("truncated: file ends at byte {}", bytes_.size())); }

  // Consumes a run of decimal digits (possibly empty).
  std::string_view Digits() {
    const size_t start = pos_;
    while (pos_ < bytes_.size() && bytes_[pos_] >= '0' && bytes_[pos_] <= '9') ++pos_;
    return bytes_.substr(start, pos_ - start);
  }

  // Consumes exactly n bytes, or returns nullopt if there are fewer.
  std::optional<std::string_view> Take(size_t n) {
    if (bytes_.size() - pos_ < n) return std::nullopt;
    std::string_view out = bytes_.substr(pos_, n);
    pos_ += n;
    return out;
  }

 private:
  std::string_view bytes_;
  size_t pos_ = 0;
};

bool IsLowerHex8(std::string_view s) {
  if (s.size() != 8) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool HasSubPositions(const Checkpoint& cp) {
  for (const PendingCut& cut : cp.pending) {
    for (const auto& [_, r] : cut.ranges) {
      if (!SubOfPos(r.first).empty() || !SubOfPos(r.last).empty()) return true;
    }
  }
  return false;
}

}  // namespace

uint32_t Crc32c(std::string_view data) {
  uint32_t crc = 0xFFFFFFFFu;
  for (char ch : data) {
    crc = kCrcTable[(crc ^ static_cast<unsigned char>(ch)) & 0xff] ^ (crc >> 8);
  }
  return crc ^ 0xFFFFFFFFu;
}

std::string Encode(const Checkpoint& cp) {
  const std::string body = EncodeBody(cp);
  std::string out;
  out.reserve(kHeader.size() + 1 + kCrcField.size() + 8 + kBodyField.size() + body.size() + kTrailer.size());
  out.append(kHeader);
  AppendInt(&out, HasSubPositions(cp) ? kFormatVersionSubPositions : kFormatVersion);
  out.append(kCrcField);
  out.append(fmt::format("{:08x}", Crc32c(body)));
  out.append(kBodyField);
  out.append(body);
  out.append(kTrailer);
  return out;
}

Result<Checkpoint> Decode(std::string_view bytes) {
  if (bytes.empty()) return Status::Corruption("empty file");
  Framing in(bytes);
  SHARDHOSE_RETURN_IF_ERROR(in.Expect(kHeader, "the shardhose-checkpoint header"));

  const std::string_view version = in.Digits();
  if (version.empty()) {
    if (in.rest().empty()) return in.Truncated();
    return Status::Corruption(fmt::format("bad framing at byte {}: expected a version number", in.pos()));
  }
  if (in.rest().empty()) return in.Truncated();
  if (version != "1" && version != "2") {
    return Status::Corruption(fmt::format("unsupported version {}", Printable(version)));
  }

  SHARDHOSE_RETURN_IF_ERROR(in.Expect(kCrcField, "the crc32c field"));
  const std::optional<std::string_view> hex = in.Take(8);
  if (!hex) return in.Truncated();
  if (!IsLowerHex8(*hex)) {
    return Status::Corruption(fmt::format("bad crc32c \"{}\": expected 8 lowercase hex digits", Printable(*hex)));
  }
  SHARDHOSE_RETURN_IF_ERROR(in.Expect(kBodyField, "the body field"));

  std::string_view body = in.rest();
  if (body.size() < kTrailer.size() || body.substr(body.size() - kTrailer.size()) != kTrailer) {
    return Status::Corruption(
        fmt::format("truncated or bad framing: file of {} bytes does not end with \"}}\\n\"", bytes.size()));
  }
  body.remove_suffix(kTrailer.size());

  const std::string actual = fmt::format("{:08x}", Crc32c(body));
  if (actual != *hex) {
    return Status::Corruption(fmt::format("checksum mismatch: file says {}, body is {}", *hex, actual));
  }

  // rapidjson reads a NUL byte as the end of input, which would let bytes
  // after it go unchecked; Encode never writes one.
  if (const size_t nul = body.find('\0'); nul != std::string_view::npos) {
    return Status::Corruption(fmt::format("body: NUL byte at body offset {}", nul));
  }
  rapidjson::Document doc;
  // Iterative: deep nesting costs heap, not stack. No kParseValidateEncoding:
  // strings are byte strings (see the grammar above).
  doc.Parse<rapidjson::kParseIterativeFlag>(body.data(), body.size());
  if (doc.HasParseError()) {
    return Status::Corruption(fmt::format("body: JSON error at body offset {}: {}", doc.GetErrorOffset(),
                                          rapidjson::GetParseError_En(doc.GetParseError())));
  }
  Checkpoint cp;
  SHARDHOSE_RETURN_IF_ERROR(DecodeBody(doc, &cp));
  if (version == "1" && HasSubPositions(cp)) {
    return Status::Corruption("version 1 file with a sub-record position (\"seq.sub\") in a cut");
  }
  return cp;
}

}  // namespace shardhose::checkpoint

namespace shardhose::checkpoint {

std::string EncodeCuts(const std::vector<PendingCut>& cuts) {
  std::string out = "[";
  AppendCuts(&out, cuts);
  out.push_back(']');
  return out;
}

Result<std::vector<PendingCut>> DecodeCuts(std::string_view json) {
  if (const size_t nul = json.find('\0'); nul != std::string_view::npos) {
    return Status::Corruption(fmt::format("cuts: NUL byte at offset {}", nul));
  }
  // RAPIDJSON_SSE2 reads whole aligned 16-byte blocks, past the end of an
  // attribute's string: parse a padded copy.
  std::string padded(json);
  padded.append(16, '\0');
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(padded.data(), json.size());
  if (doc.HasParseError()) {
    return Status::Corruption(fmt::format("cuts: JSON error at offset {}: {}", doc.GetErrorOffset(),
                                          rapidjson::GetParseError_En(doc.GetParseError())));
  }
  if (!doc.IsArray()) return Status::Corruption("cuts: not a JSON array");
  std::vector<PendingCut> cuts;
  cuts.reserve(doc.Size());
  for (rapidjson::SizeType j = 0; j < doc.Size(); ++j) {
    PendingCut cut;
    SHARDHOSE_RETURN_IF_ERROR(DecodeCut(doc[j], fmt::format("cuts[{}]", j), &cut));
    cuts.push_back(std::move(cut));
  }
  return cuts;
}

}  // namespace shardhose::checkpoint
