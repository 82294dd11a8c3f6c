#include "adapters/nccl/nccl_loader.h"

#include <dlfcn.h>

namespace rankwrap::nccl {

std::vector<std::string> Candidates(const std::string& cuda_home) {
  std::vector<std::string> out;
  if (!cuda_home.empty()) {
    out.push_back(cuda_home + "/lib64/libnccl.so.2");
    out.push_back(cuda_home + "/lib/libnccl.so.2");
  }
  out.push_back("/usr/local/cuda/lib64/libnccl.so.2");
  out.push_back("libnccl.so.2");
  return out;
}

Result<boot::UniqueId> GetUniqueId(const std::vector<std::string>& candidates) {
  std::string errors;
  for (const std::string& lib : candidates) {
    void* h = dlopen(lib.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (h == nullptr) {
      errors += "\n  " + lib + ": " + dlerror();
      continue;
    }
    // ncclResult_t ncclGetUniqueId(ncclUniqueId*): ncclUniqueId is 128 bytes.
    using Fn = int (*)(void*);
    auto get = reinterpret_cast<Fn>(dlsym(h, "ncclGetUniqueId"));
    if (get == nullptr) {
      errors += "\n  " + lib + ": no ncclGetUniqueId";
      continue;
    }
    boot::UniqueId id{};
    const int rc = get(id.data());
    if (rc != 0) {
      return Error{kExitBootstrap, "bootstrap", "ncclGetUniqueId failed in " + lib,
                   "NCCL returned error " + std::to_string(rc),
                   "run with NCCL_DEBUG=INFO to see why (often no usable network interface: set "
                   "NCCL_SOCKET_IFNAME)"};
    }
    return id;
  }
  return Error{kExitBootstrap, "bootstrap", "libnccl.so.2 cannot be loaded", "tried:" + errors,
               "set CUDA_HOME to the CUDA toolkit that holds NCCL, or add NCCL's lib directory to "
               "LD_LIBRARY_PATH"};
}

}  // namespace rankwrap::nccl
