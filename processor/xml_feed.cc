#include "processor/xml_feed.h"

#include <array>
#include <cctype>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/url.h"
#include "processor/dates.h"
#include "processor/item_key.h"
#include "processor/text.h"

namespace feedcrawl {
namespace {

// Namespaces the reader understands; everything else is kOther and ignored.
enum class Ns {
  kNone,
  kRss10,
  kRss090,
  kRdf,
  kAtom10,
  kAtom03,
  kDc,
  kDcTerms,
  kContent,
  kMedia,
  kItunes,
  kXhtml,
  kXml,
  kOther,
};

struct KnownNamespace {
  std::string_view uri;
  Ns ns;
};

constexpr std::array<KnownNamespace, 16> kNamespaces = {{
    {"http://purl.org/rss/1.0/", Ns::kRss10},
    {"http://my.netscape.com/rdf/simple/0.9/", Ns::kRss090},
    {"http://www.w3.org/1999/02/22-rdf-syntax-ns#", Ns::kRdf},
    {"http://www.w3.org/2005/Atom", Ns::kAtom10},
    {"http://purl.org/atom/ns#", Ns::kAtom03},
    {"http://purl.org/dc/elements/1.1/", Ns::kDc},
    {"http://purl.org/dc/terms/", Ns::kDcTerms},
    {"http://purl.org/rss/1.0/modules/content/", Ns::kContent},
    {"http://search.yahoo.com/mrss/", Ns::kMedia},
    {"http://search.yahoo.com/mrss", Ns::kMedia},
    {"http://www.itunes.com/dtds/podcast-1.0.dtd", Ns::kItunes},
    {"http://www.itunes.com/dtds/podcast-1.0.dtd/", Ns::kItunes},
    {"http://www.w3.org/1999/xhtml", Ns::kXhtml},
    {"http://www.w3.org/XML/1998/namespace", Ns::kXml},
    {"http://backend.userland.com/rss2", Ns::kNone},
    {"http://blogs.law.harvard.edu/tech/rss", Ns::kNone},
}};

// Prefixes feeds use without declaring them, and what they conventionally mean.
constexpr std::array<std::pair<std::string_view, Ns>, 10> kDefaultPrefixes = {{
    {"dc", Ns::kDc},
    {"dcterms", Ns::kDcTerms},
    {"content", Ns::kContent},
    {"media", Ns::kMedia},
    {"itunes", Ns::kItunes},
    {"atom", Ns::kAtom10},
    {"rdf", Ns::kRdf},
    {"xhtml", Ns::kXhtml},
    {"xml", Ns::kXml},
    {"html", Ns::kXhtml},
}};

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] - 'A' + 'a') : b[i];
    if (x != y) return false;
  }
  return true;
}

Ns NsFromUri(std::string_view uri) {
  for (const KnownNamespace& known : kNamespaces) {
    // iTunes and Media RSS URIs circulate with varying case.
    if (EqualsIgnoreCase(known.uri, uri)) return known.ns;
  }
  return Ns::kOther;
}

// Prefix -> namespace bindings in scope, innermost last; pushed and popped around each element.
class NsScope {
 public:
  // Pushes the element's xmlns declarations; returns how many to pop afterwards.
  size_t Push(const pugi::xml_node& node) {
    size_t pushed = 0;
    for (pugi::xml_attribute attr = node.first_attribute(); attr; attr = attr.next_attribute()) {
      const char* name = attr.name();
      if (std::strncmp(name, "xmlns", 5) != 0) continue;
      if (name[5] == '\0') {
        bindings_.emplace_back("", NsFromUri(Trim(attr.value())));
      } else if (name[5] == ':') {
        bindings_.emplace_back(name + 6, NsFromUri(Trim(attr.value())));
      } else {
        continue;
      }
      ++pushed;
    }
    return pushed;
  }
  void Pop(size_t count) { bindings_.resize(bindings_.size() - count); }

  Ns Resolve(std::string_view prefix) const {
    for (auto it = bindings_.rbegin(); it != bindings_.rend(); ++it) {
      if (it->first == prefix) return it->second;
    }
    if (prefix.empty()) return Ns::kNone;
    for (const auto& [known, ns] : kDefaultPrefixes) {
      if (known == prefix) return ns;
    }
    return Ns::kOther;
  }

 private:
  std::vector<std::pair<std::string_view, Ns>> bindings_;
};

// An element with its resolved namespace, local name and base URL.
struct Element {
  pugi::xml_node node;
  Ns ns;
  std::string_view local;
  const std::string* base;                  // points at own_base or at an ancestor's base
  std::shared_ptr<const std::string> own_base;  // set only when the element has xml:base
};

void SplitName(const char* qname, std::string_view& prefix, std::string_view& local) {
  std::string_view name(qname);
  size_t colon = name.find(':');
  if (colon == std::string_view::npos) {
    prefix = {};
    local = name;
  } else {
    prefix = name.substr(0, colon);
    local = name.substr(colon + 1);
  }
}

// Value of the attribute with the given namespace and local name (or no prefix when ns is kNone).
std::string_view AttrNs(const pugi::xml_node& node, const NsScope& scope, Ns ns,
                        std::string_view local) {
  for (pugi::xml_attribute attr = node.first_attribute(); attr; attr = attr.next_attribute()) {
    std::string_view prefix;
    std::string_view name;
    SplitName(attr.name(), prefix, name);
    if (name != local) continue;
    if (prefix.empty() ? ns == Ns::kNone : scope.Resolve(prefix) == ns) return attr.value();
  }
  return {};
}

std::string_view Attr(const pugi::xml_node& node, const char* name) {
  return node.attribute(name).value();
}

constexpr std::array<std::string_view, 14> kVoidElements = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr"};

bool IsVoidElement(std::string_view local) {
  for (std::string_view v : kVoidElements) {
    if (EqualsIgnoreCase(v, local)) return true;
  }
  return false;
}

std::string_view LocalName(const pugi::xml_node& node) {
  std::string_view prefix;
  std::string_view local;
  SplitName(node.name(), prefix, local);
  return local;
}

void AppendOpenTag(const pugi::xml_node& node, std::string& out) {
  out.push_back('<');
  out.append(LocalName(node));
  for (pugi::xml_attribute attr = node.first_attribute(); attr; attr = attr.next_attribute()) {
    std::string_view name = attr.name();
    if (name.substr(0, 5) == "xmlns") continue;
    std::string_view prefix;
    std::string_view local;
    SplitName(attr.name(), prefix, local);
    out.push_back(' ');
    out.append(prefix == "xml" ? name : local);
    out.append("=\"");
    out.append(EscapeHtml(attr.value()));
    out.push_back('"');
  }
  out.push_back('>');
}

// Character data of the node's direct children (pugixml splits text around CDATA). The usual
// single text child is viewed in place; only split text is copied. Use it as a temporary.
class DirectText {
 public:
  explicit DirectText(const pugi::xml_node& node) {
    pugi::xml_node first = node.first_child();
    if (first && !first.next_sibling() &&
        (first.type() == pugi::node_pcdata || first.type() == pugi::node_cdata)) {
      view_ = first.value();
      return;
    }
    for (pugi::xml_node child = first; child; child = child.next_sibling()) {
      if (child.type() == pugi::node_pcdata || child.type() == pugi::node_cdata) {
        joined_.append(child.value());
      }
    }
    view_ = joined_;
  }
  DirectText(const DirectText&) = delete;
  DirectText& operator=(const DirectText&) = delete;

  operator std::string_view() const { return view_; }
  std::string str() const { return std::string(view_); }

 private:
  std::string joined_;
  std::string_view view_;
};

bool HasElementChild(const pugi::xml_node& node) {
  for (pugi::xml_node child = node.first_child(); child; child = child.next_sibling()) {
    if (child.type() == pugi::node_element) return true;
  }
  return false;
}

// Text content, or serialised markup when the element holds unescaped HTML.
std::string ContentOf(const pugi::xml_node& node) {
  return HasElementChild(node) ? SerializeChildrenAsHtml(node) : DirectText(node).str();
}

// `text` without the whitespace at its ends, in place (no copy of what is kept).
std::string TrimmedString(std::string text) {
  const std::string_view kept = Trim(text);
  if (kept.size() == text.size()) return text;
  const size_t start = static_cast<size_t>(kept.data() - text.data());
  text.erase(start + kept.size());
  text.erase(0, start);
  return text;
}

// ContentOf without the whitespace at its ends: the text of a single text node is copied once,
// as trimmed.
std::string TrimmedContentOf(const pugi::xml_node& node) {
  if (HasElementChild(node)) return TrimmedString(SerializeChildrenAsHtml(node));
  return std::string(Trim(DirectText(node)));
}

std::string DecodeBase64(std::string_view in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : in) {
    int v = value(c);
    if (v < 0) continue;
    buffer = (buffer << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  return SanitizeUtf8(out);
}

enum class TextKind { kText, kHtml, kXhtml, kBase64 };

// Atom text construct kind: 1.0 "type" (text/html/xhtml or a MIME type), 0.3 "mode".
TextKind KindOf(const pugi::xml_node& node) {
  std::string_view mode = Trim(Attr(node, "mode"));
  if (mode == "base64") return TextKind::kBase64;
  std::string_view type = Trim(Attr(node, "type"));
  if (mode == "escaped") return type == "text/plain" ? TextKind::kText : TextKind::kHtml;
  if (type.empty() || type == "text" || type == "text/plain") {
    // Markup inside a text construct is a publisher error; keep it rather than lose it.
    return HasElementChild(node) ? TextKind::kXhtml : TextKind::kText;
  }
  if (type == "html" || type == "text/html") return TextKind::kHtml;
  if (type == "xhtml" || type.find("xml") != std::string_view::npos) return TextKind::kXhtml;
  return type.substr(0, 5) == "text/" ? TextKind::kText : TextKind::kHtml;
}

// The markup of an xhtml construct: the children of its wrapping <div>, or all children.
std::string XhtmlOf(const pugi::xml_node& node) {
  pugi::xml_node only;
  int elements = 0;
  bool other_text = false;
  for (pugi::xml_node child = node.first_child(); child; child = child.next_sibling()) {
    if (child.type() == pugi::node_element) {
      only = child;
      ++elements;
    } else if (!Trim(child.value()).empty()) {
      other_text = true;
    }
  }
  if (elements == 1 && !other_text && EqualsIgnoreCase(LocalName(only), "div")) {
    return SerializeChildrenAsHtml(only);
  }
  return SerializeChildrenAsHtml(node);
}

std::string TextConstructHtml(const pugi::xml_node& node) {
  switch (KindOf(node)) {
    case TextKind::kText: return EscapeHtml(Trim(DirectText(node)));
    case TextKind::kHtml: return TrimmedContentOf(node);
    case TextKind::kXhtml: return TrimmedString(XhtmlOf(node));
    case TextKind::kBase64: return DecodeBase64(DirectText(node));
  }
  return {};
}

std::string TextConstructPlain(const pugi::xml_node& node) {
  switch (KindOf(node)) {
    case TextKind::kText: return CollapseWhitespace(DirectText(node));
    case TextKind::kHtml: return HtmlToPlainText(ContentOf(node));
    case TextKind::kXhtml: return HtmlToPlainText(XhtmlOf(node));
    case TextKind::kBase64: return HtmlToPlainText(DecodeBase64(DirectText(node)));
  }
  return {};
}

std::optional<int64_t> ParseLength(std::string_view text) {
  text = Trim(text);
  if (text.empty() || text.size() > 18) return std::nullopt;
  int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

// Keeps the first non-empty value offered (fields have several sources in priority order).
void SetIfEmpty(std::string& field, std::string value) {
  if (field.empty()) field = std::move(value);
}

// The date of an item: the first non-empty text, in the order offered, that parses.
struct DateField {
  std::string text;
  std::optional<int64_t> ms;
  void Offer(std::string_view candidate) {
    if (ms) return;
    candidate = Trim(candidate);
    if (candidate.empty()) return;
    ms = ParseFeedDate(candidate);
    if (ms || text.empty()) text = std::string(candidate);
  }
};

class Reader {
 public:
  Reader(const XmlReadOptions& options, ParsedFeed& out)
      : options_(options), out_(out), root_base_(options.url) {}

  bool Read(const pugi::xml_document& doc);

 private:
  static constexpr size_t kItemsReserved = 32;

  // Calls fn(Element) for every element child of `parent`, with namespaces and xml:base applied.
  template <typename Fn>
  void ForEachChild(const Element& parent, Fn&& fn) {
    ForEachChildNamed(parent, [](std::string_view) { return true; }, fn);
  }
  // The same for the children whose local name `wanted` accepts; the others are passed over
  // before their namespaces and base are worked out (a read for keys passes over most).
  template <typename Wanted, typename Fn>
  void ForEachChildNamed(const Element& parent, Wanted&& wanted, Fn&& fn);
  Element MakeRoot(const pugi::xml_node& node);

  void ReadRss(const Element& root);
  void ReadRssChannel(const Element& channel);
  void ReadRssImage(const Element& image);
  // Whether the next item element, in document order, is read at all (XmlReadOptions::only).
  bool TakeItem();
  void ReadRssItem(const Element& element);
  // Reads one RSS item, whole or (key_only) for its key and dates; false, having added nothing,
  // when key_only and the item has neither id nor link (its key needs every field).
  bool ReadRssItemFields(const Element& element, bool key_only);
  void ReadMediaContent(const Element& element, Item& item);
  void ReadMedia(const Element& element, Item& item, std::string& title, std::string& summary);
  void ReadAtomFeed(const Element& root);
  void ReadAtomEntry(const Element& entry, const std::string& feed_author);
  bool ReadAtomEntryFields(const Element& entry, const std::string& feed_author, bool key_only);
  void ReadAtomLink(const Element& link, std::string* alternate, Item* item);
  std::string AtomPersonName(const Element& person);
  std::string ResolveLink(const Element& element, std::string_view reference) const {
    reference = Trim(reference);
    if (reference.empty()) return {};
    return ResolveUrl(*element.base, reference);
  }
  void FinishItem(Item item, std::string_view date_text) {
    item.key = ItemKey(item, date_text);
    // Most feeds list tens of items: room for them at once, not in doublings that move each.
    if (out_.items.capacity() == 0) out_.items.reserve(kItemsReserved);
    out_.items.push_back(std::move(item));
  }

  const XmlReadOptions& options_;
  ParsedFeed& out_;
  NsScope scope_;
  std::string root_base_;
  // The link chosen so far is a non-HTML alternate that an HTML one should replace.
  bool alternate_is_fallback_ = false;
  size_t next_item_ = 0;  // position of the next item element in document order
  size_t next_only_ = 0;  // first entry of options_.only not yet passed
};

bool Reader::TakeItem() {
  const size_t position = next_item_++;
  if (options_.only == nullptr) return true;
  const std::vector<size_t>& only = *options_.only;
  while (next_only_ < only.size() && only[next_only_] < position) ++next_only_;
  return next_only_ < only.size() && only[next_only_] == position;
}

template <typename Wanted, typename Fn>
void Reader::ForEachChildNamed(const Element& parent, Wanted&& wanted, Fn&& fn) {
  for (pugi::xml_node node = parent.node.first_child(); node; node = node.next_sibling()) {
    if (node.type() != pugi::node_element) continue;
    std::string_view prefix;
    Element child{node, Ns::kNone, {}, parent.base, nullptr};
    SplitName(node.name(), prefix, child.local);
    if (!wanted(child.local)) continue;
    size_t pushed = scope_.Push(node);
    child.ns = scope_.Resolve(prefix);
    if (pugi::xml_attribute xml_base = node.attribute("xml:base")) {
      child.own_base =
          std::make_shared<const std::string>(ResolveUrl(*parent.base, Trim(xml_base.value())));
      child.base = child.own_base.get();
    }
    fn(child);
    scope_.Pop(pushed);
  }
}

Element Reader::MakeRoot(const pugi::xml_node& node) {
  scope_.Push(node);
  std::string_view prefix;
  Element root{node, Ns::kNone, {}, &root_base_, nullptr};
  SplitName(node.name(), prefix, root.local);
  root.ns = scope_.Resolve(prefix);
  if (pugi::xml_attribute xml_base = node.attribute("xml:base")) {
    root_base_ = ResolveUrl(options_.url, Trim(xml_base.value()));
  }
  return root;
}

bool Reader::Read(const pugi::xml_document& doc) {
  pugi::xml_node node = doc.document_element();
  if (!node) {
    out_.error = "not a feed: no root element";
    return false;
  }
  Element root = MakeRoot(node);
  if (EqualsIgnoreCase(root.local, "html") || root.ns == Ns::kXhtml) {
    out_.error = "not a feed: HTML page";
    return false;
  }
  if (root.local == "rss" || root.local == "channel") {
    std::string_view version = Trim(Attr(node, "version"));
    if (version == "2.0" || version == "2.00" || version == "2.0.1" || version == "2") {
      out_.format = "rss20";
    } else if (version == "0.91") {
      out_.format = options_.netscape_doctype ? "rss091n" : "rss091u";
    } else if (version == "0.90" || version == "0.9") {
      out_.format = "rss090";
    } else if (version == "0.92" || version == "0.93" || version == "0.94") {
      out_.format = "rss0" + std::string(version.substr(2));
    } else {
      out_.format = "rss";
    }
    ReadRss(root);
    return true;
  }
  if (root.local == "RDF") {
    // The channel's namespace tells RSS 1.0 from RSS 0.90.
    bool is_090 = false;
    bool has_channel = false;
    ForEachChild(root, [&](const Element& child) {
      if (child.local == "channel" || child.local == "item") {
        has_channel = true;
        if (child.ns == Ns::kRss090) is_090 = true;
      }
    });
    if (!has_channel) {
      out_.error = "not a feed: RDF document without a channel";
      return false;
    }
    out_.format = is_090 ? "rss090" : "rss10";
    ReadRss(root);
    return true;
  }
  if (root.local == "feed") {
    bool is_03 = root.ns == Ns::kAtom03 || Trim(Attr(node, "version")) == "0.3";
    out_.format = is_03 ? "atom03" : "atom10";
    ReadAtomFeed(root);
    return true;
  }
  if (root.local == "entry" && (root.ns == Ns::kAtom10 || root.ns == Ns::kAtom03)) {
    // A standalone Atom entry document (RFC 4287 section 4.1.2) is a feed of one.
    out_.format = root.ns == Ns::kAtom03 ? "atom03" : "atom10";
    ReadAtomEntry(root, std::string());
    return true;
  }
  out_.error = "not a feed: unknown root element <" + std::string(node.name()) + ">";
  return false;
}

bool IsRssCore(Ns ns) { return ns == Ns::kNone || ns == Ns::kRss10 || ns == Ns::kRss090; }

void Reader::ReadRss(const Element& root) {
  // A bare <channel> root (seen in the wild) is its own channel.
  if (root.local == "channel") {
    ReadRssChannel(root);
    return;
  }
  ForEachChild(root, [&](const Element& child) {
    if (!IsRssCore(child.ns)) return;
    if (child.local == "channel") {
      ReadRssChannel(child);
    } else if (child.local == "item") {
      ReadRssItem(child);  // RDF items, and RSS 0.9x/2.0 items misplaced outside the channel
    } else if (child.local == "image" && out_.feed.image.empty()) {
      ReadRssImage(child);
    }
  });
}

// RSS <skipHours> (<hour>0-23</hour>) or <skipDays> (<day>Monday</day>...) as a bit mask: bit h
// for an hour, bit 0 for Monday ... bit 6 for Sunday. Values out of range are ignored.
uint32_t SkipMask(const pugi::xml_node& list, std::string_view entry) {
  static constexpr const char* kDays[] = {"monday", "tuesday",  "wednesday", "thursday",
                                          "friday", "saturday", "sunday"};
  uint32_t mask = 0;
  for (const pugi::xml_node& node : list.children()) {
    std::string_view name = node.name();
    if (size_t colon = name.find(':'); colon != std::string_view::npos) name.remove_prefix(colon + 1);
    if (node.type() != pugi::node_element || name != entry) continue;
    std::string value(Trim(DirectText(node)));
    if (entry == "hour") {
      if (auto hour = ParseLength(value); hour && *hour < 24) mask |= 1u << *hour;
      continue;
    }
    for (char& c : value) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (uint32_t day = 0; day < 7; ++day) {
      if (value == kDays[day]) mask |= 1u << day;
    }
  }
  return mask;
}

void Reader::ReadRssImage(const Element& image) {
  ForEachChild(image, [&](const Element& child) {
    if (IsRssCore(child.ns) && child.local == "url") {
      SetIfEmpty(out_.feed.image, ResolveLink(child, DirectText(child.node)));
    }
  });
}

void Reader::ReadRssChannel(const Element& channel) {
  FeedInfo& feed = out_.feed;
  DateField updated;
  std::string fallback_author;
  std::string fallback_image;
  // iTunes and Media RSS values only fill what the core elements leave empty.
  std::string itunes_author;
  std::string itunes_summary;
  std::string media_image;
  // Reading only some items, the channel's own fields are not wanted.
  const bool items_only = options_.only != nullptr;
  const auto wanted = [items_only](std::string_view local) {
    return !items_only || local == "item";
  };
  ForEachChildNamed(channel, wanted, [&](const Element& child) {
    if (items_only && !IsRssCore(child.ns)) return;
    std::string_view local = child.local;
    switch (child.ns) {
      case Ns::kNone:
      case Ns::kRss10:
      case Ns::kRss090:
        if (local == "item") {
          ReadRssItem(child);
        } else if (local == "title") {
          SetIfEmpty(feed.title, HtmlToPlainText(ContentOf(child.node)));
        } else if (local == "link") {
          SetIfEmpty(feed.link, ResolveLink(child, DirectText(child.node)));
        } else if (local == "description") {
          SetIfEmpty(feed.description, HtmlToPlainText(ContentOf(child.node)));
        } else if (local == "language") {
          SetIfEmpty(feed.language, std::string(Trim(DirectText(child.node))));
        } else if (local == "lastBuildDate" || local == "pubDate") {
          updated.Offer(DirectText(child.node));
        } else if (local == "managingEditor" || local == "webMaster") {
          SetIfEmpty(fallback_author, CollapseWhitespace(DirectText(child.node)));
        } else if (local == "image") {
          ReadRssImage(child);
        } else if (local == "ttl") {
          if (auto ttl = ParseLength(DirectText(child.node)); ttl && *ttl < 1000000) {
            feed.ttl_minutes = static_cast<int>(*ttl);
          }
        } else if (local == "skipHours") {
          feed.skip_hours |= SkipMask(child.node, "hour");
        } else if (local == "skipDays") {
          feed.skip_days |= SkipMask(child.node, "day");
        }
        break;
      case Ns::kDc:
        if (local == "creator" || local == "publisher") {
          SetIfEmpty(feed.author, CollapseWhitespace(DirectText(child.node)));
        } else if (local == "date") {
          updated.Offer(DirectText(child.node));
        } else if (local == "language") {
          SetIfEmpty(feed.language, std::string(Trim(DirectText(child.node))));
        } else if (local == "title") {
          SetIfEmpty(feed.title, HtmlToPlainText(DirectText(child.node)));
        }
        break;
      case Ns::kDcTerms:
        if (local == "modified") updated.Offer(DirectText(child.node));
        break;
      case Ns::kAtom10:
        if (local == "link") {
          std::string_view rel = Trim(Attr(child.node, "rel"));
          if (rel.empty() || rel == "alternate") {
            SetIfEmpty(feed.link, ResolveLink(child, Attr(child.node, "href")));
          }
        }
        break;
      case Ns::kItunes:
        if (local == "author") {
          SetIfEmpty(itunes_author, CollapseWhitespace(DirectText(child.node)));
        } else if (local == "image") {
          SetIfEmpty(fallback_image, ResolveLink(child, Attr(child.node, "href")));
        } else if (local == "summary") {
          // Plain text by definition: markup-like text in it is meant literally.
          SetIfEmpty(itunes_summary, CollapseWhitespace(DirectText(child.node)));
        }
        break;
      case Ns::kMedia:
        if (local == "thumbnail") {
          SetIfEmpty(media_image, ResolveLink(child, Attr(child.node, "url")));
        }
        break;
      default:
        break;
    }
  });
  SetIfEmpty(feed.author, std::move(fallback_author));
  SetIfEmpty(feed.author, std::move(itunes_author));
  SetIfEmpty(feed.description, std::move(itunes_summary));
  SetIfEmpty(feed.image, std::move(fallback_image));
  SetIfEmpty(feed.image, std::move(media_image));
  if (!feed.updated_ms) feed.updated_ms = updated.ms;
}

void Reader::ReadMediaContent(const Element& element, Item& item) {
  std::string url = ResolveLink(element, Attr(element.node, "url"));
  if (url.empty()) return;
  for (const Enclosure& existing : item.enclosures) {
    if (existing.url == url) return;
  }
  Enclosure enclosure;
  enclosure.url = std::move(url);
  enclosure.type = std::string(Trim(Attr(element.node, "type")));
  enclosure.length = ParseLength(Attr(element.node, "fileSize"));
  item.enclosures.push_back(std::move(enclosure));
}

// One Media RSS child of an item: content becomes an enclosure, title and description are
// fallbacks, a group contributes its children. Thumbnails are images of the item, not its media.
void Reader::ReadMedia(const Element& element, Item& item, std::string& title,
                       std::string& summary) {
  std::string_view local = element.local;
  if (local == "content") {
    ReadMediaContent(element, item);
  } else if (local == "title") {
    bool html = Trim(Attr(element.node, "type")) == "html";
    std::string text = DirectText(element.node).str();
    SetIfEmpty(title, html ? HtmlToPlainText(text) : CollapseWhitespace(text));
  } else if (local == "description") {
    bool html = Trim(Attr(element.node, "type")) == "html";
    std::string text = DirectText(element.node).str();
    SetIfEmpty(summary, html ? std::string(Trim(text)) : EscapeHtml(Trim(text)));
  } else if (local == "group") {
    size_t pushed = scope_.Push(element.node);
    ForEachChild(element, [&](const Element& child) {
      if (child.ns == Ns::kMedia && child.local != "group") ReadMedia(child, item, title, summary);
    });
    scope_.Pop(pushed);
  }
}

void Reader::ReadRssItem(const Element& element) {
  if (!TakeItem()) return;
  if (options_.keys_only && ReadRssItemFields(element, /*key_only=*/true)) return;
  ReadRssItemFields(element, /*key_only=*/false);
}

// The local names of the children below, whatever their namespace: a read for keys passes over
// the other children before resolving theirs. Every name IsRssKeyOrDate accepts is here.
bool IsRssKeyOrDateName(std::string_view local) {
  return local == "guid" || local == "link" || local == "pubDate" || local == "date" ||
         local == "modified" || local == "created" || local == "issued" || local == "updated" ||
         local == "published";
}

// The children of an RSS item that its id, link and dates come from: what ReadRssItemFields
// reads when it reads an item for its key.
bool IsRssKeyOrDate(const Element& child) {
  switch (child.ns) {
    case Ns::kNone:
    case Ns::kRss10:
    case Ns::kRss090:
      return child.local == "guid" || child.local == "link" || child.local == "pubDate";
    case Ns::kDc:
      return child.local == "date";
    case Ns::kDcTerms:
      return child.local == "modified" || child.local == "created" || child.local == "issued";
    case Ns::kAtom10:
      return child.local == "link" || child.local == "updated" || child.local == "published";
    default:
      return false;
  }
}

bool Reader::ReadRssItemFields(const Element& element, bool key_only) {
  Item item;
  DateField published;
  DateField updated;
  std::string guid_link;
  std::string fallback_author;
  std::string fallback_summary;
  std::vector<Element> media;
  alternate_is_fallback_ = false;
  if (std::string_view about = AttrNs(element.node, scope_, Ns::kRdf, "about"); !about.empty()) {
    item.id = std::string(Trim(about));
  }
  const auto wanted = [key_only](std::string_view local) {
    return !key_only || IsRssKeyOrDateName(local);
  };
  ForEachChildNamed(element, wanted, [&](const Element& child) {
    if (key_only && !IsRssKeyOrDate(child)) return;
    std::string_view local = child.local;
    switch (child.ns) {
      case Ns::kNone:
      case Ns::kRss10:
      case Ns::kRss090:
        if (local == "title") {
          SetIfEmpty(item.title, HtmlToPlainText(ContentOf(child.node)));
        } else if (local == "link") {
          SetIfEmpty(item.link, ResolveLink(child, DirectText(child.node)));
        } else if (local == "description") {
          SetIfEmpty(item.summary, TrimmedContentOf(child.node));
        } else if (local == "guid") {
          std::string guid(Trim(DirectText(child.node)));
          if (guid.empty()) return;
          if (Trim(Attr(child.node, "isPermaLink")) != "false" &&
              (guid.compare(0, 7, "http://") == 0 || guid.compare(0, 8, "https://") == 0)) {
            guid_link = guid;
          }
          if (!item.id) item.id = std::move(guid);
        } else if (local == "pubDate") {
          published.Offer(DirectText(child.node));
        } else if (local == "author") {
          SetIfEmpty(item.author, CollapseWhitespace(DirectText(child.node)));
        } else if (local == "category") {
          std::string category = CollapseWhitespace(DirectText(child.node));
          if (!category.empty()) item.categories.push_back(std::move(category));
        } else if (local == "enclosure") {
          Enclosure enclosure;
          enclosure.url = ResolveLink(child, Attr(child.node, "url"));
          if (enclosure.url.empty()) return;
          enclosure.type = std::string(Trim(Attr(child.node, "type")));
          enclosure.length = ParseLength(Attr(child.node, "length"));
          item.enclosures.push_back(std::move(enclosure));
        }
        break;
      case Ns::kDc:
        if (local == "creator") {
          SetIfEmpty(item.author, CollapseWhitespace(DirectText(child.node)));
        } else if (local == "date") {
          published.Offer(DirectText(child.node));
        } else if (local == "subject") {
          std::string category = CollapseWhitespace(DirectText(child.node));
          if (!category.empty()) item.categories.push_back(std::move(category));
        } else if (local == "title") {
          SetIfEmpty(item.title, HtmlToPlainText(DirectText(child.node)));
        } else if (local == "description") {
          SetIfEmpty(fallback_summary, TrimmedContentOf(child.node));
        }
        break;
      case Ns::kDcTerms:
        if (local == "modified") {
          updated.Offer(DirectText(child.node));
        } else if (local == "created" || local == "issued") {
          published.Offer(DirectText(child.node));
        }
        break;
      case Ns::kContent:
        if (local == "encoded") SetIfEmpty(item.content, TrimmedContentOf(child.node));
        break;
      case Ns::kAtom10:
        if (local == "link") {
          ReadAtomLink(child, &item.link, &item);
        } else if (local == "updated") {
          updated.Offer(DirectText(child.node));
        } else if (local == "published") {
          published.Offer(DirectText(child.node));
        } else if (local == "author") {
          SetIfEmpty(fallback_author, AtomPersonName(child));
        }
        break;
      case Ns::kMedia:
        media.push_back(child);
        break;
      case Ns::kItunes:
        if (local == "author") {
          SetIfEmpty(fallback_author, CollapseWhitespace(DirectText(child.node)));
        } else if (local == "summary") {
          SetIfEmpty(fallback_summary, EscapeHtml(Trim(DirectText(child.node))));
        }
        break;
      default:
        break;
    }
  });
  if (key_only && !KeyFromIdOrLink(item)) return false;
  // Media RSS adds to <enclosure>s, after them, without repeating a URL.
  std::string media_title;
  for (const Element& m : media) ReadMedia(m, item, media_title, fallback_summary);
  SetIfEmpty(item.title, std::move(media_title));
  SetIfEmpty(item.link, std::move(guid_link));
  SetIfEmpty(item.author, std::move(fallback_author));
  SetIfEmpty(item.summary, std::move(fallback_summary));
  item.published_ms = published.ms;
  item.updated_ms = updated.ms;
  FinishItem(std::move(item), published.text.empty() ? updated.text : published.text);
  return true;
}

std::string Reader::AtomPersonName(const Element& person) {
  std::string name;
  std::string email;
  ForEachChild(person, [&](const Element& child) {
    if (child.local == "name") {
      SetIfEmpty(name, CollapseWhitespace(DirectText(child.node)));
    } else if (child.local == "email") {
      SetIfEmpty(email, CollapseWhitespace(DirectText(child.node)));
    }
  });
  if (name.empty() && !HasElementChild(person.node)) name = CollapseWhitespace(DirectText(person.node));
  return name.empty() ? email : name;
}

void Reader::ReadAtomLink(const Element& link, std::string* alternate, Item* item) {
  std::string_view rel = Trim(Attr(link.node, "rel"));
  std::string href_text;
  std::string_view href = Attr(link.node, "href");
  if (href.empty()) {
    href_text = DirectText(link.node);  // Atom 0.3 era feeds sometimes do this
    href = href_text;
  }
  if (rel.empty() || rel == "alternate" || rel == "http://www.iana.org/assignments/relation/alternate") {
    // Prefer an HTML alternate over others (e.g. an audio alternate listed first).
    std::string_view type = Trim(Attr(link.node, "type"));
    bool html = type.empty() || type == "text/html" || type == "application/xhtml+xml";
    if (alternate->empty() || (html && alternate_is_fallback_)) {
      *alternate = ResolveLink(link, href);
      alternate_is_fallback_ = !html;
    }
  } else if (rel == "enclosure" && item != nullptr) {
    Enclosure enclosure;
    enclosure.url = ResolveLink(link, href);
    if (enclosure.url.empty()) return;
    enclosure.type = std::string(Trim(Attr(link.node, "type")));
    enclosure.length = ParseLength(Attr(link.node, "length"));
    item->enclosures.push_back(std::move(enclosure));
  }
}

bool IsAtom(Ns ns) { return ns == Ns::kAtom10 || ns == Ns::kAtom03 || ns == Ns::kNone; }

void Reader::ReadAtomFeed(const Element& root) {
  FeedInfo& feed = out_.feed;
  feed.language = std::string(Trim(Attr(root.node, "xml:lang")));
  DateField updated;
  std::string icon;
  std::vector<Element> entries;
  alternate_is_fallback_ = false;
  // Reading only some entries, of the feed's own fields only the author is wanted (entries
  // without one inherit it).
  const bool entries_only = options_.only != nullptr;
  const auto wanted = [entries_only](std::string_view local) {
    return !entries_only || local == "entry" || local == "author";
  };
  ForEachChildNamed(root, wanted, [&](const Element& child) {
    std::string_view local = child.local;
    if (entries_only && !IsAtom(child.ns)) return;
    if (IsAtom(child.ns)) {
      if (local == "entry") {
        entries.push_back(child);
      } else if (local == "title") {
        SetIfEmpty(feed.title, TextConstructPlain(child.node));
      } else if (local == "subtitle" || local == "tagline") {
        SetIfEmpty(feed.description, TextConstructPlain(child.node));
      } else if (local == "link") {
        ReadAtomLink(child, &feed.link, nullptr);
      } else if (local == "updated" || local == "modified") {
        updated.Offer(DirectText(child.node));
      } else if (local == "author") {
        SetIfEmpty(feed.author, AtomPersonName(child));
      } else if (local == "logo") {
        SetIfEmpty(feed.image, ResolveLink(child, DirectText(child.node)));
      } else if (local == "icon") {
        SetIfEmpty(icon, ResolveLink(child, DirectText(child.node)));
      }
    } else if (child.ns == Ns::kDc && local == "language") {
      SetIfEmpty(feed.language, std::string(Trim(DirectText(child.node))));
    }
  });
  SetIfEmpty(feed.image, std::move(icon));
  feed.updated_ms = updated.ms;
  // Entries are read after the feed's children so they can inherit the feed author.
  for (const Element& entry : entries) {
    size_t pushed = scope_.Push(entry.node);
    ReadAtomEntry(entry, feed.author);
    scope_.Pop(pushed);
  }
}

void Reader::ReadAtomEntry(const Element& entry, const std::string& feed_author) {
  if (!TakeItem()) return;
  if (options_.keys_only && ReadAtomEntryFields(entry, feed_author, /*key_only=*/true)) return;
  ReadAtomEntryFields(entry, feed_author, /*key_only=*/false);
}

// As for RSS: every local name IsAtomKeyOrDate accepts, whatever the namespace.
bool IsAtomKeyOrDateName(std::string_view local) {
  return local == "id" || local == "link" || local == "published" || local == "issued" ||
         local == "created" || local == "updated" || local == "modified" || local == "date";
}

// The children of an Atom entry that its id, link and dates come from: what ReadAtomEntryFields
// reads when it reads an entry for its key.
bool IsAtomKeyOrDate(const Element& child) {
  std::string_view local = child.local;
  if (IsAtom(child.ns)) {
    return local == "id" || local == "link" || local == "published" || local == "issued" ||
           local == "created" || local == "updated" || local == "modified";
  }
  return child.ns == Ns::kDc && local == "date";
}

bool Reader::ReadAtomEntryFields(const Element& entry, const std::string& feed_author,
                                 bool key_only) {
  Item item;
  DateField published;
  DateField updated;
  std::string source_author;
  std::string fallback_summary;
  std::vector<Element> media;
  alternate_is_fallback_ = false;
  const auto wanted = [key_only](std::string_view local) {
    return !key_only || IsAtomKeyOrDateName(local);
  };
  ForEachChildNamed(entry, wanted, [&](const Element& child) {
    if (key_only && !IsAtomKeyOrDate(child)) return;
    std::string_view local = child.local;
    if (IsAtom(child.ns)) {
      if (local == "id") {
        std::string id(Trim(DirectText(child.node)));
        if (!id.empty() && !item.id) item.id = std::move(id);
      } else if (local == "title") {
        SetIfEmpty(item.title, TextConstructPlain(child.node));
      } else if (local == "link") {
        ReadAtomLink(child, &item.link, &item);
      } else if (local == "published" || local == "issued" || local == "created") {
        published.Offer(DirectText(child.node));
      } else if (local == "updated" || local == "modified") {
        updated.Offer(DirectText(child.node));
      } else if (local == "author") {
        SetIfEmpty(item.author, AtomPersonName(child));
      } else if (local == "summary") {
        SetIfEmpty(item.summary, TextConstructHtml(child.node));
      } else if (local == "content") {
        if (Attr(child.node, "src")[0] == '\0') SetIfEmpty(item.content, TextConstructHtml(child.node));
      } else if (local == "category") {
        std::string term = CollapseWhitespace(Attr(child.node, "term"));
        if (term.empty()) term = CollapseWhitespace(Attr(child.node, "label"));
        if (term.empty()) term = CollapseWhitespace(DirectText(child.node));
        if (!term.empty()) item.categories.push_back(std::move(term));
      } else if (local == "source") {
        ForEachChild(child, [&](const Element& source_child) {
          if (source_child.local == "author") SetIfEmpty(source_author, AtomPersonName(source_child));
        });
      }
    } else if (child.ns == Ns::kDc) {
      if (local == "creator") {
        SetIfEmpty(source_author, CollapseWhitespace(DirectText(child.node)));
      } else if (local == "date") {
        published.Offer(DirectText(child.node));
      } else if (local == "subject") {
        std::string category = CollapseWhitespace(DirectText(child.node));
        if (!category.empty()) item.categories.push_back(std::move(category));
      }
    } else if (child.ns == Ns::kMedia) {
      media.push_back(child);
    }
  });
  if (key_only && !KeyFromIdOrLink(item)) return false;
  std::string media_title;
  for (const Element& m : media) ReadMedia(m, item, media_title, fallback_summary);
  SetIfEmpty(item.title, std::move(media_title));
  SetIfEmpty(item.author, std::move(source_author));
  SetIfEmpty(item.author, feed_author);
  SetIfEmpty(item.summary, std::move(fallback_summary));
  item.published_ms = published.ms;
  item.updated_ms = updated.ms;
  FinishItem(std::move(item), published.text.empty() ? updated.text : published.text);
  return true;
}

}  // namespace

std::string SerializeChildrenAsHtml(const pugi::xml_node& root) {
  std::string out;
  pugi::xml_node node = root.first_child();
  while (node) {
    bool descend = false;
    switch (node.type()) {
      case pugi::node_pcdata:
      case pugi::node_cdata:
        out.append(EscapeHtml(node.value()));
        break;
      case pugi::node_element:
        AppendOpenTag(node, out);
        if (node.first_child()) {
          descend = true;
        } else if (!IsVoidElement(LocalName(node))) {
          out.append("</").append(LocalName(node)).push_back('>');
        }
        break;
      default:
        break;
    }
    if (descend) {
      node = node.first_child();
      continue;
    }
    // Climb until a sibling exists, closing the elements left behind.
    while (node != root && !node.next_sibling()) {
      node = node.parent();
      if (node == root) break;
      out.append("</").append(LocalName(node)).push_back('>');
    }
    if (node == root) break;
    node = node.next_sibling();
  }
  return out;
}

bool ReadXmlFeed(const pugi::xml_document& doc, const XmlReadOptions& options, ParsedFeed& out) {
  Reader reader(options, out);
  return reader.Read(doc);
}

}  // namespace feedcrawl
