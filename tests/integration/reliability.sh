#!/usr/bin/env bash
# Faults and hostile conditions (issue 16): nothing of a job survives it
# whatever killed rankwrap, teardown never waits on output, output arrives
# as the program wrote it, files are created safely, every wait is bounded.
# Under Open MPI mpirun, MPICH mpiexec.hydra and --nproc/--supervise; the
# srun cases are in slurm.sh.
source "$(dirname "$0")/lib.sh"
RW=$RANKWRAP
cd "$WORK"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
OMPI=(mpirun.openmpi --oversubscribe --mca oob_tcp_if_include lo --mca btl_tcp_if_include lo)
CLEAN=(env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME="${HOME:-/root}" "${KEEP_ENV[@]}")
now() { date +%s.%N; }
since() { python3 -c "import sys; print(round($(now) - $1, 1))"; }
# Anchored: rankwrap's own command line holds the program's words too.
left() { pgrep -fc "^$1" || true; }
wait_gone() { for _ in $(seq 30); do [ "$(left "$1")" -eq 0 ] && return 0; sleep 0.1; done; return 1; }

# 1. Processes that outlive the job.
# Hydra, bootstrap: rank 2 fails, the others' programs sleep in a shell.
start=$(now)
set +e
timeout 60 mpiexec.hydra -np 4 "$RW" --bind none --nccl-bootstrap=mpi -- bash -c \
  'if [ "$RANK" = 2 ]; then sleep 1; exit 3; fi; sleep 3013; true' > hydra1.out 2>&1
rc=$?
set -e
wait_gone "sleep 3013" && [ "$rc" -eq 3 ] && pass "hydra: a failing rank ends the job in $(since "$start")s, no 'sleep 3013' left" \
  || fail "hydra orphans: rc $rc, left $(left 'sleep 3013'): $(cat hydra1.out)"
# ... and kill -9 of one wrapper: mpiexec.hydra returns, nothing left.
for L in hydra ompi; do
  if [ $L = hydra ]; then CMD=(mpiexec.hydra); else CMD=("${OMPI[@]}"); fi
  marker=30$((RANDOM % 90 + 10))
  timeout 60 "${CMD[@]}" -np 3 "$RW" --bind none --supervise -- bash -c "echo up; sleep $marker; true" > k9.out 2>&1 &
  mp=$!
  for _ in $(seq 100); do [ "$(left "sleep $marker")" -ge 3 ] && break; sleep 0.1; done
  # The wrapper: the parent of the keeper, the parent of the rank's shell.
  sleeper=$(pgrep -f "^sleep $marker" | head -1)
  shell=$(ps -o ppid= -p "$sleeper" | tr -d ' ')
  keeper=$(ps -o ppid= -p "$shell" | tr -d ' ')
  victim=$(ps -o ppid= -p "$keeper" | tr -d ' ')
  kill -9 "$victim"
  start=$(now)
  set +e; wait "$mp"; rc=$?; set -e
  took=$(since "$start")
  wait_gone "sleep $marker" && [ "$rc" -ne 124 ] && pass "$L: kill -9 of one wrapper: the launcher returns ($rc) in ${took}s, nothing left" \
    || fail "$L kill -9: rc $rc after ${took}s, left $(left "sleep $marker")"
done
# --nproc in the background, rankwrap SIGKILLed.
"${CLEAN[@]}" "$RW" --nproc 2 bash -c 'sleep 3021; true' &
p=$!
for _ in $(seq 50); do [ "$(left 'sleep 3021')" -ge 2 ] && break; sleep 0.1; done
kill -9 $p; wait $p 2>/dev/null || true
wait_gone "sleep 3021" && pass "--nproc: kill -9 of rankwrap leaves no rank's child" || fail "left $(left 'sleep 3021')"
# Open MPI mpirun, --supervise, one rank fails: the others' children go too.
set +e
timeout 60 "${OMPI[@]}" -np 3 "$RW" --bind none --supervise --grace 1 -- bash -c \
  'if [ "$OMPI_COMM_WORLD_RANK" = 1 ]; then sleep 1; exit 4; fi; (setsid sleep 3031 &); sleep 3032; true' > ompi1.out 2>&1
rc=$?
set -e
wait_gone "sleep 303[12]" && [ "$rc" -ne 0 ] && pass "mpirun: a failing rank, setsid'd grandchildren: nothing left (rc $rc)" \
  || fail "mpirun orphans: rc $rc, left $(pgrep -fa 'sleep 303[12]')"

# 2. A process group whose leader exited is still ended; so is a background child of a successful rank.
start=$(now)
set +e
clean_env "$RW" --nproc 2 --grace 2 bash -c 'if [ $RANK = 1 ]; then sleep 0.5; exit 3; fi; (trap "" TERM; sleep 3051; true) & wait' > g.out 2>&1
rc=$?
set -e
took=$(since "$start")
wait_gone "sleep 3051" && [ "$rc" -eq 3 ] && python3 -c "import sys; sys.exit(0 if $took < 6 else 1)" \
  && pass "a TERM-ignoring grandchild is SIGKILLed after the grace time (${took}s)" || fail "grace: rc $rc ${took}s left $(left 'sleep 3051')"
for mode in "--supervise" "--nproc 2"; do
  clean_env "$RW" $mode bash -c 'sleep 3052 & exit 0'
  wait_gone "sleep 3052" && pass "$mode: a background child of a rank that exited 0 is ended" || fail "$mode: left $(left 'sleep 3052')"
done
clean_env "$RW" --supervise bash -c 'setsid sleep 3053 & exit 0'
wait_gone "sleep 3053" && pass "a setsid'd child (new session) is ended too" || fail "setsid: left $(left 'sleep 3053')"

# 3. Teardown never waits on output.
start=$(now)
clean_env "$RW" --supervise --tag-output seq 400000 > seq.out
took=$(since "$start")
[ "$(wc -l < seq.out)" -eq 400000 ] && [ "$(head -1 seq.out)" = "[0 $(hostname)] 1" ] && python3 -c "import sys; sys.exit(0 if $took < 5 else 1)" \
  && pass "--tag-output: 400000 lines in ${took}s" || fail "seq: $(wc -l < seq.out) lines in ${took}s"
start=$(now)
set +e
clean_env timeout 30 "$RW" --nproc 2 --tag-output --grace 2 -- sh -c 'if [ $RANK = 1 ]; then sleep 0.5; exit 3; fi; exec yes' > /dev/null 2> yes.err
rc=$?
set -e
took=$(since "$start")
[ "$rc" -eq 3 ] && python3 -c "import sys; sys.exit(0 if $took < 5 else 1)" && pass "a rank printing 'yes' is stopped when another fails (${took}s)" \
  || fail "yes: rc $rc after ${took}s: $(tail -3 yes.err)"
# A stalled reader: the failing rank's peers are stopped at once; the output waits, bounded.
mkfifo stall.fifo
( exec 3<stall.fifo; sleep 6; cat <&3 > stall.out ) &
reader=$!
start=$(now)
"${CLEAN[@]}" "$RW" --nproc 2 --tag-output --grace 1 -- sh -c 'if [ $RANK = 1 ]; then sleep 0.5; exit 3; fi; exec yes rw3061' > stall.fifo 2>/dev/null &
rwp=$!
sleep 2.5
peers=$(left "yes rw3061")
keeper=$(pgrep -P "$rwp" | head -1)
rss=$(awk '/VmRSS/ {print $2}' "/proc/$keeper/status" 2>/dev/null || echo 0)
[ "$peers" -eq 0 ] && pass "stalled reader: the failing rank's peers were stopped within 2.5 s" || fail "stalled reader: $peers peers still run"
[ "${rss:-0}" -lt 51200 ] && pass "stalled reader: rankwrap's memory stays bounded (${rss} KiB)" || fail "memory: ${rss} KiB"
set +e; wait "$rwp"; rc=$?; set -e
wait "$reader" || true
[ "$rc" -eq 3 ] && grep -q "^\[0 $(hostname)\] rw3061$" stall.out && pass "the output arrives when the reader resumes; exit 3" || fail "stall: rc $rc"

# 4. Hydra: a rank that fails before MPI_Init does not leave the others in MPI_Init.
start=$(now)
set +e
out=$(timeout 40 mpiexec.hydra -np 1 "$RW" --bind none --nccl-bootstrap=mpi --bootstrap-timeout 5 -- sleep 30 : \
      -np 1 -env RANKWRAP_MASTER_PORT 0 "$RW" --bind none --nccl-bootstrap=mpi --bootstrap-timeout 5 -- sleep 30 2>&1)
rc=$?
set -e
took=$(since "$start")
[ "$rc" -ne 124 ] && [[ "$out" == *"timed out after 5 s in MPI_Init"* ]] && python3 -c "import sys; sys.exit(0 if $took < 15 else 1)" \
  && pass "hydra: MPI_Init is under --bootstrap-timeout (exit $rc after ${took}s)" || fail "MPI_Init: rc $rc after ${took}s: $out"

# 5. An external SIGTERM escalates to SIGKILL after the grace time.
"${CLEAN[@]}" "$RW" --nproc 2 --grace 1 -- sh -c 'trap "" TERM; echo up; exec sleep 3071' > ext.out 2>&1 &
p=$!
for _ in $(seq 50); do [ "$(grep -c up ext.out)" -eq 2 ] && break; sleep 0.1; done
start=$(now)
kill -TERM $p
set +e; wait $p; rc=$?; set -e
took=$(since "$start")
[ "$rc" -eq 143 ] && wait_gone "sleep 3071" && python3 -c "import sys; sys.exit(0 if $took < 4 else 1)" \
  && pass "external SIGTERM: ranks ignoring it are killed after --grace (exit 143 in ${took}s)" || fail "external TERM: rc $rc ${took}s"

# 6. Output arrives as the program wrote it.
python3 -c "import sys; sys.stdout.buffer.write(b'x' * 1000000)" > big.line
head -c 300000 /dev/urandom > blob.bin
for mode in "--supervise" "--nproc 1" "--supervise --log-dir $WORK/bl --tee"; do
  [ "$(clean_env "$RW" $mode printf abc)" = "abc" ] && [ "$(clean_env "$RW" $mode printf abc | wc -c)" -eq 3 ] \
    && pass "$mode: a final partial line stays as it is" || fail "$mode: partial line"
  clean_env "$RW" $mode cat "$WORK/big.line" > big.out
  cmp -s big.line big.out && pass "$mode: a 1 MB line arrives unchanged" || fail "$mode: 1 MB line: $(wc -c < big.out) bytes"
  clean_env "$RW" $mode cat "$WORK/blob.bin" > blob.out
  cmp -s blob.bin blob.out && pass "$mode: binary data arrives unchanged" || fail "$mode: binary data"
done
cmp -s blob.bin bl/latest/0/stdout.log && pass "--log-dir: the log holds the program's bytes" || fail "log bytes"
# With tags: prefixes at line starts only; a partial line (a prompt, a '\r' progress bar) shows before its newline.
"${CLEAN[@]}" "$RW" --nproc 1 --tag-output -- sh -c 'printf "prompt> "; sleep 1.5; printf "\r50%%"; sleep 1.5; echo' > tag.out &
p=$!
sleep 1
first=$(cat tag.out)
wait $p
[ "$first" = "[0 $(hostname)] prompt> " ] && pass "--tag-output: a partial line is shown after a short delay" || fail "partial: '$first'"
[ "$(cat tag.out)" = "[0 $(hostname)] prompt> "$'\r'"50%" ] && pass "--tag-output: one prefix per line, bytes kept" || fail "tagged: $(od -c tag.out | head -3)"

# 7. Interactive use: rank 0 reads the terminal; the job is in the foreground.
if command -v script > /dev/null; then
  out=$(printf 'hello-tty\n' | timeout 20 script -qec "$RW --supervise python3 -c 'print(\"got\", input())'" /dev/null 2>&1 | tr -d '\r' || true)
  [[ "$out" == *"got hello-tty"* ]] && pass "--supervise under a terminal: rank 0 reads stdin (no SIGTTIN hang)" || fail "tty: $out"
  out=$(printf 'hello-tty\n' | timeout 20 script -qec "$RW --nproc 2 --tag-output python3 -c 'import os; r = os.environ[\"RANK\"]; print(\"got\", r, input() if r == \"0\" else os.readlink(\"/proc/self/fd/0\"))'" /dev/null 2>&1 | tr -d '\r' || true)
  [[ "$out" == *"got 0 hello-tty"* && "$out" == *"got 1 /dev/null"* ]] && pass "--nproc under a terminal: rank 0 gets stdin, rank 1 reads /dev/null" || fail "tty nproc: $out"
else
  fail "script (util-linux) missing"
fi

# 8. Supervision options are applied wherever they are given.
clean_env "$RW" --log-dir "$WORK/plain" -- sh -c 'echo plain-out' > /dev/null
[ "$(cat plain/latest/0/stdout.log)" = "plain-out" ] && pass "--log-dir without --supervise: applied" || fail "plain log-dir"
# --grace alone: supervised (a background child of the program is ended after it).
clean_env "$RW" --grace 1 -- bash -c 'sleep 3095 & exit 0'
wait_gone "sleep 3095" && pass "--grace without --supervise: applied" || fail "--grace alone: left $(left 'sleep 3095')"
for opt in "--tag-output" "--ranks-filter 0" "--signal-map USR1:TERM" "--failure-file $WORK/ff8.json"; do
  clean_env "$RW" $opt -- bash -c 'sleep 3096 & exit 0' > /dev/null
  wait_gone "sleep 3096" && pass "$opt without --supervise: supervised" || fail "$opt alone: left $(left 'sleep 3096')"
done
set +e
timeout 60 "${OMPI[@]}" -np 2 "$RW" --bind none --nccl-bootstrap=mpi --log-dir "$WORK/blogs" --tag-output --failure-file "$WORK/bfail.json" -- \
  sh -c 'echo boot-$RANK; [ "$RANK" = 1 ] && exit 9; sleep 30' > boot.out 2>&1
rc=$?
set -e
[ "$rc" -eq 9 ] && [ "$(cat blogs/latest/1/stdout.log)" = "boot-1" ] && python3 -c "import json; d=json.load(open('$WORK/bfail.json')); assert d['rank']==1 and d['exit_code']==9" \
  && pass "--nccl-bootstrap=mpi with --log-dir/--failure-file: both written" || fail "bootstrap supervision: rc $rc $(cat boot.out)"

# 9. --failure-file: refused when it cannot be written; stale files removed; a successful restart removes it.
for bad in "$WORK/no/such/dir/f.json" "$WORK"; do
  set +e
  out=$(clean_env "$RW" --supervise --failure-file "$bad" -- touch "$WORK/ran9" 2>&1); rc=$?
  set -e
  [ "$rc" -eq 2 ] && [[ "$out" == *"--failure-file '$bad'"* ]] && [ ! -e ran9 ] && pass "--failure-file $bad: refused before running" || fail "ff $bad: $rc $out"
done
echo stale > stale.json
clean_env "$RW" --supervise --failure-file "$WORK/stale.json" -- true
[ ! -e stale.json ] && pass "a failure file of an earlier run is removed by a success" || fail "stale failure file kept"
set +e
clean_env "$RW" --nproc 2 --max-restarts 1 --failure-file "$WORK/r.json" -- sh -c '[ "$RANKWRAP_RESTART_COUNT" = 0 ] && [ $RANK = 0 ] && exit 5; exit 0' 2>/dev/null
rc=$?
set -e
[ "$rc" -eq 0 ] && [ ! -e r.json ] && pass "after a successful restart no failure file describes attempt 0" || fail "restart ff: rc $rc $(cat r.json 2>/dev/null)"

# 10. --log-dir in a shared directory: no write through a planted link, no foreign directory.
mkdir -p shared/logs && echo precious > precious.txt && ln -s "$WORK/precious.txt" shared/logs/latest
clean_env "$RW" --nproc 1 --log-dir "$WORK/shared/logs" -- echo written > /dev/null 2>&1
[ "$(cat precious.txt)" = "precious" ] && [ -L shared/logs/latest ] && [ "$(cat shared/logs/latest/0/stdout.log)" = "written" ] \
  && pass "a planted DIR/latest symlink is replaced, its target untouched" || fail "symlink: $(cat precious.txt) $(ls -l shared/logs)"
if [ "$(id -u)" = 0 ]; then
  mkdir -p foreign && chown nobody foreign
  set +e
  out=$(clean_env "$RW" --nproc 1 --log-dir "$WORK/foreign" -- touch "$WORK/ran10" 2>&1); rc=$?
  set -e
  [ "$rc" -eq 2 ] && [[ "$out" == *"belongs to user"* ]] && [ ! -e ran10 ] && pass "a --log-dir owned by another user is refused" || fail "foreign: $rc $out"
  ln -s "$WORK/plain" linkdir
  set +e
  out=$(clean_env "$RW" --nproc 1 --log-dir "$WORK/linkdir" -- true 2>&1); rc=$?
  set -e
  [ "$rc" -eq 2 ] && [[ "$out" == *"symbolic link"* ]] && pass "a --log-dir that is a symlink is refused" || fail "link dir: $rc $out"
else
  fail "not root: the foreign-owner case needs chown"
fi

# 12. SIGPIPE where the wrapper writes to its keeper: the designed exit, not 141.
if "$RW" --version | grep -q "with test hooks"; then
  pidfile="$WORK/p12.pid"
  ( set +e
    RANKWRAP_TEST_STALL_RANK=0 RANKWRAP_TEST_STALL_SECONDS=2 RANKWRAP_TEST_STALL_PIDFILE="$pidfile" timeout 30 \
      mpiexec.hydra -np 1 "$RW" --bind none --nccl-bootstrap=mpi -- true > p12.out 2>&1
    echo $? > p12.rc ) &
  for _ in $(seq 100); do [ -s "$pidfile" ] && break; sleep 0.1; done
  pkill -KILL -P "$(cat "$pidfile")" -f rankwrap || true
  wait
  rc=$(cat p12.rc)
  [ "$rc" -ne 141 ] && [ "$rc" -ne 0 ] && grep -q "keeper process is gone" p12.out && pass "keeper gone before release: exit $rc with a message, not SIGPIPE" \
    || fail "sigpipe: rc $rc $(cat p12.out)"
else
  fail "$RW was built without -DRANKWRAP_TEST_HOOKS=ON"
fi

# 13/14. --ranks-filter outside the job; one rank: no "other ranks" line.
set +e
out=$(clean_env "$RW" --nproc 2 --ranks-filter 5 -- touch "$WORK/ran13" 2>&1); rc=$?
set -e
[ "$rc" -eq 2 ] && [[ "$out" == *"--ranks-filter 5: the job has ranks 0-1"* ]] && [ ! -e ran13 ] && pass "--ranks-filter 5 with 2 ranks: refused" || fail "filter: $rc $out"
set +e
out=$(clean_env "$RW" --supervise -- sh -c 'exit 4' 2>&1); rc=$?
set -e
[ "$rc" -eq 4 ] && [[ "$out" == *"rank 0 failed first"* && "$out" != *"other ranks"* ]] && pass "one rank: the summary does not mention other ranks" || fail "one rank: $out"

# 15/17. A signal from outside during the restart back-off ends the job at
# once, with no further attempt: a stop (TERM) with the signal's exit code;
# a warning (USR1, Slurm's --signal=USR1@T before the time limit: no rank
# runs to checkpoint, and a new attempt would be cut off) with the failed
# attempt's code.
backoff_signal() {  # backoff_signal SIG EXPECTED_RC MESSAGE
  local sig=$1 want=$2 msg=$3 p rc start took
  rm -f "bo.$sig.attempts"
  "${CLEAN[@]}" "$RW" --nproc 2 --max-restarts 3 --restart-backoff 30 --grace 1 -- \
    sh -c "echo \$RANKWRAP_RESTART_COUNT >> '$WORK/bo.$sig.attempts'; [ \$RANK = 1 ] && { sleep 0.5; exit 6; }; exec sleep 30" \
    > "bo.$sig.out" 2>&1 &
  p=$!
  for _ in $(seq 200); do grep -q "restarting every rank" "bo.$sig.out" && break; sleep 0.1; done
  start=$(now)
  kill -"$sig" $p || true
  set +e; wait $p; rc=$?; set -e
  took=$(since "$start")
  [ "$rc" -eq "$want" ] && python3 -c "import sys; sys.exit(0 if $took < 3 else 1)" && [ "$(sort -u "bo.$sig.attempts")" = "0" ] \
    && grep -q "$msg" "bo.$sig.out" \
    && pass "SIG$sig during --restart-backoff 30: exit $want in ${took}s, no further attempt" \
    || fail "back-off $sig: rc $rc ${took}s attempts $(sort -u "bo.$sig.attempts" | tr '\n' ' '): $(cat "bo.$sig.out")"
}
backoff_signal TERM 143 "stopped by SIGTERM during the restart back-off: restart 1 not started"
backoff_signal USR1 6 "SIGUSR1 arrived during the restart back-off: restart 1 not started"
# 16. Ranks that end in the same instant are reaped in one turn: every exit
# counts, so a failure among them is never lost (it once was: the attempt
# ended after the first exit, and the job could report success). 30 runs of
# 4 ranks that exit at once, rank 3 with code 6.
bad=0
for i in $(seq 30); do
  set +e; "${CLEAN[@]}" "$RW" --nproc 4 --grace 1 -- sh -c '[ "$RANK" = 3 ] && exit 6; exit 0' > same.out 2>&1; rc=$?; set -e
  if [ "$rc" -ne 6 ] || ! grep -q "rank 3 failed first: it exited with code 6" same.out; then bad=$((bad + 1)); last="rc $rc: $(cat same.out)"; fi
done
[ "$bad" -eq 0 ] && pass "4 ranks ending at once, rank 3 with code 6: exit 6 and rank 3 named in 30 of 30 runs" \
  || fail "simultaneous exits: $bad of 30 runs wrong; last: $last"
finish
