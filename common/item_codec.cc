#include "common/item_codec.h"

#include <lz4frame.h>

#include <algorithm>
#include <memory>

namespace feedcrawl {
namespace {

// LZ4F_MAGICNUMBER (0x184D2204), as its little-endian bytes start a frame.
constexpr std::string_view kFrameMagic("\x04\x22\x4d\x18", 4);

struct DctxDeleter {
  void operator()(LZ4F_dctx* dctx) const { LZ4F_freeDecompressionContext(dctx); }
};

Status FrameError(const char* what, size_t code) {
  return Status::DataLoss(std::string("stored item: LZ4 frame ") + what + ": " +
                          LZ4F_getErrorName(code));
}

}  // namespace

StatusOr<ItemCompression> ParseItemCompression(std::string_view name) {
  if (name == kItemCompressionNone) return ItemCompression::kNone;
  if (name == kItemCompressionLz4) return ItemCompression::kLz4;
  return Status::InvalidArgument("item compression must be none or lz4, not '" +
                                 std::string(name) + "'");
}

const char* ItemCompressionName(ItemCompression compression) {
  return compression == ItemCompression::kLz4 ? kItemCompressionLz4 : kItemCompressionNone;
}

void AppendStoredItem(ItemCompression compression, std::string_view json, std::string* out) {
  if (compression == ItemCompression::kNone) {
    out->append(json);
    return;
  }
  LZ4F_preferences_t preferences = LZ4F_INIT_PREFERENCES;
  preferences.frameInfo.contentSize = json.size();
  // One call per frame: with its context on the stack, LZ4F_compressFrame is about twice as fast
  // on items of a few KB as a reused context's Begin/Update/End, which resets 64 KB of buffers.
  const size_t start = out->size();
  out->resize(start + LZ4F_compressFrameBound(json.size(), &preferences));
  const size_t written = LZ4F_compressFrame(out->data() + start, out->size() - start,
                                            json.data(), json.size(), &preferences);
  // Only a destination smaller than the bound makes LZ4F_compressFrame fail; were it to fail
  // anyway, the item is stored as text, which every reader takes too, rather than lost.
  if (LZ4F_isError(written)) {
    out->resize(start);
    out->append(json);
    return;
  }
  out->resize(start + written);
}

bool IsCompressedItem(std::string_view stored) {
  return stored.substr(0, kFrameMagic.size()) == kFrameMagic;
}

StatusOr<std::string> DecodeStoredItem(std::string_view stored) {
  if (!IsCompressedItem(stored)) return std::string(stored);
  LZ4F_dctx* raw = nullptr;
  if (size_t code = LZ4F_createDecompressionContext(&raw, LZ4F_VERSION); LZ4F_isError(code)) {
    return Status::Internal(std::string("LZ4 decompression context: ") + LZ4F_getErrorName(code));
  }
  std::unique_ptr<LZ4F_dctx, DctxDeleter> dctx(raw);
  LZ4F_frameInfo_t info{};
  size_t consumed = stored.size();
  size_t hint = LZ4F_getFrameInfo(dctx.get(), &info, stored.data(), &consumed);
  if (LZ4F_isError(hint)) return FrameError("header", hint);
  if (info.contentSize > kMaxStoredItemBytes) {
    return Status::DataLoss("stored item: LZ4 frame of " + std::to_string(info.contentSize) +
                            " bytes, more than an item can be");
  }
  std::string json;
  // The header gives the size; a frame written without it grows the text as it goes.
  json.resize(info.contentSize > 0 ? info.contentSize : 4 * stored.size());
  size_t in = consumed;
  size_t out = 0;
  while (hint != 0) {
    if (in == stored.size()) return Status::DataLoss("stored item: LZ4 frame cut short");
    if (out == json.size()) {
      if (json.size() >= kMaxStoredItemBytes) {
        return Status::DataLoss("stored item: LZ4 frame larger than an item can be");
      }
      json.resize(std::min(kMaxStoredItemBytes, 2 * json.size()));
    }
    size_t src_size = stored.size() - in;
    size_t dst_size = json.size() - out;
    hint = LZ4F_decompress(dctx.get(), json.data() + out, &dst_size, stored.data() + in,
                           &src_size, nullptr);
    if (LZ4F_isError(hint)) return FrameError("data", hint);
    if (src_size == 0 && dst_size == 0 && hint != 0) {
      return Status::DataLoss("stored item: LZ4 frame does not decode");
    }
    in += src_size;
    out += dst_size;
  }
  if (in != stored.size()) {
    return Status::DataLoss("stored item: " + std::to_string(stored.size() - in) +
                            " bytes after the LZ4 frame");
  }
  if (info.contentSize > 0 && out != info.contentSize) {
    return Status::DataLoss("stored item: LZ4 frame gave " + std::to_string(out) +
                            " bytes, its header says " + std::to_string(info.contentSize));
  }
  json.resize(out);
  return json;
}

}  // namespace feedcrawl
