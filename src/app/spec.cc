#include "app/spec.h"

#include "core/plan/children.h"

namespace rankwrap::app {
namespace {

// The binding half of a spec, decided here only: CPUs always, memory only on
// a machine with several NUMA nodes (with one it is a no-op, and skipping it
// keeps kernels without NUMA policy support working), nothing when the plan
// is for another machine (--topology).
void Bind(const Config& c, const Binding& b, const bind::RankLine& line, RankSpec* s) {
  for (unsigned g : line.gpus) s->gpus.push_back(b.topo.gpus[g].bus_id);
  if (!c.bind.topology.empty()) return;
  s->bind = true;
  s->cpus = line.cpus;
  if (b.plan.options.mem == bind::BindOptions::Mem::kLocal && b.topo.numa.size() > 1) s->numa = line.numa;
  s->strict_memory = b.plan.options.mem_policy == bind::BindOptions::MemPolicy::kStrict;
}

}  // namespace

// The attempt, for rankwrap's own variable and for code written for
// torchrun (TORCHELASTIC_RESTART_COUNT, TORCHELASTIC_MAX_RESTARTS): the same
// job-wide count on every rank of every node.
void SetRestartCount(const Config& c, unsigned attempt, RankSpec* s) {
  s->env.Set("RANKWRAP_RESTART_COUNT", std::to_string(attempt));
  s->env.Set("TORCHELASTIC_RESTART_COUNT", std::to_string(attempt));
  s->env.Set("TORCHELASTIC_MAX_RESTARTS", std::to_string(c.supervise.max_restarts));
}

bool Standalone(const Prepared& p) { return p.contract.job.launcher == "standalone"; }

std::uint64_t WorldSize(const Config& c, const Prepared& p) {
  const JobInfo& job = p.contract.job;
  if (!c.supervise.nproc) return job.world_size;
  return (Standalone(p) ? 1 : job.world_size) * *c.supervise.nproc;
}

std::vector<RankSpec> BuildRankSpecs(const Config& c, const Prepared& p, const EnvSnapshot& env,
                                     const std::optional<Endpoint>& standalone, unsigned attempt) {
  const JobInfo& job = p.contract.job;
  std::vector<RankSpec> specs;
  if (!c.supervise.nproc) {
    RankSpec s;
    s.rank = job.rank;
    s.local_rank = job.local_rank;
    s.argv = c.program;
    s.env = env;
    // rankwrap's own option variables stop here: a nested rankwrap must not
    // read them again (docs/launchers.md).
    for (const std::string& k : plan::OptionVariablesIn(env)) s.env.Unset(k);
    for (const auto& [k, v] : p.contract.env) s.env.Set(k, v);
    if (c.supervise.max_restarts > 0) SetRestartCount(c, attempt, &s);
    if (p.binding.line) Bind(c, p.binding, *p.binding.line, &s);
    specs.push_back(std::move(s));
    return specs;
  }
  const unsigned n = *c.supervise.nproc;
  const std::uint64_t world = WorldSize(c, p);
  for (unsigned i = 0; i < n; ++i) {
    RankSpec s;
    s.rank = (Standalone(p) ? 0 : job.rank) * n + i;
    s.local_rank = i;
    s.argv = c.program;
    s.env = env;
    // The task's contract without the binding of local rank 0's line (a key
    // only rank 0's line sets, such as NCCL_IB_HCA, must not reach the others).
    for (const auto& [k, v] : p.contract.env) {
      if (!p.binding.env.count(k)) s.env.Set(k, v);
    }
    s.env.Set("RANK", std::to_string(s.rank));
    s.env.Set("WORLD_SIZE", std::to_string(world));
    s.env.Set("LOCAL_RANK", std::to_string(i));
    s.env.Set("LOCAL_WORLD_SIZE", std::to_string(n));
    if (standalone) {
      s.env.Set("MASTER_ADDR", standalone->addr);
      s.env.Set("MASTER_PORT", std::to_string(standalone->port));
    }
    // The task's launcher variables rewritten for the child, or removed
    // (SLURM_PROCID=RANK, ...; PMI_FD, PMIX_*, RANKWRAP_<OPTION> gone), so
    // every framework that reads them agrees with RANK.
    const plan::ChildEnv child = plan::ChildEnvironment(env, job, {s.rank, world, i, n});
    for (const std::string& k : child.unset) s.env.Unset(k);
    for (const auto& [k, v] : child.set) {
      if (k != "MASTER_PORT" || !standalone) s.env.Set(k, v);
    }
    if (c.supervise.max_restarts > 0) SetRestartCount(c, attempt, &s);
    if (p.binding.plan.ranks.size() > i) {
      const bind::RankLine& line = p.binding.plan.ranks[i];
      for (const auto& [k, v] : bind::RankEnv(p.binding.plan, line, p.binding.topo, env)) s.env.Set(k, v);
      Bind(c, p.binding, line, &s);
    }
    specs.push_back(std::move(s));
  }
  return specs;
}

std::vector<plan::RankContract> ChildContracts(const Config& c, const Prepared& p, const EnvSnapshot& env) {
  std::optional<Endpoint> standalone;
  if (Standalone(p)) standalone = Endpoint{"127.0.0.1", 0};
  std::vector<plan::RankContract> out;
  for (const RankSpec& s : BuildRankSpecs(c, p, env, standalone, 0)) {
    plan::RankContract k = p.contract;
    k.job.rank = s.rank;
    k.job.local_rank = s.local_rank;
    k.job.world_size = WorldSize(c, p);
    k.job.local_world_size = *c.supervise.nproc;
    k.env.clear();
    for (const auto& [key, value] : s.env.vars()) {
      if (env.Get(key) != std::optional<std::string_view>(value)) k.env[key] = value;
    }
    if (standalone) {
      k.master_addr = standalone->addr;
      k.master_addr_from = "standalone --nproc: this host";
      k.master_port = 0;
      k.master_port_from = "a free port of this host, chosen when the ranks start";
      k.env.erase("MASTER_PORT");
    }
    out.push_back(std::move(k));
  }
  return out;
}

}  // namespace rankwrap::app
