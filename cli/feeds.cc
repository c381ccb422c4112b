#include "cli/feeds.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <ostream>

#include <nlohmann/json.hpp>

#include "cli/exit_codes.h"
#include "cli/feed_list.h"
#include "cli/format.h"
#include "common/clock.h"
#include "common/feed_model.h"

namespace feedcrawl::cli {
namespace {

constexpr size_t kBatchSize = 10'000;
constexpr size_t kMaxErrorColumn = 60;

std::unique_ptr<StoreSession> OpenOrReport(const StoreOptions& options, std::ostream& err) {
  StatusOr<std::unique_ptr<StoreSession>> session = StoreSession::Open(options);
  if (!session.ok()) {
    err << "feedcrawl: error: " << session.status().message() << "\n";
    return nullptr;
  }
  return std::move(*session);
}

// Prints "Imported 500 feeds from list.txt (20 new)".
int AddAndReport(const StoreOptions& options, const std::vector<std::string>& urls,
                 const std::string& verb, const std::string& source, std::ostream& out,
                 std::ostream& err) {
  std::unique_ptr<StoreSession> session = OpenOrReport(options, err);
  if (session == nullptr) return kExitFailure;
  StatusOr<AddFeedsResult> result =
      AddFeedsInBatches(session->store(), urls, SystemClock::Instance().NowMs());
  if (!result.ok()) {
    err << "feedcrawl: error: adding feeds: " << result.status().message() << "\n";
    return kExitFailure;
  }
  out << verb << " " << FormatCount(urls.size()) << " feed" << (urls.size() == 1 ? "" : "s")
      << source << " (" << FormatCount(result->added) << " new)\n";
  return kExitOk;
}

std::string OrDash(const std::string& text) { return text.empty() ? "-" : text; }

// Errors can be long and multi-line; the table keeps one short line per feed.
std::string OneLine(const std::string& text, size_t max) {
  std::string line;
  for (char c : text) line.push_back(c == '\n' || c == '\r' || c == '\t' ? ' ' : c);
  if (line.size() > max) line = line.substr(0, max - 3) + "...";
  return line;
}

nlohmann::json TimeOrNull(int64_t ms) {
  return ms > 0 ? nlohmann::json(FormatRfc3339(ms)) : nlohmann::json(nullptr);
}

nlohmann::json StringOrNull(const std::string& text) {
  return text.empty() ? nlohmann::json(nullptr) : nlohmann::json(text);
}

}  // namespace

StatusOr<AddFeedsResult> AddFeedsInBatches(Store& store, const std::vector<std::string>& urls,
                                           int64_t now_ms) {
  AddFeedsResult total;
  for (size_t start = 0; start < urls.size(); start += kBatchSize) {
    size_t end = std::min(urls.size(), start + kBatchSize);
    std::vector<std::string> batch(urls.begin() + static_cast<std::ptrdiff_t>(start),
                                   urls.begin() + static_cast<std::ptrdiff_t>(end));
    StatusOr<AddFeedsResult> result = store.AddFeeds(batch, now_ms);
    if (!result.ok()) return result.status();
    total.ids.insert(total.ids.end(), result->ids.begin(), result->ids.end());
    total.added += result->added;
  }
  return total;
}

nlohmann::json FeedRecordToJson(const FeedRecord& feed) {
  nlohmann::json json = nlohmann::json::object();
  json["id"] = feed.id;
  json["url"] = feed.url;
  json["title"] = StringOrNull(feed.title);
  json["status"] = feed.status;
  json["last_outcome"] = StringOrNull(feed.last_outcome);
  json["last_status"] =
      feed.last_status == 0 ? nlohmann::json(nullptr) : nlohmann::json(feed.last_status);
  json["items"] = feed.items_total;
  json["last_error"] = StringOrNull(feed.last_error);
  json["last_fetch"] = TimeOrNull(feed.last_fetch_ms);
  json["last_ok"] = TimeOrNull(feed.last_ok_ms);
  json["next_due"] = TimeOrNull(feed.next_due_ms);
  json["fetches"] = feed.fetches;
  json["failures"] = feed.failures;
  json["consecutive_failures"] = feed.consecutive_failures;
  return json;
}

FeedTable::FeedTable(std::ostream& out, bool due, int64_t now_ms, size_t sizing_rows)
    : out_(out), due_(due), now_ms_(now_ms), sizing_rows_(std::max<size_t>(sizing_rows, 1)) {
  if (due_) {
    Row({"URL", "STATUS", "OUTCOME", "DUE", "NEXT DUE"});
  } else {
    Row({"URL", "STATUS", "OUTCOME", "HTTP", "ITEMS", "LAST ERROR"});
  }
}

void FeedTable::Add(const FeedRecord& feed) {
  if (due_) {
    // A record without a due time (0) is due at once.
    const bool timed = feed.next_due_ms > 0;
    Row({feed.url, feed.status, OrDash(feed.last_outcome),
         timed ? FormatDueIn(feed.next_due_ms, now_ms_) : "now",
         timed ? FormatRfc3339(feed.next_due_ms) : "-"});
  } else {
    Row({feed.url, feed.status, OrDash(feed.last_outcome),
         feed.last_status == 0 ? "-" : std::to_string(feed.last_status),
         FormatCount(feed.items_total), OrDash(OneLine(feed.last_error, kMaxErrorColumn))});
  }
}

void FeedTable::Finish() {
  if (sized_) return;
  for (const auto& cells : held_) {
    if (widths_.size() < cells.size()) widths_.resize(cells.size(), 0);
    for (size_t i = 0; i < cells.size(); ++i) widths_[i] = std::max(widths_[i], cells[i].size());
  }
  sized_ = true;
  for (const auto& cells : held_) Print(cells);
  held_.clear();
  held_.shrink_to_fit();
}

void FeedTable::Row(std::vector<std::string> cells) {
  if (sized_) {
    Print(cells);
    return;
  }
  held_.push_back(std::move(cells));
  if (held_.size() >= sizing_rows_) Finish();
}

void FeedTable::Print(const std::vector<std::string>& cells) {
  // The counts (HTTP and ITEMS; DUE) to the right, the rest to the left, the last unpadded.
  const size_t first_right = 3;
  const size_t last_right = due_ ? 3 : 4;
  std::string line;
  for (size_t i = 0; i < cells.size(); ++i) {
    const size_t width = i < widths_.size() ? widths_[i] : 0;
    if (i + 1 == cells.size()) {
      line += cells[i];
    } else if (i >= first_right && i <= last_right) {
      line += PadLeft(cells[i], width) + "  ";
    } else {
      line += PadRight(cells[i], width) + "  ";
    }
  }
  line += '\n';
  out_ << line;
}

std::string FormatDueIn(int64_t due_ms, int64_t now_ms) {
  int64_t ahead_ms = due_ms - now_ms;
  if (ahead_ms >= 500) return "in " + FormatDuration(ahead_ms);
  if (ahead_ms <= -500) return FormatDuration(-ahead_ms) + " ago";
  return "now";
}

int FeedsImportCommand(const StoreOptions& options, const std::string& file, std::ostream& out,
                       std::ostream& err) {
  StatusOr<std::vector<std::string>> urls = ReadFeedList(file);
  if (!urls.ok()) {
    err << "feedcrawl: error: " << urls.status().message() << "\n";
    return urls.status().code() == StatusCode::kNotFound ? kExitFailure : kExitUsage;
  }
  return AddAndReport(options, *urls, "Imported", " from " + file, out, err);
}

int FeedsAddCommand(const StoreOptions& options, const std::vector<std::string>& urls,
                    std::ostream& out, std::ostream& err) {
  for (const std::string& url : urls) {
    if (!IsFeedUrl(url)) {
      err << "feedcrawl: error: not an http(s) URL: " << url << "\n";
      return kExitUsage;
    }
  }
  return AddAndReport(options, urls, "Added", "", out, err);
}

bool IsFailing(const FeedRecord& feed) {
  return feed.consecutive_failures > 0 || feed.status == "paused" || feed.status == "disabled";
}

namespace {

// What orders the listed feeds: the lower id first among equals, as the store visits them.
struct ListedKey {
  uint64_t id = 0;
  int64_t next_due_ms = 0;
  uint32_t consecutive_failures = 0;
};

ListedKey KeyOf(const FeedRecord& feed) {
  return {feed.id, feed.next_due_ms, feed.consecutive_failures};
}
const ListedKey& KeyOf(const ListedKey& key) { return key; }

bool IsListed(const FeedsListOptions& list, const FeedRecord& feed) {
  if (list.failing) return IsFailing(feed);
  if (list.due) return IsScheduled(feed);
  return true;
}

// --failing: the longest streak first; --due: the soonest due first; else by id.
bool ListedBefore(const FeedsListOptions& list, const ListedKey& a, const ListedKey& b) {
  if (list.failing && a.consecutive_failures != b.consecutive_failures) {
    return a.consecutive_failures > b.consecutive_failures;
  }
  if (list.due && a.next_due_ms != b.next_due_ms) return a.next_due_ms < b.next_due_ms;
  return a.id < b.id;
}

// Puts `entries` (feeds or their keys, all listed) in the listed order, and keeps the first
// `list.limit` of them (0: all).
template <typename Entry>
void OrderAndCut(const FeedsListOptions& list, std::vector<Entry>& entries) {
  auto before = [&list](const Entry& a, const Entry& b) {
    return ListedBefore(list, KeyOf(a), KeyOf(b));
  };
  if (list.limit > 0 && list.limit < entries.size()) {
    const auto cut = entries.begin() + static_cast<std::ptrdiff_t>(list.limit);
    std::partial_sort(entries.begin(), cut, entries.end(), before);
    entries.erase(cut, entries.end());
  } else {
    std::sort(entries.begin(), entries.end(), before);
  }
}

// One feed as a line of JSON Lines.
void WriteJsonLine(const FeedRecord& feed, std::ostream& out) {
  out << FeedRecordToJson(feed).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
      << "\n";
}

}  // namespace

void SelectListedFeeds(const FeedsListOptions& list, std::vector<FeedRecord>& feeds) {
  feeds.erase(std::remove_if(feeds.begin(), feeds.end(),
                             [&list](const FeedRecord& feed) { return !IsListed(list, feed); }),
              feeds.end());
  OrderAndCut(list, feeds);
}

Status ForEachSelectedFeed(Store& store, const FeedsListOptions& list,
                           const std::function<void(const FeedRecord&)>& visit) {
  if (!list.due && !list.failing) {
    // The store's order is the listed one: each record is read whole, in batches, and passed on.
    StatusOr<std::vector<uint64_t>> ids = store.FeedIds();
    if (!ids.ok()) return ids.status();
    const size_t count = list.limit == 0 ? ids->size() : std::min(list.limit, ids->size());
    return store.ReadFeeds(ids->data(), count, [&visit](FeedRecord&& feed) { visit(feed); });
  }
  // The fields that choose and order the feeds, read of every feed and kept as small keys; with
  // a limit, cut back to the first `limit` whenever they reach `trim_at`.
  const size_t trim_at = list.limit == 0 ? std::numeric_limits<size_t>::max()
                                         : std::max<size_t>(2 * list.limit, 4096);
  std::vector<ListedKey> chosen;
  Status read = store.ForEachFeed(
      [&](FeedRecord&& feed) {
        if (!IsListed(list, feed)) return;
        chosen.push_back(KeyOf(feed));
        if (chosen.size() >= trim_at) OrderAndCut(list, chosen);
      },
      {"status", "next_due_ms", "consecutive_failures"});
  if (!read.ok()) return read;
  OrderAndCut(list, chosen);
  std::vector<uint64_t> chosen_ids;
  chosen_ids.reserve(chosen.size());
  for (const ListedKey& key : chosen) chosen_ids.push_back(key.id);
  chosen.clear();
  chosen.shrink_to_fit();
  // The chosen records whole, read a moment after their keys: a feed whose state changed in
  // between shows its new state, and one no longer listed (say, disabled) is left out.
  if (list.limit > 0) {
    // Few: held, and placed again by what they hold now.
    std::vector<FeedRecord> feeds;
    read = store.ReadFeeds(chosen_ids.data(), chosen_ids.size(),
                           [&feeds](FeedRecord&& feed) { feeds.push_back(std::move(feed)); });
    if (!read.ok()) return read;
    SelectListedFeeds(list, feeds);
    for (const FeedRecord& feed : feeds) visit(feed);
    return Status::Ok();
  }
  // All of them: passed on as read, in the order their keys gave.
  return store.ReadFeeds(chosen_ids.data(), chosen_ids.size(), [&](FeedRecord&& feed) {
    if (IsListed(list, feed)) visit(feed);
  });
}

int FeedsListCommand(const StoreOptions& options, const FeedsListOptions& list, std::ostream& out,
                     std::ostream& err) {
  std::unique_ptr<StoreSession> session = OpenOrReport(options, err);
  if (session == nullptr) return kExitFailure;
  Status read;
  if (list.json) {
    read = ForEachSelectedFeed(session->store(), list,
                               [&out](const FeedRecord& feed) { WriteJsonLine(feed, out); });
  } else {
    FeedTable table(out, list.due, SystemClock::Instance().NowMs(), kFeedTableSizingRows);
    read = ForEachSelectedFeed(session->store(), list,
                               [&table](const FeedRecord& feed) { table.Add(feed); });
    if (read.ok()) table.Finish();
  }
  if (!read.ok()) {
    err << "feedcrawl: error: loading feeds: " << read.message() << "\n";
    return kExitFailure;
  }
  return kExitOk;
}

namespace {

// Applies `change` to every URL in turn: an unknown URL is reported and the others still go on;
// any other store error stops at once.
int ChangeEachFeed(const StoreOptions& options, const std::vector<std::string>& urls,
                   const char* done, const char* doing,
                   const std::function<Status(Store&, const std::string&)>& change,
                   std::ostream& out, std::ostream& err) {
  std::unique_ptr<StoreSession> session = OpenOrReport(options, err);
  if (session == nullptr) return kExitFailure;
  int exit_code = kExitOk;
  for (const std::string& url : urls) {
    Status status = change(session->store(), url);
    if (status.ok()) {
      out << done << " " << url << "\n";
    } else if (status.IsNotFound()) {
      err << "feedcrawl: error: no such feed: " << url << "\n";
      exit_code = kExitFailure;
    } else {
      err << "feedcrawl: error: " << doing << " " << url << ": " << status.message() << "\n";
      return kExitFailure;
    }
  }
  return exit_code;
}

}  // namespace

int FeedsRemoveCommand(const StoreOptions& options, const std::vector<std::string>& urls,
                       std::ostream& out, std::ostream& err) {
  return ChangeEachFeed(
      options, urls, "Removed", "removing",
      [](Store& store, const std::string& url) { return store.RemoveFeed(url); }, out, err);
}

int FeedsResumeCommand(const StoreOptions& options, const std::vector<std::string>& urls,
                       std::ostream& out, std::ostream& err) {
  const int64_t now_ms = SystemClock::Instance().NowMs();
  return ChangeEachFeed(
      options, urls, "Resumed", "resuming",
      [now_ms](Store& store, const std::string& url) {
        return store.SetFeedStatus(url, "active", now_ms);
      },
      out, err);
}

}  // namespace feedcrawl::cli
