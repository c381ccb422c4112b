#include "cli/feeds.h"

#include <algorithm>
#include <functional>

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

namespace {

// Rows of cells as aligned columns, two spaces apart: the `numeric` columns to the right, the
// others to the left, the last column unpadded.
std::string FormatTable(const std::vector<std::vector<std::string>>& rows,
                        const std::vector<size_t>& numeric) {
  std::vector<size_t> widths(rows.front().size(), 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string table;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      bool last = i + 1 == row.size();
      bool right = std::find(numeric.begin(), numeric.end(), i) != numeric.end();
      std::string padding(widths[i] - row[i].size(), ' ');
      if (right) {
        line += padding + row[i];
      } else {
        line += row[i];
        if (!last) line += padding;
      }
      if (!last) line += "  ";
    }
    table += line + "\n";
  }
  return table;
}

}  // namespace

std::string FormatFeedTable(const std::vector<FeedRecord>& feeds) {
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"URL", "STATUS", "OUTCOME", "HTTP", "ITEMS", "LAST ERROR"});
  for (const FeedRecord& feed : feeds) {
    rows.push_back({feed.url, feed.status, OrDash(feed.last_outcome),
                    feed.last_status == 0 ? "-" : std::to_string(feed.last_status),
                    FormatCount(feed.items_total),
                    OrDash(OneLine(feed.last_error, kMaxErrorColumn))});
  }
  return FormatTable(rows, {3, 4});
}

std::string FormatDueIn(int64_t due_ms, int64_t now_ms) {
  int64_t ahead_ms = due_ms - now_ms;
  if (ahead_ms >= 500) return "in " + FormatDuration(ahead_ms);
  if (ahead_ms <= -500) return FormatDuration(-ahead_ms) + " ago";
  return "now";
}

std::string FormatDueTable(const std::vector<FeedRecord>& feeds, int64_t now_ms) {
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"URL", "STATUS", "OUTCOME", "DUE", "NEXT DUE"});
  for (const FeedRecord& feed : feeds) {
    // A record without a due time (0) is due at once.
    bool timed = feed.next_due_ms > 0;
    rows.push_back({feed.url, feed.status, OrDash(feed.last_outcome),
                    timed ? FormatDueIn(feed.next_due_ms, now_ms) : "now",
                    timed ? FormatRfc3339(feed.next_due_ms) : "-"});
  }
  return FormatTable(rows, {3});
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

void SelectListedFeeds(const FeedsListOptions& list, std::vector<FeedRecord>& feeds) {
  if (list.failing) {
    feeds.erase(std::remove_if(feeds.begin(), feeds.end(),
                               [](const FeedRecord& feed) { return !IsFailing(feed); }),
                feeds.end());
    std::stable_sort(feeds.begin(), feeds.end(), [](const FeedRecord& a, const FeedRecord& b) {
      return a.consecutive_failures > b.consecutive_failures;
    });
  }
  if (list.due) {
    feeds.erase(std::remove_if(feeds.begin(), feeds.end(),
                               [](const FeedRecord& feed) { return !IsScheduled(feed); }),
                feeds.end());
    auto sooner = [](const FeedRecord& a, const FeedRecord& b) {
      return a.next_due_ms != b.next_due_ms ? a.next_due_ms < b.next_due_ms : a.id < b.id;
    };
    if (list.limit > 0 && list.limit < feeds.size()) {
      std::partial_sort(feeds.begin(), feeds.begin() + static_cast<std::ptrdiff_t>(list.limit),
                        feeds.end(), sooner);
    } else {
      std::sort(feeds.begin(), feeds.end(), sooner);
    }
  }
  if (list.limit > 0 && list.limit < feeds.size()) {
    feeds.erase(feeds.begin() + static_cast<std::ptrdiff_t>(list.limit), feeds.end());
  }
}

namespace {

// One feed as a line of JSON Lines.
void WriteJsonLine(const FeedRecord& feed, std::ostream& out) {
  out << FeedRecordToJson(feed).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
      << "\n";
}

// Every feed in the store's order (the first `limit` of them; 0: all), whole.
Status ForEachListedFeed(Store& store, size_t limit,
                         const std::function<void(FeedRecord&&)>& visit) {
  StatusOr<std::vector<uint64_t>> ids = store.FeedIds();
  if (!ids.ok()) return ids.status();
  size_t count = limit == 0 ? ids->size() : std::min(limit, ids->size());
  return store.ReadFeeds(ids->data(), count, visit);
}

}  // namespace

StatusOr<std::vector<FeedRecord>> LoadListedFeeds(Store& store, const FeedsListOptions& list) {
  if (list.limit == 0) {
    StatusOr<std::vector<FeedRecord>> feeds = store.LoadFeeds();
    if (feeds.ok()) SelectListedFeeds(list, *feeds);
    return feeds;
  }
  std::vector<FeedRecord> feeds;
  if (!list.due && !list.failing) {
    Status read = ForEachListedFeed(
        store, list.limit, [&feeds](FeedRecord&& feed) { feeds.push_back(std::move(feed)); });
    if (!read.ok()) return read;
    return feeds;
  }
  // The candidates so far, cut back to the first `limit` whenever they reach `trim_at`: the
  // store visits feeds by id, so the order of equals stays the whole list's.
  const size_t trim_at = std::max<size_t>(2 * list.limit, 4096);
  std::vector<FeedRecord> chosen;
  Status read = store.ForEachFeed(
      [&](FeedRecord&& feed) {
        chosen.push_back(std::move(feed));
        if (chosen.size() >= trim_at) SelectListedFeeds(list, chosen);
      },
      {"status", "next_due_ms", "consecutive_failures"});
  if (!read.ok()) return read;
  SelectListedFeeds(list, chosen);
  std::vector<uint64_t> ids;
  for (const FeedRecord& feed : chosen) ids.push_back(feed.id);
  read = store.ReadFeeds(ids.data(), ids.size(),
                         [&](FeedRecord&& feed) { feeds.push_back(std::move(feed)); });
  if (!read.ok()) return read;
  // Whole records, read a moment later: a feed changed in between is placed by its new state.
  SelectListedFeeds(list, feeds);
  return feeds;
}

int FeedsListCommand(const StoreOptions& options, const FeedsListOptions& list, std::ostream& out,
                     std::ostream& err) {
  std::unique_ptr<StoreSession> session = OpenOrReport(options, err);
  if (session == nullptr) return kExitFailure;
  if (list.json && !list.due && !list.failing) {
    // In the store's order, each record printed as it is read: memory stays bounded however
    // many feeds there are.
    Status read = ForEachListedFeed(session->store(), list.limit,
                                    [&out](FeedRecord&& feed) { WriteJsonLine(feed, out); });
    if (!read.ok()) {
      err << "feedcrawl: error: loading feeds: " << read.message() << "\n";
      return kExitFailure;
    }
    return kExitOk;
  }
  StatusOr<std::vector<FeedRecord>> feeds = LoadListedFeeds(session->store(), list);
  if (!feeds.ok()) {
    err << "feedcrawl: error: loading feeds: " << feeds.status().message() << "\n";
    return kExitFailure;
  }
  if (list.json) {
    for (const FeedRecord& feed : *feeds) WriteJsonLine(feed, out);
  } else if (list.due) {
    out << FormatDueTable(*feeds, SystemClock::Instance().NowMs());
  } else {
    out << FormatFeedTable(*feeds);
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
