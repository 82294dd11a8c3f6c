// The MPI adapter module: the only code that includes mpi.h. Collectives are
// non-blocking and polled against a deadline, so a rank whose peer died or
// never came reports what it waited for instead of hanging until walltime.
#include <mpi.h>
#include <time.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "adapters/mpi/mpi_api.h"

namespace {

double Now() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

void Say(char* why, std::size_t len, const std::string& s) {
  if (why != nullptr && len > 0) std::snprintf(why, len, "%s", s.c_str());
}

// Polls `reqs` until all complete or the deadline passes. On timeout the
// indices of the requests still pending are returned in `pending`.
std::string g_last_error;

std::string ErrorText(int code) {
  char text[MPI_MAX_ERROR_STRING] = {};
  int len = 0;
  MPI_Error_string(code, text, &len);
  return text;
}

int Wait(std::vector<MPI_Request>& reqs, double deadline, std::vector<int>* pending) {
  timespec nap{0, 200000};  // 0.2 ms between polls keeps the wrapper cheap
  while (true) {
    int done = 0;
    const int rc = MPI_Testall(static_cast<int>(reqs.size()), reqs.data(), &done, MPI_STATUSES_IGNORE);
    if (rc != MPI_SUCCESS) {
      g_last_error = ErrorText(rc);
      return 2;
    }
    if (done) return 0;
    if (Now() > deadline) {
      if (pending != nullptr) {
        for (std::size_t i = 0; i < reqs.size(); ++i) {
          if (reqs[i] != MPI_REQUEST_NULL) pending->push_back(static_cast<int>(i));
        }
      }
      return 1;
    }
    nanosleep(&nap, nullptr);
  }
}

int g_rank = 0, g_size = 0;

const char* Library() {
  static char version[MPI_MAX_LIBRARY_VERSION_STRING] = {};
  int len = 0;
  MPI_Get_library_version(version, &len);
  if (char* nl = std::strchr(version, '\n')) *nl = '\0';
  return version;
}

int Init(int* rank, int* size, char* why, std::size_t why_len) {
  if (MPI_Init(nullptr, nullptr) != MPI_SUCCESS) {
    Say(why, why_len, "MPI_Init failed");
    return 2;
  }
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &g_size);
  *rank = g_rank;
  *size = g_size;
  return 0;
}

constexpr int kTag = 4242;  // well below every MPI's MPI_TAG_UB (MPICH: 2^29-1)

int Gather(const void* mine, std::size_t len, void* all, double deadline, char* why, std::size_t why_len) {
  std::vector<MPI_Request> reqs;
  if (g_rank == 0) {
    std::memcpy(all, mine, len);
    reqs.assign(static_cast<std::size_t>(g_size - 1), MPI_REQUEST_NULL);
    for (int r = 1; r < g_size; ++r) {
      const int rc = MPI_Irecv(static_cast<char*>(all) + static_cast<std::size_t>(r) * len, static_cast<int>(len),
                               MPI_BYTE, r, kTag, MPI_COMM_WORLD, &reqs[static_cast<std::size_t>(r - 1)]);
      if (rc != MPI_SUCCESS) {
        Say(why, why_len, "MPI_Irecv failed: " + ErrorText(rc));
        return 2;
      }
    }
  } else {
    reqs.assign(1, MPI_REQUEST_NULL);
    const int rc = MPI_Isend(mine, static_cast<int>(len), MPI_BYTE, 0, kTag, MPI_COMM_WORLD, &reqs[0]);
    if (rc != MPI_SUCCESS) {
      Say(why, why_len, "MPI_Isend failed: " + ErrorText(rc));
      return 2;
    }
  }
  std::vector<int> pending;
  const int rc = Wait(reqs, deadline, &pending);
  if (rc == 1) {
    if (g_rank == 0) {
      std::string who;
      for (std::size_t i = 0; i < pending.size() && i < 16; ++i) {
        who += (who.empty() ? "" : ",") + std::to_string(pending[i] + 1);
      }
      if (pending.size() > 16) who += ",... (" + std::to_string(pending.size()) + " in all)";
      Say(why, why_len, "rank 0 waited for the host records of rank(s) " + who);
    } else {
      Say(why, why_len, "rank " + std::to_string(g_rank) + " waited for rank 0 to take its host record");
    }
  } else if (rc == 2) {
    Say(why, why_len, "the gather to rank 0 failed: " + g_last_error);
  }
  return rc;
}

int Bcast(void* buf, std::size_t len, double deadline, char* why, std::size_t why_len) {
  std::vector<MPI_Request> reqs(1, MPI_REQUEST_NULL);
  if (const int rc = MPI_Ibcast(buf, static_cast<int>(len), MPI_BYTE, 0, MPI_COMM_WORLD, &reqs[0]); rc != MPI_SUCCESS) {
    Say(why, why_len, "MPI_Ibcast failed: " + ErrorText(rc));
    return 2;
  }
  const int rc = Wait(reqs, deadline, nullptr);
  if (rc == 1)
    Say(why, why_len, "rank " + std::to_string(g_rank) + " waited for rank 0's verdict and NCCL id (broadcast)");
  if (rc == 2) Say(why, why_len, "the broadcast from rank 0 failed: " + g_last_error);
  return rc;
}

int Barrier(double deadline, char* why, std::size_t why_len) {
  std::vector<MPI_Request> reqs(1, MPI_REQUEST_NULL);
  if (const int rc = MPI_Ibarrier(MPI_COMM_WORLD, &reqs[0]); rc != MPI_SUCCESS) {
    Say(why, why_len, "MPI_Ibarrier failed: " + ErrorText(rc));
    return 2;
  }
  const int rc = Wait(reqs, deadline, nullptr);
  if (rc == 1) Say(why, why_len, "rank " + std::to_string(g_rank) + " waited in the final barrier for the other ranks");
  if (rc == 2) Say(why, why_len, "the barrier failed: " + g_last_error);
  return rc;
}

void AbortJob(int code) { MPI_Abort(MPI_COMM_WORLD, code); }

int Finalize() { return MPI_Finalize() == MPI_SUCCESS ? 0 : 2; }

const RankwrapMpiApi kApi = {
    RANKWRAP_MPI_API_VERSION, &Library, &Init, &Gather, &Bcast, &Barrier, &AbortJob, &Finalize};

}  // namespace

extern "C" const RankwrapMpiApi* rankwrap_mpi_api(void) { return &kApi; }
