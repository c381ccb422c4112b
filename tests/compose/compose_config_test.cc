// docker-compose.yml is valid for docker-compose (as CI checks it, without a Docker engine),
// refuses to start without a Redis password, and describes the deployment docs/OPERATIONS.md
// promises: scalable workers on stable endpoints, Redis with AOF, health checks, the demo
// profile, and CURVE keys as compose secrets.
#include <gtest/gtest.h>

#include "cli/local_redis.h"
#include "tests/compose/compose_plan.h"
#include "tests/support/status_matchers.h"
#include "tests/support/subprocess.h"

namespace feedcrawl {
namespace {

using testing::ComposePlan;
using testing::TempDir;

const std::string kComposeFile = std::string(FEEDCRAWL_SOURCE_DIR) + "/docker-compose.yml";

class ComposeConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::FindExecutable("docker-compose").ok()) {
      GTEST_SKIP() << "docker-compose is not installed (scripts/setup installs it)";
    }
  }
  TempDir scratch_;
};

TEST_F(ComposeConfigTest, ValidatesWithAPassword) {
  auto plan = ComposePlan::Load(kComposeFile, {}, {{"FEEDCRAWL_REDIS_PASSWORD", "p"}},
                                scratch_.path());
  ASSERT_OK(plan.status());
  const auto& services = plan->services();
  for (const char* name : {"redis", "import", "coordinator", "fetcher", "processor"}) {
    EXPECT_EQ(services.count(name), 1u) << name;
  }
  ASSERT_EQ(services.count("testserver"), 1u);
  EXPECT_EQ(services.at("testserver").profiles, std::vector<std::string>{"demo"})
      << "the test server runs only in the demo profile";
  for (const char* name : {"redis", "import", "coordinator", "fetcher", "processor"}) {
    EXPECT_TRUE(services.at(name).profiles.empty()) << name;
  }
}

TEST_F(ComposeConfigTest, RefusesToRunWithoutAPassword) {
  auto plan = ComposePlan::Load(kComposeFile, {}, {{"FEEDCRAWL_REDIS_PASSWORD", ""}},
                                scratch_.path());
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.status().message().find("FEEDCRAWL_REDIS_PASSWORD"), std::string::npos)
      << plan.status().message();
}

TEST_F(ComposeConfigTest, WorkersReachOnlyTheCoordinatorAndFetchersNeverSeeRedis) {
  auto plan = ComposePlan::Load(kComposeFile, {"demo"}, {{"FEEDCRAWL_REDIS_PASSWORD", "p"}},
                                scratch_.path());
  ASSERT_OK(plan.status());
  const auto& fetcher = plan->services().at("fetcher").environment;
  const auto& processor = plan->services().at("processor").environment;
  EXPECT_EQ(fetcher.at("FEEDCRAWL_CONTROL"), "tcp://coordinator:7301");
  EXPECT_EQ(fetcher.at("FEEDCRAWL_RESULTS"), "tcp://coordinator:7302");
  EXPECT_EQ(processor.at("FEEDCRAWL_RESULTS_OUT"), "tcp://coordinator:7303");
  EXPECT_EQ(fetcher.count("FEEDCRAWL_REDIS"), 0u);
  EXPECT_EQ(processor.at("FEEDCRAWL_REDIS"), "redis://:p@redis:6379/0");
  const auto& redis = plan->services().at("redis").command;
  auto has = [&redis](const std::string& a, const std::string& b) {
    for (size_t i = 0; i + 1 < redis.size(); ++i) {
      if (redis[i] == a && redis[i + 1] == b) return true;
    }
    return false;
  };
  // The storage settings of the server `feedcrawl run` starts, every one.
  const std::vector<std::string>& settings = cli::CrawlRedisSettings();
  for (size_t i = 0; i + 1 < settings.size(); i += 2) {
    EXPECT_TRUE(has(settings[i], settings[i + 1])) << settings[i] << " " << settings[i + 1];
  }
  EXPECT_TRUE(has("--requirepass", "p"));
  EXPECT_EQ(plan->services().count("testserver"), 1u);
}

TEST_F(ComposeConfigTest, CurveKeysComeAsSecretsFromTheSecretsFolder) {
  auto plan = ComposePlan::Load(
      kComposeFile, {},
      {{"FEEDCRAWL_REDIS_PASSWORD", "p"}, {"FEEDCRAWL_SECRETS_DIR", "/srv/keys"}},
      scratch_.path());
  ASSERT_OK(plan.status());
  const std::map<std::string, std::string> files = {
      {"coordinator_curve_secret", "/srv/keys/coordinator.key_secret"},
      {"coordinator_curve_public", "/srv/keys/coordinator.key"},
      {"worker_curve_secret", "/srv/keys/worker.key_secret"},
      {"curve_allowed_workers", "/srv/keys/allowed_workers"},
  };
  EXPECT_EQ(plan->secret_files(), files);

  // Each role gets exactly the secrets it needs, under the names its variables give.
  const auto& services = plan->services();
  const auto& coordinator = services.at("coordinator");
  EXPECT_EQ(coordinator.secrets,
            (std::vector<std::string>{"coordinator_curve_secret", "curve_allowed_workers"}));
  EXPECT_EQ(coordinator.environment.at("FEEDCRAWL_CURVE_SECRET_KEY_FILE"),
            "/run/secrets/coordinator_curve_secret");
  EXPECT_EQ(coordinator.environment.at("FEEDCRAWL_CURVE_ALLOW_KEYS_FILE"),
            "/run/secrets/curve_allowed_workers");
  for (const char* name : {"fetcher", "processor"}) {
    const auto& worker = services.at(name);
    EXPECT_EQ(worker.secrets,
              (std::vector<std::string>{"worker_curve_secret", "coordinator_curve_public"}))
        << name;
    EXPECT_EQ(worker.environment.at("FEEDCRAWL_CURVE_SECRET_KEY_FILE"),
              "/run/secrets/worker_curve_secret")
        << name;
    EXPECT_EQ(worker.environment.at("FEEDCRAWL_CURVE_SERVER_KEY_FILE"),
              "/run/secrets/coordinator_curve_public")
        << name;
  }
  // No secret key reaches a role that does not own it, and Redis gets none.
  EXPECT_TRUE(services.at("redis").secrets.empty());
  EXPECT_TRUE(services.at("import").secrets.empty());
}

}  // namespace
}  // namespace feedcrawl
