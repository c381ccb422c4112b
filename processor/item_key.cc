#include "processor/item_key.h"

#include <algorithm>
#include <string_view>
#include <unordered_map>

#include "processor/text.h"

namespace feedcrawl {
namespace {

constexpr uint64_t kFnvPrime = 0x100000001b3ULL;

bool SameEnclosures(const std::vector<Enclosure>& a, const std::vector<Enclosure>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].url != b[i].url || a[i].type != b[i].type || a[i].length != b[i].length) return false;
  }
  return true;
}

bool SameItem(const Item& a, const Item& b) {
  return a.id == b.id && a.title == b.title && a.link == b.link &&
         a.published_ms == b.published_ms && a.updated_ms == b.updated_ms &&
         a.author == b.author && a.summary == b.summary && a.content == b.content &&
         a.categories == b.categories && SameEnclosures(a.enclosures, b.enclosures);
}

uint64_t DisambiguationHash(const Item& item, uint64_t round) {
  uint64_t h = Fnv1a64(item.link);
  h = Fnv1a64("\n", h);
  h = Fnv1a64(item.title, h);
  h = Fnv1a64("\n", h);
  h = Fnv1a64(item.content.empty() ? item.summary : item.content, h);
  // Items equal in link, title and content but different elsewhere need a further round.
  for (uint64_t i = 0; i < round; ++i) h = (h ^ (i + 1)) * kFnvPrime;
  return h;
}

bool HasId(const Item& item) { return item.id && !Trim(*item.id).empty(); }

}  // namespace

uint64_t Fnv1a64(std::string_view data, uint64_t seed) {
  uint64_t h = seed;
  for (char c : data) {
    h ^= static_cast<unsigned char>(c);
    h *= kFnvPrime;
  }
  return h;
}

std::string Hex64(uint64_t value) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i) {
    out[static_cast<size_t>(i)] = kDigits[value & 0xF];
    value >>= 4;
  }
  return out;
}

bool KeyFromIdOrLink(const Item& item) { return HasId(item) || !item.link.empty(); }

std::string ItemKey(const Item& item, std::string_view date_text) {
  if (HasId(item)) return std::string(Trim(*item.id));
  if (!item.link.empty()) return item.link;
  uint64_t h = Fnv1a64(item.title);
  h = Fnv1a64("\n", h);
  h = Fnv1a64(Trim(date_text), h);
  h = Fnv1a64("\n", h);
  h = Fnv1a64(item.content.empty() ? item.summary : item.content, h);
  return "h:" + Hex64(h);
}

void DeduplicateKeys(std::vector<Item>& items) {
  // Most feeds repeat no key, which their keys sorted (views, in one allocation) show; only a
  // feed with a repeated key is taken item by item below.
  {
    std::vector<std::string_view> keys;
    keys.reserve(items.size());
    for (const Item& item : items) keys.push_back(item.key);
    std::sort(keys.begin(), keys.end());
    if (std::adjacent_find(keys.begin(), keys.end()) == keys.end()) return;
  }
  // The map views the items' own keys, so no key is copied; items stay in place until the map is
  // done with. Collisions are rare, so they are handled slowly.
  std::unordered_map<std::string_view, size_t> first_index;
  first_index.reserve(items.size() * 2);
  std::vector<bool> dropped(items.size(), false);
  bool any_dropped = false;
  for (size_t i = 0; i < items.size(); ++i) {
    Item& item = items[i];
    if (first_index.try_emplace(item.key, i).second) continue;
    bool duplicate = false;
    for (size_t j = 0; j < i && !duplicate; ++j) {
      duplicate = !dropped[j] && items[j].key.compare(0, item.key.size(), item.key) == 0 &&
                  SameItem(items[j], item);
    }
    if (duplicate) {
      dropped[i] = true;
      any_dropped = true;
      continue;
    }
    for (uint64_t round = 0;; ++round) {
      std::string candidate = item.key + "#" + Hex64(DisambiguationHash(item, round));
      if (first_index.count(candidate) == 0) {
        item.key = std::move(candidate);
        first_index.emplace(item.key, i);
        break;
      }
    }
  }
  if (!any_dropped) return;
  size_t kept = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    if (dropped[i]) continue;
    if (kept != i) items[kept] = std::move(items[i]);
    ++kept;
  }
  items.resize(kept);
}

}  // namespace feedcrawl
