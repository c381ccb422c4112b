// ItemVerifier against a real redis-server: the check behind scripts/bench's "exact". Feeds from
// the generator are parsed by the real parser and stored through the real item store, as a
// crawl stores them; then one fault at a time is put into the store, and the verifier must name
// it: a missing item, an item stored twice, an item the feed never had, a changed field, a feed
// that was never registered. A benchmark whose check missed any of these would report figures
// for crawls that lost or duplicated items.
#include "bench/item_verifier.h"

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/feed_model.h"
#include "common/store.h"
#include "processor/parser.h"
#include "tests/gen/feed_generator.h"
#include "tests/support/redis_server.h"
#include "tests/support/status_matchers.h"

namespace feedcrawl::bench {
namespace {

using testing::RedisServer;

constexpr char kBase[] = "http://127.0.0.1:8080";

// Generated feeds: each one's truth and document.
using Feeds = std::vector<std::pair<GeneratedFeed, std::string>>;

class ItemVerifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(redis_.Start());
    ASSERT_OK_AND_ASSIGN(store_, Store::Open(redis_.Url()));
    options_.feeds = 6;  // every format twice
    options_.items_per_feed = 30;  // enough for RSS 2.0 items with neither guid nor link
    options_.item_bytes = 200;
    options_.base_url = kBase;
  }

  static std::string UrlOf(const GeneratedFeed& feed) {
    return std::string(kBase) + "/" + feed.path;
  }

  // Generates the feeds of `options_` and returns their truth and documents.
  Feeds Generate() const {
    Feeds out;
    for (size_t i = 0; i < options_.feeds; ++i) {
      std::string document;
      GeneratedFeed feed = GenerateFeed(options_, i, &document);
      out.emplace_back(std::move(feed), std::move(document));
    }
    return out;
  }

  // Registers the feed and stores what the parser reads from its document, as the processor
  // does. `edit` may change the parsed items first.
  void Crawl(const GeneratedFeed& feed, const std::string& document,
             const std::function<void(std::vector<Item>&)>& edit = nullptr) {
    ASSERT_OK(store_->AddFeeds({UrlOf(feed)}, 0).status());
    ASSERT_OK_AND_ASSIGN(std::optional<uint64_t> id, store_->FindFeedId(UrlOf(feed)));
    ASSERT_TRUE(id.has_value());
    ParsedFeed parsed = ParseFeed(document, ParseOptions{UrlOf(feed), "application/xml"});
    ASSERT_FALSE(parsed.bozo) << feed.path << ": " << parsed.error;
    if (edit) edit(parsed.items);
    std::vector<StoredItem> items;
    for (const Item& item : parsed.items) {
      StoredItem stored;
      stored.key = item.key;
      AppendItemJson(item, &stored.json);
      stored.time_ms = item.published_ms.value_or(0);
      items.push_back(std::move(stored));
    }
    ASSERT_OK(store_->StoreItems(*id, items).status());
  }

  // Checks every feed of the truth with a verifier of its own.
  VerifyCounts Verify(const Feeds& feeds) {
    std::unordered_map<std::string, std::string> url_by_path;
    for (const auto& [feed, document] : feeds) url_by_path[feed.path] = UrlOf(feed);
    auto verifier_store = Store::Open(redis_.Url());
    EXPECT_OK(verifier_store.status());
    ItemVerifier verifier(std::move(verifier_store).value(), std::move(url_by_path));
    for (const auto& [feed, document] : feeds) EXPECT_OK(verifier.Check(feed));
    return verifier.counts();
  }

  // Crawls every generated feed, `edit` changing the parsed items of feed `edited` before they
  // are stored, and verifies the store against the truth.
  VerifyCounts CrawlAndVerify(size_t edited, const std::function<void(std::vector<Item>&)>& edit) {
    feeds_ = Generate();
    for (size_t i = 0; i < feeds_.size(); ++i) {
      Crawl(feeds_[i].first, feeds_[i].second, i == edited ? edit : nullptr);
    }
    return Verify(feeds_);
  }

  static uint64_t ItemCount(const Feeds& feeds) {
    uint64_t count = 0;
    for (const auto& [feed, document] : feeds) count += feed.items.size();
    return count;
  }

  RedisServer redis_;
  std::unique_ptr<Store> store_;
  GenOptions options_;
  Feeds feeds_;  // what CrawlAndVerify crawled
};

TEST_F(ItemVerifierTest, ACrawlThatStoredWhatTheParserReadIsExact) {
  auto feeds = Generate();
  // Items without identity are matched by title (the parser derives their keys): make sure
  // the set has some.
  size_t without_identity = 0;
  for (const auto& [feed, document] : feeds) {
    for (const Item& item : feed.items) without_identity += item.key.empty() ? 1 : 0;
  }
  ASSERT_GT(without_identity, 0u);
  for (const auto& [feed, document] : feeds) Crawl(feed, document);
  VerifyCounts counts = Verify(feeds);
  EXPECT_TRUE(counts.Exact()) << counts.ToJson();
  EXPECT_EQ(counts.feeds, options_.feeds);
  EXPECT_EQ(counts.feeds_exact, options_.feeds);
  EXPECT_EQ(counts.expected, ItemCount(feeds));
  EXPECT_EQ(counts.matched, ItemCount(feeds));
  EXPECT_EQ(counts.stored, ItemCount(feeds));
  EXPECT_EQ(counts.field_mismatches, 0u);
}

TEST_F(ItemVerifierTest, AnItemNotStoredIsMissing) {
  VerifyCounts counts =
      CrawlAndVerify(2, [](std::vector<Item>& items) { items.erase(items.begin() + 3); });
  EXPECT_FALSE(counts.Exact());
  EXPECT_EQ(counts.missing, 1u);
  EXPECT_EQ(counts.matched, ItemCount(feeds_) - 1);
  EXPECT_EQ(counts.feeds_exact, options_.feeds - 1);
  EXPECT_EQ(counts.duplicated + counts.extra, 0u);
}

TEST_F(ItemVerifierTest, AnItemStoredAgainUnderAnotherKeyIsDuplicated) {
  VerifyCounts counts = CrawlAndVerify(1, [](std::vector<Item>& items) {
    // The same item again, its key derived another way.
    Item copy = items[0];
    copy.key = "h:another-derivation";
    items.push_back(std::move(copy));
  });
  EXPECT_FALSE(counts.Exact());
  EXPECT_EQ(counts.duplicated, 1u);
  EXPECT_EQ(counts.extra, 0u);
  EXPECT_EQ(counts.missing, 0u);
  EXPECT_EQ(counts.stored, ItemCount(feeds_) + 1);
}

TEST_F(ItemVerifierTest, AnItemTheFeedNeverHadIsExtra) {
  VerifyCounts counts = CrawlAndVerify(4, [](std::vector<Item>& items) {
    Item stranger;
    stranger.key = "urn:stranger";
    stranger.title = "An item no version of this feed lists";
    items.push_back(std::move(stranger));
  });
  EXPECT_FALSE(counts.Exact());
  EXPECT_EQ(counts.extra, 1u);
  EXPECT_EQ(counts.duplicated, 0u);
  EXPECT_EQ(counts.missing, 0u);
}

TEST_F(ItemVerifierTest, AChangedFieldIsReportedWithoutCountingAgainstExactness) {
  VerifyCounts counts =
      CrawlAndVerify(0, [](std::vector<Item>& items) { items[5].summary += " (changed)"; });
  EXPECT_EQ(counts.field_mismatches, 1u);
  // Fields are the parser's correctness, checked by its own tests; exactness is about counts.
  EXPECT_TRUE(counts.Exact()) << counts.ToJson();
}

TEST_F(ItemVerifierTest, AFeedNeverRegisteredHasAllItsItemsMissing) {
  auto feeds = Generate();
  for (size_t i = 0; i < feeds.size(); ++i) {
    if (i != 3) Crawl(feeds[i].first, feeds[i].second);
  }
  VerifyCounts counts = Verify(feeds);
  EXPECT_FALSE(counts.Exact());
  EXPECT_EQ(counts.feeds_missing, 1u);
  EXPECT_EQ(counts.missing, feeds[3].first.items.size());
  EXPECT_EQ(counts.feeds_exact, options_.feeds - 1);
}

TEST_F(ItemVerifierTest, ItemsALaterVersionDroppedStillCountWhenStoredBefore) {
  // The first version crawled, then the version one update later: the store has both the
  // dropped oldest item and the new one, which is what the later version's truth expects.
  auto first = Generate();
  for (const auto& [feed, document] : first) Crawl(feed, document);
  options_.advance = 1;
  auto later = Generate();
  for (const auto& [feed, document] : later) Crawl(feed, document);
  VerifyCounts counts = Verify(later);
  EXPECT_TRUE(counts.Exact()) << counts.ToJson();
  EXPECT_EQ(counts.expected, ItemCount(later) + options_.feeds);

  // Judged against the first version alone, each feed's new item is one the truth never had.
  VerifyCounts against_first = Verify(first);
  EXPECT_FALSE(against_first.Exact());
  EXPECT_EQ(against_first.extra, options_.feeds);
}

}  // namespace
}  // namespace feedcrawl::bench
