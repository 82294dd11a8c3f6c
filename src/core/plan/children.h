// The environment of one child of --nproc (stage: plan). Pure: from the
// task's environment and the child's place in the world, the variables to set
// and to remove so that every reader of launcher variables (Lightning,
// submitit, JAX, DeepSpeed, Horovod, Accelerate, MPI libraries, a nested
// rankwrap) agrees with RANK, WORLD_SIZE and LOCAL_RANK. The table of readers
// and what each reads is in docs/launchers.md ("The children of --nproc").
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/env/snapshot.h"
#include "core/job.h"

namespace rankwrap::plan {

// A child's place: rank = job.rank * N + i, world = job.world_size * N,
// local rank i of N (app::Supervise). The node (job.node_rank of
// job.num_nodes) is the task's.
struct ChildPlace {
  std::uint64_t rank = 0;
  std::uint64_t world_size = 0;
  std::uint64_t local_rank = 0;
  std::uint64_t local_world_size = 0;
};

struct ChildEnv {
  // Variables to set, on top of the contract (RANK ... MASTER_PORT are
  // included, with the child's values). Only variables the task has are
  // rewritten: no launcher's variables are introduced where they were not.
  std::map<std::string, std::string> set;
  // Variables of the task to remove from the child (sorted): launcher
  // connection and identity that cannot describe the child (PMI_FD,
  // PMIX_*, ...), and rankwrap's own RANKWRAP_<OPTION> variables.
  std::vector<std::string> unset;
  // One line per group removed or not rewritable, for --explain.
  std::vector<std::string> notes;
};

// What a child of --nproc gets instead of the task's launcher variables.
// `task_env` is the environment rankwrap itself was started with.
ChildEnv ChildEnvironment(const EnvSnapshot& task_env, const JobInfo& job, const ChildPlace& child);

// rankwrap's own option variables (RANKWRAP_NPROC, RANKWRAP_MASTER_PORT, ...,
// one per option that has an environment form) that are set in `env`: a
// program started by rankwrap, with or without --nproc, must not inherit
// them (a nested rankwrap would read them again).
std::vector<std::string> OptionVariablesIn(const EnvSnapshot& env);

// Every RANKWRAP_<OPTION> name, for tests that compare it with --help.
const std::vector<std::string>& OptionVariables();

}  // namespace rankwrap::plan
