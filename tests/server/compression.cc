#include "tests/server/compression.h"

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <functional>

namespace feedcrawl::testserver {
namespace {

// gzip framing instead of zlib framing (windowBits + 16).
constexpr int kGzipWindowBits = 15 + 16;

// Streams the pieces returned by `next` through deflate; `next` returns false when there are no
// more pieces.
StatusOr<std::string> Deflate(int level, const std::function<bool(std::string_view*)>& next) {
  z_stream stream{};
  if (deflateInit2(&stream, level, Z_DEFLATED, kGzipWindowBits, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
    return Status::Internal("deflateInit2 failed");
  }
  std::string out;
  char buffer[64 * 1024];
  while (true) {
    std::string_view piece;
    bool more = next(&piece);
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(piece.data()));
    stream.avail_in = static_cast<uInt>(piece.size());
    int flush = more ? Z_NO_FLUSH : Z_FINISH;
    do {
      stream.next_out = reinterpret_cast<Bytef*>(buffer);
      stream.avail_out = sizeof(buffer);
      if (deflate(&stream, flush) == Z_STREAM_ERROR) {
        deflateEnd(&stream);
        return Status::Internal("deflate failed");
      }
      out.append(buffer, sizeof(buffer) - stream.avail_out);
    } while (stream.avail_out == 0);
    if (!more) break;
  }
  deflateEnd(&stream);
  return out;
}

}  // namespace

StatusOr<std::string> GzipCompress(std::string_view data) {
  bool given = false;
  return Deflate(Z_DEFAULT_COMPRESSION, [&](std::string_view* piece) {
    if (given) return false;
    *piece = data;
    given = true;
    return true;
  });
}

namespace {

constexpr size_t kBombSegment = 1 << 20;

// Raw deflate of `spaces` spaces that assumes the output so far ends with a space: only runs
// (distance 1) are used, so the block decodes the same after any such history. Ends with a sync
// flush (not final) or, when `last`, with the final block.
StatusOr<std::string> RawSpaces(size_t spaces, bool last) {
  z_stream stream{};
  if (deflateInit2(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, -15, 9, Z_RLE) != Z_OK) {
    return Status::Internal("deflateInit2 failed");
  }
  const Bytef space = ' ';
  deflateSetDictionary(&stream, &space, 1);
  static const std::string kSpaces(kBombSegment, ' ');
  std::string out;
  char buffer[64 * 1024];
  size_t remaining = spaces;
  while (true) {
    size_t n = std::min(remaining, kSpaces.size());
    remaining -= n;
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(kSpaces.data()));
    stream.avail_in = static_cast<uInt>(n);
    int flush = remaining > 0 ? Z_NO_FLUSH : (last ? Z_FINISH : Z_SYNC_FLUSH);
    do {
      stream.next_out = reinterpret_cast<Bytef*>(buffer);
      stream.avail_out = sizeof(buffer);
      if (deflate(&stream, flush) == Z_STREAM_ERROR) {
        deflateEnd(&stream);
        return Status::Internal("deflate failed");
      }
      out.append(buffer, sizeof(buffer) - stream.avail_out);
    } while (stream.avail_out == 0);
    if (remaining == 0) break;
  }
  deflateEnd(&stream);
  return out;
}

void AppendLittleEndian32(uint32_t value, std::string* out) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

}  // namespace

StatusOr<std::string> GzipBomb(std::string_view prefix, size_t total_bytes) {
  if (total_bytes <= prefix.size()) return GzipCompress(prefix.substr(0, total_bytes));
  // Deflating gigabytes takes seconds, so the body is assembled from one precompressed segment
  // of spaces repeated: a deflate stream may be split into blocks anywhere, and every segment only
  // refers to the byte just before it, which is always a space.
  std::string head_text(prefix);
  head_text.push_back(' ');
  size_t spaces = total_bytes - head_text.size();
  size_t segments = spaces / kBombSegment;
  size_t tail_spaces = spaces % kBombSegment;

  std::string head;
  {
    z_stream stream{};
    if (deflateInit2(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
      return Status::Internal("deflateInit2 failed");
    }
    char buffer[4096];
    stream.next_in = reinterpret_cast<Bytef*>(head_text.data());
    stream.avail_in = static_cast<uInt>(head_text.size());
    do {
      stream.next_out = reinterpret_cast<Bytef*>(buffer);
      stream.avail_out = sizeof(buffer);
      deflate(&stream, Z_SYNC_FLUSH);
      head.append(buffer, sizeof(buffer) - stream.avail_out);
    } while (stream.avail_out == 0);
    deflateEnd(&stream);
  }
  static const StatusOr<std::string> kSegment = RawSpaces(kBombSegment, /*last=*/false);
  if (!kSegment.ok()) return kSegment.status();
  StatusOr<std::string> tail = RawSpaces(tail_spaces, /*last=*/true);
  if (!tail.ok()) return tail.status();

  static const uLong kSegmentCrc = [] {
    std::string spaces_block(kBombSegment, ' ');
    return crc32(0, reinterpret_cast<const Bytef*>(spaces_block.data()), kBombSegment);
  }();
  uLong crc = crc32(0, reinterpret_cast<const Bytef*>(head_text.data()),
                    static_cast<uInt>(head_text.size()));
  std::string tail_text(tail_spaces, ' ');
  uLong tail_crc = crc32(0, reinterpret_cast<const Bytef*>(tail_text.data()),
                         static_cast<uInt>(tail_text.size()));

  // gzip member header: magic, deflate, no flags, no mtime, max compression, Unix.
  std::string out = {'\x1f', '\x8b', '\x08', 0, 0, 0, 0, 0, '\x02', '\x03'};
  out += head;
  out.reserve(out.size() + segments * kSegment->size() + tail->size() + 8);
  for (size_t i = 0; i < segments; ++i) {
    out += *kSegment;
    crc = crc32_combine(crc, kSegmentCrc, static_cast<z_off_t>(kBombSegment));
  }
  out += *tail;
  crc = crc32_combine(crc, tail_crc, static_cast<z_off_t>(tail_spaces));
  AppendLittleEndian32(static_cast<uint32_t>(crc), &out);
  AppendLittleEndian32(static_cast<uint32_t>(total_bytes & 0xffffffffu), &out);
  return out;
}

}  // namespace feedcrawl::testserver
