// The export's manifests and where its data files are
// (load/export_manifest.h), on the documented layout.
#include "load/export_manifest.h"

#include <gtest/gtest.h>

namespace shardhose::load {
namespace {

// As in AWS's "DynamoDB table export output format".
constexpr char kSummary[] =
    R"({"version":"2020-06-30","exportArn":"arn:aws:dynamodb:us-east-1:123456789012:table/ProductCatalog/export/01234567890123-a1b2c3d4",)"
    R"("startTime":"2020-11-04T07:28:34.028Z","endTime":"2020-11-04T07:33:43.897Z",)"
    R"("tableArn":"arn:aws:dynamodb:us-east-1:123456789012:table/ProductCatalog","tableId":"12345a12-abcd-123a-ab12-1234abc12345",)"
    R"("exportTime":"2020-11-04T07:28:34.028Z","s3Bucket":"ddb-productcatalog-export","s3Prefix":"2020-Nov",)"
    R"("s3SseAlgorithm":"AES256","s3SseKmsKeyId":null,"manifestFilesS3Key":"AWSDynamoDB/01234567890123-a1b2c3d4/manifest-files.json",)"
    R"("billedSizeBytes":0,"itemCount":8,"outputFormat":"DYNAMODB_JSON"})";

TEST(ExportManifestTest, TheDocumentedSummary) {
  auto s = ParseManifestSummary(kSummary, "manifest-summary.json");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->export_id, "01234567890123-a1b2c3d4");
  EXPECT_EQ(s->table, "ProductCatalog");
  EXPECT_EQ(s->export_time_us, 1604474914028000);
  EXPECT_FALSE(s->incremental);
  EXPECT_EQ(s->item_count, 8);
}

TEST(ExportManifestTest, IonAndOtherSurprisesAreRefusedByName) {
  std::string ion = kSummary;
  ion.replace(ion.find("DYNAMODB_JSON"), 13, "ION");
  auto s = ParseManifestSummary(ion, "manifest-summary.json");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("ION"), std::string::npos) << s.status().ToString();
  EXPECT_NE(s.status().message().find("DYNAMODB_JSON"), std::string::npos);

  std::string no_time = kSummary;
  no_time.replace(no_time.find("\"exportTime\""), 12, "\"exportTimeX\"");
  s = ParseManifestSummary(no_time, "manifest-summary.json");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("exportTime is missing"), std::string::npos) << s.status().ToString();

  EXPECT_FALSE(ParseManifestSummary("[1]", "m").ok());
  EXPECT_FALSE(ParseManifestSummary(R"({"exportArn":"arn:x","tableArn":"arn:y"})", "m").ok());
}

TEST(ExportManifestTest, IncrementalExportsAreAsOfTheirEnd) {
  auto s = ParseManifestSummary(
      R"({"exportArn":"arn:aws:dynamodb:us-east-1:1:table/T/export/0169-ab","tableArn":"arn:aws:dynamodb:us-east-1:1:table/T",)"
      R"("exportType":"INCREMENTAL_EXPORT","exportFromTime":"2024-05-20T00:00:00Z","exportToTime":"2024-05-20T01:00:00Z",)"
      R"("outputFormat":"DYNAMODB_JSON"})",
      "m");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_TRUE(s->incremental);
  EXPECT_EQ(s->export_time_us, 1716166800000000);
  EXPECT_EQ(s->table, "T");
}

TEST(ExportManifestTest, FilesOnePerLine) {
  auto f = ParseManifestFiles(
      "{\"itemCount\":8,\"md5Checksum\":\"sQMSpEILNgoQmarvDFonGQ==\",\"etag\":\"af8e5e1f2d8b8f5d1f1c5b4a3e2d1c0b-1\","
      "\"dataFileS3Key\":\"AWSDynamoDB/01234567890123-a1b2c3d4/data/bafybeiczss3yxay3o4abnabbb.json.gz\"}\n"
      "\n"
      "{\"itemCount\":0,\"md5Checksum\":\"1B2M2Y8AsgTpgAmY7PhCfg==\",\"dataFileS3Key\":\"p/AWSDynamoDB/x/data/"
      "b.json.gz\"}\n",
      "manifest-files.json");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_EQ(f->size(), 2u);
  EXPECT_EQ((*f)[0].item_count, 8);
  EXPECT_EQ((*f)[0].md5_base64, "sQMSpEILNgoQmarvDFonGQ==");
  EXPECT_EQ((*f)[1].key, "p/AWSDynamoDB/x/data/b.json.gz");
  auto bad = ParseManifestFiles("{\"itemCount\":1}\n", "manifest-files.json");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "manifest-files.json line 1: dataFileS3Key is missing");
}

TEST(ExportManifestTest, WhereTheDataFilesAre) {
  auto s3 = ParseExportLocation("s3://lake-exports/2020-Nov/AWSDynamoDB/01234567890123-a1b2c3d4");
  ASSERT_TRUE(s3.ok());
  EXPECT_EQ(s3->bucket, "lake-exports");
  EXPECT_EQ(ExportFile(*s3, "manifest-summary.json"),
            "2020-Nov/AWSDynamoDB/01234567890123-a1b2c3d4/manifest-summary.json");
  // A full key (real exports), and one relative to the parent prefix (the
  // documentation's example).
  EXPECT_EQ(
      *ResolveDataFile(*s3, "01234567890123-a1b2c3d4", "2020-Nov/AWSDynamoDB/01234567890123-a1b2c3d4/data/a.json.gz"),
      "2020-Nov/AWSDynamoDB/01234567890123-a1b2c3d4/data/a.json.gz");
  EXPECT_EQ(*ResolveDataFile(*s3, "01234567890123-a1b2c3d4", "AWSDynamoDB/01234567890123-a1b2c3d4/data/a.json.gz"),
            "2020-Nov/AWSDynamoDB/01234567890123-a1b2c3d4/data/a.json.gz");
  EXPECT_FALSE(ResolveDataFile(*s3, "x", "AWSDynamoDB/x/../../secret").ok());

  auto dir = ParseExportLocation("/srv/exports/01234567890123-a1b2c3d4/");
  ASSERT_TRUE(dir.ok());
  EXPECT_FALSE(dir->s3);
  EXPECT_EQ(ExportFile(*dir, "manifest-files.json"), "/srv/exports/01234567890123-a1b2c3d4/manifest-files.json");
  EXPECT_EQ(
      *ResolveDataFile(*dir, "01234567890123-a1b2c3d4", "2020-Nov/AWSDynamoDB/01234567890123-a1b2c3d4/data/a.json.gz"),
      "/srv/exports/01234567890123-a1b2c3d4/data/a.json.gz");
  auto other = ResolveDataFile(*dir, "01234567890123-a1b2c3d4", "AWSDynamoDB/99999999999999-ffffffff/data/a.json.gz");
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.status().message().find("AWSDynamoDB/01234567890123-a1b2c3d4/"), std::string::npos);
  EXPECT_FALSE(ParseExportLocation("s3://bucket-only").ok());
}

}  // namespace
}  // namespace shardhose::load
