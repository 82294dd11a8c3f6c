// The typed configuration of one rankwrap run (stage: all): what the command
// line, RANKWRAP_<OPTION> variables or a language binding asked for, checked
// once, before anything is detected. Each stage reads its own part. The
// command line (src/tools/options.cc) and the Python binding build it the
// same way: option values by name -> BuildConfig.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/bind/plan.h"
#include "core/env/snapshot.h"
#include "core/error.h"

namespace rankwrap::app {

struct ContractConfig {
  std::string launcher;  // --launcher: empty = detect
  std::optional<std::string> master_addr;
  std::optional<std::uint16_t> master_port;
};

struct BindConfig {
  bool enabled = true;        // --bind none: no GPU, CPU or memory binding at all
  bind::BindOptions options;  // --gpu-bind, --gpu-visibility, --cpu-bind, --mem-bind
  std::string topology;       // --topology FILE.xml; empty: this machine
};

// kMpi: rank 0 creates the NCCL id, MPI broadcasts it (app/bootstrap.h).
// kTcp: rank 0's keeper creates it, the job control plane carries it
// (app/supervise.h); no MPI in rankwrap.
enum class BootstrapMode { kNone, kMpi, kTcp };

struct BootstrapConfig {
  BootstrapMode mode = BootstrapMode::kNone;
  std::optional<double> timeout;  // seconds
  bool nccl_comm_id = false;
};

struct SuperviseConfig {
  bool enabled = false;           // stay the program's parent (any option below implies it)
  std::optional<unsigned> nproc;  // --nproc N: N local ranks
  bool tag_output = false;
  std::string log_dir;
  bool tee = false;
  std::vector<std::uint64_t> ranks_filter;        // empty: every rank on the console
  std::vector<std::uint64_t> local_ranks_filter;  // --local-ranks-filter: by local rank (never both)
  double grace = 30.0;
  bool grace_from_scheduler = false;  // --grace scheduler: KillWait / kill_delay, read at start (app/scheduler.h)
  bool requeue = false;               // --requeue: requeue the job after a stop from outside (app/scheduler.h)
  std::string failure_file;
  unsigned max_restarts = 0;
  double restart_backoff = 1.0;                 // --restart-backoff: seconds before restart 1, doubling, at most 60
  std::vector<std::pair<int, int>> signal_map;  // received -> delivered
  // --plane MODE: the job control plane between the keepers of one job (the
  // first failure anywhere stops every node; rank 0's host and port are
  // announced); auto, munge, secret or insecure; empty: off. The default,
  // auto, runs the plane for a supervised multi-node job when munged
  // answers or RANKWRAP_JOB_SECRET is set, and says so when neither is
  // there; `plane_given` when the user asked for a mode (then it is
  // required: no authentication is an error).
  std::string plane = "auto";
  bool plane_given = false;
};

// --preflight: every node checks itself before the program starts
// (app/preflight.h, docs/preflight.md); --preflight-cmd CMD adds a user
// check, run once per node, and turns the pre-flight on.
struct PreflightConfig {
  bool enabled = false;
  std::string command;  // run with /bin/sh -c; empty: none
};

struct Config {
  ContractConfig contract;
  BindConfig bind;
  BootstrapConfig bootstrap;
  SuperviseConfig supervise;
  PreflightConfig preflight;
  std::vector<std::string> program;  // PROGRAM [ARGS...]
};

// One option's value as given, and where it came from ("--nproc" or
// "RANKWRAP_NPROC"), so an error names what the user wrote. Switches: "1".
struct OptionValue {
  std::string value;
  std::string source;
};
using OptionValues = std::map<std::string, OptionValue>;  // by long name: "nproc", "gpu-bind"

struct OptionSpec {
  const char* name;
  bool is_switch;
};
// The options that make up a Config (the command line adds its actions).
const std::vector<OptionSpec>& ConfigOptions();

// "gpu-bind" -> "RANKWRAP_GPU_BIND".
std::string EnvName(const std::string& option);

// Adds RANKWRAP_<OPTION> for every option in `specs` that `values` lacks
// (switches: 1/true/yes/on; 0/false/no/off or empty leave it off). An error
// names the variable.
Status AddFromEnvironment(OptionValues* values, const EnvSnapshot& env, const std::vector<OptionSpec>& specs);

// Checks every value and every combination; the error names the option or
// variable, its value, what was expected and one fix.
Result<Config> BuildConfig(const OptionValues& values, std::vector<std::string> program);

}  // namespace rankwrap::app
