// Tests for engine/internal/short_id.h: the 16-byte job id, inline up to 15 characters and on
// the heap beyond, across every length around the boundary, moves and self-assignment.
#include "engine/internal/short_id.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>

namespace aps::engine_internal {
namespace {

TEST(ShortIdTest, StartsEmptyAndTerminated) {
  ShortId id;
  EXPECT_TRUE(id.empty());
  EXPECT_EQ(id.size(), 0u);
  EXPECT_STREQ(id.c_str(), "");
  EXPECT_FALSE(id.on_heap());
}

TEST(ShortIdTest, KeepsEveryLengthAroundTheInlineLimit) {
  for (std::size_t n = 0; n <= 40; ++n) {
    std::string s;
    for (std::size_t i = 0; i < n; ++i) s.push_back(static_cast<char>('a' + i % 26));
    ShortId id;
    id = s;
    EXPECT_EQ(id.size(), n);
    EXPECT_EQ(id.view(), s);
    EXPECT_STREQ(id.c_str(), s.c_str());
    EXPECT_EQ(id.empty(), n == 0);
    EXPECT_EQ(id.on_heap(), n > ShortId::kInlineMax) << n;
    EXPECT_TRUE(id == s);
    EXPECT_FALSE(id == s + "x");
  }
}

TEST(ShortIdTest, ReassignsAcrossTheLimitBothWays) {
  ShortId id;
  id = std::string(40, 'x');
  EXPECT_TRUE(id.on_heap());
  id = "short";
  EXPECT_FALSE(id.on_heap());
  EXPECT_EQ(id.view(), "short");
  id = std::string(20, 'y');
  id = std::string(30, 'z');  // heap to heap: the first block is freed (ASan would say)
  EXPECT_EQ(id.view(), std::string(30, 'z'));
  id.clear();
  EXPECT_TRUE(id.empty());
  EXPECT_STREQ(id.c_str(), "");
}

TEST(ShortIdTest, AssignsFromItsOwnCharacters) {
  ShortId id;
  id = "0123456789abcdefghij";       // heap
  id = id.view().substr(3, 20 - 3);  // still heap, from its own block
  EXPECT_EQ(id.view(), "3456789abcdefghij");
  id = id.view().substr(0, 4);  // inline, from its own (freed) heap block
  EXPECT_EQ(id.view(), "3456");
  id = id.view().substr(1);  // inline from inline
  EXPECT_EQ(id.view(), "456");
}

TEST(ShortIdTest, MovesTakeTheBlock) {
  ShortId a;
  a = std::string(25, 'q');
  const char* block = a.c_str();
  ShortId b(std::move(a));
  EXPECT_EQ(b.c_str(), block);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
  ShortId c;
  c = "inline";
  c = std::move(b);
  EXPECT_EQ(c.view(), std::string(25, 'q'));
  EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move)
  ShortId& self = c;
  c = std::move(self);
  EXPECT_EQ(c.view(), std::string(25, 'q'));
}

}  // namespace
}  // namespace aps::engine_internal
