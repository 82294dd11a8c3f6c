#include "detect/registry.h"

#include <array>

#include "core/parse/hostlist.h"
#include "detect/launchers.h"

namespace rankwrap::detect {

std::span<const Detector> Registry() {
  // Innermost first: an elastic agent runs inside whatever started it; MPI
  // launchers run inside scheduler allocations and leak the allocation's
  // variables (SLURM_PROCID=0 from the daemon step) into every rank; PALS
  // before Hydra since both may set PMI_*; the contract inherited from an
  // unknown outer launcher only when nothing more specific is there.
  // PRRTE and ALPS after the launchers that also set PMIX_*/PMI_* (their
  // own variables say more); the node-level cloud and Kubernetes launchers
  // with the schedulers, the Trainer v2 node before the Indexed Job it runs in.
  static const std::array<Detector, 22> kRegistry = {
      NestedDetector(),     TorchrunDetector(),   OmpiDetector(),       MvapichDetector(),  HydraDetector(),
      PalsDetector(),       FluxDetector(),       LsfDetector(),        PrrteDetector(),    AlpsDetector(),
      SlurmDetector(),      PbsDetector(),        GridEngineDetector(), KubeflowDetector(), PytorchJobDetector(),
      IndexedJobDetector(), AwsBatchDetector(),   AzureBatchDetector(), GcpBatchDetector(), SkypilotDetector(),
      InheritedDetector(),  StandaloneDetector(),
  };
  return kRegistry;
}

namespace {

// Where a detector did not judge the task order itself (MPI launchers,
// PALS, Flux, LSF), this rank's own numbers can still show that RANK is not
// NODE_RANK * LOCAL_WORLD_SIZE + LOCAL_RANK (mpirun --map-by node, uneven
// hosts). The outer rankwrap of a nested one has said it already.
void NoteRankOrder(JobInfo& job) {
  if (!job.rank_order.empty() || job.launcher == "rankwrap") return;
  const std::uint64_t product = job.node_rank * job.local_world_size + job.local_rank;
  if (product == job.rank) return;
  job.rank_order = "here RANK=" + std::to_string(job.rank) +
                   " but NODE_RANK*LOCAL_WORLD_SIZE+LOCAL_RANK=" + std::to_string(product) +
                   " (ranks placed cyclically or unevenly over the nodes)";
}

}  // namespace

Status Validate(const JobInfo& job) {
  auto bad = [&](const std::string& what, const std::string& why) {
    return EnvError(what, why,
                    "check the launch command and that no job script overwrites the launcher's "
                    "variables");
  };
  // "SLURM_PROCID=4" when the value came from one variable, else
  // "2 (distinct hosts in PBS_NODEFILE)".
  auto name = [](const std::string& from, std::uint64_t v) {
    const bool is_var =
        !from.empty() && from.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == std::string::npos;
    if (is_var) return from + "=" + std::to_string(v);
    return std::to_string(v) + (from.empty() ? "" : " (" + from + ")");
  };
  if (job.world_size == 0) return bad(name(job.from.world_size, 0), "the world size must be at least 1");
  if (job.rank >= job.world_size) {
    return bad("rank " + name(job.from.rank, job.rank),
               "must be below the world size " + name(job.from.world_size, job.world_size));
  }
  if (job.local_world_size == 0) {
    return bad(name(job.from.local_world_size, 0), "a node running this rank has at least 1 rank");
  }
  if (job.local_rank >= job.local_world_size) {
    return bad("local rank " + name(job.from.local_rank, job.local_rank),
               "must be below the local size " + name(job.from.local_world_size, job.local_world_size));
  }
  if (job.local_world_size > job.world_size) {
    return bad("local size " + name(job.from.local_world_size, job.local_world_size),
               "exceeds the world size " + name(job.from.world_size, job.world_size));
  }
  if (job.num_nodes == 0 || job.num_nodes > job.world_size) {
    return bad("node count " + name(job.from.num_nodes, job.num_nodes),
               "must be between 1 and the world size " + std::to_string(job.world_size));
  }
  if (job.node_rank >= job.num_nodes) {
    return bad("node index " + name(job.from.node_rank, job.node_rank),
               "must be below the node count " + name(job.from.num_nodes, job.num_nodes));
  }
  // MASTER_ADDR goes to every rank's rendezvous: whatever variable or file
  // it came from, it must be something a resolver can take.
  if (job.master_addr) {
    if (auto host = parse::CheckHostName(*job.master_addr); !host) {
      return bad("MASTER_ADDR '" + ShortenForMessage(*job.master_addr) + "' (" + job.master_addr_from + ")",
                 host.error().message);
    }
  }
  return Ok{};
}

Result<JobInfo> Run(std::span<const Detector> registry, const DetectContext& ctx, std::string_view forced,
                    std::vector<TraceLine>* trace) {
  std::vector<TraceLine> local_trace;
  std::vector<TraceLine>& out = trace ? *trace : local_trace;
  if (!forced.empty()) {
    for (const Detector& d : registry) {
      if (d.name != forced) continue;
      out.push_back({std::string(d.name), "forced", "--launcher " + std::string(forced)});
      auto job = d.parse(ctx);
      if (!job) return job.error();
      job->host = ctx.hostname;
      if (auto ok = Validate(*job); !ok) return ok.error();
      NoteRankOrder(*job);
      return job;
    }
    std::string names;
    for (const Detector& d : registry) names += (names.empty() ? "" : ", ") + std::string(d.name);
    return Error{kExitUsage, "usage", "--launcher '" + std::string(forced) + "'",
                 "is not a known launcher; expected one of: " + names,
                 "pick one of the names above, or leave --launcher out to detect"};
  }
  const Detector* chosen = nullptr;
  std::vector<const Detector*> same_layer;
  for (const Detector& d : registry) {
    Probe p = d.probe(ctx);
    if (!p.applies) {
      out.push_back({std::string(d.name), "does not apply", p.reason});
      continue;
    }
    if (chosen == nullptr) {
      chosen = &d;
      out.push_back({std::string(d.name), "chosen", p.reason});
    } else if (d.layer == chosen->layer) {
      same_layer.push_back(&d);
      out.push_back({std::string(d.name), "applies too (same kind: checked for agreement)", p.reason});
    } else if (d.layer != Layer::kNone) {
      out.push_back(
          {std::string(d.name), "applies, but an inner launcher (" + std::string(chosen->name) + ") wins", p.reason});
    }
  }
  if (chosen == nullptr) {
    // The full registry ends with standalone, which always applies; a
    // registry without it (tests, bindings) may have nothing that applies.
    std::string names;
    for (const Detector& d : registry) names += (names.empty() ? "" : ", ") + std::string(d.name);
    return EnvError("no launcher detected",
                    "none of the detectors tried (" + (names.empty() ? std::string("none") : names) +
                        ") applies to this environment",
                    "run under a supported launcher, or name one with --launcher");
  }
  auto job = chosen->parse(ctx);
  if (!job) return job.error();
  job->host = ctx.hostname;
  if (auto ok = Validate(*job); !ok) return ok.error();
  NoteRankOrder(*job);
  for (const Detector* other : same_layer) {
    auto theirs = other->parse(ctx);
    if (!theirs || theirs->world_size == job->world_size) continue;
    return EnvError("two launchers claim different world sizes: " + std::string(chosen->name) + " says " +
                        job->from.world_size + "=" + std::to_string(job->world_size) + ", " + std::string(other->name) +
                        " says " + theirs->from.world_size + "=" + std::to_string(theirs->world_size),
                    "the variables of one launch must agree; one set was probably inherited from "
                    "another job or exported by hand",
                    "unset the stale variables, or pick one with --launcher " + std::string(chosen->name));
  }
  return job;
}

}  // namespace rankwrap::detect
