// The scheduler around the job (stage: supervise): --grace scheduler reads
// its grace period between stop signal and SIGKILL, --requeue puts the job
// back in the queue after the scheduler stopped it (time limit,
// preemption). Both run the scheduler's own commands (adapters/posix/command.h).
#pragma once

#include <string>
#include <vector>

#include "app/config.h"
#include "app/pipeline.h"
#include "core/env/snapshot.h"
#include "core/error.h"

namespace rankwrap::app {

// --grace scheduler: sets s->grace from Slurm's KillWait or PBS's kill_delay.
Status ResolveSchedulerGrace(SuperviseConfig* s, const EnvSnapshot& env);

// --requeue: the command that requeues this job (scontrol requeue ID, qrerun
// ID), or an Error naming what is missing (not a batch job of Slurm or PBS).
Result<std::vector<std::string>> RequeueCommand(const EnvSnapshot& env);

}  // namespace rankwrap::app
