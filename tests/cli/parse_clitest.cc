// `feedcrawl parse` on small fixtures, running the real binary.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>

#include "tests/cli/cli_runner.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_env.h"

namespace feedcrawl::cli {
namespace {

using testing::CliResult;
using testing::RunFeedcrawl;

std::string Fixture(const std::string& name) {
  return std::string(FEEDCRAWL_SOURCE_DIR) + "/tests/cli/data/" + name;
}

TEST(ParseCommandTest, PrintsTheParsedFeedAsJson) {
  ASSERT_OK_AND_ASSIGN(CliResult result,
                       RunFeedcrawl({"parse", Fixture("relative_links.rss"), "--url",
                                     "https://example.test/feeds/main.rss"}));
  ASSERT_EQ(result.exit.exit_code, 0) << result.err;
  nlohmann::json parsed = nlohmann::json::parse(result.out);
  EXPECT_EQ(parsed.at("format"), "rss20");
  EXPECT_EQ(parsed.at("bozo"), false);
  EXPECT_EQ(parsed.at("feed").at("title"), "Fixture & Friends");
  EXPECT_EQ(parsed.at("feed").at("link"), "https://example.test/blog/");
  ASSERT_EQ(parsed.at("items").size(), 2u);
  const nlohmann::json& first = parsed.at("items").at(0);
  EXPECT_EQ(first.at("title"), "First post");
  EXPECT_EQ(first.at("id"), "post-1");
  // Relative links resolve against the --url the document came from.
  EXPECT_EQ(first.at("link"), "https://example.test/feeds/posts/first.html");
  EXPECT_EQ(first.at("published"), "2024-05-01T12:00:00Z");
  EXPECT_EQ(parsed.at("items").at(1).at("published"), "2024-05-02T06:30:00Z");
  // Indented for reading: one field per line.
  EXPECT_NE(result.out.find("\n  \"feed\": {"), std::string::npos) << result.out;
}

TEST(ParseCommandTest, BrokenFeedStillExitsZeroAndSaysWhy) {
  ASSERT_OK_AND_ASSIGN(CliResult result, RunFeedcrawl({"parse", Fixture("broken.xml")}));
  ASSERT_EQ(result.exit.exit_code, 0) << result.err;
  nlohmann::json parsed = nlohmann::json::parse(result.out);
  EXPECT_TRUE(parsed.at("bozo") == true || !parsed.at("error").is_null()) << result.out;
}

TEST(ParseCommandTest, NotAFeedExitsZeroWithAnError) {
  feedcrawl::testing::TempDir dir;
  ASSERT_OK(feedcrawl::testing::WriteFile(dir.File("page.txt"), "just some text\n"));
  ASSERT_OK_AND_ASSIGN(CliResult result, RunFeedcrawl({"parse", dir.File("page.txt")}));
  ASSERT_EQ(result.exit.exit_code, 0) << result.err;
  nlohmann::json parsed = nlohmann::json::parse(result.out);
  EXPECT_EQ(parsed.at("format"), "");
  EXPECT_FALSE(parsed.at("error").is_null());
  EXPECT_TRUE(parsed.at("items").empty());
}

TEST(ParseCommandTest, UnreadableFileExitsOne) {
  feedcrawl::testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(CliResult missing, RunFeedcrawl({"parse", dir.File("absent.xml")}));
  EXPECT_EQ(missing.exit.exit_code, 1);
  EXPECT_EQ(missing.out, "");
  EXPECT_NE(missing.err.find("absent.xml"), std::string::npos) << missing.err;

  ASSERT_OK_AND_ASSIGN(CliResult directory, RunFeedcrawl({"parse", dir.path()}));
  EXPECT_EQ(directory.exit.exit_code, 1);
}

TEST(VersionCommandTest, PrintsTheVersion) {
  ASSERT_OK_AND_ASSIGN(CliResult result, RunFeedcrawl({"version"}));
  ASSERT_EQ(result.exit.exit_code, 0) << result.err;
  EXPECT_EQ(result.out.rfind("feedcrawl ", 0), 0u) << result.out;
  EXPECT_NE(result.out.find("(protocol "), std::string::npos) << result.out;
}

}  // namespace
}  // namespace feedcrawl::cli
