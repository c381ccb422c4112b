#include "cli/run.h"

#include <malloc.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include "cli/child_process.h"
#include "cli/data_dir.h"
#include "cli/exit_codes.h"
#include "cli/feed_list.h"
#include "cli/feeds.h"
#include "cli/format.h"
#include "cli/local_cluster.h"
#include "cli/local_redis.h"
#include "cli/progress.h"
#include "cli/run_stats.h"
#include "cli/signals.h"
#include "cli/summary.h"
#include "common/clock.h"
#include "common/store.h"

namespace feedcrawl::cli {
namespace {

constexpr int kPollIntervalMs = 250;

enum class Ending { kFinished, kInterrupted, kFailed };

ClusterOptions MakeClusterOptions(const RunOptions& options, const std::string& redis_url) {
  ClusterOptions cluster;
  cluster.bin_dir = options.bin_dir.empty() ? SelfExecutableDir() : options.bin_dir;
  cluster.redis_url = redis_url;
  cluster.prefix = options.store.prefix;
  cluster.once = options.once;
  cluster.fetchers = options.fetchers;
  cluster.processors = options.processors > 0 ? options.processors : DefaultProcessorCount();
  cluster.concurrency = options.concurrency;
  cluster.host_concurrency = options.host_concurrency;
  cluster.host_interval_ms = options.host_interval_ms;
  cluster.fetch_timeout_ms = options.fetch_timeout_ms;
  cluster.max_body_bytes = options.max_body_bytes;
  cluster.connect_timeout_ms = options.connect_timeout_ms;
  cluster.max_redirects = options.max_redirects;
  cluster.user_agent = options.user_agent;
  cluster.proxy = options.proxy;
  cluster.stream_maxlen = options.stream_maxlen;
  cluster.item_compression = options.item_compression;
  cluster.allow_private_networks = options.allow_private_networks;
  cluster.schedule = options.schedule;
  cluster.log_level = options.log_level;
  cluster.log_format = options.log_format;
  cluster.cpu_scheduling = options.cpu_scheduling;
  return cluster;
}

// One `feedcrawl run`, from the lock to the summary. Members are declared in the order they
// must be torn down in reverse: the lock outlives redis, redis outlives the cluster.
class Run {
 public:
  Run(const RunOptions& options, std::ostream& out, std::ostream& err)
      : options_(options),
        out_(out),
        err_(err),
        dir_(options.store.data_dir),
        progress_(stderr, ::isatty(STDERR_FILENO) == 1, !options.no_progress) {}

  int Execute();

 private:
  int Fail(int exit_code, const std::string& message);
  int InterruptedExitCode() const { return 128 + std::max(1, LastStopSignal()); }
  bool Interrupted() const { return StopSignalCount() > 0; }
  Status ImportFeeds(const std::vector<std::string>& urls);
  Ending Supervise(Status& failure);
  // The coordinator's numbers, if written by this run (older ones are a previous run's), as
  // shown to the user (LiveView). Also records them as last_stats_.
  std::optional<RunStats> Sample();
  // The bundled server rewrites its append-only file only once no active feed waits for its
  // first fetch (LocalRedis::HoldAofRewrites); a server given with --redis is left as it is.
  void HoldRewritesWhileFeedsAreNew(const RunStats& stats);
  // Before the own server stops: waits for a rewrite of its append-only file under way.
  void FinishAofRewrite();
  int Finish(Ending ending, const Status& failure);

  const RunOptions& options_;
  std::ostream& out_;
  std::ostream& err_;
  DataDir dir_;
  ProgressDisplay progress_;
  std::unique_ptr<DataDirLock> lock_;
  std::unique_ptr<LocalRedis> redis_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<LocalCluster> cluster_;
  int64_t launch_ms_ = 0;
  bool hold_failure_shown_ = false;
  std::optional<RunStats> baseline_;
  std::optional<RunStats> last_stats_;
};

int Run::Fail(int exit_code, const std::string& message) {
  progress_.Finish();
  err_ << "feedcrawl: error: " << message << "\n";
  return exit_code;
}

int Run::Execute() {
  Status status = dir_.Prepare();
  if (!status.ok()) return Fail(kExitFailure, status.message());

  // The list is read first so a typo fails before anything starts.
  std::vector<std::string> urls;
  if (!options_.feeds_file.empty()) {
    StatusOr<std::vector<std::string>> list = ReadFeedList(options_.feeds_file);
    if (!list.ok()) return Fail(kExitUsage, list.status().message());
    urls = std::move(*list);
  }

  StatusOr<std::unique_ptr<DataDirLock>> lock = DataDirLock::Acquire(dir_);
  if (!lock.ok()) return Fail(kExitFailure, lock.status().message());
  lock_ = std::move(*lock);
  InstallStopSignalHandlers();
  InstallChildExitWakeup();

  std::string redis_url = options_.store.redis_url;
  if (redis_url.empty()) {
    if (options_.redis_huge_pages && !TransparentHugePagesAvailable()) {
      progress_.Message(
          "feedcrawl: warning: --redis-huge-pages: this machine has transparent huge pages off "
          "(/sys/kernel/mm/transparent_hugepage/enabled), so redis-server keeps 4 KB pages");
    }
    StatusOr<std::unique_ptr<LocalRedis>> redis = LocalRedis::Start(
        dir_, options_.redis_huge_pages ? RedisPages::kHuge : RedisPages::kDefault);
    if (!redis.ok()) return Fail(kExitFailure, redis.status().message());
    redis_ = std::move(*redis);
    redis_url = redis_->url();
  }
  StatusOr<std::unique_ptr<Store>> store = Store::Open(redis_url, options_.store.prefix);
  if (!store.ok()) {
    return Fail(kExitFailure,
                "cannot connect to Redis at " + redis_url + ": " + store.status().message());
  }
  store_ = std::move(*store);

  if (!urls.empty()) {
    status = ImportFeeds(urls);
    if (!status.ok()) return Fail(kExitFailure, "importing feeds: " + status.message());
    // The list is in Redis now; a list of a million URLs held ~200 MB here for the whole run.
    std::vector<std::string>().swap(urls);
    malloc_trim(0);
  }
  if (Interrupted()) return InterruptedExitCode();

  launch_ms_ = SystemClock::Instance().NowMs();
  StatusOr<std::unique_ptr<LocalCluster>> cluster =
      LocalCluster::Start(MakeClusterOptions(options_, redis_url), dir_,
                          [this](const std::string& message) { progress_.Message(message); });
  if (!cluster.ok()) return Fail(kExitFailure, cluster.status().message());
  cluster_ = std::move(*cluster);

  Status failure;
  Ending ending = Supervise(failure);
  return Finish(ending, failure);
}

Status Run::ImportFeeds(const std::vector<std::string>& urls) {
  StatusOr<AddFeedsResult> result =
      AddFeedsInBatches(*store_, urls, SystemClock::Instance().NowMs());
  if (!result.ok()) return result.status();
  progress_.Message("Imported " + FormatCount(urls.size()) + " feeds from " +
                    options_.feeds_file + " (" + FormatCount(result->added) + " new)");
  return Status::Ok();
}

Ending Run::Supervise(Status& failure) {
  while (true) {
    if (Interrupted()) return Ending::kInterrupted;
    StatusOr<LocalCluster::State> state = cluster_->Supervise();
    if (!state.ok()) {
      failure = state.status();
      return Ending::kFailed;
    }
    if (*state == LocalCluster::State::kFinished) return Ending::kFinished;
    if (redis_ != nullptr && redis_->process().Poll()) {
      failure = Status::Unavailable("redis-server " + redis_->process().DescribeExit() +
                                    " (log: " + dir_.LogsDir() + "/redis.log)");
      return Ending::kFailed;
    }
    std::optional<RunStats> stats = Sample();
    if (stats) {
      progress_.Update(*stats, MonotonicMs());
      HoldRewritesWhileFeedsAreNew(*stats);
    }
    // A stop signal or a child's exit cuts the wait short (EINTR).
    ::poll(nullptr, 0, kPollIntervalMs);
  }
}

std::optional<RunStats> Run::Sample() {
  StatusOr<std::map<std::string, std::string>> fields = store_->ReadStats();
  if (!fields.ok() || fields->empty()) return std::nullopt;
  RunStats stats = RunStatsFromMap(*fields);
  if (stats.updated_ms < launch_ms_) return std::nullopt;
  if (!baseline_) baseline_ = stats;
  last_stats_ = LiveView(stats, *baseline_, stats.updated_ms - launch_ms_);
  return last_stats_;
}

void Run::FinishAofRewrite() {
  // A rewrite cut short by the stop is lost, and the next start begins it again: runs shorter
  // than a rewrite would never end one (a --once run after a first crawl whose rewrites were
  // held starts one as soon as the server has loaded the file). A stop signal during the wait
  // gives it up: the rewrite is then lost, not the data.
  if (redis_->WaitForAofRewrite([] { return true; })) return;  // none under way
  progress_.Message("Waiting for redis-server to finish rewriting its append-only file (" +
                    dir_.RedisDir() + "; interrupt to stop without it)");
  const int signals = StopSignalCount();
  redis_->WaitForAofRewrite([signals] { return StopSignalCount() > signals; });
}

void Run::HoldRewritesWhileFeedsAreNew(const RunStats& stats) {
  if (redis_ == nullptr) return;
  // In --once mode the server stops with the pass, so a hold lasts to the end: a rewrite let go
  // at the pass's last moment would only be cut short by the stop. The next start has Redis's
  // own rule again, and rewrites the file then.
  const bool hold = stats.feeds_never_fetched > 0 || (options_.once && redis_->aof_rewrites_held());
  Status held = redis_->HoldAofRewrites(hold);
  if (held.ok() || hold_failure_shown_) return;
  // The server keeps whichever rule it has; the crawl does not depend on it.
  hold_failure_shown_ = true;
  progress_.Message("feedcrawl: warning: redis-server's append-only file rewrites: " +
                    held.message());
}

int Run::Finish(Ending ending, const Status& failure) {
  cluster_->Stop([] { return StopSignalCount() >= 2; });
  // The coordinator writes its last numbers as it leaves; read them before Redis stops.
  bool redis_alive = redis_ == nullptr || !redis_->process().Poll();
  if (redis_alive) Sample();
  if (redis_ != nullptr && redis_alive) FinishAofRewrite();
  progress_.Finish();
  store_.reset();
  if (redis_ != nullptr) redis_->Stop();

  if (last_stats_) {
    bool completed = ending == Ending::kFinished || last_stats_->run_complete;
    std::vector<RoleUsage> roles = cluster_->Usage();
    if (redis_ != nullptr) roles.push_back({"redis-server", 1, redis_->process().usage()});
    roles.push_back({"feedcrawl", 1, OwnUsage()});
    out_ << FormatSummary(*last_stats_, completed) << FormatProcessUsage(roles);
    out_.flush();
  }
  switch (ending) {
    case Ending::kFinished:
      if (!last_stats_) err_ << "feedcrawl: the crawl ended without reporting any numbers\n";
      return kExitOk;
    case Ending::kInterrupted:
      if (!last_stats_) err_ << "feedcrawl: stopped before any feed was crawled\n";
      return InterruptedExitCode();
    case Ending::kFailed:
      break;
  }
  return Fail(kExitFailure, failure.message());
}

}  // namespace

int DefaultProcessorCount() {
  unsigned cores = std::thread::hardware_concurrency();
  return cores > 3 ? static_cast<int>(cores) - 1 : 2;
}

int RunCommand(const RunOptions& options, std::ostream& out, std::ostream& err) {
  return Run(options, out, err).Execute();
}

}  // namespace feedcrawl::cli
