#!/usr/bin/env bash
# The Python module: imports, detect() agrees with --print-env in the same
# environment, contract() and nccl_unique_id() inside a launched program.
source "$(dirname "$0")/lib.sh"
: "${RANKWRAP_PYTHONPATH:?set by ctest: folder of the rankwrap Python module}"
PY=${RANKWRAP_PYTHON:-/usr/bin/python3}
RW=$RANKWRAP
export PYTHONPATH=$RANKWRAP_PYTHONPATH

agree() {  # NAME VAR=VALUE...: detect() == --print-env in that environment
  local name=$1; shift
  want=$(clean_env PYTHONPATH="$PYTHONPATH" "$@" "$RW" --print-env)
  got=$(clean_env PYTHONPATH="$PYTHONPATH" "$@" "$PY" -c 'import rankwrap; d = rankwrap.detect(); print("\n".join(f"{k}={v}" for k, v in sorted(d.items())))')
  [ -n "$want" ] && [ "$want" = "$got" ] && pass "$name: detect() == --print-env ($(echo "$want" | wc -l) variables)" \
    || fail "$name: detect() differs:\n--print-env:\n$want\ndetect():\n$got"
}
agree "standalone" RANKWRAP_MASTER_PORT=23456
agree "slurm step" SLURM_JOB_ID=17 SLURM_STEP_ID=0 SLURM_PROCID=3 SLURM_LOCALID=1 SLURM_NODEID=1 \
  "SLURM_STEP_NODELIST=node[1-2]" SLURM_STEP_NUM_NODES=2 SLURM_STEP_NUM_TASKS=4 "SLURM_STEP_TASKS_PER_NODE=2(x2)"
agree "hydra" PMI_RANK=1 PMI_SIZE=2 MPI_LOCALRANKID=1 MPI_LOCALNRANKS=2

set +e
err=$(clean_env PYTHONPATH="$PYTHONPATH" SLURM_JOB_ID=5 SLURM_STEP_ID=-5 "$PY" -c 'import rankwrap; rankwrap.detect()' 2>&1)
set -e
[[ "$err" == *"RankwrapError"*"SLURM_STEP_ID=-5"*"hint:"* ]] && pass "detect() raises rankwrap's error" || fail "error: $err"

out=$(clean_env PYTHONPATH="$PYTHONPATH" "$RW" "$PY" -c 'import rankwrap; c = rankwrap.contract(); print(c.rank, c.world_size, c.launcher, c.master_port > 0)')
[ "$out" = "0 1 standalone True" ] && pass "contract() in a launched program" || fail "contract: $out"

out=$(clean_env PYTHONPATH="$PYTHONPATH" timeout 60 mpiexec.hydra -np 2 "$RW" --bind none --nccl-bootstrap=mpi -- \
      "$PY" -c 'import os, rankwrap; b = rankwrap.nccl_unique_id(); print("OK" if len(b) == 128 and b.hex() == os.environ["RANKWRAP_NCCL_UNIQUE_ID"] else "BAD")' 2>&1)
[ "$(printf '%s\n' "$out" | grep -c '^OK$')" -eq 2 ] && pass "nccl_unique_id() gives the 128 bytes on both ranks" || fail "id: $out"
set +e
err=$(clean_env PYTHONPATH="$PYTHONPATH" "$PY" -c 'import rankwrap; rankwrap.nccl_unique_id()' 2>&1)
set -e
[[ "$err" == *"RANKWRAP_NCCL_UNIQUE_ID is not set"* ]] && pass "missing id: clear error" || fail "missing id: $err"
finish
