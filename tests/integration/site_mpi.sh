#!/usr/bin/env bash
# MPI modules for site MPIs: a scratch configure with pkg-config off takes
# MPICH from its wrapper compiler (mpicxx.mpich -show, the way Intel MPI,
# MVAPICH and HPE MPT wrappers answer) and Open MPI from CMake's FindMPI
# (the MPI in PATH); both modules build, link only the C library, and run the
# real bootstrap (RANKWRAP_MPI_MODULE) under their own launchers.
source "$(dirname "$0")/lib.sh"
build=$WORK/site-mpi
set +e
cmake -S "$RANKWRAP_SOURCE_DIR" -B "$build" -DRANKWRAP_MPI_PKGCONFIG=OFF -DRANKWRAP_MPI_WRAPPERS=mpicxx.mpich \
  -DRANKWRAP_MPI_FINDMPI=ON -DRANKWRAP_BUILD_TESTS=OFF -DRANKWRAP_BUILD_BENCH=OFF -DRANKWRAP_BUILD_PYTHON=OFF \
  > "$WORK/configure.log" 2>&1
rc=$?
set -e
[ "$rc" -eq 0 ] && pass "configure with pkg-config off" || fail "configure: $(tail -20 "$WORK/configure.log")"
grep -q "rankwrap MPI module mpich: from wrapper /usr/bin/mpicxx.mpich" "$WORK/configure.log" \
  && pass "mpich from its wrapper compiler" || fail "no mpich from the wrapper: $(grep 'MPI module' "$WORK/configure.log")"
grep -q "rankwrap MPI module openmpi: from FindMPI" "$WORK/configure.log" \
  && pass "openmpi from FindMPI" || fail "no openmpi from FindMPI: $(grep 'MPI module' "$WORK/configure.log")"
cmake --build "$build" --target rankwrap_mpi_mpich rankwrap_mpi_openmpi -j "$(nproc)" > "$WORK/build.log" 2>&1 \
  && pass "both modules build" || fail "build: $(tail -20 "$WORK/build.log")"
for flavor in mpich openmpi; do
  needed=$(readelf -d "$build/librankwrap_mpi_$flavor.so" 2>&1 | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | tr '\n' ' ')
  [[ "$needed" == *libmpi* && "$needed" != *cxx* ]] && pass "$flavor module links MPI's C library only ($needed)" \
    || fail "$flavor module NEEDED: $needed"
done
out=$(clean_env RANKWRAP_MPI_MODULE="$build/librankwrap_mpi_mpich.so" timeout 60 mpiexec.hydra -np 2 "$RANKWRAP" \
      --bind none --nccl-bootstrap=mpi -- sh -c 'echo ${#RANKWRAP_NCCL_UNIQUE_ID}' 2>&1 || true)
[ "$(printf '%s\n' "$out" | grep -c '^256$')" -eq 2 ] && pass "the wrapper-built mpich module bootstraps 2 ranks" || fail "mpich: $out"
out=$(clean_env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 RANKWRAP_MPI_MODULE="$build/librankwrap_mpi_openmpi.so" \
      timeout 60 mpirun.openmpi --oversubscribe --mca oob_tcp_if_include lo --mca btl_tcp_if_include lo -x RANKWRAP_MPI_MODULE \
      -np 2 "$RANKWRAP" --bind none --nccl-bootstrap=mpi -- sh -c 'echo ${#RANKWRAP_NCCL_UNIQUE_ID}' 2>&1 || true)
[ "$(printf '%s\n' "$out" | grep -c '^256$')" -eq 2 ] && pass "the FindMPI-built openmpi module bootstraps 2 ranks" || fail "openmpi: $out"
finish
