// The body digest is stored with each feed (`body_digest`) and compared by whichever fetcher gets
// the feed's next job, so its value is part of the stored format: these vectors pin it.

#include <gtest/gtest.h>

#include <string>

#include "fetcher/http_client.h"

namespace feedcrawl {
namespace {

TEST(BodyDigestTest, IsTheLengthAndTheXxh3Of128Bits) {
  // XXH3-128 of the empty input with seed 0, the specification's first test vector.
  EXPECT_EQ(BodyDigest(""), "0-99aa06d3014798d86001c324468d497f");
  EXPECT_EQ(BodyDigest("abc"), "3-06b05ab6733a618578af5f94892f3950");
  // Past 240 bytes XXH3 takes its long-input path.
  std::string body;
  for (size_t i = 0; i < 5000; ++i) body.push_back(static_cast<char>('a' + i % 26));
  EXPECT_EQ(BodyDigest(body), "1388-0acf3f2690e48fadeb0f5845c1ec4cc2");
}

TEST(BodyDigestTest, AnyChangedByteChangesIt) {
  std::string body(36 * 1024, 'x');
  const std::string digest = BodyDigest(body);
  for (size_t at : {size_t{0}, size_t{1000}, body.size() - 1}) {
    std::string changed = body;
    changed[at] = 'y';
    EXPECT_NE(BodyDigest(changed), digest) << "byte " << at;
  }
  EXPECT_NE(BodyDigest(body.substr(1)), digest);
}

}  // namespace
}  // namespace feedcrawl
