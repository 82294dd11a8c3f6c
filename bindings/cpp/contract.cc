#include "rankwrap/contract.h"

#include <cstdlib>

#include "core/boot/exchange.h"
#include "core/parse/number.h"

namespace rankwrap {
namespace {

bool ReadInt(const char* name, int* out, std::string* error) {
  const char* v = std::getenv(name);
  if (v == nullptr) {
    *error = std::string(name) + " is not set: run the program under rankwrap";
    return false;
  }
  auto n = parse::Decimal(v, 1u << 30);
  if (!n) {
    *error = std::string(name) + "='" + v + "': " + n.error().message;
    return false;
  }
  *out = static_cast<int>(*n);
  return true;
}

}  // namespace

std::optional<Contract> ContractFromEnv(std::string* error) {
  std::string local_error;
  if (error == nullptr) error = &local_error;
  Contract c;
  if (!ReadInt("RANK", &c.rank, error) || !ReadInt("WORLD_SIZE", &c.world_size, error) ||
      !ReadInt("LOCAL_RANK", &c.local_rank, error) || !ReadInt("LOCAL_WORLD_SIZE", &c.local_world_size, error) ||
      !ReadInt("NODE_RANK", &c.node_rank, error) || !ReadInt("NUM_NODES", &c.num_nodes, error) ||
      !ReadInt("MASTER_PORT", &c.master_port, error)) {
    return std::nullopt;
  }
  const char* addr = std::getenv("MASTER_ADDR");
  if (addr == nullptr || *addr == '\0') {
    *error = "MASTER_ADDR is not set: run the program under rankwrap";
    return std::nullopt;
  }
  c.master_addr = addr;
  if (const char* l = std::getenv("RANKWRAP_LAUNCHER")) c.launcher = l;
  return c;
}

std::optional<std::array<std::uint8_t, 128>> NcclIdBytesFromEnv(std::string* error) {
  std::string local_error;
  if (error == nullptr) error = &local_error;
  const char* hex = std::getenv("RANKWRAP_NCCL_UNIQUE_ID");
  if (hex == nullptr) {
    *error = "RANKWRAP_NCCL_UNIQUE_ID is not set: run the program as 'rankwrap --nccl-bootstrap=mpi PROGRAM'";
    return std::nullopt;
  }
  auto id = boot::FromHex(hex);
  if (!id) {
    *error = "RANKWRAP_NCCL_UNIQUE_ID is malformed: expected 256 hexadecimal characters, got " +
             std::to_string(std::string(hex).size()) + " characters";
    return std::nullopt;
  }
  return *id;
}

}  // namespace rankwrap
