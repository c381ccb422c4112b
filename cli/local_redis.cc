#include "cli/local_redis.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "cli/file_util.h"
#include "common/redis.h"

namespace feedcrawl::cli {
namespace {

constexpr char kSocketName[] = "redis.sock";

// True once the server answers PING with PONG (it answers LOADING while reading its file).
bool Answers(const std::string& url) {
  StatusOr<std::unique_ptr<RedisClient>> client = RedisClient::Connect(url, 1000);
  if (!client.ok()) return false;
  StatusOr<RedisReply> reply = (*client)->Command({"PING"});
  return reply.ok() && !reply->IsError() && reply->str == "PONG";
}

Status Failed(const std::string& what, const std::string& log_path) {
  std::string message = what + " (log: " + log_path + ")";
  std::string tail = TailOfFile(log_path, 5);
  if (!tail.empty()) message += "\n" + tail;
  return Status::Unavailable(message);
}

}  // namespace

const std::vector<std::string>& CrawlRedisSettings() {
  static const std::vector<std::string> settings = {"--appendonly", "yes",
                                                    "--auto-aof-rewrite-min-size", "1gb",
                                                    "--zset-max-listpack-value", "256",
                                                    "--rdbcompression", "no"};
  return settings;
}

StatusOr<std::unique_ptr<LocalRedis>> LocalRedis::Start(const DataDir& dir, RedisPages pages,
                                                        int64_t timeout_ms) {
  if (FindExecutable("redis-server").empty()) {
    return Status::NotFound(
        "redis-server not found in PATH: install it (Debian/Ubuntu: apt-get install "
        "redis-server) or pass --redis URL");
  }
  Status status = dir.Prepare();
  if (!status.ok()) return status;

  std::unique_ptr<LocalRedis> redis(new LocalRedis());
  StatusOr<std::unique_ptr<SocketDir>> socket_dir = SocketDir::Choose(dir.RunDir(), kSocketName);
  if (!socket_dir.ok()) return socket_dir.status();
  redis->socket_dir_ = std::move(*socket_dir);
  std::string socket_path = redis->socket_dir_->path() + "/" + kSocketName;
  // A socket file left by a killed server would make bind fail; we hold the lock, so it is stale.
  ::unlink(socket_path.c_str());

  std::string log_path = dir.LogsDir() + "/redis.log";
  SpawnOptions options;
  options.argv = {"redis-server", "--port", "0", "--unixsocket", socket_path,
                  "--unixsocketperm", "700", "--dir", dir.RedisDir(), "--daemonize", "no",
                  "--save", ""};
  const std::vector<std::string>& settings = CrawlRedisSettings();
  options.argv.insert(options.argv.end(), settings.begin(), settings.end());
  // By default Redis keeps its own page settings: 4 KB pages (it turns transparent huge pages
  // off for itself). On 2 MB pages the buffer it formats the append-only file in took a fresh
  // huge page, zeroed whole, for most of what it wrote: where faults are cheap, a first crawl
  // cost the server half as much CPU again (docs/PERFORMANCE.md, "Redis back on 4 KB pages");
  // where each fault is dear, 2 MB pages cost it a third less ("Redis on 2 MB pages as a
  // choice").
  if (pages == RedisPages::kHuge) {
    options.argv.insert(options.argv.end(), {"--disable-thp", "no"});
    const char* inherited = std::getenv("MALLOC_CONF");
    const std::string conf = inherited != nullptr && *inherited != '\0'
                                 ? std::string(inherited) + ",thp:always"
                                 : std::string("thp:always");
    options.env.push_back("MALLOC_CONF=" + conf);
  }
  options.log_path = log_path;
  StatusOr<std::unique_ptr<ChildProcess>> process = ChildProcess::Spawn(options);
  if (!process.ok()) return process.status();
  redis->process_ = std::move(*process);
  redis->url_ = "unix://" + socket_path;

  int64_t deadline = MonotonicMs() + timeout_ms;
  while (!Answers(redis->url_)) {
    if (redis->process_->Poll()) {
      return Failed("redis-server " + redis->process_->DescribeExit() + " while starting",
                    log_path);
    }
    if (MonotonicMs() >= deadline) {
      redis->Stop(5000);
      return Failed("redis-server did not answer within " + std::to_string(timeout_ms / 1000) +
                        " s",
                    log_path);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }

  redis->url_file_ = dir.RedisUrlFile();
  status = WriteFileAtomically(redis->url_file_, redis->url_ + "\n");
  if (!status.ok()) return status;
  return redis;
}

LocalRedis::~LocalRedis() { Stop(); }

bool TransparentHugePagesAvailable() {
  StatusOr<std::string> setting =
      ReadFileToString("/sys/kernel/mm/transparent_hugepage/enabled");
  return !setting.ok() || setting->find("[never]") == std::string::npos;
}

Status LocalRedis::Connect() {
  if (client_ != nullptr) return Status::Ok();
  StatusOr<std::unique_ptr<RedisClient>> client = RedisClient::Connect(url_);
  if (!client.ok()) return client.status();
  client_ = std::move(*client);
  return Status::Ok();
}

Status LocalRedis::HoldAofRewrites(bool hold) {
  if (hold == aof_rewrites_held()) return Status::Ok();
  if (Status connected = Connect(); !connected.ok()) return connected;
  auto config = [this](std::vector<std::string> argv) -> StatusOr<RedisReply> {
    StatusOr<RedisReply> reply = client_->Command(argv);
    if (reply.ok() && reply->IsError()) {
      return Status::Internal(argv[0] + " " + argv[1] + ": " + reply->str);
    }
    return reply;
  };
  constexpr char kParameter[] = "auto-aof-rewrite-percentage";
  if (!hold) {
    StatusOr<RedisReply> set = config({"CONFIG", "SET", kParameter, *held_percentage_});
    if (!set.ok()) return set.status();
    held_percentage_.reset();
    return Status::Ok();
  }
  StatusOr<RedisReply> current = config({"CONFIG", "GET", kParameter});
  if (!current.ok()) return current.status();
  if (current->elements.size() != 2) {
    return Status::Internal(std::string("CONFIG GET ") + kParameter + ": unexpected reply");
  }
  StatusOr<RedisReply> set = config({"CONFIG", "SET", kParameter, "0"});
  if (!set.ok()) return set.status();
  held_percentage_ = current->elements[1].str;
  return Status::Ok();
}

bool LocalRedis::WaitForAofRewrite(const std::function<bool()>& give_up) {
  if (!Connect().ok()) return false;
  while (true) {
    StatusOr<RedisReply> info = client_->Command({"INFO", "persistence"});
    if (!info.ok() || info->IsError()) return false;
    const std::string& text = info->str;
    const bool busy = text.find("aof_rewrite_in_progress:1") != std::string::npos ||
                      text.find("aof_rewrite_scheduled:1") != std::string::npos;
    if (!busy) return true;
    if (give_up() || process_->Poll()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

void LocalRedis::Stop(int64_t timeout_ms) {
  if (!url_file_.empty()) {
    ::unlink(url_file_.c_str());
    url_file_.clear();
  }
  if (process_ != nullptr) process_->Stop(timeout_ms);
}

StatusOr<std::string> RunningRedisUrl(const DataDir& dir) {
  StatusOr<std::string> content = ReadFileToString(dir.RedisUrlFile());
  if (!content.ok()) return Status::NotFound("no redis-server is running for " + dir.root());
  std::string url = *content;
  while (!url.empty() && (url.back() == '\n' || url.back() == '\r')) url.pop_back();
  if (url.empty()) return Status::NotFound("no redis-server is running for " + dir.root());
  return url;
}

}  // namespace feedcrawl::cli
