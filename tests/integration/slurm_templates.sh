#!/usr/bin/env bash
# Every Slurm template in slurm/ submitted as it is on the test cluster
# (scripts/slurm-cluster; GPU requests served by its fake GPUs), with PROGRAM
# set to a program that prints what it received.
source "$(dirname "$0")/lib.sh"
: "${RANKWRAP_HELLO:?set by ctest}"
root=$RANKWRAP_SOURCE_DIR
SC=("$root/scripts/slurm-cluster" run)
bindir=$(dirname "$RANKWRAP")
JOBS=$WORK/jobs; mkdir -p "$JOBS"; cd "$JOBS"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

submit() {  # TEMPLATE PROGRAM: its output
  local t=$1 prog=$2
  timeout 180 "${SC[@]}" sbatch --wait --chdir="$JOBS" -o "$JOBS/$t.out" \
    --export="ALL,PATH=$bindir:$PATH,PROGRAM=$prog" "$root/slurm/$t" >/dev/null || true
  cat "$JOBS/$t.out" 2>/dev/null || true
}
# check NAME OUTPUT WORLD NODES: one hello line per rank 0..WORLD-1, NODES nodes, one master.
check() {
  local name=$1 out=$2 world=$3 nodes=$4
  local lines ranks masters nn
  lines=$(printf '%s\n' "$out" | grep -E "^rank [0-9]+/$world local [0-9]+/[0-9]+ node [0-9]+/$nodes on .* -> master .* \(launcher slurm\)$" || true)
  ranks=$(printf '%s\n' "$lines" | awk '{split($2, a, "/"); print a[1]}' | sort -n | tr '\n' ' ')
  masters=$(printf '%s\n' "$lines" | awk '{print $11}' | sort -u | wc -l)
  want=$(seq -s ' ' 0 $((world - 1)))
  if [ "$ranks" = "$want " ] && [ "$masters" -eq 1 ]; then
    pass "$name: ranks 0..$((world - 1)) on $nodes node(s), one master ($(printf '%s\n' "$lines" | awk '{print $11}' | head -1))"
  else
    fail "$name: ranks '$ranks' masters $masters: $out"
  fi
}

check single-node-gpus.sbatch "$(submit single-node-gpus.sbatch "$RANKWRAP_HELLO")" 4 1
check multi-node.sbatch "$(submit multi-node.sbatch "$RANKWRAP_HELLO")" 8 2
out=$(submit one-gpu-per-task.sbatch "$RANKWRAP_HELLO")
nodes=$(printf '%s\n' "$out" | sed -n 's/.* node [0-9]*\/\([0-9]*\) on .*/\1/p' | sort -u | head -1)
check one-gpu-per-task.sbatch "$out" 8 "${nodes:-1}"
check hetjob.sbatch "$(submit hetjob.sbatch "$RANKWRAP_HELLO")" 3 2

# The MPI template with a real Open MPI program: MPI's rank is RANK.
printf '%s\n' '#include <mpi.h>' '#include <stdio.h>' '#include <stdlib.h>' \
  'int main(int c, char** v) { int r, s; MPI_Init(&c, &v); MPI_Comm_rank(MPI_COMM_WORLD, &r);' \
  '  MPI_Comm_size(MPI_COMM_WORLD, &s); printf("mpi %d/%d RANK=%s WORLD_SIZE=%s\n", r, s, getenv("RANK"), getenv("WORLD_SIZE"));' \
  '  MPI_Finalize(); return 0; }' > "$JOBS/mpi_hello.c"
mpicc.openmpi "$JOBS/mpi_hello.c" -o "$JOBS/mpi_hello"
out=$(submit mpi-pmix.sbatch "$JOBS/mpi_hello")
agree=$(printf '%s\n' "$out" | grep -cE '^mpi ([0-9]+)/4 RANK=\1 WORLD_SIZE=4$' || true)
[ "$agree" -eq 4 ] && pass "mpi-pmix.sbatch: 4 MPI ranks, MPI's rank = RANK on each" || fail "mpi-pmix.sbatch: $out"
# The checkpoint-and-requeue template under a real time limit: submitted
# with --time=1 --signal=USR1@20 (overriding its 1 h and USR1@120), nothing
# sent by hand. slurmctld tests time limits every PERIODIC_TIMEOUT (30 s,
# src/slurmctld/slurmctld.h; _slurmctld_background in controller.c calls
# job_time_limit), and send_job_warn_signal (job_mgr.c) sends the signal
# once warn_time + PERIODIC_TIMEOUT + now >= end_time: here when 20..50 s
# remain, 10..40 s into the run (sbatch(1): "up to 60 seconds earlier than
# specified"). The loop runs 50 s (250 steps of 0.2 s), so the ranks are
# still training when USR1 arrives; they checkpoint and exit 0, rank 0's
# rankwrap requeues the job, and run 2 resumes from the checkpoint with
# SLURM_RESTART_COUNT=1. Slurm re-arms the warning on requeue (job_mgr.c:
# "clear signal sent flag on requeue"), so with a 1-minute limit run 2 would
# be warned too within 40 s; while the requeued job waits (cred_expire, 30 s
# on the test cluster) its limit is raised to 3 minutes so run 2 finishes.
# About 2 minutes in all.
ck=$JOBS/ckpt; rm -rf "$ck"; mkdir -p "$ck"
start=$(date +%s)
jid=$(timeout 30 "${SC[@]}" sbatch --parsable --time=1 --signal=USR1@20 --chdir="$ck" -o "$ck/out" \
  --export="ALL,PATH=$bindir:$PATH,PROGRAM=/usr/bin/python3 $root/examples/checkpoint_train.py,CKPT_DIR=$ck/state,TOTAL_STEPS=250" \
  "$root/slurm/checkpoint-requeue.sbatch")
# Counted as occurrences, not lines: two nodes append to one output file and
# a line of one may run into another's.
count() { grep -o "$1" "$ck/out" 2>/dev/null | wc -l; }
for _ in $(seq 120); do [ "$(count 'requeued it (scontrol requeue')" -ge 1 ] && break; sleep 1; done
warned=$(( $(date +%s) - start ))
"${SC[@]}" scontrol update JobId="$jid" TimeLimit=3 || true
for _ in $(seq 150); do [ "$(count 'done at step 250')" -ge 4 ] && break; sleep 1; done
"${SC[@]}" scancel "$jid" 2>/dev/null || true
out=$(cat "$ck/out")
resumed=$(printf '%s\n' "$out" | grep -o 'rank [0-3] starts at step [0-9]* (restart count 1)' | awk '{print $6}' | sort -n | head -1)
[ "$(count 'starts at step 0 (restart count 0)')" -eq 4 ] && [ "$(count 'checkpointed at step')" -eq 4 ] \
  && [ "$(count 'requeued it (scontrol requeue')" -eq 1 ] && [ "$(count '(restart count 1)')" -eq 4 ] \
  && [ -n "$resumed" ] && [ "$resumed" -gt 0 ] && [ "$(count 'done at step 250')" -eq 4 ] \
  && pass "checkpoint-requeue.sbatch under --time=1 --signal=USR1@20: 4 ranks checkpoint on Slurm's warning (${warned}s), the job is requeued once, run 2 resumes at step $resumed with SLURM_RESTART_COUNT=1 and finishes ($(( $(date +%s) - start ))s)" \
  || fail "checkpoint-requeue.sbatch under a time limit (job $jid): $out"

finish
