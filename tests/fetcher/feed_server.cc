#include "tests/fetcher/feed_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <stdexcept>

namespace feedcrawl::test {

const char kFeedBody[] =
    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
    "<rss version=\"2.0\"><channel><title>Test feed</title>"
    "<item><guid>1</guid><title>First</title></item></channel></rss>\n";
const char kFeedEtag[] = "\"v1\"";
const char kFeedLastModified[] = "Wed, 01 May 2024 12:00:00 GMT";

namespace {

// Not a type httplib compresses by itself, so the tests control Content-Encoding.
constexpr char kOpaqueType[] = "application/octet-stream";

}  // namespace

FeedServer::FeedServer() {
  // Enough workers for every concurrent transfer the tests start, plus held requests.
  server_.new_task_queue = [] { return new httplib::ThreadPool(32); };
  server_.set_keep_alive_timeout(1);
  AddRoutes();
  port_ = server_.bind_to_any_port("127.0.0.1");
  if (port_ <= 0) throw std::runtime_error("test server cannot bind 127.0.0.1");
  // bind_to_any_port already listens, so requests queue until the accept loop runs.
  thread_ = std::thread([this] { server_.listen_after_bind(); });
  // stop() is a no-op until the accept loop runs, so a quick test could otherwise hang on exit.
  while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

FeedServer::~FeedServer() {
  stopping_ = true;
  server_.stop();
  thread_.join();
}

std::string FeedServer::Url(const std::string& path_and_query) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path_and_query;
}

std::string FeedServer::last_accept_encoding() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_accept_encoding_;
}

size_t FeedServer::connections() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return client_ports_.size();
}

void FeedServer::Nap(int ms) const {
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (!stopping_ && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void FeedServer::AddRoutes() {
  server_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response&) {
    requests_++;
    std::lock_guard<std::mutex> lock(mutex_);
    last_accept_encoding_ = req.get_header_value("Accept-Encoding");
    client_ports_.insert(req.remote_port);
    return httplib::Server::HandlerResponse::Unhandled;
  });

  server_.Get("/feed.xml", [this](const httplib::Request& req, httplib::Response& res) {
    if (req.has_param("delay_ms")) Nap(std::stoi(req.get_param_value("delay_ms")));
    res.set_header("ETag", kFeedEtag);
    res.set_header("Last-Modified", kFeedLastModified);
    res.set_header("Cache-Control", "max-age=300");
    res.set_header("Expires", "Thu, 02 May 2024 12:00:00 GMT");
    if (req.get_header_value("If-None-Match") == kFeedEtag ||
        req.get_header_value("If-Modified-Since") == kFeedLastModified) {
      res.status = 304;
      return;
    }
    res.set_content(kFeedBody, "application/rss+xml; charset=utf-8");
  });

  server_.Get("/gzip.xml", [](const httplib::Request& req, httplib::Response& res) {
    if (req.get_header_value("Accept-Encoding").find("gzip") == std::string::npos) {
      res.status = 406;
      return;
    }
    res.set_header("Content-Encoding", "gzip");
    res.set_content(Gzip(kFeedBody), kOpaqueType);
  });

  // 4 MiB of zeros in a few KiB of gzip.
  server_.Get("/bomb", [](const httplib::Request&, httplib::Response& res) {
    static const std::string bomb = Gzip(std::string(4 << 20, '\0'));
    res.set_header("Content-Encoding", "gzip");
    res.set_content(bomb, kOpaqueType);
  });

  server_.Get("/body", [](const httplib::Request& req, httplib::Response& res) {
    const size_t size = std::stoul(req.get_param_value("size"));
    res.set_content(std::string(size, 'x'), kOpaqueType);
  });

  // Streams `size` bytes without announcing a length.
  server_.Get("/chunked", [](const httplib::Request& req, httplib::Response& res) {
    const size_t size = std::stoul(req.get_param_value("size"));
    res.set_chunked_content_provider(kOpaqueType, [size](size_t offset, httplib::DataSink& sink) {
      if (offset >= size) {
        sink.done();
        return true;
      }
      const std::string chunk(std::min<size_t>(64 << 10, size - offset), 'y');
      return sink.write(chunk.data(), chunk.size());
    });
  });

  server_.Get(R"(/status/(\d+))", [](const httplib::Request& req, httplib::Response& res) {
    res.status = std::stoi(req.matches[1]);
    if (res.status == 503) res.set_header("Retry-After", "120");
    res.set_content("<html><body>Something went wrong on our side</body></html>", "text/html");
  });

  server_.Get("/redirect", [](const httplib::Request&, httplib::Response& res) {
    res.set_redirect("/feed.xml", 302);
  });

  server_.Get("/loop", [](const httplib::Request&, httplib::Response& res) {
    res.set_redirect("/loop", 302);
  });

  server_.Get("/slow", [this](const httplib::Request& req, httplib::Response& res) {
    Nap(req.has_param("ms") ? std::stoi(req.get_param_value("ms")) : 5000);
    res.set_content(kFeedBody, "application/rss+xml");
  });

  server_.Get("/hold", [this](const httplib::Request&, httplib::Response& res) {
    while (!stopping_ && !release_held_) Nap(10);
    res.set_content(kFeedBody, "application/rss+xml");
  });

  server_.Get("/ua", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content(req.get_header_value("User-Agent"), "text/plain");
  });
}

std::string Gzip(const std::string& data) {
  z_stream stream = {};
  // 15 window bits + 16 selects the gzip wrapper instead of zlib's.
  if (deflateInit2(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    throw std::runtime_error("deflateInit2 failed");
  }
  std::string out(deflateBound(&stream, data.size()), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  const int result = deflate(&stream, Z_FINISH);
  deflateEnd(&stream);
  if (result != Z_STREAM_END) throw std::runtime_error("deflate failed");
  out.resize(stream.total_out);
  return out;
}

int UnusedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    close(fd);
    throw std::runtime_error("cannot find an unused port");
  }
  close(fd);
  return ntohs(address.sin_port);
}

}  // namespace feedcrawl::test
