// File: decode/unmarshaller.h
//
// Internal to decode/ (used by the Decoder, change_record.cc): the SAX
// handler that reads one change record's JSON (or one line of an export's
// data file, see key_names below) in a single pass, with no DOM.
// It is step 3 of the file comment of change_record.cc, which also says
// which error a record gets and why images are written to buffers of their
// own.
//
// Parse() runs rapidjson's recursive reader over the text in situ (numbers
// reported as their text). In that one pass the handler
//   - enforces kMaxDepth and rejects strings holding an unpaired UTF-16
//     surrogate: the only two reasons it stops the parse (too_deep /
//     surrogate); every other parse error is rapidjson's own, at
//     rapidjson's offset;
//   - notes the envelope fields (the last occurrence of a name wins);
//   - validates every typed value of Keys / NewImage / OldImage, keeping
//     each image's first error as "<attribute path>: <what>";
//   - with `write` (the unmarshalled format), writes each image and
//     userIdentity as plain JSON into a buffer of its own.
// What it found is in the public fields, valid after a successful parse; the
// envelope checks themselves are the Decoder's.
//
// Thread-safety: not thread-safe; one per Decoder. Its buffers are reused:
// once they have grown to the largest record seen, Parse() does not
// allocate.
#pragma once

#include <rapidjson/reader.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "decode/change_record.h"
#include "decode/out_buffer.h"

namespace shardhose::decode::internal {

using Utf8 = rapidjson::UTF8<>;
using Reader = rapidjson::GenericReader<Utf8, Utf8, rapidjson::CrtAllocator>;

// A JSON value the parser has reported, as the checks need to see it.
enum class Json : uint8_t { kNull, kFalse, kTrue, kNumber, kString, kObject, kArray };

// A scalar envelope field: the last value given for it.
struct Noted {
  Json type = Json::kNull;
  bool present = false;
  std::string_view text;  // kString or kNumber
};

// One of Keys / NewImage / OldImage.
struct Image {
  enum class Shape : uint8_t { kAbsent, kNull, kObject, kOther };
  Shape shape = Shape::kAbsent;
  bool has_error = false;
  OutBuffer out;        // the unmarshalled object (unmarshalled format)
  std::string message;  // the first error, if has_error

  void Reset() {
    shape = Shape::kAbsent;
    has_error = false;
    out.clear();
    message.clear();
  }
};

// The handler's results. The handler itself is local to unmarshaller.cc
// (so that the compiler can inline it into the reader); New() makes one.
class Unmarshaller {
 public:
  // `write`: write the images and userIdentity (the unmarshalled format).
  static std::unique_ptr<Unmarshaller> New(bool write);
  virtual ~Unmarshaller() = default;
  Unmarshaller(const Unmarshaller&) = delete;
  Unmarshaller& operator=(const Unmarshaller&) = delete;

  // Resets, then parses `text` with `reader`. `text` is NUL-terminated and
  // followed by the padding rapidjson's SSE2 scan needs; it is modified in
  // place, and the results' string views point into it.
  // `check_surrogates`: the text may hold a "\u" escape, so strings must be
  // checked for unpaired surrogates. Error codes and offsets are those of
  // rapidjson's recursive reader.
  rapidjson::ParseResult Parse(Reader* reader, char* text, bool check_surrogates);

  // --- what the parse found (valid after a successful parse) ---
  bool too_deep = false;
  bool surrogate = false;
  bool root_is_object = false;
  Noted event_id, event_name, table;
  bool dynamodb_present = false;
  bool dynamodb_is_object = false;
  Noted when, precision;
  Image images[3];  // Keys, NewImage, OldImage
  bool identity_present = false;
  OutBuffer identity;  // userIdentity as plain JSON (unmarshalled format)

  // An export line ({"Item": {...}}, decode/change_record.h's
  // kExportItem) when `key_names` is set before Parse(): the root is read
  // as `dynamodb` is, "Item" being the NewImage; an incremental export's
  // Keys / NewImage / OldImage are the images, and its
  // Metadata.WriteTimestampMicros's N is noted as `when`. For each of key_names, the
  // item's top-level attribute of that name: found (whatever the format)
  // and, when written, where its member ("name":value) is in images[1].out.
  const std::vector<std::string>* key_names = nullptr;
  struct KeySpan {
    bool found = false;
    uint32_t begin = 0, end = 0;  // in images[1].out (unmarshalled format)
  };
  std::vector<KeySpan> key_spans;

 protected:
  Unmarshaller() = default;
};

}  // namespace shardhose::decode::internal
