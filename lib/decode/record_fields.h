// The names the unmarshaller (decode/unmarshaller.cc) recognises, each
// classified in one switch or a few compares: DynamoDB's type tags ("S",
// "NS", "BOOL", ...) and the members of a change record and of its
// `dynamodb` object that the decoder reads. Anything else is kSkip or
// kOther: ignored, never an error by itself.
#pragma once

#include <cstdint>
#include <string_view>

namespace shardhose::decode::internal {

// DynamoDB type tags, and what a value inside a typed value is.
enum class Tag : uint8_t { kS, kN, kB, kBool, kNull, kM, kL, kSS, kNS, kBS, kSkip };

inline Tag ClassifyTag(std::string_view t) {
  switch (t.size()) {
    case 1:
      switch (t[0]) {
        case 'S':
          return Tag::kS;
        case 'N':
          return Tag::kN;
        case 'B':
          return Tag::kB;
        case 'M':
          return Tag::kM;
        case 'L':
          return Tag::kL;
      }
      break;
    case 2:
      if (t[1] != 'S') break;
      switch (t[0]) {
        case 'S':
          return Tag::kSS;
        case 'N':
          return Tag::kNS;
        case 'B':
          return Tag::kBS;
      }
      break;
    case 4:
      if (t == "BOOL") return Tag::kBool;
      if (t == "NULL") return Tag::kNull;
      break;
  }
  return Tag::kSkip;
}

// Members of the record and of dynamodb the decoder looks at; an export
// line's root ({"Item": ...}) is classified as dynamodb is.
enum class Field : uint8_t {
  kOther,
  kEventId,
  kEventName,
  kTable,
  kDynamodb,
  kIdentity,
  kWhen,
  kPrecision,
  kKeys,
  kNewImage,
  kOldImage,
  kItem,      // an export line's item (its root is read as `dynamodb` is)
  kMetadata,  // an incremental export line's Metadata (WriteTimestampMicros)
};

inline Field RootField(std::string_view k) {
  if (k == "eventID") return Field::kEventId;
  if (k == "eventName") return Field::kEventName;
  if (k == "tableName") return Field::kTable;
  if (k == "dynamodb") return Field::kDynamodb;
  if (k == "userIdentity") return Field::kIdentity;
  return Field::kOther;
}

inline Field DynamodbField(std::string_view k) {
  if (k == "ApproximateCreationDateTime") return Field::kWhen;
  if (k == "ApproximateCreationDateTimePrecision") return Field::kPrecision;
  if (k == "Keys") return Field::kKeys;
  if (k == "NewImage") return Field::kNewImage;
  if (k == "OldImage") return Field::kOldImage;
  if (k == "Item") return Field::kItem;
  if (k == "Metadata") return Field::kMetadata;
  return Field::kOther;
}

}  // namespace shardhose::decode::internal
