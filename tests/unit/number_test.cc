// Strict number parsing (core/parse/number.h): the grammar, not strtod's.
#include "core/parse/number.h"

#include <gtest/gtest.h>

namespace rankwrap::parse {
namespace {

TEST(Decimal, DigitsOnlyUpToTheBound) {
  EXPECT_EQ(Decimal("0").value(), 0u);
  EXPECT_EQ(Decimal("4096", 4096).value(), 4096u);
  EXPECT_EQ(Decimal("18446744073709551615", UINT64_MAX).value(), UINT64_MAX);
  EXPECT_NE(Decimal("4097", 4096).error().message.find("larger than 4096"), std::string::npos);
  EXPECT_NE(Decimal("18446744073709551616", UINT64_MAX).error().message.find("larger than"), std::string::npos);
}

struct Bad {
  const char* text;
  const char* message_part;
};

class DecimalErrors : public ::testing::TestWithParam<Bad> {};
TEST_P(DecimalErrors, AreRejectedWithAReason) {
  auto n = Decimal(GetParam().text);
  ASSERT_FALSE(n.ok()) << GetParam().text;
  EXPECT_NE(n.error().message.find(GetParam().message_part), std::string::npos) << n.error().message;
}
INSTANTIATE_TEST_SUITE_P(Strict, DecimalErrors,
                         ::testing::Values(Bad{"", "empty"}, Bad{" 2", "' ' is not a decimal digit"},
                                           Bad{"2 ", "' ' is not"}, Bad{"+2", "'+' is not"}, Bad{"-1", "'-' is not"},
                                           Bad{"0x2", "'x' is not"}, Bad{"1e1", "'e' is not"},
                                           Bad{"2.0", "'.' is not"}));

TEST(Seconds, WholeAndDecimalSeconds) {
  EXPECT_DOUBLE_EQ(Seconds("30", 86400).value(), 30.0);
  EXPECT_DOUBLE_EQ(Seconds("0", 86400).value(), 0.0);
  EXPECT_DOUBLE_EQ(Seconds("0.5", 86400).value(), 0.5);
  EXPECT_DOUBLE_EQ(Seconds("2.25", 86400).value(), 2.25);
  EXPECT_DOUBLE_EQ(Seconds("86400", 86400).value(), 86400.0);
  EXPECT_DOUBLE_EQ(Seconds("007", 86400).value(), 7.0);
}

class SecondsErrors : public ::testing::TestWithParam<Bad> {};
TEST_P(SecondsErrors, AreRejectedWithAReason) {
  auto n = Seconds(GetParam().text, 86400);
  ASSERT_FALSE(n.ok()) << GetParam().text;
  EXPECT_NE(n.error().message.find(GetParam().message_part), std::string::npos) << n.error().message;
}
INSTANTIATE_TEST_SUITE_P(Strict, SecondsErrors,
                         ::testing::Values(Bad{"", "empty"}, Bad{" 3", "' ' is not a decimal digit"},
                                           Bad{"3 ", "' ' is not"}, Bad{"nan", "'n' is not"}, Bad{"inf", "'i' is not"},
                                           Bad{"-1", "'-' is not"}, Bad{"+1", "'+' is not"}, Bad{"1e3", "'e' is not"},
                                           Bad{"0x10", "'x' is not"}, Bad{".5", "'.' is not"},
                                           Bad{"5.", "digits expected after '.'"}, Bad{"1.2.3", "'.' is not"},
                                           Bad{"86400.5", "larger than 86400"},
                                           Bad{"99999999999999999999999999999999999999999", "larger than 86400"}));

}  // namespace
}  // namespace rankwrap::parse
