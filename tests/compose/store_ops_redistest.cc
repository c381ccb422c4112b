// The keys operators read, against a real redis-server: the stream of new items (each new item
// once, capped, off at 0), worker hashes (TTL, index pruning) and the host numbers.
#include <gtest/gtest.h>

#include "common/store.h"
#include "tests/support/item_stream.h"
#include "tests/support/redis_server.h"
#include "tests/support/status_matchers.h"

namespace feedcrawl {
namespace {

using testing::ReadItemStream;
using testing::RedisServer;
using testing::StreamEntry;

class StoreOpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(redis_.Start());
    ASSERT_OK_AND_ASSIGN(store_, Store::Open(redis_.Url()));
  }
  int64_t Integer(const std::vector<std::string>& command) {
    auto reply = store_->redis().Command(command);
    EXPECT_OK(reply.status());
    return reply.ok() ? reply->integer : -1;
  }
  std::vector<StoredItem> Items(int first, int count) {
    std::vector<StoredItem> items;
    for (int i = first; i < first + count; ++i) {
      items.push_back({"k" + std::to_string(i), "{\"n\":" + std::to_string(i) + "}", 1000 + i});
    }
    return items;
  }
  RedisServer redis_;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreOpsTest, StreamIsOffUnlessTurnedOn) {
  ASSERT_OK(store_->StoreItems(7, Items(0, 3)).status());
  EXPECT_EQ(Integer({"EXISTS", "fc:stream:items"}), 0);
}

TEST_F(StoreOpsTest, StreamGetsEachNewItemOnce) {
  store_->set_item_stream_max_len(Store::kDefaultItemStreamMaxLen);
  ASSERT_OK(store_->StoreItems(7, Items(0, 3)).status());
  ASSERT_OK(store_->StoreItems(7, Items(1, 3)).status());  // k1, k2 again; k3 new
  ASSERT_OK(store_->StoreItems(7, Items(1, 2)).status());  // nothing new: no entry
  // One entry per call that stored new items, naming them; a reader takes the JSON from the hash.
  ASSERT_OK_AND_ASSIGN(std::vector<StreamEntry> entries, ReadItemStream(store_->redis(), "fc:"));
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].feed, 7u);
  EXPECT_EQ(entries[0].keys, (std::vector<std::string>{"k0", "k1", "k2"}));
  EXPECT_EQ(entries[1].feed, 7u);
  EXPECT_EQ(entries[1].keys, (std::vector<std::string>{"k3"}));
  auto json = store_->redis().Command({"HGET", "fc:items:7", entries[1].keys[0]});
  ASSERT_OK(json.status());
  EXPECT_EQ(json->str, "{\"n\":3}");
}

TEST_F(StoreOpsTest, StreamKeysAreJsonWhateverTheyHold) {
  store_->set_item_stream_max_len(Store::kDefaultItemStreamMaxLen);
  // Keys are ids and links as feeds write them: slashes, quotes, backslashes, control
  // characters and non-ASCII text all come back unchanged through a JSON parser.
  const std::vector<std::string> odd = {"https://example.com/a/b?c=d&e=f", "say \"hi\"",
                                        "back\\slash\\/", "tab\there\nnewline",
                                        "caf\xc3\xa9 \xe2\x80\x94 \xe6\x97\xa5\xe6\x9c\xac", "42",
                                        "[]"};
  std::vector<StoredItem> items;
  for (size_t i = 0; i < odd.size(); ++i) {
    items.push_back({odd[i], "{}", static_cast<int64_t>(i)});
  }
  ASSERT_OK(store_->StoreItems(3, items).status());
  ASSERT_OK_AND_ASSIGN(std::vector<StreamEntry> entries, ReadItemStream(store_->redis(), "fc:"));
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].keys, odd);
}

TEST_F(StoreOpsTest, StreamEntriesListAThousandKeysAtMost) {
  store_->set_item_stream_max_len(Store::kDefaultItemStreamMaxLen);
  // 2,500 keys in one call, one of them twice: three entries, in the call's order, each key
  // once; the repeat is neither counted nor listed again.
  std::vector<StoredItem> items = Items(0, 2500);
  items.insert(items.begin() + 1500, items[10]);
  ASSERT_OK_AND_ASSIGN(StoreItemsResult stored, store_->StoreItems(4, items));
  EXPECT_EQ(stored.new_items, 2500u);
  EXPECT_EQ(stored.total_items, 2500u);
  ASSERT_OK_AND_ASSIGN(std::vector<StreamEntry> entries, ReadItemStream(store_->redis(), "fc:"));
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].keys.size(), 1000u);
  EXPECT_EQ(entries[1].keys.size(), 999u);
  EXPECT_EQ(entries[2].keys.size(), 501u);
  std::vector<std::string> listed;
  for (const auto& entry : entries) {
    EXPECT_EQ(entry.feed, 4u);
    listed.insert(listed.end(), entry.keys.begin(), entry.keys.end());
  }
  std::vector<std::string> expected;
  for (const auto& item : Items(0, 2500)) expected.push_back(item.key);
  EXPECT_EQ(listed, expected);
  EXPECT_EQ(Integer({"ZCARD", "fc:items:4:order"}), 2500);
}

TEST_F(StoreOpsTest, StreamIsCappedAndCanBeTurnedOff) {
  store_->set_item_stream_max_len(10);
  for (int call = 0; call < 300; ++call) {
    ASSERT_OK(store_->StoreItems(1, Items(call * 2, 2)).status());
    // MAXLEN ~ trims whole blocks (100 entries by default), so after every call the stream
    // holds fewer than the cap and one block more.
    EXPECT_LT(Integer({"XLEN", "fc:stream:items"}), 10 + 100) << "after call " << call;
  }
  // The newest entries are the ones kept.
  ASSERT_OK_AND_ASSIGN(std::vector<StreamEntry> entries, ReadItemStream(store_->redis(), "fc:"));
  ASSERT_FALSE(entries.empty());
  EXPECT_EQ(entries.back().keys, (std::vector<std::string>{"k598", "k599"}));
  EXPECT_EQ(entries.front().keys, (std::vector<std::string>{
                                      "k" + std::to_string(600 - 2 * entries.size()),
                                      "k" + std::to_string(601 - 2 * entries.size())}));
  EXPECT_EQ(Integer({"HLEN", "fc:items:1"}), 600);

  store_->set_item_stream_max_len(0);
  const int64_t before = Integer({"XLEN", "fc:stream:items"});
  ASSERT_OK(store_->StoreItems(2, Items(0, 5)).status());
  EXPECT_EQ(Integer({"XLEN", "fc:stream:items"}), before);
  EXPECT_EQ(Integer({"HLEN", "fc:items:2"}), 5);
}

TEST_F(StoreOpsTest, WorkerHashesExpireAndLeaveTheIndex) {
  const int64_t now = 1'000'000;
  ASSERT_OK(store_->WriteWorkers({{"fetcher", "a", {{"active", "3"}}},
                                  {"processor", "b", {{"processed", "9"}}}},
                                 60'000, now));
  EXPECT_GT(Integer({"PTTL", "fc:worker:fetcher:a"}), 0);
  EXPECT_LE(Integer({"PTTL", "fc:worker:fetcher:a"}), 60'000);
  ASSERT_OK_AND_ASSIGN(auto workers, store_->ReadWorkers(now));
  ASSERT_EQ(workers.size(), 2u);
  EXPECT_EQ(workers[0].role, "fetcher");
  EXPECT_EQ(workers[0].id, "a");
  EXPECT_EQ(workers[0].fields.at("active"), "3");
  EXPECT_EQ(workers[0].fields.count("role"), 0u);

  // Past a worker's expiry it is no longer listed, and the next write drops its index entry.
  ASSERT_OK_AND_ASSIGN(auto later, store_->ReadWorkers(now + 60'001));
  EXPECT_TRUE(later.empty());
  ASSERT_OK(store_->WriteWorkers({}, 60'000, now + 60'001));
  EXPECT_EQ(Integer({"ZCARD", "fc:workers"}), 0);

  ASSERT_OK(store_->WriteWorkers({{"processor", "b", {}}}, 60'000, now));
  ASSERT_OK(store_->DeleteWorker("processor", "b"));
  EXPECT_EQ(Integer({"EXISTS", "fc:worker:processor:b"}), 0);
  EXPECT_EQ(Integer({"ZCARD", "fc:workers"}), 0);
}

TEST_F(StoreOpsTest, HostStatsAreReplacedWhole) {
  ASSERT_OK(store_->WriteHostStats({{"a.example", "{}"}, {"b.example", "{}"}}));
  ASSERT_OK(store_->WriteHostStats({{"c.example", "{\"fetches\":1}"}}));
  ASSERT_OK_AND_ASSIGN(auto hosts, store_->ReadHostStats());
  ASSERT_EQ(hosts.size(), 1u);
  EXPECT_EQ(hosts.at("c.example"), "{\"fetches\":1}");
}

}  // namespace
}  // namespace feedcrawl
