// The stored form of an item (the values of P items:<id>). An item is its JSON text, or, when the
// processors store with --item-compression lz4, that text in one LZ4 frame (the format of the
// lz4 command and of every LZ4 library's frame API, with the content size in its header). The
// two can sit side by side in one hash: a value is a frame when it starts with the frame's
// magic number, which JSON text (it starts with "{") never does, so readers decode each value
// on its own and a store can switch form at any time.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace feedcrawl {

enum class ItemCompression { kNone, kLz4 };
// Their names, as flags and environment variables give them.
inline constexpr const char* kItemCompressionNone = "none";  // the default
inline constexpr const char* kItemCompressionLz4 = "lz4";

// "none" or "lz4"; InvalidArgument naming the choices for anything else.
StatusOr<ItemCompression> ParseItemCompression(std::string_view name);
const char* ItemCompressionName(ItemCompression compression);

// Appends the stored form of `json` to *out: the text itself under kNone, one LZ4 frame (fast
// mode, content size in the header, no checksum) under kLz4 (or the text, should the LZ4 library
// ever refuse), so that a caller can write the values of many items into one buffer.
void AppendStoredItem(ItemCompression compression, std::string_view json, std::string* out);

// True when a stored value is an LZ4 frame rather than JSON text.
bool IsCompressedItem(std::string_view stored);

// The JSON text of a stored value: an LZ4 frame is decompressed, anything else is returned as it
// is. DataLoss, naming what is wrong, for a frame that is cut short, corrupt, or larger than
// kMaxStoredItemBytes once decompressed (no item is: a processor receives at most 80 MB per
// message, and its JSON escapes at most double a text).
constexpr size_t kMaxStoredItemBytes = size_t{256} << 20;
StatusOr<std::string> DecodeStoredItem(std::string_view stored);

}  // namespace feedcrawl
