// checkpoint_fuzz: checkpoint::Decode.
//
// The input is decoded twice: as a whole file, and as a BODY wrapped in a
// correct header and CRC-32C (otherwise almost every mutation would stop at
// the checksum and the body parser would hardly be reached).
// Invariants (checkpoint.h): Decode never crashes; a failure says why; a
// decoded value encodes to bytes that decode to the same value, and
// encoding is deterministic (Encode(Decode(Encode(v))) == Encode(v)).
#include <fmt/format.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "checkpoint/checkpoint.h"
#include "fuzz_util.h"

namespace {

namespace cp = shardhose::checkpoint;

void Check(std::string_view bytes) {
  auto decoded = cp::Decode(bytes);
  if (!decoded.ok()) {
    FUZZ_CHECK(!decoded.status().message().empty(), "rejection without a message");
    return;
  }
  const std::string encoded = cp::Encode(*decoded);
  auto again = cp::Decode(encoded);
  FUZZ_CHECK(again.ok(), "Encode output does not decode: " + again.status().message() + "\n" + encoded);
  FUZZ_CHECK(*again == *decoded, "Encode/Decode round trip changed the checkpoint:\n" + encoded);
  FUZZ_CHECK(cp::Encode(*again) == encoded, "Encode is not deterministic");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  Check(input);
  const std::string wrapped =
      fmt::format(R"({{"format":"shardhose-checkpoint","version":1,"crc32c":"{:08x}","body":{}}})", cp::Crc32c(input),
                  input) +
      "\n";
  Check(wrapped);
  return 0;
}
