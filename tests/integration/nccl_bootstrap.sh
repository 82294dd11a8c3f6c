#!/usr/bin/env bash
# --nccl-bootstrap=mpi under real Open MPI mpirun and MPICH mpiexec.hydra:
# the same id on every rank, decoding to rank 0's address, new per run;
# failure handling; timeouts; the consistency check; programs using MPI.
source "$(dirname "$0")/lib.sh"
RW=$RANKWRAP
# The stall cases need the test-only hooks (scripts/test builds them in).
"$RW" --version | grep -q "with test hooks" || { echo "FAIL: $RW was built without -DRANKWRAP_TEST_HOOKS=ON"; exit 1; }
here=$(dirname "$0")
TOPO=${RANKWRAP_TOPOLOGIES:-$RANKWRAP_SOURCE_DIR/tests/data/topologies}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
OMPI=(mpirun.openmpi --oversubscribe --mca oob_tcp_if_include lo --mca btl_tcp_if_include lo)
HYDRA=(mpiexec.hydra)
addrs=$(hostname -I 2>/dev/null || true)
SHOW='echo "ID $RANK $RANKWRAP_NCCL_UNIQUE_ID $MASTER_ADDR $MASTER_PORT"'

for mpi in OMPI HYDRA; do
  declare -n L=$mpi
  for n in 2 4 8; do
    out=$(timeout 120 "${L[@]}" -np "$n" "$RW" --bind none --nccl-bootstrap=mpi -- sh -c "$SHOW" 2>&1)
    if res=$(printf '%s\n' "$out" | python3 "$here/check_ids.py" "$n" $addrs); then
      pass "$mpi -np $n: one id on every rank, root on this host: $res"
      ids[$n]=$res
    else
      fail "$mpi -np $n: $res ($out)"
    fi
  done
  again=$(timeout 120 "${L[@]}" -np 2 "$RW" --bind none --nccl-bootstrap=mpi -- sh -c "$SHOW" 2>&1 |
          python3 "$here/check_ids.py" 2 $addrs || true)
  [ -n "$again" ] && [ "$again" != "${ids[2]}" ] && pass "$mpi: a second run gets another id" || fail "$mpi: ids repeat: $again"

  # A program failing on rank k while the others sleep: the job ends at once.
  for k in 0 3; do
    marker="rankwrap-test-sleep-$$-$k"
    start=$(date +%s)
    set +e
    out=$(timeout 60 "${L[@]}" -np 4 "$RW" --bind none --nccl-bootstrap=mpi -- \
          bash -c "if [ \$RANK = $k ]; then exit 3; fi; exec -a $marker sleep 300" 2>&1)
    rc=$?
    set -e
    took=$(( $(date +%s) - start ))
    lines=$(printf '%s\n' "$out" | grep -c "error: program: rank $k on .* exited with code 3" || true)
    others=$(printf '%s\n' "$out" | grep "error: program:" | grep -vc "rank $k on" || true)
    [ "$rc" -eq 3 ] && pass "$mpi rank $k exits 3: job exit code 3" || fail "$mpi rank $k: exit code $rc: $out"
    [ "$took" -le 20 ] && pass "$mpi rank $k: job ended in ${took}s" || fail "$mpi rank $k: took ${took}s"
    [ "$lines" -eq 1 ] && [ "$others" -eq 0 ] && pass "$mpi rank $k: one line names it" || fail "$mpi rank $k: $lines/$others lines: $out"
    sleep 0.5
    left=$(pgrep -fc "$marker" || true)
    [ "$left" -eq 0 ] && pass "$mpi rank $k: no sleeper left" || { fail "$mpi rank $k: $left sleepers left"; pkill -f "$marker" || true; }
  done

  # Rank 0's wrapper hangs before the exchange: the others time out naming it.
  start=$(date +%s)
  set +e
  out=$(RANKWRAP_TEST_STALL_RANK=0 RANKWRAP_TEST_STALL_SECONDS=60 timeout 60 "${L[@]}" -np 3 \
        $( [ $mpi = OMPI ] && echo "-x RANKWRAP_TEST_STALL_RANK -x RANKWRAP_TEST_STALL_SECONDS" ) \
        "$RW" --bind none --nccl-bootstrap=mpi --bootstrap-timeout 3 -- true 2>&1)
  rc=$?
  set -e
  took=$(( $(date +%s) - start ))
  [ "$rc" -ne 0 ] && [ "$took" -le 15 ] && pass "$mpi: a stalled rank 0 ends the job in ${took}s (exit $rc)" || fail "$mpi stall: exit $rc after ${took}s"
  [[ "$out" == *"timed out after 3 s: rank "*" waited for rank 0"* ]] && pass "$mpi: the timeout names rank 0" || fail "$mpi: no timeout message: $out"

  # Rank 0's wrapper SIGKILLed during the exchange.
  pidfile="$WORK/stall.pid"; rm -f "$pidfile"
  start=$(date +%s)
  ( krc=0
    RANKWRAP_TEST_STALL_RANK=0 RANKWRAP_TEST_STALL_SECONDS=60 RANKWRAP_TEST_STALL_PIDFILE="$pidfile" timeout 60 "${L[@]}" -np 3 \
      $( [ $mpi = OMPI ] && echo "-x RANKWRAP_TEST_STALL_RANK -x RANKWRAP_TEST_STALL_SECONDS -x RANKWRAP_TEST_STALL_PIDFILE" ) \
      "$RW" --bind none --nccl-bootstrap=mpi --bootstrap-timeout 3 -- true > "$WORK/kill.out" 2>&1 || krc=$?
    echo "$krc" > "$WORK/kill.rc" ) &
  for _ in $(seq 100); do [ -s "$pidfile" ] && break; sleep 0.1; done
  [ -s "$pidfile" ] && kill -KILL "$(cat "$pidfile")" || true
  wait
  took=$(( $(date +%s) - start ))
  rc=$(cat "$WORK/kill.rc")
  [ "$rc" -ne 0 ] && [ "$took" -le 15 ] && pass "$mpi: rank 0 killed in the exchange: job over in ${took}s (exit $rc)" \
    || fail "$mpi kill: exit $rc after ${took}s: $(cat "$WORK/kill.out")"
done

# Two ranks forced onto one GPU of a recorded node: stopped before the program, with the table.
if [ -f "$TOPO/dell-xe8640-4xh100-spr.xml" ]; then
  rm -f "$WORK/ran"
  set +e
  out=$(timeout 60 "${OMPI[@]}" -np 2 "$RW" --nccl-bootstrap=mpi --topology "$TOPO/dell-xe8640-4xh100-spr.xml" \
        --gpu-bind=map:0,0 -- touch "$WORK/ran" 2>&1)
  rc=$?
  set -e
  [ "$rc" -eq 5 ] && pass "one GPU for two ranks: exit 5" || fail "map:0,0 exit $rc: $out"
  [[ "$out" == *"disagreement: GPU: ranks 0,1 on "*"would all use GPU 0000:4e:00.0"* ]] && pass "the table names the GPU" || fail "no table: $out"
  [ "$(printf '%s\n' "$out" | grep -c 'found the job inconsistent')" -eq 1 ] && pass "one table, from rank 0" || fail "tables: $out"
  [ ! -e "$WORK/ran" ] && pass "program not run" || fail "program ran"
else
  fail "recorded topology missing: $TOPO/dell-xe8640-4xh100-spr.xml (tests/data/topologies)"
fi

# A program that uses MPI itself: refused with what to do instead.
if command -v mpicc.openmpi >/dev/null; then
  printf '#include <mpi.h>\nint main(int c, char** v) { MPI_Init(&c, &v); MPI_Finalize(); return 0; }\n' > "$WORK/mpiprog.c"
  mpicc.openmpi "$WORK/mpiprog.c" -o "$WORK/mpiprog"
  set +e
  out=$(timeout 60 "${OMPI[@]}" -np 2 "$RW" --bind none --nccl-bootstrap=mpi -- "$WORK/mpiprog" 2>&1)
  rc=$?
  set -e
  [ "$rc" -eq 5 ] && [[ "$out" == *"the program uses MPI itself"*"hint: run without --nccl-bootstrap=mpi"* ]] \
    && pass "an MPI program is refused with the fix" || fail "MPI program: exit $rc: $out"
fi
# ... also when it loads MPI at run time (as mpi4py does).
set +e
out=$(timeout 60 "${HYDRA[@]}" -np 2 "$RW" --bind none --nccl-bootstrap=mpi -- \
      python3 -c 'import ctypes, time; ctypes.CDLL("libmpich.so.12"); time.sleep(30)' 2>&1)
rc=$?
set -e
[ "$rc" -eq 5 ] && [[ "$out" == *"program loaded libmpich.so"*"hint: run without --nccl-bootstrap=mpi"* ]] \
  && pass "a program loading MPI at run time is stopped with the fix" || fail "dynamic MPI: exit $rc: $out"

# Success: exit 0 and the program's output.
out=$(timeout 60 "${HYDRA[@]}" -np 2 "$RW" --bind none --nccl-bootstrap=mpi -- sh -c 'echo done-$RANK' 2>&1 | sort | tr '\n' ' ')
[ "$out" = "done-0 done-1 " ] && pass "success path" || fail "success: $out"
finish
