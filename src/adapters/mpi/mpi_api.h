/* The MPI adapter's C interface. The adapter is built once per MPI library
 * (librankwrap_mpi_openmpi.so, librankwrap_mpi_mpich.so) and dlopen'ed only
 * under --nccl-bootstrap=mpi, so the plain wrapper never loads libmpi and
 * one rankwrap binary serves Open MPI and MPICH jobs alike. */
#ifndef RANKWRAP_ADAPTERS_MPI_MPI_API_H_
#define RANKWRAP_ADAPTERS_MPI_MPI_API_H_

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RANKWRAP_MPI_API_VERSION 1

/* Every call returns 0 on success. Calls that wait take a deadline in
 * seconds (CLOCK_MONOTONIC) and return 1 when it passes, with `why` naming
 * what was waited for and from whom; other failures return 2. */
typedef struct RankwrapMpiApi {
  int version;
  const char* (*library)(void); /* the MPI library's version string */
  int (*init)(int* rank, int* size, char* why, size_t why_len);
  /* Every rank sends `len` bytes to rank 0; rank 0 receives all of them into
   * `all` (size * len bytes, in rank order). */
  int (*gather)(const void* mine, size_t len, void* all, double deadline, char* why, size_t why_len);
  int (*bcast)(void* buf, size_t len, double deadline, char* why, size_t why_len);
  int (*barrier)(double deadline, char* why, size_t why_len);
  void (*abort_job)(int code);
  int (*finalize)(void);
} RankwrapMpiApi;

/* The one symbol each module exports. */
const RankwrapMpiApi* rankwrap_mpi_api(void);

#ifdef __cplusplus
}
#endif

#endif
