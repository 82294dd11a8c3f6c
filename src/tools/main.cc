// rankwrap: the thin main. The pipeline, in order:
//   env      = the process environment, read once
//   job      = detect::Run(registry, env)          -> JobInfo (+ --explain trace)
//   contract = plan::Ranks(job, options)           -> the rank contract
//   topo     = hwloc::Load(--topology)             -> Topology (plain data)
//   node     = bind::PlanNode(topo, local size)    -> this node's plan; this rank's line
//   exec     = hwloc::Apply(line) + posix::Exec(program, env + contract + binding)
// Only this file prints errors and chooses the exit code.
#include <fstream>
#include <iostream>

#include "adapters/hwloc/hwloc_topology.h"
#include "adapters/posix/posix.h"
#include "core/bind/plan.h"
#include "core/launch/report.h"
#include "core/plan/contract.h"
#include "detect/registry.h"
#include "tools/options.h"
#include "version.h"

namespace {

using namespace rankwrap;

int Report(const Error& e, const std::string& rank, const std::string& host) {
  std::cerr << "rankwrap[" << rank << "@" << host << "]: error: " << e.stage << ": " << e.what
            << ": " << e.why << "\nhint: " << e.hint << "\n";
  return e.exit_code;
}

struct Binding {
  topo::Topology topo;
  bind::NodePlan plan;
  std::optional<bind::RankLine> line;  // unset with --bind none
  std::map<std::string, std::string> env;
};

// The bind stage: topology, visible GPUs, node plan, this rank's line.
Result<Binding> PlanBinding(const tools::Options& o, unsigned local_ranks, unsigned local_rank,
                            const EnvSnapshot& env) {
  Binding b;
  auto opts = bind::ParseBindOptions(o.gpu_bind, o.gpu_visibility, o.cpu_bind, o.mem_bind, o.bind);
  if (!opts) return opts.error();
  if (o.bind == "none") return b;
  auto topo = hwloc::Load(o.topology);
  if (!topo) return topo.error();
  b.topo = std::move(topo).value();
  bind::VisibleGpus visible;
  if (opts->gpu != bind::BindOptions::Gpu::kNone) {
    auto v = bind::MapVisible(b.topo, env);
    if (!v) return v.error();
    visible = std::move(v).value();
  }
  if (o.plan_command && !o.ranks_per_node) {
    local_ranks = visible.gpus.empty() ? 1u : static_cast<unsigned>(visible.gpus.size());
  }
  auto plan = bind::PlanNode(b.topo, local_ranks, visible, *opts);
  if (!plan) return plan.error();
  b.plan = std::move(plan).value();
  if (!o.plan_command) {
    b.line = b.plan.ranks.at(local_rank);
    b.env = bind::RankEnv(b.plan, *b.line, b.topo, env);
  }
  return b;
}

int RunPlan(const tools::Options& o, const EnvSnapshot& env, const std::string& host) {
  auto b = PlanBinding(o, o.ranks_per_node.value_or(1), 0, env);
  if (!b) return Report(b.error(), "?", host);
  std::cout << (o.json ? bind::Json(b->plan, b->topo) : bind::Table(b->plan, b->topo));
  if (!o.svg.empty()) {
    std::ofstream out(o.svg);
    out << bind::Svg(b->plan, b->topo);
    if (!out) {
      return Report(Error{kExitUsage, "usage", "--svg '" + o.svg + "'", "the file cannot be written",
                          "give a path in a writable directory"},
                    "?", host);
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const EnvSnapshot env = posix::EnvironmentFromProcess();
  const std::string host = posix::HostName();
  auto opts = tools::ParseCommandLine(argc, argv, env);
  if (!opts) return Report(opts.error(), "?", host);
  if (opts->help) {
    std::cout << tools::HelpText();
    return 0;
  }
  if (opts->version) {
    std::cout << "rankwrap " << RANKWRAP_VERSION << "\n";
    return 0;
  }
  if (opts->plan_command) return RunPlan(*opts, env, host);

  const posix::DiskFileReader files;
  const detect::DetectContext ctx{env, files, host, posix::ParentPid()};
  std::vector<TraceLine> trace;
  auto job = detect::Run(detect::Registry(), ctx, opts->launcher, &trace);
  if (!job) {
    if (opts->explain) std::cerr << launch::Explain(trace, nullptr);
    return Report(job.error(), "?", host);
  }
  const std::string rank = std::to_string(job->rank);

  auto contract = plan::Ranks(*job, {opts->master_addr, opts->master_port}, env,
                              [] { return posix::FreeLocalPort(); });
  if (opts->explain) std::cerr << launch::Explain(trace, contract ? &*contract : nullptr);
  if (!contract) return Report(contract.error(), rank, host);

  auto binding = PlanBinding(*opts, static_cast<unsigned>(job->local_world_size),
                             static_cast<unsigned>(job->local_rank), env);
  if (!binding) return Report(binding.error(), rank, host);
  auto warn = [&](const std::string& w) {
    std::cerr << "rankwrap[" << rank << "@" << host << "]: warning: " << w << "\n";
  };
  for (const auto& w : contract->warnings) warn(w);
  if (job->local_rank == 0) {
    for (const auto& w : binding->plan.warnings) warn(w);  // node-wide: once per node
  }
  if (binding->line) {
    for (const auto& w : binding->line->warnings) warn(w);
    if (opts->report) {
      std::cerr << "rankwrap[" << rank << "@" << host << "]: binding: "
                << bind::Describe(*binding->line, binding->topo) << "\n";
    }
  }
  for (const auto& [k, v] : binding->env) contract->env[k] = v;

  if (opts->print_env) {
    std::cout << launch::PrintEnv(*contract);
    return 0;
  }
  if (opts->dry_run) {
    std::cout << (opts->json ? launch::Json(*contract, opts->program)
                             : launch::DryRun(*contract, opts->program));
    return 0;
  }
  if (binding->line) {
    if (!opts->topology.empty()) {
      warn("CPU and memory binding not applied: planned for " + opts->topology + ", not this machine");
    } else {
      // Memory binding matters only with several NUMA nodes; with one it is
      // a no-op, and skipping it keeps kernels without NUMA policy support
      // (set_mempolicy: ENOSYS in some sandboxes) working.
      const auto& l = *binding->line;
      const bool mem = binding->plan.options.mem == bind::BindOptions::Mem::kLocal &&
                       binding->topo.numa.size() > 1;
      auto applied = hwloc::Apply(l.cpus, mem ? l.numa : std::vector<unsigned>{});
      if (!applied) return Report(applied.error(), rank, host);
    }
  }
  EnvSnapshot child = env;
  for (const auto& [k, v] : contract->env) child.Set(k, v);
  std::cout.flush();
  std::cerr.flush();
  return Report(posix::Exec(opts->program, child), rank, host);
}
