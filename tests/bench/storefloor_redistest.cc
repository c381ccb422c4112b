// feedcrawl-storefloor against two real redis-servers: it writes every item a crawl stored, and
// nothing else, to the empty server it is given, refuses one that holds keys already (its
// figure is the cost of new items, and an overwrite would mix in another's data), and reports
// no figure when it cannot read the server's CPU time.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/store.h"
#include "tests/support/redis_server.h"
#include "tests/support/status_matchers.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_env.h"

namespace feedcrawl {
namespace {

using testing::ExitStatus;
using testing::ReadFile;
using testing::RedisServer;
using testing::Subprocess;
using testing::SubprocessOptions;
using testing::TempDir;

constexpr int kTimeoutMs = 60'000;

struct Finished {
  ExitStatus exit;
  std::string out;
  std::string err;
};

Finished RunStoreFloor(const std::vector<std::string>& args, const TempDir& tmp) {
  SubprocessOptions options;
  options.capture_stdout = true;
  options.stderr_path = tmp.File("storefloor.stderr");
  Finished finished;
  auto child = Subprocess::Start(std::string(FEEDCRAWL_BIN_DIR) + "/feedcrawl-storefloor", args,
                                 options);
  EXPECT_OK(child.status());
  if (!child.ok()) return finished;
  auto out = (*child)->ReadAll(kTimeoutMs);
  EXPECT_OK(out.status());
  if (out.ok()) finished.out = *out;
  auto exit = (*child)->Wait(kTimeoutMs);
  EXPECT_OK(exit.status());
  if (exit.ok()) finished.exit = *exit;
  auto err = ReadFile(options.stderr_path);
  if (err.ok()) finished.err = *err;
  return finished;
}

// A hash's fields and values (empty when it is missing).
std::map<std::string, std::string> HashOf(RedisClient& redis, const std::string& key) {
  std::map<std::string, std::string> fields;
  auto reply = redis.Command({"HGETALL", key});
  EXPECT_OK(reply.status());
  if (!reply.ok()) return fields;
  for (size_t i = 0; i + 1 < reply->elements.size(); i += 2) {
    fields[reply->elements[i].str] = reply->elements[i + 1].str;
  }
  return fields;
}

class StoreFloorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(crawl_.Start());
    ASSERT_OK(floor_.Start());
    ASSERT_OK_AND_ASSIGN(store_, Store::Open(crawl_.Url()));
    // Three feeds: two with items (one of them holding a key and JSON that need care in a
    // command: spaces, quotes, a newline, non-ASCII), one with none.
    ASSERT_OK_AND_ASSIGN(AddFeedsResult added,
                         store_->AddFeeds({"http://a.test/1", "http://a.test/2",
                                           "http://a.test/3"},
                                          1'700'000'000'000));
    ASSERT_EQ(added.ids.size(), 3u);
    ids_ = added.ids;
    std::vector<StoredItem> first;
    for (int i = 0; i < 20; ++i) {
      first.push_back({"https://a.test/posts/" + std::to_string(i),
                       R"({"title":"Заметка )" + std::to_string(i) + R"("})",
                       1'700'000'000'000 + i});
    }
    ASSERT_OK(store_->StoreItems(ids_[0], first).status());
    ASSERT_OK(store_->StoreItems(ids_[1], {{"a key with \"quotes\"\nand a newline",
                                            "{\"content\":\"x\\ny \\u00e9 ü\"}", 1}})
                  .status());
  }

  RedisServer crawl_;
  RedisServer floor_;
  std::unique_ptr<Store> store_;
  std::vector<uint64_t> ids_;
  TempDir tmp_;
};

TEST_F(StoreFloorTest, WritesEveryStoredItemAndNothingElse) {
  // One feed per batch: every batch read and written in turn, the one without items too.
  Finished run =
      RunStoreFloor({"--from", crawl_.Url(), "--to", floor_.Url(), "--batch", "1"}, tmp_);
  ASSERT_TRUE(run.exit.Success()) << run.exit.ToString() << "\n" << run.err;
  nlohmann::json figures = nlohmann::json::parse(run.out, nullptr, false);
  ASSERT_TRUE(figures.is_object()) << run.out;
  EXPECT_EQ(figures["feeds"], 2);  // the feed without items has nothing to write
  EXPECT_EQ(figures["items"], 21);
  EXPECT_EQ(figures["depth"], 8);
  EXPECT_GE(figures["server_cpu_s"].get<double>(), 0);
  EXPECT_TRUE(figures["server_us_per_item"].is_number());

  ASSERT_OK_AND_ASSIGN(auto crawl, crawl_.Connect());
  ASSERT_OK_AND_ASSIGN(auto floor, floor_.Connect());
  for (uint64_t id : ids_) {
    const std::string key = "fc:items:" + std::to_string(id);
    EXPECT_EQ(HashOf(*floor, key), HashOf(*crawl, key)) << key;
  }
  ASSERT_OK_AND_ASSIGN(RedisReply size, floor->Command({"DBSIZE"}));
  EXPECT_EQ(size.integer, 2);  // the two items hashes: no order sets, no stream
}

TEST_F(StoreFloorTest, RefusesAServerThatIsNotEmpty) {
  ASSERT_OK_AND_ASSIGN(auto floor, floor_.Connect());
  ASSERT_OK(floor->Command({"SET", "someone:else", "1"}).status());
  Finished run = RunStoreFloor({"--from", crawl_.Url(), "--to", floor_.Url()}, tmp_);
  EXPECT_TRUE(run.exit.Exited()) << run.exit.ToString();
  EXPECT_EQ(run.exit.exit_code, 2) << run.err;
  EXPECT_NE(run.err.find("not empty"), std::string::npos) << run.err;
  EXPECT_TRUE(run.out.empty()) << run.out;
  ASSERT_OK_AND_ASSIGN(RedisReply size, floor->Command({"DBSIZE"}));
  EXPECT_EQ(size.integer, 1);
}

TEST_F(StoreFloorTest, ReportsNothingWithoutTheServersCpuTime) {
  // A user who may write but not run INFO: the writes would happen, but there is no figure.
  ASSERT_OK_AND_ASSIGN(auto floor, floor_.Connect());
  ASSERT_OK(floor->Command({"ACL", "SETUSER", "writer", "on", ">pw", "~*", "+@all", "-info"})
                .status());
  Finished run = RunStoreFloor(
      {"--from", crawl_.Url(), "--to", floor_.Url() + "?user=writer&password=pw"}, tmp_);
  EXPECT_TRUE(run.exit.Exited()) << run.exit.ToString();
  EXPECT_EQ(run.exit.exit_code, 1) << run.err;
  EXPECT_NE(run.err.find("INFO cpu"), std::string::npos) << run.err;
  EXPECT_TRUE(run.out.empty()) << run.out;
}

}  // namespace
}  // namespace feedcrawl
