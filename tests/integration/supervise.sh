#!/usr/bin/env bash
# rankwrap --nproc / --supervise with real processes: the contract in each
# rank, tagged output and logs, gang stop on failure with a summary naming
# the first failure, signals, restarts, and torchrun side by side.
source "$(dirname "$0")/lib.sh"
RW=$RANKWRAP
PY=/usr/bin/python3
cd "$WORK"
# For background runs: the command itself is the background process (a shell
# function would put a subshell between, and signals would go to it).
CLEAN=(env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME="${HOME:-/root}" "${KEEP_ENV[@]}")

# 1. Four ranks of a shell program and of a Python program: the contract.
out=$(clean_env "$RW" --nproc 4 --tag-output -- sh -c 'echo "R=$RANK W=$WORLD_SIZE L=$LOCAL_RANK LW=$LOCAL_WORLD_SIZE N=$NODE_RANK/$NUM_NODES M=$MASTER_ADDR:$MASTER_PORT X=$RANKWRAP_LAUNCHER"')
host=$(hostname)
good=0
for r in 0 1 2 3; do
  printf '%s\n' "$out" | grep -qE "^\[$r $host\] R=$r W=4 L=$r LW=4 N=0/1 M=127\.0\.0\.1:[0-9]+ X=standalone$" && good=$((good + 1))
done
ports=$(printf '%s\n' "$out" | sed -n 's/.*M=127.0.0.1:\([0-9]*\).*/\1/p' | sort -u | wc -l)
[ "$good" -eq 4 ] && [ "$ports" -eq 1 ] && pass "shell program: 4 ranks, tagged lines, one MASTER_PORT" || fail "shell: $out"
out=$(clean_env "$RW" --nproc 4 -- $PY -c 'import os; print("py", os.environ["RANK"], os.environ["WORLD_SIZE"], os.environ["LOCAL_RANK"], os.environ["MASTER_ADDR"])' | sort)
[ "$out" = $'py 0 4 0 127.0.0.1\npy 1 4 1 127.0.0.1\npy 2 4 2 127.0.0.1\npy 3 4 3 127.0.0.1' ] && pass "Python program: 4 ranks" || fail "python: $out"

# Lines never mix: 4 ranks write 2000 long lines each at once.
clean_env "$RW" --nproc 4 --tag-output -- $PY -c '
import os, sys
r = os.environ["RANK"]
for i in range(2000):
    sys.stdout.write(f"{r}:{i}:" + r * 300 + "\n")' > "$WORK/mix.out"
bad=$(grep -cvE '^\[([0-3]) [^]]+\] \1:[0-9]+:\1{300}$' "$WORK/mix.out" || true)
total=$(wc -l < "$WORK/mix.out")
[ "$bad" -eq 0 ] && [ "$total" -eq 8000 ] && pass "8000 lines from 4 ranks, none mixed" || fail "mixed lines: $bad of $total"

# Log files (and --tee), --ranks-filter.
out=$(clean_env "$RW" --nproc 2 --log-dir "$WORK/logs" --tee -- sh -c 'echo out-$RANK; echo err-$RANK >&2' 2>&1)
[ "$(cat "$WORK/logs/latest/1/stdout.log")" = "out-1" ] && [ "$(cat "$WORK/logs/latest/0/stderr.log")" = "err-0" ] \
  && pass "--log-dir writes <run>/<rank>/stdout.log and stderr.log" || fail "logs: $(ls -R "$WORK/logs")"
[[ "$out" == *out-0* && "$out" == *err-1* ]] && pass "--tee keeps the console" || fail "tee: $out"
out=$(clean_env "$RW" --nproc 2 --log-dir "$WORK/logs2" -- sh -c 'echo quiet-$RANK')
[ -z "$out" ] && [ "$(cat "$WORK/logs2/latest/0/stdout.log")" = "quiet-0" ] && pass "--log-dir without --tee: console quiet" || fail "quiet: $out"
out=$(clean_env "$RW" --nproc 4 --ranks-filter 0,3 -- sh -c 'echo only-$RANK' | sort | tr '\n' ' ')
[ "$out" = "only-0 only-3 " ] && pass "--ranks-filter 0,3" || fail "filter: $out"
out=$(clean_env "$RW" --nproc 4 --local-ranks-filter 1,2 -- sh -c 'echo local-$LOCAL_RANK' | sort | tr '\n' ' ')
[ "$out" = "local-1 local-2 " ] && pass "--local-ranks-filter 1,2" || fail "local filter: $out"

# Two runs into one --log-dir: each gets its own run directory (no job id
# here: local-DATE-TIME-PID), DIR/latest points at the newer one, and rank
# 0's rankwrap says where the logs go.
err=$(clean_env "$RW" --nproc 2 --log-dir "$WORK/two" -- sh -c 'echo first-$RANK' 2>&1 >/dev/null)
first=$(readlink "$WORK/two/latest")
clean_env "$RW" --nproc 2 --log-dir "$WORK/two" -- sh -c 'echo second-$RANK' 2>/dev/null
second=$(readlink "$WORK/two/latest")
runs=$(cd "$WORK/two" && ls -d local-* | wc -l)
[ "$runs" -eq 2 ] && [ "$first" != "$second" ] && [[ "$first" == local-* ]] \
  && [ "$(cat "$WORK/two/$first/1/stdout.log")" = "first-1" ] && [ "$(cat "$WORK/two/$second/1/stdout.log")" = "second-1" ] \
  && pass "two runs into one --log-dir keep both runs' files ($first, $second)" || fail "two runs: $(ls -lR "$WORK/two")"
[[ "$err" == *"warning: the logs of this run go to $WORK/two/$first/ ($WORK/two/latest points there)"* ]] \
  && pass "--log-dir: where the logs go is said once" || fail "log-dir notice: $err"
[ "$(printf '%s\n' "$err" | grep -c 'the logs of this run')" -eq 1 ] || fail "log-dir notice not once: $err"
# A DIR/latest that is not a link is the user's: left as it is, with a word.
mkdir -p "$WORK/mine" && echo mine > "$WORK/mine/latest"
err=$(clean_env "$RW" --nproc 2 --log-dir "$WORK/mine" -- sh -c 'echo run-$RANK' 2>&1 >/dev/null)
run=$(cd "$WORK/mine" && ls -d local-*)
[ ! -L "$WORK/mine/latest" ] && [ "$(cat "$WORK/mine/latest")" = mine ] && [ "$(cat "$WORK/mine/$run/1/stdout.log")" = run-1 ] \
  && [[ "$err" == *"the logs of this run go to $WORK/mine/$run/; --log-dir '$WORK/mine/latest' was not updated: it is a regular file, not a symbolic link"*"move it away"* ]] \
  && pass "a regular file DIR/latest is left as it is, with a word" || fail "latest file: $err $(ls -l "$WORK/mine")"

# 2. One rank exits 7: the others are stopped within the grace time.
start=$(date +%s.%N)
set +e
out=$(clean_env "$RW" --nproc 4 --grace 2 --failure-file "$WORK/failure.json" -- \
      sh -c 'trap "" TERM; if [ $RANK = 2 ]; then sleep 0.3; exit 7; fi; exec sleep 100' 2>&1)
rc=$?
set -e
took=$(python3 -c "import time; print(round(time.time() - $start, 1))")
[ "$rc" -eq 7 ] && pass "exit code 7 from the failing rank" || fail "rc $rc: $out"
python3 -c "import sys; sys.exit(0 if $took < 10 else 1)" && pass "others stopped within the grace time (${took}s, grace 2s)" || fail "took ${took}s"
[[ "$out" == *"rank 2 failed first: it exited with code 7"* ]] && pass "summary names rank 2 and code 7" || fail "summary: $out"
python3 - "$WORK/failure.json" <<'PY' && pass "--failure-file JSON" || fail "failure file: $(cat "$WORK/failure.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["rank"] == 2 and d["exit_code"] == 7 and d["signal"] is None and d["wrapper_exit_code"] == 7, d
PY
# The others ignored SIGTERM: they were SIGKILLed after the grace time. (Here
# they were "exec sleep"; "trap '' TERM" is inherited as ignored.)
for sig in KILL SEGV; do
  set +e
  out=$(clean_env "$RW" --nproc 2 --grace 2 -- sh -c "if [ \$RANK = 1 ]; then kill -$sig \$\$; fi; exec sleep 100" 2>&1)
  rc=$?
  set -e
  want=$((128 + $(kill -l $sig)))
  [ "$rc" -eq "$want" ] && [[ "$out" == *"rank 1 failed first: it was killed by SIG$sig"* ]] \
    && pass "a rank killed by SIG$sig: named, exit $rc" || fail "SIG$sig: rc $rc: $out"
done

# 3. SIGTERM to rankwrap: every child gets it; they handle it and exit 0, so
# the job's code is theirs (0: a checkpoint-and-exit reads as success).
marker="rwsup-$$"
"${CLEAN[@]}" "$RW" --nproc 3 -- sh -c "trap 'echo got-TERM-\$RANK; exit 0' TERM; echo up-\$RANK; while :; do sleep 0.1; done; : $marker" > "$WORK/term.out" 2>&1 &
pid=$!
for _ in $(seq 50); do [ "$(grep -c '^up-' "$WORK/term.out")" -eq 3 ] && break; sleep 0.1; done
kill -TERM "$pid"
set +e; wait "$pid"; rc=$?; set -e
[ "$rc" -eq 0 ] && pass "SIGTERM to rankwrap, handled by the ranks: exit 0 (theirs)" || fail "TERM: rc $rc"
[ "$(grep -c '^got-TERM-' "$WORK/term.out")" -eq 3 ] && pass "every child got SIGTERM" || fail "children: $(cat "$WORK/term.out")"
sleep 0.3
[ "$(pgrep -fc "$marker" || true)" -eq 0 ] && pass "nothing left in /proc" || fail "left: $(pgrep -fa "$marker")"

# --signal-map USR1:TERM delivers TERM.
"${CLEAN[@]}" "$RW" --nproc 2 --signal-map USR1:TERM -- sh -c "trap 'echo got-TERM-\$RANK; exit 0' TERM; trap 'echo got-USR1-\$RANK; exit 0' USR1; echo up-\$RANK; while :; do sleep 0.1; done" > "$WORK/map.out" 2>&1 &
pid=$!
for _ in $(seq 50); do [ "$(grep -c '^up-' "$WORK/map.out")" -eq 2 ] && break; sleep 0.1; done
kill -USR1 "$pid"
set +e; wait "$pid"; set -e
[ "$(grep -c '^got-TERM-' "$WORK/map.out")" -eq 2 ] && ! grep -q got-USR1 "$WORK/map.out" \
  && pass "--signal-map USR1:TERM delivers TERM" || fail "signal-map: $(cat "$WORK/map.out")"

# A second INT within one second kills at once (children ignoring INT).
"${CLEAN[@]}" "$RW" --nproc 2 -- sh -c "trap '' INT; echo up-\$RANK; exec sleep 100" > "$WORK/int.out" 2>&1 &
pid=$!
for _ in $(seq 50); do [ "$(grep -c '^up-' "$WORK/int.out")" -eq 2 ] && break; sleep 0.1; done
kill -INT "$pid"; sleep 0.2; kill -INT "$pid"
start=$(date +%s)
set +e; wait "$pid"; rc=$?; set -e
[ "$rc" -eq 130 ] && [ $(( $(date +%s) - start )) -le 3 ] && pass "a second SIGINT within 1 s kills at once (exit $rc)" || fail "double INT: rc $rc"

# 4. --max-restarts 2: rank 0 fails on attempts 0 and 1 (after every rank
# printed), everything succeeds on attempt 2.
set +e
out=$(clean_env "$RW" --nproc 2 --max-restarts 2 --grace 2 --log-dir "$WORK/rlogs" -- \
      sh -c 'echo "attempt $RANKWRAP_RESTART_COUNT"; [ "$RANKWRAP_RESTART_COUNT" = 2 ] && exit 0
             if [ "$RANK" = 0 ]; then sleep 1; exit 5; fi; exec sleep 30' 2>&1)
rc=$?
set -e
[ "$rc" -eq 0 ] && pass "--max-restarts 2: exit 0 on the third attempt" || fail "restarts: rc $rc: $out"
[ "$(cat "$WORK/rlogs/latest/attempt-0/1/stdout.log")" = "attempt 0" ] && [ "$(cat "$WORK/rlogs/latest/attempt-1/0/stdout.log")" = "attempt 1" ] \
  && [ "$(cat "$WORK/rlogs/latest/attempt-2/1/stdout.log")" = "attempt 2" ] \
  && pass "each attempt's logs kept apart, RANKWRAP_RESTART_COUNT seen" || fail "attempt logs: $(ls -R "$WORK/rlogs")"
[[ "$out" == *"rank 0 failed first: it exited with code 5"*"(attempt 0)"*"restarting every rank (restart 1 of 2)"* ]] \
  && pass "each restart is announced with the failure that caused it" || fail "restart messages: $out"

# 5. Bad input.
set +e
out=$(clean_env "$RW" --nproc 0 true 2>&1); rc=$?
set -e
[ "$rc" -eq 2 ] && [[ "$out" == *"--nproc 0"* ]] && pass "--nproc 0 refused" || fail "nproc 0: $out"
set +e
out=$(clean_env SLURM_JOB_ID=1 SLURM_STEP_ID=0 SLURM_PROCID=0 SLURM_LOCALID=0 SLURM_NODEID=0 SLURM_STEP_NODELIST=n1 \
      SLURM_STEP_NUM_NODES=1 SLURM_STEP_NUM_TASKS=2 SLURM_STEP_TASKS_PER_NODE=2 "$RW" --nproc 4 -- touch "$WORK/ran" 2>&1); rc=$?
set -e
[ "$rc" -eq 2 ] && [[ "$out" == *"slurm started 2 tasks on this node and each asks for --nproc 4 (8 processes)"* ]] && [ ! -e "$WORK/ran" ] \
  && pass "--nproc under an srun with 2 tasks per node: refused (double launch)" || fail "double launch: $rc $out"

# 6. The same failing script under torchrun and under rankwrap.
cat > "$WORK/fail.py" <<'PY'
import os, sys, time
rank = int(os.environ["RANK"])
print(f"rank {rank} starting", flush=True)
if rank == 1:
    time.sleep(0.5)
    sys.exit(7)
time.sleep(60)
PY
if command -v torchrun >/dev/null; then
  start=$(date +%s.%N)
  set +e
  # Debian's torch 1.13 on Python 3.11 crashes with the default --redirects 0; 1 works.
  clean_env timeout 120 torchrun --standalone --nproc_per_node 4 --redirects 1 --tee 1 "$WORK/fail.py" > "$WORK/torchrun.out" 2>&1
  trc=$?
  set -e
  ttook=$(python3 -c "import time; print(round(time.time() - $start, 1))")
  start=$(date +%s.%N)
  set +e
  clean_env "$RW" --nproc 4 -- $PY "$WORK/fail.py" > "$WORK/rankwrap.out" 2>&1
  rrc=$?
  set -e
  rtook=$(python3 -c "import time; print(round(time.time() - $start, 1))")
  grep -q "exitcode  : 7" "$WORK/torchrun.out" && pass "torchrun: reports exitcode 7 of rank 1, exits $trc after ${ttook}s" \
    || fail "torchrun output: $(tail -5 "$WORK/torchrun.out")"
  [ "$rrc" -eq 7 ] && grep -q "rank 1 failed first: it exited with code 7" "$WORK/rankwrap.out" \
    && pass "rankwrap: names rank 1 and exits 7 after ${rtook}s" || fail "rankwrap: $rrc $(cat "$WORK/rankwrap.out")"
  echo "--- torchrun ---"; tail -12 "$WORK/torchrun.out"; echo "--- rankwrap ---"; cat "$WORK/rankwrap.out"
else
  fail "torchrun missing (apt-get install python3-torch)"
fi

# 7. PyTorch under rankwrap --nproc 4.
out=$(clean_env "$RW" --nproc 4 --bind none -- $PY "$RANKWRAP_SOURCE_DIR/examples/torch_allreduce.py" 2>&1)
[ "$(printf '%s\n' "$out" | grep -c 'sum 10 OK')" -eq 4 ] && pass "PyTorch gloo all-reduce under rankwrap --nproc 4" || fail "torch nproc: $out"
# 8. Error files: every rank gets TORCHELASTIC_ERROR_FILE (per attempt, under
#    --log-dir with the logs); torch's @record writes the exception there and
#    the summary and --failure-file carry its message and traceback.
out=$(clean_env "$RW" --nproc 2 --bind none --max-restarts 1 --log-dir "$WORK/errlogs" --tee -- bash -c 'echo "$TORCHELASTIC_ERROR_FILE"' 2>/dev/null)
run="$WORK/errlogs/$(readlink "$WORK/errlogs/latest")"
[ "$out" = "$run/attempt-0/0/error.json"$'\n'"$run/attempt-0/1/error.json" ] \
  || [ "$out" = "$run/attempt-0/1/error.json"$'\n'"$run/attempt-0/0/error.json" ] \
  && pass "TORCHELASTIC_ERROR_FILE per rank and attempt under --log-dir" || fail "error file paths: $out"
rm -f "$WORK/record.json"
set +e
out=$(clean_env "$RW" --nproc 2 --bind none --grace 1 --failure-file "$WORK/record.json" -- \
      $PY "$RANKWRAP_SOURCE_DIR/examples/torch_record_fail.py" 2>&1)
rc=$?
set -e
[ "$rc" -eq 1 ] && [[ "$out" == *"rank 1 failed first"*"error: RuntimeError: checkpoint shard 1 is corrupt"*"in load_checkpoint"* ]] \
  && pass "@record: the summary names the exception and its traceback" || fail "@record summary: rc $rc: $out"
python3 - "$WORK/record.json" <<'PY' && pass "@record: --failure-file carries message, traceback, timestamp" || fail "@record failure file: $(cat "$WORK/record.json")"
import json, sys
j = json.load(open(sys.argv[1]))
e = j["error"]
assert j["rank"] == 1 and e["message"] == "RuntimeError: checkpoint shard 1 is corrupt", j
assert "load_checkpoint" in e["traceback"] and e["timestamp"].isdigit(), e
PY
finish
