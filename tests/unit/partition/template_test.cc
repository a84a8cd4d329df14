#include "partition/template.h"

#include <gtest/gtest.h>

#include <ctime>
#include <string>

namespace shardhose::partition {
namespace {

constexpr char kRecordDefault[] = "ddb/{table}/dt={event_time:%Y-%m-%d}/hr={event_time:%H}/";
constexpr char kErrorDefault[] = "errors/{error}/dt={arrival_time:%Y-%m-%d}/";

KeyTemplate MustParse(std::string_view text, TemplateKind kind = TemplateKind::kError) {
  Result<KeyTemplate> t = KeyTemplate::Parse(text, kind);
  EXPECT_TRUE(t.ok()) << text << ": " << t.status().ToString();
  return t.ok() ? std::move(t).value() : KeyTemplate();
}

std::string ParseError(std::string_view text, TemplateKind kind = TemplateKind::kRecord) {
  Result<KeyTemplate> t = KeyTemplate::Parse(text, kind);
  EXPECT_FALSE(t.ok()) << text;
  if (t.ok()) return "";
  EXPECT_TRUE(t.status().IsInvalidArgument());
  return t.status().message();
}

PartitionFields Fields() {
  PartitionFields f;
  f.table = "orders";
  f.event_name = "MODIFY";
  f.stream = "ddb-stream";
  f.shard_id = "shardId-000000000007";
  f.error = "not_json";
  f.event_time_us = 1716200000123456;  // 2024-05-20T10:13:20.123456Z
  f.arrival_time_ms = 1716203601000;   // 2024-05-20T11:13:21Z
  return f;
}

TEST(KeyTemplateTest, DefaultTemplates) {
  KeyTemplate rec = MustParse(kRecordDefault, TemplateKind::kRecord);
  EXPECT_EQ(rec.text(), kRecordDefault);
  EXPECT_EQ(rec.Render(Fields()), "ddb/orders/dt=2024-05-20/hr=10/");
  KeyTemplate err = MustParse(kErrorDefault, TemplateKind::kError);
  EXPECT_EQ(err.Render(Fields()), "errors/not_json/dt=2024-05-20/");
}

TEST(KeyTemplateTest, EveryPlaceholder) {
  KeyTemplate t = MustParse(
      "{table}|{event_name}|{stream}|{shard_id}|{error}|{event_time:%Y%m%dT%H%M%S}|"
      "{arrival_time:%Y-%m-%dT%H:%M:%S}");
  EXPECT_EQ(t.Render(Fields()),
            "orders|MODIFY|ddb-stream|shardId-000000000007|not_json|20240520T101320|"
            "2024-05-20T11:13:21");
}

TEST(KeyTemplateTest, RenderAppends) {
  KeyTemplate t = MustParse("{table}/");
  std::string out = "prefix/";
  t.Render(Fields(), &out);
  t.Render(Fields(), &out);
  EXPECT_EQ(out, "prefix/orders/orders/");
}

TEST(KeyTemplateTest, EveryConversion) {
  KeyTemplate t = MustParse("{event_time:Y=%Y m=%m d=%d H=%H M=%M S=%S j=%j y=%y e=%e G=%G V=%V u=%u pct=%%}");
  PartitionFields f = Fields();
  f.event_time_us = 1704330245000000;  // 2024-01-04T01:04:05Z, a Thursday
  EXPECT_EQ(t.Render(f), "Y=2024 m=01 d=04 H=01 M=04 S=05 j=004 y=24 e=_4 G=2024 V=01 u=4 pct=%");
}

TEST(KeyTemplateTest, Escapes) {
  KeyTemplate t = MustParse("{{literal}}/{{{table}}}/a}}b{{c");
  EXPECT_EQ(t.Render(Fields()), "{literal}/{orders}/a}b{c");
  EXPECT_EQ(MustParse("").Render(Fields()), "");
  EXPECT_EQ(MustParse("static/prefix/").Render(Fields()), "static/prefix/");
  // Literal text (also inside a time format) is kept as written.
  EXPECT_EQ(MustParse("a b/{event_time:%Y/%m %d}/").Render(Fields()), "a b/2024/05 20/");
}

TEST(KeyTemplateTest, Rejections) {
  EXPECT_EQ(ParseError("ddb/{tabel}/"),
            "unknown placeholder {tabel} at offset 4 (known: table, event_name, stream, shard_id, "
            "error, event_time, arrival_time)");
  EXPECT_NE(ParseError("{}").find("unknown placeholder {} at offset 0"), std::string::npos);
  EXPECT_NE(ParseError("{Table}").find("unknown placeholder {Table}"), std::string::npos);
  EXPECT_NE(ParseError("{ table }").find("unknown placeholder { table }"), std::string::npos);
  EXPECT_NE(ParseError("x/{tabel:%Y}").find("unknown placeholder {tabel:%Y} at offset 2"), std::string::npos);
  EXPECT_NE(ParseError("{event_time}").find("placeholder {event_time} at offset 0 needs a strftime format"),
            std::string::npos);
  EXPECT_NE(ParseError("{arrival_time:}").find("placeholder {arrival_time:} at offset 0 needs"), std::string::npos);
  EXPECT_NE(ParseError("{event_time:%Q}").find("placeholder {event_time:%Q} at offset 0: unknown conversion %Q"),
            std::string::npos);
  EXPECT_NE(ParseError("{event_time:%Y-%}").find("{event_time:%Y-%}"), std::string::npos);
  EXPECT_NE(ParseError("{event_time:%Y-%}").find("incomplete conversion"), std::string::npos);
  EXPECT_NE(ParseError("{event_time:%s}").find("unknown conversion %s"), std::string::npos);
  EXPECT_NE(ParseError("{event_time:%F}").find("unknown conversion %F"), std::string::npos);
  EXPECT_NE(ParseError("{event_time:day}").find("{event_time:day} at offset 0: the format has no conversion"),
            std::string::npos);
  EXPECT_NE(ParseError("{event_time:%%}").find("no conversion"), std::string::npos);
  EXPECT_NE(ParseError("{table:%Y}").find("placeholder {table:%Y} at offset 0: a format is only allowed"),
            std::string::npos);
  EXPECT_NE(ParseError("{table:}").find("placeholder {table:}"), std::string::npos);
  EXPECT_NE(ParseError("errors/{error}/").find("placeholder {error} at offset 7 is only allowed in error_prefix"),
            std::string::npos);
  EXPECT_TRUE(KeyTemplate::Parse("errors/{error}/", TemplateKind::kError).ok());
  // Unbalanced braces.
  EXPECT_NE(ParseError("ddb/{table").find("unterminated placeholder {table at offset 4"), std::string::npos);
  EXPECT_NE(ParseError("{ta{ble}").find("unterminated placeholder {ta at offset 0"), std::string::npos);
  EXPECT_NE(ParseError("{").find("unterminated placeholder { at offset 0"), std::string::npos);
  EXPECT_NE(ParseError("ddb/table}/").find("unbalanced '}' at offset 9"), std::string::npos);
  EXPECT_NE(ParseError("{table}}").find("unbalanced '}' at offset 7"), std::string::npos);
}

TEST(KeyTemplateTest, SanitisesSubstitutedValues) {
  KeyTemplate t = MustParse("t={table}/e={event_name}/s={stream}/h={shard_id}/x={error}/");
  PartitionFields f = Fields();
  f.table = "my table/../x?y";
  f.event_name = "caf\xc3\xa9-\xe4\xb8\xad-\xf0\x9f\x98\x80";
  f.stream = "arn:aws:kinesis:us-east-1:123:stream/s";
  f.shard_id = "A-Za-z0-9._=-";
  f.error = std::string_view("nul\0tab\t\xff", 9);
  EXPECT_EQ(t.Render(f),
            "t=my_table_.._x_y/e=caf_-_-_/s=arn_aws_kinesis_us-east-1_123_stream_s/h=A-Za-z0-9._=-/"
            "x=nul_tab__/");
  f.table = "";
  EXPECT_EQ(MustParse("a/{table}/b").Render(f), "a//b");
}

TEST(KeyTemplateTest, TimeEdgeCases) {
  KeyTemplate t = MustParse("{event_time:%Y-%m-%dT%H:%M:%S j%j}|{arrival_time:%Y-%m-%dT%H:%M:%S}");
  PartitionFields f = Fields();
  f.event_time_us = 0;
  f.arrival_time_ms = 0;
  EXPECT_EQ(t.Render(f), "1970-01-01T00:00:00 j001|1970-01-01T00:00:00");
  f.event_time_us = 951782400000000;  // 2000-02-29 (400-year leap day)
  f.arrival_time_ms = 1709251199999;  // 2024-02-29T23:59:59.999
  EXPECT_EQ(t.Render(f), "2000-02-29T00:00:00 j060|2024-02-29T23:59:59");
  f.event_time_us = 1704067199999999;  // 2023-12-31T23:59:59.999999: truncated, not rounded
  f.arrival_time_ms = 1704067200000;   // 2024-01-01T00:00:00
  EXPECT_EQ(t.Render(f), "2023-12-31T23:59:59 j365|2024-01-01T00:00:00");
  f.event_time_us = 1735689599000000;  // 2024-12-31: day 366 of a leap year
  EXPECT_EQ(t.Render(f).substr(0, 24), "2024-12-31T23:59:59 j366");
  f.event_time_us = 4107542400000000;  // 2100-03-01 (2100 is not a leap year)
  EXPECT_EQ(t.Render(f).substr(0, 24), "2100-03-01T00:00:00 j060");
  f.event_time_us = -1;  // before the epoch: floor, not toward zero
  EXPECT_EQ(t.Render(f).substr(0, 19), "1969-12-31T23:59:59");
  f.event_time_us = 253402300799999999;  // the last instant the decoder accepts
  EXPECT_EQ(t.Render(f).substr(0, 19), "9999-12-31T23:59:59");
}

TEST(KeyTemplateTest, IsoWeekAroundNewYear) {
  KeyTemplate t = MustParse("{event_time:%G-W%V-%u %Y-%m-%d}");
  auto at = [&](int64_t seconds) {
    PartitionFields f = Fields();
    f.event_time_us = seconds * 1000000;
    return t.Render(f);
  };
  EXPECT_EQ(at(1104537600), "2004-W53-6 2005-01-01");  // ISO year before the calendar year
  EXPECT_EQ(at(1230768000), "2009-W01-4 2009-01-01");
  EXPECT_EQ(at(1230681600), "2009-W01-3 2008-12-31");  // ISO year after the calendar year
  EXPECT_EQ(at(1262217600), "2009-W53-4 2009-12-31");
}

// Every conversion agrees with glibc's strftime in UTC over a sweep of times
// (with %e's space sanitised to '_').
TEST(KeyTemplateTest, MatchesStrftime) {
  const char* fmt = "%Y %m %d %H %M %S %j %y %e %G %V %u %%";
  KeyTemplate t = MustParse(std::string("{event_time:") + fmt + "}");
  int checked = 0;
  for (int64_t s = -86400LL * 366 * 3; s < 86400LL * 366 * 200; s += 86400 * 3 + 3671) {
    time_t tt = static_cast<time_t>(s);
    struct tm tm;
    ASSERT_NE(gmtime_r(&tt, &tm), nullptr);
    char buf[128];
    size_t n = strftime(buf, sizeof buf, fmt, &tm);
    std::string want(buf, n);
    for (char& c : want) {
      if (c == ' ') c = '_';
    }
    PartitionFields f = Fields();
    f.event_time_us = s * 1000000 + 999999;
    std::string got = t.Render(f);
    for (char& c : got) {
      if (c == ' ') c = '_';
    }
    ASSERT_EQ(got, want) << s;
    ++checked;
  }
  EXPECT_GT(checked, 20000);
}

TEST(KeyTemplateTest, CopiesAndMovesKeepTheTemplate) {
  KeyTemplate a = MustParse(kRecordDefault, TemplateKind::kRecord);
  KeyTemplate b = a;
  KeyTemplate c = std::move(a);
  KeyTemplate d;
  d = b;
  EXPECT_EQ(b.Render(Fields()), "ddb/orders/dt=2024-05-20/hr=10/");
  EXPECT_EQ(c.Render(Fields()), b.Render(Fields()));
  EXPECT_EQ(d.text(), kRecordDefault);
  EXPECT_EQ(KeyTemplate().Render(Fields()), "");
}

}  // namespace
}  // namespace shardhose::partition
