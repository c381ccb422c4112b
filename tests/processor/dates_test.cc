#include "processor/dates.h"

#include <gtest/gtest.h>

namespace feedcrawl {
namespace {

// 2002-09-07T00:00:01Z, the RSS 2.0 specification's example instant.
constexpr int64_t kSpecInstant = 1031356801000;

TEST(DaysFromCivilTest, KnownDays) {
  EXPECT_EQ(DaysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(DaysFromCivil(2000, 3, 1), 11017);
  EXPECT_EQ(DaysFromCivil(1969, 12, 31), -1);
  EXPECT_EQ(DaysFromCivil(2024, 2, 29) + 1, DaysFromCivil(2024, 3, 1));
}

struct DateCase {
  const char* text;
  int64_t expected_ms;
};

class Rfc822Test : public ::testing::TestWithParam<DateCase> {};

TEST_P(Rfc822Test, Parses) {
  std::optional<int64_t> ms = ParseRfc822Date(GetParam().text);
  ASSERT_TRUE(ms.has_value()) << GetParam().text;
  EXPECT_EQ(*ms, GetParam().expected_ms) << GetParam().text;
  // Every RFC 822 form is also accepted by the generic entry point.
  EXPECT_EQ(ParseFeedDate(GetParam().text), GetParam().expected_ms) << GetParam().text;
}

INSTANTIATE_TEST_SUITE_P(
    Variants, Rfc822Test,
    ::testing::Values(
        DateCase{"Sat, 07 Sep 2002 00:00:01 GMT", kSpecInstant},
        DateCase{"Sat, 07 Sep 2002 00:00:01 UT", kSpecInstant},
        DateCase{"Sat, 07 Sep 2002 00:00:01 UTC", kSpecInstant},
        DateCase{"Sat, 07 Sep 2002 00:00:01 Z", kSpecInstant},
        DateCase{"Sat, 07 Sep 2002 00:00:01 +0000", kSpecInstant},
        DateCase{"Sat, 07 Sep 2002 00:00:01 -0000", kSpecInstant},
        DateCase{"07 Sep 2002 00:00:01 GMT", kSpecInstant},          // no weekday
        DateCase{"Mon, 07 Sep 2002 00:00:01 GMT", kSpecInstant},     // wrong weekday
        DateCase{"Saturday, 07 Sep 2002 00:00:01 GMT", kSpecInstant},
        DateCase{"Sat, 7 Sep 2002 0:00:01 GMT", kSpecInstant},       // single digits
        DateCase{"Sat,07 Sep 2002 00:00:01 GMT", kSpecInstant},
        DateCase{"  Sat,  07   Sep  2002\t00:00:01   GMT  ", kSpecInstant},
        DateCase{"Sat, 07 Sep 02 00:00:01 GMT", kSpecInstant},       // 2-digit year
        DateCase{"Sat, 07 sep 2002 00:00:01 gmt", kSpecInstant},     // case
        DateCase{"Sat, 07 September 2002 00:00:01 GMT", kSpecInstant},
        DateCase{"Sat, 07 Sept 2002 00:00:01 GMT", kSpecInstant},
        DateCase{"Sat, 07 Sep 2002 00:00:01", kSpecInstant},         // no zone: UTC
        DateCase{"Sat, 07 Sep 2002 00:00:01Z", kSpecInstant},
        DateCase{"Sat, 07 Sep 2002 00:00:01.000 GMT", kSpecInstant},
        DateCase{"Sat, 07-Sep-2002 00:00:01 GMT", kSpecInstant},     // RFC 850
        DateCase{"Saturday, 07-Sep-02 00:00:01 GMT", kSpecInstant},
        DateCase{"Sat Sep  7 00:00:01 2002", kSpecInstant},          // asctime
        DateCase{"Sep 07 2002 00:00:01 GMT", kSpecInstant},          // month first
        DateCase{"Sat, Sep 7, 2002 00:00:01 GMT", kSpecInstant},
        DateCase{"Fri, 06 Sep 2002 20:00:01 EDT", kSpecInstant},
        DateCase{"Fri, 06 Sep 2002 19:00:01 EST", kSpecInstant},
        DateCase{"Fri, 06 Sep 2002 19:00:01 CDT", kSpecInstant},
        DateCase{"Fri, 06 Sep 2002 18:00:01 CST", kSpecInstant},
        DateCase{"Fri, 06 Sep 2002 18:00:01 MDT", kSpecInstant},
        DateCase{"Fri, 06 Sep 2002 17:00:01 MST", kSpecInstant},
        DateCase{"Fri, 06 Sep 2002 17:00:01 PDT", kSpecInstant},
        DateCase{"Fri, 06 Sep 2002 16:00:01 PST", kSpecInstant},
        DateCase{"Fri, 06 Sep 2002 20:00:01 -0400", kSpecInstant},
        DateCase{"Fri, 06 Sep 2002 20:00:01 -04:00", kSpecInstant},
        DateCase{"Fri, 06 Sep 2002 20:00:01 -04", kSpecInstant},
        DateCase{"Sat, 07 Sep 2002 05:30:01 +0530", kSpecInstant},
        DateCase{"Sat, 07 Sep 2002 05:30:01 +05:30", kSpecInstant},
        DateCase{"Sat, 07 Sep 2002 02:00:01 GMT+2", kSpecInstant},
        DateCase{"Fri, 06 Sep 2002 20:00:01 -0400 (EDT)", kSpecInstant},
        DateCase{"Sat, 07 Sep 2002 01:00:01 A", kSpecInstant},       // military: Alpha = +1
        DateCase{"Fri, 06 Sep 2002 23:00:01 N", kSpecInstant},       // November = -1
        DateCase{"Sat, 07 Sep 2002 12:00:01 M", kSpecInstant},       // Mike = +12
        DateCase{"Fri, 06 Sep 2002 12:00:01 Y", kSpecInstant},       // Yankee = -12
        DateCase{"Sat, 07 Sep 2002 12:00:01 AM GMT", kSpecInstant},  // 12-hour clock
        DateCase{"Sat, 07 Sep 2002 00:00 GMT", kSpecInstant - 1000},  // no seconds
        DateCase{"Sat, 07 Sep 2002", kSpecInstant - 1000}));          // date only

TEST(Rfc822EdgeTest, PmAndLocalisedWeekday) {
  EXPECT_EQ(ParseRfc822Date("Sat, Dec 16 2023 02:02:33 PM"), ParseIso8601Date("2023-12-16T14:02:33Z"));
  EXPECT_EQ(ParseRfc822Date("mer, 16 nov 2022 00:38:15 +0100"),
            ParseIso8601Date("2022-11-15T23:38:15Z"));
  EXPECT_EQ(ParseRfc822Date("Sat, 07 Sep 1999 00:00:01 GMT"), ParseIso8601Date("1999-09-07T00:00:01Z"));
  EXPECT_EQ(ParseRfc822Date("Tue, 07 Sep 99 00:00:01 GMT"), ParseIso8601Date("1999-09-07T00:00:01Z"));
  EXPECT_EQ(ParseRfc822Date("Sat, 31 Dec 2016 23:59:60 GMT"), ParseIso8601Date("2016-12-31T23:59:59Z"));
}

TEST(Rfc822EdgeTest, RejectsGarbage) {
  for (const char* text : {"", "   ", "not a date", "Sat, 32 Sep 2002 00:00:01 GMT",
                           "Sat, 29 Feb 2001 00:00:01 GMT", "Sat, 07 Foo 2002 00:00:01 GMT",
                           "Sat, 07 Sep 2002 25:00:01 GMT", "Sat, 07 Sep 2002 00:61:01 GMT",
                           "Sat, 07 Sep 2002 00:00:01 XYZ", "07 2002", "Sep 2002", "12345678901",
                           "Sat, 07 Sep 2002 00:00:01 +9999"}) {
    EXPECT_FALSE(ParseRfc822Date(text).has_value()) << text;
    EXPECT_FALSE(ParseFeedDate(text).has_value()) << text;
  }
}

class Iso8601Test : public ::testing::TestWithParam<DateCase> {};

TEST_P(Iso8601Test, Parses) {
  std::optional<int64_t> ms = ParseIso8601Date(GetParam().text);
  ASSERT_TRUE(ms.has_value()) << GetParam().text;
  EXPECT_EQ(*ms, GetParam().expected_ms) << GetParam().text;
  EXPECT_EQ(ParseFeedDate(GetParam().text), GetParam().expected_ms) << GetParam().text;
}

INSTANTIATE_TEST_SUITE_P(
    Variants, Iso8601Test,
    ::testing::Values(DateCase{"2002-09-07T00:00:01Z", kSpecInstant},
                      DateCase{"2002-09-07t00:00:01z", kSpecInstant},
                      DateCase{"2002-09-07T00:00:01+00:00", kSpecInstant},
                      DateCase{"2002-09-07T00:00:01-00:00", kSpecInstant},
                      DateCase{"2002-09-06T20:00:01-04:00", kSpecInstant},
                      DateCase{"2002-09-06T20:00:01-0400", kSpecInstant},
                      DateCase{"2002-09-06T20:00:01-04", kSpecInstant},
                      DateCase{"2002-09-07T05:30:01+05:30", kSpecInstant},
                      DateCase{"2002-09-07T00:00:01", kSpecInstant},  // no zone: UTC
                      DateCase{"2002-09-07 00:00:01", kSpecInstant},
                      DateCase{"2002-09-07 00:00:01 UTC", kSpecInstant},
                      DateCase{"2002-09-06 20:00:01 EDT", kSpecInstant},
                      DateCase{"2002-09-06T20:00:01 -0400", kSpecInstant},
                      DateCase{"  2002-09-07T00:00:01Z \n", kSpecInstant},
                      DateCase{"2002-09-07T00:00:01.250Z", kSpecInstant + 250},
                      DateCase{"2002-09-07T00:00:01.25Z", kSpecInstant + 250},
                      DateCase{"2002-09-07T00:00:01.123456789Z", kSpecInstant + 123},
                      DateCase{"20020907T000001Z", kSpecInstant},  // basic format
                      DateCase{"20020907", kSpecInstant - 1000},
                      DateCase{"2002-09-07T00:00Z", kSpecInstant - 1000},
                      DateCase{"2002/09/07 00:00:01", kSpecInstant},
                      DateCase{"2002-9-7T0:00:01Z", kSpecInstant},
                      DateCase{"2002-09-07", kSpecInstant - 1000},
                      DateCase{"2002-09", 1030838400000},
                      DateCase{"2002", 1009843200000},
                      DateCase{"1970-01-01T00:00:00Z", 0},
                      DateCase{"1969-12-31T23:59:59Z", -1000},
                      DateCase{"2002-09-06T24:00:00Z", kSpecInstant - 1000}));

TEST(Iso8601EdgeTest, RejectsGarbage) {
  for (const char* text : {"", "2002-13-01", "2002-02-30", "2002-09-07T25:00:00Z",
                           "2002-09-07T00:00:01+25:00", "2002-09-07Tfoo", "200", "2002-09-07 junk",
                           "abcd-ef-gh", "2002-09-07T24:00:01Z"}) {
    EXPECT_FALSE(ParseIso8601Date(text).has_value()) << text;
  }
}

}  // namespace
}  // namespace feedcrawl
