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

class GpuListErrors : public testing::TestWithParam<const char*> {};
TEST_P(GpuListErrors, Rejected) { EXPECT_FALSE(GpuList(GetParam()).ok()) << GetParam(); }
INSTANTIATE_TEST_SUITE_P(Malformed, GpuListErrors,
                         testing::Values("0,,1", "a", "3-1", "GPU-", "0,0", "1,", "-2", "0-99999",
                                         "GPU-x y"));

}  // namespace
}  // namespace rankwrap::parse
