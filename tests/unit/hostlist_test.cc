#include "core/parse/hostlist.h"

#include <gtest/gtest.h>

namespace rankwrap::parse {
namespace {

std::vector<std::string> Expand(const char* text) {
  auto list = Hostlist::Parse(text);
  EXPECT_TRUE(list.ok()) << text << ": " << (list ? "" : list.error().message);
  return list ? list->Expand() : std::vector<std::string>{};
}

using V = std::vector<std::string>;

// Expansions recorded with `scontrol show hostnames` (Slurm 22.05.8), as in
// shared/research/env-facts.md 1.3; tests/integration/hostlist_oracle.sh
// checks generated lists against scontrol itself.
TEST(Hostlist, PlainAndRanges) {
  EXPECT_EQ(Expand("vm"), V({"vm"}));
  EXPECT_EQ(Expand("node[1-3],gpu[01-02]"), V({"node1", "node2", "node3", "gpu01", "gpu02"}));
  EXPECT_EQ(Expand("host[22]"), V({"host22"}));
  EXPECT_EQ(Expand("nid[00011-00012]"), V({"nid00011", "nid00012"}));
  EXPECT_EQ(Expand("compute[042-043,045,048-049]"),
            V({"compute042", "compute043", "compute045", "compute048", "compute049"}));
  EXPECT_EQ(Expand("nid[001234-001240,001300]").size(), 8u);
  EXPECT_EQ(Expand("compute-b24-[1-3,5-9],compute-b25-[1,4,8]").size(), 11u);
  EXPECT_EQ(Expand("10.0.0.[1-3]"), V({"10.0.0.1", "10.0.0.2", "10.0.0.3"}));
}

TEST(Hostlist, WidthComesFromTheWrittenLowBound) {
  EXPECT_EQ(Expand("node[09-11]"), V({"node09", "node10", "node11"}));
  EXPECT_EQ(Expand("node[9-11]"), V({"node9", "node10", "node11"}));
  EXPECT_EQ(Expand("node[8-010]"), V({"node8", "node9", "node10"}));
  EXPECT_EQ(Expand("n[1-3,010-012]"), V({"n1", "n2", "n3", "n010", "n011", "n012"}));
  // A space inside brackets counts toward the width (scontrol 22.05).
  EXPECT_EQ(Expand("1.2.3.[089, 100-101]"), V({"1.2.3.089", "1.2.3.0100", "1.2.3.0101"}));
}

TEST(Hostlist, SeveralBracketGroupsExpandOuterToInner) {
  EXPECT_EQ(Expand("rack[1-2]-node[01-03]"),
            V({"rack1-node01", "rack1-node02", "rack1-node03", "rack2-node01", "rack2-node02", "rack2-node03"}));
  EXPECT_EQ(Expand("gpu[1-2]-[1-2]"), V({"gpu1-1", "gpu1-2", "gpu2-1", "gpu2-2"}));
}

TEST(Hostlist, SeparatorsAndSuffix) {
  EXPECT_EQ(Expand("a, b"), V({"a", "b"}));
  EXPECT_EQ(Expand("alpha beta"), V({"alpha", "beta"}));
  EXPECT_EQ(Expand(" a ,\tb "), V({"a", "b"}));
  // Accepted since Slurm 23.02.5.
  EXPECT_EQ(Expand("node[1-3]-ib"), V({"node1-ib", "node2-ib", "node3-ib"}));
}

TEST(Hostlist, AtAndFindAgreeWithExpand) {
  for (const char* text : {"nid[001234-001240,001300]", "rack[1-2]-node[01-03],x,y[7-9]z",
                           "compute-b24-[1-3,5-9],compute-b25-[1,4,8]", "n[8-010]"}) {
    auto list = Hostlist::Parse(text);
    ASSERT_TRUE(list.ok()) << text;
    const auto all = list->Expand();
    ASSERT_EQ(all.size(), list->size());
    for (std::uint64_t i = 0; i < all.size(); ++i) {
      EXPECT_EQ(list->at(i), all[i]) << text << " at " << i;
      EXPECT_EQ(list->Find(all[i]), i) << text << " find " << all[i];
    }
    EXPECT_FALSE(list->Find("nope").has_value());
    std::string joined, want;
    list->AppendAll(joined, '\n');
    for (const auto& h : all) want += h + "\n";
    EXPECT_EQ(joined, want) << joined;
  }
  auto padded = Hostlist::Parse("n[010-012]");
  ASSERT_TRUE(padded.ok());
  EXPECT_FALSE(padded->Find("n10").has_value()) << "width must match exactly";
}

TEST(Hostlist, HugeListsAreNotExpanded) {
  auto list = Hostlist::Parse("nid[000001-100000],big[0000000001-0016000000]");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 100000u + 16000000u);
  EXPECT_EQ(list->at(0), "nid000001");
  EXPECT_EQ(list->at(99999), "nid100000");
  EXPECT_EQ(list->at(list->size() - 1), "big0016000000");
  EXPECT_EQ(list->Find("big0000000002"), 100001u);
}

// Every accepted list can be expanded: 'rankwrap hostnames n[0-999999999999]'
// died in std::bad_alloc.
TEST(Hostlist, ListsAreBoundedSoThatTheyCanBeExpanded) {
  EXPECT_EQ(Hostlist::kMaxHosts, std::uint64_t{1} << 24);
  auto at_limit = Hostlist::Parse("n[1-16777216]");
  ASSERT_TRUE(at_limit.ok()) << at_limit.error().message;
  EXPECT_EQ(at_limit->size(), Hostlist::kMaxHosts);
  struct Case {
    const char* text;
    const char* message;
  };
  for (const Case& c :
       {Case{"n[0-999999999999]", "more than 16777216 hosts (the limit for one list)"},
        Case{"n[1-16777217]", "more than 16777216 hosts"}, Case{"n[1-16777216],m", "more than 16777216 hosts"},
        Case{"a[1-8388608],b[1-8388609]", "more than 16777216 hosts"},
        Case{"r[1-4096]-n[1-4097]", "more than 16777216 hosts"},
        Case{"n[1-4096,1-4096]x[1-2049]", "more than 16777216 hosts"}}) {
    auto list = Hostlist::Parse(c.text);
    ASSERT_FALSE(list.ok()) << c.text;
    EXPECT_NE(list.error().message.find(c.message), std::string::npos) << c.text << ": " << list.error().message;
  }
  // Names are DNS names: at most 253 characters, also once expanded.
  EXPECT_TRUE(Hostlist::Parse(std::string(253, 'a')).ok());
  auto long_name = Hostlist::Parse(std::string(10000, 'a'));
  ASSERT_FALSE(long_name.ok());
  EXPECT_EQ(long_name.error().message, "host name of 10000 characters; expected at most 253 (a DNS name)");
  auto long_expanded = Hostlist::Parse(std::string(250, 'a') + "[1-1000]");
  ASSERT_FALSE(long_expanded.ok());
  EXPECT_NE(long_expanded.error().message.find("host name of 254 characters"), std::string::npos);
  // The whole expansion: 16M hosts of 100 characters would be 1.6 GiB.
  auto bytes = Hostlist::Parse(std::string(90, 'a') + "[0000000001-0016000000]");
  ASSERT_FALSE(bytes.ok());
  EXPECT_NE(bytes.error().message.find("expands to more than 1024 MiB"), std::string::npos) << bytes.error().message;
}

TEST(Hostlist, CompressIsTheInverseOfExpand) {
  EXPECT_EQ(Compress({"nid001", "nid002", "nid003", "nid010"}), "nid[001-003,010]");
  EXPECT_EQ(Compress({"node9", "node10", "node11"}), "node[9-11]");
  EXPECT_EQ(Compress({"a", "b1", "b2", "c"}), "a,b[1-2],c");
  EXPECT_EQ(Compress({"n1"}), "n1");
  EXPECT_EQ(Compress({"n08", "n9", "n10"}), "n[08,9-10]");
  for (const char* text :
       {"rack[1-2]-node[01-03],x,y[7-9]", "nid[001234-001240,001300]", "n[8-010]", "1.2.3.[089,100-110]", "a,a,b"}) {
    auto list = Hostlist::Parse(text);
    ASSERT_TRUE(list.ok());
    const auto hosts = list->Expand();
    auto again = Hostlist::Parse(Compress(hosts));
    ASSERT_TRUE(again.ok()) << Compress(hosts);
    EXPECT_EQ(again->Expand(), hosts) << text << " -> " << Compress(hosts);
  }
}

struct Bad {
  const char* text;
  const char* message_part;
};

class HostlistErrors : public testing::TestWithParam<Bad> {};

TEST_P(HostlistErrors, AreRejectedWithAReason) {
  auto list = Hostlist::Parse(GetParam().text);
  ASSERT_FALSE(list.ok()) << GetParam().text;
  EXPECT_NE(list.error().message.find(GetParam().message_part), std::string::npos)
      << GetParam().text << " -> " << list.error().message;
}

INSTANTIATE_TEST_SUITE_P(Malformed, HostlistErrors,
                         testing::Values(Bad{"node[1-3", "unbalanced"}, Bad{"node1-3]", "without a matching"},
                                         Bad{"node[3-1]", "reversed"}, Bad{"a,,b", "empty item"},
                                         Bad{",a", "empty item"}, Bad{"a,", "empty item"}, Bad{"", "empty host list"},
                                         Bad{"   ", "empty host list"}, Bad{"n[]", "empty brackets"},
                                         Bad{"n[1,,2]", "empty range"}, Bad{"gpu-[1-2]-[a-c]", "only decimal"},
                                         Bad{"n[[1]]", "nested"}, Bad{"n[1-]", "bound missing"},
                                         Bad{"n[1234567890123456789]", "18 digits"}));

}  // namespace
}  // namespace rankwrap::parse
