// The keys operators read, against a real redis-server: the stream of new items (each new item
// once, capped, off at 0), worker hashes (TTL, index pruning) and the host numbers.
#include <gtest/gtest.h>

#include "common/store.h"
#include "tests/support/redis_server.h"
#include "tests/support/status_matchers.h"

namespace feedcrawl {
namespace {

using testing::RedisServer;

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
  EXPECT_EQ(Integer({"XLEN", "fc:stream:items"}), 4);
  auto entries = store_->redis().Command({"XRANGE", "fc:stream:items", "-", "+"});
  ASSERT_OK(entries.status());
  ASSERT_EQ(entries->elements.size(), 4u);
  // [id, [feed, 7, key, k0]]: the entry names the item, whose JSON a reader takes from the hash.
  std::vector<std::string> keys;
  for (const auto& entry : entries->elements) {
    const auto& fields = entry.elements[1].elements;
    ASSERT_EQ(fields.size(), 4u);
    EXPECT_EQ(fields[0].str, "feed");
    EXPECT_EQ(fields[1].str, "7");
    EXPECT_EQ(fields[2].str, "key");
    keys.push_back(fields[3].str);
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"k0", "k1", "k2", "k3"}));
  auto json = store_->redis().Command({"HGET", "fc:items:7", keys[3]});
  ASSERT_OK(json.status());
  EXPECT_EQ(json->str, "{\"n\":3}");
}

TEST_F(StoreOpsTest, StreamIsCappedAndCanBeTurnedOff) {
  store_->set_item_stream_max_len(10);
  for (int batch = 0; batch < 50; ++batch) {
    ASSERT_OK(store_->StoreItems(1, Items(batch * 20, 20)).status());
    // MAXLEN ~ trims whole blocks (100 entries by default), so after every call the stream
    // holds fewer than the cap and one block more.
    EXPECT_LT(Integer({"XLEN", "fc:stream:items"}), 10 + 100) << "after call " << batch;
  }
  // The newest entries are the ones kept.
  auto last = store_->redis().Command({"XREVRANGE", "fc:stream:items", "+", "-", "COUNT", "1"});
  ASSERT_OK(last.status());
  ASSERT_EQ(last->elements.size(), 1u);
  EXPECT_EQ(last->elements[0].elements[1].elements[3].str, Items(49 * 20, 20).back().key);
  EXPECT_EQ(Integer({"HLEN", "fc:items:1"}), 1000);

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
