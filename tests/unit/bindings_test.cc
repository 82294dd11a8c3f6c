#include <gtest/gtest.h>
#include <stdlib.h>

#include "core/boot/exchange.h"
#include "rankwrap/contract.h"

namespace rankwrap {
namespace {

class BindingsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* k : {"RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "NODE_RANK", "NUM_NODES",
                          "MASTER_ADDR", "MASTER_PORT", "RANKWRAP_LAUNCHER", "RANKWRAP_NCCL_UNIQUE_ID"}) {
      unsetenv(k);
    }
  }
};

TEST_F(BindingsTest, ContractFromEnv) {
  std::string error;
  EXPECT_FALSE(ContractFromEnv(&error).has_value());
  EXPECT_NE(error.find("RANK is not set"), std::string::npos);
  setenv("RANK", "3", 1);
  setenv("WORLD_SIZE", "4", 1);
  setenv("LOCAL_RANK", "1", 1);
  setenv("LOCAL_WORLD_SIZE", "2", 1);
  setenv("NODE_RANK", "1", 1);
  setenv("NUM_NODES", "2", 1);
  setenv("MASTER_ADDR", "node1", 1);
  setenv("MASTER_PORT", "x", 1);
  EXPECT_FALSE(ContractFromEnv(&error).has_value());
  EXPECT_NE(error.find("MASTER_PORT='x'"), std::string::npos);
  setenv("MASTER_PORT", "29500", 1);
  auto c = ContractFromEnv(&error);
  ASSERT_TRUE(c.has_value()) << error;
  EXPECT_EQ(c->rank, 3);
  EXPECT_EQ(c->master_addr, "node1");
  EXPECT_EQ(c->master_port, 29500);
}

TEST_F(BindingsTest, NcclIdRoundTripsThroughTheEnvironment) {
  std::string error;
  EXPECT_FALSE(NcclIdBytesFromEnv(&error).has_value());
  EXPECT_NE(error.find("--nccl-bootstrap=mpi"), std::string::npos);
  boot::UniqueId id{};
  for (std::size_t i = 0; i < id.size(); ++i) id[i] = static_cast<std::uint8_t>(i * 7 + 1);
  setenv("RANKWRAP_NCCL_UNIQUE_ID", boot::ToHex(id).c_str(), 1);
  auto got = NcclIdBytesFromEnv(&error);
  ASSERT_TRUE(got.has_value()) << error;
  EXPECT_EQ(*got, id);
  setenv("RANKWRAP_NCCL_UNIQUE_ID", "abc", 1);
  EXPECT_FALSE(NcclIdBytesFromEnv(&error).has_value());
  EXPECT_NE(error.find("malformed"), std::string::npos);
  std::string bad = boot::ToHex(id);
  bad[10] = 'g';
  setenv("RANKWRAP_NCCL_UNIQUE_ID", bad.c_str(), 1);
  EXPECT_FALSE(NcclIdBytesFromEnv(&error).has_value());
}

}  // namespace
}  // namespace rankwrap
