// FreshnessPolicy and its meeting with the Scheduler, driven by a FakeClock: interval adaptation,
// server hints, backoff, pausing and resuming, host pause on 429, redirects. Nothing sleeps.
#include "coordinator/freshness.h"

#include <gtest/gtest.h>

#include "common/clock.h"
#include "coordinator/scheduler.h"

namespace feedcrawl {
namespace {

namespace v1 = feedcrawl::v1;

constexpr int64_t kMinute = 60'000;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;
// 2023-11-14 22:13:20 UTC, a Tuesday.
constexpr int64_t kStart = 1'700'000'000'000;

FreshnessOptions NoJitter() {
  FreshnessOptions options;
  options.jitter = 0;
  return options;
}

v1::JobReport Ok(uint32_t new_items = 0, int64_t publish_interval_ms = 0) {
  v1::JobReport report;
  report.set_outcome(v1::OUTCOME_OK);
  report.set_http_status(200);
  report.set_new_items(new_items);
  report.set_publish_interval_ms(publish_interval_ms);
  report.set_etag("\"v1\"");
  return report;
}

v1::JobReport NotModified() {
  v1::JobReport report;
  report.set_outcome(v1::OUTCOME_NOT_MODIFIED);
  report.set_http_status(304);
  return report;
}

v1::JobReport HttpError(int status, std::string retry_after = "") {
  v1::JobReport report;
  report.set_outcome(v1::OUTCOME_HTTP_ERROR);
  report.set_http_status(status);
  report.set_retry_after(std::move(retry_after));
  return report;
}

v1::JobReport Timeout() {
  v1::JobReport report;
  report.set_outcome(v1::OUTCOME_TIMEOUT);
  return report;
}

FeedRecord Feed(const std::string& url = "http://blog.example/feed.xml") {
  FeedRecord feed;
  feed.id = 1;
  feed.url = url;
  return feed;
}

TEST(FreshnessTest, NewFeedStartsAtDefaultIntervalAndSlowsDownWhenNothingChanges) {
  FreshnessPolicy policy(NoJitter(), 1);
  FeedRecord feed = Feed();
  auto first = policy.Apply(feed, Ok(), kStart);
  // Default 30 min, nothing new: a quarter later.
  EXPECT_EQ(feed.interval_ms, 30 * kMinute + 30 * kMinute / 4);
  EXPECT_EQ(*first.next_due_ms, kStart + feed.interval_ms);
  for (int i = 0; i < 100; ++i) policy.Apply(feed, NotModified(), kStart);
  EXPECT_EQ(feed.interval_ms, 24 * kHour) << "clamped to the maximum";
  EXPECT_EQ(feed.etag, "\"v1\"") << "a 304 without validators keeps the stored ones";
}

TEST(FreshnessTest, BodyDigestIsKeptFromStoredBodiesOnly) {
  FreshnessPolicy policy(NoJitter(), 1);
  FeedRecord feed = Feed();
  v1::JobReport stored = Ok(3);
  stored.set_body_digest("1388-00ab");
  policy.Apply(feed, stored, kStart);
  EXPECT_EQ(feed.body_digest, "1388-00ab");
  // Unchanged (304, or the same body again), failed and unparsable fetches keep it.
  v1::JobReport same_body = NotModified();
  same_body.set_http_status(200);
  same_body.set_body_digest("1388-00ab");
  policy.Apply(feed, same_body, kStart);
  policy.Apply(feed, NotModified(), kStart);
  policy.Apply(feed, Timeout(), kStart);
  v1::JobReport unparsable;
  unparsable.set_outcome(v1::OUTCOME_PARSE_ERROR);
  unparsable.set_http_status(200);
  policy.Apply(feed, unparsable, kStart);
  EXPECT_EQ(feed.body_digest, "1388-00ab");
  // A stored body without a digest (an older fetcher) clears it: no fetch is skipped wrongly.
  policy.Apply(feed, Ok(1), kStart);
  EXPECT_EQ(feed.body_digest, "");
}

TEST(FreshnessTest, IntervalFollowsHowOftenTheFeedPublishesWithinBounds) {
  FreshnessPolicy policy(NoJitter(), 1);
  FeedRecord feed = Feed();
  for (int i = 0; i < 20; ++i) policy.Apply(feed, Ok(1, 2 * kHour), kStart);
  EXPECT_NEAR(feed.interval_ms, 2 * kHour, kMinute);
  for (int i = 0; i < 20; ++i) policy.Apply(feed, Ok(1, kMinute), kStart);
  EXPECT_EQ(feed.interval_ms, 5 * kMinute) << "clamped to the minimum";
}

TEST(FreshnessTest, JitterSpreadsDelaysWithinItsBoundsAndIsReproducible) {
  FreshnessOptions options;
  options.jitter = 0.1;
  FreshnessPolicy a(options, 7), b(options, 7);
  bool varied = false;
  int64_t first = a.Jitter(kHour);
  for (int i = 0; i < 200; ++i) {
    const int64_t d = a.Jitter(kHour);
    EXPECT_GE(d, kHour * 9 / 10);
    EXPECT_LE(d, kHour * 11 / 10);
    if (d != first) varied = true;
  }
  EXPECT_TRUE(varied);
  FreshnessPolicy c(options, 7);
  EXPECT_EQ(first, c.Jitter(kHour)) << "same seed, same sequence";
  (void)b;
}

TEST(FreshnessTest, ServerHintsRaiseTheIntervalButNeverLowerIt) {
  FreshnessPolicy policy(NoJitter(), 1);
  FeedRecord feed = Feed();
  v1::JobReport ttl = Ok();
  ttl.set_ttl_minutes(180);
  EXPECT_EQ(*policy.Apply(feed, ttl, kStart).next_due_ms, kStart + 3 * kHour);
  // The ttl is remembered across 304s, which carry no body.
  EXPECT_EQ(*policy.Apply(feed, NotModified(), kStart).next_due_ms, kStart + 3 * kHour);

  FeedRecord other = Feed();
  v1::JobReport max_age = Ok();
  max_age.set_cache_control("public, max-age=7200");
  EXPECT_EQ(*policy.Apply(other, max_age, kStart).next_due_ms, kStart + 2 * kHour);
  v1::JobReport short_age = NotModified();
  short_age.set_cache_control("max-age=60");
  const int64_t due = *policy.Apply(other, short_age, kStart).next_due_ms;
  EXPECT_EQ(due, kStart + other.interval_ms);

  FeedRecord third = Feed();
  v1::JobReport expires = Ok();
  expires.set_expires("Wed, 15 Nov 2023 02:13:20 GMT");  // four hours after kStart
  EXPECT_EQ(*policy.Apply(third, expires, kStart).next_due_ms, kStart + 4 * kHour);
}

TEST(FreshnessTest, HintParsers) {
  EXPECT_EQ(FreshnessPolicy::RetryAfterMs("120", kStart), 120'000);
  EXPECT_EQ(FreshnessPolicy::RetryAfterMs("Tue, 14 Nov 2023 22:23:20 GMT", kStart), 10 * kMinute);
  EXPECT_EQ(FreshnessPolicy::RetryAfterMs("Tue, 14 Nov 2023 20:00:00 GMT", kStart), 0);
  EXPECT_FALSE(FreshnessPolicy::RetryAfterMs("soon", kStart));
  EXPECT_FALSE(FreshnessPolicy::RetryAfterMs("", kStart));
  EXPECT_EQ(FreshnessPolicy::MaxAgeMs("max-age=60, s-maxage=600"), 600'000);
  EXPECT_EQ(FreshnessPolicy::MaxAgeMs("Max-Age=\"30\""), 30'000);
  EXPECT_FALSE(FreshnessPolicy::MaxAgeMs("no-cache, max-age=600"));
  EXPECT_FALSE(FreshnessPolicy::MaxAgeMs("private"));
  EXPECT_EQ(ParseHttpDateMs("Sunday, 06-Nov-94 08:49:37 GMT"), 784111777000);
  EXPECT_EQ(ParseHttpDateMs("Sun Nov  6 08:49:37 1994"), 784111777000);
  EXPECT_FALSE(ParseHttpDateMs("yesterday"));
}

TEST(FreshnessTest, SkipHoursAndDaysPushTheNextFetchOut) {
  // kStart is Tuesday 22:13 UTC. Skipping hours 22 and 23 moves it to Wednesday 00:00.
  const uint32_t hours = (1u << 22) | (1u << 23);
  const int64_t wednesday = kStart - (22 * kHour + 13 * kMinute + 20'000) + kDay;
  EXPECT_EQ(FreshnessPolicy::SkipForward(kStart, hours, 0), wednesday);
  // Skipping Wednesday (bit 2) as well moves it to Thursday 00:00.
  EXPECT_EQ(FreshnessPolicy::SkipForward(kStart, hours, 1u << 2), wednesday + kDay);
  EXPECT_EQ(FreshnessPolicy::SkipForward(kStart, 0, 0), kStart);
  EXPECT_EQ(FreshnessPolicy::SkipForward(kStart, (1u << 24) - 1, 0), kStart)
      << "a feed that skips every hour is still fetched";

  FreshnessOptions options = NoJitter();
  options.min_interval_ms = options.default_interval_ms = kMinute;
  FreshnessPolicy policy(options, 1);
  FeedRecord feed = Feed();
  v1::JobReport report = Ok(0, kMinute);
  report.set_skip_hours(hours);
  EXPECT_EQ(*policy.Apply(feed, report, kStart).next_due_ms, wednesday);
}

TEST(FreshnessTest, FailuresBackOffExponentiallyThenPauseThenProbe) {
  FreshnessPolicy policy(NoJitter(), 1);
  FeedRecord feed = Feed();
  int64_t previous = 0;
  for (uint32_t n = 1; n < 10; ++n) {
    auto decision = policy.Apply(feed, Timeout(), kStart);
    const int64_t delay = *decision.next_due_ms - kStart;
    EXPECT_EQ(delay, std::min<int64_t>(5 * kMinute << (n - 1), 24 * kHour)) << n;
    EXPECT_GE(delay, previous);
    previous = delay;
    EXPECT_EQ(feed.status, "active");
  }
  auto paused = policy.Apply(feed, Timeout(), kStart);
  EXPECT_EQ(feed.status, "paused");
  EXPECT_EQ(*paused.next_due_ms, kStart + 7 * kDay) << "probed, not dropped";
  EXPECT_EQ(feed.transient_failures, 10u);
  EXPECT_EQ(feed.permanent_failures, 0u);
  // A failed probe keeps it paused; a good one brings it back.
  policy.Apply(feed, HttpError(404), kStart);
  EXPECT_EQ(feed.status, "paused");
  EXPECT_EQ(feed.permanent_failures, 1u);
  policy.Apply(feed, Ok(), kStart);
  EXPECT_EQ(feed.status, "active");
  EXPECT_EQ(feed.consecutive_failures, 0u);
  EXPECT_EQ(feed.failures, 11u);
}

TEST(FreshnessTest, FailureKindsAreCountedApart) {
  EXPECT_TRUE(FreshnessPolicy::IsPermanentFailure(HttpError(404)));
  EXPECT_TRUE(FreshnessPolicy::IsPermanentFailure(HttpError(410)));
  EXPECT_FALSE(FreshnessPolicy::IsPermanentFailure(HttpError(429)));
  EXPECT_FALSE(FreshnessPolicy::IsPermanentFailure(HttpError(503)));
  EXPECT_FALSE(FreshnessPolicy::IsPermanentFailure(Timeout()));
  v1::JobReport parse;
  parse.set_outcome(v1::OUTCOME_PARSE_ERROR);
  EXPECT_TRUE(FreshnessPolicy::IsPermanentFailure(parse));
}

TEST(FreshnessTest, GoneDisablesTheFeed) {
  FreshnessPolicy policy(NoJitter(), 1);
  FeedRecord feed = Feed();
  auto decision = policy.Apply(feed, HttpError(410), kStart);
  EXPECT_EQ(feed.status, "disabled");
  EXPECT_FALSE(decision.next_due_ms) << "a disabled feed is not scheduled";
}

TEST(FreshnessTest, RetryAfterDelaysTheFeedAndPausesItsHost) {
  FreshnessPolicy policy(NoJitter(), 1);
  FeedRecord feed = Feed();
  auto decision = policy.Apply(feed, HttpError(429, "3600"), kStart);
  EXPECT_EQ(*decision.pause_host_until_ms, kStart + kHour);
  EXPECT_EQ(*decision.next_due_ms, kStart + kHour);
  auto dated = policy.Apply(feed, HttpError(503, "Tue, 14 Nov 2023 23:13:20 GMT"), kStart);
  EXPECT_EQ(*dated.pause_host_until_ms, kStart + kHour);
  auto bare = policy.Apply(feed, HttpError(503), kStart);
  EXPECT_EQ(*bare.pause_host_until_ms, kStart + 60'000) << "no Retry-After: a short host pause";
  EXPECT_FALSE(policy.Apply(feed, HttpError(500, "3600"), kStart).pause_host_until_ms);
}

TEST(FreshnessTest, HostPauseOn429HoldsEveryFeedOfThatHostOnly) {
  FakeClock clock(kStart);
  FreshnessPolicy policy(NoJitter(), 1);
  Scheduler scheduler(PolitenessOptions{2, 0});
  scheduler.Schedule(1, "http://busy.example/a", clock.NowMs());
  scheduler.Schedule(2, "http://busy.example/b", clock.NowMs() + 1000);
  scheduler.Schedule(3, "http://calm.example/c", clock.NowMs() + 1000);
  ASSERT_EQ(scheduler.NextDispatch(clock.NowMs()), 1u);
  FeedRecord feed = Feed("http://busy.example/a");
  auto decision = policy.Apply(feed, HttpError(429, "600"), clock.NowMs());
  scheduler.PauseHost(feed.url, *decision.pause_host_until_ms);
  scheduler.Complete(1, clock.NowMs(), decision.next_due_ms);

  clock.AdvanceMs(1000);
  EXPECT_EQ(scheduler.NextDispatch(clock.NowMs()), 3u) << "other hosts run on";
  EXPECT_EQ(scheduler.NextDispatch(clock.NowMs()), std::nullopt) << "busy.example waits";
  clock.AdvanceMs(598'000);
  EXPECT_EQ(scheduler.NextDispatch(clock.NowMs()), std::nullopt);
  clock.AdvanceMs(1'000);
  EXPECT_EQ(scheduler.NextDispatch(clock.NowMs()), 2u);
  EXPECT_EQ(scheduler.NextDispatch(clock.NowMs()), 1u);
}

TEST(FreshnessTest, ResumedFeedIsActiveAndDueAgain) {
  // What an operator's resume stores (Store::SetFeedStatus) is what the policy starts from.
  FreshnessPolicy policy(NoJitter(), 1);
  FeedRecord feed = Feed();
  policy.Apply(feed, HttpError(410), kStart);
  ASSERT_EQ(feed.status, "disabled");
  feed.status = "active";
  feed.consecutive_failures = 0;
  auto decision = policy.Apply(feed, Ok(), kStart + kDay);
  EXPECT_EQ(feed.status, "active");
  EXPECT_TRUE(decision.next_due_ms);
}

v1::JobReport Redirected(const std::string& to, bool permanent) {
  v1::JobReport report = Ok();
  report.set_effective_url(to);
  report.set_redirects(1);
  report.set_permanent_redirect(permanent);
  return report;
}

TEST(FreshnessTest, PermanentRedirectMovesTheFeedOnlyOnceConfirmed) {
  FreshnessPolicy policy(NoJitter(), 1);
  FeedRecord feed = Feed("http://old.example/feed");
  const std::string target = "https://new.example/feed";
  EXPECT_FALSE(policy.Apply(feed, Redirected(target, true), kStart).move_to_url);
  EXPECT_FALSE(policy.Apply(feed, Redirected(target, true), kStart + kHour).move_to_url);
  EXPECT_EQ(feed.redirect_seen, 2u);
  EXPECT_EQ(policy.Apply(feed, Redirected(target, true), kStart + 2 * kHour).move_to_url, target);
  EXPECT_TRUE(feed.redirect_url.empty());
}

TEST(FreshnessTest, RedirectSeenTwiceDaysApartIsConfirmed) {
  FreshnessPolicy policy(NoJitter(), 1);
  FeedRecord feed = Feed("http://old.example/feed");
  const std::string target = "https://new.example/feed";
  EXPECT_FALSE(policy.Apply(feed, Redirected(target, true), kStart).move_to_url);
  EXPECT_EQ(policy.Apply(feed, Redirected(target, true), kStart + 3 * kDay).move_to_url, target);
}

TEST(FreshnessTest, TemporaryOrInterruptedRedirectsNeverMoveTheFeed) {
  FreshnessPolicy policy(NoJitter(), 1);
  FeedRecord feed = Feed("http://old.example/feed");
  for (int i = 0; i < 5; ++i) {
    EXPECT_FALSE(policy.Apply(feed, Redirected("https://cdn.example/f", false), kStart).move_to_url);
  }
  policy.Apply(feed, Redirected("https://new.example/feed", true), kStart);
  policy.Apply(feed, Redirected("https://new.example/feed", true), kStart);
  policy.Apply(feed, Ok(), kStart);  // the redirect went away: start counting again
  EXPECT_EQ(feed.redirect_seen, 0u);
  EXPECT_FALSE(policy.Apply(feed, Redirected("https://new.example/feed", true), kStart).move_to_url);
  // A failed fetch does not count either way.
  v1::JobReport failed = HttpError(500);
  failed.set_effective_url("https://new.example/feed");
  failed.set_permanent_redirect(true);
  EXPECT_FALSE(policy.Apply(feed, failed, kStart).move_to_url);
}

TEST(FreshnessTest, HttpToHttpsUpgradeMovesAtOnce) {
  FreshnessPolicy policy(NoJitter(), 1);
  FeedRecord feed = Feed("http://Blog.example:80/feed?x=1");
  EXPECT_EQ(policy.Apply(feed, Redirected("https://blog.example/feed?x=1", true), kStart)
                .move_to_url,
            "https://blog.example/feed?x=1");
  EXPECT_TRUE(FreshnessPolicy::IsHttpsUpgrade("http://a.example/f", "https://a.example:443/f"));
  EXPECT_FALSE(FreshnessPolicy::IsHttpsUpgrade("http://a.example/f", "https://b.example/f"));
  EXPECT_FALSE(FreshnessPolicy::IsHttpsUpgrade("http://a.example/f", "https://a.example/g"));
  EXPECT_FALSE(FreshnessPolicy::IsHttpsUpgrade("https://a.example/f", "https://a.example/f"));
}

}  // namespace
}  // namespace feedcrawl
