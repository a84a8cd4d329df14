#include "testing/change_records.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <rapidjson/document.h>

#include "compress/compress.h"

namespace shardhose::test {

std::string ChangeRecord(const std::string& id, const std::string& table, int64_t ms) {
  return R"({"awsRegion":"us-east-1","eventID":")" + id +
         R"(","eventName":"INSERT","userIdentity":null,)"
         R"("recordFormat":"application/json","tableName":")" +
         table + R"(","dynamodb":{"ApproximateCreationDateTime":)" + std::to_string(ms) + R"(,"Keys":{"pk":{"S":")" +
         id + R"("}},"NewImage":{"pk":{"S":")" + id +
         R"("},"n":{"N":"12345678901234567890123456789012345678"}},"SizeBytes":50},"eventSource":"aws:dynamodb"})";
}

std::map<std::string, int> CountEventIds(const std::map<std::string, std::string>& objects,
                                         std::vector<std::string>* keys_of_errors) {
  std::map<std::string, int> ids;
  for (const auto& [key, gz] : objects) {
    std::string body;
    if (gz.starts_with("\x1f\x8b")) {
      EXPECT_TRUE(compress::Gunzip(gz, &body).ok()) << key;
    } else {
      body = gz;  // compression = "none"
    }
    size_t start = 0;
    while (start < body.size()) {
      size_t nl = body.find('\n', start);
      if (nl == std::string::npos) {  // every line ends in '\n'; count the last one anyway
        ADD_FAILURE() << key << ": the last line has no newline";
        nl = body.size();
      }
      std::string line = body.substr(start, nl - start);
      start = nl + 1;
      rapidjson::Document d;
      d.Parse(line.data(), line.size());  // length-taking: no SSE2 over-read
      EXPECT_FALSE(d.HasParseError()) << line;
      if (d.HasMember("error")) {
        if (keys_of_errors) keys_of_errors->push_back(key);
        continue;
      }
      ids[d["event_id"].GetString()]++;
    }
  }
  return ids;
}

std::string FirstDifference(const std::string& old_body, const std::string& new_body) {
  std::string a = old_body, b = new_body;
  if (old_body.starts_with("\x1f\x8b") && !compress::Gunzip(old_body, &a).ok()) return "old body is not gzip";
  if (new_body.starts_with("\x1f\x8b") && !compress::Gunzip(new_body, &b).ok()) return "new body is not gzip";
  if (a == b) return kSameLinesOtherBytes;
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  const size_t line = a.rfind('\n', i) == std::string::npos ? 0 : a.rfind('\n', i) + 1;
  return "lines differ at byte " + std::to_string(i) + " (sizes " + std::to_string(a.size()) + ", " +
         std::to_string(b.size()) + "): was " + a.substr(line, 200) + " now " + b.substr(line, 200);
}

std::string Md5(std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, EVP_md5(), nullptr);
  return std::string(reinterpret_cast<char*>(out), len);
}

}  // namespace shardhose::test
