#!/usr/bin/env bash
# GPU check (label "device"; never run in CI). One script, under 5 minutes,
# on a machine with an NVIDIA GPU, the CUDA toolkit and NCCL:
#   1. build with CUDA (examples/nccl_allreduce);
#   2. mpirun -np 1 rankwrap --nccl-bootstrap=mpi -- nccl_allreduce succeeds;
#   3. nvidia-smi shows no process of the wrapper on the GPU while the program runs;
#   4. `rankwrap plan` agrees with `nvidia-smi topo -m` on the GPU's CPU and NUMA affinity.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
out=${OUT:-/tmp/rankwrap-gpu-check}
mkdir -p "$out"
fails=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
command -v nvidia-smi >/dev/null || { echo "no nvidia-smi: not a GPU machine"; exit 1; }
nvidia-smi -L | tee "$out/gpus.txt"
scripts/install-deps >/dev/null
scripts/build build-gpu -DRANKWRAP_BUILD_PYTHON=OFF > "$out/build.log" 2>&1
[ -x build-gpu/nccl_allreduce ] && pass "nccl_allreduce built" || { fail "nccl_allreduce not built"; exit 1; }

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
timeout 120 mpirun.openmpi -np 1 build-gpu/rankwrap --report --nccl-bootstrap=mpi -- build-gpu/nccl_allreduce \
  > "$out/allreduce.txt" 2>&1 && pass "all-reduce under rankwrap --nccl-bootstrap=mpi" \
  || fail "all-reduce: $(tail -5 "$out/allreduce.txt")"
cat "$out/allreduce.txt"

# The wrapper must hold no CUDA context: while a long program runs under it,
# nvidia-smi lists the program's pid but never the wrapper's.
timeout 120 mpirun.openmpi -np 1 build-gpu/rankwrap --nccl-bootstrap=mpi -- \
  python3 -c 'import ctypes, time; c = ctypes.CDLL("libcudart.so"); p = ctypes.c_void_p(); c.cudaMalloc(ctypes.byref(p), 1 << 20); time.sleep(20)' \
  > "$out/hold.txt" 2>&1 &
sleep 10
wrapper=$(pgrep -f 'rankwrap --nccl-bootstrap=mpi -- python3' | head -1 || true)
nvidia-smi --query-compute-apps=pid,process_name --format=csv,noheader > "$out/apps.txt" || true
cat "$out/apps.txt"
if [ -n "$wrapper" ] && ! cut -d, -f1 "$out/apps.txt" | grep -qx "$wrapper"; then
  pass "no GPU process for the wrapper (pid $wrapper)"
else
  fail "wrapper pid '$wrapper' found among GPU processes (or not found at all)"
fi
wait || true

# rankwrap plan vs nvidia-smi topo -m: CPU affinity and NUMA affinity of GPU0.
build-gpu/rankwrap plan --ranks-per-node 1 --gpu-bind map:0 --json > "$out/plan.json"
nvidia-smi topo -m > "$out/topo.txt"
cat "$out/topo.txt"
python3 - "$out/plan.json" "$out/topo.txt" <<'PY' && pass "plan agrees with nvidia-smi topo -m" || fail "plan and nvidia-smi disagree"
import json, sys
plan = json.load(open(sys.argv[1]))["ranks"][0]
lines = open(sys.argv[2]).read().splitlines()
head = lines[0].split("\t")
cols = [h.strip() for h in head]
row = next(l for l in lines if l.startswith("GPU0"))
cells = [c.strip() for c in row.split("\t")]
cpu = cells[cols.index("CPU Affinity")] if "CPU Affinity" in cols else None
numa = cells[cols.index("NUMA Affinity")] if "NUMA Affinity" in cols else None
def expand(s):
    out = set()
    for part in s.split(","):
        a, _, b = part.partition("-")
        out |= set(range(int(a), int(b or a) + 1))
    return out
print("nvidia-smi GPU0: CPU", cpu, "NUMA", numa, "| rankwrap:", plan["cpus"], plan["numa_nodes"])
ok = True
if cpu and cpu != "N/A":
    ok &= expand(plan["cpus"]) <= expand(cpu)
if numa and numa != "N/A":
    ok &= set(plan["numa_nodes"]) <= expand(numa)
sys.exit(0 if ok else 1)
PY
echo "$fails check(s) failed"
[ "$fails" -eq 0 ]
