#include "common/url.h"

#include <optional>

namespace feedcrawl {
namespace {

// The five components of RFC 3986 section 3; an absent component is nullopt (an empty query
// "?" is different from no query).
struct UrlParts {
  std::optional<std::string_view> scheme;
  std::optional<std::string_view> authority;
  std::string_view path;
  std::optional<std::string_view> query;
  std::optional<std::string_view> fragment;
};

bool IsSchemeChar(char c, bool first) {
  bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  if (first) return alpha;
  return alpha || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
}

UrlParts SplitUrl(std::string_view s) {
  UrlParts parts;
  size_t colon = s.find(':');
  if (colon != std::string_view::npos && colon > 0) {
    bool valid = true;
    for (size_t i = 0; i < colon && valid; ++i) valid = IsSchemeChar(s[i], i == 0);
    if (valid) {
      parts.scheme = s.substr(0, colon);
      s.remove_prefix(colon + 1);
    }
  }
  if (size_t hash = s.find('#'); hash != std::string_view::npos) {
    parts.fragment = s.substr(hash + 1);
    s = s.substr(0, hash);
  }
  if (size_t question = s.find('?'); question != std::string_view::npos) {
    parts.query = s.substr(question + 1);
    s = s.substr(0, question);
  }
  if (s.size() >= 2 && s[0] == '/' && s[1] == '/') {
    size_t end = s.find('/', 2);
    if (end == std::string_view::npos) end = s.size();
    parts.authority = s.substr(2, end - 2);
    s.remove_prefix(end);
  }
  parts.path = s;
  return parts;
}

// RFC 3986 section 5.2.4.
std::string RemoveDotSegments(std::string_view input) {
  std::string output;
  output.reserve(input.size());
  auto drop_last_segment = [&output] {
    size_t slash = output.rfind('/');
    output.erase(slash == std::string::npos ? 0 : slash);
  };
  while (!input.empty()) {
    if (input.substr(0, 3) == "../") {
      input.remove_prefix(3);
    } else if (input.substr(0, 2) == "./") {
      input.remove_prefix(2);
    } else if (input.substr(0, 3) == "/./") {
      input.remove_prefix(2);
    } else if (input == "/.") {
      input = "/";
    } else if (input.substr(0, 4) == "/../") {
      input.remove_prefix(3);
      drop_last_segment();
    } else if (input == "/..") {
      input = "/";
      drop_last_segment();
    } else if (input == "." || input == "..") {
      input = {};
    } else {
      size_t next = input.find('/', input[0] == '/' ? 1 : 0);
      if (next == std::string_view::npos) next = input.size();
      output.append(input.substr(0, next));
      input.remove_prefix(next);
    }
  }
  return output;
}

std::string Compose(std::string_view scheme, std::optional<std::string_view> authority,
                    std::string_view path, std::optional<std::string_view> query,
                    std::optional<std::string_view> fragment) {
  std::string out;
  out.reserve(scheme.size() + path.size() + 32);
  out.append(scheme).push_back(':');
  if (authority) out.append("//").append(*authority);
  out.append(path);
  if (query) out.append("?").append(*query);
  if (fragment) out.append("#").append(*fragment);
  return out;
}

}  // namespace

std::string UrlHost(std::string_view url) {
  UrlParts parts = SplitUrl(url);
  if (!parts.scheme || !parts.authority) return "";
  std::string_view host = *parts.authority;
  if (size_t at = host.rfind('@'); at != std::string_view::npos) host.remove_prefix(at + 1);
  if (!host.empty() && host[0] == '[') {
    size_t close = host.find(']');
    host = close == std::string_view::npos ? host : host.substr(0, close + 1);
  } else if (size_t colon = host.find(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  std::string out(host);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string ResolveUrl(std::string_view base, std::string_view reference) {
  UrlParts r = SplitUrl(reference);
  if (r.scheme) return std::string(reference);
  UrlParts b = SplitUrl(base);
  if (!b.scheme) return std::string(reference);

  if (r.authority) {
    return Compose(*b.scheme, r.authority, RemoveDotSegments(r.path), r.query, r.fragment);
  }
  if (r.path.empty()) {
    return Compose(*b.scheme, b.authority, b.path, r.query ? r.query : b.query, r.fragment);
  }
  if (r.path[0] == '/') {
    return Compose(*b.scheme, b.authority, RemoveDotSegments(r.path), r.query, r.fragment);
  }
  // Merge (section 5.2.3): the reference replaces the base path's last segment.
  std::string merged;
  if (b.authority && b.path.empty()) {
    merged = "/";
  } else {
    size_t slash = b.path.rfind('/');
    if (slash != std::string_view::npos) merged.assign(b.path.substr(0, slash + 1));
  }
  merged.append(r.path);
  return Compose(*b.scheme, b.authority, RemoveDotSegments(merged), r.query, r.fragment);
}

}  // namespace feedcrawl
