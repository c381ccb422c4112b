// JSON log lines parse whatever the message holds; the Prometheus text is well formed; the
// metrics endpoint serves a collector's numbers over loopback.
#include <gtest/gtest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>

#include "common/log.h"
#include "common/metrics.h"

namespace feedcrawl {
namespace {

std::string Format(const LogOptions& options, const std::string& message) {
  auto formatter = MakeLogFormatter(options);
  EXPECT_TRUE(formatter.ok());
  spdlog::details::log_msg msg("test", spdlog::level::warn, message);
  spdlog::memory_buf_t buffer;
  (*formatter)->format(msg, buffer);
  return std::string(buffer.data(), buffer.size());
}

TEST(LogTest, JsonLinesEscapeTheMessage) {
  const std::string message = "feed \"x\" said \\ {\"a\":1}\nline two\ttab \x01 caf\xc3\xa9";
  const std::string line = Format({"info", "json", "fetcher"}, message);
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "one line per message";
  nlohmann::json json = nlohmann::json::parse(line, nullptr, false);
  ASSERT_TRUE(json.is_object()) << line;
  EXPECT_EQ(json["msg"], message);
  EXPECT_EQ(json["level"], "warning");
  EXPECT_EQ(json["process"], "fetcher");
  EXPECT_EQ(json["pid"], getpid());
  EXPECT_EQ(json["time"].get<std::string>().size(), 24u);  // 2024-05-01T12:00:00.000Z
}

TEST(LogTest, TextIsReadable) {
  const std::string line = Format({"info", "text", "coordinator"}, "hello");
  EXPECT_NE(line.find("coordinator["), std::string::npos) << line;
  EXPECT_NE(line.find("hello"), std::string::npos) << line;
}

TEST(LogTest, RejectsUnknownFormatAndLevel) {
  EXPECT_FALSE(MakeLogFormatter({"info", "xml", "x"}).ok());
  EXPECT_FALSE(InitLogging({"loud", "text", "x"}).ok());
  EXPECT_TRUE(InitLogging({"warn", "json", "x"}).ok());
  EXPECT_TRUE(InitLogging({"warn", "text", "x"}).ok()) << "a second call must not fail";
}

TEST(MetricsTest, RendersTheTextFormat) {
  std::vector<Metric> metrics = {
      {"fetcher_active", "Transfers in flight", false, {}, 3},
      {"errors_total", "Errors", true, {{"class", "http_4xx"}}, 5},
      {"errors_total", "Errors", true, {{"class", "say \"hi\""}}, 1},
      {"ratio", "", false, {}, 0.25},
  };
  EXPECT_EQ(RenderPrometheusText(metrics),
            "# HELP feedcrawl_fetcher_active Transfers in flight\n"
            "# TYPE feedcrawl_fetcher_active gauge\n"
            "feedcrawl_fetcher_active 3\n"
            "# HELP feedcrawl_errors_total Errors\n"
            "# TYPE feedcrawl_errors_total counter\n"
            "feedcrawl_errors_total{class=\"http_4xx\"} 5\n"
            "feedcrawl_errors_total{class=\"say \\\"hi\\\"\"} 1\n"
            "# TYPE feedcrawl_ratio gauge\n"
            "feedcrawl_ratio 0.25\n");
}

TEST(MetricsTest, StatsBecomeMetrics) {
  auto metrics = MetricsFromStats("coordinator", {{"in_flight", "4"},
                                                  {"fetches_total", "10"},
                                                  {"feeds_total", "7"},
                                                  {"note", "not a number"}});
  ASSERT_EQ(metrics.size(), 3u);
  std::map<std::string, Metric> by_name;
  for (const Metric& m : metrics) by_name[m.name] = m;
  EXPECT_FALSE(by_name["coordinator_in_flight"].counter);
  EXPECT_TRUE(by_name["coordinator_fetches_total"].counter);
  EXPECT_FALSE(by_name["coordinator_feeds_total"].counter) << "a count of feeds can go down";
  EXPECT_EQ(by_name["coordinator_fetches_total"].value, 10);
}

TEST(MetricsTest, ServesTheCollectorOverHttp) {
  MetricsSnapshot snapshot;
  snapshot.Publish({{"processor_processed_total", "Processed", true, {}, 42}});
  auto server = MetricsServer::Start("127.0.0.1", 0, [&snapshot] { return snapshot.Get(); });
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  ASSERT_GT((*server)->port(), 0);
  httplib::Client client("127.0.0.1", (*server)->port());
  auto response = client.Get("/metrics");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_NE(response->body.find("feedcrawl_processor_processed_total 42\n"), std::string::npos)
      << response->body;
  snapshot.Publish({{"processor_processed_total", "Processed", true, {}, 43}});
  response = client.Get("/metrics");
  ASSERT_TRUE(response);
  EXPECT_NE(response->body.find("feedcrawl_processor_processed_total 43\n"), std::string::npos);
}

TEST(MetricsTest, ABusyPortIsAnError) {
  auto first = MetricsServer::Start("127.0.0.1", 0, [] { return std::vector<Metric>{}; });
  ASSERT_TRUE(first.ok());
  auto second =
      MetricsServer::Start("127.0.0.1", (*first)->port(), [] { return std::vector<Metric>{}; });
  EXPECT_FALSE(second.ok());
}

}  // namespace
}  // namespace feedcrawl
