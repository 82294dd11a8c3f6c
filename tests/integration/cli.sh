#!/usr/bin/env bash
# The command line of the real binary: help, version, usage errors, the
# environment forms of options, --print-env, --dry-run --json, --explain, and
# malformed launcher environments that must stop before anything runs.
source "$(dirname "$0")/lib.sh"
RW=$RANKWRAP

# expect_exit CODE NAME COMMAND...: stdout+stderr in $OUT.
expect_exit() {
  local code=$1 name=$2; shift 2
  set +e; OUT=$("$@" 2>&1); local rc=$?; set -e
  if [ "$rc" -eq "$code" ]; then pass "$name (exit $rc)"; else fail "$name: exit $rc, expected $code: $OUT"; fi
}
contains() { local name=$1 needle=$2; [[ "$OUT" == *"$needle"* ]] && pass "$name" || fail "$name: no '$needle' in: $OUT"; }

expect_exit 0 "--help" clean_env "$RW" --help
contains "help lists the launchers" "ompi: Open MPI"
expect_exit 0 "--version" clean_env "$RW" --version
contains "version" "rankwrap 0."
expect_exit 2 "no program" clean_env "$RW"
contains "usage error format" "rankwrap[?@"
contains "usage error hint" "hint: "
expect_exit 2 "bad --master-port" clean_env "$RW" --master-port 70000 true
contains "names the port" "--master-port '70000'"
expect_exit 2 "unknown option" clean_env "$RW" --frobnicate true
expect_exit 2 "unknown launcher" clean_env "$RW" --launcher sge --print-env
contains "lists launchers" "expected one of: rankwrap, torchrun, ompi"
expect_exit 2 "bad env switch" clean_env RANKWRAP_DRY_RUN=maybe "$RW" true
contains "names the variable" "RANKWRAP_DRY_RUN='maybe'"

# Host lists are bounded: refused at parse time, not std::bad_alloc.
start=$(date +%s)
expect_exit 2 "hostnames over the limit" clean_env "$RW" hostnames 'n[0-999999999999]'
contains "names the list" "host list 'n[0-999999999999]'"
contains "names the limit" "more than 16777216 hosts (the limit for one list)"
[ $(( $(date +%s) - start )) -le 5 ] && pass "hostnames over the limit: fast" || fail "hostnames over the limit: slow"
expect_exit 2 "hostlist over the limit" clean_env "$RW" hostlist 'n[1-20000000]'
contains "hostlist names the limit" "more than 16777216 hosts"
expect_exit 0 "hostnames within the limit" clean_env "$RW" hostnames 'n[1-3]'
contains "hostnames output" "n3"

# --print-env: exactly the contract, sorted, program optional.
expect_exit 0 "--print-env standalone" clean_env "$RW" --bind none --print-env
keys=$(printf '%s\n' "$OUT" | cut -d= -f1 | tr '\n' ' ')
[ "$keys" = "GROUP_RANK LOCAL_RANK LOCAL_WORLD_SIZE MASTER_ADDR MASTER_PORT NODE_RANK NUM_NODES RANK RANKWRAP_CONTRACT RANKWRAP_LAUNCHER WORLD_SIZE " ] \
  && pass "print-env keys sorted (--bind none)" || fail "print-env keys: $keys"
# With binding (this machine has no GPU): the OpenMP variables join, unless set.
expect_exit 0 "--print-env with binding" clean_env "$RW" --print-env
keys=$(printf '%s\n' "$OUT" | cut -d= -f1 | tr '\n' ' ')
[ "$keys" = "GROUP_RANK LOCAL_RANK LOCAL_WORLD_SIZE MASTER_ADDR MASTER_PORT NODE_RANK NUM_NODES OMP_NUM_THREADS OMP_PLACES OMP_PROC_BIND RANK RANKWRAP_CONTRACT RANKWRAP_LAUNCHER WORLD_SIZE " ] \
  && pass "print-env keys with binding" || fail "print-env keys with binding: $keys"
expect_exit 0 "user OMP_NUM_THREADS kept" clean_env OMP_NUM_THREADS=3 "$RW" --print-env
[[ "$OUT" != *OMP_NUM_THREADS* ]] && pass "OMP_NUM_THREADS set by the user is not printed (not changed)" || fail "OMP_NUM_THREADS changed: $OUT"
contains "standalone is a world of one" "WORLD_SIZE=1"

# Environment forms of options; the flag wins.
expect_exit 0 "RANKWRAP_MASTER_PORT" clean_env RANKWRAP_MASTER_PORT=23456 "$RW" --print-env
contains "env option used" "MASTER_PORT=23456"
expect_exit 0 "flag beats env" clean_env RANKWRAP_MASTER_PORT=23456 "$RW" --master-port 24000 --print-env
contains "flag wins" "MASTER_PORT=24000"
expect_exit 0 "RANKWRAP_REPORT=1" clean_env RANKWRAP_REPORT=1 "$RW" --bind none --print-env
contains "env switch used" "RANKWRAP_LAUNCHER=standalone"
# Action options are never taken from the environment: refused, naming the
# variable, and the program does not run.
for var in RANKWRAP_PRINT_ENV RANKWRAP_DRY_RUN RANKWRAP_EXPLAIN RANKWRAP_JSON; do
  rm -f "$WORK/ran"
  expect_exit 2 "$var=1 refused" clean_env "$var=1" "$RW" touch "$WORK/ran"
  contains "$var named" "$var='1' is set in the environment"
  contains "$var hint" "hint: unset $var"
  [ ! -e "$WORK/ran" ] && pass "$var: program not run" || fail "$var: program ran"
done
expect_exit 2 "RANKWRAP_CPU_BIND=bogus" clean_env RANKWRAP_CPU_BIND=bogus "$RW" true
contains "names the variable, not the flag" "RANKWRAP_CPU_BIND='bogus'"

# Strict numbers and signal maps: each refused naming the option and value.
strict() {  # NEEDLE ARGS...
  local needle=$1; shift
  expect_exit 2 "refused: $*" clean_env "$RW" "$@" true
  contains "names: $needle" "$needle"
}
strict "--nproc '1e1'" --nproc 1e1
strict "--nproc '0x2'" --nproc 0x2
strict "--nproc ' 2'" --nproc " 2"
strict "--nproc '2.0'" --nproc 2.0
strict "--grace ' 3'" --nproc 1 --grace " 3"
strict "--grace 'nan'" --nproc 1 --grace nan
strict "--grace 'inf'" --nproc 1 --grace inf
strict "--grace '-1'" --nproc 1 --grace -1
strict "--bootstrap-timeout '1e3'" --bootstrap-timeout 1e3
strict "--max-restarts '1e1'" --nproc 1 --max-restarts 1e1
strict "--ranks-filter '0,+1'" --nproc 2 --ranks-filter 0,+1
strict "KILL and STOP cannot be mapped" --nproc 1 --signal-map USR1:STOP
strict "KILL and STOP cannot be mapped" --nproc 1 --signal-map KILL:TERM
strict "--signal-map 'BOGUS:TERM'" --nproc 1 --signal-map BOGUS:TERM
strict "--launcher ''" --launcher ''
expect_exit 0 "--grace 0.5 accepted" clean_env "$RW" --nproc 1 --grace 0.5 --bind none true

# --dry-run --json: one JSON object with the documented keys, nothing run.
SLURM=(SLURM_JOB_ID=17 SLURM_STEP_ID=0 SLURM_PROCID=3 SLURM_LOCALID=1 SLURM_NODEID=1
       "SLURM_STEP_NODELIST=node[1-2]" SLURM_STEP_NUM_NODES=2 SLURM_STEP_NUM_TASKS=4
       "SLURM_STEP_TASKS_PER_NODE=2(x2)")
expect_exit 0 "--dry-run --json" clean_env "${SLURM[@]}" "$RW" --dry-run --json -- touch "$WORK/ran"
printf '%s' "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
want = dict(launcher="slurm", rank=3, world_size=4, local_rank=1, local_world_size=2,
            node_rank=1, num_nodes=2, master_addr="node1")
bad = {k: (d.get(k), v) for k, v in want.items() if d.get(k) != v}
assert not bad, bad
assert 20000 <= d["master_port"] <= 32767, d["master_port"]
assert d["env"]["RANK"] == "3" and d["argv"][0] == "touch", d
' && pass "json contract" || fail "json contract: $OUT"
[ ! -e "$WORK/ran" ] && pass "dry-run ran nothing" || fail "dry-run ran the program"

# --explain: every detector and where each value came from, on stderr.
set +e; err=$(clean_env "${SLURM[@]}" "$RW" --explain --print-env 2>&1 >/dev/null); set -e
for needle in "ompi: does not apply: OMPI_COMM_WORLD_RANK is not set" "slurm: chosen" \
              "rank = 3  <- SLURM_PROCID" "master_addr = node1  <- first host of SLURM_STEP_NODELIST"; do
  [[ "$err" == *"$needle"* ]] && pass "explain: $needle" || fail "explain lacks '$needle': $err"
done

# Malformed environments: own message naming the variable, exit 3, no exec.
bad_case() {  # NAME NEEDLE VAR=VALUE...
  local name=$1 needle=$2; shift 2
  rm -f "$WORK/ran"
  expect_exit 3 "$name" clean_env "$@" "$RW" -- touch "$WORK/ran"
  contains "$name: message" "$needle"
  [ ! -e "$WORK/ran" ] && pass "$name: program not run" || fail "$name: program ran"
}
bad_case "unbalanced bracket" "SLURM_STEP_NODELIST='node[1-2'" "${SLURM[@]}" "SLURM_STEP_NODELIST=node[1-2"
bad_case "reversed range" "reversed range" "${SLURM[@]}" "SLURM_STEP_NODELIST=node[2-1]"
bad_case "empty item" "empty item" "${SLURM[@]}" "SLURM_STEP_NODELIST=node1,,node2"
bad_case "count 2(x)" "SLURM_STEP_TASKS_PER_NODE='2(x)'" "${SLURM[@]}" "SLURM_STEP_TASKS_PER_NODE=2(x)"
bad_case "count (x3)" "SLURM_STEP_TASKS_PER_NODE='(x3)'" "${SLURM[@]}" "SLURM_STEP_TASKS_PER_NODE=(x3)"
bad_case "count -1" "SLURM_STEP_TASKS_PER_NODE='-1'" "${SLURM[@]}" "SLURM_STEP_TASKS_PER_NODE=-1"
bad_case "rank >= world" "SLURM_PROCID=4" "${SLURM[@]}" SLURM_PROCID=4
bad_case "local >= local size" "SLURM_LOCALID=2" "${SLURM[@]}" SLURM_LOCALID=2
bad_case "node >= nodes" "SLURM_NODEID=2" "${SLURM[@]}" SLURM_NODEID=2
bad_case "counts do not add up" "must add up" "${SLURM[@]}" SLURM_STEP_NUM_TASKS=5
bad_case "non-numeric" "SLURM_PROCID='x'" "${SLURM[@]}" SLURM_PROCID=x
bad_case "batch step" "hint: launch the program with srun" SLURM_JOB_ID=5 SLURM_STEP_ID=-5 SLURM_PROCID=0
bad_case "nodefile missing" "PBS_NODEFILE='$WORK/none'" PALS_RANKID=0 PALS_LOCAL_RANKID=0 PALS_NODEID=0 \
  PALS_LOCAL_SIZE=1 PMI_SIZE=2 "PBS_NODEFILE=$WORK/none"
: > "$WORK/empty"
bad_case "nodefile empty" "it is empty" PALS_RANKID=0 PALS_LOCAL_RANKID=0 PALS_NODEID=0 \
  PALS_LOCAL_SIZE=1 PMI_SIZE=2 "PBS_NODEFILE=$WORK/empty"
bad_case "step id abc" "SLURM_STEP_ID='abc'" "${SLURM[@]}" SLURM_STEP_ID=abc
bad_case "job id -1" "SLURM_JOB_ID='-1'" "${SLURM[@]}" SLURM_JOB_ID=-1
bad_case "het size abc" "SLURM_HET_SIZE='abc'" "${SLURM[@]}" SLURM_HET_SIZE=abc
bad_case "resv ports below 1024" "SLURM_STEP_RESV_PORTS='1-2,3': port 1 is below 1024" "${SLURM[@]}" SLURM_STEP_RESV_PORTS=1-2,3
bad_case "zero tasks on a node" "SLURM_STEP_TASKS_PER_NODE='0,4'" "${SLURM[@]}" "SLURM_STEP_TASKS_PER_NODE=0,4"
long=$(printf 'a%.0s' $(seq 1 10000))
bad_case "10,000-character MASTER_ADDR" "MASTER_ADDR='aaaaaaaaaa" TORCHELASTIC_RUN_ID=1 RANK=0 WORLD_SIZE=1 \
  LOCAL_RANK=0 MASTER_PORT=29500 "MASTER_ADDR=$long"
contains "10,000-character MASTER_ADDR: reason" "10000 characters; expected a host name of at most 253"
bad_case "torchrun sizes disagree" "WORLD_SIZE=70000 but GROUP_WORLD_SIZE=1 x LOCAL_WORLD_SIZE=2" \
  TORCHELASTIC_RUN_ID=1 RANK=0 WORLD_SIZE=70000 LOCAL_RANK=0 LOCAL_WORLD_SIZE=2 GROUP_RANK=0 \
  GROUP_WORLD_SIZE=1 MASTER_ADDR=node1 MASTER_PORT=29500
# PBS_NODEFILE that is not a regular file: refused at once, never read.
mkfifo "$WORK/fifo"; mkdir -p "$WORK/nodedir"
for nf in /dev/zero "$WORK/fifo" "$WORK/nodedir"; do
  start=$(date +%s)
  bad_case "nodefile $nf" "PBS_NODEFILE='$nf' cannot be read" PALS_RANKID=0 PALS_LOCAL_RANKID=0 \
    PALS_NODEID=0 PALS_LOCAL_SIZE=1 PMI_SIZE=2 "PBS_NODEFILE=$nf"
  contains "nodefile $nf: reason" "not a regular file"
  [ $(( $(date +%s) - start )) -le 5 ] && pass "nodefile $nf: fast" || fail "nodefile $nf: slow"
done
bad_case "two world sizes" "two launchers claim different world sizes" \
  OMPI_COMM_WORLD_RANK=0 OMPI_COMM_WORLD_SIZE=2 OMPI_COMM_WORLD_LOCAL_RANK=0 OMPI_COMM_WORLD_LOCAL_SIZE=2 \
  MV2_COMM_WORLD_RANK=0 MV2_COMM_WORLD_SIZE=3 MV2_COMM_WORLD_LOCAL_RANK=0 MV2_COMM_WORLD_LOCAL_SIZE=3
bad_case "no master addr" "pass --master-addr" OMPI_COMM_WORLD_RANK=3 OMPI_COMM_WORLD_SIZE=4 \
  OMPI_COMM_WORLD_LOCAL_RANK=1 OMPI_COMM_WORLD_LOCAL_SIZE=2 OMPI_MCA_ess_base_jobid=9

# --nccl-comm-id: NCCL_COMM_ID=MASTER_ADDR:MASTER_PORT, nothing else.
expect_exit 0 "--nccl-comm-id" clean_env "${SLURM[@]}" "$RW" --bind none --nccl-comm-id --master-port 29400 --print-env
contains "NCCL_COMM_ID exported" "NCCL_COMM_ID=node1:29400"
expect_exit 2 "--nccl-comm-id with the MPI bootstrap" clean_env "$RW" --nccl-comm-id --nccl-bootstrap=mpi true
expect_exit 2 "bad --nccl-bootstrap" clean_env "$RW" --nccl-bootstrap=pmix true
contains "names the value" "--nccl-bootstrap 'pmix'"
expect_exit 2 "bad --bootstrap-timeout" clean_env "$RW" --bootstrap-timeout -1 true

# A real PBS_NODEFILE through the binary (PALS replay; no PBS server here).
printf 'cn01\ncn01\ncn02\ncn02\n' > "$WORK/nodefile"
expect_exit 0 "PALS replay" clean_env PBS_JOBID=1.pbs "PBS_NODEFILE=$WORK/nodefile" PALS_RANKID=3 \
  PALS_LOCAL_RANKID=1 PALS_NODEID=1 PALS_LOCAL_SIZE=2 PMI_SIZE=4 PALS_APID=abc "$RW" --print-env
contains "PALS master is the first nodefile host" "MASTER_ADDR=cn01"
contains "PALS node rank" "NODE_RANK=1"
# Whole outputs, compared exactly (a substring check would accept
# WORLD_SIZE=1 inside LOCAL_WORLD_SIZE=1, or NODE_RANK=1 inside NODE_RANK=10).
H=$(hostname)
exact() {  # NAME EXPECTED: $OUT must be exactly EXPECTED
  [ "$OUT" = "$2" ] && pass "$1: exact" || fail "$1: got
$OUT
expected
$2"
}
expect_exit 0 "whole --print-env, standalone" clean_env "$RW" --bind none --master-port 23456 --print-env
exact "standalone contract" 'GROUP_RANK=0
LOCAL_RANK=0
LOCAL_WORLD_SIZE=1
MASTER_ADDR=127.0.0.1
MASTER_PORT=23456
NODE_RANK=0
NUM_NODES=1
RANK=0
RANKWRAP_CONTRACT=host='"$H"'
RANKWRAP_LAUNCHER=standalone
WORLD_SIZE=1'
expect_exit 0 "whole --print-env, Slurm rank 10 on node 5" clean_env SLURM_JOB_ID=77 SLURM_STEP_ID=0 SLURM_PROCID=10 \
  SLURM_LOCALID=1 SLURM_NODEID=5 SLURM_STEP_NODELIST='n[0-7]' SLURM_STEP_NUM_NODES=8 SLURM_STEP_NUM_TASKS=16 \
  SLURM_STEP_TASKS_PER_NODE='2(x8)' "$RW" --bind none --print-env
exact "slurm contract (port hashed from job 77)" 'GROUP_RANK=5
LOCAL_RANK=1
LOCAL_WORLD_SIZE=2
MASTER_ADDR=n0
MASTER_PORT=22849
NODE_RANK=5
NUM_NODES=8
RANK=10
RANKWRAP_CONTRACT=host='"$H"';SLURM_JOB_ID=77;SLURM_STEP_ID=0
RANKWRAP_LAUNCHER=slurm
WORLD_SIZE=16'
# The full error line of every error class.
expect_exit 2 "usage error, whole" clean_env "$RW" --master-port 70000 true
exact "usage error" "rankwrap[?@$H]: error: usage: --master-port '70000': expected a TCP port 1-65535
hint: see 'rankwrap --help'"
expect_exit 3 "environment error, whole" clean_env SLURM_JOB_ID=77 SLURM_STEP_ID=0 SLURM_PROCID=x "$RW" true
exact "environment error" "rankwrap[?@$H]: error: detect: SLURM_JOB_ID=77 is set but this process is not a task of an srun step: SLURM_STEP_NODELIST is not set: a rank needs a step task; the batch step and salloc/ssh shells have job variables (even SLURM_PROCID=0) but are not ranks
hint: launch the program with srun, e.g. 'srun rankwrap PROGRAM'"
expect_exit 4 "binding error, whole" clean_env "$RW" --topology /nonexistent.xml true
exact "binding error" "rankwrap[?@$H]: error: bind: topology file '/nonexistent.xml' cannot be read: No such file or directory
hint: give the path of an hwloc XML file (lstopo --of xml FILE writes one)"
expect_exit 127 "not found, whole" clean_env "$RW" --bind none /nonexistent/prog
exact "not found" "rankwrap[0@$H]: error: exec: '/nonexistent/prog' not found: no such file
hint: give the full path, or fix PATH"
expect_exit 126 "not executable, whole" clean_env "$RW" --bind none /etc/passwd
exact "not executable" "rankwrap[0@$H]: error: exec: '/etc/passwd' cannot be executed: it exists but is not an executable regular file (permission denied)
hint: chmod +x the file, or run it through its interpreter (e.g. 'python3 /etc/passwd')"
expect_exit 2 "supervision usage error, whole" clean_env "$RW" --nproc 2 --ranks-filter 5 true
exact "ranks-filter error" "rankwrap[0@$H]: error: usage: --ranks-filter 5: the job has ranks 0-1, so nothing of rank 5 would ever be shown
hint: give ranks below 2"
# --nproc with --print-env / --json: what each child gets (not the task's
# world of one); the standalone port is chosen at start, never printed as a guess.
expect_exit 0 "--nproc 4 --print-env" clean_env "$RW" --nproc 4 --bind none --print-env
ranks=$(printf '%s\n' "$OUT" | sed -n 's/^RANK=//p' | tr '\n' ' ')
worlds=$(printf '%s\n' "$OUT" | grep -c '^WORLD_SIZE=4$' || true)
[ "$ranks" = "0 1 2 3 " ] && [ "$worlds" -eq 4 ] && [[ "$OUT" != *MASTER_PORT=* ]] \
  && pass "--nproc 4 --print-env: ranks 0-3 of 4, no guessed port" || fail "nproc print-env: $OUT"
expect_exit 0 "--nproc 2 --json" clean_env "$RW" --nproc 2 --bind none --json -- prog
printf '%s\n' "$OUT" | python3 -c '
import json, sys
docs = [json.loads(l) for l in sys.stdin if l.strip()]
assert [d["rank"] for d in docs] == [0, 1] and all(d["world_size"] == 2 for d in docs), docs
assert all(d["master_port"] == 0 and "MASTER_PORT" not in d["env"] for d in docs), docs' \
  && pass "--nproc 2 --json: one document per child" || fail "nproc json: $OUT"

# Help that fits: per command, placeholders, examples, what auto means.
expect_exit 0 "plan --help" clean_env "$RW" plan --help
contains "plan help: its usage" "usage: rankwrap plan"
contains "plan help: --ranks-per-node N" "--ranks-per-node N"
[[ "$OUT" != *"Launchers, tried"* && "$OUT" != *"--nproc"* ]] && pass "plan help is not the global help" || fail "plan help: $OUT"
for cmd in hostnames hostlist; do
  expect_exit 0 "$cmd --help" clean_env "$RW" $cmd --help
  contains "$cmd help" "usage: rankwrap $cmd"
  [[ "$OUT" != *"--help"*"--help"* && "$OUT" != *"host list '--help'"* ]] && pass "$cmd --help is help, not a host" || fail "$cmd: $OUT"
done
expect_exit 0 "--help again" clean_env "$RW" --help
contains "help: examples" "Examples:"
contains "help: torchrun example" "rankwrap --nproc 4 python train.py"
contains "help: placeholders" "--master-port PORT"
contains "help: auto explained next to its default" "--cpu-bind POLICY (=auto)"
# (Boost wraps the description column; the words are what counts.)
flat=$(printf '%s' "$OUT" | tr -s ' \n' '  ')
[[ "$flat" == *"auto: gpu on a node with GPUs, else cores"* ]] && pass "help: what auto means" || fail "help: what auto means: $OUT"
[[ "$OUT" != *" arg "* && "$OUT" != *" arg"$'\n'* ]] && pass "help: no Boost 'arg' placeholder" || fail "help still says arg"

# Unknown options: a suggestion, or why torchrun's has no equivalent.
expect_exit 2 "misspelt --nproc-per-nod" clean_env "$RW" --nproc-per-nod 4 true
contains "suggests torchrun's spelling" "hint: did you mean '--nproc-per-node'?"
expect_exit 2 "misspelt --gpu-bnd" clean_env "$RW" --gpu-bnd=closest true
contains "names it" "unknown option '--gpu-bnd'"
contains "suggests --gpu-bind" "did you mean '--gpu-bind'?"
expect_exit 2 "no abbreviations" clean_env "$RW" --npro 2 true
contains "abbreviation gets a suggestion" "did you mean '--nproc'?"
expect_exit 2 "torchrun's --nnodes" clean_env "$RW" --nnodes 2 true
contains "--nnodes: why" "torchrun's --nnodes is not a rankwrap option: the launcher (srun -N"

# torchrun's spellings, where they mean the same.
expect_exit 0 "--nproc-per-node 2" clean_env "$RW" --nproc-per-node 2 --bind none --print-env
ranks=$(printf '%s\n' "$OUT" | sed -n 's/^RANK=//p' | tr '\n' ' ')
[ "$ranks" = "0 1 " ] && pass "--nproc-per-node 2 is --nproc 2" || fail "nproc-per-node: $OUT"
expect_exit 0 "--nproc_per_node=2" clean_env "$RW" --nproc_per_node=2 --bind none --print-env
[ "$(printf '%s\n' "$OUT" | grep -c '^WORLD_SIZE=2$')" -eq 2 ] && pass "--nproc_per_node=2" || fail "nproc_per_node=: $OUT"
expect_exit 0 "--local-ranks-filter 1" clean_env "$RW" --nproc 2 --local-ranks-filter 1 --bind none -- sh -c 'echo "r$RANK"'
[ "$OUT" = "r1" ] && pass "--local-ranks-filter 1 shows rank 1 only" || fail "local-ranks-filter: $OUT"
expect_exit 0 "--local_ranks_filter 0" clean_env "$RW" --nproc 2 --local_ranks_filter 0 --bind none -- sh -c 'echo "r$LOCAL_RANK"'
[ "$OUT" = "r0" ] && pass "--local_ranks_filter 0 shows local rank 0 only" || fail "local_ranks_filter: $OUT"
expect_exit 2 "both filters" clean_env "$RW" --nproc 2 --ranks-filter 0 --local-ranks-filter 1 true
exact "both filters refused" "rankwrap[?@$H]: error: usage: --ranks-filter '0' and --local-ranks-filter '1': both choose the ranks shown on the console: --ranks-filter by global rank, --local-ranks-filter by the rank on its node
hint: give one of them"
expect_exit 2 "--local-ranks-filter beyond --nproc" clean_env "$RW" --nproc 2 --local-ranks-filter 2 true
exact "local-ranks-filter error" "rankwrap[0@$H]: error: usage: --local-ranks-filter 2: each node runs --nproc 2 ranks (local ranks 0-1), so nothing of local rank 2 would ever be shown
hint: give local ranks below 2"
# Uneven tasks per node (srun -n5 -N2: 3 and 2): node 1 has no local rank 2,
# which node 0 has. Not an error there: node 1 just shows nothing.
UNEVEN=(SLURM_JOB_ID=18 SLURM_STEP_ID=0 SLURM_PROCID=4 SLURM_LOCALID=1 SLURM_NODEID=1
        "SLURM_STEP_NODELIST=node[1-2]" SLURM_STEP_NUM_NODES=2 SLURM_STEP_NUM_TASKS=5
        "SLURM_STEP_TASKS_PER_NODE=3,2")
expect_exit 0 "--local-ranks-filter 2 on a node of 2 tasks (3,2)" clean_env "${UNEVEN[@]}" "$RW" --supervise \
  --master-addr 127.0.0.1 --local-ranks-filter 2 --bind none -- sh -c 'echo "r$RANK"'
[ -z "$(printf '%s\n' "$OUT" | grep '^r4$' || true)" ] && pass "local rank 1 not shown under --local-ranks-filter 2" || fail "uneven filter: $OUT"
expect_exit 0 "--local-ranks-filter 1 on that node" clean_env "${UNEVEN[@]}" "$RW" --supervise \
  --master-addr 127.0.0.1 --local-ranks-filter 1 --bind none -- sh -c 'echo "r$RANK"'
contains "local rank 1 shown" "r4"
expect_exit 2 "--local-ranks-filter 5 with 5 ranks" clean_env "${UNEVEN[@]}" "$RW" --supervise \
  --master-addr 127.0.0.1 --local-ranks-filter 0,5 --bind none -- true
exact "local-ranks-filter beyond the job" "rankwrap[4@$H]: error: usage: --local-ranks-filter 5: the job has 5 ranks, so no node has a local rank above 4 and nothing of local rank 5 would ever be shown
hint: give local ranks below 5"
rm -rf "$WORK/logs"
expect_exit 0 "--redirects 3 --log_dir" clean_env "$RW" --nproc 2 --redirects 3 --log_dir "$WORK/logs" --bind none -- sh -c 'echo "out$RANK"'
quiet=$(printf '%s\n' "$OUT" | grep -v "warning: the logs of this run go to $WORK/logs/local-" || true)
[ -z "$quiet" ] && [ "$(cat "$WORK/logs/latest/1/stdout.log")" = out1 ] && pass "--redirects 3: logs only, console quiet" || fail "redirects: '$OUT' $(ls -R "$WORK/logs")"
rm -rf "$WORK/logs"
expect_exit 0 "--tee 3" clean_env "$RW" --nproc 1 --log-dir "$WORK/logs" --tee 3 --bind none -- sh -c 'echo "out$RANK"'
[ "$(printf '%s\n' "$OUT" | grep -v 'the logs of this run go to')" = out0 ] && [ "$(cat "$WORK/logs/latest/0/stdout.log")" = out0 ] && pass "--tee 3: logs and console" || fail "tee 3: '$OUT'"
expect_exit 2 "--redirects 1" clean_env "$RW" --nproc 1 --redirects 1 --log-dir "$WORK/logs" true
contains "--redirects 1: why" "--redirects '1': torchrun's stream selector; rankwrap --log-dir writes both stdout and stderr"
expect_exit 2 "--tee 2" clean_env "$RW" --nproc 1 -t 2 --log-dir "$WORK/logs" true
contains "--tee 2 refused" "-t '2'"
expect_exit 2 "--redirects 3 without --log-dir" clean_env "$RW" --nproc 1 --redirects 3 true
contains "asks for --log-dir" "hint: add --log-dir DIR"
expect_exit 2 "--max_restarts with a bad count" clean_env "$RW" --max_restarts many true
contains "--max_restarts is --max-restarts" "--max-restarts"

# srun's binding spellings.
topo=$RANKWRAP_SOURCE_DIR/tests/data/topologies/dell-xe8640-4xh100-spr.xml
expect_exit 0 "plan --gpu-bind map:" clean_env "$RW" plan --topology "$topo" --ranks-per-node 4 --gpu-bind map:3,2,1,0 --json
want=$OUT
expect_exit 0 "plan --gpu-bind=map_gpu:" clean_env "$RW" plan --topology "$topo" --ranks-per-node 4 --gpu-bind=map_gpu:3,2,1,0 --json
[ -n "$want" ] && [ "$OUT" = "$want" ] && pass "map_gpu:3,2,1,0 plans as map:3,2,1,0" || fail "map_gpu: $OUT"
expect_exit 0 "plan --cpu-bind ldoms" clean_env "$RW" plan --topology "$topo" --ranks-per-node 4 --cpu-bind numa --json
want=$OUT
expect_exit 0 "plan --cpu-bind=ldoms" clean_env "$RW" plan --topology "$topo" --ranks-per-node 4 --cpu-bind=ldoms --json
[ "$OUT" = "$want" ] && pass "ldoms plans as numa" || fail "ldoms: $OUT"
expect_exit 0 "--cpu-bind=verbose,cores" clean_env "$RW" --cpu-bind=verbose,cores -- true
contains "verbose is --report" "binding"
expect_exit 2 "--cpu-bind=map_ldom:" clean_env "$RW" --cpu-bind=map_ldom:0,1 true
contains "map_ldom: names it" "--cpu-bind 'map_ldom:0,1'"
contains "map_ldom: the fix" "hint: let srun bind and keep it: srun --cpu-bind=map_ldom:0,1 rankwrap --cpu-bind none PROGRAM"
# map_cpu:/mask_cpu: with srun's meaning: local rank i on item i, ID*N
# repeated, the list reused; OS CPU numbers.
expect_exit 0 "plan --cpu-bind=map_cpu:" clean_env "$RW" plan --topology "$topo" --ranks-per-node 4 --cpu-bind=verbose,map_cpu:0*2,0x1c --json
cpus=$(printf '%s\n' "$OUT" | python3 -c 'import json,sys; print(" ".join(r["cpus"] for r in json.load(sys.stdin)["ranks"]))')
[ "$cpus" = "0 0 28 0" ] && pass "map_cpu:0*2,0x1c on 4 ranks: $cpus" || fail "map_cpu: $cpus: $OUT"
expect_exit 0 "plan --cpu-bind mask_cpu:" clean_env "$RW" plan --topology "$topo" --ranks-per-node 2 --cpu-bind mask_cpu:3,0xf0000000000000000000000000000 --json
cpus=$(printf '%s\n' "$OUT" | python3 -c 'import json,sys; print(" ".join(r["cpus"]+"/"+",".join(map(str,r["numa_nodes"])) for r in json.load(sys.stdin)["ranks"]))')
[ "$cpus" = "0-1/0 112-115/0" ] && pass "mask_cpu:3,0xf<<112 on 2 ranks: $cpus" || fail "mask_cpu: $cpus: $OUT"
expect_exit 4 "map_cpu: a CPU the node does not have" clean_env "$RW" plan --topology "$topo" --ranks-per-node 2 --cpu-bind map_cpu:0,224
contains "map_cpu: names the item, the CPU and the allowed set" "--cpu-bind 'map_cpu:0,224' item 2: names CPU 224, which is not one of this node's allowed PUs 0-223"
contains "map_cpu: the fix" "hint: list only CPUs in 0-223"
expect_exit 2 "map_cpu: an empty item" clean_env "$RW" --cpu-bind=map_cpu:0,,1 true
contains "map_cpu: names the item and offset" "--cpu-bind 'map_cpu:0,,1': item 2 is empty (offset 10)"
expect_exit 2 "RANKWRAP_CPU_BIND=mask_cpu:0" clean_env RANKWRAP_CPU_BIND=mask_cpu:0 "$RW" true
contains "mask_cpu from the environment: names the variable" "RANKWRAP_CPU_BIND='mask_cpu:0': item 1 '0': the mask selects no CPU"
# Applied for real: each local rank runs on exactly its item (the first two
# CPUs this test may use, in reverse order).
mine=$(python3 -c 'import os; print(" ".join(map(str, sorted(os.sched_getaffinity(0))[:2])))')
read -r cpu_a cpu_b <<<"$mine"
if [ -n "${cpu_b:-}" ]; then
  expect_exit 0 "--cpu-bind map_cpu: applied" clean_env "$RW" --nproc 2 --cpu-bind "map_cpu:$cpu_b,$cpu_a" -- \
    sh -c 'echo "r$LOCAL_RANK $(sed -n "s/^Cpus_allowed_list:[[:space:]]*//p" /proc/self/status)"'
  got=$(printf '%s\n' "$OUT" | sort | tr '\n' ' ')
  [ "$got" = "r0 $cpu_b r1 $cpu_a " ] && pass "map_cpu:$cpu_b,$cpu_a applied: $got" || fail "map_cpu applied: $got: $OUT"
else
  fail "map_cpu applied: this test needs 2 CPUs, has '$mine'"
fi

# --ranks-filter (like every supervision option) turns supervision on: the
# program's parent is rankwrap, not whoever started rankwrap.
expect_exit 0 "--ranks-filter alone supervises" clean_env "$RW" --ranks-filter 0 --bind none -- sh -c 'cat /proc/$PPID/comm'
[ "$OUT" = rankwrap ] && pass "--ranks-filter without --nproc: supervised (parent: $OUT)" || fail "ranks-filter parent: $OUT"
expect_exit 0 "without it, exec" clean_env "$RW" --bind none -- sh -c 'cat /proc/$PPID/comm'
[ "$OUT" != rankwrap ] && pass "without supervision options: exec'd (parent: $OUT)" || fail "exec parent: $OUT"

# --version: the hwloc in use and the MPI modules found next to the binary.
expect_exit 0 "--version details" clean_env "$RW" --version
contains "hwloc version" "hwloc $(pkg-config --modversion hwloc)"
contains "MPI modules found" "openmpi ($(dirname "$(readlink -f "$RW")")/librankwrap_mpi_openmpi.so)"
contains "default MPI module" "MPI module for launchers that do not say which MPI: "

finish
