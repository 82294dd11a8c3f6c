// The NCCL bootstrap's data (stage: bootstrap), pure: the fixed-size record
// every rank sends to rank 0, the consistency check rank 0 runs over them,
// the verdict rank 0 broadcasts, and the hex form of the NCCL unique id.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"

namespace rankwrap::boot {

inline constexpr std::size_t kIdBytes = 128;  // sizeof(ncclUniqueId)
using UniqueId = std::array<std::uint8_t, kIdBytes>;

// What one rank tells rank 0. Fixed size on the wire (kRecordBytes).
struct RankRecord {
  std::uint64_t mpi_rank = 0;    // MPI's view
  std::uint64_t rank = 0;        // the launcher's view (RANK)
  std::uint64_t world_size = 0;  // the launcher's view
  std::uint64_t local_rank = 0;
  std::uint64_t local_world_size = 0;
  std::uint64_t num_nodes = 0;
  std::string host;         // gethostname()
  std::string boot_id;      // /proc/sys/kernel/random/boot_id: tells apart hosts with one name
  std::string gpus;         // this rank's GPU bus ids, comma-separated
  std::string master_addr;  // what this rank derived ("" if it could not)
  std::string program_mpi;  // the MPI library the program links, if any
};
inline constexpr std::size_t kRecordBytes = 1024;
std::array<char, kRecordBytes> Encode(const RankRecord& r);
RankRecord Decode(const char* bytes);

// What rank 0 sends back to every rank. Fixed size on the wire.
struct Verdict {
  bool ok = false;
  UniqueId id{};
  std::string master_addr;
  std::uint16_t master_port = 0;
  std::string reason;  // one line, when !ok
};
inline constexpr std::size_t kVerdictBytes = 1024;
std::array<char, kVerdictBytes> Encode(const Verdict& v);
Verdict DecodeVerdict(const char* bytes);

// Rank 0's check over every rank's record (index = MPI rank): world size
// and node count agree with the launcher's view; MPI rank = launcher rank;
// local ranks are 0..n-1, unique per node; no two ranks of a node use one
// GPU; MASTER_ADDR names the host rank 0 runs on. Returns nullopt when all
// agree, else the table of the disagreement (printed by rank 0).
std::optional<std::string> Check(const std::vector<RankRecord>& records, int mpi_size);

// Non-empty when a rank's program links an MPI library: it would call
// MPI_Init a second time for this rank, which no MPI allows.
std::string MpiProgramProblem(const std::vector<RankRecord>& records);

// The MASTER_ADDR every rank will use: what the ranks derived if rank 0's
// host agrees, else rank 0's host name (where the environment could not tell).
std::string MasterAddr(const std::vector<RankRecord>& records);

// The id as 256 lower-case hex characters, and back (nullopt if malformed).
std::string ToHex(const UniqueId& id);
std::optional<UniqueId> FromHex(const std::string& hex);

}  // namespace rankwrap::boot
