// File: poll/kinesis_source.h
//
// A Kinesis data stream as a ChangeSource (poll/change_source.h): every
// call goes to a KinesisClient (poll/kinesis_client.h) for one stream --
// GetRecords polling (kinesis_api.h) or enhanced fan-out (efo_reader.h) --
// and the records are RecordFormat::kKinesisDynamoDb.
//
// Thread-safety: as the client's (change_source.h asks no more).
#pragma once

#include <memory>

#include "poll/change_source.h"
#include "poll/kinesis_client.h"

namespace shardhose::poll {

// The stream `stream` read through `client`. REQUIRES: client outlives
// the source.
std::unique_ptr<ChangeSource> NewKinesisSource(KinesisClient* client, StreamRef stream);

}  // namespace shardhose::poll
