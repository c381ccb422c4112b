// Fault injection for the test feed server: what a path should do wrong, read from the --faults
// JSON file ({"/path": {"status": 500, ...}}) and from query parameters on any request
// (?status=500&delay_ms=200), the query overriding the file. Value types; FaultTable is immutable
// after Load, so it can be shared between request threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>

#include "common/status.h"

namespace feedcrawl::testserver {

struct FaultSpec {
  std::optional<int> status;  // answer with this status and a small body
  int64_t delay_ms = 0;       // sleep before answering
  std::string redirect;       // Location target
  int redirect_status = 302;
  std::optional<size_t> truncate;         // send the first N bytes, claim the full length, close
  std::optional<size_t> oversize_bytes;   // stream N bytes of XML, chunked, no Content-Length
  std::optional<size_t> garbage_bytes;    // N random non-XML bytes instead of the file
  int64_t drip_ms = 0;                    // one body byte every N ms (slowloris)
  std::string retry_after;                // Retry-After header value
  std::optional<size_t> gzip_bomb_bytes;  // a gzip body that inflates to N bytes
  std::string content_type;               // Content-Type override
  bool no_validators = false;             // no ETag / Last-Modified, never 304

  // True when the body comes from the fault itself, so no file needs to exist.
  bool GeneratesBody() const { return oversize_bytes || garbage_bytes || gzip_bomb_bytes; }
};

// Size of a garbage body when the fault is given as `garbage=true` rather than a byte count.
inline constexpr size_t kDefaultGarbageBytes = 2048;

// Sets one field by its name from a textual value ("500", "true", "/b.xml"). Returns
// InvalidArgument for a malformed value and NotFound for a name that is not a fault.
Status SetFaultField(const std::string& name, const std::string& value, FaultSpec* spec);

// Overlays the fault names found among query parameters onto `spec`; other parameters are ignored.
Status ApplyQueryFaults(const std::multimap<std::string, std::string>& params, FaultSpec* spec);

// One fault object of the faults file. Unknown names are an error, so typos do not pass silently.
StatusOr<FaultSpec> FaultFromJson(const nlohmann::json& json);

class FaultTable {
 public:
  FaultTable() = default;
  // Reads a JSON object mapping URL paths to fault objects.
  static StatusOr<FaultTable> Load(const std::string& file);
  static StatusOr<FaultTable> FromJson(const nlohmann::json& json);

  // The configured fault for `path`, or an empty spec.
  FaultSpec Find(const std::string& path) const;
  size_t size() const { return faults_.size(); }

 private:
  std::map<std::string, FaultSpec> faults_;
};

}  // namespace feedcrawl::testserver
