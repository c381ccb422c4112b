#include "tests/server/feed_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>
#include <utility>

#include "tests/server/compression.h"
#include "tests/server/file_cache.h"
#include "tests/server/request_stats.h"

namespace feedcrawl::testserver {
namespace {

constexpr int kListenBacklog = 1024;
constexpr size_t kWriteChunk = 64 * 1024;
constexpr char kStatsPath[] = "/_stats";
constexpr char kStatsResetPath[] = "/_stats/reset";
constexpr char kBombPrefix[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel>"
    "<title>inflated</title>\n";

// httplib listens with a backlog of 5: a fetcher that opens hundreds of connections at once would
// see SYNs dropped and retried a second later, which shows up as bogus latency in benchmarks.
class WideBacklogServer : public httplib::Server {
 public:
  bool WidenBacklog() { return ::listen(svr_sock_, kListenBacklog) == 0; }
};

bool IsStatsPath(const std::string& path) { return path == kStatsPath || path == kStatsResetPath; }

std::string Trim(const std::string& text) {
  size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string::npos) return "";
  size_t end = text.find_last_not_of(" \t");
  return text.substr(begin, end - begin + 1);
}

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string part = Trim(text.substr(start, comma - start));
    if (!part.empty()) parts.push_back(part);
    start = comma + 1;
  }
  return parts;
}

bool AcceptsGzip(const httplib::Request& req) {
  for (const std::string& coding : SplitList(req.get_header_value("Accept-Encoding"))) {
    size_t semicolon = coding.find(';');
    std::string name = Trim(coding.substr(0, semicolon));
    if (name != "gzip" && name != "x-gzip") continue;
    if (semicolon == std::string::npos) return true;
    std::string params = coding.substr(semicolon + 1);
    size_t q = params.find("q=");
    if (q == std::string::npos) return true;
    return std::atof(params.c_str() + q + 2) > 0;
  }
  return false;
}

// The ETag of the gzip form: a different representation needs a different strong validator.
std::string GzipEtag(const std::string& etag) { return etag.substr(0, etag.size() - 1) + "-gz\""; }

bool NotModified(const httplib::Request& req, const FileEntry& entry) {
  if (req.has_header("If-None-Match")) {
    // RFC 7232 3.2: If-None-Match uses the weak comparison and overrides If-Modified-Since.
    for (std::string tag : SplitList(req.get_header_value("If-None-Match"))) {
      if (tag == "*") return true;
      if (tag.rfind("W/", 0) == 0) tag = tag.substr(2);
      if (tag == entry.etag() || tag == GzipEtag(entry.etag())) return true;
    }
    return false;
  }
  if (req.has_header("If-Modified-Since")) {
    time_t since = 0;
    return ParseHttpDate(req.get_header_value("If-Modified-Since"), &since) &&
           entry.mtime() <= since;
  }
  return false;
}

uint64_t Mix(uint64_t* state) {
  // splitmix64: enough randomness for garbage bodies, and the same bytes for the same path.
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::string GarbageBytes(const std::string& path, size_t size) {
  uint64_t state = std::hash<std::string>()(path);
  std::string bytes(size, '\0');
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>(Mix(&state) & 0xff);
  // Never let the body start like markup or JSON, so no parser can mistake it for a document.
  if (size > 0) bytes[0] = static_cast<char>(0xfe);
  return bytes;
}

// Up to 64 KiB of whole RSS items, the repeating part of an oversize body.
const std::string& OversizeBlock() {
  static const std::string block = [] {
    std::string text;
    for (int i = 0;; ++i) {
      std::string item = "<item><title>Filler " + std::to_string(i) +
                         "</title><link>http://example.invalid/filler</link><description>"
                         "An endless feed keeps sending items like this one.</description>"
                         "</item>\n";
      if (text.size() + item.size() > kWriteChunk) return text;
      text += item;
    }
  }();
  return block;
}

}  // namespace

std::string ContentTypeForPath(const std::string& path) {
  static const std::map<std::string, std::string> kTypes = {
      {".xml", "application/xml"},       {".rss", "application/rss+xml"},
      {".atom", "application/atom+xml"}, {".json", "application/feed+json"},
      {".rdf", "application/rdf+xml"},   {".html", "text/html"},
  };
  size_t slash = path.rfind('/');
  size_t dot = path.rfind('.');
  if (dot != std::string::npos && (slash == std::string::npos || dot > slash)) {
    auto it = kTypes.find(path.substr(dot));
    if (it != kTypes.end()) return it->second;
  }
  return "application/octet-stream";
}

class FeedServer::Impl {
 public:
  Impl(const ServerOptions& options, FaultTable faults)
      : options_(options),
        faults_(std::move(faults)),
        cache_(options.root, options.max_cached_bytes) {}

  StatusOr<int> Bind();
  Status Run();
  void Stop();

 private:
  void Handle(const httplib::Request& req, httplib::Response& res);
  void ServeStatus(const FaultSpec& spec, httplib::Response& res);
  void ServeFile(const httplib::Request& req, const FaultSpec& spec, httplib::Response& res);
  void ServeOversize(size_t total, const std::string& type, httplib::Response& res);
  void ServeGzipBomb(size_t total, const std::string& type, httplib::Response& res);
  // Sends `data` with a Content-Length; `keep` < size sends only that much and then closes.
  void SendBytes(std::shared_ptr<const std::string> data, const std::string& type,
                 httplib::Response& res, size_t keep);
  void SendDrip(std::shared_ptr<const std::string> data, const std::string& type, int64_t drip_ms,
                httplib::Response& res);
  std::shared_ptr<const std::string> BombOf(size_t total);
  // Sleeps up to `ms`; false when the server is stopping.
  bool SleepUnlessStopping(int64_t ms);
  void OnRequestDone(const httplib::Request& req, const httplib::Response& res);

  const ServerOptions options_;
  const FaultTable faults_;
  FileCache cache_;
  RequestStats stats_;
  WideBacklogServer http_;

  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> stop_called_{false};
  std::atomic<bool> run_started_{false};
  std::atomic<bool> run_returned_{false};

  std::mutex bombs_mutex_;
  std::map<size_t, std::shared_ptr<const std::string>> bombs_;  // guarded by bombs_mutex_
};

StatusOr<int> FeedServer::Impl::Bind() {
  const int threads = options_.threads;
  http_.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http_.set_tcp_nodelay(true);
  http_.set_keep_alive_timeout(options_.keep_alive_timeout_s);
  http_.set_keep_alive_max_count(static_cast<size_t>(options_.keep_alive_max_requests));
  http_.set_read_timeout(10);
  http_.set_write_timeout(10);
  http_.set_payload_max_length(1 << 20);
  http_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response&) {
    if (!IsStatsPath(req.path)) {
      stats_.Begin(&req, req.get_header_value("Host"));
      stats_.AddPeer(req.remote_addr);
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  http_.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    OnRequestDone(req, res);
  });
  http_.Get(".*", [this](const httplib::Request& req, httplib::Response& res) {
    Handle(req, res);
    // A body made at once is complete here; a provider's ends with its last byte (the logger).
    if (!res.content_provider_) stats_.Settle(&req);
  });

  int port = options_.port == 0
                 ? http_.bind_to_any_port(options_.bind)
                 : (http_.bind_to_port(options_.bind, options_.port) ? options_.port : -1);
  if (port <= 0) {
    return Status::Unavailable("cannot listen on " + options_.bind + ":" +
                               std::to_string(options_.port));
  }
  if (!http_.WidenBacklog()) return Status::Internal("cannot widen the listen backlog");
  return port;
}

Status FeedServer::Impl::Run() {
  run_started_ = true;
  if (stopping_) {
    run_returned_ = true;
    return Status::Ok();
  }
  bool ok = http_.listen_after_bind();
  run_returned_ = true;
  if (!ok && !stopping_) return Status::Unavailable("the listening socket failed");
  return Status::Ok();
}

void FeedServer::Impl::Stop() {
  if (stop_called_.exchange(true)) return;
  {
    std::lock_guard lock(stop_mutex_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (!run_started_) return;  // Run() will see stopping_ and return at once.
  // httplib ignores stop() until its accept loop runs, so wait for that moment.
  while (!http_.is_running() && !run_returned_) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!run_returned_) http_.stop();
}

bool FeedServer::Impl::SleepUnlessStopping(int64_t ms) {
  std::unique_lock lock(stop_mutex_);
  return !stop_cv_.wait_for(lock, std::chrono::milliseconds(ms),
                            [this] { return stopping_.load(); });
}

void FeedServer::Impl::OnRequestDone(const httplib::Request& req, const httplib::Response& res) {
  if (IsStatsPath(req.path)) return;
  // Provider bodies count their own bytes as they go; plain bodies are counted here.
  if (req.method != "HEAD" && !res.body.empty()) stats_.AddBytesSent(res.body.size());
  stats_.End(&req, req.path, res.status);
  if (options_.log_requests) {
    std::fprintf(stderr, "%s %s %d host=%s\n", req.method.c_str(), req.target.c_str(), res.status,
                 req.get_header_value("Host").c_str());
  }
}

void FeedServer::Impl::Handle(const httplib::Request& req, httplib::Response& res) {
  if (req.path == kStatsPath) {
    res.set_content(stats_.ToJson().dump(2) + "\n", "application/json");
    return;
  }
  if (req.path == kStatsResetPath) {
    stats_.Reset();
    res.set_content("{\"reset\": true}\n", "application/json");
    return;
  }

  FaultSpec spec = faults_.Find(req.path);
  Status s = ApplyQueryFaults(req.params, &spec);
  if (!s.ok()) {
    res.status = 400;
    res.set_content(s.message() + "\n", "text/plain");
    return;
  }
  if (spec.delay_ms > 0 && !SleepUnlessStopping(spec.delay_ms)) {
    res.status = 503;
    res.set_content("shutting down\n", "text/plain");
    return;
  }
  if (!spec.retry_after.empty()) res.set_header("Retry-After", spec.retry_after);
  if (!spec.redirect.empty()) {
    res.status = spec.redirect_status;
    res.set_header("Location", spec.redirect);
    res.set_content("redirecting to " + spec.redirect + "\n", "text/plain");
    return;
  }
  if (spec.status) {
    ServeStatus(spec, res);
    return;
  }

  const std::string type =
      spec.content_type.empty() ? ContentTypeForPath(req.path) : spec.content_type;
  if (spec.garbage_bytes) {
    res.status = 200;
    auto garbage = std::make_shared<const std::string>(GarbageBytes(req.path, *spec.garbage_bytes));
    if (spec.drip_ms > 0) {
      SendDrip(garbage, type, spec.drip_ms, res);
    } else {
      SendBytes(garbage, type, res, garbage->size());
    }
    return;
  }
  if (spec.oversize_bytes) {
    ServeOversize(*spec.oversize_bytes,
                  spec.content_type.empty() ? "application/rss+xml" : spec.content_type, res);
    return;
  }
  if (spec.gzip_bomb_bytes) {
    ServeGzipBomb(*spec.gzip_bomb_bytes,
                  spec.content_type.empty() ? "application/rss+xml" : spec.content_type, res);
    return;
  }
  ServeFile(req, spec, res);
}

void FeedServer::Impl::ServeStatus(const FaultSpec& spec, httplib::Response& res) {
  res.status = *spec.status;
  // These statuses must not carry a body (RFC 7230 3.3.3).
  if (res.status < 200 || res.status == 204 || res.status == 304) return;
  res.set_content("injected status " + std::to_string(res.status) + "\n", "text/plain");
}

void FeedServer::Impl::ServeFile(const httplib::Request& req, const FaultSpec& spec,
                                 httplib::Response& res) {
  StatusOr<std::shared_ptr<const FileEntry>> file = cache_.Get(req.path);
  if (!file.ok()) {
    res.status = file.status().IsNotFound() ? 404 : 403;
    res.set_content(file.status().message() + "\n", "text/plain");
    return;
  }
  const std::shared_ptr<const FileEntry>& entry = *file;
  const std::string type =
      spec.content_type.empty() ? ContentTypeForPath(req.path) : spec.content_type;
  // Body faults need the identity encoding: they are about the bytes the client sees.
  const bool gzip = AcceptsGzip(req) && !spec.truncate && spec.drip_ms == 0 &&
                    !entry->content().empty() && entry->Gzipped() != nullptr;
  res.set_header("Vary", "Accept-Encoding");
  if (!spec.no_validators) {
    res.set_header("ETag", gzip ? GzipEtag(entry->etag()) : entry->etag());
    res.set_header("Last-Modified", HttpDate(entry->mtime()));
    if (NotModified(req, *entry)) {
      res.status = 304;
      return;
    }
  }
  res.status = 200;
  // Share the cached bytes with the provider without copying them.
  std::shared_ptr<const std::string> content(entry, &entry->content());
  if (spec.drip_ms > 0) {
    SendDrip(content, type, spec.drip_ms, res);
  } else if (gzip) {
    res.set_header("Content-Encoding", "gzip");
    SendBytes(entry->Gzipped(), type, res, entry->Gzipped()->size());
  } else {
    SendBytes(content, type, res, std::min(content->size(), spec.truncate.value_or(SIZE_MAX)));
  }
}

void FeedServer::Impl::SendBytes(std::shared_ptr<const std::string> data, const std::string& type,
                                 httplib::Response& res, size_t keep) {
  if (data->empty()) {
    // httplib treats a zero-length provider as "length unknown"; an empty body says it plainly.
    res.set_content("", type);
    return;
  }
  // A provider with a length is never re-encoded by httplib, unlike a plain body whose type it
  // considers compressible; the server decides about gzip itself.
  res.set_content_provider(
      data->size(), type,
      [this, data, keep](size_t offset, size_t length, httplib::DataSink& sink) {
        if (offset >= keep) return false;  // cut short: httplib closes the connection
        size_t n = std::min({length, keep - offset, kWriteChunk});
        if (!sink.write(data->data() + offset, n)) return false;
        stats_.AddBytesSent(n);
        return true;
      });
}

void FeedServer::Impl::SendDrip(std::shared_ptr<const std::string> data, const std::string& type,
                                int64_t drip_ms, httplib::Response& res) {
  if (data->empty()) {
    res.set_content("", type);
    return;
  }
  res.set_content_provider(data->size(), type,
                           [this, data, drip_ms](size_t offset, size_t, httplib::DataSink& sink) {
                             if (offset > 0 && !SleepUnlessStopping(drip_ms)) return false;
                             if (!sink.write(data->data() + offset, 1)) return false;
                             stats_.AddBytesSent(1);
                             return true;
                           });
}

void FeedServer::Impl::ServeOversize(size_t total, const std::string& type,
                                     httplib::Response& res) {
  res.status = 200;
  static const std::string kHead =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel>"
      "<title>Endless</title><link>http://example.invalid/</link>"
      "<description>A feed that does not end</description>\n";
  res.set_chunked_content_provider(type, [this, total](size_t offset, httplib::DataSink& sink) {
    if (offset >= total) {
      sink.done();
      return true;
    }
    std::string_view piece = offset == 0 ? std::string_view(kHead) : OversizeBlock();
    piece = piece.substr(0, std::min(piece.size(), total - offset));
    if (!sink.write(piece.data(), piece.size())) return false;
    stats_.AddBytesSent(piece.size());
    return true;
  });
}

std::shared_ptr<const std::string> FeedServer::Impl::BombOf(size_t total) {
  // Compressing gigabytes takes seconds, so each size is built once; a few hold a few MB.
  std::lock_guard lock(bombs_mutex_);
  auto it = bombs_.find(total);
  if (it != bombs_.end()) return it->second;
  StatusOr<std::string> bomb = GzipBomb(kBombPrefix, total);
  if (!bomb.ok()) return nullptr;
  auto bytes = std::make_shared<const std::string>(std::move(bomb).value());
  bombs_[total] = bytes;
  return bytes;
}

void FeedServer::Impl::ServeGzipBomb(size_t total, const std::string& type,
                                     httplib::Response& res) {
  std::shared_ptr<const std::string> bomb = BombOf(total);
  if (bomb == nullptr) {
    res.status = 500;
    res.set_content("cannot build the gzip body\n", "text/plain");
    return;
  }
  res.status = 200;
  // Sent whatever the client asked for: a hostile server does not negotiate.
  res.set_header("Content-Encoding", "gzip");
  SendBytes(bomb, type, res, bomb->size());
}

StatusOr<std::unique_ptr<FeedServer>> FeedServer::Create(const ServerOptions& options) {
  if (options.root.empty()) return Status::InvalidArgument("--root is required");
  if (options.threads < 1) return Status::InvalidArgument("--threads must be at least 1");
  FaultTable faults;
  if (!options.faults_file.empty()) {
    StatusOr<FaultTable> loaded = FaultTable::Load(options.faults_file);
    if (!loaded.ok()) return loaded.status();
    faults = std::move(loaded).value();
  }
  return std::unique_ptr<FeedServer>(
      new FeedServer(std::make_unique<Impl>(options, std::move(faults))));
}

FeedServer::FeedServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FeedServer::~FeedServer() = default;

StatusOr<int> FeedServer::Bind() { return impl_->Bind(); }
Status FeedServer::Run() { return impl_->Run(); }
void FeedServer::Stop() { impl_->Stop(); }

}  // namespace feedcrawl::testserver
