#include "adapters/mpi/mpi_loader.h"

#include <dlfcn.h>
#include <unistd.h>

#include <climits>

namespace rankwrap::mpi {
namespace {
std::string ExeDir() {
  char buf[PATH_MAX] = {};
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  std::string path(buf, static_cast<std::size_t>(n));
  return path.substr(0, path.rfind('/'));
}
}  // namespace

Result<const RankwrapMpiApi*> Load(const std::string& flavor, const std::string& override_path,
                                   const std::string& install_reldir) {
  std::vector<std::string> tried;
  if (!override_path.empty()) {
    tried.push_back(override_path);
  } else {
    const std::string dir = ExeDir();
    const std::string name = "librankwrap_mpi_" + flavor + ".so";
    tried = {dir + "/" + name, dir + "/" + install_reldir + "/" + name};
  }
  std::string errors;
  for (const std::string& path : tried) {
    if (access(path.c_str(), R_OK) != 0) {
      errors += "\n  " + path + ": not found";
      continue;
    }
    // RTLD_GLOBAL: Open MPI's own plugins resolve libmpi's symbols globally.
    void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
    if (h == nullptr) {
      errors += "\n  " + path + ": " + dlerror();
      continue;
    }
    auto fn = reinterpret_cast<const RankwrapMpiApi* (*)()>(dlsym(h, "rankwrap_mpi_api"));
    if (fn == nullptr || fn()->version != RANKWRAP_MPI_API_VERSION) {
      errors += "\n  " + path + ": not a rankwrap MPI module of this version";
      continue;
    }
    return fn();
  }
  return Error{kExitBootstrap, "bootstrap", "the " + flavor + " MPI module cannot be loaded", "tried:" + errors,
               "build rankwrap with that MPI (docs/nccl-bootstrap.md), or point RANKWRAP_MPI_MODULE "
               "at a librankwrap_mpi_*.so built for this site's MPI"};
}

}  // namespace rankwrap::mpi
