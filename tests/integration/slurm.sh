#!/usr/bin/env bash
# rankwrap on a real multi-node Slurm cluster (scripts/slurm-cluster: Debian's
# slurm-wlm 22.05, 2 nodes as network namespaces, 4 fake GPUs per node).
# The cluster is brought up by the ctest fixture (integration.slurm_up).
source "$(dirname "$0")/lib.sh"
RW=$RANKWRAP
here=$(cd "$(dirname "$0")" && pwd)
root=$RANKWRAP_SOURCE_DIR
SC=("$root/scripts/slurm-cluster" run)
TOPO=${RANKWRAP_TOPOLOGIES:-$root/tests/data/topologies}
PY=/usr/bin/python3
JOBS=$WORK/jobs; mkdir -p "$JOBS"; cd "$JOBS"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

srun_() { timeout 120 "${SC[@]}" srun --immediate=30 "$@"; }
# batch NAME SBATCH-ARGS... -- SCRIPT-BODY: runs it with sbatch --wait, output in $JOBS/NAME.out
batch() {
  local name=$1; shift
  local args=()
  while [ "$1" != "--" ]; do args+=("$1"); shift; done
  shift
  printf '#!/bin/bash\nexport OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1\n%s\n' "$*" > "$JOBS/$name.sh"
  timeout 180 "${SC[@]}" sbatch --wait --chdir="$JOBS" -o "$JOBS/$name.out" "${args[@]}" "$JOBS/$name.sh" >/dev/null || true
  cat "$JOBS/$name.out" 2>/dev/null || true
}
contract() {  # NAME WORLD LAUNCHER CHECK-ARGS... < output
  local name=$1 world=$2 launcher=$3; shift 3
  local res
  if res=$(python3 "$here/check_contract.py" "$world" "$launcher" "$@"); then pass "$name: $res"; else fail "$name: $res"; fi
}

# 1. srun steps: even, uneven, a step smaller than the job, a het job.
srun_ -N2 --ntasks-per-node=2 --label "$RW" --print-env | contract "srun -N2 --ntasks-per-node=2" 4 slurm --layout 2,2 --master node1
srun_ -N2 -n3 --label "$RW" --print-env | contract "srun -N2 -n3 (uneven)" 3 slurm --layout 2,1 --master node1
batch small -N2 -n4 -- "srun -N1 -n2 --label $RW --print-env" | contract "a 2-task step of a 4-task job" 2 slurm --layout 2 --master node1
batch het -N1 -n1 : -N1 -n2 -- "srun --het-group=0,1 --label $RW --print-env" | contract "heterogeneous job" 3 slurm --layout 1,2 --master node1

# rankwrap --nproc as one task per node: ranks node_rank*N + i.
srun_ -N2 --ntasks-per-node=1 "$RW" --nproc 2 --tag-output -- sh -c 'echo "RANK=$RANK" && env | grep -E "^(WORLD_SIZE|LOCAL_RANK|LOCAL_WORLD_SIZE|NODE_RANK|GROUP_RANK|NUM_NODES|MASTER_ADDR|MASTER_PORT|RANKWRAP_LAUNCHER)="' \
  | sed -E 's/^\[([0-9]+) [^]]*\] /\1: /' | contract "srun --ntasks-per-node=1 rankwrap --nproc 2" 4 slurm --layout 2,2 --master node1

# 2. The batch step itself is not a rank.
out=$(batch batchstep -N1 -n1 -- "$RW true; echo rc=\$?")
[[ "$out" == *"(the batch script)"*"hint: launch the program with srun"*"rc=3"* ]] \
  && pass "the batch step is refused with the srun hint" || fail "batch step: $out"
# ... but `rankwrap --nproc N` there is the torchrun habit on one node: N
# ranks of a world of N on the batch node.
out=$(batch batchnproc -N1 -n1 -- "$RW --bind none --nproc 2 -- sh -c 'echo \"R=\$RANK W=\$WORLD_SIZE M=\$MASTER_ADDR\"'; echo rc=\$?")
[[ "$out" == *"R=0 W=2 M=127.0.0.1"* && "$out" == *"R=1 W=2 M=127.0.0.1"* && "$out" == *"rc=0"* ]] \
  && pass "--nproc 2 in the batch step: ranks 0 and 1 of 2 on the batch node" || fail "batch --nproc: $out"

# 3. Fake GPUs: the plan follows what Slurm handed out (a recorded 4-GPU node
#    gives the GPUs a topology; this machine has none).
H100="$TOPO/dell-xe8640-4xh100-spr.xml"
if [ -f "$H100" ]; then
  out=$(srun_ -N1 -n2 --gpus-per-task=1 --label "$RW" --topology "$H100" sh -c 'echo "CVD=$CUDA_VISIBLE_DEVICES"' 2>&1)
  v0=$(printf '%s\n' "$out" | sed -n 's/^0: CVD=//p'); v1=$(printf '%s\n' "$out" | sed -n 's/^1: CVD=//p')
  [ -n "$v0" ] && [ -n "$v1" ] && [ "$v0" != "$v1" ] && [[ "$out" != *"ranks share"* ]] \
    && pass "--gpus-per-task=1: each rank keeps its own GPU ($v0, $v1), no sharing" || fail "gpus-per-task: $out"
  out=$(srun_ -N2 --ntasks-per-node=2 --gpus-per-node=2 --label "$RW" --topology "$H100" sh -c 'echo "CVD=$CUDA_VISIBLE_DEVICES"' 2>&1)
  n0=$(printf '%s\n' "$out" | grep -E '^[01]: CVD=[01]$' | sed 's/.*=//' | sort -u | wc -l)
  n1=$(printf '%s\n' "$out" | grep -E '^[23]: CVD=[01]$' | sed 's/.*=//' | sort -u | wc -l)
  [ "$n0" -eq 2 ] && [ "$n1" -eq 2 ] && pass "--gpus-per-node=2: the two ranks of each node get GPUs 0 and 1" || fail "gpus-per-node: $out"
  # A second job on the node holds node-global GPUs 2,3 (no device cgroup).
  holder=$("${SC[@]}" sbatch --parsable -N1 -w node1 --gpus-per-node=2 --wrap 'sleep 60' -o /dev/null)
  for _ in $(seq 50); do [ "$("${SC[@]}" squeue -h -j "$holder" -o %t)" = R ] && break; sleep 0.2; done
  out=$(srun_ -N1 -w node1 -n2 --gpus-per-node=2 --label "$RW" --topology "$H100" sh -c 'echo "CVD=$CUDA_VISIBLE_DEVICES"' 2>&1)
  "${SC[@]}" scancel "$holder" || true
  got=$(printf '%s\n' "$out" | sed -n 's/^[01]: CVD=//p' | sort | tr '\n' ' ')
  [ "$got" = "2 3 " ] && pass "second job on a node: global GPUs 2,3 handed out one each" || fail "second job: '$got' ($out)"
else
  fail "recorded topologies missing in $TOPO (tests/data/topologies)"
fi

# 4. MPI under Slurm.
srun_ -N2 --ntasks-per-node=2 --mpi=pmix --label "$RW" --print-env | contract "srun --mpi=pmix" 4 slurm --layout 2,2 --master node1
srun_ -N2 --ntasks-per-node=2 --mpi=pmi2 --label "$RW" --print-env | contract "srun --mpi=pmi2 (PMI_RANK set)" 4 slurm --layout 2,2 --master node1
batch ompi -N2 --ntasks-per-node=2 -- "mpirun.openmpi --tag-output $RW --print-env" \
  | contract "mpirun.openmpi inside sbatch (SLURM_PROCID=0 leaks into every rank)" 4 ompi --layout 2,2 --master node1
batch hydra -N2 --ntasks-per-node=2 -- "mpiexec.hydra -l $RW --print-env" \
  | contract "mpiexec.hydra inside sbatch" 4 hydra --layout 2,2 --master node1
SHOW='echo "ID $RANK $RANKWRAP_NCCL_UNIQUE_ID $MASTER_ADDR $MASTER_PORT"'
res=$(srun_ -N2 --ntasks-per-node=2 --mpi=pmix "$RW" --bind none --nccl-bootstrap=mpi -- sh -c "$SHOW" 2>&1 | python3 "$here/check_ids.py" 4 10.233.0.11) \
  && pass "--nccl-bootstrap=mpi under srun --mpi=pmix across nodes: $res" || fail "bootstrap srun: $res"
res=$(batch boothydra -N2 --ntasks-per-node=2 -- "mpiexec.hydra $RW --bind none --nccl-bootstrap=mpi -- sh -c '$SHOW'" | python3 "$here/check_ids.py" 4 10.233.0.11) \
  && pass "--nccl-bootstrap=mpi under mpiexec.hydra in sbatch across nodes: $res" || fail "bootstrap hydra: $res"

# 5. Signals reach the program through rankwrap: scancel --signal, and a
#    time limit with --signal=USR1@N.
cat > "$JOBS/trap.sh" <<'EOS'
#!/bin/bash
trap 'echo "got USR1 on rank $RANK"; exit 0' USR1
trap 'echo "got TERM on rank $RANK"; exit 0' TERM
echo ready
for _ in $(seq 600); do sleep 0.1; done
echo "no signal"
EOS
chmod +x "$JOBS/trap.sh"
job=$("${SC[@]}" sbatch --parsable -N1 -n1 -o "$JOBS/sig.out" --wrap "srun $RW $JOBS/trap.sh")
for _ in $(seq 100); do grep -q ready "$JOBS/sig.out" 2>/dev/null && break; sleep 0.2; done
"${SC[@]}" scancel --signal=USR1 "$job.0"
# (Anchored: srun's own "srun: got SIGCONT" line must not end the wait.)
for _ in $(seq 100); do grep -q "^got \|^no signal" "$JOBS/sig.out" 2>/dev/null && break; sleep 0.2; done
grep -q "got USR1 on rank 0" "$JOBS/sig.out" && pass "scancel --signal=USR1 reaches the program" || fail "USR1: $(cat "$JOBS/sig.out")"
"${SC[@]}" scancel "$job" 2>/dev/null || true
job=$("${SC[@]}" sbatch --parsable -N1 -n1 -o "$JOBS/term.out" --wrap "srun $RW $JOBS/trap.sh")
for _ in $(seq 100); do grep -q ready "$JOBS/term.out" 2>/dev/null && break; sleep 0.2; done
"${SC[@]}" scancel "$job"
for _ in $(seq 100); do grep -q "^got \|^no signal" "$JOBS/term.out" 2>/dev/null && break; sleep 0.2; done
grep -q "got TERM on rank 0" "$JOBS/term.out" && pass "scancel's SIGTERM reaches the program" || fail "TERM: $(cat "$JOBS/term.out")"
# Slurm checks time limits about once a minute: --signal=USR1@N fires within
# that window of the limit, so this case takes up to a minute.
start=$(date +%s)
out=$(batch timelimit -N1 -n1 -t 1 --signal=USR1@59 -- "srun $RW $JOBS/trap.sh")
[[ "$out" == *"got USR1 on rank 0"* ]] && pass "--signal=USR1@59 with a 1-minute limit reaches the program ($(( $(date +%s) - start ))s)" \
  || fail "--signal=USR1@N: $out"

# 5b. Nothing of a job outlives it under srun: a failing rank, grandchildren
#     that left the session, and a wrapper killed with -9 (the nodes are
#     network namespaces of this machine, so their processes are visible here).
#     --kill-on-bad-exit: Slurm ends the other tasks when one fails (without it
#     srun waits for them; a job-wide stop across nodes is Slurm's here).
set +e
srun_ -N2 --ntasks-per-node=1 --kill-on-bad-exit=1 "$RW" --bind none --nproc 2 --grace 1 -- bash -c \
  'if [ "$RANK" = 3 ]; then sleep 1; exit 3; fi; (setsid sleep 3081 &); sleep 3082; true' > "$JOBS/orphans.out" 2>&1
rc=$?
set -e
for _ in $(seq 30); do [ "$(pgrep -fc '^sleep 308[12]' || true)" -eq 0 ] && break; sleep 0.2; done
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ "$(pgrep -fc '^sleep 308[12]' || true)" -eq 0 ] && grep -q "rank 3 failed first" "$JOBS/orphans.out" \
  && pass "srun: a failing rank ends both nodes' ranks and their setsid'd children (rc $rc)" \
  || fail "srun orphans: rc $rc, left $(pgrep -fa '^sleep 308[12]'): $(cat "$JOBS/orphans.out")"
srun_ -N1 -n2 --kill-on-bad-exit=1 "$RW" --bind none --supervise -- bash -c '(setsid sleep 3083 &); sleep 3084; true' > "$JOBS/k9.out" 2>&1 &
sp=$!
for _ in $(seq 100); do [ "$(pgrep -fc '^sleep 3084' || true)" -ge 2 ] && break; sleep 0.2; done
sleeper=$(pgrep -f '^sleep 3084' | head -1)
shell=$(ps -o ppid= -p "$sleeper" | tr -d ' ')
keeper=$(ps -o ppid= -p "$shell" | tr -d ' ')
kill -9 "$(ps -o ppid= -p "$keeper" | tr -d ' ')"
set +e; wait "$sp"; rc=$?; set -e
for _ in $(seq 30); do [ "$(pgrep -fc '^sleep 308[34]' || true)" -eq 0 ] && break; sleep 0.2; done
[ "$rc" -ne 124 ] && [ "$(pgrep -fc '^sleep 308[34]' || true)" -eq 0 ] \
  && pass "srun: kill -9 of one wrapper: srun returns ($rc), nothing left" || fail "srun kill -9: rc $rc, left $(pgrep -fa '^sleep 308[34]')"

# 6. PyTorch, knowing nothing of Slurm or MPI, across two nodes.
TORCH="$PY $root/examples/torch_allreduce.py"
if $PY -c 'import torch' 2>/dev/null; then
  ok() { [ "$(printf '%s\n' "$1" | grep -o 'sum 10 OK' | wc -l)" -eq 4 ]; }  # mpirun may join lines of two ranks
  out=$(srun_ -N2 --ntasks-per-node=2 "$RW" --bind none $TORCH 2>&1); ok "$out" && pass "PyTorch gloo all-reduce under srun, 2 nodes" || fail "torch srun: $out"
  out=$(batch torchompi -N2 --ntasks-per-node=2 -- "mpirun.openmpi $RW --bind none $TORCH"); ok "$out" && pass "PyTorch under mpirun.openmpi in sbatch" || fail "torch ompi: $out"
  out=$(batch torchhydra -N2 --ntasks-per-node=2 -- "mpiexec.hydra $RW --bind none $TORCH"); ok "$out" && pass "PyTorch under mpiexec.hydra in sbatch" || fail "torch hydra: $out"
  out=$(srun_ -N2 --ntasks-per-node=1 "$RW" --nproc 2 --bind none $TORCH 2>&1); ok "$out" && pass "PyTorch under srun --ntasks-per-node=1 rankwrap --nproc 2" || fail "torch nproc srun: $out"
else
  fail "python3-torch missing (apt-get install python3-torch)"
fi

# 7. Contract truth (docs/launchers.md "How rankwrap knows rank 0's host").
# 7a. srun -m arbitrary: SLURM_HOSTFILE lists one host per task in rank order;
#     with node2 first, task 0 runs on node2 and every rank's MASTER_ADDR must
#     say node2 (the step's first node, node1, would hang the rendezvous).
printf 'node2\nnode1\n' > "$JOBS/arbitrary.hosts"
arb=(timeout 120 "${SC[@]}" env SLURM_HOSTFILE="$JOBS/arbitrary.hosts" srun --immediate=30 -m arbitrary -n 2)
out=$("${arb[@]}" --label "$RW" --bind none --print-env 2>&1)
[ "$(printf '%s\n' "$out" | grep -cE '^ *[01]: MASTER_ADDR=node2$')" -eq 2 ] \
  && printf '%s\n' "$out" | grep -qE '^ *0: RANK=0$' && printf '%s\n' "$out" | grep -qE '^ *1: RANK=1$' \
  && pass "srun -m arbitrary with node2 first: MASTER_ADDR=node2 on every rank" || fail "srun -m arbitrary: $out"
if $PY -c 'import torch' 2>/dev/null; then
  out=$("${arb[@]}" "$RW" --bind none $PY "$root/examples/torch_allreduce.py" 2>&1)
  [ "$(printf '%s\n' "$out" | grep -o 'sum 3 OK' | wc -l)" -eq 2 ] \
    && pass "PyTorch all-reduce under srun -m arbitrary (rank 0 on node2)" || fail "torch -m arbitrary: $out"
fi
# 7b. A nested rankwrap keeps the outer one's contract: the children of
#     --nproc 2 on each of 2 nodes are ranks 0-3, not the task's SLURM_PROCID.
srun_ -N2 --ntasks-per-node=1 "$RW" --bind none --nproc 2 --tag-output -- "$RW" --bind none --print-env \
  | sed -E 's/^\[([0-9]+) [^]]*\] /\1: /' | contract "srun rankwrap --nproc 2 -- rankwrap (nested)" 4 rankwrap --layout 2,2 --master node1

# The job control plane (--plane): a rank failing on node2 ends the step on
# both nodes at once (without it srun waits for node1's ranks to end on
# their own), with the failing rank's code and one line per node naming it.
start=$(date +%s)
set +e
out=$(RANKWRAP_JOB_SECRET=rankwrap-test-secret-0123 srun_ -N2 --ntasks-per-node=1 "$RW" --bind none --nproc 2 --grace 2 \
      --plane secret -- bash -c 'if [ "$RANK" = 3 ]; then sleep 1; exit 3; fi; sleep 100; true' 2>&1)
rc=$?
set -e
took=$(( $(date +%s) - start ))
[ "$rc" -eq 3 ] && [ "$took" -le 10 ] && [[ "$out" == *"rank 3 on node2 failed first: it exited with code 3 (the job control plane told every node)"* ]] \
  && pass "--plane: rank 3 failing on node2 ends both nodes in ${took}s (grace 2 s) with exit 3" || fail "plane: rc $rc after ${took}s: $out"
set +e
out=$(unset RANKWRAP_JOB_SECRET; srun_ -N2 --ntasks-per-node=1 "$RW" --bind none --nproc 1 --plane secret -- true 2>&1)
rc=$?
set -e
[ "$rc" -ne 0 ] && [[ "$out" == *RANKWRAP_JOB_SECRET* ]] && pass "--plane secret without a secret: refused, naming RANKWRAP_JOB_SECRET" || fail "plane no secret: rc $rc: $out"

# Rendezvous truth from the plane: under -m arbitrary with SLURM_HOSTFILE not
# readable by the ranks (here: not in their environment), no variable names
# rank 0's host; rank 0's keeper announces it (node2) and a port it bound,
# and the server runs on the step's first node (node1).
export RANKWRAP_JOB_SECRET=rankwrap-test-secret-0123
hidden=(timeout 120 "${SC[@]}" env SLURM_HOSTFILE="$JOBS/arbitrary.hosts" srun --immediate=30 -m arbitrary -n 2 env -u SLURM_HOSTFILE)
out=$("${hidden[@]}" "$RW" --bind none --supervise -- bash -c 'echo "rank $RANK on $(hostname): MASTER_ADDR=$MASTER_ADDR MASTER_PORT=$MASTER_PORT"' 2>&1)
port=$(printf '%s\n' "$out" | sed -n 's/^rank 0 on node2: MASTER_ADDR=node2 MASTER_PORT=\([0-9]*\)$/\1/p')
[ -n "$port" ] && printf '%s\n' "$out" | grep -qx "rank 1 on node1: MASTER_ADDR=node2 MASTER_PORT=$port" \
  && pass "plane: -m arbitrary, host file hidden: both ranks export node2:$port announced by rank 0's keeper" \
  || fail "plane arbitrary announce: $out"
out=$("${hidden[@]}" "$RW" --bind none --print-env 2>&1) && rc=0 || rc=$?
[ "$rc" -eq 3 ] && [[ "$out" == *"MASTER_ADDR cannot be derived"* ]] \
  && pass "without supervision (no plane) the same launch is refused, not guessed" || fail "arbitrary no plane: rc $rc: $out"
if $PY -c 'import torch' 2>/dev/null; then
  out=$("${hidden[@]}" "$RW" --bind none --supervise $PY "$root/examples/torch_allreduce.py" 2>&1)
  [ "$(printf '%s\n' "$out" | grep -o 'sum 3 OK' | wc -l)" -eq 2 ] \
    && pass "PyTorch all-reduce with rank 0's host from the plane (-m arbitrary, rank 0 on node2)" || fail "torch plane arbitrary: $out"
fi

# One rankwrap per rank, two per node: the node's rankwraps share its leader's
# connection; rank 3 (local rank 1 on node2) failing ends the whole step.
start=$(date +%s)
set +e
out=$(srun_ -N2 --ntasks-per-node=2 "$RW" --bind none --supervise --grace 2 -- \
      bash -c 'if [ "$RANK" = 3 ]; then sleep 1; exit 3; fi; sleep 100; true' 2>&1)
rc=$?
set -e
took=$(( $(date +%s) - start ))
[ "$rc" -eq 3 ] && [ "$took" -le 7 ] && [ "$(printf '%s\n' "$out" | grep -c 'rank 3 on node2 failed first: it exited with code 3 (the job control plane told every node)')" -ge 2 ] \
  && pass "plane, one rankwrap per rank: rank 3 failing on node2 ends all 4 in ${took}s (grace 2 s) with exit 3" \
  || fail "plane per-rank: rc $rc after ${took}s: $out"

# --nccl-bootstrap=tcp: rank 0's keeper creates the NCCL id, the plane
# carries it; no MPI anywhere.
out=$(srun_ -N2 --ntasks-per-node=2 "$RW" --bind none --nccl-bootstrap=tcp -- \
      bash -c 'echo "id $RANK $RANKWRAP_NCCL_UNIQUE_ID"' 2>&1)
ids=$(printf '%s\n' "$out" | awk '/^id /{print $3}' | sort -u)
[ "$(printf '%s\n' "$out" | grep -c '^id ')" -eq 4 ] && [ "$(printf '%s\n' "$ids" | wc -l)" -eq 1 ] && [[ "$ids" =~ ^[0-9a-f]{256}$ ]] \
  && pass "--nccl-bootstrap=tcp: one NCCL id on all 4 ranks of 2 nodes, without MPI" || fail "tcp bootstrap: $out"

# Error files across nodes: rank 3 (on node2) raises under torch's @record;
# node2's failure file carries its exception and traceback, and node1's
# summary names it (the plane carried it).
if $PY -c 'import torch' 2>/dev/null; then
  rm -f "$JOBS/record.json"
  out=$(srun_ -N2 --ntasks-per-node=1 "$RW" --bind none --nproc 2 --grace 1 --failure-file "$JOBS/record.json" -- \
        $PY "$root/examples/torch_record_fail.py" 2>&1) && rc=0 || rc=$?
  [ "$rc" -eq 1 ] && [[ "$out" == *"rank 3 on node2 failed first"*"its error: RuntimeError: checkpoint shard 3 is corrupt"* ]] \
    && python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["rank"]==3 and j["host"]=="node2" and j["error"]["message"]=="RuntimeError: checkpoint shard 3 is corrupt" and "load_checkpoint" in j["error"]["traceback"], j' "$JOBS/record.json" \
    && pass "@record on node2: the failure file has its exception and traceback, node1's summary names it" \
    || fail "@record 2 nodes: rc $rc: $out $(cat "$JOBS/record.json" 2>&1)"
fi

# --grace scheduler follows slurm.conf's KillWait (5 s on this cluster): a
# rank that ignores SIGTERM is killed 4 s after the first failure.
start=$(date +%s)
out=$(srun_ -N2 --ntasks-per-node=1 "$RW" --bind none --supervise --grace scheduler -- \
      bash -c 'if [ "$RANK" = 1 ]; then sleep 1; exit 2; fi; trap "" TERM; sleep 60' 2>&1) && rc=0 || rc=$?
took=$(( $(date +%s) - start ))
[ "$rc" -eq 2 ] && [[ "$out" == *"SIGKILL after 4 s"* ]] && [ "$took" -ge 4 ] && [ "$took" -le 12 ] \
  && pass "--grace scheduler: KillWait 5 s gives a grace of 4 s (step over in ${took}s)" || fail "grace scheduler: rc $rc ${took}s: $out"

# Job-wide restarts through the plane (the server keeps the count): rank 3
# (node2) fails in attempt 0; every rank of both nodes stops, all restart
# together after the back-off, and attempt 1 succeeds with every rank seeing
# count 1 (RANKWRAP_RESTART_COUNT and torchrun's TORCHELASTIC_*).
out=$(srun_ -N2 --ntasks-per-node=1 "$RW" --bind none --nproc 2 --max-restarts 2 --grace 1 -- \
      bash -c 'echo "count $RANK $RANKWRAP_RESTART_COUNT $TORCHELASTIC_RESTART_COUNT/$TORCHELASTIC_MAX_RESTARTS"
               if [ "$RANK" = 3 ] && [ "$RANKWRAP_RESTART_COUNT" = 0 ]; then sleep 0.5; exit 3; fi; sleep 1' 2>&1) && rc=0 || rc=$?
[ "$rc" -eq 0 ] && [ "$(printf '%s\n' "$out" | grep -cE '^count [0-3] 1 1/2$')" -eq 4 ] \
  && [ "$(printf '%s\n' "$out" | grep -cE '^count [0-3] 0 0/2$')" -eq 4 ] \
  && [ "$(printf '%s\n' "$out" | grep -c 'restarting every rank of the job (restart 1 of 2)')" -eq 2 ] \
  && pass "--nproc 2 --max-restarts 2 on 2 nodes: rank 3 fails in attempt 0, attempt 1 succeeds, every rank sees count 1" \
  || fail "job-wide restart: rc $rc: $out"
# One rankwrap per rank, --nccl-bootstrap=tcp: a rank that always fails
# spends the job's 2 restarts and no more; every attempt gets a fresh NCCL id.
out=$(srun_ -N2 --ntasks-per-node=2 "$RW" --bind none --supervise --max-restarts 2 --restart-backoff 0.2 \
      --nccl-bootstrap=tcp --grace 1 -- bash -c 'echo "id $RANKWRAP_RESTART_COUNT $RANKWRAP_NCCL_UNIQUE_ID"
                                                  if [ "$RANK" = 2 ]; then sleep 0.5; exit 4; fi; sleep 2' 2>&1) && rc=0 || rc=$?
ids=$(printf '%s\n' "$out" | awk '/^id /{print $2, $3}' | sort -u)
[ "$rc" -eq 4 ] && [ "$(printf '%s\n' "$ids" | wc -l)" -eq 3 ] && [ "$(printf '%s\n' "$ids" | awk '{print $2}' | sort -u | wc -l)" -eq 3 ] \
  && [ "$(printf '%s\n' "$out" | grep -c '^id ')" -eq 12 ] && ! printf '%s\n' "$out" | grep -q '^id 3 ' \
  && pass "per-rank rankwraps: 3 attempts (count 0-2) with one fresh NCCL id each, then exit 4" \
  || fail "restarts exhausted: rc $rc: $out"

# A node stopped from outside during the job-wide restart back-off (a node
# health check killing its processes, as proctrack does: wrapper and
# keeper): the other node hears of it at once, the restarts end there too,
# and nothing waits for the node that left.
srun_ -N2 --ntasks-per-node=1 "$RW" --bind none --nproc 1 --max-restarts 3 --restart-backoff 20 --grace 1 -- \
  bash -c '[ "$RANK" = 1 ] && [ "$RANKWRAP_RESTART_COUNT" = 0 ] && exit 3; sleep 60' > backoff.out 2>&1 &
sp=$!
for _ in $(seq 150); do [ "$(grep -c 'restarting every rank of the job' backoff.out)" -ge 2 ] && break; sleep 0.2; done
start=$(date +%s)
for pid in $(pgrep -f -- "--restart-backoff 20"); do
  tr '\0' '\n' < "/proc/$pid/environ" 2>/dev/null | grep -qx 'SLURMD_NODENAME=node2' && kill -TERM "$pid"
done
set +e; wait $sp; rc=$?; set -e
took=$(( $(date +%s) - start ))
out=$(cat backoff.out)
[ "$rc" -ne 0 ] && [ "$took" -le 10 ] && [[ "$out" == *"stopped by SIGTERM during the restart back-off: restart 1 not started"* ]] \
  && [[ "$out" == *"node 1 on node2 failed first"*"its error: stopped by SIGTERM during the restart back-off"* ]] \
  && ! [[ "$out" == *"restart 2 of 3"* ]] \
  && pass "TERM to node2 in the job-wide back-off: node1 hears it and both end in ${took}s (back-off 20 s), no further restart" \
  || fail "back-off stop on one node: rc $rc ${took}s: $out"

# --preflight on two nodes, one round through the control plane: node2's
# own check fails (--preflight-cmd); node 0 prints the job's one table,
# naming node2 and the exclusion; every node says why and exits 8 within
# seconds (not at the rendezvous deadline, not at NCCL's timeout), and no
# program starts.
start=$(date +%s)
out=$(srun_ -N2 --ntasks-per-node=1 "$RW" --bind none --nproc 2 --grace 1 --preflight-cmd 'test "$(hostname)" != node2' -- \
      bash -c 'echo started; sleep 30' 2>&1) && rc=0 || rc=$?
took=$(( $(date +%s) - start ))
[ "$rc" -eq 8 ] && [ "$took" -le 15 ] && [ "$(printf '%s\n' "$out" | grep -c 'pre-flight: 2 nodes checked, 1 bad')" -eq 1 ] \
  && [[ "$out" == *"sbatch --exclude=node2"* ]] && [[ "$out" == *$'\n  ok: node1\n'* ]] \
  && [[ "$out" == *$'node 1 (node2):\n  FAIL preflight-cmd: '* ]] \
  && [ "$(printf '%s\n' "$out" | grep -c "the job's pre-flight check: failed on 1 of 2 nodes: node 1 (node2): preflight-cmd")" -eq 2 ] \
  && ! [[ "$out" == *started* ]] \
  && pass "--preflight: one table for the job names node2; both nodes stop in ${took}s with exit 8, no program started" \
  || fail "preflight 2 nodes: rc $rc ${took}s: $out"
# One rankwrap per rank: the node's other rankwraps wait for the verdict
# too; every node passes, node 0 says so once, and all 4 ranks start.
out=$(srun_ -N2 --ntasks-per-node=2 "$RW" --bind none --supervise --preflight -- bash -c 'echo "started $RANK"' 2>&1) \
  && rc=0 || rc=$?
[ "$rc" -eq 0 ] && [ "$(printf '%s\n' "$out" | grep -c '^started [0-3]$')" -eq 4 ] \
  && [ "$(printf '%s\n' "$out" | grep -c 'pre-flight: every node passed')" -eq 1 ] \
  && [ "$(printf '%s\n' "$out" | grep -c 'pre-flight: 2 nodes checked, 0 bad')" -eq 1 ] \
  && pass "--preflight, one rankwrap per rank: every node passes, one table, 4 ranks start" \
  || fail "preflight per-rank pass: rc $rc: $out"
# MASTER_PORT blocked on the first node (another process listens on the
# --master-port given): node1's own check fails, the table names node1.
out=$(srun_ -N2 --ntasks-per-node=1 bash -c '
        if [ "$(hostname)" = node1 ]; then
          python3 -c "import socket,time; s=socket.socket(); s.bind((\"\",29377)); s.listen(); time.sleep(60)" &
          sleep 1
        fi
        exec "$0" --bind none --nproc 1 --master-port 29377 --preflight -- bash -c "echo started"' "$RW" 2>&1) && rc=0 || rc=$?
[ "$rc" -eq 8 ] && [[ "$out" == *$'node 0 (node1):\n  FAIL master-port: rank 0 runs here, but MASTER_PORT 29377 cannot be held'* ]] \
  && [[ "$out" == *"sbatch --exclude=node1"* ]] && ! [[ "$out" == *started* ]] \
  && pass "--preflight: MASTER_PORT taken on node1 fails node1's check, named in the table, exit 8" \
  || fail "preflight port blocked: rc $rc: $out"

# The default plane needs authentication: without it a supervised job runs,
# and node 0 says once that job-wide fail-fast is off; what needs the plane
# is refused naming RANKWRAP_JOB_SECRET.
unset RANKWRAP_JOB_SECRET
out=$(srun_ -N2 --ntasks-per-node=2 "$RW" --bind none --supervise -- true 2>&1) && rc=0 || rc=$?
[ "$rc" -eq 0 ] && [ "$(printf '%s\n' "$out" | grep -c 'the job control plane is off')" -eq 1 ] \
  && pass "default plane without a secret or munged: runs, one notice" || fail "plane default off: rc $rc: $out"
out=$(srun_ -N2 --ntasks-per-node=1 "$RW" --bind none --nccl-bootstrap=tcp -- true 2>&1) && rc=0 || rc=$?
[ "$rc" -eq 3 ] && [[ "$out" == *"needed for --nccl-bootstrap=tcp"*RANKWRAP_JOB_SECRET* ]] \
  && pass "--nccl-bootstrap=tcp without a secret or munged: refused (exit 3)" || fail "tcp no auth: rc $rc: $out"
# With the cluster's munged (no secret): the plane authenticates with MUNGE;
# rank 1 (local rank 1 on node1, not the node's leader) failing ends node2 too.
munge_sock=${RANKWRAP_SLURM_DIR:-/tmp/rwslurm}/munge/munge.socket
out=$(srun_ -N2 --ntasks-per-node=2 env MUNGE_SOCKET="$munge_sock" "$RW" --bind none --supervise --grace 1 -- \
      bash -c 'if [ "$RANK" = 1 ]; then sleep 1; exit 4; fi; sleep 100' 2>&1) && rc=0 || rc=$?
[ "$rc" -eq 4 ] && [[ "$out" == *"rank 1 on node1 failed first: it exited with code 4 (the job control plane told every node)"* ]] \
  && [[ "$out" != *"control plane is off"* ]] \
  && pass "default plane with munged: a non-leader's failure on node1 ends node2 (exit 4)" || fail "plane munge: rc $rc: $out"

finish
