// --nccl-bootstrap=mpi (stage: bootstrap). The order is forced by three
// facts: MPI can be initialised once per process, even across exec; the
// process that calls ncclGetUniqueId hosts NCCL's bootstrap root and must
// stay alive; fork after MPI_Init is fragile. So: fork the program's process
// first (it waits on a pipe), then MPI_Init here, exchange, check, broadcast
// the id, release the child with its environment, and stay its parent.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "adapters/mpi/mpi_api.h"
#include "adapters/posix/keeper.h"
#include "app/pipeline.h"
#include "core/env/snapshot.h"
#include "core/error.h"
#include "app/config.h"
#include "app/spec.h"

namespace rankwrap::app {

class MpiBootstrap {
 public:
  // Runs the whole exchange and releases the child. Errors: 5 (job
  // inconsistent, NCCL or MPI unusable; rank 0's table is in the error of
  // rank 0 only, the others' errors are quiet), 6 (timeout), 126/127 (exec).
  // After an error, call EndAfterError.
  // `spec` is this rank's (its environment gains MASTER_ADDR/MASTER_PORT and
  // RANKWRAP_NCCL_UNIQUE_ID from rank 0). `keeper` is the body of the keeper process (forked first, before MPI;
  // it gets the program's final environment when the exchange is done).
  // `format_error` renders an error for the MPI_Init watchdog, which must
  // report and exit from its own thread.
  static Result<std::unique_ptr<MpiBootstrap>> Start(const Config& c, Prepared& p, const EnvSnapshot& env,
                                                     const RankSpec& spec, const std::string& host,
                                                     const std::function<int(int, const EnvSnapshot*)>& keeper,
                                                     const std::function<std::string(const Error&)>& format_error);
  posix::Keeper& keeper() { return keeper_; }
  // The program ended well: MPI_Finalize, exit code 0.
  int Finalize();
  // The program failed: MPI_Abort with its code, so the whole job ends now.
  [[noreturn]] void Abort(int code);

  // Ends MPI after an error from Start, if MPI was started: MPI_Finalize for
  // a failed check (every rank stops the same way), MPI_Abort otherwise.
  static int EndAfterError(const Error& e);

  MpiBootstrap(posix::Keeper keeper, const RankwrapMpiApi* api) : keeper_(std::move(keeper)), api_(api) {}

 private:
  posix::Keeper keeper_;
  const RankwrapMpiApi* api_;
};

// The fix for a program that uses MPI itself.
extern const char* const kMpiProgramHint;

// Whether this binary has the test-only hooks (-DRANKWRAP_TEST_HOOKS=ON).
bool TestHooksBuilt();

// The default --bootstrap-timeout: 60 s plus 10 ms per rank.
double DefaultBootstrapTimeout(std::uint64_t world_size);

}  // namespace rankwrap::app
