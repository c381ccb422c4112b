// feedcrawl-storefloor: the least work Redis can do to keep the items of a crawl. It reads the
// feeds' items (P items:<id>) from the Redis a crawl stored them in, `--batch` feeds at a time,
// and writes each batch to another, empty server with one plain HSET per feed (every item's key
// and JSON, no checks, no order set, no stream), `--depth` calls in flight on one connection.
// It prints one JSON line: the feeds, items and bytes written, the wall time of the writes and
// the destination server's CPU time over them (INFO cpu), reads left out. scripts/bench --floor
// runs it against a server configured like the crawl's, so that the figure is what storing the
// same bytes durably costs that server, whatever stores them.
// Exits 0 when every write was accepted and measured, 1 when a write was refused or the server's
// CPU time could not be read, 2 when it cannot run at all.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bench/redis_cpu.h"
#include "common/redis.h"

namespace feedcrawl {
namespace {

struct FeedItems {
  std::string key;                  // P items:<id>
  std::vector<std::string> fields;  // item key, item JSON, item key, item JSON, ...
};

// The items of feeds ids[start, end), in one pipelined read.
StatusOr<std::vector<FeedItems>> ReadItems(RedisClient& from, const std::string& prefix,
                                           const std::vector<RedisReply>& ids, size_t start,
                                           size_t end) {
  std::vector<std::vector<std::string>> commands;
  for (size_t i = start; i < end; ++i) {
    commands.push_back({"HGETALL", prefix + "items:" + ids[i].str});
  }
  StatusOr<std::vector<RedisReply>> replies = from.Pipeline(commands);
  if (!replies.ok()) return replies.status();
  std::vector<FeedItems> feeds;
  for (size_t i = 0; i < replies->size(); ++i) {
    RedisReply& reply = (*replies)[i];
    if (reply.type != RedisReply::Type::kArray) {
      return Status::Internal(commands[i][0] + " " + commands[i][1] + ": " + reply.str);
    }
    if (reply.elements.empty()) continue;  // a feed without items
    FeedItems feed;
    feed.key = std::move(commands[i][1]);
    for (RedisReply& element : reply.elements) feed.fields.push_back(std::move(element.str));
    feeds.push_back(std::move(feed));
  }
  return feeds;
}

struct Figures {
  size_t feeds = 0;
  size_t items = 0;
  size_t bytes = 0;
  double seconds = 0;       // of the writes only
  double server_cpu_s = 0;  // the destination's, over the writes only
};

// The destination's CPU seconds so far; Unavailable when INFO cpu cannot be read (an ACL
// without INFO, say): without it there is no figure to report.
StatusOr<double> ServerCpu(RedisClient& to) {
  const double seconds = ServerCpuSeconds(to);
  if (seconds < 0) return Status::Unavailable("cannot read the server's CPU time (INFO cpu)");
  return seconds;
}

// One HSET per feed, `depth` calls in flight, every reply awaited. Fails on the first refused
// write. Adds the wall time and the server's CPU time of the writes to `figures`.
Status WriteItems(RedisClient& to, const std::vector<FeedItems>& feeds, size_t depth,
                  Figures& figures) {
  StatusOr<double> cpu_before = ServerCpu(to);
  if (!cpu_before.ok()) return cpu_before.status();
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::string_view> argv;
  auto receive_one = [&to]() -> Status {
    StatusOr<RedisReply> reply = to.Receive();
    if (!reply.ok()) return reply.status();
    if (reply->IsError()) return Status::Internal("HSET refused: " + reply->str);
    return Status::Ok();
  };
  for (const FeedItems& feed : feeds) {
    argv.assign({"HSET", feed.key});
    for (const std::string& field : feed.fields) argv.push_back(field);
    if (Status s = to.Send(argv); !s.ok()) return s;
    if (to.pending_replies() >= depth) {
      if (Status s = receive_one(); !s.ok()) return s;
    }
  }
  while (to.pending_replies() > 0) {
    if (Status s = receive_one(); !s.ok()) return s;
  }
  figures.seconds +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  StatusOr<double> cpu_after = ServerCpu(to);
  if (!cpu_after.ok()) return cpu_after.status();
  figures.server_cpu_s += *cpu_after - *cpu_before;
  for (const FeedItems& feed : feeds) {
    ++figures.feeds;
    figures.items += feed.fields.size() / 2;
    for (const std::string& field : feed.fields) figures.bytes += field.size();
  }
  return Status::Ok();
}

int Run(int argc, char** argv) {
  std::string from_url;
  std::string to_url;
  std::string prefix = "fc:";
  size_t depth = 8;
  size_t batch = 1000;
  CLI::App app{"Writes the items a crawl stored to an empty Redis with one plain HSET per feed "
               "and prints what that cost the server."};
  app.add_option("--from", from_url, "Redis URL holding the crawl's items")->required();
  app.add_option("--to", to_url, "Redis URL of an empty server to write them to")->required();
  app.add_option("--prefix", prefix, "Prefix of every Redis key (read and written)");
  app.add_option("--depth", depth, "HSET calls in flight (the processor's store pipeline is 8)")
      ->check(CLI::Range(1, 1024));
  app.add_option("--batch", batch, "Feeds read, then written, at a time (bounds the memory held)")
      ->check(CLI::Range(1, 1000000));
  CLI11_PARSE(app, argc, argv);

  IgnoreSigpipeForGood();
  auto fail = [](const std::string& what, const Status& status) {
    std::fprintf(stderr, "feedcrawl-storefloor: %s: %s\n", what.c_str(),
                 status.ToString().c_str());
    return 2;
  };
  StatusOr<std::unique_ptr<RedisClient>> from = RedisClient::Connect(from_url);
  if (!from.ok()) return fail(from_url, from.status());
  StatusOr<std::unique_ptr<RedisClient>> to = RedisClient::Connect(to_url, 60'000);
  if (!to.ok()) return fail(to_url, to.status());

  StatusOr<RedisReply> size = (*to)->Command({"DBSIZE"});
  if (!size.ok()) return fail(to_url, size.status());
  if (size->integer != 0) {
    return fail(to_url, Status::InvalidArgument("not empty (" + std::to_string(size->integer) +
                                                " keys): the floor is of new items"));
  }
  StatusOr<RedisReply> ids = (*from)->Command({"ZRANGE", prefix + "feeds", "0", "-1"});
  if (!ids.ok()) return fail(from_url, ids.status());
  if (ids->type != RedisReply::Type::kArray) {
    return fail(from_url, Status::Internal("ZRANGE " + prefix + "feeds: " + ids->str));
  }
  // A batch of feeds at a time, so that memory stays bounded however many feeds the crawl had;
  // only the writes are timed.
  Figures figures;
  for (size_t start = 0; start < ids->elements.size(); start += batch) {
    const size_t end = std::min(ids->elements.size(), start + batch);
    StatusOr<std::vector<FeedItems>> feeds = ReadItems(**from, prefix, ids->elements, start, end);
    if (!feeds.ok()) return fail(from_url, feeds.status());
    if (Status s = WriteItems(**to, *feeds, depth, figures); !s.ok()) {
      std::fprintf(stderr, "feedcrawl-storefloor: %s\n", s.ToString().c_str());
      return 1;
    }
  }
  auto per = [&figures](size_t count) {
    return count == 0 ? 0 : figures.server_cpu_s * 1e6 / static_cast<double>(count);
  };
  std::printf(
      "{\"feeds\":%zu,\"items\":%zu,\"mb\":%.1f,\"depth\":%zu,\"seconds\":%.3f,"
      "\"server_cpu_s\":%.2f,\"server_us_per_feed\":%.1f,\"server_us_per_item\":%.2f}\n",
      figures.feeds, figures.items, static_cast<double>(figures.bytes) / 1e6, depth,
      figures.seconds, figures.server_cpu_s, per(figures.feeds), per(figures.items));
  return 0;
}

}  // namespace
}  // namespace feedcrawl

int main(int argc, char** argv) { return feedcrawl::Run(argc, argv); }
