// Store against a real redis-server: every method, the key layout of docs/REDIS.md, idempotent
// item storage, removal, and the script cache lost across a Redis restart.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/store.h"
#include "tests/support/redis_server.h"
#include "tests/support/status_matchers.h"

namespace feedcrawl {
namespace {

using testing::RedisServer;
using testing::RedisServerOptions;

constexpr int64_t kNow = 1'700'000'000'000;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(redis_.Start());
    ASSERT_OK_AND_ASSIGN(store_, Store::Open(redis_.Url()));
    ASSERT_OK_AND_ASSIGN(raw_, redis_.Connect());
  }

  RedisReply Raw(const std::vector<std::string>& argv) {
    StatusOr<RedisReply> r = raw_->Command(argv);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : RedisReply{};
  }

  std::set<std::string> AllKeys() {
    std::set<std::string> keys;
    for (const auto& k : Raw({"KEYS", "*"}).elements) keys.insert(k.str);
    return keys;
  }

  static std::vector<StoredItem> Items(const std::vector<std::string>& keys, int64_t base_ms) {
    std::vector<StoredItem> items;
    for (size_t i = 0; i < keys.size(); ++i) {
      items.push_back(
          {keys[i], "{\"key\":\"" + keys[i] + "\"}", base_ms + static_cast<int64_t>(i) * 1000});
    }
    return items;
  }

  RedisServer redis_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<RedisClient> raw_;
};

FeedRecord FullRecord(uint64_t id, const std::string& url) {
  FeedRecord f;
  f.id = id;
  f.url = url;
  f.title = "Caf\xc3\xa9 \"news\"\nline two";
  f.status = "paused";
  f.etag = "W/\"abc\"";
  f.last_modified = "Wed, 01 May 2024 12:00:00 GMT";
  f.added_ms = kNow - 1;
  f.next_due_ms = kNow + 60'000;
  f.last_fetch_ms = kNow - 2;
  f.last_ok_ms = kNow - 3;
  f.last_status = 503;
  f.last_outcome = "http_error";
  f.last_error = "HTTP 503 Service Unavailable";
  f.consecutive_failures = 4;
  f.fetches = 1234567890123ULL;
  f.failures = 17;
  f.items_total = 99;
  f.items_new_last = 5;
  f.interval_ms = 3'600'000;
  f.body_digest = "8c3a-0123456789abcdef";
  return f;
}

void ExpectSameFeed(const FeedRecord& a, const FeedRecord& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.url, b.url);
  EXPECT_EQ(a.title, b.title);
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.etag, b.etag);
  EXPECT_EQ(a.last_modified, b.last_modified);
  EXPECT_EQ(a.added_ms, b.added_ms);
  EXPECT_EQ(a.next_due_ms, b.next_due_ms);
  EXPECT_EQ(a.last_fetch_ms, b.last_fetch_ms);
  EXPECT_EQ(a.last_ok_ms, b.last_ok_ms);
  EXPECT_EQ(a.last_status, b.last_status);
  EXPECT_EQ(a.last_outcome, b.last_outcome);
  EXPECT_EQ(a.last_error, b.last_error);
  EXPECT_EQ(a.consecutive_failures, b.consecutive_failures);
  EXPECT_EQ(a.fetches, b.fetches);
  EXPECT_EQ(a.failures, b.failures);
  EXPECT_EQ(a.items_total, b.items_total);
  EXPECT_EQ(a.items_new_last, b.items_new_last);
  EXPECT_EQ(a.interval_ms, b.interval_ms);
  EXPECT_EQ(a.body_digest, b.body_digest);
}

TEST_F(StoreTest, AddFeedsCreatesDueFeeds) {
  ASSERT_OK_AND_ASSIGN(AddFeedsResult added,
                       store_->AddFeeds({"https://a.example/feed", "https://b.example/rss"}, kNow));
  EXPECT_EQ(added.added, 2u);
  EXPECT_EQ(added.ids, (std::vector<uint64_t>{1, 2}));

  ASSERT_OK_AND_ASSIGN(std::optional<FeedRecord> feed, store_->GetFeed(2));
  ASSERT_TRUE(feed.has_value());
  EXPECT_EQ(feed->id, 2u);
  EXPECT_EQ(feed->url, "https://b.example/rss");
  EXPECT_EQ(feed->status, "active");
  EXPECT_EQ(feed->added_ms, kNow);
  EXPECT_EQ(feed->next_due_ms, kNow);
  EXPECT_EQ(feed->fetches, 0u);

  EXPECT_EQ(Raw({"HGET", "fc:feed:ids", "https://a.example/feed"}).str, "1");
  EXPECT_EQ(Raw({"ZSCORE", "fc:feeds", "2"}).str, "2");
  EXPECT_EQ(Raw({"GET", "fc:feed:next_id"}).str, "2");

  ASSERT_OK_AND_ASSIGN(std::optional<uint64_t> id, store_->FindFeedId("https://a.example/feed"));
  EXPECT_EQ(id, std::optional<uint64_t>(1));
  ASSERT_OK_AND_ASSIGN(std::optional<uint64_t> none, store_->FindFeedId("https://nope/"));
  EXPECT_FALSE(none.has_value());
  ASSERT_OK_AND_ASSIGN(std::optional<FeedRecord> missing, store_->GetFeed(42));
  EXPECT_FALSE(missing.has_value());
}

TEST_F(StoreTest, RegistryVersionMovesWithEveryChangeACoordinatorMustSee) {
  ASSERT_OK_AND_ASSIGN(uint64_t version, store_->FeedsVersion());
  EXPECT_EQ(version, 0u);
  auto moved = [&]() {
    StatusOr<uint64_t> now = store_->FeedsVersion();
    EXPECT_OK(now.status());
    const bool changed = now.ok() && *now != version;
    if (now.ok()) version = *now;
    return changed;
  };
  ASSERT_OK_AND_ASSIGN(AddFeedsResult added, store_->AddFeeds({"https://a/", "https://b/"}, kNow));
  EXPECT_TRUE(moved()) << "feeds added";
  ASSERT_OK(store_->AddFeeds({"https://a/"}, kNow).status());
  EXPECT_FALSE(moved()) << "nothing new";
  ASSERT_OK(store_->SetFeedStatus("https://a/", "paused", kNow));
  EXPECT_TRUE(moved()) << "paused";
  ASSERT_OK(store_->SetFeedStatus("https://a/", "active", kNow));
  EXPECT_TRUE(moved()) << "resumed";
  ASSERT_OK(store_->UpdateFeedUrl(added.ids[1], "https://b/", "https://c/"));
  EXPECT_TRUE(moved()) << "URL moved";
  // The coordinator's own writes are not registry changes.
  ASSERT_OK(store_->SaveFeed(FullRecord(added.ids[0], "https://a/")));
  EXPECT_FALSE(moved()) << "state saved";
  ASSERT_OK(store_->RemoveFeed("https://a/"));
  EXPECT_TRUE(moved()) << "removed";
  EXPECT_TRUE(store_->RemoveFeed("https://a/").IsNotFound());
  EXPECT_FALSE(moved()) << "nothing removed";
}

TEST_F(StoreTest, AddingAUrlAgainKeepsItsIdAndState) {
  ASSERT_OK_AND_ASSIGN(AddFeedsResult first, store_->AddFeeds({"https://a/"}, kNow));
  FeedRecord changed = FullRecord(first.ids[0], "https://a/");
  ASSERT_OK(store_->SaveFeed(changed));

  ASSERT_OK_AND_ASSIGN(AddFeedsResult again,
                       store_->AddFeeds({"https://a/", "https://d/", "https://a/"}, kNow + 5));
  EXPECT_EQ(again.added, 1u);
  ASSERT_EQ(again.ids.size(), 3u);
  EXPECT_EQ(again.ids[0], first.ids[0]);
  EXPECT_EQ(again.ids[2], first.ids[0]);
  EXPECT_NE(again.ids[1], first.ids[0]);
  ASSERT_OK_AND_ASSIGN(std::optional<FeedRecord> kept, store_->GetFeed(first.ids[0]));
  ASSERT_TRUE(kept.has_value());
  ExpectSameFeed(*kept, changed);
  EXPECT_EQ(Raw({"ZCARD", "fc:feeds"}).integer, 2);
  EXPECT_EQ(store_->AddFeeds({""}, kNow).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(StoreTest, AddAndLoadManyFeeds) {
  std::vector<std::string> urls;
  for (int i = 0; i < 5000; ++i)
    urls.push_back("https://host" + std::to_string(i % 97) + ".example/feed/" + std::to_string(i));
  ASSERT_OK_AND_ASSIGN(AddFeedsResult added, store_->AddFeeds(urls, kNow));
  EXPECT_EQ(added.added, urls.size());
  ASSERT_EQ(added.ids.size(), urls.size());
  for (size_t i = 0; i < urls.size(); ++i) EXPECT_EQ(added.ids[i], i + 1);

  ASSERT_OK_AND_ASSIGN(std::vector<FeedRecord> feeds, store_->LoadFeeds());
  ASSERT_EQ(feeds.size(), urls.size());
  for (size_t i = 0; i < feeds.size(); ++i) {
    EXPECT_EQ(feeds[i].id, i + 1);
    EXPECT_EQ(feeds[i].url, urls[i]);
    EXPECT_EQ(feeds[i].next_due_ms, kNow);
  }
}

TEST_F(StoreTest, ConcurrentImportsAgreeOnIds) {
  std::vector<std::string> urls;
  for (int i = 0; i < 3000; ++i) urls.push_back("https://race.example/" + std::to_string(i));
  std::vector<std::string> reversed(urls.rbegin(), urls.rend());
  StatusOr<AddFeedsResult> a = Status::Internal("not run");
  StatusOr<AddFeedsResult> b = Status::Internal("not run");
  ASSERT_OK_AND_ASSIGN(auto other, Store::Open(redis_.Url()));
  std::thread t1([&] { a = store_->AddFeeds(urls, kNow); });
  std::thread t2([&] { b = other->AddFeeds(reversed, kNow); });
  t1.join();
  t2.join();
  ASSERT_OK(a);
  ASSERT_OK(b);
  EXPECT_EQ(a->added + b->added, urls.size());
  for (size_t i = 0; i < urls.size(); ++i) {
    EXPECT_EQ(a->ids[i], b->ids[urls.size() - 1 - i]) << urls[i];
  }
  EXPECT_EQ(Raw({"ZCARD", "fc:feeds"}).integer, 3000);
  EXPECT_EQ(Raw({"HLEN", "fc:feed:ids"}).integer, 3000);
}

TEST_F(StoreTest, SaveFeedWritesEveryField) {
  ASSERT_OK_AND_ASSIGN(AddFeedsResult added, store_->AddFeeds({"https://a/", "https://b/"}, kNow));
  const FeedRecord record = FullRecord(added.ids[1], "https://b/");
  ASSERT_OK(store_->SaveFeed(record));
  ASSERT_OK_AND_ASSIGN(std::optional<FeedRecord> got, store_->GetFeed(record.id));
  ASSERT_TRUE(got.has_value());
  ExpectSameFeed(*got, record);
  // Field names in Redis are the member names.
  EXPECT_EQ(Raw({"HGET", "fc:feed:2", "consecutive_failures"}).str, "4");
  EXPECT_EQ(Raw({"HGET", "fc:feed:2", "last_outcome"}).str, "http_error");

  ASSERT_OK_AND_ASSIGN(std::vector<FeedRecord> all, store_->LoadFeeds());
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].url, "https://a/");
  ExpectSameFeed(all[1], record);
}

// A database written by an earlier version holds P schedule, which nothing maintains now: the
// coordinator removes it as it starts, and nothing else.
TEST_F(StoreTest, RetiredKeysAreRemovedAndNothingElse) {
  ASSERT_OK_AND_ASSIGN(AddFeedsResult added, store_->AddFeeds({"https://a/"}, kNow));
  ASSERT_OK(store_->SaveFeed(FullRecord(added.ids[0], "https://a/")));
  const std::set<std::string> current = AllKeys();
  EXPECT_EQ(current.count("fc:schedule"), 0u);
  Raw({"ZADD", "fc:schedule", "1000", std::to_string(added.ids[0])});
  ASSERT_OK(store_->RemoveRetiredKeys());
  EXPECT_EQ(AllKeys(), current);
  ASSERT_OK(store_->RemoveRetiredKeys());  // none left: nothing to do
  EXPECT_EQ(AllKeys(), current);
}

TEST_F(StoreTest, SaveFeedRefusesUnknownFeeds) {
  EXPECT_EQ(store_->SaveFeed(FullRecord(0, "https://x/")).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->SaveFeed(FullRecord(7, "https://x/")).code(), StatusCode::kNotFound);
  EXPECT_TRUE(AllKeys().empty());

  ASSERT_OK_AND_ASSIGN(AddFeedsResult added, store_->AddFeeds({"https://gone/"}, kNow));
  ASSERT_OK(store_->RemoveFeed("https://gone/"));
  // A coordinator finishing a job of a feed removed meanwhile must not bring it back.
  EXPECT_EQ(store_->SaveFeed(FullRecord(added.ids[0], "https://gone/")).code(),
            StatusCode::kNotFound);
  std::set<std::string> keys = AllKeys();
  EXPECT_EQ(keys.count("fc:feed:" + std::to_string(added.ids[0])), 0u);
}

TEST_F(StoreTest, UnreadableNumbersReadAsZero) {
  ASSERT_OK_AND_ASSIGN(AddFeedsResult added, store_->AddFeeds({"https://a/"}, kNow));
  Raw({"HSET", "fc:feed:1", "fetches", "many", "last_status", "", "unknown_field", "x"});
  ASSERT_OK_AND_ASSIGN(std::optional<FeedRecord> got, store_->GetFeed(added.ids[0]));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->fetches, 0u);
  EXPECT_EQ(got->last_status, 0);
  EXPECT_EQ(got->url, "https://a/");
}

TEST_F(StoreTest, StoreItemsIsIdempotent) {
  ASSERT_OK_AND_ASSIGN(AddFeedsResult added, store_->AddFeeds({"https://a/"}, kNow));
  const uint64_t id = added.ids[0];
  const std::vector<StoredItem> batch = Items({"k1", "k2", "k3"}, kNow);
  ASSERT_OK_AND_ASSIGN(StoreItemsResult first, store_->StoreItems(id, batch));
  EXPECT_EQ(first.new_items, 3u);
  EXPECT_EQ(first.total_items, 3u);
  ASSERT_OK_AND_ASSIGN(StoreItemsResult second, store_->StoreItems(id, batch));
  EXPECT_EQ(second.new_items, 0u);
  EXPECT_EQ(second.total_items, 3u);

  // An existing key keeps its first JSON; only the new key is added.
  std::vector<StoredItem> mixed = {{"k1", "{\"changed\":true}", kNow + 99'000},
                                   {"k4", "{\"key\":\"k4\"}", kNow + 10'000}};
  ASSERT_OK_AND_ASSIGN(StoreItemsResult third, store_->StoreItems(id, mixed));
  EXPECT_EQ(third.new_items, 1u);
  EXPECT_EQ(third.total_items, 4u);
  EXPECT_EQ(Raw({"HGET", "fc:items:1", "k1"}).str, "{\"key\":\"k1\"}");
  EXPECT_EQ(Raw({"ZSCORE", "fc:items:1:order", "k1"}).str, std::to_string(kNow));
  EXPECT_EQ(Raw({"ZCARD", "fc:items:1:order"}).integer, 4);

  // Duplicates inside one batch count once.
  ASSERT_OK_AND_ASSIGN(StoreItemsResult dup, store_->StoreItems(id, Items({"k5", "k5"}, kNow)));
  EXPECT_EQ(dup.new_items, 1u);
  EXPECT_EQ(dup.total_items, 5u);

  ASSERT_OK_AND_ASSIGN(StoreItemsResult empty, store_->StoreItems(id, {}));
  EXPECT_EQ(empty.new_items, 0u);
  EXPECT_EQ(empty.total_items, 5u);
  EXPECT_EQ(store_->StoreItems(id, {{"", "{}", kNow}}).status().code(),
            StatusCode::kInvalidArgument);
}

// A feed's first store (kNoneStored) sends its JSON in one HSET to a staging hash that becomes
// the items hash: the result, the keys left behind and the stream are those of an HSETNX per item.
TEST_F(StoreTest, AFirstStoreLeavesWhatAnHsetnxPerItemWould) {
  store_->set_item_stream_max_len(100);
  ASSERT_OK_AND_ASSIGN(AddFeedsResult added, store_->AddFeeds({"https://a/", "https://b/"}, kNow));
  std::vector<StoredItem> batch = Items({"k1", "k2", "k3"}, kNow);
  // Of a key repeated in one call, the first JSON is the one kept, as HSETNX would.
  batch.push_back({"k2", "{\"second\":true}", kNow});
  ASSERT_OK_AND_ASSIGN(StoreItemsResult first,
                       store_->StoreItems(added.ids[0], batch, StoreHint::kNoneStored));
  EXPECT_EQ(first.new_items, 3u);
  EXPECT_EQ(first.total_items, 3u);
  ASSERT_OK_AND_ASSIGN(
      StoreItemsResult other,
      store_->StoreItems(added.ids[1], Items({"k1"}, kNow), StoreHint::kNoneStored));
  EXPECT_EQ(other.new_items, 1u);

  // Both went as one HSET of a staging hash, renamed into place: no HSETNX ran.
  const std::string commands = Raw({"INFO", "commandstats"}).str;
  EXPECT_EQ(commands.find("cmdstat_hsetnx:"), std::string::npos) << commands;
  EXPECT_NE(commands.find("cmdstat_rename:calls=2,"), std::string::npos) << commands;
  EXPECT_EQ(Raw({"HGET", "fc:items:1", "k2"}).str, "{\"key\":\"k2\"}");
  EXPECT_EQ(Raw({"HLEN", "fc:items:1"}).integer, 3);
  EXPECT_EQ(Raw({"ZSCORE", "fc:items:1:order", "k3"}).str, std::to_string(kNow + 2000));
  EXPECT_EQ(Raw({"ZSCORE", "fc:items:1:order", "k2"}).str, std::to_string(kNow + 1000));
  EXPECT_EQ(Raw({"HGET", "fc:items:2", "k1"}).str, "{\"key\":\"k1\"}");
  // The items outlive the staging hash's TTL, and no staging hash is left.
  EXPECT_EQ(Raw({"PTTL", "fc:items:1"}).integer, -1);
  EXPECT_EQ(Raw({"PTTL", "fc:items:2"}).integer, -1);
  EXPECT_TRUE(Raw({"KEYS", "fc:items:*:staged:*"}).elements.empty());
  const RedisReply stream = Raw({"XRANGE", "fc:stream:items", "-", "+"});
  ASSERT_EQ(stream.elements.size(), 2u);
  EXPECT_EQ(stream.elements[0].elements[1].elements[3].str, R"(["k1","k2","k3"])");

  // Stored again under either hint: nothing new, nothing rewritten, no stream entry.
  for (StoreHint hint : {StoreHint::kNoneStored, StoreHint::kMaybeStored}) {
    ASSERT_OK_AND_ASSIGN(StoreItemsResult again, store_->StoreItems(added.ids[0], batch, hint));
    EXPECT_EQ(again.new_items, 0u);
    EXPECT_EQ(again.total_items, 3u);
  }
  EXPECT_EQ(Raw({"XLEN", "fc:stream:items"}).integer, 2);
  EXPECT_TRUE(Raw({"KEYS", "fc:items:*:staged:*"}).elements.empty());
}

// Under lz4 the values are LZ4 frames on either path (a first store's staging hash, an HSETNX
// per item), the keys, order and stream are what they are without, and QueryItems gives back
// the JSON, also from a hash where older items were stored as text.
TEST_F(StoreTest, CompressedItemsAreFramesOnEveryPathAndReadBackAsJson) {
  store_->set_item_stream_max_len(100);
  ASSERT_OK_AND_ASSIGN(AddFeedsResult added, store_->AddFeeds({"https://a/"}, kNow));
  const uint64_t id = added.ids[0];
  auto json_of = [](const std::string& key) {
    std::string json = "{\"key\":\"" + key + "\",\"content\":\"";
    for (int i = 0; i < 40; ++i) json += "Zo\u00eb met Jos\u00e9 in Z\u00fcrich. ";
    return json + "\"}";
  };
  auto items = [&](const std::vector<std::string>& keys, int64_t base_ms) {
    std::vector<StoredItem> out;
    for (size_t i = 0; i < keys.size(); ++i) {
      out.push_back({keys[i], json_of(keys[i]), base_ms + static_cast<int64_t>(i) * 1000});
    }
    return out;
  };
  // A text item from before compression was turned on.
  ASSERT_OK(store_->StoreItems(id, items({"old"}, kNow - 60'000)).status());
  store_->set_item_compression(ItemCompression::kLz4);
  ASSERT_OK_AND_ASSIGN(StoreItemsResult first,
                       store_->StoreItems(id, items({"k1", "k2"}, kNow), StoreHint::kNoneStored));
  EXPECT_EQ(first.new_items, 2u);
  ASSERT_OK_AND_ASSIGN(StoreItemsResult more,
                       store_->StoreItems(id, items({"k2", "k3"}, kNow + 5000)));
  EXPECT_EQ(more.new_items, 1u);
  EXPECT_EQ(more.total_items, 4u);

  EXPECT_EQ(Raw({"HGET", "fc:items:1", "old"}).str, json_of("old"));
  for (const std::string key : {"k1", "k2", "k3"}) {
    const std::string stored = Raw({"HGET", "fc:items:1", key}).str;
    EXPECT_TRUE(IsCompressedItem(stored)) << key;
    EXPECT_LT(stored.size(), json_of(key).size() / 4) << key;
    ASSERT_OK_AND_ASSIGN(std::string json, DecodeStoredItem(stored));
    EXPECT_EQ(json, json_of(key));
  }
  EXPECT_EQ(Raw({"ZSCORE", "fc:items:1:order", "k3"}).str, std::to_string(kNow + 6000));
  EXPECT_EQ(Raw({"XLEN", "fc:stream:items"}).integer, 3);

  ASSERT_OK_AND_ASSIGN(std::vector<ItemRow> rows, store_->QueryItems({}));
  ASSERT_EQ(rows.size(), 4u);
  const std::vector<std::string> order = {"old", "k1", "k2", "k3"};
  for (size_t i = 0; i < rows.size(); ++i) EXPECT_EQ(rows[i].json, json_of(order[i]));

  // A value damaged by hand reads as an empty row, which `feedcrawl items` skips with a
  // warning; the others still read.
  std::string damaged = Raw({"HGET", "fc:items:1", "k2"}).str;
  damaged.resize(damaged.size() - 6);
  Raw({"HSET", "fc:items:1", "k2", damaged});
  ASSERT_OK_AND_ASSIGN(rows, store_->QueryItems({}));
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[1].json, json_of("k1"));
  EXPECT_EQ(rows[2].json, "");
  EXPECT_EQ(rows[3].json, json_of("k3"));
}

// The stream's entries of a first store (arrays of keys written by the store, one per 1,000
// keys) list what an HSETNX per item would: each key once, in the order given, and the items
// hash and order set are the same.
TEST_F(StoreTest, AFirstStoreOfManyItemsStreamsEachKeyOnceInEntriesOfAThousand) {
  store_->set_item_stream_max_len(100'000);
  ASSERT_OK_AND_ASSIGN(AddFeedsResult added, store_->AddFeeds({"https://a/", "https://b/"}, kNow));
  std::vector<std::string> keys;
  for (int i = 0; i < 2500; ++i) {
    keys.push_back("https://a/posts/" + std::to_string(i) + "?q=\"caf\xc3\xa9\"\\/");
  }
  std::vector<StoredItem> batch = Items(keys, kNow);
  for (int i = 0; i < 2500; i += 100) batch.push_back({keys[i], "{\"again\":true}", kNow - 1});
  ASSERT_OK_AND_ASSIGN(StoreItemsResult first,
                       store_->StoreItems(added.ids[0], batch, StoreHint::kNoneStored));
  ASSERT_OK_AND_ASSIGN(StoreItemsResult other,
                       store_->StoreItems(added.ids[1], batch, StoreHint::kMaybeStored));
  EXPECT_EQ(first.new_items, 2500u);
  EXPECT_EQ(first.total_items, 2500u);
  EXPECT_EQ(other.new_items, 2500u);
  EXPECT_EQ(Raw({"HLEN", "fc:items:1"}).integer, 2500);
  EXPECT_EQ(Raw({"ZCARD", "fc:items:1:order"}).integer, 2500);
  for (int i : {0, 999, 1000, 2499}) {
    const std::string& key = keys[static_cast<size_t>(i)];
    EXPECT_EQ(Raw({"HGET", "fc:items:1", key}).str, Raw({"HGET", "fc:items:2", key}).str);
    EXPECT_EQ(Raw({"ZSCORE", "fc:items:1:order", key}).str,
              std::to_string(kNow + int64_t{i} * 1000));
  }
  std::map<std::string, std::vector<std::string>> streamed;  // feed id -> keys, in entry order
  std::map<std::string, size_t> entries;
  for (const RedisReply& entry : Raw({"XRANGE", "fc:stream:items", "-", "+"}).elements) {
    const std::vector<RedisReply>& fields = entry.elements[1].elements;
    ASSERT_EQ(fields.size(), 4u);
    const nlohmann::json list = nlohmann::json::parse(fields[3].str);
    EXPECT_LE(list.size(), 1000u);
    for (const nlohmann::json& key : list) streamed[fields[1].str].push_back(key);
    ++entries[fields[1].str];
  }
  EXPECT_EQ(streamed["1"], keys);
  EXPECT_EQ(streamed["2"], keys);
  EXPECT_EQ(entries["1"], 3u);
  // The first store's arrays are the store's own: Lua's cjson would have written "/" as "\/".
  const RedisReply head = Raw({"XRANGE", "fc:stream:items", "-", "+", "COUNT", "1"});
  EXPECT_EQ(head.elements[0].elements[1].elements[3].str.rfind("[\"https://a/posts/0?", 0), 0u);
}

// A first store whose keys are not all well-formed UTF-8 goes as any other call: the stream's
// arrays are written by the script, with the key's bytes as they are in the hash.
TEST_F(StoreTest, AFirstStoreWithAKeyThatIsNotUtf8GoesAsAnyOtherCall) {
  store_->set_item_stream_max_len(100);
  ASSERT_OK_AND_ASSIGN(AddFeedsResult added, store_->AddFeeds({"https://a/"}, kNow));
  Raw({"CONFIG", "RESETSTAT"});
  ASSERT_OK_AND_ASSIGN(
      StoreItemsResult stored,
      store_->StoreItems(added.ids[0], Items({"ok", "bad\xff"}, kNow), StoreHint::kNoneStored));
  EXPECT_EQ(stored.new_items, 2u);
  const std::string commands = Raw({"INFO", "commandstats"}).str;
  EXPECT_NE(commands.find("cmdstat_hsetnx:calls=2,"), std::string::npos) << commands;
  EXPECT_EQ(commands.find("cmdstat_rename:"), std::string::npos) << commands;
  EXPECT_EQ(Raw({"HGET", "fc:items:1", "bad\xff"}).str, "{\"key\":\"bad\xff\"}");
  const RedisReply stream = Raw({"XRANGE", "fc:stream:items", "-", "+"});
  ASSERT_EQ(stream.elements.size(), 1u);
  EXPECT_EQ(stream.elements[0].elements[1].elements[3].str, "[\"ok\",\"bad\xff\"]");
}

// A wrong guess (the feed has items after all: a repeated job, a feed stored before it had a
// digest) costs a copy on the server, never an overwritten item.
TEST_F(StoreTest, AWrongFirstStoreGuessOverwritesNothing) {
  ASSERT_OK_AND_ASSIGN(AddFeedsResult added, store_->AddFeeds({"https://a/"}, kNow));
  const uint64_t id = added.ids[0];
  ASSERT_OK(store_->StoreItems(id, Items({"k1", "k2"}, kNow)));
  const std::vector<StoredItem> changed = {{"k1", "{\"changed\":true}", kNow + 99'000},
                                           {"k3", "{\"key\":\"k3\"}", kNow + 5'000}};
  ASSERT_OK_AND_ASSIGN(StoreItemsResult stored,
                       store_->StoreItems(id, changed, StoreHint::kNoneStored));
  EXPECT_EQ(stored.new_items, 1u);
  EXPECT_EQ(stored.total_items, 3u);
  EXPECT_EQ(Raw({"HGET", "fc:items:1", "k1"}).str, "{\"key\":\"k1\"}");
  EXPECT_EQ(Raw({"ZSCORE", "fc:items:1:order", "k1"}).str, std::to_string(kNow));
  EXPECT_EQ(Raw({"HGET", "fc:items:1", "k3"}).str, "{\"key\":\"k3\"}");
  EXPECT_EQ(Raw({"PTTL", "fc:items:1"}).integer, -1);
  EXPECT_TRUE(Raw({"KEYS", "fc:items:*:staged:*"}).elements.empty());

  // JSON left in the items hash by a call whose script never ran (no order entry) is adopted,
  // as under an HSETNX per item: the hash exists, so the staged copy does not replace it.
  Raw({"HSET", "fc:items:1", "k4", "{\"orphan\":true}"});
  ASSERT_OK_AND_ASSIGN(StoreItemsResult adopted,
                       store_->StoreItems(id, Items({"k4"}, kNow), StoreHint::kNoneStored));
  EXPECT_EQ(adopted.new_items, 1u);
  EXPECT_EQ(Raw({"HGET", "fc:items:1", "k4"}).str, "{\"orphan\":true}");
}

// A call whose script never runs (here refused; in life, a processor killed between its HSET
// and the script) leaves its staging hash to expire, and no item listed.
TEST_F(StoreTest, AStagingHashWhoseScriptNeverRanExpires) {
  ASSERT_FALSE(
      Raw({"ACL", "SETUSER", "noscripts", "on", ">pw", "~*", "+@all", "-evalsha", "-eval"})
          .IsError());
  ASSERT_OK_AND_ASSIGN(auto limited, Store::Open(redis_.Url() + "?user=noscripts&password=pw"));
  EXPECT_FALSE(limited->StoreItems(1, Items({"k1", "k2"}, kNow), StoreHint::kNoneStored).ok());
  const RedisReply staged = Raw({"KEYS", "fc:items:1:staged:*"});
  ASSERT_FALSE(staged.elements.empty());
  for (const RedisReply& key : staged.elements) {
    const int64_t ttl_ms = Raw({"PTTL", key.str}).integer;
    EXPECT_GT(ttl_ms, 0) << key.str;
    EXPECT_LE(ttl_ms, 3'600'000) << key.str;
  }
  EXPECT_EQ(Raw({"EXISTS", "fc:items:1", "fc:items:1:order"}).integer, 0);
}

TEST_F(StoreTest, StoreItemsSurvivesARedisRestart) {
  ASSERT_OK_AND_ASSIGN(AddFeedsResult added, store_->AddFeeds({"https://a/"}, kNow));
  const uint64_t id = added.ids[0];
  ASSERT_OK_AND_ASSIGN(StoreItemsResult before, store_->StoreItems(id, Items({"a", "b"}, kNow)));
  EXPECT_EQ(before.new_items, 2u);

  // The restarted server has forgotten the script: the store must notice (NOSCRIPT) and
  // recover in the same call.
  ASSERT_OK(redis_.Restart());
  ASSERT_OK_AND_ASSIGN(StoreItemsResult after,
                       store_->StoreItems(id, Items({"b", "c"}, kNow + 5000)));
  EXPECT_EQ(after.new_items, 1u);
  EXPECT_EQ(after.total_items, 3u);

  ASSERT_OK(raw_->Command({"PING"}));
  Raw({"SCRIPT", "FLUSH"});
  ASSERT_OK_AND_ASSIGN(StoreItemsResult flushed, store_->StoreItems(id, Items({"d"}, kNow)));
  EXPECT_EQ(flushed.new_items, 1u);
  EXPECT_EQ(flushed.total_items, 4u);
  // The other scripted methods recover the same way.
  ASSERT_OK(store_->AddFeeds({"https://b/"}, kNow));
  ASSERT_OK(store_->SaveFeed(FullRecord(id, "https://a/")));
  Raw({"SCRIPT", "FLUSH"});
  ASSERT_OK_AND_ASSIGN(AddFeedsResult third, store_->AddFeeds({"https://c/"}, kNow));
  EXPECT_EQ(third.ids[0], 3u);
  ASSERT_OK(store_->SaveFeed(FullRecord(id, "https://a/")));
}

TEST_F(StoreTest, QueryOneFeedOldestFirst) {
  ASSERT_OK_AND_ASSIGN(AddFeedsResult added, store_->AddFeeds({"https://a/", "https://b/"}, kNow));
  const uint64_t a = added.ids[0];
  // Stored out of order; times kNow + {0,1,2,3,4} s.
  std::vector<StoredItem> items = Items({"i0", "i1", "i2", "i3", "i4"}, kNow);
  std::reverse(items.begin(), items.end());
  ASSERT_OK(store_->StoreItems(a, items));
  ASSERT_OK(store_->StoreItems(added.ids[1], Items({"other"}, kNow)));

  ItemQuery query;
  query.feed_id = a;
  ASSERT_OK_AND_ASSIGN(std::vector<ItemRow> rows, store_->QueryItems(query));
  ASSERT_EQ(rows.size(), 5u);
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].feed_id, a);
    EXPECT_EQ(rows[i].feed_url, "https://a/");
    EXPECT_EQ(rows[i].json, "{\"key\":\"i" + std::to_string(i) + "\"}");
    EXPECT_EQ(rows[i].time_ms, kNow + static_cast<int64_t>(i) * 1000);
  }

  query.since_ms = kNow + 2000;  // inclusive
  ASSERT_OK_AND_ASSIGN(rows, store_->QueryItems(query));
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].time_ms, kNow + 2000);

  query.limit = 2;
  ASSERT_OK_AND_ASSIGN(rows, store_->QueryItems(query));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].json, "{\"key\":\"i2\"}");
  EXPECT_EQ(rows[1].json, "{\"key\":\"i3\"}");

  query.feed_id = 999;
  ASSERT_OK_AND_ASSIGN(rows, store_->QueryItems(query));
  EXPECT_TRUE(rows.empty());
}

TEST_F(StoreTest, QueryAllFeedsInIdOrder) {
  ASSERT_OK_AND_ASSIGN(AddFeedsResult added,
                       store_->AddFeeds({"https://a/", "https://b/", "https://c/"}, kNow));
  ASSERT_OK(store_->StoreItems(added.ids[2], Items({"c0", "c1"}, kNow - 50'000)));
  ASSERT_OK(store_->StoreItems(added.ids[0], Items({"a0", "a1", "a2"}, kNow)));
  // Feed b has no items.

  ASSERT_OK_AND_ASSIGN(std::vector<ItemRow> rows, store_->QueryItems({}));
  ASSERT_EQ(rows.size(), 5u);
  std::vector<std::string> order;
  for (const auto& r : rows) order.push_back(r.feed_url + r.json);
  EXPECT_EQ(order,
            (std::vector<std::string>{"https://a/{\"key\":\"a0\"}", "https://a/{\"key\":\"a1\"}",
                                      "https://a/{\"key\":\"a2\"}", "https://c/{\"key\":\"c0\"}",
                                      "https://c/{\"key\":\"c1\"}"}));

  ItemQuery limited;
  limited.limit = 4;
  ASSERT_OK_AND_ASSIGN(rows, store_->QueryItems(limited));
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[3].feed_id, added.ids[2]);

  ItemQuery recent;
  recent.since_ms = kNow + 1000;
  ASSERT_OK_AND_ASSIGN(rows, store_->QueryItems(recent));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].json, "{\"key\":\"a1\"}");
}

TEST_F(StoreTest, QueryAcrossManyFeedsAndItems) {
  std::vector<std::string> urls;
  for (int i = 0; i < 450; ++i) urls.push_back("https://f" + std::to_string(i) + "/");
  ASSERT_OK_AND_ASSIGN(AddFeedsResult added, store_->AddFeeds(urls, kNow));
  std::vector<std::string> keys;
  for (int i = 0; i < 2100; ++i) keys.push_back("item-" + std::to_string(i));
  ASSERT_OK(store_->StoreItems(added.ids[0], Items(keys, kNow)));
  for (size_t f = 1; f < urls.size(); f += 7) {
    ASSERT_OK(store_->StoreItems(added.ids[f], Items({"only"}, kNow)));
  }
  ASSERT_OK_AND_ASSIGN(std::vector<ItemRow> rows, store_->QueryItems({}));
  EXPECT_EQ(rows.size(), 2100u + (urls.size() + 5) / 7);
  EXPECT_EQ(rows.back().feed_url, urls[urls.size() - 1 - (urls.size() - 2) % 7]);
}

TEST_F(StoreTest, RemoveFeedDeletesEverythingOfTheFeed) {
  ASSERT_OK_AND_ASSIGN(AddFeedsResult added, store_->AddFeeds({"https://a/", "https://b/"}, kNow));
  const std::string a = std::to_string(added.ids[0]);
  const std::string b = std::to_string(added.ids[1]);
  ASSERT_OK(store_->SaveFeed(FullRecord(added.ids[0], "https://a/")));
  ASSERT_OK(store_->StoreItems(added.ids[0], Items({"x", "y"}, kNow)));
  ASSERT_OK(store_->StoreItems(added.ids[1], Items({"z"}, kNow)));
  const std::set<std::string> before = AllKeys();
  EXPECT_EQ(before.count("fc:items:" + a + ":order"), 1u);

  ASSERT_OK(store_->RemoveFeed("https://a/"));
  const std::set<std::string> expected = {"fc:feed:next_id",
                                          "fc:feeds:version",
                                          "fc:feed:ids",
                                          "fc:feeds",
                                          "fc:feed:" + b,
                                          "fc:items:" + b,
                                          "fc:items:" + b + ":order"};
  EXPECT_EQ(AllKeys(), expected);
  EXPECT_TRUE(Raw({"ZSCORE", "fc:feeds", a}).IsNil());
  EXPECT_EQ(Raw({"HEXISTS", "fc:feed:ids", "https://a/"}).integer, 0);
  ASSERT_OK_AND_ASSIGN(std::optional<uint64_t> gone, store_->FindFeedId("https://a/"));
  EXPECT_FALSE(gone.has_value());
  ASSERT_OK_AND_ASSIGN(std::vector<FeedRecord> feeds, store_->LoadFeeds());
  ASSERT_EQ(feeds.size(), 1u);
  EXPECT_EQ(feeds[0].url, "https://b/");
  EXPECT_EQ(store_->RemoveFeed("https://a/").code(), StatusCode::kNotFound);

  ASSERT_OK(store_->RemoveFeed("https://b/"));
  EXPECT_EQ(AllKeys(), (std::set<std::string>{"fc:feed:next_id", "fc:feeds:version"}));
  // Ids are never reused.
  ASSERT_OK_AND_ASSIGN(AddFeedsResult readded, store_->AddFeeds({"https://a/"}, kNow));
  EXPECT_EQ(readded.ids[0], 3u);
}

TEST_F(StoreTest, StatsAreReplacedWhole) {
  ASSERT_OK_AND_ASSIGN(auto empty, store_->ReadStats());
  EXPECT_TRUE(empty.empty());
  ASSERT_OK(store_->WriteStats({{"due", "10"}, {"in_flight", "3"}, {"old_field", "x"}}));
  ASSERT_OK_AND_ASSIGN(auto first, store_->ReadStats());
  EXPECT_EQ(first.at("due"), "10");
  EXPECT_EQ(first.size(), 3u);
  ASSERT_OK(store_->WriteStats({{"due", "7"}, {"in_flight", "4"}}));
  ASSERT_OK_AND_ASSIGN(auto second, store_->ReadStats());
  EXPECT_EQ(second, (std::map<std::string, std::string>{{"due", "7"}, {"in_flight", "4"}}));
  EXPECT_EQ(Raw({"HGET", "fc:stats", "in_flight"}).str, "4");
  ASSERT_OK(store_->WriteStats({}));
  ASSERT_OK_AND_ASSIGN(auto cleared, store_->ReadStats());
  EXPECT_TRUE(cleared.empty());
}

TEST_F(StoreTest, CoordinatorEpochIncreasesAcrossRestarts) {
  ASSERT_OK_AND_ASSIGN(uint64_t first, store_->NextCoordinatorEpoch());
  ASSERT_OK_AND_ASSIGN(uint64_t second, store_->NextCoordinatorEpoch());
  EXPECT_EQ(first, 1u);
  EXPECT_EQ(second, 2u);
  ASSERT_OK(redis_.Restart());
  ASSERT_OK_AND_ASSIGN(uint64_t third, store_->NextCoordinatorEpoch());
  EXPECT_EQ(third, 3u);
  EXPECT_EQ(Raw({"GET", "fc:coordinator:epoch"}).str, "3");
}

TEST_F(StoreTest, PrefixesKeepStoresApart) {
  ASSERT_OK_AND_ASSIGN(auto other, Store::Open(redis_.Url(), "test:"));
  EXPECT_EQ(other->prefix(), "test:");
  ASSERT_OK(store_->AddFeeds({"https://a/"}, kNow));
  ASSERT_OK_AND_ASSIGN(AddFeedsResult mine, other->AddFeeds({"https://b/"}, kNow));
  EXPECT_EQ(mine.ids[0], 1u);
  ASSERT_OK_AND_ASSIGN(std::vector<FeedRecord> feeds, other->LoadFeeds());
  ASSERT_EQ(feeds.size(), 1u);
  EXPECT_EQ(feeds[0].url, "https://b/");
  for (const auto& key : AllKeys()) {
    EXPECT_TRUE(key.rfind("fc:", 0) == 0 || key.rfind("test:", 0) == 0) << key;
  }
}

TEST_F(StoreTest, StoreKeepsWorkingAcrossRestarts) {
  ASSERT_OK_AND_ASSIGN(AddFeedsResult added, store_->AddFeeds({"https://a/"}, kNow));
  ASSERT_OK(redis_.Restart());
  ASSERT_OK_AND_ASSIGN(std::vector<FeedRecord> feeds, store_->LoadFeeds());
  ASSERT_EQ(feeds.size(), 1u);
  EXPECT_EQ(feeds[0].id, added.ids[0]);
  ASSERT_OK(redis_.Stop());
  EXPECT_EQ(store_->LoadFeeds().status().code(), StatusCode::kUnavailable);
  ASSERT_OK(redis_.Start());
  EXPECT_OK(store_->LoadFeeds());
}

TEST(StoreAuthTest, OpensWithAPasswordFromTheUrl) {
  RedisServerOptions options;
  options.password = "s3cret/with:symbols";
  RedisServer redis(options);
  ASSERT_OK(redis.Start());
  ASSERT_OK_AND_ASSIGN(auto store, Store::Open(redis.Url()));
  ASSERT_OK_AND_ASSIGN(AddFeedsResult added, store->AddFeeds({"https://a/"}, kNow));
  EXPECT_EQ(added.ids[0], 1u);
  ASSERT_OK_AND_ASSIGN(StoreItemsResult stored, store->StoreItems(1, {{"k", "{}", kNow}}));
  EXPECT_EQ(stored.new_items, 1u);

  StatusOr<std::unique_ptr<Store>> refused = Store::Open("unix://" + redis.SocketPath());
  EXPECT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument) << refused.status().ToString();
  EXPECT_FALSE(Store::Open("unix://" + redis.SocketPath() + "?password=wrong").ok());
}

TEST(StoreAuthTest, WorksAsTheLeastPrivilegeAclUserOfTheDocs) {
  RedisServer redis;
  ASSERT_OK(redis.Start());
  ASSERT_OK_AND_ASSIGN(auto admin, redis.Connect());
  ASSERT_OK_AND_ASSIGN(RedisReply created,
                       admin->Command({"ACL", "SETUSER", "crawler", "on", ">s3cret", "~fc:*",
                                       "+@all", "-@dangerous"}));
  ASSERT_FALSE(created.IsError()) << created.str;
  ASSERT_OK_AND_ASSIGN(auto store, Store::Open(redis.Url() + "?user=crawler&password=s3cret"));
  ASSERT_OK_AND_ASSIGN(AddFeedsResult added, store->AddFeeds({"https://a/"}, kNow));
  ASSERT_OK(store->SaveFeed(FullRecord(added.ids[0], "https://a/")));
  ASSERT_OK(store->StoreItems(added.ids[0], {{"k", "{}", kNow}}, StoreHint::kNoneStored));
  ASSERT_OK(store->StoreItems(added.ids[0], {{"k2", "{}", kNow}}, StoreHint::kNoneStored));
  ASSERT_OK_AND_ASSIGN(std::vector<ItemRow> rows, store->QueryItems({}));
  EXPECT_EQ(rows.size(), 2u);
  ASSERT_OK(store->WriteStats({{"due", "0"}}));
  ASSERT_OK(store->NextCoordinatorEpoch());
  ASSERT_OK(store->LoadFeeds());
  ASSERT_OK(store->RemoveFeed("https://a/"));
  // The same user may not touch keys outside its prefix.
  ASSERT_OK_AND_ASSIGN(auto outside,
                       Store::Open(redis.Url() + "?user=crawler&password=s3cret", "other:"));
  EXPECT_FALSE(outside->AddFeeds({"https://a/"}, kNow).ok());
}

}  // namespace
}  // namespace feedcrawl
