#include "core/parse/gpulist.h"

#include <gtest/gtest.h>

namespace rankwrap::parse {
namespace {

TEST(GpuList, NoneForms) {
  for (const char* none : {"", "-1"}) {
    auto g = GpuList(none);
    ASSERT_TRUE(g.ok());
    EXPECT_TRUE(g->empty()) << none;
  }
}

TEST(GpuList, IndicesRangesAndUuids) {
  auto g = GpuList("2,3,5-6");
  ASSERT_TRUE(g.ok());
  ASSERT_EQ(g->size(), 4u);
  EXPECT_EQ(*(*g)[3].index, 6u);
  auto u = GpuList("GPU-8f3a1c2e-aaaa-bbbb-cccc-0123456789ab,MIG-GPU-1/2/0");
  ASSERT_TRUE(u.ok());
  ASSERT_EQ(u->size(), 2u);
  EXPECT_FALSE((*u)[0].index.has_value());
  EXPECT_EQ((*u)[1].uuid, "MIG-GPU-1/2/0");
}

struct Bad {
  const char* text;
  const char* message_part;
};

class GpuListErrors : public testing::TestWithParam<Bad> {};
TEST_P(GpuListErrors, AreRejectedWithAReason) {
  auto g = GpuList(GetParam().text);
  ASSERT_FALSE(g.ok()) << GetParam().text;
  EXPECT_NE(g.error().message.find(GetParam().message_part), std::string::npos)
      << GetParam().text << " -> " << g.error().message;
}
INSTANTIATE_TEST_SUITE_P(Malformed, GpuListErrors,
                         testing::Values(Bad{"0,,1", "empty item"}, Bad{"a", "'a': expected a GPU index"},
                                         Bad{"3-1", "reversed range '3-1'"}, Bad{"GPU-", "UUID 'GPU-' is empty"},
                                         Bad{"0,0", "GPU 0 is listed twice"}, Bad{"1,", "empty item"},
                                         Bad{"-2", "'-2': expected a GPU index"}, Bad{"0-99999", "larger than 65535"},
                                         Bad{"GPU-x y", "'GPU-x y' is not a GPU UUID"},
                                         Bad{"0-2000", "more than 1024 GPUs"}));

}  // namespace
}  // namespace rankwrap::parse
