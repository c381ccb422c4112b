// The processor's store path against a real redis-server: StoreItems split into SendStoreItems /
// ReceiveStoreItems (several feeds in flight on one connection), the exactly-once guarantees of
// the item script with its batched order entries, and what a caller sees when the connection
// breaks or the server forgets the script while calls are in flight.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/store.h"
#include "tests/support/item_stream.h"
#include "tests/support/redis_server.h"
#include "tests/support/status_matchers.h"

namespace feedcrawl {
namespace {

using testing::CommandCalls;
using testing::ReadItemStream;
using testing::RedisServer;
using testing::StreamEntry;

constexpr int64_t kBaseMs = 1'700'000'000'000;

std::vector<StoredItem> Items(uint64_t feed_id, size_t count) {
  std::vector<StoredItem> items;
  for (size_t i = 0; i < count; ++i) {
    const std::string key = "https://example.com/" + std::to_string(feed_id) + "/" +
                            std::to_string(i);
    items.push_back({key, R"({"key":")" + key + R"(","title":"Заметка \")" + std::to_string(i) +
                              R"(\""})",
                     kBaseMs + static_cast<int64_t>(i) * 1000});
  }
  return items;
}

class StorePipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(redis_.Start());
    ASSERT_OK_AND_ASSIGN(store_, Store::Open(redis_.Url()));
    store_->set_item_stream_max_len(Store::kDefaultItemStreamMaxLen);
    ASSERT_OK_AND_ASSIGN(raw_, redis_.Connect());
  }

  // How many items the stream names (each entry lists one call's new items of one feed).
  size_t Streamed() {
    StatusOr<std::vector<StreamEntry>> entries = ReadItemStream(*raw_, "fc:");
    EXPECT_OK(entries.status());
    return entries.ok() ? testing::StreamedItems(*entries).size() : 0;
  }
  int64_t Integer(const std::vector<std::string>& argv) {
    StatusOr<RedisReply> r = raw_->Command(argv);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->integer : -1;
  }

  RedisServer redis_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<RedisClient> raw_;
};

TEST_F(StorePipelineTest, KnownItemsAreTheStoredKeysAndComeBackInCallOrder) {
  // Nothing stored yet: no key is known.
  ASSERT_OK_AND_ASSIGN(KnownItems none, store_->FindKnownItems(5, Items(5, 3)));
  EXPECT_EQ(none.known, (std::vector<bool>{false, false, false}));
  EXPECT_EQ(none.total_items, 0u);

  // Questions and stores pipelined on one connection answer in the order they were sent.
  const std::vector<StoredItem> first = Items(5, 4);
  ASSERT_OK(store_->SendStoreItems(5, {first[0], first[2]}));
  ASSERT_OK(store_->SendKnownItems(5, first));
  ASSERT_OK(store_->SendStoreItems(6, Items(6, 2)));
  ASSERT_OK(store_->SendKnownItems(6, Items(6, 3)));
  ASSERT_OK_AND_ASSIGN(StoreItemsResult stored5, store_->ReceiveStoreItems());
  EXPECT_EQ(stored5.new_items, 2u);
  ASSERT_OK_AND_ASSIGN(KnownItems known5, store_->ReceiveKnownItems());
  EXPECT_EQ(known5.known, (std::vector<bool>{true, false, true, false}));
  EXPECT_EQ(known5.total_items, 2u);
  ASSERT_OK_AND_ASSIGN(StoreItemsResult stored6, store_->ReceiveStoreItems());
  EXPECT_EQ(stored6.new_items, 2u);
  ASSERT_OK_AND_ASSIGN(KnownItems known6, store_->ReceiveKnownItems());
  EXPECT_EQ(known6.known, (std::vector<bool>{true, true, false}));
  EXPECT_EQ(known6.total_items, 2u);
  EXPECT_EQ(store_->pending_store_items(), 0u);
  // Another feed's keys are not this feed's.
  ASSERT_OK_AND_ASSIGN(KnownItems other, store_->FindKnownItems(7, Items(5, 1)));
  EXPECT_EQ(other.known, (std::vector<bool>{false}));
}

TEST_F(StorePipelineTest, KnownItemsFailOnALostConnectionAndTheNextCallWorks) {
  ASSERT_OK(store_->StoreItems(5, Items(5, 2)).status());
  // Held up behind a blocking command, the calls cannot have run when the connection goes.
  ASSERT_OK_AND_ASSIGN(RedisReply id, store_->redis().Command({"CLIENT", "ID"}));
  ASSERT_OK(store_->redis().Send({"BLPOP", "never-pushed", "0"}));
  ASSERT_OK(store_->SendKnownItems(5, Items(5, 3)));
  ASSERT_OK(store_->SendStoreItems(5, Items(5, 3)));
  EXPECT_EQ(Integer({"CLIENT", "KILL", "ID", std::to_string(id.integer)}), 1);
  EXPECT_EQ(store_->redis().Receive().status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(store_->ReceiveKnownItems().status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(store_->ReceiveStoreItems().status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(store_->pending_store_items(), 0u);
  ASSERT_OK_AND_ASSIGN(KnownItems known, store_->FindKnownItems(5, Items(5, 3)));
  EXPECT_EQ(known.known, (std::vector<bool>{true, true, false}));
}

// With a hint of a small order set the question reads the whole set (ZRANGE) and answers as the
// key-by-key question does, in its place among the pipelined calls, whatever the hint's count.
TEST_F(StorePipelineTest, KnownItemsFromTheWholeOrderSetAnswerAsKeyByKey) {
  const std::vector<StoredItem> first = Items(5, 4);
  ASSERT_OK(store_->StoreItems(5, {first[0], first[2]}).status());
  ASSERT_OK(raw_->Command({"CONFIG", "RESETSTAT"}).status());
  ASSERT_OK(store_->SendKnownItems(5, first, 2));
  ASSERT_OK(store_->SendStoreItems(6, Items(6, 2)));
  ASSERT_OK(store_->SendKnownItems(5, first));
  ASSERT_OK(store_->SendKnownItems(6, Items(6, 3), 0));  // behind the store: 2 stored by now
  ASSERT_OK(store_->SendKnownItems(7, Items(7, 2), Store::kWholeOrderSetMax));
  ASSERT_OK_AND_ASSIGN(KnownItems whole5, store_->ReceiveKnownItems());
  ASSERT_OK_AND_ASSIGN(StoreItemsResult stored6, store_->ReceiveStoreItems());
  EXPECT_EQ(stored6.new_items, 2u);
  ASSERT_OK_AND_ASSIGN(KnownItems by_key5, store_->ReceiveKnownItems());
  ASSERT_OK_AND_ASSIGN(KnownItems whole6, store_->ReceiveKnownItems());
  ASSERT_OK_AND_ASSIGN(KnownItems whole7, store_->ReceiveKnownItems());
  EXPECT_EQ(whole5.known, (std::vector<bool>{true, false, true, false}));
  EXPECT_EQ(whole5.known, by_key5.known);
  EXPECT_EQ(whole5.total_items, 2u);
  EXPECT_EQ(by_key5.total_items, 2u);
  EXPECT_EQ(whole6.known, (std::vector<bool>{true, true, false}));
  EXPECT_EQ(whole6.total_items, 2u);
  EXPECT_EQ(whole7.known, (std::vector<bool>{false, false}));
  EXPECT_EQ(whole7.total_items, 0u);
  EXPECT_EQ(CommandCalls(*raw_, "zrange"), 3);
  EXPECT_EQ(CommandCalls(*raw_, "zmscore"), 1);
  // Past a compact set's size the question goes key by key.
  ASSERT_OK(store_->FindKnownItems(5, first, Store::kWholeOrderSetMax + 1).status());
  EXPECT_EQ(CommandCalls(*raw_, "zmscore"), 2);
}

// A whole-set question lost with the connection fails, and the questions after it are answered
// for their own keys.
TEST_F(StorePipelineTest, AWholeSetQuestionLostWithTheConnectionLeavesTheNextOnesRight) {
  ASSERT_OK(store_->StoreItems(5, Items(5, 2)).status());
  ASSERT_OK_AND_ASSIGN(RedisReply id, store_->redis().Command({"CLIENT", "ID"}));
  ASSERT_OK(store_->redis().Send({"BLPOP", "never-pushed", "0"}));
  ASSERT_OK(store_->SendKnownItems(5, Items(5, 3), 2));
  ASSERT_OK(store_->SendKnownItems(6, Items(6, 1), 0));
  EXPECT_EQ(Integer({"CLIENT", "KILL", "ID", std::to_string(id.integer)}), 1);
  EXPECT_EQ(store_->redis().Receive().status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(store_->ReceiveKnownItems().status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(store_->ReceiveKnownItems().status().code(), StatusCode::kUnavailable);
  ASSERT_OK_AND_ASSIGN(KnownItems known, store_->FindKnownItems(5, Items(5, 3), 2));
  EXPECT_EQ(known.known, (std::vector<bool>{true, true, false}));
  EXPECT_EQ(known.total_items, 2u);
}

TEST_F(StorePipelineTest, RepliesComeBackInOrderWithTheirOwnCounts) {
  // Feed f gets f * 3 items; feed 2's items are sent twice in a row, so the second call of the
  // same feed finds them all stored.
  const std::vector<uint64_t> feeds = {1, 2, 2, 3, 4};
  for (uint64_t feed : feeds) ASSERT_OK(store_->SendStoreItems(feed, Items(feed, feed * 3)));
  EXPECT_EQ(store_->pending_store_items(), feeds.size());
  const uint32_t want_new[] = {3, 6, 0, 9, 12};
  for (size_t i = 0; i < feeds.size(); ++i) {
    ASSERT_OK_AND_ASSIGN(StoreItemsResult result, store_->ReceiveStoreItems());
    EXPECT_EQ(result.new_items, want_new[i]) << i;
    EXPECT_EQ(result.total_items, feeds[i] * 3) << i;
  }
  EXPECT_EQ(store_->pending_store_items(), 0u);
  EXPECT_FALSE(store_->ReceiveStoreItems().ok());  // nothing was sent

  // Each item once in the hash, the order set (with its time) and the stream.
  EXPECT_EQ(Integer({"HLEN", "fc:items:4"}), 12);
  EXPECT_EQ(Integer({"ZCARD", "fc:items:4:order"}), 12);
  EXPECT_EQ(Streamed(), 3u + 6 + 9 + 12);
  StatusOr<RedisReply> score = raw_->Command({"ZSCORE", "fc:items:3:order",
                                              "https://example.com/3/8"});
  ASSERT_OK(score.status());
  EXPECT_EQ(score->str, std::to_string(kBaseMs + 8000));
  ItemQuery query;
  query.feed_id = 3;
  ASSERT_OK_AND_ASSIGN(std::vector<ItemRow> rows, store_->QueryItems(query));
  ASSERT_EQ(rows.size(), 9u);
  EXPECT_EQ(rows[0].json, Items(3, 9)[0].json);
}

// The script writes order entries in batches: a feed larger than one batch, with duplicate keys
// inside the call, still stores each key once.
TEST_F(StorePipelineTest, LargeFeedWithDuplicatesStoresEachKeyOnce) {
  std::vector<StoredItem> items = Items(7, 2500);
  items.push_back(items[10]);
  items.push_back(items[2400]);
  ASSERT_OK_AND_ASSIGN(StoreItemsResult result, store_->StoreItems(7, items));
  EXPECT_EQ(result.new_items, 2500u);
  EXPECT_EQ(result.total_items, 2500u);
  EXPECT_EQ(Integer({"ZCARD", "fc:items:7:order"}), 2500);
  EXPECT_EQ(Streamed(), 2500u);
  ASSERT_OK_AND_ASSIGN(result, store_->StoreItems(7, items));
  EXPECT_EQ(result.new_items, 0u);
  EXPECT_EQ(Streamed(), 2500u);
}

TEST_F(StorePipelineTest, OtherCallsWaitForPendingReplies) {
  ASSERT_OK(store_->SendStoreItems(1, Items(1, 2)));
  EXPECT_EQ(store_->StoreItems(2, Items(2, 2)).status().code(), StatusCode::kInternal);
  EXPECT_EQ(store_->ReadStats().status().code(), StatusCode::kInternal);
  ASSERT_OK_AND_ASSIGN(StoreItemsResult result, store_->ReceiveStoreItems());
  EXPECT_EQ(result.new_items, 2u);
  ASSERT_OK(store_->ReadStats().status());
  ASSERT_OK_AND_ASSIGN(result, store_->StoreItems(2, Items(2, 2)));
  EXPECT_EQ(result.new_items, 2u);
}

TEST_F(StorePipelineTest, ItemWithoutKeyIsRefusedBeforeSending) {
  std::vector<StoredItem> items = Items(1, 3);
  items[1].key.clear();
  EXPECT_EQ(store_->SendStoreItems(1, items).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->pending_store_items(), 0u);
  EXPECT_EQ(Integer({"EXISTS", "fc:items:1"}), 0);
}

// A connection that breaks with calls in flight: every one of them comes back Unavailable, in
// order, nothing is sent twice behind the caller's back, and the next call reconnects.
TEST_F(StorePipelineTest, BrokenConnectionFailsEveryPendingCall) {
  // Held up behind a blocking command on the same connection, the calls cannot have run when the
  // connection is killed.
  ASSERT_OK_AND_ASSIGN(StoreItemsResult warm, store_->StoreItems(9, Items(9, 1)));
  EXPECT_EQ(warm.new_items, 1u);
  ASSERT_OK_AND_ASSIGN(RedisReply id, store_->redis().Command({"CLIENT", "ID"}));
  ASSERT_OK(store_->redis().Send({"BLPOP", "never-pushed", "0"}));
  ASSERT_OK(store_->SendStoreItems(1, Items(1, 4)));
  ASSERT_OK(store_->SendStoreItems(2, Items(2, 4)));
  EXPECT_EQ(Integer({"CLIENT", "KILL", "ID", std::to_string(id.integer)}), 1);

  StatusOr<RedisReply> blocked = store_->redis().Receive();
  EXPECT_EQ(blocked.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(store_->ReceiveStoreItems().status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(store_->ReceiveStoreItems().status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(store_->pending_store_items(), 0u);
  EXPECT_EQ(Integer({"EXISTS", "fc:items:1"}), 0);
  EXPECT_EQ(Integer({"EXISTS", "fc:items:2"}), 0);

  // What the processor does next: store them again.
  ASSERT_OK_AND_ASSIGN(StoreItemsResult again, store_->StoreItems(1, Items(1, 4)));
  EXPECT_EQ(again.new_items, 4u);
  ASSERT_OK(store_->SendStoreItems(2, Items(2, 4)));
  ASSERT_OK_AND_ASSIGN(again, store_->ReceiveStoreItems());
  EXPECT_EQ(again.new_items, 4u);
}

// A processor killed between an item's HSETNX and the script that records it leaves the JSON in
// the hash with no order entry: the item is not stored yet (no order entry, no stream entry), and
// the next call that offers the key records it once, keeping the JSON written first.
TEST_F(StorePipelineTest, JsonLeftWithoutItsOrderEntryIsRecordedByTheNextCall) {
  std::vector<StoredItem> items = Items(8, 3);
  ASSERT_OK(raw_->Command({"HSETNX", "fc:items:8", items[1].key, "{\"left\":1}"}).status());
  items.push_back({items[0].key, "{\"duplicate\":1}", kBaseMs});
  ASSERT_OK_AND_ASSIGN(StoreItemsResult result, store_->StoreItems(8, items));
  EXPECT_EQ(result.new_items, 3u);
  EXPECT_EQ(result.total_items, 3u);
  EXPECT_EQ(Integer({"ZCARD", "fc:items:8:order"}), 3);
  EXPECT_EQ(Streamed(), 3u);
  ASSERT_OK_AND_ASSIGN(RedisReply left, raw_->Command({"HGET", "fc:items:8", items[1].key}));
  EXPECT_EQ(left.str, "{\"left\":1}");
  ASSERT_OK_AND_ASSIGN(RedisReply first, raw_->Command({"HGET", "fc:items:8", items[0].key}));
  EXPECT_EQ(first.str, items[0].json);
  ASSERT_OK_AND_ASSIGN(result, store_->StoreItems(8, items));
  EXPECT_EQ(result.new_items, 0u);
  EXPECT_EQ(Streamed(), 3u);
}

// The server forgets its scripts (a restart, SCRIPT FLUSH) while calls are in flight: those calls
// fail without recording any item (their JSON may be in the hash already, but no key is in the
// order set), later ones load the script again, and repeating a failed call records its items.
TEST_F(StorePipelineTest, ForgottenScriptFailsPendingCallsThenRecovers) {
  ASSERT_OK_AND_ASSIGN(StoreItemsResult first, store_->StoreItems(1, Items(1, 2)));
  EXPECT_EQ(first.new_items, 2u);
  ASSERT_OK(raw_->Command({"SCRIPT", "FLUSH"}).status());
  ASSERT_OK(store_->SendStoreItems(2, Items(2, 2)));
  ASSERT_OK(store_->SendStoreItems(3, Items(3, 2)));
  EXPECT_EQ(store_->ReceiveStoreItems().status().code(), StatusCode::kUnavailable);
  // Sent while another call is still pending: the script text goes along.
  ASSERT_OK(store_->SendStoreItems(4, Items(4, 2)));
  EXPECT_EQ(store_->ReceiveStoreItems().status().code(), StatusCode::kUnavailable);
  ASSERT_OK_AND_ASSIGN(StoreItemsResult fourth, store_->ReceiveStoreItems());
  EXPECT_EQ(fourth.new_items, 2u);
  EXPECT_EQ(Integer({"EXISTS", "fc:items:2:order"}), 0);
  EXPECT_EQ(Integer({"EXISTS", "fc:items:3:order"}), 0);

  ASSERT_OK_AND_ASSIGN(StoreItemsResult second, store_->StoreItems(2, Items(2, 2)));
  EXPECT_EQ(second.new_items, 2u);
  // Forgotten once the SHA1 is known again: StoreItems recovers by itself.
  ASSERT_OK(raw_->Command({"SCRIPT", "FLUSH"}).status());
  ASSERT_OK_AND_ASSIGN(StoreItemsResult third, store_->StoreItems(3, Items(3, 2)));
  EXPECT_EQ(third.new_items, 2u);
  ASSERT_OK(store_->SendStoreItems(5, Items(5, 2)));
  ASSERT_OK_AND_ASSIGN(StoreItemsResult fifth, store_->ReceiveStoreItems());
  EXPECT_EQ(fifth.new_items, 2u);
}

// A processor's first call on a feed stored before is a question (which keys are known); the
// store calls that follow are sent while the next feeds' questions are still pending. They go by
// the script's SHA1, loaded at that first call: the script's text is not sent with every call.
TEST_F(StorePipelineTest, StoreCallsBehindPendingQuestionsSendTheScriptBySha) {
  ASSERT_OK(raw_->Command({"CONFIG", "RESETSTAT"}).status());
  ASSERT_OK(store_->SendKnownItems(1, Items(1, 2)));
  ASSERT_OK(store_->SendKnownItems(2, Items(2, 2)));
  ASSERT_OK_AND_ASSIGN(KnownItems known1, store_->ReceiveKnownItems());
  EXPECT_EQ(known1.total_items, 0u);
  ASSERT_OK(store_->SendStoreItems(1, Items(1, 2)));
  ASSERT_OK(store_->SendKnownItems(3, Items(3, 2)));
  ASSERT_OK_AND_ASSIGN(KnownItems known2, store_->ReceiveKnownItems());
  EXPECT_EQ(known2.total_items, 0u);
  ASSERT_OK(store_->SendStoreItems(2, Items(2, 2)));
  ASSERT_OK_AND_ASSIGN(StoreItemsResult stored1, store_->ReceiveStoreItems());
  EXPECT_EQ(stored1.new_items, 2u);
  ASSERT_OK(store_->ReceiveKnownItems().status());
  ASSERT_OK_AND_ASSIGN(StoreItemsResult stored2, store_->ReceiveStoreItems());
  EXPECT_EQ(stored2.new_items, 2u);
  EXPECT_EQ(CommandCalls(*raw_, "eval"), 0);
  EXPECT_EQ(CommandCalls(*raw_, "evalsha"), 2);
}

// Once the server has forgotten the script, the next call carries its text, which caches it
// again, and the calls after it go by its SHA1, even while other calls are still pending.
TEST_F(StorePipelineTest, AfterAForgottenScriptOneCallCarriesItsText) {
  ASSERT_OK(store_->StoreItems(1, Items(1, 2)).status());
  ASSERT_OK(raw_->Command({"SCRIPT", "FLUSH"}).status());
  ASSERT_OK(raw_->Command({"CONFIG", "RESETSTAT"}).status());
  ASSERT_OK(store_->SendStoreItems(2, Items(2, 2)));
  ASSERT_OK(store_->SendStoreItems(3, Items(3, 2)));
  EXPECT_EQ(store_->ReceiveStoreItems().status().code(), StatusCode::kUnavailable);
  // Feed 3's call is still pending, so none of these can load the script first.
  for (uint64_t feed = 4; feed <= 6; ++feed) {
    ASSERT_OK(store_->SendStoreItems(feed, Items(feed, 2)));
  }
  EXPECT_EQ(store_->ReceiveStoreItems().status().code(), StatusCode::kUnavailable);
  for (uint64_t feed = 4; feed <= 6; ++feed) {
    ASSERT_OK_AND_ASSIGN(StoreItemsResult stored, store_->ReceiveStoreItems());
    EXPECT_EQ(stored.new_items, 2u) << "feed " << feed;
    EXPECT_EQ(Integer({"ZCARD", "fc:items:" + std::to_string(feed) + ":order"}), 2);
  }
  EXPECT_EQ(CommandCalls(*raw_, "eval"), 1);
}

// A call whose item writes fail (here the item hash is of the wrong type) while the server has
// also forgotten the script reports the write's error, and still makes the next call load the
// script again: that call stores its items in one go.
TEST_F(StorePipelineTest, AFailedWriteDoesNotHideAForgottenScript) {
  ASSERT_OK_AND_ASSIGN(StoreItemsResult first, store_->StoreItems(1, Items(1, 2)));
  EXPECT_EQ(first.new_items, 2u);
  ASSERT_OK(raw_->Command({"SET", "fc:items:9", "not a hash"}).status());
  ASSERT_OK(raw_->Command({"SCRIPT", "FLUSH"}).status());
  ASSERT_OK(store_->SendStoreItems(9, Items(9, 2)));
  StatusOr<StoreItemsResult> failed = store_->ReceiveStoreItems();
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().ToString().find("WRONGTYPE"), std::string::npos)
      << failed.status().ToString();
  ASSERT_OK(raw_->Command({"DEL", "fc:items:9"}).status());
  ASSERT_OK(store_->SendStoreItems(9, Items(9, 2)));
  ASSERT_OK_AND_ASSIGN(StoreItemsResult stored, store_->ReceiveStoreItems());
  EXPECT_EQ(stored.new_items, 2u);
  EXPECT_EQ(Integer({"ZCARD", "fc:items:9:order"}), 2);
}

}  // namespace
}  // namespace feedcrawl
