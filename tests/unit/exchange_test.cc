#include "core/boot/exchange.h"

#include <gtest/gtest.h>

namespace rankwrap::boot {
namespace {

std::vector<RankRecord> Job(int nodes, int per_node) {
  std::vector<RankRecord> out;
  for (int n = 0; n < nodes; ++n) {
    for (int l = 0; l < per_node; ++l) {
      RankRecord r;
      r.mpi_rank = r.rank = static_cast<std::uint64_t>(n * per_node + l);
      r.world_size = static_cast<std::uint64_t>(nodes * per_node);
      r.local_rank = static_cast<std::uint64_t>(l);
      r.local_world_size = static_cast<std::uint64_t>(per_node);
      r.num_nodes = static_cast<std::uint64_t>(nodes);
      r.host = "node" + std::to_string(n + 1);
      r.boot_id = "boot-" + std::to_string(n);
      r.gpus = "0000:" + std::to_string(10 + l) + ":00.0";
      r.master_addr = "node1";
      out.push_back(r);
    }
  }
  return out;
}

TEST(Exchange, RecordsAndVerdictsRoundTrip) {
  RankRecord r = Job(2, 2)[3];
  r.program_mpi = "libmpi.so.40";
  const auto wire = Encode(r);
  const RankRecord back = Decode(wire.data());
  EXPECT_EQ(back.rank, 3u);
  EXPECT_EQ(back.host, "node2");
  EXPECT_EQ(back.gpus, r.gpus);
  EXPECT_EQ(back.program_mpi, "libmpi.so.40");
  Verdict v;
  v.ok = true;
  v.master_addr = "node1";
  v.master_port = 41000;
  v.id[0] = 0xab;
  v.id[127] = 0xcd;
  const Verdict w = DecodeVerdict(Encode(v).data());
  EXPECT_TRUE(w.ok);
  EXPECT_EQ(w.id, v.id);
  EXPECT_EQ(w.master_port, 41000);
}

TEST(Exchange, ConsistentJobPasses) {
  EXPECT_FALSE(Check(Job(2, 4), 8).has_value());
  EXPECT_EQ(MasterAddr(Job(2, 4)), "node1");
}

TEST(Exchange, EachDisagreementIsNamed) {
  auto world = Job(2, 2);
  EXPECT_NE(Check(world, 8).value_or("").find("world size: rank 0 on node1 was told WORLD_SIZE=4, MPI has 8"),
            std::string::npos);
  auto dup = Job(2, 2);
  dup[1].local_rank = 0;
  const std::string t = Check(dup, 4).value_or("");
  EXPECT_NE(t.find("ranks 0,1 on node1 all have LOCAL_RANK=0"), std::string::npos) << t;
  EXPECT_NE(t.find("no rank on node1 has LOCAL_RANK=1"), std::string::npos) << t;
  auto gpu = Job(1, 2);
  gpu[1].gpus = gpu[0].gpus;
  EXPECT_NE(Check(gpu, 2).value_or("").find("would all use GPU 0000:10:00.0"), std::string::npos);
  auto nodes = Job(2, 2);
  for (auto& r : nodes) r.num_nodes = 3;
  EXPECT_NE(Check(nodes, 4).value_or("").find("NUM_NODES=3, the ranks run on 2 host(s)"), std::string::npos);
  auto addr = Job(2, 2);
  for (auto& r : addr) r.master_addr = "node2";
  EXPECT_NE(Check(addr, 4).value_or("").find("derived MASTER_ADDR=node2 but rank 0 runs on node1"), std::string::npos);
  // Same host name on two machines: told apart by the boot id.
  auto twins = Job(2, 1);
  twins[1].host = "node1";
  EXPECT_FALSE(Check(twins, 2).has_value());
}

TEST(Exchange, MasterAddrFromRankZeroWhereTheEnvironmentCouldNotTell) {
  auto job = Job(2, 2);
  for (auto& r : job) r.master_addr.clear();
  EXPECT_EQ(MasterAddr(job), "node1");
  for (auto& r : job) r.master_addr = "10.1.2.3";
  EXPECT_EQ(MasterAddr(job), "10.1.2.3");
}

TEST(Exchange, HexRoundTrip) {
  UniqueId id{};
  for (std::size_t i = 0; i < id.size(); ++i) id[i] = static_cast<std::uint8_t>(255 - i);
  const std::string hex = ToHex(id);
  EXPECT_EQ(hex.size(), 256u);
  EXPECT_EQ(FromHex(hex), id);
  EXPECT_FALSE(FromHex(hex.substr(2)).has_value());
  EXPECT_FALSE(FromHex(std::string(256, 'z')).has_value());
}

}  // namespace
}  // namespace rankwrap::boot
