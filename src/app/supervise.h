// Supervision (stage: supervise): --nproc N local ranks, or --supervise for
// the one rank of this task. rankwrap stays the parent: it tags and logs
// output line by line, forwards signals, stops every rank when one fails,
// names the first failure and its likely cause, and restarts on request.
#pragma once

#include <string>

#include "app/pipeline.h"
#include "core/env/snapshot.h"
#include "tools/options.h"

namespace rankwrap::app {

// What main prints and returns. `summary` is empty when nothing failed.
struct SupervisedRun {
  int exit_code = 0;
  std::string summary;
};

// Runs the ranks until they end. `format_error` renders an Error the way
// main does, for a child whose exec fails.
Result<SupervisedRun> Supervise(const tools::Options& o, Prepared& p, const EnvSnapshot& env,
                                const std::string& host,
                                const std::function<std::string(const Error&)>& format_error);

}  // namespace rankwrap::app
