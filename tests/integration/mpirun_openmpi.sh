#!/usr/bin/env bash
# The real binary under Open MPI's mpirun with 4 and 8 ranks on this host
# (--oversubscribe: 2 cores here; root allowed). Every rank's --print-env is
# collected and checked: RANK 0..N-1 once each, one WORLD_SIZE, MASTER_ADDR
# and MASTER_PORT everywhere. Then a real program (rankwrap_hello) under it.
source "$(dirname "$0")/lib.sh"
command -v mpirun.openmpi >/dev/null || { echo "mpirun.openmpi missing: apt-get install openmpi-bin"; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Keep Open MPI's own traffic on loopback.
MPIRUN=(mpirun.openmpi --oversubscribe --mca oob_tcp_if_include lo --mca btl_tcp_if_include lo)
here=$(dirname "$0")
for n in 4 8; do
  out=$(clean_env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
        timeout 120 "${MPIRUN[@]}" -np "$n" --tag-output "$RANKWRAP" --print-env)
  if res=$(printf '%s\n' "$out" | python3 "$here/check_contract.py" "$n" ompi); then
    pass "mpirun -np $n: $res"
  else
    fail "mpirun -np $n: $res"
  fi
done
# Two launches: different jobs get different ports (ORTE job id differs).
p1=$(clean_env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "${MPIRUN[@]}" -np 1 "$RANKWRAP" --print-env | grep MASTER_PORT)
p2=$(clean_env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "${MPIRUN[@]}" -np 1 "$RANKWRAP" --print-env | grep MASTER_PORT)
[ "$p1" != "$p2" ] && pass "two mpirun launches: $p1 vs $p2" || fail "two launches share $p1"
if [ -n "${RANKWRAP_HELLO:-}" ]; then
  out=$(clean_env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 timeout 120 "${MPIRUN[@]}" -np 4 "$RANKWRAP" "$RANKWRAP_HELLO")
  # Each rank exactly once, with its own local rank (not 4 lines of any ranks).
  ranks=$(printf '%s\n' "$out" | sed -n 's|^rank \([0-3]\)/4 local \1/4 node 0/1 .*(launcher ompi)$|\1|p' | sort | tr '\n' ' ')
  [ "$ranks" = "0 1 2 3 " ] && pass "hello under mpirun: ranks 0,1,2,3 once each" || fail "hello: $out"
fi
finish
