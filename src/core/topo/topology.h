// A machine's topology as plain data (stage: bind). Built by the hwloc
// adapter from the live machine or an XML file; the planner and the tests
// only ever see this value.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rankwrap::topo {

// An ancestor of an I/O device, from the device up to the machine. `level`
// says how close two devices are when this is their lowest common ancestor.
enum class Level : int { kSwitch = 0, kHostBridge = 1, kNuma = 2, kPackage = 3, kMachine = 4 };
struct Ancestor {
  std::uint64_t id = 0;  // hwloc's gp_index: unique per object
  Level level = Level::kMachine;
};

struct Core {
  std::vector<unsigned> pus;  // OS indexes of its allowed PUs (SMT siblings)
  int numa = -1;              // OS index of its NUMA node (CPU memory), -1 if none
  int package = 0;            // logical index of its package
};

struct NumaNode {
  unsigned os_index = 0;
  std::vector<unsigned> pus;  // allowed PUs local to it
  std::uint64_t memory = 0;   // bytes
};

enum class Vendor { kNvidia, kAmd, kIntel, kOther };

struct Gpu {
  std::string bus_id;                 // "0000:4e:00.0"
  unsigned sub = 0;                   // logical GPU within one PCI function (MI300A CPX), else 0
  std::string uuid;                   // "GPU-..." when the file knows it
  std::vector<std::string> os_names;  // "cuda0", "nvml0", "rsmi3", ...
  Vendor vendor = Vendor::kOther;
  std::string model;
  std::vector<unsigned> local_pus;  // cpuset of the first non-I/O ancestor, allowed only
  std::vector<Ancestor> path;       // device to root
};

struct Nic {
  std::string name;    // OpenFabrics name ("mlx5_0") if any, else the network name ("hsi0")
  std::string netdev;  // network interface name when known ("ib0", "hsi0")
  std::string bus_id;
  bool infiniband = false;      // has an OpenFabrics device (IB or RoCE)
  std::vector<unsigned> ports;  // its active ports (all known ports if none is active); empty: unknown
  std::vector<unsigned> local_pus;
  std::vector<Ancestor> path;
};

struct Topology {
  std::string source;          // "this machine" or the XML path
  std::vector<Core> cores;     // cores with at least one allowed PU, in PU order
  std::vector<NumaNode> numa;  // CPU NUMA nodes (GPU-memory nodes left out)
  int packages = 0;
  std::vector<Gpu> gpus;  // in index order: PCI bus id, then sub
  std::vector<Nic> nics;
};

// "0-7,64-71" from a sorted or unsorted list.
std::string ListString(std::vector<unsigned> ids);

}  // namespace rankwrap::topo
