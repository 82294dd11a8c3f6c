#!/usr/bin/env bash
# PBS: no PBS server can be installed here, so each template in pbs/ runs as
# a job script in a recorded PBS job environment. The Open MPI and MPICH
# templates start this machine's real mpiexec; the PALS template starts a
# STAND-IN for HPE's PALS mpiexec (fake-pals/mpiexec) that sets the per-rank
# variables PALS sets. Then recorded PBS environments through the real binary.
source "$(dirname "$0")/lib.sh"
: "${RANKWRAP_HELLO:?set by ctest}"
root=$RANKWRAP_SOURCE_DIR
here=$(cd "$(dirname "$0")" && pwd)
bindir=$(dirname "$RANKWRAP")
RW=$RANKWRAP
host=$(hostname)

# A recorded PBS job environment (OpenPBS start_exec.c; env-facts.md 2).
pbs_env() {  # NODEFILE: env args for a job script on the mother superior
  echo "PBS_JOBID=4242.pbs01 PBS_JOBNAME=rankwrap PBS_NODEFILE=$1 PBS_NODENUM=0 PBS_TASKNUM=1"
  echo "PBS_ENVIRONMENT=PBS_BATCH PBS_O_WORKDIR=$WORK PBS_QUEUE=workq"
}

# 1. The PALS template: 2 hosts x 4 slots, PPN=4.
printf 'x3005c0s13b0n0\n%.0s' 1 2 3 4 > "$WORK/nodefile.pals"
printf 'x3005c0s19b1n0\n%.0s' 1 2 3 4 >> "$WORK/nodefile.pals"
out=$(clean_env $(pbs_env "$WORK/nodefile.pals") PATH="$here/fake-pals:$bindir:/usr/bin:/bin" \
      PROGRAM="$RANKWRAP_HELLO" bash "$root/pbs/pals-mpiexec.pbs" 2>&1)
good=0
for r in 0 1 2 3 4 5 6 7; do
  printf '%s\n' "$out" | grep -qE "^$r: rank $r/8 local $((r % 4))/4 node $((r / 4))/2 on .* -> master x3005c0s13b0n0:[0-9]+ \(launcher pals\)$" && good=$((good + 1))
done
[ "$good" -eq 8 ] && pass "pals-mpiexec.pbs (stand-in PALS mpiexec): 8 ranks on 2 nodes, MASTER_ADDR the first nodefile host" \
  || fail "pals template: $out"

# 2. The Open MPI template with this machine's Open MPI (4 slots on this host).
mkdir -p "$WORK/bin"
ln -sf "$(command -v mpiexec.openmpi)" "$WORK/bin/mpiexec"
printf '%s\n' "$host" "$host" "$host" "$host" > "$WORK/nodefile.local"
out=$(clean_env $(pbs_env "$WORK/nodefile.local") PATH="$WORK/bin:$bindir:/usr/bin:/bin" \
      OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1 \
      OMPI_MCA_oob_tcp_if_include=lo OMPI_MCA_btl_tcp_if_include=lo \
      PROGRAM="$RANKWRAP_HELLO" timeout 120 bash "$root/pbs/openmpi-mpiexec.pbs" 2>&1)
n=$(printf '%s\n' "$out" | grep -cE "^rank [0-3]/4 local [0-3]/4 node 0/1 on .* -> master $host:[0-9]+ \(launcher ompi\)$" || true)
[ "$n" -eq 4 ] && pass "openmpi-mpiexec.pbs with real Open MPI: 4 ranks" || fail "openmpi template: $out"

# 3. The MPICH template with this machine's mpiexec.hydra.
out=$(clean_env $(pbs_env "$WORK/nodefile.local") PATH="$bindir:/usr/bin:/bin" \
      PROGRAM="$RANKWRAP_HELLO" timeout 120 bash "$root/pbs/mpich-mpiexec.pbs" 2>&1)
n=$(printf '%s\n' "$out" | grep -cE "^rank [0-3]/4 local [0-3]/4 node 0/1 on .* -> master $host:[0-9]+ \(launcher hydra\)$" || true)
[ "$n" -eq 4 ] && pass "mpich-mpiexec.pbs with real mpiexec.hydra: 4 ranks" || fail "mpich template: $out"

# 4. Recorded environments through the real binary.
set +e
out=$(clean_env $(pbs_env "$WORK/nodefile.pals") "$RW" true 2>&1); rc=$?
set -e
[ "$rc" -eq 3 ] && [[ "$out" == *"PBS_TASKNUM='1' (the job script)"* ]] && pass "the PBS job script is refused" || fail "job script: $rc $out"
out=$(clean_env PBS_JOBID=4242.pbs01 PBS_NODEFILE="$WORK/nodefile.pals" PBS_NODENUM=1 PBS_TASKNUM=0000000B "$RW" --bind none --print-env)
[[ "$out" == *"RANK=1"*"RANKWRAP_LAUNCHER=pbs"* && "$out" == *"MASTER_ADDR=x3005c0s13b0n0"* && "$out" == *"WORLD_SIZE=2"* ]] \
  && pass "a pbsdsh task (hex PBS_TASKNUM): rank = host index" || fail "pbsdsh: $out"
# Open MPI under PBS across hosts: node rank from PBS_NODEFILE (this host listed second).
printf 'cn01\ncn01\n%s\n%s\n' "$host" "$host" > "$WORK/nodefile.two"
out=$(clean_env PBS_JOBID=4242.pbs01 PBS_NODEFILE="$WORK/nodefile.two" OMPI_COMM_WORLD_RANK=3 OMPI_COMM_WORLD_SIZE=4 \
      OMPI_COMM_WORLD_LOCAL_RANK=1 OMPI_COMM_WORLD_LOCAL_SIZE=2 OMPI_MCA_ess_base_jobid=77 "$RW" --bind none --print-env)
[[ "$out" == *"MASTER_ADDR=cn01"*"NODE_RANK=1"*"NUM_NODES=2"* ]] && pass "Open MPI under PBS: node rank and MASTER_ADDR from PBS_NODEFILE" \
  || fail "ompi under pbs: $out"
finish
