#include "adapters/hwloc/hwloc_topology.h"

#include <hwloc.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace rankwrap::hwloc {
namespace {

using BitmapPtr = std::unique_ptr<hwloc_bitmap_s, decltype(&hwloc_bitmap_free)>;
BitmapPtr NewBitmap() { return BitmapPtr(hwloc_bitmap_alloc(), &hwloc_bitmap_free); }

std::vector<unsigned> Ids(hwloc_const_bitmap_t set) {
  std::vector<unsigned> out;
  int i = -1;
  while ((i = hwloc_bitmap_next(set, i)) != -1) out.push_back(static_cast<unsigned>(i));
  return out;
}

Error BindError(std::string what, std::string why, std::string hint) {
  return Error{kExitBinding, "bind", std::move(what), std::move(why), std::move(hint)};
}

std::string BusId(hwloc_obj_t pci) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04x:%02x:%02x.%01x", pci->attr->pcidev.domain, pci->attr->pcidev.bus,
                pci->attr->pcidev.dev, pci->attr->pcidev.func);
  return buf;
}

bool StartsWith(const char* s, const char* prefix) {
  return s != nullptr && std::strncmp(s, prefix, std::strlen(prefix)) == 0;
}

// OS devices that name a GPU, by the backends hwloc has for them.
bool IsGpuOsdev(hwloc_obj_t o) {
  if (o->type != HWLOC_OBJ_OS_DEVICE) return false;
  if (o->attr->osdev.type != HWLOC_OBJ_OSDEV_GPU && o->attr->osdev.type != HWLOC_OBJ_OSDEV_COPROC) {
    return false;
  }
  return StartsWith(o->name, "cuda") || StartsWith(o->name, "nvml") || StartsWith(o->name, "rsmi") ||
         StartsWith(o->name, "opencl") || StartsWith(o->name, "ze");
}

// An OpenFabrics device's ports from hwloc's "PortNState" infos (Linux
// sysfs ports/N/state: 4 = ACTIVE): the active ones, else every one listed.
std::vector<unsigned> Ports(hwloc_obj_t dev) {
  std::vector<unsigned> all, active;
  for (unsigned i = 0; i < dev->infos_count; ++i) {
    const char* name = dev->infos[i].name;
    unsigned port = 0;
    char rest[16] = {};
    if (name == nullptr || std::sscanf(name, "Port%u%15s", &port, rest) != 2 || std::strcmp(rest, "State") != 0) {
      continue;
    }
    all.push_back(port);
    if (dev->infos[i].value != nullptr && std::strcmp(dev->infos[i].value, "4") == 0) active.push_back(port);
  }
  return active.empty() ? all : active;
}

class Loader {
 public:
  explicit Loader(hwloc_topology_t t) : t_(t) {}

  topo::Topology Build(hwloc_const_bitmap_t allowed) {
    topo::Topology out;
    allowed_ = allowed;
    CollectNuma(out);
    CollectCores(out);
    out.packages = std::max(1, hwloc_get_nbobjs_by_type(t_, HWLOC_OBJ_PACKAGE));
    CollectDevices(out);
    return out;
  }

 private:
  // CPU NUMA nodes: GPU memory (hwloc subtype "GPUMemory", or nodes with no
  // CPU) is never a rank's NUMA node.
  void CollectNuma(topo::Topology& out) {
    hwloc_obj_t n = nullptr;
    while ((n = hwloc_get_next_obj_by_type(t_, HWLOC_OBJ_NUMANODE, n)) != nullptr) {
      if (n->subtype != nullptr && std::strcmp(n->subtype, "GPUMemory") == 0) continue;
      if (n->cpuset == nullptr || hwloc_bitmap_iszero(n->cpuset)) continue;
      auto set = NewBitmap();
      hwloc_bitmap_and(set.get(), n->cpuset, allowed_);
      topo::NumaNode node;
      node.os_index = n->os_index;
      node.pus = Ids(set.get());
      node.memory = n->attr->numanode.local_memory;
      out.numa.push_back(node);
      numa_objs_.push_back(n);
    }
  }

  int NumaOf(hwloc_const_bitmap_t cpus) const {
    hwloc_obj_t best = nullptr;
    for (hwloc_obj_t n : numa_objs_) {
      if (!hwloc_bitmap_isincluded(cpus, n->cpuset)) continue;
      // The smallest node holding the core; among equal ones the plain one:
      // KNL flat MCDRAM and SPR HBM nodes share their DDR node's cpuset.
      const int w = hwloc_bitmap_weight(n->cpuset);
      const int bw = best == nullptr ? 0 : hwloc_bitmap_weight(best->cpuset);
      if (best == nullptr || w < bw || (w == bw && best->subtype != nullptr && n->subtype == nullptr)) best = n;
    }
    return best == nullptr ? -1 : static_cast<int>(best->os_index);
  }

  void CollectCores(topo::Topology& out) {
    // Files without Core objects: each PU is its own core.
    const hwloc_obj_type_t type = hwloc_get_nbobjs_by_type(t_, HWLOC_OBJ_CORE) > 0 ? HWLOC_OBJ_CORE : HWLOC_OBJ_PU;
    hwloc_obj_t c = nullptr;
    while ((c = hwloc_get_next_obj_by_type(t_, type, c)) != nullptr) {
      auto set = NewBitmap();
      hwloc_bitmap_and(set.get(), c->cpuset, allowed_);
      if (hwloc_bitmap_iszero(set.get())) continue;
      topo::Core core;
      core.pus = Ids(set.get());
      core.numa = NumaOf(c->cpuset);
      hwloc_obj_t pkg = hwloc_get_ancestor_obj_by_type(t_, HWLOC_OBJ_PACKAGE, c);
      core.package = pkg != nullptr ? static_cast<int>(pkg->logical_index) : 0;
      out.cores.push_back(core);
    }
    std::sort(out.cores.begin(), out.cores.end(),
              [](const topo::Core& a, const topo::Core& b) { return a.pus.front() < b.pus.front(); });
  }

  topo::Level LevelOf(hwloc_obj_t o) const {
    if (o->type == HWLOC_OBJ_BRIDGE) {
      return o->attr->bridge.upstream_type == HWLOC_OBJ_BRIDGE_HOST ? topo::Level::kHostBridge : topo::Level::kSwitch;
    }
    if (o->type == HWLOC_OBJ_PCI_DEVICE || o->type == HWLOC_OBJ_OS_DEVICE) return topo::Level::kSwitch;
    if (o->cpuset != nullptr) {
      for (hwloc_obj_t n : numa_objs_) {
        if (hwloc_bitmap_isincluded(o->cpuset, n->cpuset)) return topo::Level::kNuma;
      }
      hwloc_obj_t p = nullptr;
      while ((p = hwloc_get_next_obj_by_type(t_, HWLOC_OBJ_PACKAGE, p)) != nullptr) {
        if (hwloc_bitmap_isincluded(o->cpuset, p->cpuset)) return topo::Level::kPackage;
      }
    }
    return topo::Level::kMachine;
  }

  std::vector<topo::Ancestor> PathOf(hwloc_obj_t dev) const {
    std::vector<topo::Ancestor> path;
    for (hwloc_obj_t o = dev->parent; o != nullptr; o = o->parent) {
      path.push_back({o->gp_index, LevelOf(o)});
    }
    return path;
  }

  std::vector<unsigned> LocalPus(hwloc_obj_t dev) const {
    hwloc_obj_t anc = hwloc_get_non_io_ancestor_obj(t_, dev);
    auto set = NewBitmap();
    hwloc_bitmap_and(set.get(), anc->cpuset, allowed_);
    return Ids(set.get());
  }

  void CollectDevices(topo::Topology& out) {
    hwloc_obj_t pci = nullptr;
    while ((pci = hwloc_get_next_pcidev(t_, pci)) != nullptr) {
      const unsigned vendor = pci->attr->pcidev.vendor_id;
      const unsigned cls = pci->attr->pcidev.class_id >> 8;
      std::vector<hwloc_obj_t> gpu_osdevs, rsmi, fabrics, nets;
      for (hwloc_obj_t c = pci->io_first_child; c != nullptr; c = c->next_sibling) {
        if (c->type != HWLOC_OBJ_OS_DEVICE) continue;
        if (IsGpuOsdev(c)) gpu_osdevs.push_back(c);
        if (IsGpuOsdev(c) && StartsWith(c->name, "rsmi")) rsmi.push_back(c);
        if (c->attr->osdev.type == HWLOC_OBJ_OSDEV_OPENFABRICS) fabrics.push_back(c);
        if (c->attr->osdev.type == HWLOC_OBJ_OSDEV_NETWORK) nets.push_back(c);
      }
      // GPUs of NVIDIA (10de), AMD (1002) and Intel (8086), PCI class
      // display (03xx) or processing accelerator (12xx). BMC VGA chips
      // (ASPEED 1a03, Matrox 102b) have other vendor ids.
      const bool gpu_vendor = vendor == 0x10de || vendor == 0x1002 || vendor == 0x8086;
      if (!gpu_osdevs.empty() || (gpu_vendor && (cls == 0x03 || cls == 0x12))) {
        topo::Gpu g;
        g.bus_id = BusId(pci);
        g.vendor = vendor == 0x10de   ? topo::Vendor::kNvidia
                   : vendor == 0x1002 ? topo::Vendor::kAmd
                   : vendor == 0x8086 ? topo::Vendor::kIntel
                                      : topo::Vendor::kOther;
        g.local_pus = LocalPus(pci);
        g.path = PathOf(pci);
        if (const char* m = hwloc_obj_get_info_by_name(pci, "PCIDevice")) g.model = m;
        if (rsmi.size() > 1) {
          // One PCI function, several logical GPUs (MI300A in CPX mode).
          for (std::size_t k = 0; k < rsmi.size(); ++k) {
            topo::Gpu part = g;
            part.sub = static_cast<unsigned>(k);
            part.os_names = {rsmi[k]->name};
            if (const char* u = hwloc_obj_get_info_by_name(rsmi[k], "AMDUUID")) part.uuid = u;
            out.gpus.push_back(part);
          }
        } else {
          for (hwloc_obj_t o : gpu_osdevs) {
            g.os_names.emplace_back(o->name);
            if (g.uuid.empty()) {
              if (const char* u = hwloc_obj_get_info_by_name(o, "NVIDIAUUID")) g.uuid = u;
              if (const char* u = hwloc_obj_get_info_by_name(o, "AMDUUID")) g.uuid = u;
            }
            if (const char* m = hwloc_obj_get_info_by_name(o, "GPUModel"); m != nullptr && *m) g.model = m;
          }
          out.gpus.push_back(g);
        }
        continue;
      }
      // NICs: anything with an OpenFabrics device (IB, RoCE, EFA), and the
      // high-speed vendors' ports (Mellanox 15b3, HPE Slingshot 17db, AWS
      // 1d0f) even without one. Onboard Ethernet is left out.
      const bool nic_vendor = vendor == 0x15b3 || vendor == 0x17db || vendor == 0x1d0f;
      if (!fabrics.empty() || (nic_vendor && !nets.empty())) {
        topo::Nic n;
        n.bus_id = BusId(pci);
        n.infiniband = !fabrics.empty();
        n.netdev = nets.empty() ? "" : nets.front()->name;
        n.name = !fabrics.empty() ? fabrics.front()->name : n.netdev;
        if (!fabrics.empty()) n.ports = Ports(fabrics.front());
        n.path = PathOf(pci);
        n.local_pus = LocalPus(pci);
        out.nics.push_back(n);
      }
    }
    std::stable_sort(out.gpus.begin(), out.gpus.end(), [](const topo::Gpu& a, const topo::Gpu& b) {
      return a.bus_id != b.bus_id ? a.bus_id < b.bus_id : a.sub < b.sub;
    });
  }

  hwloc_topology_t t_;
  hwloc_const_bitmap_t allowed_ = nullptr;
  std::vector<hwloc_obj_t> numa_objs_;
};

struct TopologyHandle {
  hwloc_topology_t t = nullptr;
  ~TopologyHandle() {
    if (t != nullptr) hwloc_topology_destroy(t);
  }
};

}  // namespace

namespace {

Result<topo::Topology> LoadImpl(const std::string& xml, std::vector<unsigned>* allowed) {
  TopologyHandle h;
  if (hwloc_topology_init(&h.t) != 0) {
    return BindError("hwloc_topology_init failed", std::strerror(errno), "check the hwloc installation");
  }
  if (!xml.empty()) {
    if (access(xml.c_str(), R_OK) != 0) {
      return BindError("topology file '" + xml + "' cannot be read", std::strerror(errno),
                       "give the path of an hwloc XML file (lstopo --of xml FILE writes one)");
    }
    if (hwloc_topology_set_xml(h.t, xml.c_str()) != 0) {
      return BindError(
          "topology file '" + xml + "' does not load",
          std::string("hwloc could not parse it as an hwloc 1.x or 2.x XML topology (") + std::strerror(errno) + ")",
          "give an hwloc XML file ('lstopo --of xml FILE' writes one)");
    }
  } else {
    // The whole machine, whatever this job's cgroup allows: the caller
    // restricts it, and the result is shared by every job on the node.
    hwloc_topology_set_flags(h.t, HWLOC_TOPOLOGY_FLAG_INCLUDE_DISALLOWED);
  }
  hwloc_topology_set_io_types_filter(h.t, HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
  if (hwloc_topology_load(h.t) != 0) {
    return BindError("topology file '" + (xml.empty() ? std::string("(this machine)") : xml) + "' does not load",
                     "hwloc could not parse it as an hwloc 1.x or 2.x XML topology",
                     "re-export it with 'lstopo --of xml FILE' (hwloc 3.x development files do "
                     "not load in hwloc 2)");
  }
  Loader loader(h.t);
  topo::Topology out =
      loader.Build(xml.empty() ? hwloc_topology_get_complete_cpuset(h.t) : hwloc_topology_get_allowed_cpuset(h.t));
  out.source = xml.empty() ? "this machine" : xml;
  if (allowed != nullptr) *allowed = Ids(hwloc_topology_get_allowed_cpuset(h.t));
  return out;
}

}  // namespace

Result<topo::Topology> Load(const std::string& xml) { return LoadImpl(xml, nullptr); }

Result<topo::Topology> LoadMachine(std::vector<unsigned>* allowed) { return LoadImpl("", allowed); }

std::string Version() {
  const unsigned v = hwloc_get_api_version();
  return std::to_string(v >> 16) + "." + std::to_string((v >> 8) & 0xff) + "." + std::to_string(v & 0xff);
}

}  // namespace rankwrap::hwloc
