// feedcrawl-testserver: serves a folder of feeds with validators, gzip and injected faults.
// Prints "listening on http://HOST:PORT" once ready; SIGINT/SIGTERM stop it with exit code 0.
#include <pthread.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <thread>

#include "tests/server/feed_server.h"

int main(int argc, char** argv) {
  feedcrawl::testserver::ServerOptions options;
  CLI::App app{"Test feed server: serves a folder of feeds and injects faults."};
  app.add_option("--root", options.root, "Folder served at /")->required();
  app.add_option("--bind", options.bind, "Address to listen on");
  app.add_option("--port", options.port, "Port to listen on; 0 picks a free one");
  app.add_option("--faults", options.faults_file, "JSON file {\"/path\": {fault}}");
  app.add_option("--threads", options.threads, "Worker threads (one connection each)");
  app.add_option("--keep-alive-timeout", options.keep_alive_timeout_s,
                 "Seconds an idle keep-alive connection is kept");
  app.add_option("--keep-alive-max", options.keep_alive_max_requests,
                 "Requests served on one connection before it is closed");
  app.add_flag("--log-requests", options.log_requests, "Log one line per request to stderr");
  CLI11_PARSE(app, argc, argv);

  // Signals go to one waiting thread, started before any worker so every thread inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto server = feedcrawl::testserver::FeedServer::Create(options);
  if (!server.ok()) {
    std::fprintf(stderr, "feedcrawl-testserver: %s\n", server.status().message().c_str());
    return 2;
  }
  auto port = (*server)->Bind();
  if (!port.ok()) {
    std::fprintf(stderr, "feedcrawl-testserver: %s\n", port.status().message().c_str());
    return 1;
  }
  const std::string host = options.bind == "0.0.0.0" ? "127.0.0.1" : options.bind;
  std::printf("listening on http://%s:%d\n", host.c_str(), *port);
  std::fflush(stdout);

  std::thread signal_waiter([&] {
    int signal_number = 0;
    sigwait(&stop_signals, &signal_number);
    (*server)->Stop();
  });
  feedcrawl::Status run = (*server)->Run();
  // Wake the waiter if the server ended on its own; a no-op when a signal already ended it.
  pthread_kill(signal_waiter.native_handle(), SIGTERM);
  signal_waiter.join();
  if (!run.ok()) {
    std::fprintf(stderr, "feedcrawl-testserver: %s\n", run.message().c_str());
    return 1;
  }
  return 0;
}
