#include "cli/feed_list.h"

#include <cctype>
#include <cstring>
#include <unordered_set>

#include <pugixml.hpp>

#include "cli/file_util.h"
#include "common/ascii.h"

namespace feedcrawl::cli {
namespace {

bool StartsWithNoCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
  }
  return true;
}

std::string_view SkipBom(std::string_view text) {
  if (text.size() >= 3 && std::memcmp(text.data(), "\xEF\xBB\xBF", 3) == 0) text.remove_prefix(3);
  return text;
}

class UrlCollector {
 public:
  void Add(std::string url) {
    if (seen_.insert(url).second) urls_.push_back(std::move(url));
  }
  std::vector<std::string> Take() { return std::move(urls_); }

 private:
  std::unordered_set<std::string> seen_;
  std::vector<std::string> urls_;
};

StatusOr<std::vector<std::string>> ParseTextList(std::string_view content) {
  UrlCollector urls;
  size_t line_number = 0;
  while (!content.empty()) {
    size_t end = content.find('\n');
    std::string_view line = content.substr(0, end);
    content.remove_prefix(end == std::string_view::npos ? content.size() : end + 1);
    ++line_number;
    // A '#' preceded by whitespace starts a comment; a '#' inside a URL is its fragment.
    for (size_t i = 0; i < line.size(); ++i) {
      if (line[i] == '#' && (i == 0 || std::isspace(static_cast<unsigned char>(line[i - 1])))) {
        line = line.substr(0, i);
        break;
      }
    }
    line = TrimAsciiSpace(line);
    if (line.empty()) continue;
    if (!IsFeedUrl(line)) {
      return Status::InvalidArgument("line " + std::to_string(line_number) +
                                     ": not an http(s) URL: " + std::string(line));
    }
    urls.Add(std::string(line));
  }
  return urls.Take();
}

// Attribute names are matched without case: exporters write xmlUrl, xmlurl and XMLURL.
pugi::xml_attribute FindAttributeNoCase(const pugi::xml_node& node, const char* lower_name) {
  for (pugi::xml_attribute attribute : node.attributes()) {
    const char* name = attribute.name();
    if (std::strlen(name) == std::strlen(lower_name) && StartsWithNoCase(name, lower_name)) {
      return attribute;
    }
  }
  return {};
}

Status CollectOutlines(const pugi::xml_node& parent, UrlCollector& urls) {
  for (pugi::xml_node child : parent.children()) {
    if (child.type() != pugi::node_element) continue;
    if (std::strcmp(child.name(), "outline") == 0) {
      pugi::xml_attribute xml_url = FindAttributeNoCase(child, "xmlurl");
      std::string_view url = TrimAsciiSpace(xml_url.value());
      if (xml_url && !url.empty()) {
        if (!IsFeedUrl(url)) {
          return Status::InvalidArgument("OPML outline at offset " +
                                         std::to_string(child.offset_debug()) +
                                         ": xmlUrl is not an http(s) URL: " + std::string(url));
        }
        urls.Add(std::string(url));
      }
    }
    Status status = CollectOutlines(child, urls);
    if (!status.ok()) return status;
  }
  return Status::Ok();
}

StatusOr<std::vector<std::string>> ParseOpml(std::string_view content) {
  pugi::xml_document document;
  pugi::xml_parse_result result = document.load_buffer(content.data(), content.size());
  if (!result) {
    return Status::InvalidArgument("invalid OPML: " + std::string(result.description()) +
                                   " at offset " + std::to_string(result.offset));
  }
  pugi::xml_node root = document.document_element();
  if (std::strcmp(root.name(), "opml") != 0) {
    return Status::InvalidArgument("invalid OPML: the root element is <" +
                                   std::string(root.name()) + ">, not <opml>");
  }
  UrlCollector urls;
  Status status = CollectOutlines(root, urls);
  if (!status.ok()) return status;
  return urls.Take();
}

}  // namespace

bool IsFeedUrl(std::string_view url) {
  size_t scheme_length;
  if (StartsWithNoCase(url, "http://")) {
    scheme_length = 7;
  } else if (StartsWithNoCase(url, "https://")) {
    scheme_length = 8;
  } else {
    return false;
  }
  for (char c : url) {
    if (std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  std::string_view rest = url.substr(scheme_length);
  size_t host_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, host_end);
  size_t at = authority.rfind('@');
  if (at != std::string_view::npos) authority.remove_prefix(at + 1);
  return !authority.empty() && authority.front() != ':';
}

StatusOr<std::vector<std::string>> ParseFeedList(std::string_view content) {
  content = SkipBom(content);
  // Text lists start with a URL or a comment; anything starting with markup is taken as OPML.
  std::string_view trimmed = TrimAsciiSpace(content);
  if (!trimmed.empty() && trimmed.front() == '<') return ParseOpml(content);
  return ParseTextList(content);
}

StatusOr<std::vector<std::string>> ReadFeedList(const std::string& path) {
  StatusOr<std::string> content = ReadFileToString(path);
  if (!content.ok()) return content.status();
  StatusOr<std::vector<std::string>> urls = ParseFeedList(*content);
  if (!urls.ok()) return Status::InvalidArgument(path + ": " + urls.status().message());
  return urls;
}

}  // namespace feedcrawl::cli
