// rankwrap's NCCL helpers. Header-only over NCCL (include <nccl.h> and link
// NCCL yourself); the id decoding comes from librankwrap_cpp.
#pragma once

#include <nccl.h>

#include <cstring>
#include <string>

#include "rankwrap/contract.h"

namespace rankwrap::nccl {

// The id rankwrap --nccl-bootstrap=mpi broadcast (RANKWRAP_NCCL_UNIQUE_ID).
// Returns false and sets `error` when it is missing or malformed.
inline bool UniqueIdFromEnv(ncclUniqueId* id, std::string* error) {
  static_assert(sizeof(ncclUniqueId) == 128, "ncclUniqueId is 128 bytes");
  auto bytes = NcclIdBytesFromEnv(error);
  if (!bytes) return false;
  std::memcpy(id, bytes->data(), sizeof(ncclUniqueId));
  return true;
}

// ncclCommInitRank with RANK, WORLD_SIZE and the id from the environment.
// Call cudaSetDevice first (under rankwrap, device 0 is this rank's GPU).
// Returns ncclInvalidUsage with `error` set when the environment is wrong.
inline ncclResult_t CommFromEnv(ncclComm_t* comm, std::string* error) {
  ncclUniqueId id;
  if (!UniqueIdFromEnv(&id, error)) return ncclInvalidUsage;
  auto c = ContractFromEnv(error);
  if (!c) return ncclInvalidUsage;
  return ncclCommInitRank(comm, c->world_size, id, c->rank);
}

}  // namespace rankwrap::nccl

#ifdef RANKWRAP_NCCL_WITH_MPI
#include <mpi.h>

namespace rankwrap::nccl {

// For programs that use MPI themselves (they must not run under
// --nccl-bootstrap=mpi): the in-process pattern. Rank 0 of `mpi_comm`
// creates the id and stays alive (it hosts NCCL's bootstrap root), MPI
// broadcasts it, a barrier makes sure every rank has it, then every rank
// joins. Define RANKWRAP_NCCL_WITH_MPI before including this header.
inline ncclResult_t CommFromMpi(MPI_Comm mpi_comm, ncclComm_t* comm) {
  int rank = 0, size = 0;
  MPI_Comm_rank(mpi_comm, &rank);
  MPI_Comm_size(mpi_comm, &size);
  ncclUniqueId id;
  if (rank == 0) {
    if (ncclResult_t r = ncclGetUniqueId(&id); r != ncclSuccess) return r;
  }
  MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, mpi_comm);
  MPI_Barrier(mpi_comm);
  return ncclCommInitRank(comm, size, id, rank);
}

}  // namespace rankwrap::nccl
#endif
