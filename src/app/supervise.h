// Supervision (stage: supervise): --nproc N local ranks, --supervise for the
// one rank of this task, and the program of an --nccl-bootstrap=mpi rank.
// This runs in the keeper process (adapters/posix/keeper.h): it starts the
// ranks, moves their output (unchanged, or tagged, logged, filtered),
// relays the wrapper's signals, stops every rank when one fails (SIGTERM,
// then SIGKILL after --grace), ends whatever the ranks left running, names
// the first failure and its likely cause, and restarts on request.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>

#include "app/pipeline.h"
#include "core/env/snapshot.h"
#include "tools/options.h"

namespace rankwrap::app {

// What the keeper prints and exits with. `summary` is empty when nothing failed.
struct SupervisedRun {
  int exit_code = 0;
  std::string summary;
  std::vector<std::string> warnings;
};

struct KeeperLink {
  int control_fd = -1;   // the wrapper's pipe (signals; EOF when it is gone)
  pid_t wrapper_pgid = 0;  // the ranks join it
};

// Checks that can fail before anything starts (files, --ranks-filter); run
// in the wrapper so that an error stops the job before the keeper exists.
Status CheckSupervision(const tools::Options& o, const Prepared& p);

// Runs the ranks until they end. `env` is the environment the ranks start
// from (the contract is applied on top). `format_error` renders an Error the
// way main does, for a child whose exec fails. `notice` shows a failure
// that is followed by a restart.
Result<SupervisedRun> Supervise(const tools::Options& o, Prepared& p, const EnvSnapshot& env,
                                const std::string& host, const KeeperLink& link,
                                const std::function<std::string(const Error&)>& format_error,
                                const std::function<void(const std::string&)>& notice);

// True when any supervision option was given (they imply --supervise).
bool WantsSupervision(const tools::Options& o);

}  // namespace rankwrap::app
