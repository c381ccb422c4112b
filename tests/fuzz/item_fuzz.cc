// libFuzzer entry point for the stored form of items (common/item_codec.h), the one decoder that
// reads bytes from Redis which a hand edit or another writer may have left in any state. The
// first byte picks what the rest is: even, the body of an LZ4 frame after its magic number,
// which DecodeStoredItem must decode or refuse with DataLoss; odd, an item's JSON, which must
// come back unchanged from its frame, and the frame with one byte changed (chosen by the first
// byte) must still decode or be refused cleanly.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/item_codec.h"

namespace {

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

void DecodeOrRefuse(std::string_view stored) {
  feedcrawl::StatusOr<std::string> json = feedcrawl::DecodeStoredItem(stored);
  if (json.ok()) {
    Check(json->size() <= feedcrawl::kMaxStoredItemBytes);
  } else {
    Check(json.status().code() == feedcrawl::StatusCode::kDataLoss);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  if ((mode & 1) == 0) {
    std::string frame("\x04\x22\x4d\x18", 4);
    frame.append(rest);
    DecodeOrRefuse(frame);
    return 0;
  }
  std::string frame;
  feedcrawl::AppendStoredItem(feedcrawl::ItemCompression::kLz4, rest, &frame);
  Check(feedcrawl::IsCompressedItem(frame));
  feedcrawl::StatusOr<std::string> json = feedcrawl::DecodeStoredItem(frame);
  Check(json.ok() && *json == rest);
  const size_t at = 4 + (mode >> 1) % (frame.size() - 4);
  frame[at] = static_cast<char>(frame[at] ^ 0x20);
  DecodeOrRefuse(frame);
  return 0;
}
