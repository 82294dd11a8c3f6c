// An NCCL all-reduce over every rank, bootstrapped by
//   mpirun -np N rankwrap --nccl-bootstrap=mpi -- nccl_allreduce
// Each rank contributes rank+1 in every element; every rank checks the sum
// N(N+1)/2. Device 0 is this rank's GPU (rankwrap set CUDA_VISIBLE_DEVICES).
#include <cuda_runtime.h>
#include <nccl.h>

#include <cstdio>
#include <string>
#include <vector>

#include "rankwrap/nccl.h"

#define CHECK_CUDA(x)                                                              \
  do {                                                                             \
    cudaError_t e = (x);                                                           \
    if (e != cudaSuccess) {                                                        \
      std::fprintf(stderr, "nccl_allreduce: %s: %s\n", #x, cudaGetErrorString(e)); \
      return 1;                                                                    \
    }                                                                              \
  } while (0)

int main() {
  std::string error;
  auto c = rankwrap::ContractFromEnv(&error);
  if (!c) {
    std::fprintf(stderr, "nccl_allreduce: %s\n", error.c_str());
    return 2;
  }
  CHECK_CUDA(cudaSetDevice(0));
  ncclComm_t comm;
  if (ncclResult_t r = rankwrap::nccl::CommFromEnv(&comm, &error); r != ncclSuccess) {
    std::fprintf(stderr, "nccl_allreduce: rank %d: %s\n", c->rank,
                 error.empty() ? ncclGetErrorString(r) : error.c_str());
    return 3;
  }
  const size_t n = 1 << 20;
  std::vector<float> host(n, static_cast<float>(c->rank + 1));
  float* dev = nullptr;
  CHECK_CUDA(cudaMalloc(&dev, n * sizeof(float)));
  CHECK_CUDA(cudaMemcpy(dev, host.data(), n * sizeof(float), cudaMemcpyHostToDevice));
  if (ncclAllReduce(dev, dev, n, ncclFloat, ncclSum, comm, nullptr) != ncclSuccess) return 4;
  CHECK_CUDA(cudaDeviceSynchronize());
  CHECK_CUDA(cudaMemcpy(host.data(), dev, n * sizeof(float), cudaMemcpyDeviceToHost));
  const float want = static_cast<float>(c->world_size) * static_cast<float>(c->world_size + 1) / 2.0f;
  for (size_t i = 0; i < n; ++i) {
    if (host[i] != want) {
      std::fprintf(stderr, "nccl_allreduce: rank %d: element %zu is %f, expected %f\n", c->rank, i, host[i], want);
      return 5;
    }
  }
  std::printf("rank %d/%d: all-reduce of %zu floats correct (sum %.0f)\n", c->rank, c->world_size, n, want);
  cudaFree(dev);
  ncclCommDestroy(comm);
  return 0;
}
