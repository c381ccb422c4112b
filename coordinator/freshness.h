// FreshnessPolicy: how a job's report changes a feed's state and when the feed is fetched next.
// It adapts each feed's interval to how often the feed publishes, lets the server's hints (RSS
// <ttl>, Cache-Control max-age, Expires, Retry-After, <skipHours>/<skipDays>) push the next fetch
// later but never earlier, backs failures off exponentially, pauses a feed that keeps failing
// (probing it at a long interval), disables a feed that is Gone, and moves a feed to the target
// of a permanent redirect once the redirect is confirmed. docs/SCHEDULING.md gives the reasons.
//
// Pure policy: time comes in as arguments and jitter from a seeded generator, so tests replay it
// exactly. Not thread-safe (the generator); the coordinator's loop owns one.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "common/store.h"
#include "proto/feedcrawl.pb.h"

namespace feedcrawl {

struct FreshnessOptions {
  int64_t min_interval_ms = 5LL * 60 * 1000;         // never refresh a feed more often
  int64_t max_interval_ms = 24LL * 3600 * 1000;      // never leave a healthy feed longer
  int64_t default_interval_ms = 30LL * 60 * 1000;    // a new feed's interval before it is known
  double jitter = 0.1;                               // delays vary by +-10%
  int64_t retry_base_ms = 5LL * 60 * 1000;           // first retry after a failure
  int64_t max_backoff_ms = 24LL * 3600 * 1000;       // longest retry delay before pausing
  uint32_t pause_after_failures = 10;                // consecutive failures that pause a feed
  int64_t probe_interval_ms = 7LL * 24 * 3600 * 1000;  // how often a paused feed is tried
  int64_t max_hint_ms = 7LL * 24 * 3600 * 1000;      // cap on server hints (Retry-After, max-age)
  int64_t host_pause_ms = 60'000;                    // host pause on 429/503 without Retry-After
  uint32_t redirect_confirmations = 3;               // fetches that must agree on a redirect...
  int64_t redirect_confirm_ms = 3LL * 24 * 3600 * 1000;  // ...or two of them this far apart
};

// What the coordinator must do beyond saving the updated record.
struct FreshnessDecision {
  // When the feed is due next; nullopt when it is disabled and must not be scheduled.
  std::optional<int64_t> next_due_ms;
  // The feed's whole host must wait until then (429/503).
  std::optional<int64_t> pause_host_until_ms;
  // A confirmed permanent redirect: the feed's URL should become this.
  std::optional<std::string> move_to_url;
};

class FreshnessPolicy {
 public:
  FreshnessPolicy(FreshnessOptions options, uint64_t seed) : options_(options), rng_(seed) {}

  const FreshnessOptions& options() const { return options_; }

  // Applies the report of a finished job to `feed` (counters, validators, hints, interval,
  // status, redirect candidate) and decides the next fetch.
  FreshnessDecision Apply(FeedRecord& feed, const feedcrawl::v1::JobReport& report,
                          int64_t now_ms);

  // `delay_ms` scaled by a random factor in [1 - jitter, 1 + jitter].
  int64_t Jitter(int64_t delay_ms);

  // Delay before retry number `failures` (1 = first failure), without jitter.
  int64_t BackoffMs(uint32_t failures) const;

  // True for failures that say the feed itself is wrong rather than the moment being bad.
  static bool IsPermanentFailure(const feedcrawl::v1::JobReport& report);

  // Retry-After as delta-seconds or an HTTP date, as a delay from now (>= 0); nullopt if absent
  // or malformed.
  static std::optional<int64_t> RetryAfterMs(std::string_view value, int64_t now_ms);
  // Cache-Control max-age (s-maxage wins, as a shared cache would use it); nullopt if absent or
  // the response forbids caching.
  static std::optional<int64_t> MaxAgeMs(std::string_view cache_control);
  // Expires as a delay from now; nullopt if absent or malformed.
  static std::optional<int64_t> ExpiresMs(std::string_view expires, int64_t now_ms);
  // The first time at or after due_ms outside the skipped UTC hours and days (RSS bit masks).
  // A mask that skips everything is ignored.
  static int64_t SkipForward(int64_t due_ms, uint32_t skip_hours, uint32_t skip_days);
  // True when `to` is `from` with http: upgraded to https: and nothing else changed.
  static bool IsHttpsUpgrade(std::string_view from, std::string_view to);

 private:
  int64_t Clamp(int64_t interval_ms) const;
  int64_t AdaptInterval(const FeedRecord& feed, const feedcrawl::v1::JobReport& report) const;
  int64_t HintMs(const FeedRecord& feed, const feedcrawl::v1::JobReport& report,
                 int64_t now_ms) const;
  std::optional<std::string> TrackRedirect(FeedRecord& feed, const feedcrawl::v1::JobReport& report,
                                           int64_t now_ms) const;

  FreshnessOptions options_;
  std::mt19937_64 rng_;
};

// Parses an HTTP date (RFC 9110 IMF-fixdate, plus the obsolete RFC 850 and asctime forms) to
// milliseconds since the epoch.
std::optional<int64_t> ParseHttpDateMs(std::string_view text);

}  // namespace feedcrawl
