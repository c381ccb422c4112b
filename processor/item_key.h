// Stable per-feed item keys: the identity under which the item store deduplicates items across
// fetches of the same feed. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/feed_model.h"

namespace feedcrawl {

// 64-bit FNV-1a; stable across platforms and releases (keys are persisted).
uint64_t Fnv1a64(std::string_view data, uint64_t seed = 0xcbf29ce484222325ULL);

// 16 lower-case hex digits.
std::string Hex64(uint64_t value);

// The key of one item: its id (guid, rdf:about, atom:id, JSON id) when present, else its absolute
// link, else "h:" + Hex64(FNV-1a of title "\n" date_text "\n" content-or-summary). `date_text` is
// the date as written in the feed, so the key does not depend on date parsing.
std::string ItemKey(const Item& item, std::string_view date_text);

// Whether ItemKey takes the item's key from its id or its link alone, so that no other field
// can change it.
bool KeyFromIdOrLink(const Item& item);

// Makes keys unique within one document, in order: an exact duplicate of an earlier item (every
// field equal) is dropped; a different item whose key repeats gets "#" + a hash of its link, title
// and content appended (deterministic, so the same document always yields the same keys).
void DeduplicateKeys(std::vector<Item>& items);

}  // namespace feedcrawl
