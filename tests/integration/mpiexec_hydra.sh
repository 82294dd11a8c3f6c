#!/usr/bin/env bash
# The real binary under MPICH's mpiexec.hydra with 4 and 8 ranks on this
# host; the same checks as under Open MPI.
source "$(dirname "$0")/lib.sh"
command -v mpiexec.hydra >/dev/null || { echo "mpiexec.hydra missing: apt-get install mpich"; exit 1; }
here=$(dirname "$0")
for n in 4 8; do
  out=$(clean_env timeout 120 mpiexec.hydra -l -np "$n" "$RANKWRAP" --print-env)
  if res=$(printf '%s\n' "$out" | python3 "$here/check_contract.py" "$n" hydra); then
    pass "mpiexec.hydra -np $n: $res"
  else
    fail "mpiexec.hydra -np $n: $res"
  fi
done
if [ -n "${RANKWRAP_HELLO:-}" ]; then
  out=$(clean_env timeout 120 mpiexec.hydra -np 4 "$RANKWRAP" "$RANKWRAP_HELLO")
  # Each rank exactly once, with its own local rank (not 4 lines of any ranks).
  ranks=$(printf '%s\n' "$out" | sed -n 's|^rank \([0-3]\)/4 local \1/4 node 0/1 .*(launcher hydra)$|\1|p' | sort | tr '\n' ' ')
  [ "$ranks" = "0 1 2 3 " ] && pass "hello under hydra: ranks 0,1,2,3 once each" || fail "hello: $out"
fi
finish
