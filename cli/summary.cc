#include "cli/summary.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "cli/format.h"

namespace feedcrawl::cli {
namespace {

constexpr size_t kLabelWidth = 14;

std::string Row(const std::string& label, const std::string& number, size_t number_width) {
  std::string row = "  " + label + std::string(kLabelWidth - label.size(), ' ');
  if (number.size() < number_width) row += std::string(number_width - number.size(), ' ');
  return row + number;
}

std::string Headline(const RunStats& stats, bool completed) {
  double seconds = static_cast<double>(stats.run_elapsed_ms) / 1000.0;
  double rate = seconds > 0 ? static_cast<double>(stats.run_done) / seconds : 0;
  std::string tail = " (" + FormatRate(rate) + " feeds/s)";
  if (completed) {
    return "Crawled " + FormatCount(stats.run_done) + " feeds in " +
           FormatDuration(stats.run_elapsed_ms) + tail;
  }
  std::string done = FormatCount(stats.run_done);
  if (stats.run_once) done += " of " + FormatCount(stats.run_feeds);
  return "Stopped after " + FormatDuration(stats.run_elapsed_ms) + ": crawled " + done +
         " feeds" + tail;
}

}  // namespace

std::string FormatProcessUsage(const std::vector<RoleUsage>& roles) {
  size_t role_width = 0, count_width = 0, cpu_width = 0, rss_width = 0;
  std::vector<std::vector<std::string>> cells;
  for (const RoleUsage& role : roles) {
    cells.push_back({role.role, std::to_string(role.processes),
                     FormatFixed(static_cast<double>(role.usage.cpu_us) / 1e6, 2),
                     FormatFixed(static_cast<double>(role.usage.peak_rss_kb) / 1024.0, 1)});
    role_width = std::max(role_width, cells.back()[0].size());
    count_width = std::max(count_width, cells.back()[1].size());
    cpu_width = std::max(cpu_width, cells.back()[2].size());
    rss_width = std::max(rss_width, cells.back()[3].size());
  }
  std::string text;
  for (size_t i = 0; i < cells.size(); ++i) {
    std::string label = i == 0 ? "processes" : "";
    text += "  " + PadRight(label, kLabelWidth) + PadRight(cells[i][0], role_width) + "  " +
            PadLeft(cells[i][1], count_width) + "  " + PadLeft(cells[i][2], cpu_width) +
            " s CPU  " + PadLeft(cells[i][3], rss_width) + " MiB peak\n";
  }
  return text;
}

std::string FormatFailureReasons(const RunStats& stats) {
  std::vector<std::pair<std::string, uint64_t>> reasons(stats.run_failed_by_reason.begin(),
                                                        stats.run_failed_by_reason.end());
  // The map is ordered by name, so a stable sort by count keeps ties alphabetical.
  std::stable_sort(reasons.begin(), reasons.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  std::string text;
  for (const auto& [reason, count] : reasons) {
    if (!text.empty()) text += ", ";
    text += reason + " " + FormatCount(count);
  }
  return text;
}

std::string FormatSummary(const RunStats& stats, bool completed) {
  std::string ok = FormatCount(stats.run_ok);
  std::string not_modified = FormatCount(stats.run_not_modified);
  std::string failed = FormatCount(stats.run_failed);
  size_t width = std::max({ok.size(), not_modified.size(), failed.size()});

  std::string text = Headline(stats, completed) + "\n";
  if (stats.has_run_counts) {
    text += Row("ok", ok, width) + "\n";
    text += Row("not modified", not_modified, width) + "\n";
  }
  text += Row("failed", failed, width);
  std::string reasons = FormatFailureReasons(stats);
  if (!reasons.empty()) text += "   (" + reasons + ")";
  text += "\n";
  text += Row("items", FormatCount(stats.run_items_new), width) + " new, " +
          FormatCount(stats.items_total) + " stored in total\n";
  return text;
}

}  // namespace feedcrawl::cli
