// Supervision (stage: supervise): --nproc N local ranks, --supervise for the
// one rank of this task, and the program of an --nccl-bootstrap=mpi rank.
// This runs in the keeper process (adapters/posix/keeper.h): it starts the
// ranks from their RankSpecs, moves their output (unchanged, or tagged,
// logged, filtered), relays the wrapper's signals, stops every rank when one
// fails (SIGTERM, then SIGKILL after --grace), ends whatever the ranks left
// running, names the first failure and its likely cause, and restarts on
// request. The decisions are core/supervise/policy's.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "app/config.h"
#include "app/preflight.h"
#include "app/pipeline.h"
#include "app/spec.h"
#include "core/error.h"
#include "app/rendezvous.h"

namespace rankwrap::app {

// What the keeper prints and exits with. `summary` is empty when nothing failed.
struct SupervisedRun {
  int exit_code = 0;
  std::string summary;
  std::vector<std::string> warnings;
  int received = 0;  // the last signal from outside (the scheduler's stop, a time-limit warning)
};

struct KeeperLink {
  int control_fd = -1;     // the wrapper's pipe (signals; EOF when it is gone)
  pid_t wrapper_pgid = 0;  // the ranks join it
};

// What supervision needs from the outside world, passed in.
struct SuperviseIo {
  std::string host;
  KeeperLink link;
  // The ranks of attempt K (a fresh port for a standalone job each time).
  std::function<Result<std::vector<RankSpec>>(unsigned attempt)> ranks;
  // Renders an Error the way main does, for a child whose exec fails.
  std::function<std::string(const Error&)> format_error;
  // Shows a failure that is followed by a restart, and the plane's notices.
  std::function<void(const std::string&)> notice;
  // --log-dir: this launch's run name, the same in every keeper of the job
  // (core/supervise/logrun.h; empty when the job has no id), and whether
  // this keeper starts every rank of the job (then a rerun may take a free
  // name of its own).
  std::string log_run;
  bool starts_every_rank = false;
  std::string tmpdir;  // TMPDIR: where the ranks' error files go without --log-dir
  // --requeue: the scheduler's command, run by rank 0's keeper when a signal
  // from outside stopped the job (empty: never).
  std::vector<std::string> requeue;
  // --preflight in a job with the control plane: one round through it after
  // the rendezvous, before any rank starts (app/preflight.h).
  std::optional<PreflightRound> preflight;
  // The job control plane (when it runs) and what rank 0's keeper announces.
  RendezvousInputs rendezvous;
};

// Checks that can fail before anything starts (files, --ranks-filter, a
// double launch); run in the wrapper so an error stops the job before the
// keeper exists.
Status CheckSupervision(const Config& c, const Prepared& p);

// Runs the ranks until they end.
Result<SupervisedRun> Supervise(const SuperviseConfig& c, const SuperviseIo& io);

}  // namespace rankwrap::app
