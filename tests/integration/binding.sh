#!/usr/bin/env bash
# Binding through the real binary: cores applied under a real mpirun, plans
# from recorded topologies (hwloc 2.x files and a 1.x export), the SVG, and
# bad input that must stop before exec.
source "$(dirname "$0")/lib.sh"
RW=$RANKWRAP
TOPO=$RANKWRAP_SOURCE_DIR/tests/data/topologies  # the tests carry their data
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
MPIRUN=(mpirun.openmpi --oversubscribe --mca oob_tcp_if_include lo --mca btl_tcp_if_include lo)

# 1. --cpu-bind cores under mpirun --bind-to none: each rank on its own core,
#    as the program sees it.
out=$(clean_env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 timeout 60 \
      "${MPIRUN[@]}" -np 2 --bind-to none --tag-output "$RW" --cpu-bind cores -- \
      grep Cpus_allowed_list /proc/self/status)
r0=$(printf '%s\n' "$out" | awk -F'\t' '/^\[1,0\]/ {print $2}')
r1=$(printf '%s\n' "$out" | awk -F'\t' '/^\[1,1\]/ {print $2}')
ncpu=$(nproc --all)
if [ "$ncpu" -ge 2 ]; then
  [ -n "$r0" ] && [ -n "$r1" ] && [ "$r0" != "$r1" ] && pass "ranks on different cores: rank0=$r0 rank1=$r1" \
    || fail "cores: rank0='$r0' rank1='$r1' ($out)"
  [[ "$r0" != *,* && "$r0" != *-* ]] && pass "rank 0 bound to one core ($r0)" || fail "rank 0 not narrowed: $r0"
else
  echo "SKIP: one CPU only: cannot show two ranks on different cores"
fi

# 2. --report prints this rank's line.
err=$(clean_env "$RW" --report --cpu-bind cores true 2>&1)
[[ "$err" == *"binding: local rank 0: GPU none, cpus "* ]] && pass "--report" || fail "--report: $err"

# 2b. The per-node topology cache: private, used, and survives damage.
xdg="$WORK/xdg"; mkdir -m 700 "$xdg"
clean_env XDG_RUNTIME_DIR="$xdg" "$RW" true
cache=$(ls "$xdg"/rankwrap/topology-*-v1.txt 2>/dev/null | head -1)
[ -n "$cache" ] && [ "$(stat -c %a "$xdg/rankwrap")" = 700 ] && [ "$(stat -c %a "$cache")" = 600 ] \
  && pass "topology cache written privately ($(basename "$cache"))" || fail "cache: $(ls -la "$xdg/rankwrap" 2>&1)"
# A cached topology with a GPU the machine lacks proves the cache is what is read.
printf 'rankwrap-topology 1\nsource\tcached\npackages\t1\ncore\t0\t0\t0\ncore\t0\t0\t1\nnuma\t0\t0\t0,1\ngpu\t0000:01:00.0\t0\t0\t-\tcuda0\tcached GPU\t0,1\t-\n' > "$cache"
out=$(clean_env XDG_RUNTIME_DIR="$xdg" "$RW" --print-env)
[[ "$out" == *"CUDA_VISIBLE_DEVICES=0"* ]] && pass "the cached topology is used" || fail "cache not used: $out"
echo garbage > "$cache"
out=$(clean_env XDG_RUNTIME_DIR="$xdg" "$RW" --print-env)
[[ "$out" == *"OMP_NUM_THREADS="* && "$out" != *CUDA_VISIBLE_DEVICES* ]] && head -1 "$cache" | grep -q rankwrap-topology \
  && pass "a damaged cache is ignored and rewritten" || fail "damaged cache: $out"
chmod 755 "$xdg/rankwrap"
set +e; out=$(clean_env XDG_RUNTIME_DIR="$xdg" "$RW" -- touch "$WORK/ran" 2>&1); rc=$?; set -e
[ "$rc" -eq 0 ] && [[ "$out" == *"topology cache not used: cache directory '$xdg/rankwrap' is not private"* ]] && [ -e "$WORK/ran" ] \
  && pass "a cache directory others can read is not used (warning)" || fail "insecure dir: $rc $out"
out=$(clean_env XDG_RUNTIME_DIR="$xdg" RANKWRAP_TOPOLOGY_CACHE=0 "$RW" --print-env)
[[ "$out" == *OMP_NUM_THREADS* ]] && pass "RANKWRAP_TOPOLOGY_CACHE=0 bypasses it" || fail "cache off: $out"

for f in juwels-booster-4xa100-epyc7402.xml hpe-cray-ex235a-tioga-4xmi250x.xml dell-xe8640-4xh100-spr.xml \
         nvidia-gh200-quanta-noio.xml aws-g4dn-metal-8xt4.xml aws-g4dn-metal-8xt4-interleaved.xml; do
  [ -f "$TOPO/$f" ] || fail "test data missing: $TOPO/$f"
done

# 3. A file written in hwloc 1.x format plans like the 2.x original.
if command -v lstopo-no-graphics >/dev/null; then
  lstopo-no-graphics -i "$TOPO/juwels-booster-4xa100-epyc7402.xml" --of xml --export-xml-flags v1 "$WORK/v1.xml"
  if head -3 "$WORK/v1.xml" | grep -q 'version="2'; then fail "export is not v1"; fi
  a=$("$RW" plan --topology "$TOPO/juwels-booster-4xa100-epyc7402.xml" --json | python3 -c 'import json,sys; print([(r["gpus"], r["cpus"], r["nics"]) for r in json.load(sys.stdin)["ranks"]])')
  b=$("$RW" plan --topology "$WORK/v1.xml" --json | python3 -c 'import json,sys; print([(r["gpus"], r["cpus"], r["nics"]) for r in json.load(sys.stdin)["ranks"]])')
  [ "$a" = "$b" ] && pass "hwloc 1.x XML gives the same plan" || fail "v1 plan differs: $a vs $b"
fi

# 4. The SVG renders and names every rank.
"$RW" plan --topology "$TOPO/hpe-cray-ex235a-tioga-4xmi250x.xml" --ranks-per-node 8 --svg "$WORK/tioga.svg" >/dev/null
if command -v rsvg-convert >/dev/null; then
  rsvg-convert "$WORK/tioga.svg" -o "$WORK/tioga.png" && [ -s "$WORK/tioga.png" ] \
    && pass "SVG renders with rsvg-convert" || fail "rsvg-convert failed"
else
  fail "rsvg-convert missing (apt-get install librsvg2-bin)"
fi
missing=""
for r in 0 1 2 3 4 5 6 7; do grep -q ">rank $r (" "$WORK/tioga.svg" || missing="$missing $r"; done
[ -z "$missing" ] && pass "SVG names ranks 0-7" || fail "SVG lacks ranks:$missing"

# 5. The wrapper with a recorded topology: GPU visibility exported, CPU
#    binding not applied to this machine (and it says so).
OMPI4=(OMPI_COMM_WORLD_RANK=1 OMPI_COMM_WORLD_SIZE=4 OMPI_COMM_WORLD_LOCAL_RANK=1
       OMPI_COMM_WORLD_LOCAL_SIZE=4 OMPI_MCA_ess_base_jobid=42)
set +e
out=$(clean_env "${OMPI4[@]}" "$RW" --topology "$TOPO/dell-xe8640-4xh100-spr.xml" \
      printenv CUDA_VISIBLE_DEVICES CUDA_DEVICE_ORDER NCCL_IB_HCA OMP_NUM_THREADS 2>"$WORK/err")
set -e
[ "$out" = $'0\nPCI_BUS_ID\nmlx5_0,mlx5_1\n14' ] && pass "H100 local rank 1 gets cuda0 (NUMA 3) and its NICs" || fail "H100 env: $out"
grep -q "not applied" "$WORK/err" && pass "says the binding was not applied" || fail "no 'not applied' warning"

# 6. Bad input: clear error, exit 4 (or 2 for usage), program not run.
bad() {  # NAME CODE NEEDLE ARGS...
  local name=$1 code=$2 needle=$3; shift 3
  rm -f "$WORK/ran"
  set +e; out=$("$@" -- touch "$WORK/ran" 2>&1); rc=$?; set -e
  [ "$rc" -eq "$code" ] && pass "$name: exit $rc" || fail "$name: exit $rc, expected $code: $out"
  [[ "$out" == *"$needle"* ]] && pass "$name: message" || fail "$name: no '$needle' in: $out"
  [ ! -e "$WORK/ran" ] && pass "$name: not run" || fail "$name: program ran"
}
printf '<topology><object type="Machine"' > "$WORK/broken.xml"
bad "missing XML" 4 "topology file '$WORK/none.xml' cannot be read" clean_env "$RW" --topology "$WORK/none.xml"
bad "broken XML" 4 "does not load" clean_env "$RW" --topology "$WORK/broken.xml"
bad "map out of range" 4 "map entry 9" clean_env "${OMPI4[@]}" "$RW" --topology "$TOPO/dell-xe8640-4xh100-spr.xml" --gpu-bind=map:0,9
bad "map malformed" 2 "--gpu-bind 'map:x'" clean_env "${OMPI4[@]}" "$RW" --gpu-bind=map:x
bad "GPU the node lacks" 4 "CUDA_VISIBLE_DEVICES='0,7' names GPU 7" clean_env "${OMPI4[@]}" CUDA_VISIBLE_DEVICES=0,7 \
    "$RW" --topology "$TOPO/dell-xe8640-4xh100-spr.xml"
bad "cpu-bind gpu without GPU" 4 "--cpu-bind gpu" clean_env "$RW" --topology "$TOPO/nvidia-gh200-quanta-noio.xml" --cpu-bind gpu
finish
