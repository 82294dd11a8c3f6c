#!/usr/bin/env bash
# The pre-flight check of the real binary (docs/preflight.md): `rankwrap
# preflight` on this node, a failing --preflight-cmd (its exit code and
# output in the table, exit 8), a MASTER_PORT nobody listens on seen from
# node 1 of a fake 2-node Slurm step (the interface and the fix named, the
# sbatch exclusion), and --preflight before a program (not started on failure).
source "$(dirname "$0")/lib.sh"
RW=$RANKWRAP

expect_exit() {
  local code=$1 name=$2; shift 2
  set +e; OUT=$("$@" 2>&1); local rc=$?; set -e
  if [ "$rc" -eq "$code" ]; then pass "$name (exit $rc)"; else fail "$name: exit $rc, expected $code: $OUT"; fi
}
contains() { local name=$1 needle=$2; [[ "$OUT" == *"$needle"* ]] && pass "$name" || fail "$name: no '$needle' in: $OUT"; }
lacks() { local name=$1 needle=$2; [[ "$OUT" != *"$needle"* ]] && pass "$name" || fail "$name: '$needle' in: $OUT"; }

# The checks below need /dev/shm of at least 512 MiB here: say so, do not skip.
free_kib=$(df -Pk /dev/shm | awk 'NR == 2 { print $4 }')
[ "${free_kib:-0}" -ge $((512 * 1024)) ] || fail "this machine's /dev/shm has ${free_kib:-0} KiB free: the passing checks need 512 MiB"
host=$(hostname)
# A port nobody listens on: bound and released by the kernel's choice just now.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

expect_exit 0 "preflight --help" clean_env "$RW" preflight --help
contains "preflight help names the exit code" "8 (a check failed)"

# 1. A passing standalone check: the node's table on stdout, exit 0.
expect_exit 0 "standalone preflight passes" clean_env "$RW" preflight --bind none
contains "one node checked" "pre-flight: 1 node checked, 0 bad"
contains "shm checked" "ok   shm: /dev/shm: "
contains "all passed" "every node passed"
# Rank 0 runs here: rankwrap holds and listens on MASTER_PORT, and connects to it.
expect_exit 0 "standalone with a port: rank 0's node listens during the check" \
  clean_env "$RW" preflight --bind none --master-addr 127.0.0.1 --master-port "$port"
contains "the connect names the interface" "ok   master: connected to 127.0.0.1:$port over interface lo"

# 2. A failing --preflight-cmd: its code and output in the table, exit 8.
expect_exit 8 "failing --preflight-cmd" clean_env "$RW" preflight --bind none --preflight-cmd 'echo ib0 is down; exit 3'
contains "the command's exit code and output" "FAIL preflight-cmd: 'echo ib0 is down; exit 3' exited with 3: ib0 is down"
contains "its fix" "fix: the command's output says what this node lacks"
contains "the bad node named" "node 0 ($host):"
expect_exit 8 "RANKWRAP_PREFLIGHT_CMD" clean_env RANKWRAP_PREFLIGHT_CMD='exit 5' "$RW" preflight --bind none
contains "env form used" "exited with 5"
expect_exit 2 "empty --preflight-cmd" clean_env "$RW" preflight --preflight-cmd ''
contains "names the option" "--preflight-cmd ''"
expect_exit 2 "a program after preflight" clean_env "$RW" preflight true
contains "says preflight runs nothing" "'true' after 'rankwrap preflight'"

# 3. Node 1 of a fake 2-node Slurm step: rank 0's MASTER_PORT does not answer.
SLURM=(SLURM_JOB_ID=17 SLURM_STEP_ID=0 SLURM_PROCID=1 SLURM_LOCALID=0 SLURM_NODEID=1
       "SLURM_STEP_NODELIST=node1,$host" SLURM_STEP_NUM_NODES=2 SLURM_STEP_NUM_TASKS=2
       "SLURM_STEP_TASKS_PER_NODE=1(x2)")
start=$(date +%s)
expect_exit 8 "MASTER_PORT nobody listens on" clean_env "${SLURM[@]}" "$RW" preflight --bind none \
  --master-addr 127.0.0.1 --master-port "$port"
[ $(( $(date +%s) - start )) -le 5 ] && pass "fails within seconds" || fail "slow: $(( $(date +%s) - start )) s"
contains "node 1 named" "node 1 ($host):"
contains "the connect, the interface" "FAIL master: cannot connect to MASTER_ADDR:MASTER_PORT 127.0.0.1:$port over interface lo (from 127.0.0.1): Connection refused"
contains "the fix" "fix: nothing listens there: check that MASTER_ADDR is rank 0's host"
contains "the slurm exclusion" "sbatch --exclude=$host"

# 4. --preflight before a program: a failed check stops it before it starts.
expect_exit 8 "--nproc with a failing --preflight-cmd" clean_env "$RW" --nproc 2 --bind none \
  --preflight-cmd 'echo no scratch >&2; exit 1' -- sh -c "touch $WORK/started"
contains "the table on stderr" "FAIL preflight-cmd:"
contains "the error line" "error: preflight: node 0 ($host) failed the pre-flight check"
[ ! -e "$WORK/started" ] && pass "the program did not start" || fail "the program started after a failed pre-flight"
expect_exit 0 "--nproc --preflight passing" clean_env "$RW" --nproc 2 --bind none --preflight -- sh -c "touch $WORK/ran"
[ -e "$WORK/ran" ] && pass "the program ran after a passing pre-flight" || fail "the program did not run: $OUT"
lacks "no table when every check passed" "pre-flight:"
# The program never inherits the pre-flight's variables (a nested rankwrap would check again).
expect_exit 0 "RANKWRAP_PREFLIGHT_CMD not passed on" clean_env RANKWRAP_PREFLIGHT_CMD=true RANKWRAP_PREFLIGHT=1 \
  "$RW" --nproc 1 --bind none -- sh -c 'env | grep ^RANKWRAP_PREFLIGHT || true'
lacks "no RANKWRAP_PREFLIGHT* in the program's environment" "RANKWRAP_PREFLIGHT"
expect_exit 8 "--preflight without a keeper (exec)" clean_env "$RW" --bind none --preflight-cmd 'exit 2' true
contains "exec path checked" "exited with 2"
finish
