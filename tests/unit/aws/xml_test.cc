// The minimal XML helpers shared by the S3 store, STS and error parsing.
#include "aws/xml.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace shardhose::aws {
namespace {

TEST(XmlElement, FindsTheFirstElementByItsLiteralTag) {
  const std::string xml = "<R><KeyMarker>m</KeyMarker><Key>a&amp;b</Key><Key>second</Key><Empty/></R>";
  EXPECT_EQ(XmlElement(xml, "Key"), "a&amp;b");  // raw: not unescaped
  EXPECT_EQ(XmlElement(xml, "KeyMarker"), "m");
  EXPECT_EQ(XmlElement(xml, "Empty"), std::nullopt);
  EXPECT_EQ(XmlElement(xml, "Missing"), std::nullopt);
  EXPECT_EQ(XmlElement("<Key>unterminated", "Key"), std::nullopt);
  EXPECT_EQ(XmlElement("<Key></Key>", "Key"), "");
}

TEST(XmlElements, AllInOrder) {
  const std::string xml = "<R><U><K>1</K></U><X/><U><K>2</K></U><U>3</R>";
  EXPECT_EQ(XmlElements(xml, "U"), (std::vector<std::string_view>{"<K>1</K>", "<K>2</K>"}));
  EXPECT_TRUE(XmlElements(xml, "Z").empty());
}

TEST(XmlRootName, SkipsPrologCommentsAndAttributes) {
  EXPECT_EQ(XmlRootName("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\n<Error><Code>x</Code></Error>"), "Error");
  EXPECT_EQ(XmlRootName("<!-- c --><!DOCTYPE r>\r\n <R xmlns=\"http://s3\"><A/></R>"), "R");
  EXPECT_EQ(XmlRootName("<Empty/>"), "Empty");
  EXPECT_EQ(XmlRootName(""), "");
  EXPECT_EQ(XmlRootName("  text"), "");
  EXPECT_EQ(XmlRootName("<?xml unterminated"), "");
}

TEST(XmlUnescape, EntitiesAndReferences) {
  std::string out;
  ASSERT_TRUE(XmlUnescape("a&amp;b&lt;&gt;&quot;&apos;&#43;&#x2F;", &out));
  EXPECT_EQ(out, "a&b<>\"'+/");
  ASSERT_TRUE(XmlUnescape("&#233;&#x20AC;&#x1F600;", &out));
  EXPECT_EQ(out, "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
  ASSERT_TRUE(XmlUnescape("caf\xC3\xA9", &out));  // UTF-8 passes through
  EXPECT_EQ(out, "caf\xC3\xA9");
  for (const char* bad :
       {"&", "a & b", "&nbsp;", "&#;", "&#x;", "&#0;", "&#xD800;", "&#x110000;", "&#12a;", "&#99999999;"}) {
    EXPECT_FALSE(XmlUnescape(bad, &out)) << bad;
  }
}

TEST(XmlEscape, TextContent) {
  EXPECT_EQ(XmlEscape("\"e\" <a> & 'b'"), "\"e\" &lt;a&gt; &amp; 'b'");
  std::string back;
  ASSERT_TRUE(XmlUnescape(XmlEscape("k&<>\"'"), &back));
  EXPECT_EQ(back, "k&<>\"'");
}

}  // namespace
}  // namespace shardhose::aws
