#include "coordinator/freshness.h"

#include <time.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>

#include "common/ascii.h"
#include "common/messages.h"

namespace feedcrawl {

namespace {

constexpr int64_t kHourMs = 3600LL * 1000;
constexpr int64_t kDayMs = 24 * kHourMs;
constexpr uint32_t kAllHours = (1u << 24) - 1;
constexpr uint32_t kAllDays = (1u << 7) - 1;

bool IsSuccess(v1::Outcome outcome) {
  return outcome == v1::OUTCOME_OK || outcome == v1::OUTCOME_NOT_MODIFIED;
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Non-negative decimal seconds, bounded so the product in milliseconds cannot overflow.
std::optional<int64_t> ParseSecondsMs(std::string_view text) {
  text = TrimAsciiSpace(text);
  if (text.empty() || text.size() > 12) return std::nullopt;
  int64_t seconds = 0;
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    seconds = seconds * 10 + (c - '0');
  }
  return seconds * 1000;
}

}  // namespace

std::optional<int64_t> ParseHttpDateMs(std::string_view text) {
  const std::string value(TrimAsciiSpace(text));
  // The C locale's names are the English ones HTTP dates use.
  static constexpr const char* kFormats[] = {
      "%a, %d %b %Y %H:%M:%S",  // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
      "%A, %d-%b-%y %H:%M:%S",  // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
      "%a %b %d %H:%M:%S %Y",   // asctime: Sun Nov  6 08:49:37 1994
  };
  for (const char* format : kFormats) {
    struct tm tm = {};
    const char* end = strptime(value.c_str(), format, &tm);
    if (end == nullptr) continue;
    std::string_view rest = TrimAsciiSpace(end);
    if (!rest.empty() && rest != "GMT" && rest != "UTC" && rest != "+0000") continue;
    const time_t seconds = timegm(&tm);
    if (seconds == static_cast<time_t>(-1)) continue;
    return static_cast<int64_t>(seconds) * 1000;
  }
  return std::nullopt;
}

int64_t FreshnessPolicy::Jitter(int64_t delay_ms) {
  if (options_.jitter <= 0 || delay_ms <= 0) return delay_ms;
  std::uniform_real_distribution<double> factor(1.0 - options_.jitter, 1.0 + options_.jitter);
  return static_cast<int64_t>(std::llround(static_cast<double>(delay_ms) * factor(rng_)));
}

int64_t FreshnessPolicy::BackoffMs(uint32_t failures) const {
  int64_t delay = std::max<int64_t>(options_.retry_base_ms, 1);
  for (uint32_t i = 1; i < failures && delay < options_.max_backoff_ms; ++i) delay *= 2;
  return std::min(delay, options_.max_backoff_ms);
}

bool FreshnessPolicy::IsPermanentFailure(const v1::JobReport& report) {
  switch (report.outcome()) {
    case v1::OUTCOME_HTTP_ERROR: {
      const int status = report.http_status();
      // 408 and 429 are about the moment; other 4xx about the request, i.e. the feed's URL.
      return status >= 400 && status < 500 && status != 408 && status != 429;
    }
    case v1::OUTCOME_PARSE_ERROR:
    case v1::OUTCOME_BLOCKED:
    case v1::OUTCOME_TOO_LARGE:
    case v1::OUTCOME_TOO_MANY_REDIRECTS:
    case v1::OUTCOME_TLS_ERROR:
      return true;
    default:
      return false;
  }
}

std::optional<int64_t> FreshnessPolicy::RetryAfterMs(std::string_view value, int64_t now_ms) {
  if (TrimAsciiSpace(value).empty()) return std::nullopt;
  if (auto seconds = ParseSecondsMs(value)) return seconds;
  if (auto date = ParseHttpDateMs(value)) return std::max<int64_t>(0, *date - now_ms);
  return std::nullopt;
}

std::optional<int64_t> FreshnessPolicy::MaxAgeMs(std::string_view cache_control) {
  std::optional<int64_t> max_age, s_maxage;
  const std::string text = Lower(cache_control);
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    std::string_view directive = TrimAsciiSpace(std::string_view(text).substr(start, end - start));
    start = end + 1;
    const size_t eq = directive.find('=');
    std::string_view name = TrimAsciiSpace(directive.substr(0, eq));
    std::string_view argument = eq == std::string_view::npos
                                    ? std::string_view()
                                    : TrimAsciiSpace(directive.substr(eq + 1));
    if (argument.size() >= 2 && argument.front() == '"' && argument.back() == '"') {
      argument = argument.substr(1, argument.size() - 2);
    }
    if (name == "no-store" || name == "no-cache") return std::nullopt;
    if (name == "max-age") max_age = ParseSecondsMs(argument);
    if (name == "s-maxage") s_maxage = ParseSecondsMs(argument);
  }
  return s_maxage ? s_maxage : max_age;
}

std::optional<int64_t> FreshnessPolicy::ExpiresMs(std::string_view expires, int64_t now_ms) {
  auto date = ParseHttpDateMs(expires);
  if (!date) return std::nullopt;
  return std::max<int64_t>(0, *date - now_ms);
}

int64_t FreshnessPolicy::SkipForward(int64_t due_ms, uint32_t skip_hours, uint32_t skip_days) {
  skip_hours &= kAllHours;
  skip_days &= kAllDays;
  if (skip_hours == kAllHours) skip_hours = 0;
  if (skip_days == kAllDays) skip_days = 0;
  if (skip_hours == 0 && skip_days == 0) return due_ms;
  int64_t t = due_ms;
  // A week of hours covers every combination; the bound also keeps odd masks from looping.
  for (int step = 0; step < 24 * 8; ++step) {
    const int64_t days = (t >= 0 ? t : t - kDayMs + 1) / kDayMs;
    const int hour = static_cast<int>((t - days * kDayMs) / kHourMs);
    const int weekday = static_cast<int>(((days + 3) % 7 + 7) % 7);  // 1970-01-01: Thursday
    const bool skipped = (skip_hours >> hour & 1u) != 0 || (skip_days >> weekday & 1u) != 0;
    if (!skipped) return t;
    t = (t / kHourMs + 1) * kHourMs;  // start of the next hour
  }
  return due_ms;
}

bool FreshnessPolicy::IsHttpsUpgrade(std::string_view from, std::string_view to) {
  constexpr std::string_view kHttp = "http://", kHttps = "https://";
  if (from.size() < kHttp.size() || to.size() < kHttps.size()) return false;
  if (Lower(from.substr(0, kHttp.size())) != kHttp) return false;
  if (Lower(to.substr(0, kHttps.size())) != kHttps) return false;
  std::string_view from_rest = from.substr(kHttp.size());
  std::string_view to_rest = to.substr(kHttps.size());
  // An explicit default port on either side does not make it a different place.
  auto strip_port = [](std::string_view rest, std::string_view port) {
    const size_t slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    if (authority.size() > port.size() &&
        authority.substr(authority.size() - port.size()) == port) {
      return std::string(authority.substr(0, authority.size() - port.size())) +
             std::string(slash == std::string_view::npos ? "" : rest.substr(slash));
    }
    return std::string(rest);
  };
  const std::string a = strip_port(from_rest, ":80");
  const std::string b = strip_port(to_rest, ":443");
  const size_t a_slash = std::min(a.find('/'), a.size());
  const size_t b_slash = std::min(b.find('/'), b.size());
  // Host names compare without case; the rest exactly.
  return Lower(a.substr(0, a_slash)) == Lower(b.substr(0, b_slash)) &&
         a.substr(a_slash) == b.substr(b_slash);
}

int64_t FreshnessPolicy::Clamp(int64_t interval_ms) const {
  return std::clamp(interval_ms, options_.min_interval_ms,
                    std::max(options_.min_interval_ms, options_.max_interval_ms));
}

int64_t FreshnessPolicy::AdaptInterval(const FeedRecord& feed,
                                       const v1::JobReport& report) const {
  const int64_t current = feed.interval_ms > 0 ? feed.interval_ms : options_.default_interval_ms;
  if (report.outcome() == v1::OUTCOME_OK && report.publish_interval_ms() > 0) {
    // The feed says how often it publishes: fetch at that rhythm, averaged with the current
    // interval so one unusual document moves the schedule only half way.
    return Clamp((current + report.publish_interval_ms()) / 2);
  }
  if (report.outcome() == v1::OUTCOME_OK && report.new_items() > 0) {
    return Clamp(current - current / 4);  // something new: look a little sooner
  }
  return Clamp(current + current / 4);  // nothing new: look a little later
}

int64_t FreshnessPolicy::HintMs(const FeedRecord& feed, const v1::JobReport& report,
                                int64_t now_ms) const {
  int64_t hint = static_cast<int64_t>(std::max(feed.ttl_minutes, 0)) * 60'000;
  if (auto max_age = MaxAgeMs(report.cache_control())) {
    hint = std::max(hint, *max_age);
  } else if (auto expires = ExpiresMs(report.expires(), now_ms)) {
    hint = std::max(hint, *expires);  // max-age overrides Expires (RFC 9111 section 5.3)
  }
  return std::min(hint, options_.max_hint_ms);
}

std::optional<std::string> FreshnessPolicy::TrackRedirect(FeedRecord& feed,
                                                          const v1::JobReport& report,
                                                          int64_t now_ms) const {
  const std::string& target = report.effective_url();
  if (!report.permanent_redirect() || target.empty() || target == feed.url) {
    // A temporary redirect, or none: whatever was seen before is not confirmed.
    feed.redirect_url.clear();
    feed.redirect_seen = 0;
    feed.redirect_since_ms = 0;
    return std::nullopt;
  }
  if (IsHttpsUpgrade(feed.url, target)) {
    feed.redirect_url.clear();
    feed.redirect_seen = 0;
    feed.redirect_since_ms = 0;
    return target;
  }
  if (feed.redirect_url != target) {
    feed.redirect_url = target;
    feed.redirect_seen = 0;
    feed.redirect_since_ms = now_ms;
  }
  ++feed.redirect_seen;
  const bool confirmed =
      feed.redirect_seen >= std::max<uint32_t>(options_.redirect_confirmations, 1) ||
      (feed.redirect_seen >= 2 && now_ms - feed.redirect_since_ms >= options_.redirect_confirm_ms);
  if (!confirmed) return std::nullopt;
  feed.redirect_url.clear();
  feed.redirect_seen = 0;
  feed.redirect_since_ms = 0;
  return target;
}

FreshnessDecision FreshnessPolicy::Apply(FeedRecord& feed, const v1::JobReport& report,
                                         int64_t now_ms) {
  FreshnessDecision decision;
  ++feed.fetches;
  feed.last_fetch_ms = now_ms;
  feed.last_status = report.http_status();
  feed.last_outcome = OutcomeName(report.outcome());
  feed.last_error = report.error();

  if (report.outcome() == v1::OUTCOME_OK) {
    // Validators are kept only once the body was stored, so a failed parse is fetched again.
    feed.etag = report.etag();
    feed.last_modified = report.last_modified();
    feed.body_digest = report.body_digest();
    if (!report.feed_title().empty()) feed.title = report.feed_title();
    feed.items_total = report.total_items();
    feed.items_new_last = report.new_items();
    feed.ttl_minutes = report.ttl_minutes();
    feed.skip_hours = report.skip_hours();
    feed.skip_days = report.skip_days();
  } else if (report.outcome() == v1::OUTCOME_NOT_MODIFIED) {
    // A 304 may carry fresher validators (RFC 9110 section 15.4.5).
    if (!report.etag().empty()) feed.etag = report.etag();
    if (!report.last_modified().empty()) feed.last_modified = report.last_modified();
  }

  const int status = report.http_status();
  const bool throttled = report.outcome() == v1::OUTCOME_HTTP_ERROR &&
                         (status == 429 || status == 503);
  std::optional<int64_t> retry_after;
  if (throttled) {
    retry_after = RetryAfterMs(report.retry_after(), now_ms);
    const int64_t host_wait =
        std::min(retry_after.value_or(options_.host_pause_ms), options_.max_hint_ms);
    decision.pause_host_until_ms = now_ms + host_wait;
  }

  int64_t delay = 0;
  int64_t floor = 0;  // a delay jitter must not cut: the minimum interval, or a server's hint
  if (IsSuccess(report.outcome())) {
    feed.last_ok_ms = now_ms;
    feed.consecutive_failures = 0;
    if (feed.status == "paused") feed.status = "active";
    feed.interval_ms = AdaptInterval(feed, report);
    floor = std::max(options_.min_interval_ms, HintMs(feed, report, now_ms));
    delay = std::max(feed.interval_ms, floor);
    decision.move_to_url = TrackRedirect(feed, report, now_ms);
  } else {
    ++feed.failures;
    ++feed.consecutive_failures;
    if (IsPermanentFailure(report)) {
      ++feed.permanent_failures;
    } else {
      ++feed.transient_failures;
    }
    if (report.outcome() == v1::OUTCOME_HTTP_ERROR && status == 410) {
      feed.status = "disabled";  // Gone: the publisher said so; only an operator brings it back
      return decision;
    }
    if (feed.status == "paused" || feed.consecutive_failures >= options_.pause_after_failures) {
      feed.status = "paused";
      delay = options_.probe_interval_ms;
    } else {
      delay = BackoffMs(feed.consecutive_failures);
    }
    if (retry_after) floor = std::min(*retry_after, options_.max_hint_ms);
    delay = std::max(delay, floor);
  }
  // Jitter spreads feeds that were added together so they do not stay in step.
  const int64_t jittered = std::max(Jitter(delay), floor);
  decision.next_due_ms =
      SkipForward(now_ms + std::max<int64_t>(jittered, 0), feed.skip_hours, feed.skip_days);
  feed.next_due_ms = *decision.next_due_ms;
  return decision;
}

}  // namespace feedcrawl
