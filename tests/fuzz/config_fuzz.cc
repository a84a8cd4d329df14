// config_fuzz: config::Load of the input as a TOML file, with an empty
// environment.
//
// Invariants (config.h): Load never crashes and, when it fails, says why
// (a non-empty message); when it succeeds, ToToml() of the result loads back
// to the same Config (the round trip `shardhose validate` promises).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "config/config.h"
#include "fuzz_util.h"

namespace {

using shardhose::config::Config;

std::optional<std::string> NoEnv(const std::string&) { return std::nullopt; }

void WriteFile(const std::string& path, const char* data, size_t size) {
  FILE* f = std::fopen(path.c_str(), "wb");
  FUZZ_CHECK(f != nullptr, "cannot create " + path);
  FUZZ_CHECK(std::fwrite(data, 1, size, f) == size || size == 0, "short write to " + path);
  FUZZ_CHECK(std::fclose(f) == 0, "cannot close " + path);
}

const std::string& TempPath() {
  static const std::string* path = [] {
    const char* dir = std::getenv("TMPDIR");
    auto* p = new std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp");
    *p += "/shardhose_config_fuzz." + std::to_string(getpid()) + ".toml";
    std::atexit([] { std::remove(TempPath().c_str()); });
    return p;
  }();
  return *path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = TempPath();
  WriteFile(path, reinterpret_cast<const char*>(data), size);
  auto loaded = shardhose::config::Load(path, NoEnv);
  if (!loaded.ok()) {
    FUZZ_CHECK(!loaded.status().message().empty(), "rejection without a message");
    return 0;
  }
  const std::string toml = shardhose::config::ToToml(*loaded);
  WriteFile(path, toml.data(), toml.size());
  auto again = shardhose::config::Load(path, NoEnv);
  FUZZ_CHECK(again.ok(), "ToToml output does not load: " + again.status().message() + "\n" + toml);
  FUZZ_CHECK(*again == *loaded, "ToToml round trip changed the config:\n" + toml);
  return 0;
}
