// The children of --nproc (plan::ChildEnvironment): per framework, the
// launcher variables it reads (file in its source, from the projects'
// sources as cited in docs/launchers.md) must agree with RANK/WORLD_SIZE/
// LOCAL_RANK in a child, or be gone where they cannot (connection info).
#include "core/plan/children.h"

#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include "core/plan/contract.h"
#include "detect/registry.h"
#include "fixture.h"
#include "tools/options.h"

namespace rankwrap::plan {
namespace {

// Task 2 of a 4-node srun step, one task per node (the shape --nproc needs),
// with every family of launcher variables present; its child local rank 1
// of 2 is rank 5 of 8.
EnvSnapshot TaskEnv() {
  return EnvSnapshot::FromText(R"(SLURM_JOB_ID=77
SLURM_STEP_ID=0
SLURM_PROCID=2
SLURM_LOCALID=0
SLURM_NODEID=2
SLURM_NTASKS=4
SLURM_NPROCS=4
SLURM_NTASKS_PER_NODE=1
SLURM_NNODES=4
SLURM_JOB_NUM_NODES=4
SLURM_GTIDS=2
SLURM_STEP_NODELIST=n[1-4]
SLURM_JOB_NODELIST=n[1-4]
SLURM_STEP_NUM_NODES=4
SLURM_STEP_NUM_TASKS=4
SLURM_STEP_TASKS_PER_NODE=1(x4)
SLURM_TASKS_PER_NODE=1(x4)
OMPI_COMM_WORLD_RANK=2
OMPI_COMM_WORLD_SIZE=4
OMPI_COMM_WORLD_LOCAL_RANK=0
OMPI_COMM_WORLD_LOCAL_SIZE=1
OMPI_COMM_WORLD_NODE_RANK=0
OMPI_UNIVERSE_SIZE=4
OMPI_MCA_orte_hnp_uri=1531576320.0;tcp://10.0.0.1:34911
OMPI_MCA_ess_base_vpid=2
OMPI_MCA_btl=^openib
PMIX_RANK=2
PMIX_NAMESPACE=slurm.pmix.77.0
PMIX_SERVER_URI41=pmix-server.1234;tcp4://127.0.0.1:40000
PMI_RANK=2
PMI_SIZE=4
PMI_FD=5
PMI_LOCAL_RANK=0
PMI_LOCAL_SIZE=1
MPI_LOCALRANKID=0
MPI_LOCALNRANKS=1
MV2_COMM_WORLD_RANK=2
MV2_COMM_WORLD_SIZE=4
MV2_COMM_WORLD_LOCAL_RANK=0
MV2_COMM_WORLD_LOCAL_SIZE=1
FLUX_TASK_RANK=2
FLUX_TASK_LOCAL_ID=0
FLUX_JOB_SIZE=4
FLUX_JOB_NNODES=4
JSM_NAMESPACE_RANK=2
JSM_NAMESPACE_SIZE=4
JSM_NAMESPACE_LOCAL_RANK=0
JSM_NAMESPACE_LOCAL_SIZE=1
PALS_RANKID=2
PALS_LOCAL_RANKID=0
PALS_NODEID=2
PALS_APINFO=/var/run/palsd/apinfo
LOCAL_SIZE=1
CROSS_RANK=2
CROSS_SIZE=4
HOROVOD_RANK=2
HOROVOD_SIZE=4
HOROVOD_LOCAL_RANK=0
HOROVOD_LOCAL_SIZE=1
HOROVOD_CROSS_RANK=2
HOROVOD_CROSS_SIZE=4
HOROVOD_GLOO_RENDEZVOUS_ADDR=n1
TORCHELASTIC_ERROR_FILE=/tmp/err.json
RANKWRAP_NPROC=2
RANKWRAP_MASTER_PORT=29400
RANKWRAP_TOPOLOGY_CACHE=0
)");
}

JobInfo TaskJob() {
  JobInfo j;
  j.launcher = "slurm";
  j.host = "n3";
  j.rank = j.node_rank = 2;
  j.world_size = j.num_nodes = 4;
  j.local_rank = 0;
  j.local_world_size = 1;
  return j;
}

EnvSnapshot Apply(const EnvSnapshot& task, const ChildEnv& c) {
  EnvSnapshot out = task;
  for (const auto& v : c.unset) out.Unset(v);
  for (const auto& [k, v] : c.set) out.Set(k, v);
  return out;
}

struct Reader {
  const char* framework;
  const char* source;
  // variable -> the value the child must have ("" : the variable must be gone)
  std::vector<std::pair<const char*, const char*>> reads;
};

class ChildReaders : public ::testing::TestWithParam<Reader> {};

TEST_P(ChildReaders, AgreeWithTheChildsRank) {
  const Reader& r = GetParam();
  const EnvSnapshot child = Apply(TaskEnv(), ChildEnvironment(TaskEnv(), TaskJob(), {5, 8, 1, 2}));
  for (const auto& [var, want] : r.reads) {
    auto got = child.Get(var);
    if (*want == '\0') {
      EXPECT_FALSE(got) << r.framework << " (" << r.source << ") would read " << var << "=" << *got;
    } else {
      ASSERT_TRUE(got) << r.framework << ": " << var << " missing";
      EXPECT_EQ(*got, want) << r.framework << " (" << r.source << ") reads " << var;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Frameworks, ChildReaders,
    ::testing::Values(
        Reader{"Lightning SLURMEnvironment",
               "src/lightning/fabric/plugins/environments/slurm.py",
               {{"SLURM_NTASKS", "8"},
                {"SLURM_PROCID", "5"},
                {"SLURM_LOCALID", "1"},
                {"SLURM_NODEID", "2"},
                {"SLURM_NTASKS_PER_NODE", "2"}}},
        Reader{"Lightning TorchElasticEnvironment",
               "src/lightning/fabric/plugins/environments/torchelastic.py",
               {{"RANK", "5"}, {"WORLD_SIZE", "8"}, {"LOCAL_RANK", "1"}}},
        Reader{"Lightning LSFEnvironment",
               "src/lightning/fabric/plugins/environments/lsf.py",
               {{"JSM_NAMESPACE_RANK", "5"}, {"JSM_NAMESPACE_SIZE", "8"}, {"JSM_NAMESPACE_LOCAL_RANK", "1"}}},
        Reader{"submitit JobEnvironment",
               "submitit/slurm/slurm.py (SlurmJobEnvironment)",
               {{"SLURM_PROCID", "5"},
                {"SLURM_LOCALID", "1"},
                {"SLURM_NTASKS", "8"},
                {"SLURM_NODEID", "2"},
                {"SLURM_JOB_NUM_NODES", "4"}}},
        Reader{"JAX SlurmCluster",
               "jax/_src/clusters/slurm_cluster.py",
               {{"SLURM_JOB_ID", "77"},
                {"SLURM_NTASKS", "8"},
                {"SLURM_PROCID", "5"},
                {"SLURM_LOCALID", "1"},
                {"SLURM_STEP_NODELIST", "n[1-4]"}}},
        Reader{"JAX OmpiCluster (not detected: the daemon URI is gone)",
               "jax/_src/clusters/ompi_cluster.py",
               {{"OMPI_MCA_orte_hnp_uri", ""},
                {"OMPI_COMM_WORLD_SIZE", "8"},
                {"OMPI_COMM_WORLD_RANK", "5"},
                {"OMPI_COMM_WORLD_LOCAL_RANK", "1"}}},
        Reader{"DeepSpeed",
               "deepspeed/comm/comm.py, deepspeed/launcher/launch.py",
               {{"RANK", "5"},
                {"WORLD_SIZE", "8"},
                {"LOCAL_RANK", "1"},
                {"OMPI_COMM_WORLD_RANK", "5"},
                {"OMPI_COMM_WORLD_SIZE", "8"},
                {"OMPI_COMM_WORLD_LOCAL_RANK", "1"},
                {"LOCAL_SIZE", "2"},
                {"CROSS_RANK", "2"},
                {"CROSS_SIZE", "4"}}},
        Reader{"Horovod (Gloo)",
               "horovod/common/gloo/gloo_context.cc",
               {{"HOROVOD_RANK", "5"},
                {"HOROVOD_SIZE", "8"},
                {"HOROVOD_LOCAL_RANK", "1"},
                {"HOROVOD_LOCAL_SIZE", "2"},
                {"HOROVOD_CROSS_RANK", "2"},
                {"HOROVOD_CROSS_SIZE", "4"},
                {"HOROVOD_GLOO_RENDEZVOUS_ADDR", ""}}},
        Reader{"Accelerate",
               "src/accelerate/utils/environment.py, src/accelerate/state.py",
               {{"RANK", "5"},
                {"OMPI_COMM_WORLD_RANK", "5"},
                {"MV2_COMM_WORLD_RANK", "5"},
                {"PMI_RANK", "5"},
                {"PMI_SIZE", "8"},
                {"MV2_COMM_WORLD_SIZE", "8"},
                {"MV2_COMM_WORLD_LOCAL_RANK", "1"}}},
        Reader{"MPI libraries (mpi4py's MPI_Init): singleton, no task connection",
               "MPICH src/pm/hydra/proxy/pmip_cb.c, openpmix src/server/pmix_server.c",
               {{"PMI_FD", ""},
                {"PMIX_RANK", ""},
                {"PMIX_NAMESPACE", ""},
                {"PMIX_SERVER_URI41", ""},
                {"OMPI_MCA_ess_base_vpid", ""},
                {"PALS_APINFO", ""}}},
        Reader{"Flux, Cray PALS, Hydra readers (kokkos Kokkos_CPUDiscovery.cpp)",
               "core/src/impl/Kokkos_CPUDiscovery.cpp",
               {{"FLUX_TASK_RANK", "5"},
                {"FLUX_TASK_LOCAL_ID", "1"},
                {"FLUX_JOB_SIZE", "8"},
                {"PALS_RANKID", "5"},
                {"PALS_LOCAL_RANKID", "1"},
                {"MPI_LOCALRANKID", "1"},
                {"MPI_LOCALNRANKS", "2"},
                {"PMI_LOCAL_RANK", "1"},
                {"PMI_LOCAL_SIZE", "2"}}},
        Reader{
            "torch elastic worker", "torch/distributed/elastic/agent/server/api.py", {{"TORCHELASTIC_ERROR_FILE", ""}}},
        Reader{"a nested rankwrap (options read once)",
               "src/tools/options.cc",
               {{"RANKWRAP_NPROC", ""},
                {"RANKWRAP_MASTER_PORT", ""},
                {"RANKWRAP_TOPOLOGY_CACHE", "0"},
                {"RANKWRAP_CONTRACT", "host=n3;SLURM_JOB_ID=77;SLURM_STEP_ID=0"}}}),
    [](const auto& p) {
      std::string name;
      for (char c : std::string(p.param.framework)) {
        if (std::isalnum(static_cast<unsigned char>(c))) name += c;
      }
      return name;
    });

TEST(Children, NothingIsIntroducedAndUserSettingsStay) {
  EnvSnapshot task = EnvSnapshot::FromText("SLURM_JOB_ID=5\nOMPI_MCA_btl=^openib\nPATH=/bin\n");
  auto c = ChildEnvironment(task, TaskJob(), {5, 8, 1, 2});
  for (const auto& [k, v] : c.set) {
    EXPECT_TRUE(k == "RANK" || k == "WORLD_SIZE" || k == "LOCAL_RANK" || k == "LOCAL_WORLD_SIZE" ||
                k == "RANKWRAP_CONTRACT")
        << k << " introduced";
  }
  EXPECT_TRUE(c.unset.empty());
  const EnvSnapshot full = Apply(TaskEnv(), ChildEnvironment(TaskEnv(), TaskJob(), {5, 8, 1, 2}));
  EXPECT_EQ(full.Get("OMPI_MCA_btl"), std::optional<std::string_view>("^openib"));
}

TEST(Children, NotesNameWhatWasRemoved) {
  auto c = ChildEnvironment(TaskEnv(), TaskJob(), {5, 8, 1, 2});
  std::string all;
  for (const auto& n : c.notes) all += n + "\n";
  EXPECT_NE(all.find("PMIX_NAMESPACE, PMIX_RANK, PMIX_SERVER_URI41"), std::string::npos) << all;
  EXPECT_NE(all.find("RANKWRAP_MASTER_PORT, RANKWRAP_NPROC"), std::string::npos) << all;
  EXPECT_TRUE(std::is_sorted(c.unset.begin(), c.unset.end()));
}

// Slurm's own reader, rankwrap's slurm detector, derives the child's place
// from the rewritten variables (the marker removed).
TEST(Children, SlurmDetectorRederivesTheChild) {
  EnvSnapshot task = EnvSnapshot::FromText(
      "SLURM_JOB_ID=77\nSLURM_STEP_ID=0\nSLURM_PROCID=2\nSLURM_LOCALID=0\nSLURM_NODEID=2\n"
      "SLURM_STEP_NODELIST=n[1-4]\nSLURM_STEP_NUM_NODES=4\nSLURM_STEP_NUM_TASKS=4\n"
      "SLURM_STEP_TASKS_PER_NODE=1(x4)\nSLURM_GTIDS=2\n");
  for (std::uint64_t i = 0; i < 2; ++i) {
    EnvSnapshot child = Apply(task, ChildEnvironment(task, TaskJob(), {4 + i, 8, i, 2}));
    child.Unset("RANKWRAP_CONTRACT");
    testing::MapFileReader files;
    auto job = detect::Run(detect::Registry(), {child, files, "n3"}, "", nullptr);
    ASSERT_TRUE(job.ok()) << job.error().what << ": " << job.error().why;
    EXPECT_EQ(job->launcher, "slurm");
    EXPECT_EQ(job->rank, 4 + i);
    EXPECT_EQ(job->world_size, 8u);
    EXPECT_EQ(job->local_rank, i);
    EXPECT_EQ(job->local_world_size, 2u);
    EXPECT_EQ(job->node_rank, 2u);
    EXPECT_EQ(child.Get("SLURM_GTIDS"), std::optional<std::string_view>("4,5"));
  }
}

// Every option of --help with an environment form is in OptionVariables().
TEST(Children, OptionVariablesMatchHelp) {
  std::set<std::string> from_help;
  std::istringstream lines(tools::HelpText());
  std::string line;
  // Option lines: spaces, an optional "-x [ ", then "--name" (no std::regex:
  // GCC 12's <regex> trips -Wmaybe-uninitialized under ASan).
  while (std::getline(lines, line)) {
    std::size_t i = line.find_first_not_of(' ');
    if (i == 0 || i == std::string::npos) continue;
    if (line.compare(i, 1, "-") == 0 && line.compare(i, 2, "--") != 0) {
      i = line.find("[ ", i);
      if (i == std::string::npos) continue;
      i += 2;
    }
    if (line.compare(i, 2, "--") != 0) continue;
    std::size_t end = i + 2;
    while (end < line.size() && (std::islower(static_cast<unsigned char>(line[end])) || line[end] == '-')) ++end;
    const std::string name = line.substr(i + 2, end - i - 2);
    if (name.empty()) continue;
    if (name == "launcher" || name == "help" || name == "version" || name == "explain" || name == "dry-run" ||
        name == "print-env" || name == "json") {
      continue;
    }
    std::string var = "RANKWRAP_";
    for (char c : name) var += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    from_help.insert(var);
  }
  const std::set<std::string> listed(OptionVariables().begin(), OptionVariables().end());
  EXPECT_EQ(listed, from_help);
}

}  // namespace
}  // namespace rankwrap::plan
