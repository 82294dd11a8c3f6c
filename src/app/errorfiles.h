// TORCHELASTIC_ERROR_FILE for every rank and attempt (stage: supervise), as
// torchrun sets it: code decorated with torch's @record writes its uncaught
// exception there, and the keeper names it in the failure summary, the
// --failure-file and the failure it tells the other nodes.
//   --log-dir DIR: DIR/<run>[/attempt-K]/<rank>/error.json (kept with the logs)
//   otherwise:     a private directory under $TMPDIR (or /tmp), removed at the end
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "app/config.h"
#include "app/spec.h"
#include "core/error.h"
#include "core/supervise/errorfile.h"

namespace rankwrap::app {

class ErrorFiles {
 public:
  // `log_run_dir`: this run's directory under --log-dir (DIR/<run>), or empty.
  static Result<ErrorFiles> Create(const std::string& log_run_dir, const std::string& tmpdir);
  ErrorFiles(ErrorFiles&& o) noexcept : log_dir_(std::move(o.log_dir_)), own_(std::exchange(o.own_, {})) {}
  ErrorFiles& operator=(ErrorFiles&&) = delete;
  ErrorFiles(const ErrorFiles&) = delete;
  ~ErrorFiles();

  std::string PathFor(unsigned attempt, bool attempt_dirs, std::uint64_t rank) const;
  // Sets TORCHELASTIC_ERROR_FILE for each rank; removes what an earlier run left there.
  void Prepare(unsigned attempt, bool attempt_dirs, std::vector<RankSpec>* ranks) const;
  // What the rank wrote, if anything a reader understands.
  std::optional<supervise::RankError> Read(unsigned attempt, bool attempt_dirs, std::uint64_t rank) const;

 private:
  ErrorFiles() = default;
  std::string log_dir_;  // the run's directory under --log-dir, or empty
  std::string own_;      // the private directory this object removes
};

}  // namespace rankwrap::app
