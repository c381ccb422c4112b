#include "tests/server/fault_spec.h"

#include <charconv>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace feedcrawl::testserver {
namespace {

template <typename T>
Status ParseNumber(const std::string& name, const std::string& value, T* out) {
  T parsed{};
  const char* end = value.data() + value.size();
  auto [ptr, ec] = std::from_chars(value.data(), end, parsed);
  if (ec != std::errc() || ptr != end || parsed < 0) {
    return Status::InvalidArgument("fault " + name + ": not a non-negative integer: '" + value +
                                   "'");
  }
  *out = parsed;
  return Status::Ok();
}

bool IsTrue(const std::string& value) {
  return value.empty() || value == "1" || value == "true" || value == "yes";
}

bool IsFalse(const std::string& value) { return value == "0" || value == "false" || value == "no"; }

std::string JsonValueText(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  return value.dump();
}

}  // namespace

Status SetFaultField(const std::string& name, const std::string& value, FaultSpec* spec) {
  if (name == "status") {
    int status = 0;
    Status s = ParseNumber(name, value, &status);
    if (!s.ok()) return s;
    if (status < 100 || status > 999) {
      return Status::InvalidArgument("fault status out of range: " + value);
    }
    spec->status = status;
    return Status::Ok();
  }
  if (name == "delay_ms") return ParseNumber(name, value, &spec->delay_ms);
  if (name == "drip_ms") return ParseNumber(name, value, &spec->drip_ms);
  if (name == "redirect") {
    if (value.empty()) return Status::InvalidArgument("fault redirect: empty target");
    spec->redirect = value;
    return Status::Ok();
  }
  if (name == "redirect_status") {
    Status s = ParseNumber(name, value, &spec->redirect_status);
    if (s.ok() && (spec->redirect_status < 300 || spec->redirect_status > 399)) {
      return Status::InvalidArgument("fault redirect_status is not 3xx: " + value);
    }
    return s;
  }
  auto set_size = [&](std::optional<size_t>* field) {
    size_t n = 0;
    Status s = ParseNumber(name, value, &n);
    if (s.ok()) *field = n;
    return s;
  };
  if (name == "truncate") return set_size(&spec->truncate);
  if (name == "oversize_bytes") return set_size(&spec->oversize_bytes);
  if (name == "gzip_bomb_bytes") return set_size(&spec->gzip_bomb_bytes);
  if (name == "garbage") {
    // `garbage`, `garbage=true` or `garbage=N` (a byte count).
    if (IsFalse(value)) {
      spec->garbage_bytes.reset();
      return Status::Ok();
    }
    if (IsTrue(value)) {
      spec->garbage_bytes = kDefaultGarbageBytes;
      return Status::Ok();
    }
    return set_size(&spec->garbage_bytes);
  }
  if (name == "retry_after") {
    spec->retry_after = value;
    return Status::Ok();
  }
  if (name == "content_type") {
    spec->content_type = value;
    return Status::Ok();
  }
  if (name == "no_validators") {
    if (!IsTrue(value) && !IsFalse(value)) {
      return Status::InvalidArgument("fault no_validators: not a boolean: " + value);
    }
    spec->no_validators = IsTrue(value);
    return Status::Ok();
  }
  return Status::NotFound("unknown fault: " + name);
}

Status ApplyQueryFaults(const std::multimap<std::string, std::string>& params, FaultSpec* spec) {
  for (const auto& [name, value] : params) {
    Status s = SetFaultField(name, value, spec);
    if (!s.ok() && !s.IsNotFound()) return s;
  }
  return Status::Ok();
}

StatusOr<FaultSpec> FaultFromJson(const nlohmann::json& json) {
  if (!json.is_object()) return Status::InvalidArgument("a fault must be a JSON object");
  FaultSpec spec;
  for (const auto& [name, value] : json.items()) {
    Status s = SetFaultField(name, JsonValueText(value), &spec);
    if (!s.ok()) return s;
  }
  return spec;
}

StatusOr<FaultTable> FaultTable::Load(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return Status::NotFound("cannot open faults file " + file);
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json json = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return Status::InvalidArgument("faults file is not JSON: " + file);
  return FromJson(json);
}

StatusOr<FaultTable> FaultTable::FromJson(const nlohmann::json& json) {
  if (!json.is_object()) return Status::InvalidArgument("faults must be a JSON object");
  FaultTable table;
  for (const auto& [path, value] : json.items()) {
    if (path.empty() || path[0] != '/') {
      return Status::InvalidArgument("fault path must start with '/': " + path);
    }
    StatusOr<FaultSpec> spec = FaultFromJson(value);
    if (!spec.ok()) return Status::InvalidArgument(path + ": " + spec.status().message());
    table.faults_[path] = *spec;
  }
  return table;
}

FaultSpec FaultTable::Find(const std::string& path) const {
  auto it = faults_.find(path);
  return it == faults_.end() ? FaultSpec{} : it->second;
}

}  // namespace feedcrawl::testserver
