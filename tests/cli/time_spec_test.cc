#include "cli/time_spec.h"

#include <gtest/gtest.h>

#include "tests/support/status_matchers.h"

namespace feedcrawl::cli {
namespace {

constexpr int64_t kNow = 1'714'564'800'000;  // 2024-05-01T12:00:00Z

TEST(TimeSpecTest, Rfc3339Utc) {
  ASSERT_OK_AND_ASSIGN(int64_t ms, ParseRfc3339("2024-05-01T12:00:00Z"));
  EXPECT_EQ(ms, kNow);
  ASSERT_OK_AND_ASSIGN(int64_t epoch, ParseRfc3339("1970-01-01T00:00:00Z"));
  EXPECT_EQ(epoch, 0);
  ASSERT_OK_AND_ASSIGN(int64_t lower, ParseRfc3339("2024-05-01t12:00:00z"));
  EXPECT_EQ(lower, kNow);
  ASSERT_OK_AND_ASSIGN(int64_t space, ParseRfc3339("2024-05-01 12:00:00Z"));
  EXPECT_EQ(space, kNow);
}

TEST(TimeSpecTest, Rfc3339FractionsAndOffsets) {
  ASSERT_OK_AND_ASSIGN(int64_t fraction, ParseRfc3339("2024-05-01T12:00:00.5Z"));
  EXPECT_EQ(fraction, kNow + 500);
  ASSERT_OK_AND_ASSIGN(int64_t micros, ParseRfc3339("2024-05-01T12:00:00.123456Z"));
  EXPECT_EQ(micros, kNow + 123);
  ASSERT_OK_AND_ASSIGN(int64_t east, ParseRfc3339("2024-05-01T14:00:00+02:00"));
  EXPECT_EQ(east, kNow);
  ASSERT_OK_AND_ASSIGN(int64_t west, ParseRfc3339("2024-05-01T07:30:00-04:30"));
  EXPECT_EQ(west, kNow);
}

TEST(TimeSpecTest, DatesAndLeapYears) {
  ASSERT_OK_AND_ASSIGN(int64_t date, ParseRfc3339("2024-05-01"));
  EXPECT_EQ(date, kNow - 12 * 3'600'000);
  ASSERT_OK_AND_ASSIGN(int64_t leap, ParseRfc3339("2024-02-29T00:00:00Z"));
  ASSERT_OK_AND_ASSIGN(int64_t march, ParseRfc3339("2024-03-01T00:00:00Z"));
  EXPECT_EQ(march - leap, 86'400'000);
  ASSERT_OK_AND_ASSIGN(int64_t y2k, ParseRfc3339("2000-02-29"));
  EXPECT_EQ(y2k, 951'782'400'000);
  EXPECT_FALSE(ParseRfc3339("2023-02-29").ok());
  EXPECT_FALSE(ParseRfc3339("1900-02-29").ok());
}

TEST(TimeSpecTest, RejectsMalformedTimestamps) {
  for (const char* bad : {"2024-13-01", "2024-00-10", "2024-04-31", "2024-05-01T24:00:00Z",
                          "2024-05-01T12:60:00Z", "2024-05-01T12:00:00", "2024-05-01T12:00Z",
                          "2024-05-01T12:00:00.Z", "2024-05-01T12:00:00+0200",
                          "2024-05-01T12:00:00Zjunk", "2024-5-1", "24-05-01"}) {
    EXPECT_FALSE(ParseTimeSpec(bad, kNow).ok()) << bad;
  }
}

TEST(TimeSpecTest, DurationsCountBackFromNow) {
  ASSERT_OK_AND_ASSIGN(int64_t two_hours, ParseTimeSpec("2h", kNow));
  EXPECT_EQ(two_hours, kNow - 2 * 3'600'000);
  ASSERT_OK_AND_ASSIGN(int64_t three_days, ParseTimeSpec("3d", kNow));
  EXPECT_EQ(three_days, kNow - 3 * 86'400'000LL);
  ASSERT_OK_AND_ASSIGN(int64_t week, ParseTimeSpec("1w", kNow));
  EXPECT_EQ(week, kNow - 7 * 86'400'000LL);
  ASSERT_OK_AND_ASSIGN(int64_t combined, ParseTimeSpec("1h30m15s", kNow));
  EXPECT_EQ(combined, kNow - (3600 + 1800 + 15) * 1000);
  ASSERT_OK_AND_ASSIGN(int64_t zero, ParseTimeSpec("0s", kNow));
  EXPECT_EQ(zero, kNow);
}

TEST(TimeSpecTest, RejectsMalformedDurations) {
  for (const char* bad : {"", "h", "2", "2x", "-2h", "2 h", "2h ", "1.5h", "99999999999999d"}) {
    StatusOr<int64_t> parsed = ParseTimeSpec(bad, kNow);
    EXPECT_FALSE(parsed.ok()) << "'" << bad << "'";
    if (!parsed.ok()) {
      EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
    }
  }
}

}  // namespace
}  // namespace feedcrawl::cli
