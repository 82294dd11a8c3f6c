#include "app/bootstrap.h"

#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <chrono>
#include <signal.h>

#include "adapters/mpi/mpi_loader.h"
#include "adapters/nccl/nccl_loader.h"
#include "adapters/posix/output.h"
#include "adapters/posix/posix.h"
#include "adapters/posix/supervisor.h"
#include "core/boot/exchange.h"

namespace rankwrap::app {
namespace {

const RankwrapMpiApi* g_started = nullptr;  // set once MPI_Init succeeded

constexpr const char* kNcclHint = "set CUDA_HOME to the CUDA toolkit that holds NCCL";
constexpr const char* kCheckHint =
    "fix the launch so every rank gets its own rank, local rank and GPU (docs/nccl-bootstrap.md)";

Error BootError(int code, std::string what, std::string why, std::string hint) {
  return Error{code, "bootstrap", std::move(what), std::move(why), std::move(hint)};
}

std::string Flavor(const std::string& launcher) {
  if (launcher == "hydra") return "mpich";
  if (launcher == "ompi") return "openmpi";
  return RANKWRAP_MPI_DEFAULT;
}

}  // namespace

const char* const kMpiProgramHint =
    "run without --nccl-bootstrap=mpi and create the NCCL id inside the program from its own MPI "
    "communicator (bindings/cpp/rankwrap/nccl.h: rankwrap::nccl::CommFromMpi; "
    "docs/nccl-bootstrap.md)";

bool TestHooksBuilt() {
#ifdef RANKWRAP_TEST_HOOKS
  return true;
#else
  return false;
#endif
}

double DefaultBootstrapTimeout(std::uint64_t world_size) { return 60.0 + 0.01 * static_cast<double>(world_size); }

// MPI_Init under the bootstrap deadline: under Hydra a rank that fails
// before MPI_Init leaves the others blocked in it forever. The watchdog
// reports from its own thread and ends this rank (and its keeper) with the
// timeout code; the launcher then ends the job.
namespace {

class InitWatchdog {
 public:
  InitWatchdog(double timeout, pid_t keeper, std::string message)
      : thread_([this, timeout, keeper, message = std::move(message)] {
          std::unique_lock<std::mutex> lock(mu_);
          if (cv_.wait_for(lock, std::chrono::duration<double>(timeout), [this] { return done_; })) return;
          posix::WriteAll(2, message);
          kill(keeper, SIGKILL);
          _exit(kExitBootstrapTimeout);
        }) {}
  ~InitWatchdog() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

// The MPI library the program links directly (its ELF dependencies), or "".
// Python and other dynamic loads are watched for while it runs.
std::string ProgramMpi(const std::vector<std::string>& program, const EnvSnapshot& env) {
  if (program.empty()) return {};
  auto resolved = posix::ResolveProgram(program[0], std::string(env.Get("PATH").value_or("/usr/bin:/bin")));
  if (!resolved) return {};
  std::string found;
  for (const std::string& lib : posix::NeededLibraries(*resolved)) {
    if (posix::IsMpiLibrary(lib)) found = lib;
  }
  return found;
}

#ifdef RANKWRAP_TEST_HOOKS
// Test hook (tests/integration/nccl_bootstrap.sh; built only with
// -DRANKWRAP_TEST_HOOKS=ON): this rank stalls before the exchange, as a rank
// that hangs or is killed would.
void TestStall(const EnvSnapshot& env, int mpi_rank) {
  auto stall = env.Get("RANKWRAP_TEST_STALL_RANK");
  if (!stall || *stall != std::to_string(mpi_rank)) return;
  if (auto pidfile = env.Get("RANKWRAP_TEST_STALL_PIDFILE")) {
    if (FILE* f = std::fopen(std::string(*pidfile).c_str(), "w")) {
      std::fprintf(f, "%d\n", static_cast<int>(getpid()));
      std::fclose(f);
    }
  }
  sleep(static_cast<unsigned>(std::atoi(std::string(env.Get("RANKWRAP_TEST_STALL_SECONDS").value_or("30")).c_str())));
}
#else
void TestStall(const EnvSnapshot&, int) {}
#endif

// This rank's record for rank 0's check.
boot::RankRecord MyRecord(const Prepared& p, const std::string& host, int mpi_rank, const std::string& program_mpi) {
  boot::RankRecord mine;
  mine.mpi_rank = static_cast<std::uint64_t>(mpi_rank);
  mine.rank = p.contract.job.rank;
  mine.world_size = p.contract.job.world_size;
  mine.local_rank = p.contract.job.local_rank;
  mine.local_world_size = p.contract.job.local_world_size;
  mine.num_nodes = p.contract.job.num_nodes;
  mine.host = host;
  const posix::DiskFileReader files;
  if (auto b = files.Read("/proc/sys/kernel/random/boot_id")) {
    mine.boot_id = *b;
    while (!mine.boot_id.empty() && mine.boot_id.back() == '\n') mine.boot_id.pop_back();
  }
  if (p.binding.line) {
    for (unsigned g : p.binding.line->gpus) {
      const auto& gpu = p.binding.topo.gpus[g];
      mine.gpus += (mine.gpus.empty() ? "" : ",") + gpu.bus_id + (gpu.sub ? "/" + std::to_string(gpu.sub) : "");
    }
  }
  mine.master_addr = p.contract.master_addr;
  mine.program_mpi = program_mpi;
  return mine;
}

// Rank 0: check every record, create the NCCL id and hold the port. A
// failed check is a verdict (every rank stops the same way); only a port
// that cannot be opened is an error here.
Result<boot::Verdict> RootVerdict(const std::vector<char>& all, int mpi_size, const Config& c, const EnvSnapshot& env,
                                  posix::HeldPort& port, std::string* table) {
  boot::Verdict verdict;
  std::vector<boot::RankRecord> records;
  for (int r = 0; r < mpi_size; ++r) {
    records.push_back(boot::Decode(all.data() + static_cast<std::size_t>(r) * boot::kRecordBytes));
  }
  if (const std::string mpi_problem = boot::MpiProgramProblem(records); !mpi_problem.empty()) {
    *table = mpi_problem;
    verdict.reason = "the program uses MPI itself";
    return verdict;
  }
  if (auto bad = boot::Check(records, mpi_size)) {
    *table = *bad;
    verdict.reason = "rank 0 found the job inconsistent";
    return verdict;
  }
  auto id = nccl::GetUniqueId(nccl::Candidates(std::string(env.Get("CUDA_HOME").value_or(""))));
  if (!id) {
    *table = id.error().what + ": " + id.error().why;
    verdict.reason = "rank 0 could not create the NCCL unique id";
    return verdict;
  }
  verdict.id = *id;
  verdict.master_addr = boot::MasterAddr(records);
  if (c.contract.master_port) {
    verdict.master_port = *c.contract.master_port;
  } else {
    // Any free port, bound on every interface and held until just before
    // the program starts (posix::HeldPort); the error keeps this stage's name.
    auto pnum = port.Open(0);
    if (!pnum) return BootError(kExitBootstrap, "no free port for MASTER_PORT", pnum.error().why, "pass --master-port");
    verdict.master_port = *pnum;
  }
  verdict.ok = true;
  return verdict;
}

Error RefusedBy(const boot::Verdict& verdict, int mpi_rank, const std::string& table) {
  Error e = BootError(kExitBootstrap, verdict.reason, mpi_rank == 0 ? "\n" + table : std::string("see rank 0's report"),
                      verdict.reason.find("NCCL") != std::string::npos         ? std::string(kNcclHint)
                      : verdict.reason.find("MPI itself") != std::string::npos ? std::string(kMpiProgramHint)
                                                                               : std::string(kCheckHint));
  e.quiet = mpi_rank != 0;
  return e;
}

// MPI_Init under the deadline (see InitWatchdog).
Status InitMpi(const RankwrapMpiApi* api, double timeout, pid_t keeper, int* mpi_rank, int* mpi_size,
               const std::function<std::string(const Error&)>& format_error) {
  char why[512] = {};
  int init = 0;
  {
    const Error late =
        BootError(kExitBootstrapTimeout, "timed out after " + posix::FormatSeconds(timeout) + " s in MPI_Init",
                  "another rank never reached MPI_Init (it failed or was never started)",
                  "look for the first failure in the job's output; raise --bootstrap-timeout for slow-starting jobs");
    InitWatchdog watchdog(timeout, keeper, format_error(late));
    init = api->init(mpi_rank, mpi_size, why, sizeof why);
  }
  if (init != 0) {
    return BootError(kExitBootstrap, "MPI_Init failed (" + std::string(api->library()) + ")", why,
                     "check that the launcher and rankwrap's MPI module are the same MPI");
  }
  g_started = api;
  return Ok{};
}

// Gather, verdict, broadcast, barrier: the exchange itself, all under `deadline`.
Result<boot::Verdict> Exchange(const RankwrapMpiApi* api, const boot::RankRecord& mine, int mpi_rank, int mpi_size,
                               double deadline, double timeout, const Config& c, const EnvSnapshot& env,
                               posix::HeldPort& port) {
  char why[512] = {};
  auto failed = [&](int rc, const char* what) -> Error {
    if (rc == 1) {
      return BootError(kExitBootstrapTimeout, "timed out after " + posix::FormatSeconds(timeout) + " s", why,
                       "a rank died or never started: look for the first failure in the job's output; raise "
                       "--bootstrap-timeout for very large or slow-starting jobs");
    }
    return BootError(kExitBootstrap, what, why, "check the MPI installation");
  };
  const auto record = boot::Encode(mine);
  std::vector<char> all(mpi_rank == 0 ? static_cast<std::size_t>(mpi_size) * boot::kRecordBytes : 0);
  if (int g = api->gather(record.data(), record.size(), all.data(), deadline, why, sizeof why); g != 0) {
    return failed(g, "MPI gather failed");
  }
  boot::Verdict verdict;
  std::string table;
  if (mpi_rank == 0) {
    auto v = RootVerdict(all, mpi_size, c, env, port, &table);
    if (!v) return v.error();
    verdict = *v;
  }
  auto wire = boot::Encode(verdict);
  if (int b = api->bcast(wire.data(), wire.size(), deadline, why, sizeof why); b != 0) {
    return failed(b, "MPI broadcast failed");
  }
  verdict = boot::DecodeVerdict(wire.data());
  if (!verdict.ok) return RefusedBy(verdict, mpi_rank, table);
  // Some MPI stacks defer a broadcast's progress: a barrier makes sure
  // every rank has the id before any program starts.
  if (int br = api->barrier(deadline, why, sizeof why); br != 0) return failed(br, "MPI barrier failed");
  return verdict;
}

}  // namespace

Result<std::unique_ptr<MpiBootstrap>> MpiBootstrap::Start(
    const Config& c, Prepared& p, const EnvSnapshot& env, const RankSpec& spec, const std::string& host,
    const std::function<int(int, const EnvSnapshot*)>& keeper,
    const std::function<std::string(const Error&)>& format_error) {
  const std::string program_mpi = ProgramMpi(c.program, env);
  // 1. The keeper first, before MPI exists in this process.
  auto child = posix::Keeper::Fork(true, keeper);
  if (!child) return child.error();
  auto abandon = [&](Error e) {
    child->Abandon();
    return e;
  };
  // 2. MPI, from the module built for the launcher's MPI, under the deadline.
  auto api = mpi::Load(Flavor(p.contract.job.launcher), std::string(env.Get("RANKWRAP_MPI_MODULE").value_or("")),
                       RANKWRAP_MODULE_RELDIR);
  if (!api) return abandon(api.error());
  const double timeout = c.bootstrap.timeout.value_or(DefaultBootstrapTimeout(p.contract.job.world_size));
  const double deadline = posix::Now() + timeout;
  int mpi_rank = 0, mpi_size = 0;
  if (auto s = InitMpi(*api, timeout, child->pid(), &mpi_rank, &mpi_size, format_error); !s) return abandon(s.error());
  TestStall(env, mpi_rank);
  // 3-5. Records to rank 0, its verdict (id, address, port) to everyone.
  posix::HeldPort port;
  auto verdict =
      Exchange(*api, MyRecord(p, host, mpi_rank, program_mpi), mpi_rank, mpi_size, deadline, timeout, c, env, port);
  if (!verdict) return abandon(verdict.error());
  // 6. The program's environment; rank 0 lets go of the port just before.
  p.contract.master_addr = verdict->master_addr;
  p.contract.master_port = verdict->master_port;
  p.contract.env["MASTER_ADDR"] = verdict->master_addr;
  p.contract.env["MASTER_PORT"] = std::to_string(verdict->master_port);
  p.contract.env["RANKWRAP_NCCL_UNIQUE_ID"] = boot::ToHex(verdict->id);
  EnvSnapshot child_env = spec.env;
  for (const char* k : {"MASTER_ADDR", "MASTER_PORT", "RANKWRAP_NCCL_UNIQUE_ID"}) child_env.Set(k, p.contract.env[k]);
  port.Close();
  if (auto released = child->Release(child_env); !released) return released.error();
  child->RelaySignals();
  return std::make_unique<MpiBootstrap>(std::move(child).value(), *api);
}

int MpiBootstrap::Finalize() {
  api_->finalize();
  return 0;
}

namespace {
// The report printed just before an abort travels through the launcher's
// output forwarding (Hydra's proxies, orted), which MPI_Abort tears down:
// give it a moment to get through first.
void LetTheReportThrough() { usleep(300 * 1000); }
}  // namespace

void MpiBootstrap::Abort(int code) {
  LetTheReportThrough();
  api_->abort_job(code);
  _exit(code);  // MPI_Abort does not return; this is for MPIs that do
}

int MpiBootstrap::EndAfterError(const Error& e) {
  if (g_started == nullptr) return e.exit_code;
  if (e.exit_code == kExitBootstrap) {
    g_started->finalize();  // every rank took the same verdict: a clean stop
    return e.exit_code;
  }
  LetTheReportThrough();
  g_started->abort_job(e.exit_code);
  return e.exit_code;
}

}  // namespace rankwrap::app
