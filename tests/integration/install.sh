#!/usr/bin/env bash
# cmake --install puts the binary, its MPI modules, the library, headers, man
# page and a CMake package in place; an outside project builds against it.
source "$(dirname "$0")/lib.sh"
: "${RANKWRAP_BUILD_DIR:?set by ctest}"
here=$(cd "$(dirname "$0")" && pwd)
prefix=$WORK/prefix
cmake --install "$RANKWRAP_BUILD_DIR" --prefix "$prefix" > "$WORK/install.log"
for f in bin/rankwrap share/man/man1/rankwrap.1 include/rankwrap/contract.h include/rankwrap/nccl.h \
         lib/cmake/rankwrap/rankwrapConfig.cmake lib/librankwrap_cpp.a lib/rankwrap/librankwrap_mpi_openmpi.so; do
  [ -e "$prefix/$f" ] && pass "installed $f" || fail "missing $f"
done
man -l "$prefix/share/man/man1/rankwrap.1" 2>/dev/null | grep -q 'EXIT STATUS' && pass "man page renders" || fail "man page"
# A sanitizer build installs instrumented libraries: the outside project links the runtime too.
san=()
[ -n "${RANKWRAP_SANITIZE:-}" ] && san=("-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=$RANKWRAP_SANITIZE")
cmake -S "$here/outside" -B "$WORK/outside" -DCMAKE_PREFIX_PATH="$prefix" "${san[@]}" > "$WORK/outside.log" 2>&1 \
  && cmake --build "$WORK/outside" >> "$WORK/outside.log" 2>&1 && pass "an outside project builds with find_package(rankwrap)" \
  || fail "outside project: $(tail -20 "$WORK/outside.log")"
out=$(clean_env "$prefix/bin/rankwrap" "$WORK/outside/uses_rankwrap")
[ "$out" = "outside project: rank 0 of 1 via standalone" ] && pass "it runs under the installed rankwrap" || fail "run: $out"
out=$(clean_env timeout 60 mpiexec.hydra -np 2 "$prefix/bin/rankwrap" --bind none --nccl-bootstrap=mpi -- sh -c 'echo ${#RANKWRAP_NCCL_UNIQUE_ID}' 2>&1)
[ "$(printf '%s\n' "$out" | grep -c '^256$')" -eq 2 ] && pass "the installed binary finds its MPI module" || fail "installed bootstrap: $out"
finish
