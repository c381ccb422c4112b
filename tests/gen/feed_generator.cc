#include "tests/gen/feed_generator.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace feedcrawl {
namespace {

// splitmix64: small, fast and the same on every platform (std distributions are not).
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n).
  uint64_t Below(uint64_t n) { return Next() % n; }
  bool Percent(uint64_t p) { return Below(100) < p; }
  template <typename T, size_t N>
  const T& Pick(const T (&values)[N]) {
    return values[Below(N)];
  }

 private:
  uint64_t state_;
};

constexpr const char* kFormats[] = {"rss20", "atom10", "rss10"};
constexpr int64_t kEpoch2024 = 1704067200;  // 2024-01-01T00:00:00Z

const char* const kTitleWords[] = {
    "Café crème",    "Ünïcödé notes",  "東京の天気",  "Tom & Jerry",
    "São Paulo",     "Straße und Weg", "数据库 设计", "Rust 🦀 release",
    "Launch 🚀 day",  "Ελληνικά νέα",   "Кириллица",   "naïve résumé",
    "AT&T earnings", "한국어 뉴스",    "Smörgåsbord", "Crème brûlée ✨",
};
const char* const kSentences[] = {
    "Crème brûlée &amp; espresso are served at the café.",
    "Prices rose &lt; 3% this quarter, analysts say.",
    "東京では桜が満開です。",
    "数据显示，增长速度放缓。",
    "The team shipped the release 🎉 after a long week.",
    "Zoë met José in Zürich to discuss the naïve approach.",
    "Ein schöner Tag für einen Spaziergang an der Spree.",
    "Use <code>a &amp;&amp; b</code> to chain commands.",
    "Read <a href=\"https://example.com/q?a=1&amp;b=2\">the full story</a> online.",
    "Ελληνικά: καλημέρα κόσμε.",
};
const char* const kAuthors[] = {"José Müller",  "山田太郎",  "Zoë O'Brien",  "Ada Lovelace",
                                "Grace Hopper", "Łukasz Ż.", "Amélie Dupont"};
const char* const kCategories[] = {"tech", "science",   "café",  "日本", "news & politics",
                                   "rust", "databases", "émigré"};
const int kOffsetsMinutes[] = {0, 0, 120, -300, 330, 540, -210, 60};
const char* const kWeekdays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

std::string XmlEscape(const std::string& text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// HTML as element text: escaped, or in a CDATA section (both decode to the same string).
std::string HtmlText(const std::string& html, bool cdata) {
  return cdata ? "<![CDATA[" + html + "]]>" : XmlEscape(html);
}

struct tm LocalTime(int64_t utc_seconds, int offset_minutes) {
  time_t local = static_cast<time_t>(utc_seconds + offset_minutes * 60);
  struct tm tm {};
  gmtime_r(&local, &tm);
  return tm;
}

std::string Rfc822(int64_t utc_seconds, int offset_minutes) {
  struct tm tm = LocalTime(utc_seconds, offset_minutes);
  char zone[16];
  if (offset_minutes == 0) {
    std::snprintf(zone, sizeof(zone), "GMT");
  } else {
    int m = offset_minutes < 0 ? -offset_minutes : offset_minutes;
    std::snprintf(zone, sizeof(zone), "%c%02d%02d", offset_minutes < 0 ? '-' : '+', m / 60, m % 60);
  }
  char text[64];
  std::snprintf(text, sizeof(text), "%s, %02d %s %04d %02d:%02d:%02d %s", kWeekdays[tm.tm_wday],
                tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
                zone);
  return text;
}

// RFC 3339 / W3C-DTF with second precision.
std::string Rfc3339(int64_t utc_seconds, int offset_minutes) {
  struct tm tm = LocalTime(utc_seconds, offset_minutes);
  char zone[16];
  if (offset_minutes == 0) {
    std::snprintf(zone, sizeof(zone), "Z");
  } else {
    int m = offset_minutes < 0 ? -offset_minutes : offset_minutes;
    std::snprintf(zone, sizeof(zone), "%c%02d:%02d", offset_minutes < 0 ? '-' : '+', m / 60,
                  m % 60);
  }
  char text[64];
  std::snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02d%s", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, zone);
  return text;
}

// Everything about one item that the three writers need, with the truth alongside.
struct ItemPlan {
  Item truth;
  bool has_link = true;
  std::string link_attr;      // href as written (maybe relative, Atom only)
  bool guid_is_link = false;  // RSS 2.0 guid that is the permalink itself
  int published_offset = 0;
  int updated_offset = 0;
  int64_t published_s = 0;
  int64_t updated_s = 0;
  bool cdata = false;
};

std::string FeedUrl(const GenOptions& options, const std::string& path) {
  return options.base_url.empty() ? "https://feeds.example.com/" + path
                                  : options.base_url + "/" + path;
}

std::string Html(Rng& rng, size_t target_bytes, size_t feed, int64_t item) {
  std::string html = "<p>Item " + std::to_string(item) + " of feed " + std::to_string(feed) + ".";
  while (html.size() < target_bytes) {
    html += " ";
    html += rng.Pick(kSentences);
    if (rng.Percent(15)) html += "</p>\n<p>";
  }
  html += "</p>";
  return html;
}

// Item `item` of a feed: 0 is the newest of the first version, the items of later versions
// (GenOptions::advance) count down from -1. Each item has its own random sequence, so an item
// reads the same in every version of its feed.
ItemPlan PlanItem(const GenOptions& options, const std::string& format, size_t feed, int64_t item,
                  const std::string& feed_url) {
  Rng rng(options.seed * 0x100000001b3ull ^ (feed + 1) * 0x9e3779b97f4a7c15ull ^
          static_cast<uint64_t>(item + (1 << 30)) * 0xd6e8feb86659fd93ull);
  ItemPlan plan;
  Item& truth = plan.truth;
  const std::string site = "https://site" + std::to_string(feed % 50) + ".example.com";
  const std::string slug = "feed-" + std::to_string(feed) + "-item-" + std::to_string(item);

  truth.title = std::string(rng.Pick(kTitleWords)) + " — item " + std::to_string(item) + " (" +
                rng.Pick(kTitleWords) + ")";

  std::string link = site + "/posts/" + slug + ".html";
  if (rng.Percent(20)) link += "?utm_source=feed&id=" + std::to_string(item);
  plan.link_attr = link;
  if (format == "atom10" && !options.base_url.empty() && rng.Percent(15)) {
    // A relative href: the parser resolves it against the feed's own URL ("f/" folder).
    plan.link_attr = "posts/" + slug + ".html";
    link = feed_url.substr(0, feed_url.rfind('/') + 1) + plan.link_attr;
  }

  // Identity: most items carry one, some only a link, a few (RSS 2.0) neither.
  int roll = static_cast<int>(rng.Below(100));
  if (format == "rss20") {
    if (roll < 5 && item > 0) {
      plan.has_link = false;
    } else if (roll < 20) {
      // link only
    } else if (roll < 55) {
      plan.guid_is_link = true;
      truth.id = link;
    } else {
      truth.id = "tag:site" + std::to_string(feed % 50) + ".example.com,2024:" + slug;
    }
  } else if (format == "atom10") {
    if (roll >= 10) truth.id = "urn:uuid:" + std::to_string(options.seed) + "-" + slug;
  } else {
    if (roll >= 10) truth.id = link;
  }
  if (plan.has_link) truth.link = link;
  truth.key = truth.id ? *truth.id : truth.link;

  plan.published_s = kEpoch2024 + static_cast<int64_t>(feed % 1000) * 3600 * 7 -
                     item * 3600 - static_cast<int64_t>(rng.Below(3600));
  plan.updated_s = plan.published_s + static_cast<int64_t>(rng.Below(3 * 86400));
  plan.published_offset = rng.Pick(kOffsetsMinutes);
  plan.updated_offset = rng.Pick(kOffsetsMinutes);
  truth.published_ms = plan.published_s * 1000;
  if (format == "atom10") truth.updated_ms = plan.updated_s * 1000;

  if (rng.Percent(75)) truth.author = rng.Pick(kAuthors);
  size_t categories = rng.Below(4);
  for (size_t c = 0; c < categories; ++c) {
    std::string category = rng.Pick(kCategories);
    bool seen = false;
    for (const auto& existing : truth.categories) seen = seen || existing == category;
    if (!seen) truth.categories.push_back(category);
  }
  if (format != "rss10" && rng.Percent(20)) {
    Enclosure enclosure;
    enclosure.url = "https://cdn.example.com/media/" + slug + ".mp3";
    enclosure.type = "audio/mpeg";
    if (format == "rss20" || rng.Percent(70)) {
      enclosure.length = static_cast<int64_t>(100000 + rng.Below(50000000));
    }
    truth.enclosures.push_back(enclosure);
  }

  truth.summary =
      "<p>Summary of item " + std::to_string(item) + ": " + rng.Pick(kSentences) + "</p>";
  truth.content = Html(rng, options.item_bytes, feed, item);
  plan.cdata = rng.Percent(40);
  return plan;
}

void WriteRss20(const std::vector<ItemPlan>& plans, size_t feed, const std::string& feed_url,
                std::string* out) {
  std::string& x = *out;
  x += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
       "<rss version=\"2.0\" xmlns:content=\"http://purl.org/rss/1.0/modules/content/\" "
       "xmlns:dc=\"http://purl.org/dc/elements/1.1/\" "
       "xmlns:atom=\"http://www.w3.org/2005/Atom\">\n<channel>\n";
  x += "  <title>Synthetic feed " + std::to_string(feed) + " — RSS 2.0</title>\n";
  x += "  <link>https://site" + std::to_string(feed % 50) + ".example.com/</link>\n";
  x += "  <atom:link href=\"" + XmlEscape(feed_url) +
       "\" rel=\"self\" "
       "type=\"application/rss+xml\"/>\n";
  x += "  <description>Generated items &amp; ground truth</description>\n";
  x += "  <language>en</language>\n";
  for (const ItemPlan& plan : plans) {
    const Item& item = plan.truth;
    x += "  <item>\n";
    x += "    <title>" + XmlEscape(item.title) + "</title>\n";
    if (plan.has_link) x += "    <link>" + XmlEscape(plan.link_attr) + "</link>\n";
    if (item.id) {
      x += plan.guid_is_link ? "    <guid>" : "    <guid isPermaLink=\"false\">";
      x += XmlEscape(*item.id) + "</guid>\n";
    }
    x += "    <description>" + HtmlText(item.summary, plan.cdata) + "</description>\n";
    x += "    <content:encoded>" + HtmlText(item.content, !plan.cdata) + "</content:encoded>\n";
    x += "    <pubDate>" + Rfc822(plan.published_s, plan.published_offset) + "</pubDate>\n";
    if (!item.author.empty()) x += "    <dc:creator>" + XmlEscape(item.author) + "</dc:creator>\n";
    for (const auto& category : item.categories) {
      x += "    <category>" + XmlEscape(category) + "</category>\n";
    }
    for (const auto& enclosure : item.enclosures) {
      x += "    <enclosure url=\"" + XmlEscape(enclosure.url) + "\" length=\"" +
           std::to_string(enclosure.length.value_or(0)) + "\" type=\"" + enclosure.type + "\"/>\n";
    }
    x += "  </item>\n";
  }
  x += "</channel>\n</rss>\n";
}

void WriteAtom(const std::vector<ItemPlan>& plans, size_t feed, const std::string& feed_url,
               std::string* out) {
  std::string& x = *out;
  int64_t newest = plans.empty() ? kEpoch2024 : plans.front().updated_s;
  for (const ItemPlan& plan : plans) newest = std::max(newest, plan.updated_s);
  x += "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
       "<feed xmlns=\"http://www.w3.org/2005/Atom\">\n";
  x += "  <title type=\"text\">Synthetic feed " + std::to_string(feed) + " — Atom</title>\n";
  x += "  <id>urn:feedcrawl:synthetic:" + std::to_string(feed) + "</id>\n";
  x += "  <updated>" + Rfc3339(newest, 0) + "</updated>\n";
  x += "  <link rel=\"self\" href=\"" + XmlEscape(feed_url) + "\"/>\n";
  x += "  <link rel=\"alternate\" href=\"https://site" + std::to_string(feed % 50) +
       ".example.com/\"/>\n";
  for (const ItemPlan& plan : plans) {
    const Item& item = plan.truth;
    x += "  <entry>\n";
    x += "    <title>" + XmlEscape(item.title) + "</title>\n";
    if (item.id) x += "    <id>" + XmlEscape(*item.id) + "</id>\n";
    x += "    <link rel=\"alternate\" type=\"text/html\" href=\"" + XmlEscape(plan.link_attr) +
         "\"/>\n";
    for (const auto& enclosure : item.enclosures) {
      x += "    <link rel=\"enclosure\" href=\"" + XmlEscape(enclosure.url) + "\" type=\"" +
           enclosure.type + "\"";
      if (enclosure.length) x += " length=\"" + std::to_string(*enclosure.length) + "\"";
      x += "/>\n";
    }
    x += "    <published>" + Rfc3339(plan.published_s, plan.published_offset) + "</published>\n";
    x += "    <updated>" + Rfc3339(plan.updated_s, plan.updated_offset) + "</updated>\n";
    if (!item.author.empty()) {
      x += "    <author><name>" + XmlEscape(item.author) + "</name></author>\n";
    }
    for (const auto& category : item.categories) {
      x += "    <category term=\"" + XmlEscape(category) + "\"/>\n";
    }
    x += "    <summary type=\"html\">" + HtmlText(item.summary, plan.cdata) + "</summary>\n";
    x += "    <content type=\"html\">" + HtmlText(item.content, !plan.cdata) + "</content>\n";
    x += "  </entry>\n";
  }
  x += "</feed>\n";
}

void WriteRss10(const std::vector<ItemPlan>& plans, size_t feed, const std::string& feed_url,
                std::string* out) {
  std::string& x = *out;
  x += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
       "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" "
       "xmlns=\"http://purl.org/rss/1.0/\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" "
       "xmlns:content=\"http://purl.org/rss/1.0/modules/content/\">\n";
  x += "  <channel rdf:about=\"" + XmlEscape(feed_url) + "\">\n";
  x += "    <title>Synthetic feed " + std::to_string(feed) + " — RSS 1.0</title>\n";
  x += "    <link>https://site" + std::to_string(feed % 50) + ".example.com/</link>\n";
  x += "    <description>Generated items &amp; ground truth</description>\n";
  x += "    <items><rdf:Seq>\n";
  for (const ItemPlan& plan : plans) {
    if (plan.truth.id) x += "      <rdf:li rdf:resource=\"" + XmlEscape(*plan.truth.id) + "\"/>\n";
  }
  x += "    </rdf:Seq></items>\n  </channel>\n";
  for (const ItemPlan& plan : plans) {
    const Item& item = plan.truth;
    x += item.id ? "  <item rdf:about=\"" + XmlEscape(*item.id) + "\">\n" : "  <item>\n";
    x += "    <title>" + XmlEscape(item.title) + "</title>\n";
    x += "    <link>" + XmlEscape(plan.link_attr) + "</link>\n";
    x += "    <description>" + HtmlText(item.summary, plan.cdata) + "</description>\n";
    x += "    <content:encoded>" + HtmlText(item.content, !plan.cdata) + "</content:encoded>\n";
    x += "    <dc:date>" + Rfc3339(plan.published_s, plan.published_offset) + "</dc:date>\n";
    if (!item.author.empty()) x += "    <dc:creator>" + XmlEscape(item.author) + "</dc:creator>\n";
    for (const auto& category : item.categories) {
      x += "    <dc:subject>" + XmlEscape(category) + "</dc:subject>\n";
    }
    x += "  </item>\n";
  }
  x += "</rdf:RDF>\n";
}

Status WriteFileAtomically(const std::filesystem::path& file, const std::string& content) {
  std::filesystem::path tmp = file;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return Status::Unavailable("cannot create " + tmp.string());
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    if (!out) return Status::Unavailable("cannot write " + tmp.string());
  }
  std::error_code error;
  std::filesystem::rename(tmp, file, error);
  if (error) return Status::Unavailable("cannot rename " + tmp.string() + ": " + error.message());
  return Status::Ok();
}

}  // namespace

std::string GeneratedFeedPath(size_t index) {
  char text[32];
  std::snprintf(text, sizeof(text), "f/%05zu.xml", index);
  return text;
}

GeneratedFeed GenerateFeed(const GenOptions& options, size_t index, std::string* document) {
  GeneratedFeed feed;
  feed.path = GeneratedFeedPath(index);
  // Rotating formats guarantees a mix even in a set of three feeds.
  feed.format = kFormats[(index + options.seed) % 3];
  const std::string feed_url = FeedUrl(options, feed.path);

  // Version `advance` lists items -advance .. items_per_feed - 1 - advance, newest first.
  const auto count = static_cast<int64_t>(options.items_per_feed);
  const auto advance = static_cast<int64_t>(options.advance);
  std::vector<ItemPlan> plans;
  plans.reserve(options.items_per_feed);
  for (int64_t item = -advance; item < count - advance; ++item) {
    plans.push_back(PlanItem(options, feed.format, index, item, feed_url));
  }
  document->clear();
  document->reserve(options.items_per_feed * (options.item_bytes * 2 + 1200) + 1024);
  if (feed.format == "rss20") {
    WriteRss20(plans, index, feed_url, document);
  } else if (feed.format == "atom10") {
    WriteAtom(plans, index, feed_url, document);
  } else {
    WriteRss10(plans, index, feed_url, document);
  }
  for (ItemPlan& plan : plans) feed.items.push_back(std::move(plan.truth));
  // The first version's items that this one no longer lists.
  for (int64_t item = std::max<int64_t>(count - advance, 0); item < count; ++item) {
    feed.retired_items.push_back(PlanItem(options, feed.format, index, item, feed_url).truth);
  }
  return feed;
}

Status GenerateFeedsTo(const GenOptions& options, const std::string& out_dir,
                       const std::function<Status(const GeneratedFeed&)>& sink) {
  std::error_code error;
  std::filesystem::create_directories(std::filesystem::path(out_dir) / "f", error);
  if (error) return Status::Unavailable("cannot create " + out_dir + "/f: " + error.message());
  std::string document;
  for (size_t i = 0; i < options.feeds; ++i) {
    GeneratedFeed feed = GenerateFeed(options, i, &document);
    Status s = WriteFileAtomically(std::filesystem::path(out_dir) / feed.path, document);
    if (!s.ok()) return s;
    s = sink(feed);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

StatusOr<std::vector<GeneratedFeed>> GenerateFeeds(const GenOptions& options,
                                                   const std::string& out_dir) {
  std::vector<GeneratedFeed> feeds;
  feeds.reserve(options.feeds);
  Status s = GenerateFeedsTo(options, out_dir, [&feeds](const GeneratedFeed& feed) {
    feeds.push_back(feed);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return feeds;
}

nlohmann::json GeneratedFeedToJson(const GeneratedFeed& feed) {
  nlohmann::json items = nlohmann::json::array();
  for (const Item& item : feed.items) items.push_back(ItemToJson(item));
  nlohmann::json json = {{"path", feed.path}, {"format", feed.format}, {"items", std::move(items)}};
  if (!feed.retired_items.empty()) {
    nlohmann::json retired = nlohmann::json::array();
    for (const Item& item : feed.retired_items) retired.push_back(ItemToJson(item));
    json["retired_items"] = std::move(retired);
  }
  return json;
}

GeneratedFeed GeneratedFeedFromJson(const nlohmann::json& json) {
  GeneratedFeed feed;
  feed.path = json.value("path", "");
  feed.format = json.value("format", "");
  if (json.contains("items") && json["items"].is_array()) {
    for (const auto& item : json["items"]) feed.items.push_back(ItemFromJson(item));
  }
  if (json.contains("retired_items") && json["retired_items"].is_array()) {
    for (const auto& item : json["retired_items"]) feed.retired_items.push_back(ItemFromJson(item));
  }
  return feed;
}

Status WriteTruthJsonl(const std::vector<GeneratedFeed>& feeds, const std::string& file) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  if (!out) return Status::Unavailable("cannot create " + file);
  for (const GeneratedFeed& feed : feeds) out << GeneratedFeedToJson(feed).dump() << '\n';
  out.close();
  if (!out) return Status::Unavailable("cannot write " + file);
  return Status::Ok();
}

StatusOr<std::vector<GeneratedFeed>> ReadTruthJsonl(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return Status::NotFound("cannot open " + file);
  std::vector<GeneratedFeed> feeds;
  std::string line;
  size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    nlohmann::json json = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded() || !json.is_object()) {
      return Status::DataLoss(file + ":" + std::to_string(number) + ": not a JSON object");
    }
    feeds.push_back(GeneratedFeedFromJson(json));
  }
  return feeds;
}

}  // namespace feedcrawl
