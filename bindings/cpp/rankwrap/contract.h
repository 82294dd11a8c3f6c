// rankwrap's C++ binding: the rank contract and the NCCL unique id as a
// program sees them in its environment. No NCCL, CUDA or MPI needed.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace rankwrap {

struct Contract {
  int rank = 0;
  int world_size = 0;
  int local_rank = 0;
  int local_world_size = 0;
  int node_rank = 0;
  int num_nodes = 0;
  std::string master_addr;
  int master_port = 0;
  std::string launcher;  // RANKWRAP_LAUNCHER
};

// Reads RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, NODE_RANK,
// NUM_NODES, MASTER_ADDR, MASTER_PORT and RANKWRAP_LAUNCHER. On a missing or
// malformed variable returns nullopt and sets `error` to a message naming it.
std::optional<Contract> ContractFromEnv(std::string* error);

// RANKWRAP_NCCL_UNIQUE_ID (256 hex characters, set by rankwrap
// --nccl-bootstrap=mpi) as the 128 bytes of an ncclUniqueId. On a missing
// or malformed value returns nullopt and sets `error`.
std::optional<std::array<std::uint8_t, 128>> NcclIdBytesFromEnv(std::string* error);

}  // namespace rankwrap
