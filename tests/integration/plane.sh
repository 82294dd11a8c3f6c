#!/usr/bin/env bash
# The job control plane between separate processes on loopback
# (tests/tools/plane_node.cc plays the node leaders): rendezvous of 8 nodes,
# a failure on node 5 reaching every node within 100 ms, a killed node found
# by its missing heartbeats, missing nodes named at the deadline, junk,
# replayed frames and a wrong secret refused while a job's plane runs on, and
# nodes reaching node 0 over IPv6.
source "$(dirname "$0")/lib.sh"
: "${PLANE_NODE:?set by ctest: path of rankwrap_plane_node}"
export RANKWRAP_JOB_SECRET=integration-secret-0123456789abcdef
# Above the kernel's ephemeral range (32768-60999 by default), where any
# outgoing connection of a test running beside this one could take a port.
base=$((61000 + (RANDOM % 270) * 16))
run_nodes() {  # run_nodes TAG PORT NODES ARGS... (per-node extra args in EXTRA_<i>)
  local tag=$1 port=$2 n=$3; shift 3
  for i in $(seq 0 $((n - 1))); do
    local extra="EXTRA_$i"
    "$PLANE_NODE" --job "$tag" --nodes "$n" --node "$i" --port "$port" "$@" ${!extra:-} \
      >"$WORK/$tag.$i.out" 2>"$WORK/$tag.$i.err" &
    echo $! >"$WORK/$tag.$i.pid"
  done
}
wait_nodes() {  # wait_nodes TAG N: each node's exit code into TAG.I.rc
  for i in $(seq 0 $(($2 - 1))); do
    local rc=0
    wait "$(cat "$WORK/$1.$i.pid")" || rc=$?
    echo "$rc" >"$WORK/$1.$i.rc"
  done
}
all_nodes() {  # all_nodes TAG N PATTERN [RC]: every node's output matches (and exit code)
  local ok=0
  for i in $(seq 0 $(($2 - 1))); do
    if ! grep -Eq "$3" "$WORK/$1.$i.out"; then echo "  node $i: no '$3' in: $(cat "$WORK/$1.$i.out" "$WORK/$1.$i.err")"; ok=1; fi
    if [ -n "${4:-}" ] && [ "$(cat "$WORK/$1.$i.rc")" != "$4" ]; then echo "  node $i exited $(cat "$WORK/$1.$i.rc"), expected $4"; ok=1; fi
  done
  return $ok
}

# 1. Rendezvous of 8 nodes; node 5 fails; every node hears of it.
EXTRA_5="--fail-after 1 --code 3"
run_nodes t1 $base 8 --run 20
wait_nodes t1 8
unset EXTRA_5
check "8 nodes rendezvous on rank 0's host, port and 128-byte blob" all_nodes t1 8 "^node [0-9] rendezvous node0 29500 blob=128$"
check "node 5's failure reaches every node (rank 21, exit code 3)" all_nodes t1 8 "failure node=5 rank=21 code=3 cause=exit code 3" 10
max=$(grep -ho 'latency_ms=[0-9-]*' "$WORK"/t1.*.out | cut -d= -f2 | sort -n | tail -1)
echo "  failure fan-out: slowest node heard it ${max} ms after node 5 reported it"
check "failure fan-out within 100 ms" test "${max:-999}" -le 100

# 2. A node killed (kill -9 of its keeper) counts as failed after the heartbeat timeout.
run_nodes t2 $((base + 1)) 8 --run 30 --hb-timeout 2
for _ in $(seq 100); do grep -q rendezvous "$WORK/t2.3.out" 2>/dev/null && break; sleep 0.1; done
killed_at=$(date +%s.%N)
kill -9 "$(cat "$WORK/t2.3.pid")"
wait_nodes t2 8
took=$(python3 -c "import time; print(round(time.time() - $killed_at, 1))")
echo "  the others stopped ${took} s after node 3 was killed"
ok=0
for i in 0 1 2 4 5 6 7; do
  grep -q "failure node=3 rank=-1 code=0 cause=node 3 (node3) lost: no word from its rankwrap for .* after its connection dropped" "$WORK/t2.$i.out" || { echo "  node $i: $(cat "$WORK/t2.$i.out")"; ok=1; }
done
check "a killed node is declared lost and every other node hears of it" test $ok -eq 0

# 2b. Node 0 killed (the server's keeper): every other node hears at once
# that the plane is lost, as node 0's failure.
run_nodes t2b $((base + 9)) 4 --run 30 --hb-timeout 2
for _ in $(seq 100); do grep -q rendezvous "$WORK/t2b.0.out" 2>/dev/null && break; sleep 0.1; done
sleep 0.3
kill -9 "$(cat "$WORK/t2b.0.pid")"
wait_nodes t2b 4
ok=0
for i in 1 2 3; do
  grep -q "failure node=0 rank=-1 code=0 cause=lost the connection to the job's control plane at 127.0.0.1:$((base + 9)): .* (node 0's rankwrap is gone)" "$WORK/t2b.$i.out" \
    || { echo "  node $i: $(cat "$WORK/t2b.$i.out")"; ok=1; }
done
check "node 0 killed: every other node reports the plane lost as node 0's failure" test $ok -eq 0

# 3. Strangers while a job's plane runs: node 7 talks through a recording
# proxy (an eavesdropper's view); junk, a replay of node 7's recorded frames
# into a new connection, and a node with the wrong secret are refused; the
# job completes without a failure.
p3=$((base + 2)) px=$((base + 3))
"$PLANE_NODE" --proxy $px --port $p3 --record "$WORK/rec.bin" >"$WORK/proxy.out" 2>&1 &
proxy=$!
for _ in $(seq 50); do grep -q listening "$WORK/proxy.out" && break; sleep 0.1; done
EXTRA_7="--port $px"
run_nodes t3 $p3 8 --run 6
unset EXTRA_7
for _ in $(seq 100); do grep -q rendezvous "$WORK/t3.7.out" 2>/dev/null && break; sleep 0.1; done
"$PLANE_NODE" --junk --port $p3 >"$WORK/junk.out" 2>&1 || true
"$PLANE_NODE" --replay "$WORK/rec.bin" --port $p3 >"$WORK/replay.out" 2>&1 || true
rc=0
RANKWRAP_JOB_SECRET=a-wrong-secret-of-enough-bytes "$PLANE_NODE" --job t3 --nodes 8 --node 3 --port $p3 --timeout 5 \
  >"$WORK/wrong.out" 2>&1 || rc=$?
wait_nodes t3 8
kill "$proxy" 2>/dev/null || true
cat "$WORK/junk.out" "$WORK/replay.out" "$WORK/wrong.out" | sed 's/^/  /'
check "junk is refused" grep -q "junk: rejected: malformed message: version 71" "$WORK/junk.out"
check "recorded frames replayed into a new connection are refused" \
  grep -q "replay: rejected: authentication failed: hello from node7 not signed with the job's key" "$WORK/replay.out"
check "a node with the wrong secret is refused (exit 5)" \
  bash -c "grep -q 'refused by the job.s plane: authentication failed' '$WORK/wrong.out' && [ $rc -eq 5 ]"
check "the job's 8 nodes ran unharmed: rendezvous, no failure, clean exit" all_nodes t3 8 "^node [0-9] done$" 0
check "no failure reached the job" bash -c "! grep -q failure $WORK/t3.*.out"
check "node 0 logged the refusals with the peer address" \
  bash -c "grep -q 'refused a connection from 127.0.0.1:[0-9]*: authentication failed' '$WORK/t3.0.err'"

# 4. Missing nodes are named at the deadline.
for i in 0 1 2 4 5 7; do
  "$PLANE_NODE" --job t4 --nodes 8 --node $i --port $((base + 4)) --timeout 2 >"$WORK/t4.$i.out" 2>&1 &
  echo $! >"$WORK/t4.$i.pid"
done
ok=0
for i in 0 1 2 4 5 7; do
  rc=0; wait "$(cat "$WORK/t4.$i.pid")" || rc=$?
  grep -q "error: rendezvous of job t4 timed out after 2 s: 2 of 8 nodes did not join: node indices 3,6" "$WORK/t4.$i.out" && [ $rc -eq 6 ] \
    || { echo "  node $i (exit $rc): $(cat "$WORK/t4.$i.out")"; ok=1; }
done
check "missing nodes 3 and 6 are named on every node (exit 6)" test $ok -eq 0

# 5. No secret: refused unless asked for an insecure plane.
rc=0; env -u RANKWRAP_JOB_SECRET "$PLANE_NODE" --job t5 --port $((base + 5)) --auth secret >"$WORK/t5.out" 2>&1 || rc=$?
check "no job secret: refused to start" bash -c "grep -q 'RANKWRAP_JOB_SECRET is not set' '$WORK/t5.out' && [ $rc -eq 3 ]"
rc=0; env -u RANKWRAP_JOB_SECRET "$PLANE_NODE" --job t5 --port $((base + 5)) --auth insecure --run 0 >"$WORK/t5b.out" 2>&1 || rc=$?
check "--auth insecure runs without one" grep -q "rendezvous node0 29500" "$WORK/t5b.out"
# 7. A port of the range held by something that accepts and never speaks:
# node 0 serves on the next port, node 1 gives the squatter 5 s and moves on.
p7=$((base + 8))
python3 -c "
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', $p7)); s.listen(8); print('squatting', flush=True)
conns = [s.accept() for _ in range(1)]; time.sleep(30)" >"$WORK/squat.out" 2>&1 &
squat=$!
for _ in $(seq 50); do grep -q squatting "$WORK/squat.out" && break; sleep 0.1; done
run_nodes t7 $p7 2 --range 4 --run 0 --timeout 15
wait_nodes t7 2
kill "$squat" 2>/dev/null || true
check "a silent squatter on the first port: the plane runs on the next" all_nodes t7 2 "^node [01] rendezvous node0 29500 blob=128$" 0

# 8. Node 0 needs one descriptor per node: past the hard limit, a clear error (exit 7).
rc=0; (ulimit -n 100; exec "$PLANE_NODE" --job t8 --nodes 200 --node 0 --port $((base + 12)) --auth insecure --timeout 1) \
  >"$WORK/t8.out" 2>&1 || rc=$?
check "more nodes than the open-file limit allows: exit 7, named" \
  bash -c "grep -q 'error: open-file limit 100 (hard) on node 0: the job.s control plane needs one per node: 456 for 200 nodes' '$WORK/t8.out' && [ $rc -eq 7 ]"

# 9. IPv6: node 0 serves on every address of both families (its own client
# comes over 127.0.0.1); the others reach it at ::1. This machine (and CI)
# has an IPv6 loopback: without one this fails, naming why.
if ip -6 addr show dev lo 2>/dev/null | grep -q "inet6 ::1/128"; then
  EXTRA_2="--fail-after 1 --code 4"
  run_nodes t9 $((base + 13)) 4 --run 20 --server-host ::1
  unset EXTRA_2
  wait_nodes t9 4
  check "IPv6: nodes reaching node 0 at ::1 rendezvous" all_nodes t9 4 "^node [0-3] rendezvous node0 29500 blob=128$"
  check "IPv6: node 2's failure reaches every node" all_nodes t9 4 "failure node=2 rank=.* code=4 cause=exit code 4" 10
else
  check "IPv6 loopback (::1) on this machine, for the plane's IPv6 test" false
fi

# 6. MUNGE (a private munged on its own socket and key, never the system's):
# the job's 4 nodes rendezvous; a node of another uid (nobody: its credential
# is restricted to its own uid, so the job cannot even decode it) and a replay
# of node 3's recorded hello (its credential was already used) are refused.
if command -v munged >/dev/null && command -v setpriv >/dev/null && [ "$(id -u)" -eq 0 ]; then
  M="$WORK/munge"
  mkdir -m 711 "$M"
  head -c 1024 /dev/urandom >"$M/key" && chmod 600 "$M/key"
  munged -F --force --key-file="$M/key" --socket="$M/sock" --pid-file="$M/pid" --log-file="$M/log" \
    --seed-file="$M/seed" >"$M/out" 2>&1 &
  mpid=$!
  for _ in $(seq 50); do [ -S "$M/sock" ] && break; sleep 0.1; done
  export MUNGE_SOCKET="$M/sock"
  p6=$((base + 6)) px6=$((base + 7))
  "$PLANE_NODE" --proxy $px6 --port $p6 --record "$WORK/rec6.bin" >"$WORK/proxy6.out" 2>&1 &
  proxy6=$!
  for _ in $(seq 50); do grep -q listening "$WORK/proxy6.out" && break; sleep 0.1; done
  EXTRA_3="--port $px6"
  run_nodes t6 $p6 4 --auth munge --run 5
  unset EXTRA_3
  for _ in $(seq 100); do grep -q rendezvous "$WORK/t6.3.out" 2>/dev/null && break; sleep 0.1; done
  chmod 755 "$WORK"
  rc=0
  setpriv --reuid=65534 --regid=65534 --clear-groups "$PLANE_NODE" --job t6 --nodes 4 --node 2 --port $p6 --auth munge \
    --timeout 3 >"$WORK/nobody.out" 2>&1 || rc=$?
  "$PLANE_NODE" --replay "$WORK/rec6.bin" --port $p6 >"$WORK/replay6.out" 2>&1 || true
  wait_nodes t6 4
  kill "$proxy6" "$mpid" 2>/dev/null || true
  cat "$WORK/nobody.out" "$WORK/replay6.out" | sed 's/^/  /'
  check "munge: 4 nodes rendezvous and end cleanly" all_nodes t6 4 "^node [0-9] rendezvous node0 29500 blob=128$" 0
  check "munge: a node of another uid is refused" \
    grep -q "refused by the job.s plane: authentication failed: MUNGE credential: Unauthorized credential" "$WORK/nobody.out"
  check "munge: a replayed hello (a used credential) is refused" \
    grep -q "replay: rejected: authentication failed: MUNGE credential: Replayed credential" "$WORK/replay6.out"
  unset MUNGE_SOCKET
else
  echo "SKIP: munge checks (need munged, setpriv and root)"
fi
finish
