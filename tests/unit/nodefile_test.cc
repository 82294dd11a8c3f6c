#include "core/parse/nodefile.h"

#include <gtest/gtest.h>

namespace rankwrap::parse {
namespace {

TEST(Nodefile, SlotsCollapseToHostsInOrder) {
  auto f = Nodefile::Parse("x3005c0s13b0n0\nx3005c0s13b0n0\nx3005c0s19b1n0\nx3005c0s19b1n0\n");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->lines.size(), 4u);
  EXPECT_EQ(f->hosts, (std::vector<std::string>{"x3005c0s13b0n0", "x3005c0s19b1n0"}));
  EXPECT_EQ(f->IndexOf("x3005c0s19b1n0"), 1u);
  EXPECT_EQ(f->IndexOf("x3005c0s19b1n0.hsn.cm.polaris"), 1u);
  EXPECT_FALSE(f->IndexOf("other").has_value());
}

TEST(Nodefile, CrLfAndBlankLines) {
  auto f = Nodefile::Parse("a\r\n\r\nb\r\n");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->hosts, (std::vector<std::string>{"a", "b"}));
}

TEST(Nodefile, EmptyOrMalformedIsAnError) {
  for (const char* empty : {"", "\n \n"}) {
    auto e = Nodefile::Parse(empty);
    ASSERT_FALSE(e.ok());
    EXPECT_EQ(e.error().message, "no host in the file (it is empty)");
  }
  auto two = Nodefile::Parse("a\nb slots=4\n");
  ASSERT_FALSE(two.ok());
  EXPECT_EQ(two.error().message, "line 2 'b slots=4' holds more than one word; expected one host name");
  auto nul = Nodefile::Parse(std::string_view("a\nb\0c\n", 6));
  ASSERT_FALSE(nul.ok());
  EXPECT_EQ(nul.error().message, "line 2 holds a NUL byte");
}

}  // namespace
}  // namespace rankwrap::parse
