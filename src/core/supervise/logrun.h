// The run directory under --log-dir (stage: supervise), pure: a second run
// into the same DIR must not overwrite the first one's logs, so each run
// writes DIR/<run>/[attempt-K/]<rank>/.
//  - A job with an id: <run> comes from the launcher's job id and launch
//    (JobInfo::job_key): Slurm's job 123 step 4 is "123.4", its batch step
//    "123". Every rankwrap of the launch, on every node, computes the same
//    name without talking to the others. A requeued Slurm job
//    (SLURM_RESTART_COUNT=N, N > 0) writes "<name>.requeue-N", so its
//    earlier run's logs stay. PBS keeps PBS_JOBID on a rerun (qrerun) and
//    puts no run count in the job's environment: a rerun shares the name
//    (docs/supervision.md: one --log-dir per run in the script).
//  - No job id: "local-YYYYmmdd-HHMMSS-<pid>", made by the one rankwrap that
//    starts every rank (--nproc).
// Where one rankwrap starts every rank of the job it also takes the next
// free "<name>.rerun-1", "<name>.rerun-2", ... when the name is taken (a
// rerun in the same batch step; not "<name>.1", which would be the name of
// Slurm's step 1 of job <name>). The keepers of a job of several rankwraps
// cannot agree on such a suffix and share the deterministic name; without a
// job id they share "unnamed".
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/job.h"

namespace rankwrap::supervise {

// The deterministic name for `job`, or empty when the job has no id.
// `restart_count` is SLURM_RESTART_COUNT's value, if set. Only [A-Za-z0-9._-]
// survive (others become '_'); never ".", ".." or a hidden name.
std::string LogRunName(const JobInfo& job, std::optional<std::string_view> restart_count);

// The name of a run without a job id: "local-20240131-235959-4242" (UTC).
std::string LocalLogRunName(long long unix_seconds, long pid);

// Candidate `n` for a taken name: n == 0 is `name` itself, then
// "name.rerun-1", ...
std::string LogRunCandidate(const std::string& name, unsigned n);

}  // namespace rankwrap::supervise
