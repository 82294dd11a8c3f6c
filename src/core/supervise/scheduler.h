// What the scheduler allows between its stop signal and its SIGKILL, read
// from its own commands' output (stage: supervise), pure:
//  - Slurm: KillWait in `scontrol show config` ("KillWait = 30 sec"): a job
//    at its time limit or preempted gets SIGTERM (or --signal's), then
//    SIGKILL KillWait seconds later (slurm.conf(5) KillWait).
//  - PBS Pro / OpenPBS: the queue's kill_delay in `qstat -Qf QUEUE`
//    ("kill_delay = 10"): SIGTERM, then SIGKILL after it; 10 s when the
//    queue does not set it (PBS Professional Reference Guide, kill_delay).
#pragma once

#include <optional>
#include <string_view>

namespace rankwrap::supervise {

std::optional<double> SlurmKillWait(std::string_view show_config);
// nullopt when the text is not qstat's queue listing; the PBS default (10)
// when the queue does not set kill_delay.
std::optional<double> PbsKillDelay(std::string_view qstat_queue);

// rankwrap's --grace for the scheduler's: one second less (so rankwrap's
// SIGKILL, and its report, come before the scheduler's), at least 0.
double GraceWithin(double scheduler_seconds);

}  // namespace rankwrap::supervise
