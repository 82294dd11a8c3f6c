// The extension `rankwrap._rankwrap` (re-exported by the package `rankwrap`,
// rankwrap/__init__.py; stubs in rankwrap/__init__.pyi): the contract as the program sees it, and
// rankwrap's own detection callable from Python. detect() runs the same
// pipeline as `rankwrap --print-env` (app::Prepare), so the two agree.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "adapters/posix/posix.h"
#include "app/config.h"
#include "app/pipeline.h"
#include "rankwrap/contract.h"
#include "version.h"

namespace py = pybind11;

namespace {

// Raised with rankwrap's own error text (variable, value, expected, fix).
struct RankwrapError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::map<std::string, std::string> Detect(const std::map<std::string, std::string>& options) {
  // The same configuration as the binary builds (app::BuildConfig), from
  // keyword options and RANKWRAP_<OPTION> variables, so values behave exactly
  // as for `rankwrap --print-env`. No command line, no Boost.Program_options.
  auto fail = [](const rankwrap::Error& e) {
    return RankwrapError(e.stage + ": " + e.what + ": " + e.why + "\nhint: " + e.hint);
  };
  rankwrap::app::OptionValues values;
  for (const auto& [k, v] : options) {
    std::string name = k;
    for (char& c : name) c = c == '_' ? '-' : c;
    bool known = false;
    for (const auto& spec : rankwrap::app::ConfigOptions()) known = known || name == spec.name;
    if (!known) {
      throw fail(rankwrap::Error{rankwrap::kExitUsage, "usage", "detect(" + k + "=...)", "not an option of rankwrap",
                                 "use the long option names with '_' for '-', e.g. master_port"});
    }
    values[name] = {v, k};
  }
  const rankwrap::EnvSnapshot env = rankwrap::posix::EnvironmentFromProcess();
  if (auto s = rankwrap::app::AddFromEnvironment(&values, env, rankwrap::app::ConfigOptions()); !s)
    throw fail(s.error());
  auto config = rankwrap::app::BuildConfig(values, {});
  if (!config) throw fail(config.error());
  auto p = rankwrap::app::Prepare(*config, env, rankwrap::posix::HostName(), nullptr);
  if (!p) throw fail(p.error());
  return p->contract.env;
}

}  // namespace

PYBIND11_MODULE(_rankwrap, m) {
  m.doc() = "rankwrap: the rank contract for distributed jobs (see `rankwrap --help`)";
  m.attr("__version__") = RANKWRAP_VERSION;
  py::register_exception<RankwrapError>(m, "RankwrapError", PyExc_RuntimeError);

  m.def(
      "detect",
      [](py::kwargs kwargs) {
        std::map<std::string, std::string> options;
        for (auto item : kwargs) options[py::str(item.first)] = py::str(item.second);
        return Detect(options);
      },
      "Runs rankwrap's detection on this process's environment and returns exactly the "
      "variables `rankwrap --print-env` would print, as a dict. Keyword options: launcher, "
      "master_addr, master_port, bind, gpu_bind, gpu_visibility, cpu_bind, mem_bind, topology.");

  py::class_<rankwrap::Contract>(m, "Contract")
      .def_readonly("rank", &rankwrap::Contract::rank)
      .def_readonly("world_size", &rankwrap::Contract::world_size)
      .def_readonly("local_rank", &rankwrap::Contract::local_rank)
      .def_readonly("local_world_size", &rankwrap::Contract::local_world_size)
      .def_readonly("node_rank", &rankwrap::Contract::node_rank)
      .def_readonly("num_nodes", &rankwrap::Contract::num_nodes)
      .def_readonly("master_addr", &rankwrap::Contract::master_addr)
      .def_readonly("master_port", &rankwrap::Contract::master_port)
      .def_readonly("launcher", &rankwrap::Contract::launcher)
      .def("__repr__", [](const rankwrap::Contract& c) {
        return "Contract(rank=" + std::to_string(c.rank) + ", world_size=" + std::to_string(c.world_size) +
               ", local_rank=" + std::to_string(c.local_rank) + ", master=" + c.master_addr + ":" +
               std::to_string(c.master_port) + ")";
      });

  m.def(
      "contract",
      [] {
        std::string error;
        auto c = rankwrap::ContractFromEnv(&error);
        if (!c) throw RankwrapError(error);
        return *c;
      },
      "The contract rankwrap exported to this program (RANK, WORLD_SIZE, ...).");

  m.def(
      "nccl_unique_id",
      [] {
        std::string error;
        auto id = rankwrap::NcclIdBytesFromEnv(&error);
        if (!id) throw RankwrapError(error);
        return py::bytes(reinterpret_cast<const char*>(id->data()), id->size());
      },
      "The 128-byte NCCL unique id from RANKWRAP_NCCL_UNIQUE_ID (rankwrap --nccl-bootstrap=mpi).");
}
