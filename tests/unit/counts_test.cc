#include "core/parse/counts.h"

#include <gtest/gtest.h>

namespace rankwrap::parse {
namespace {

TEST(Counts, RunsExpand) {
  auto c = Counts::Parse("2(x3),1");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->size(), 4u);
  EXPECT_EQ(c->at(0), 2u);
  EXPECT_EQ(c->at(2), 2u);
  EXPECT_EQ(c->at(3), 1u);
  EXPECT_EQ(c->SumFirst(4), 7u);
  EXPECT_EQ(c->SumFirst(2), 4u);
  EXPECT_EQ(c->SumFirst(100), 7u);
}

TEST(Counts, SlurmDocExample) {
  // uint16_array_to_str: 1,2,1,1,1,3,2 is written 1,2,1(x3),3,2.
  auto c = Counts::Parse("1,2,1(x3),3,2");
  ASSERT_TRUE(c.ok());
  std::vector<std::uint64_t> got;
  for (std::uint64_t i = 0; i < c->size(); ++i) got.push_back(c->at(i));
  EXPECT_EQ(got, (std::vector<std::uint64_t>{1, 2, 1, 1, 1, 3, 2}));
}

TEST(Counts, SingleValueAndLongRuns) {
  auto c = Counts::Parse("4");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->size(), 1u);
  auto big = Counts::Parse("8(x100000),4");
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(big->size(), 100001u);
  EXPECT_EQ(big->at(100000), 4u);
  EXPECT_EQ(big->SumFirst(100001), 800004u);
}

TEST(Counts, FirstZero) {
  auto c = Counts::Parse("4,2(x3),0,1");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->FirstZero(6), 4u);
  EXPECT_FALSE(c->FirstZero(4).has_value());
  EXPECT_EQ(Counts::Parse("0(x2)")->FirstZero(1), 0u);
  EXPECT_FALSE(Counts::Parse("3(x100)")->FirstZero(1000).has_value());
}

struct Bad {
  const char* text;
  const char* message_part;
};

class CountErrors : public testing::TestWithParam<Bad> {};
TEST_P(CountErrors, AreRejectedWithAReason) {
  auto c = Counts::Parse(GetParam().text);
  ASSERT_FALSE(c.ok()) << GetParam().text;
  EXPECT_NE(c.error().message.find(GetParam().message_part), std::string::npos)
      << GetParam().text << " -> " << c.error().message;
}
INSTANTIATE_TEST_SUITE_P(Malformed, CountErrors,
                         testing::Values(Bad{"2(x)", "a repeat must be written (xN)"},
                                         Bad{"(x3)", "count missing before '('"},
                                         Bad{"-1", "'-1': '-' is not a decimal digit"}, Bad{"", "empty count list"},
                                         Bad{"2,,1", "empty item"}, Bad{"2(x3", "a repeat must be written (xN)"},
                                         Bad{"2(3)", "a repeat must be written (xN)"},
                                         Bad{"2(x0)", "repeat count (x0)"}, Bad{"a", "'a': 'a' is not a decimal digit"},
                                         Bad{"2(x3)x", "'2(x3)x': a repeat must be written (xN)"},
                                         Bad{"1,", "empty item"}, Bad{"99999999999", "larger than 4294967295"},
                                         Bad{" 2", "' ' is not a decimal digit"},
                                         Bad{"+2", "'+' is not a decimal digit"}));

}  // namespace
}  // namespace rankwrap::parse
