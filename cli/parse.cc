#include "cli/parse.h"

#include <nlohmann/json.hpp>

#include "cli/exit_codes.h"
#include "cli/file_util.h"
#include "common/feed_model.h"
#include "processor/parser.h"

namespace feedcrawl::cli {

int ParseCommand(const ParseCommandOptions& options, std::ostream& out, std::ostream& err) {
  StatusOr<std::string> body = ReadFileToString(options.file);
  if (!body.ok()) {
    err << "feedcrawl: error: " << body.status().message() << "\n";
    return kExitFailure;
  }
  ParseOptions parse_options;
  parse_options.url = options.url;
  parse_options.content_type = options.content_type;
  ParsedFeed parsed = ParseFeed(*body, parse_options);
  out << ParsedFeedToJson(parsed).dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
      << "\n";
  return kExitOk;
}

}  // namespace feedcrawl::cli
