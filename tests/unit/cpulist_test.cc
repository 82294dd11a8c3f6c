#include "core/parse/cpulist.h"

#include <gtest/gtest.h>

#include <string>

namespace rankwrap::parse {
namespace {

std::vector<std::vector<unsigned>> Expand(const std::vector<CpuListItem>& items, unsigned ranks) {
  std::vector<std::vector<unsigned>> out;
  for (unsigned r = 0; r < ranks; ++r) out.push_back(CpuListAt(items, r).cpus);
  return out;
}

struct Good {
  const char* text;
  CpuListForm form;
  unsigned ranks;
  std::vector<std::vector<unsigned>> per_rank;
};

class CpuListGood : public testing::TestWithParam<Good> {};
TEST_P(CpuListGood, GivesEachLocalRankItsItem) {
  auto items = CpuList(GetParam().text, GetParam().form);
  ASSERT_TRUE(items.ok()) << GetParam().text << ": " << items.error().message;
  EXPECT_EQ(Expand(*items, GetParam().ranks), GetParam().per_rank) << GetParam().text;
}
using V = std::vector<std::vector<unsigned>>;
constexpr CpuListForm kMap = CpuListForm::kMap;
constexpr CpuListForm kMask = CpuListForm::kMask;
INSTANTIATE_TEST_SUITE_P(Slurm, CpuListGood,
                         testing::Values(
                             // srun(1): the lowest local task takes the first item, ...
                             Good{"0,4,8,12", kMap, 4, V{{0}, {4}, {8}, {12}}},
                             // ... and the list is reused from its start when there are more tasks.
                             Good{"0,4", kMap, 5, V{{0}, {4}, {0}, {4}, {0}}},
                             // "map_cpu:0*4,3*4" (repeat counts), then reused.
                             Good{"0*2,3*2", kMap, 6, V{{0}, {0}, {3}, {3}, {0}, {0}}},
                             // map_cpu IDs are decimal unless preceded by 0x.
                             Good{"0x10,10,0X1f", kMap, 3, V{{16}, {10}, {31}}}, Good{"007", kMap, 1, V{{7}}},
                             Good{"65535", kMap, 1, V{{65535}}},
                             // mask_cpu masks are always hexadecimal, 0x optional.
                             Good{"0x3,c", kMask, 3, V{{0, 1}, {2, 3}, {0, 1}}}, Good{"10", kMask, 1, V{{4}}},
                             Good{"0xF0*2,0f", kMask, 3, V{{4, 5, 6, 7}, {4, 5, 6, 7}, {0, 1, 2, 3}}},
                             Good{"1000000000000000000000001", kMask, 1, V{{0, 96}}}, Good{"0001", kMask, 1, V{{0}}}));

struct Bad {
  const char* text;
  CpuListForm form;
  std::size_t pos;
  const char* message;
};

class CpuListErrors : public testing::TestWithParam<Bad> {};
TEST_P(CpuListErrors, NameTheItemAndWhere) {
  auto items = CpuList(GetParam().text, GetParam().form);
  ASSERT_FALSE(items.ok()) << GetParam().text;
  EXPECT_EQ(items.error().message, GetParam().message) << GetParam().text;
  EXPECT_EQ(items.error().pos, GetParam().pos) << GetParam().text;
}
INSTANTIATE_TEST_SUITE_P(
    Malformed, CpuListErrors,
    testing::Values(
        Bad{"", kMap, 0, "empty list, expected map_cpu:ID,ID,..."},
        Bad{"", kMask, 0, "empty list, expected mask_cpu:MASK,MASK,..."},
        // Empty items are errors (srun's strtok would skip them).
        Bad{"0,,4", kMap, 2, "item 2 is empty"}, Bad{"0,4,", kMap, 4, "item 3 is empty"},
        Bad{",0", kMask, 0, "item 1 is empty"},
        Bad{"0,x", kMap, 2,
            "item 2 'x': 'x' is not a decimal digit; expected a CPU number (decimal, or hexadecimal after 0x)"},
        Bad{"-1", kMap, 0,
            "item 1 '-1': '-' is not a decimal digit; expected a CPU number (decimal, or hexadecimal after 0x)"},
        Bad{"0,1 ", kMap, 3,
            "item 2 '1 ': ' ' is not a decimal digit; expected a CPU number (decimal, or hexadecimal after 0x)"},
        Bad{"65536", kMap, 4,
            "item 1 '65536': larger than 65535; expected a CPU number (decimal, or hexadecimal after 0x)"},
        Bad{"0x", kMap, 2, "item 1 '0x': empty, expected a number; expected hexadecimal digits after 0x"},
        Bad{"0xg", kMap, 2, "item 1 '0xg': 'g' is not a hexadecimal digit; expected hexadecimal digits after 0x"},
        Bad{"3,0x1g", kMask, 5,
            "item 2 '0x1g': 'g' is not a hexadecimal digit; a mask is hexadecimal, with or without 0x"},
        Bad{"0x", kMask, 2, "item 1 '0x': expected hexadecimal digits after 0x"},
        // A zero mask is an error (srun would bind the task to every allowed CPU).
        Bad{"0x3,0x0", kMask, 4, "item 2 '0x0': the mask selects no CPU"},
        Bad{"1,00", kMask, 2, "item 2 '00': the mask selects no CPU"},
        // Repeat counts.
        Bad{"0*0", kMap, 2, "item 1 '0*0': expected a repeat count 1-1048576 after '*'"},
        Bad{"0*", kMap, 2, "item 1 '0*': expected a repeat count 1-1048576 after '*' (empty, expected a number)"},
        Bad{"0*2*2", kMap, 3,
            "item 1 '0*2*2': expected a repeat count 1-1048576 after '*' ('*' is not a decimal digit)"},
        Bad{"0*1048577", kMap, 8,
            "item 1 '0*1048577': expected a repeat count 1-1048576 after '*' (larger than 1048576)"},
        Bad{"*4", kMask, 0, "item 1 '*4': no CPU before '*'"}));

TEST(CpuList, MaskAboveTheLimitNamesTheCpu) {
  // 16385 hex digits: bit 65536 is set.
  const std::string mask = "1" + std::string(16384, '0');
  auto items = CpuList(mask, CpuListForm::kMask);
  ASSERT_FALSE(items.ok());
  EXPECT_EQ(items.error().message, "item 1 '" + mask + "': sets CPU 65536, above 65535");
  EXPECT_EQ(items.error().pos, 0u);
  // The highest CPU allowed.
  auto top = CpuList("8" + std::string(16383, '0'), CpuListForm::kMask);
  ASSERT_TRUE(top.ok());
  EXPECT_EQ((*top)[0].cpus, std::vector<unsigned>{65535});
}

TEST(CpuList, RepeatCountsAreKeptNotExpanded) {
  auto items = CpuList("0*1048576,1", CpuListForm::kMap);
  ASSERT_TRUE(items.ok());
  ASSERT_EQ(items->size(), 2u);
  EXPECT_EQ((*items)[0].repeat, 1048576u);
  EXPECT_EQ(CpuListAt(*items, 1048575).cpus, std::vector<unsigned>{0});
  EXPECT_EQ(CpuListAt(*items, 1048576).cpus, std::vector<unsigned>{1});
  EXPECT_EQ(CpuListAt(*items, 1048577).cpus, std::vector<unsigned>{0});
}

}  // namespace
}  // namespace rankwrap::parse
