// Number and duration formatting for the feedcrawl command's human-readable output (progress
// line, summary, tables). Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace feedcrawl::cli {

// 9600 -> "9,600".
std::string FormatCount(uint64_t value);

// Milliseconds as a short duration: "0.4 s", "3.2 s", "2m 05s", "1h 02m".
std::string FormatDuration(int64_t ms);

// A rate per second: whole numbers with separators from 10 up ("2,950"), one decimal below ("0.5").
std::string FormatRate(double per_second);

// `value` with exactly `decimals` decimals, rounded as printf rounds: FormatFixed(2.806, 2) ->
// "2.81".
std::string FormatFixed(double value, int decimals);

// Table cells: `text` padded with spaces to `width` on the right (PadRight, left-aligned) or on
// the left (PadLeft); longer text is kept whole.
std::string PadRight(std::string text, size_t width);
std::string PadLeft(const std::string& text, size_t width);

}  // namespace feedcrawl::cli
