// AppendItemJson against nlohmann's dump() of ItemToJson: the stored form of an item must not
// change with the writer. Valid UTF-8 (all the parser produces) is compared byte for byte with
// dump(); invalid UTF-8, where dump() throws, byte for byte with dump() in replace mode.
#include <gtest/gtest.h>

#include <time.h>

#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "common/feed_model.h"

namespace feedcrawl {
namespace {

using nlohmann::json;

std::string Written(const Item& item) {
  std::string out;
  AppendItemJson(item, &out);
  return out;
}

std::string Dumped(const Item& item) { return ItemToJson(item).dump(); }

std::string DumpedReplacing(const Item& item) {
  return ItemToJson(item).dump(-1, ' ', false, json::error_handler_t::replace);
}

Item FullItem() {
  Item item;
  item.key = "g:urn:uuid:1";
  item.id = "urn:uuid:1";
  item.title = "Ünïcödé \"quoted\" \\ back\tslash";
  item.link = "https://example.com/posts/1?a=1&b=2";
  item.published_ms = 1031356801000;
  item.updated_ms = 1031356801250;
  item.author = "Анна <anna@example.com>";
  item.summary = "<p>line\nbreak\r\n and a form\ffeed and a \bbackspace</p>";
  item.content = "<p>emoji 😀, CJK 漢字, DEL \x7f, NUL follows: </p>";
  item.content.push_back('\0');
  item.categories = {"news", "", "caté\"gory\\"};
  item.enclosures = {{"https://example.com/a.mp3", "audio/mpeg", 123},
                     {"https://example.com/b", "", std::nullopt},
                     {"", "video/mp4", -5},
                     {"", "", int64_t{0}}};
  return item;
}

TEST(ItemJsonWriterTest, EveryFieldMatchesDump) {
  const Item item = FullItem();
  EXPECT_EQ(Written(item), Dumped(item));
}

TEST(ItemJsonWriterTest, EmptyAndAbsentFieldsMatchDump) {
  Item empty;
  EXPECT_EQ(Written(empty), Dumped(empty));
  empty.key = "k";
  empty.id = "";  // present but empty: null, as ItemToJson writes it
  EXPECT_EQ(Written(empty), Dumped(empty));
  EXPECT_EQ(Written(empty),
            R"({"author":null,"categories":[],"content":null,"enclosures":[],"id":null,)"
            R"("key":"k","link":null,"published":null,"summary":null,"title":null,)"
            R"("updated":null})");
}

TEST(ItemJsonWriterTest, EveryControlCharacterMatchesDump) {
  Item item;
  for (int c = 0; c < 0x80; ++c) item.title.push_back(static_cast<char>(c));
  EXPECT_EQ(Written(item), Dumped(item));
  EXPECT_NE(Written(item).find(R"(\u0000\u0001)"), std::string::npos);
  EXPECT_NE(Written(item).find(R"(\u001f)"), std::string::npos);
}

// Text is scanned 8 or 16 bytes at a time: a byte that needs care must be found at any offset,
// after ASCII and after non-ASCII letters (well-formed text takes a path of its own).
TEST(ItemJsonWriterTest, SpecialBytesAtEveryOffsetOfPlainText) {
  const std::string specials[] = {"\"", "\\", "\n", std::string(1, '\0'), "\x1f", "\x7f",
                                  "é", "\xff", "\xe2\x82", "😀"};
  for (const std::string& special : specials) {
    for (const std::string& filler : {std::string("a"), std::string("é")}) {
      for (size_t offset = 0; offset <= 40; ++offset) {
        Item item;
        for (size_t i = 0; i < offset; ++i) item.title += filler;
        item.title += special;
        for (size_t i = offset; i < 40; ++i) item.title += filler;
        EXPECT_EQ(Written(item), DumpedReplacing(item)) << offset;
      }
    }
  }
}

TEST(ItemJsonWriterTest, AppendsToWhatIsThere) {
  std::string out = "prefix";
  AppendItemJson(FullItem(), &out);
  EXPECT_EQ(out, "prefix" + Dumped(FullItem()));
}

// An item with bytes that are not UTF-8 is written again whole, after the text already there
// (which is kept as it was, even when it is not UTF-8 itself).
TEST(ItemJsonWriterTest, AnInvalidItemAppendedKeepsWhatIsThere) {
  Item item = FullItem();
  item.categories.push_back("caf\xE9");
  const std::string before = "prefix \xFF ";
  std::string out = before;
  AppendItemJson(item, &out);
  EXPECT_EQ(out, before + DumpedReplacing(item));
  EXPECT_NE(out.find("caf\xEF\xBF\xBD"), std::string::npos);  // U+FFFD in place of the byte
}

TEST(ItemJsonWriterTest, DatesMatchDumpAcrossTheRange) {
  Item item;
  item.key = "k";
  const int64_t edges[] = {0,
                           -1,
                           1,
                           999,
                           -1000,
                           951782400000,       // 2000-02-29
                           253402300799999,    // 9999-12-31T23:59:59.999
                           253402300800000,    // 10000-01-01: five-digit year
                           -62167219200000,    // 0000-01-01
                           -62167219200001,    // just before year 0
                           std::numeric_limits<int64_t>::max() / 4,
                           std::numeric_limits<int64_t>::min() / 4};
  for (int64_t ms : edges) {
    item.published_ms = ms;
    item.updated_ms = -ms;
    EXPECT_EQ(Written(item), Dumped(item)) << ms;
  }
}

// FormatRfc3339 against the C library's calendar, for every kind of millisecond part.
TEST(ItemJsonWriterTest, FormatRfc3339AgreesWithGmtime) {
  std::mt19937_64 random(7);
  std::uniform_int_distribution<int64_t> any_ms(-62167219200000, 253402300799999);
  for (int i = 0; i < 20000; ++i) {
    int64_t ms = any_ms(random);
    if (i % 3 == 0) ms -= ms % 1000;  // whole seconds: no fraction written
    int64_t seconds = ms / 1000;
    int64_t millis = ms % 1000;
    if (millis < 0) {
      millis += 1000;
      seconds -= 1;
    }
    const time_t t = static_cast<time_t>(seconds);
    struct tm tm = {};
    ASSERT_NE(gmtime_r(&t, &tm), nullptr);
    char want[64];
    if (millis != 0) {
      std::snprintf(want, sizeof(want), "%04lld-%02d-%02dT%02d:%02d:%02d.%03dZ",
                    static_cast<long long>(tm.tm_year) + 1900, tm.tm_mon + 1, tm.tm_mday,
                    tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(millis));
    } else {
      std::snprintf(want, sizeof(want), "%04lld-%02d-%02dT%02d:%02d:%02dZ",
                    static_cast<long long>(tm.tm_year) + 1900, tm.tm_mon + 1, tm.tm_mday,
                    tm.tm_hour, tm.tm_min, tm.tm_sec);
    }
    ASSERT_EQ(FormatRfc3339(ms), want) << ms;
  }
}

// Pieces random strings are made of: plain text, every escape, and well-formed UTF-8 of every
// length, including the edges of each range (U+0080, U+07FF, U+0800, U+D7FF, U+E000, U+FFFF,
// U+10000, U+10FFFF).
const char* const kValidPieces[] = {
    "a",         "Hello, world",  " ",           "\"",           "\\",         "/",
    "\n",        "\r",            "\t",          "\b",           "\f",         "\x01",
    "\x1f",      "\x7f",          "é",           "Ж",            "€",          "漢",
    "😀",        "\xc2\x80",      "\xdf\xbf",    "\xe0\xa0\x80", "\xed\x9f\xbf", "\xee\x80\x80",
    "\xef\xbf\xbf", "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf", "<p>&amp;</p>", "\xef\xbf\xbd"};

// Ill-formed UTF-8: stray continuation bytes, overlong forms, surrogates, values past
// U+10FFFF, bytes that never occur, and sequences cut short.
const char* const kInvalidPieces[] = {
    "\x80",         "\xbf",         "\xc0\xaf",     "\xc1\xbf",     "\xe0\x80\xaf",
    "\xe0\x9f\xbf", "\xed\xa0\x80", "\xed\xbf\xbf", "\xf0\x80\x80\xaf", "\xf0\x8f\xbf\xbf",
    "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xfe",   "\xff",         "\xc3",
    "\xe2\x82",     "\xf0\x9f\x98", "\xe2\x28\xa1", "\xf0\x28\x8c\xbc", "\xc3\x28"};

std::string RandomText(std::mt19937_64& random, bool allow_invalid) {
  std::uniform_int_distribution<int> count(0, 12);
  std::uniform_int_distribution<size_t> valid(0, std::size(kValidPieces) - 1);
  std::uniform_int_distribution<size_t> invalid(0, std::size(kInvalidPieces) - 1);
  std::uniform_int_distribution<int> percent(0, 99);
  std::string text;
  const int pieces = count(random);
  for (int i = 0; i < pieces; ++i) {
    if (allow_invalid && percent(random) < 25) {
      text += kInvalidPieces[invalid(random)];
    } else if (percent(random) < 5) {
      text.push_back('\0');
    } else {
      text += kValidPieces[valid(random)];
    }
  }
  return text;
}

Item RandomItem(std::mt19937_64& random, bool allow_invalid) {
  std::uniform_int_distribution<int> percent(0, 99);
  std::uniform_int_distribution<int64_t> any_ms(-100'000'000'000'000, 100'000'000'000'000);
  auto text = [&] {
    return percent(random) < 20 ? std::string() : RandomText(random, allow_invalid);
  };
  Item item;
  item.key = text();
  if (percent(random) < 70) item.id = text();
  item.title = text();
  item.link = text();
  if (percent(random) < 70) item.published_ms = any_ms(random);
  if (percent(random) < 50) item.updated_ms = any_ms(random);
  item.author = text();
  item.summary = text();
  item.content = text();
  for (int n = percent(random) % 4; n > 0; --n) item.categories.push_back(text());
  for (int n = percent(random) % 3; n > 0; --n) {
    Enclosure e{text(), text(), std::nullopt};
    if (percent(random) < 60) e.length = any_ms(random);
    item.enclosures.push_back(std::move(e));
  }
  return item;
}

TEST(ItemJsonWriterTest, RandomValidItemsMatchDumpByteForByte) {
  std::mt19937_64 random(1);
  std::string reused;
  for (int i = 0; i < 5000; ++i) {
    const Item item = RandomItem(random, /*allow_invalid=*/false);
    reused.clear();
    AppendItemJson(item, &reused);
    ASSERT_EQ(reused, Dumped(item)) << "item " << i;
  }
}

// dump() throws on these (the processor never gives it such text: the parser makes every string
// valid UTF-8); the writer replaces each bad sequence exactly as dump()'s replace mode does.
TEST(ItemJsonWriterTest, RandomInvalidItemsMatchReplacingDump) {
  std::mt19937_64 random(2);
  int invalid = 0;
  for (int i = 0; i < 5000; ++i) {
    const Item item = RandomItem(random, /*allow_invalid=*/true);
    const std::string written = Written(item);
    ASSERT_EQ(written, DumpedReplacing(item)) << "item " << i;
    bool throws = false;
    try {
      (void)Dumped(item);
    } catch (const json::type_error&) {
      throws = true;
    }
    invalid += throws ? 1 : 0;
    // Whatever went in, what comes out is valid JSON.
    ASSERT_FALSE(json::parse(written, nullptr, /*allow_exceptions=*/false).is_discarded());
  }
  EXPECT_GT(invalid, 1000);  // the cases above really exercised invalid input
}

TEST(ItemJsonWriterTest, EveryInvalidPieceAloneAndBetweenText) {
  for (const char* piece : kInvalidPieces) {
    for (const std::string& text :
         {std::string(piece), "a" + std::string(piece), std::string(piece) + "z",
          "é" + std::string(piece) + "\"é"}) {
      Item item;
      item.title = text;
      EXPECT_EQ(Written(item), DumpedReplacing(item)) << json(text).dump(-1, ' ', true,
                                                                  json::error_handler_t::replace);
    }
  }
}

TEST(ItemJsonWriterTest, RoundTripsThroughItemFromJson) {
  std::mt19937_64 random(3);
  for (int i = 0; i < 2000; ++i) {
    Item item = RandomItem(random, /*allow_invalid=*/false);
    // ItemFromJson reads four-digit years, the only ones feeds carry.
    for (std::optional<int64_t>* date : {&item.published_ms, &item.updated_ms}) {
      if (*date) *date = (**date < 0 ? -**date : **date) % 253402300800000;
    }
    const Item back = ItemFromJson(json::parse(Written(item)));
    ASSERT_EQ(back.key, item.key);
    // Empty optional strings are written as null, so they come back absent.
    ASSERT_EQ(back.id.value_or(""), item.id.value_or(""));
    ASSERT_EQ(back.title, item.title);
    ASSERT_EQ(back.link, item.link);
    ASSERT_EQ(back.published_ms, item.published_ms);
    ASSERT_EQ(back.updated_ms, item.updated_ms);
    ASSERT_EQ(back.author, item.author);
    ASSERT_EQ(back.summary, item.summary);
    ASSERT_EQ(back.content, item.content);
    ASSERT_EQ(back.categories, item.categories);
    ASSERT_EQ(back.enclosures.size(), item.enclosures.size());
    for (size_t e = 0; e < item.enclosures.size(); ++e) {
      ASSERT_EQ(back.enclosures[e].url, item.enclosures[e].url);
      ASSERT_EQ(back.enclosures[e].type, item.enclosures[e].type);
      ASSERT_EQ(back.enclosures[e].length, item.enclosures[e].length);
    }
  }
}

}  // namespace
}  // namespace feedcrawl
