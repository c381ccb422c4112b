#include "common/ascii.h"

#include <gtest/gtest.h>

namespace feedcrawl {
namespace {

TEST(AsciiTest, TrimsTheSixAsciiSpacesAtTheEndsOnly) {
  EXPECT_EQ(TrimAsciiSpace(" \t\n\v\f\rmax-age=60 , no-cache\r\n"), "max-age=60 , no-cache");
  EXPECT_EQ(TrimAsciiSpace("a b"), "a b");
  EXPECT_EQ(TrimAsciiSpace(" \r\n "), "");
  EXPECT_EQ(TrimAsciiSpace(""), "");
}

TEST(AsciiTest, LeavesOtherBytesAlone) {
  // A no-break space (U+00A0, and its Latin-1 byte), NUL and other controls are not spaces here,
  // whatever the process's locale.
  EXPECT_EQ(TrimAsciiSpace("\xc2\xa0x\xc2\xa0"), "\xc2\xa0x\xc2\xa0");
  EXPECT_EQ(TrimAsciiSpace("\xa0x\xa0"), "\xa0x\xa0");
  EXPECT_EQ(TrimAsciiSpace(std::string_view("\0x\x1f", 3)), std::string_view("\0x\x1f", 3));
}

}  // namespace
}  // namespace feedcrawl
