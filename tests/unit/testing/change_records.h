// File: testing/change_records.h
//
// Test data and the checks on what a run wrote, shared by the tests that
// run records through the pipeline:
//   ChangeRecord     - a DynamoDB change record as DynamoDB Streams puts it
//                      on Kinesis (what the pipeline's input looks like).
//   CountEventIds    - reads the objects a run wrote and counts each
//                      event_id (what "every record exactly once" checks).
//   FirstDifference  - where two object bodies differ, for a failure message.
//   Md5              - the raw MD5 of a body (computed here, independently
//                      of upload/multipart.h, so a fake store does not
//                      check the code under test with itself).
//
// Pure functions; thread-safe. CountEventIds reports malformed objects
// through gtest (EXPECT_*), so call it from a test body.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace shardhose::test {

// A DynamoDB INSERT record of table `table` whose eventID and key are `id`
// and ApproximateCreationDateTime is `ms` (epoch milliseconds). It carries
// a 38-digit number, so a decoder that goes through double loses digits.
std::string ChangeRecord(const std::string& id, const std::string& table, int64_t ms);

// event_id -> number of lines carrying it, over every line of every object
// in `objects` (key -> body; gzip when the body starts with the gzip magic,
// else plain JSON lines). Lines with an "error" member (records the
// pipeline could not decode) are not counted; their object's key is
// appended to *keys_of_errors (once per such line) when it is not null.
// Each line must be a complete JSON object ending in '\n' (EXPECT).
std::map<std::string, int> CountEventIds(const std::map<std::string, std::string>& objects,
                                         std::vector<std::string>* keys_of_errors = nullptr);

// Where two object bodies (gzip or not) first differ, for a failure message.
std::string FirstDifference(const std::string& old_body, const std::string& new_body);
// What FirstDifference says of two gzip bodies of the same lines.
inline constexpr const char* kSameLinesOtherBytes = "same lines, different compressed bytes";

// The raw 16-byte MD5 of `data`.
std::string Md5(std::string_view data);

}  // namespace shardhose::test
