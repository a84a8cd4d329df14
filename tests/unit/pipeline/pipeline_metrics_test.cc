// The metrics the pipeline really declares (pipeline_metrics.h) against
// their documentation (lib/metrics/names.md): every name is documented, and
// the HELP texts say what the numbers are.
#include "pipeline/pipeline_metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "metrics/metrics.h"

namespace shardhose::pipeline {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string ReadNamesMd() {
  std::ifstream in(std::string(SHARDHOSE_SOURCE_DIR) + "/lib/metrics/names.md");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(PipelineMetrics, EveryDeclaredNameIsInNamesMd) {
  metrics::Registry r;
  PipelineMetrics m(r);
  const std::string doc = ReadNamesMd();
  ASSERT_FALSE(doc.empty());
  std::istringstream lines(r.Expose());
  int names = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("# TYPE ", 0) != 0) continue;
    const std::string name = line.substr(7, line.find(' ', 7) - 7);
    ++names;
    EXPECT_THAT(doc, HasSubstr("`" + name + "`")) << name << " is exposed but not in lib/metrics/names.md";
  }
  EXPECT_GT(names, 10);
}

TEST(PipelineMetrics, BufferedBytesHelpSaysCompressed) {
  metrics::Registry r;
  PipelineMetrics m(r);
  const std::string text = r.Expose();
  const size_t at = text.find("# HELP shardhose_buffered_bytes ");
  ASSERT_NE(at, std::string::npos);
  const std::string help = text.substr(at, text.find('\n', at) - at);
  EXPECT_THAT(help, HasSubstr("compressed"));
  EXPECT_THAT(help, Not(HasSubstr("uncompressed")));
}

}  // namespace
}  // namespace shardhose::pipeline
