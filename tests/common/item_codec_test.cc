// The stored form of items: JSON text as it is, or an LZ4 frame that any LZ4 frame reader (the
// lz4 command, python-lz4) opens, and that feedcrawl's readers tell apart from JSON value by
// value.
#include "common/item_codec.h"

#include <gtest/gtest.h>
#include <lz4frame.h>

#include <random>
#include <string>

#include "tests/support/status_matchers.h"

namespace feedcrawl {
namespace {

std::string Item(size_t paragraphs) {
  std::string json = R"({"key":"urn:uuid:7","title":"Crème brûlée — 東京","content":")";
  for (size_t i = 0; i < paragraphs; ++i) {
    json += "<p>Paragraph " + std::to_string(i) + ": Zoë met José in Zürich. 数据。</p>";
  }
  return json + "\"}";
}

std::string Encoded(ItemCompression compression, std::string_view json) {
  std::string out;
  AppendStoredItem(compression, json, &out);
  return out;
}

// The frame as the LZ4 library itself reads it, without feedcrawl's decoder.
std::string LibraryDecompress(const std::string& frame, size_t size) {
  LZ4F_dctx* dctx = nullptr;
  EXPECT_FALSE(LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION)));
  std::string out(size, '\0');
  size_t out_size = out.size();
  size_t in_size = frame.size();
  const size_t left = LZ4F_decompress(dctx, out.data(), &out_size, frame.data(), &in_size, nullptr);
  LZ4F_freeDecompressionContext(dctx);
  EXPECT_EQ(left, 0u) << "the frame did not end";
  EXPECT_EQ(in_size, frame.size());
  out.resize(out_size);
  return out;
}

TEST(ItemCodecTest, NamesParseBothWays) {
  ASSERT_OK_AND_ASSIGN(ItemCompression none, ParseItemCompression("none"));
  ASSERT_OK_AND_ASSIGN(ItemCompression lz4, ParseItemCompression("lz4"));
  EXPECT_EQ(none, ItemCompression::kNone);
  EXPECT_EQ(lz4, ItemCompression::kLz4);
  EXPECT_STREQ(ItemCompressionName(lz4), "lz4");
  EXPECT_STREQ(ItemCompressionName(none), "none");
  StatusOr<ItemCompression> bad = ParseItemCompression("zstd");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("none or lz4"), std::string::npos);
}

TEST(ItemCodecTest, NoneStoresTheJsonAsItIs) {
  const std::string json = Item(3);
  const std::string stored = Encoded(ItemCompression::kNone, json);
  EXPECT_EQ(stored, json);
  EXPECT_FALSE(IsCompressedItem(stored));
  ASSERT_OK_AND_ASSIGN(std::string back, DecodeStoredItem(stored));
  EXPECT_EQ(back, json);
}

TEST(ItemCodecTest, Lz4FramesRoundTripAtEverySize) {
  // Empty, tiny, typical, and past the frame's 64 KB blocks (several linked blocks).
  for (size_t paragraphs : {0, 1, 20, 2000, 20000}) {
    const std::string json = paragraphs == 0 ? std::string() : Item(paragraphs);
    const std::string stored = Encoded(ItemCompression::kLz4, json);
    EXPECT_TRUE(IsCompressedItem(stored)) << paragraphs;
    ASSERT_OK_AND_ASSIGN(std::string back, DecodeStoredItem(stored));
    EXPECT_EQ(back, json) << paragraphs;
    EXPECT_EQ(LibraryDecompress(stored, json.size() + 1), json) << paragraphs;
    if (paragraphs >= 20) {
      EXPECT_LT(stored.size(), json.size() / 2) << paragraphs;
    }
  }
}

TEST(ItemCodecTest, IncompressibleTextStillRoundTrips) {
  std::mt19937 random(7);
  std::string noise(100'000, '\0');
  for (char& c : noise) c = static_cast<char>(random());
  const std::string stored = Encoded(ItemCompression::kLz4, noise);
  ASSERT_OK_AND_ASSIGN(std::string back, DecodeStoredItem(stored));
  EXPECT_EQ(back, noise);
}

// Values of many items go end to end into one buffer: each lands after what is there, whole.
TEST(ItemCodecTest, ValuesAreAppendedAfterWhatTheBufferHolds) {
  std::string out = "{\"before\":1}";
  AppendStoredItem(ItemCompression::kLz4, Item(1), &out);
  const size_t frame_end = out.size();
  AppendStoredItem(ItemCompression::kNone, "{}", &out);
  AppendStoredItem(ItemCompression::kLz4, Item(30), &out);
  EXPECT_EQ(out.substr(0, 12), "{\"before\":1}");
  ASSERT_OK_AND_ASSIGN(std::string first, DecodeStoredItem(out.substr(12, frame_end - 12)));
  EXPECT_EQ(first, Item(1));
  EXPECT_EQ(out.substr(frame_end, 2), "{}");
  ASSERT_OK_AND_ASSIGN(std::string last, DecodeStoredItem(out.substr(frame_end + 2)));
  EXPECT_EQ(last, Item(30));
}

TEST(ItemCodecTest, AFrameWithoutItsSizeInTheHeaderDecodes) {
  // Written by another tool with default preferences: no content size, growing output.
  const std::string json = Item(500);
  std::string frame(LZ4F_compressFrameBound(json.size(), nullptr), '\0');
  frame.resize(LZ4F_compressFrame(frame.data(), frame.size(), json.data(), json.size(), nullptr));
  ASSERT_OK_AND_ASSIGN(std::string back, DecodeStoredItem(frame));
  EXPECT_EQ(back, json);
}

TEST(ItemCodecTest, DamagedFramesAreDataLossNeverACrash) {
  const std::string json = Item(200);
  const std::string stored = Encoded(ItemCompression::kLz4, json);
  // Cut short at every length past the magic number.
  for (size_t length = 4; length < stored.size(); length += 7) {
    StatusOr<std::string> cut = DecodeStoredItem(stored.substr(0, length));
    ASSERT_FALSE(cut.ok()) << length;
    EXPECT_EQ(cut.status().code(), StatusCode::kDataLoss) << length;
  }
  // Bytes after the end of the frame.
  StatusOr<std::string> trailing = DecodeStoredItem(stored + "{}");
  ASSERT_FALSE(trailing.ok());
  EXPECT_NE(trailing.status().message().find("after the LZ4 frame"), std::string::npos);
  // Every byte flipped in turn (past the magic) decodes to something or fails cleanly; a
  // header that no longer matches its content fails.
  for (size_t at = 4; at < stored.size(); ++at) {
    std::string damaged = stored;
    damaged[at] = static_cast<char>(damaged[at] ^ 0x5a);
    StatusOr<std::string> result = DecodeStoredItem(damaged);
    if (!result.ok()) {
      EXPECT_EQ(result.status().code(), StatusCode::kDataLoss) << at;
    }
  }
  // A header claiming more than any item can be.
  LZ4F_preferences_t preferences = LZ4F_INIT_PREFERENCES;
  preferences.frameInfo.contentSize = kMaxStoredItemBytes + 1;
  std::string header(LZ4F_HEADER_SIZE_MAX, '\0');
  LZ4F_cctx* cctx = nullptr;
  ASSERT_FALSE(LZ4F_isError(LZ4F_createCompressionContext(&cctx, LZ4F_VERSION)));
  header.resize(LZ4F_compressBegin(cctx, header.data(), header.size(), &preferences));
  LZ4F_freeCompressionContext(cctx);
  StatusOr<std::string> huge = DecodeStoredItem(header);
  ASSERT_FALSE(huge.ok());
  EXPECT_NE(huge.status().message().find("more than an item can be"), std::string::npos);
}

TEST(ItemCodecTest, JsonIsNeverTakenForAFrame) {
  for (const char* json : {"{}", "{\"key\":\"a\"}", "", "\x04", "\x04\x22\x4d"}) {
    EXPECT_FALSE(IsCompressedItem(json)) << json;
    ASSERT_OK_AND_ASSIGN(std::string back, DecodeStoredItem(json));
    EXPECT_EQ(back, json);
  }
}

}  // namespace
}  // namespace feedcrawl
