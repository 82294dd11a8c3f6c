#include "core/bind/visible.h"

#include "core/parse/gpulist.h"
#include "core/parse/number.h"

namespace rankwrap::bind {
namespace {

Error VisError(std::string what, std::string why, std::string hint) {
  return Error{kExitBinding, "bind", std::move(what), std::move(why), std::move(hint)};
}

bool UuidMatches(const std::string& have, const std::string& want) {
  if (have.empty()) return false;
  auto strip = [](const std::string& s) { return s.rfind("GPU-", 0) == 0 ? s.substr(4) : s; };
  return strip(have) == strip(want);
}

}  // namespace

namespace {

// Global ids for local indices (Slurm with ConstrainDevices=yes): the job's
// GPU list when it has as many entries as the visible one.
std::pair<std::vector<parse::GpuRef>, std::string> GlobalIds(const EnvSnapshot& env, std::size_t count) {
  for (const char* var : {"SLURM_STEP_GPUS", "SLURM_JOB_GPUS"}) {
    auto g = env.Get(var);
    if (!g) continue;
    auto parsed = parse::GpuList(*g);
    if (parsed && parsed->size() == count) return {*parsed, var};
    break;
  }
  return {};
}

// The topology GPU that entry `i` of the visible list names.
Result<unsigned> Resolve(const topo::Topology& topo, const std::vector<unsigned>& same_vendor, const VisibleGpus& v,
                         const std::string& text, const parse::GpuRef& ref,
                         const std::pair<std::vector<parse::GpuRef>, std::string>& global, std::size_t i) {
  if (!ref.uuid.empty()) {
    for (unsigned g : same_vendor) {
      if (UuidMatches(topo.gpus[g].uuid, ref.uuid)) return g;
    }
    return VisError(v.var + "='" + text + "' names " + ref.uuid, "no GPU of " + topo.source + " has that UUID",
                    "check the GPU list the launcher set, or pass --gpu-bind none");
  }
  unsigned physical = *ref.index;
  if (!global.first.empty() && global.first[i].index) physical = *global.first[i].index;
  if (physical >= same_vendor.size()) {
    return VisError(v.var + "='" + text + "' names GPU " + std::to_string(physical) +
                        (global.second.empty() ? "" : " (from " + global.second + ")"),
                    topo.source + " has " + std::to_string(same_vendor.size()) + " GPU(s)",
                    "check the GPU request of the job, or pass --gpu-bind none");
  }
  return same_vendor[physical];
}

}  // namespace

Result<VisibleGpus> MapVisible(const topo::Topology& topo, const EnvSnapshot& env) {
  VisibleGpus v;
  // The vendor of the node's GPUs picks the variable (the first GPU's; mixed
  // nodes are rare and keep the first vendor's list).
  const topo::Vendor vendor = topo.gpus.empty() ? topo::Vendor::kNvidia : topo.gpus.front().vendor;
  v.var = vendor == topo::Vendor::kAmd     ? "ROCR_VISIBLE_DEVICES"
          : vendor == topo::Vendor::kIntel ? "ZE_AFFINITY_MASK"
                                           : "CUDA_VISIBLE_DEVICES";
  std::vector<unsigned> same_vendor;
  for (unsigned i = 0; i < topo.gpus.size(); ++i) {
    if (topo.gpus[i].vendor == vendor) same_vendor.push_back(i);
  }
  auto value = env.Get(v.var);
  if (!value) {
    v.gpus = same_vendor;
    for (unsigned k = 0; k < same_vendor.size(); ++k) v.tokens.push_back(std::to_string(k));
    v.from = "every GPU of " + topo.source + " (" + v.var + " not set)";
    return v;
  }
  const std::string text(*value);
  auto list = parse::GpuList(text);
  if (!list) {
    return VisError(v.var + "='" + text + "'",
                    list.error().message + "; expected GPU indices, GPU-/MIG- UUIDs, '' or -1",
                    "unset " + v.var + " or fix its value");
  }
  v.from = v.var + "='" + text + "'";
  if (same_vendor.empty() && !list->empty()) {
    v.passthrough = true;
    v.warnings.push_back(topo.source + " shows no GPU, so " + v.from +
                         " is left as the launcher set it and CPUs are bound without GPU locality");
    return v;
  }
  const auto global = GlobalIds(env, list->size());
  for (std::size_t i = 0; i < list->size(); ++i) {
    const parse::GpuRef& ref = (*list)[i];
    if (ref.uuid.rfind("MIG-", 0) == 0) {
      v.passthrough = true;
      continue;
    }
    auto found = Resolve(topo, same_vendor, v, text, ref, global, i);
    if (!found) return found.error();
    v.gpus.push_back(*found);
    v.tokens.push_back(ref.index ? std::to_string(*ref.index) : ref.uuid);
  }
  if (v.passthrough) {
    v.gpus.clear();
    v.tokens.clear();
    v.warnings.push_back(v.from + " holds MIG instances: left as the launcher set it, CPUs bound without GPU locality");
  }
  return v;
}

bool PerTaskGpus(const VisibleGpus& visible, unsigned local_ranks, const EnvSnapshot& env) {
  if (local_ranks <= 1 || visible.gpus.empty() || !env.Has(visible.var)) return false;
  auto on_node = env.Get("SLURM_GPUS_ON_NODE");
  if (!on_node) return false;
  auto n = parse::Decimal(*on_node);
  return n && visible.gpus.size() < *n && visible.gpus.size() * local_ranks == *n;
}

}  // namespace rankwrap::bind
