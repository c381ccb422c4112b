// Date parsing for feeds: RFC 822/1123 (RSS), RFC 3339 / ISO 8601 / W3C-DTF (Atom, Dublin Core,
// JSON Feed) and the broken variants real feeds publish. Every function returns UTC milliseconds
// since the Unix epoch, or nullopt when the text is not a date it can read with confidence.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace feedcrawl {

// RFC 822/1123 and relatives: "Sat, 07 Sep 2002 00:00:01 GMT", 2-digit years, missing seconds or
// weekday, named and military zones, +hhmm / +hh:mm offsets, RFC 850 and asctime forms. A missing
// zone means UTC.
std::optional<int64_t> ParseRfc822Date(std::string_view text);

// ISO 8601 / RFC 3339 / W3C-DTF, including partial dates ("2003", "2003-12", "2003-12-31"), basic
// format ("20031231T101455Z"), a space instead of 'T', fractional seconds and a missing zone (UTC).
std::optional<int64_t> ParseIso8601Date(std::string_view text);

// Tries both grammars, the likelier one first; what feed parsers call for any date element.
std::optional<int64_t> ParseFeedDate(std::string_view text);

// Days since 1970-01-01 of a proleptic Gregorian date (month 1-12). Exposed for tests.
int64_t DaysFromCivil(int64_t year, int month, int day);

}  // namespace feedcrawl
