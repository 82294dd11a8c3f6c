#!/usr/bin/env bash
# Binding through the real binary: cores applied under a real mpirun, plans
# from recorded topologies (hwloc 2.x files and a 1.x export), the SVG, and
# bad input that must stop before exec.
source "$(dirname "$0")/lib.sh"
RW=$RANKWRAP
TOPO=$RANKWRAP_SOURCE_DIR/tests/data/topologies  # the tests carry their data
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
MPIRUN=(mpirun.openmpi --oversubscribe --mca oob_tcp_if_include lo --mca btl_tcp_if_include lo)
# hwloc ignores HWLOC_XMLFILE/HWLOC_SYNTHETIC when HWLOC_COMPONENTS is set
# (the sanitizer run sets it to -pci): the recorded-machine checks drop it.
hwloc_env() { clean_env env -u HWLOC_COMPONENTS "$@"; }

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

# 2b. The per-node topology cache: private, used, keyed by rankwrap's version,
#     survives damage, and steps aside when hwloc is pointed elsewhere.
xdg="$WORK/xdg"; mkdir -m 700 "$xdg"
clean_env XDG_RUNTIME_DIR="$xdg" "$RW" true
cache=$(ls "$xdg"/rankwrap/topology-*-v2.txt 2>/dev/null | head -1 || true)  # the only one so far
[ -n "$cache" ] && [ "$(stat -c %a "$xdg/rankwrap")" = 700 ] && [ "$(stat -c %a "$cache")" = 600 ] \
  && pass "topology cache written privately ($(basename "$cache"))" || fail "cache: $(ls -la "$xdg/rankwrap" 2>&1)"
version=$("$RW" --version 2>/dev/null | grep -o '[0-9][0-9.]*' | head -1 || true)
[[ -n "$version" && "$cache" == *"-rankwrap$version-"* ]] && pass "the cache key holds rankwrap's version ($version)" \
  || fail "cache key without rankwrap version '$version': $cache"
# A cached topology with a GPU the machine lacks proves the cache is what is read.
planted() {
  printf 'rankwrap-topology 2\nsource\tcached\npackages\t1\n'
  for p in $(seq 0 $(($(nproc --all) - 1))); do printf 'core\t0\t0\t%s\n' "$p"; done
  printf 'numa\t0\t0\t%s\ngpu\t0000:01:00.0\t0\t0\t-\tcuda0\tcached GPU\t0\t-\n' "$(seq -s, 0 $(($(nproc --all) - 1)))"
}
planted > "$cache"
out=$(clean_env XDG_RUNTIME_DIR="$xdg" "$RW" --print-env)
[[ "$out" == *"CUDA_VISIBLE_DEVICES=0"* ]] && pass "the cached topology is used" || fail "cache not used: $out"
# HWLOC_XMLFILE (or HWLOC_SYNTHETIC, HWLOC_FSROOT) names another machine: the cache steps aside.
out=$(hwloc_env XDG_RUNTIME_DIR="$xdg" HWLOC_XMLFILE="$TOPO/nvidia-gh200-quanta-noio.xml" HWLOC_THISSYSTEM=1 \
      "$RW" --print-env 2>&1)
[[ "$out" != *CUDA_VISIBLE_DEVICES* && "$out" == *"OMP_NUM_THREADS=72"* ]] \
  && pass "HWLOC_XMLFILE bypasses the cache" || fail "HWLOC_XMLFILE with a cache: $out"
out=$(hwloc_env XDG_RUNTIME_DIR="$xdg" HWLOC_SYNTHETIC="pack:2 core:3 pu:1" HWLOC_THISSYSTEM=1 "$RW" --print-env 2>&1)
[[ "$out" != *CUDA_VISIBLE_DEVICES* && "$out" == *"OMP_NUM_THREADS=6"* ]] \
  && pass "HWLOC_SYNTHETIC bypasses the cache" || fail "HWLOC_SYNTHETIC with a cache: $out"
# HWLOC_COMPONENTS (another view of this machine) has a cache file of its own.
out=$(clean_env env -u HWLOC_COMPONENTS XDG_RUNTIME_DIR="$xdg" HWLOC_COMPONENTS=-pci,-opencl "$RW" --print-env 2>&1)
[[ "$out" != *CUDA_VISIBLE_DEVICES* ]] && ls "$xdg"/rankwrap/topology-*-components-pci_-opencl-* >/dev/null 2>&1 \
  && pass "HWLOC_COMPONENTS has its own cache file" || fail "HWLOC_COMPONENTS with a cache: $out $(ls "$xdg/rankwrap")"
echo garbage > "$cache"
out=$(clean_env XDG_RUNTIME_DIR="$xdg" "$RW" --print-env 2>&1)
[[ "$out" == *"OMP_NUM_THREADS="* && "$out" != *CUDA_VISIBLE_DEVICES* && "$out" == *"topology cache '$cache' does not parse: discarded and rebuilt"* ]] \
  && head -1 "$cache" | grep -q 'rankwrap-topology 2' \
  && pass "a damaged cache is reported, discarded and rewritten" || fail "damaged cache: $out"
# A cache that parses but leaves no core (another machine's, or damaged):
# one warning naming the cache, the run goes on, the next run is quiet.
printf 'rankwrap-topology 2\nsource\tcached\npackages\t1\ncore\t0\t0\t4000\n' > "$cache"
set +e; out=$(clean_env XDG_RUNTIME_DIR="$xdg" "$RW" -- true 2>&1); rc=$?; set -e
[ "$rc" -eq 0 ] && [[ "$out" == *"topology cache '$cache' leaves no allowed core: discarded and rebuilt"* ]] \
  && pass "a cache planning no core is rebuilt, not fatal" || fail "no-core cache: rc=$rc $out"
out=$(clean_env XDG_RUNTIME_DIR="$xdg" "$RW" -- true 2>&1)
[ -z "$out" ] && pass "the rebuilt cache is good" || fail "after rebuild: $out"
chmod 755 "$xdg/rankwrap"
set +e; out=$(clean_env XDG_RUNTIME_DIR="$xdg" "$RW" -- touch "$WORK/ran" 2>&1); rc=$?; set -e
[ "$rc" -eq 0 ] && [[ "$out" == *"topology cache not used: cache directory '$xdg/rankwrap' is not private"* ]] && [ -e "$WORK/ran" ] \
  && pass "a cache directory others can read is not used (warning)" || fail "insecure dir: $rc $out"
out=$(clean_env XDG_RUNTIME_DIR="$xdg" RANKWRAP_TOPOLOGY_CACHE=0 "$RW" --print-env)
[[ "$out" == *OMP_NUM_THREADS* ]] && pass "RANKWRAP_TOPOLOGY_CACHE=0 bypasses it" || fail "cache off: $out"

# 2c. A launcher's narrower mask: the plan replaces it (said once, on local
#     rank 0); --cpu-bind none keeps it.
if [ "$ncpu" -ge 2 ]; then
  out=$(clean_env taskset -c 1 "$RW" --cpu-bind cores -- grep Cpus_allowed_list /proc/self/status 2>&1)
  [[ "$out" == *"Cpus_allowed_list:"*"0-$((ncpu - 1))"* && "$out" == *"the launcher bound this process to PUs 1 of the node's 0-$((ncpu - 1))"* ]] \
    && pass "the plan replaces a launcher's narrower mask and says so" || fail "launcher mask: $out"
  out=$(clean_env taskset -c 1 "$RW" --cpu-bind none -- grep Cpus_allowed_list /proc/self/status 2>&1)
  [[ "$out" == *$'Cpus_allowed_list:\t1' && "$out" != *"launcher bound"* ]] \
    && pass "--cpu-bind none keeps the launcher's mask" || fail "--cpu-bind none: $out"
fi

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
[ "$out" = $'0\nPCI_BUS_ID\n=mlx5_0:1,mlx5_1:1\n14' ] && pass "H100 local rank 1 gets cuda0 (NUMA 3) and its NICs" || fail "H100 env: $out"
grep -q "not applied" "$WORK/err" && pass "says the binding was not applied" || fail "no 'not applied' warning"
# --gpu-visibility local-rank: the same list on every local rank, device
# LOCAL_RANK being the rank's planned GPU (torch.cuda.set_device(LOCAL_RANK)).
lists=""
for r in 0 1 2 3; do
  lists+=$(clean_env OMPI_COMM_WORLD_RANK=$r OMPI_COMM_WORLD_SIZE=4 OMPI_COMM_WORLD_LOCAL_RANK=$r \
           OMPI_COMM_WORLD_LOCAL_SIZE=4 OMPI_MCA_ess_base_jobid=42 "$RW" --topology "$TOPO/dell-xe8640-4xh100-spr.xml" \
           --gpu-visibility local-rank --report printenv CUDA_VISIBLE_DEVICES 2>&1 | tr '\n' ' ')$'\n'
done
ok=1
while read -r line; do
  r=$(printf '%s' "$line" | grep -o 'local rank [0-9]' | grep -o '[0-9]$')
  idx=$(printf '%s' "$line" | grep -o '\[[0-9]\]' | tr -d '[]')
  list=$(printf '%s' "$line" | awk '{print $NF}')
  [ "$list" = "1,0,3,2" ] && [ "$(echo "$list" | cut -d, -f$((r + 1)))" = "$idx" ] || ok=0
done <<< "${lists%$'\n'}"
[ "$ok" -eq 1 ] && pass "--gpu-visibility local-rank: one list, device LOCAL_RANK is the rank's GPU" \
  || fail "local-rank visibility: $lists"

# 5b. The real path with a recorded machine (hwloc honours HWLOC_XMLFILE +
#     HWLOC_THISSYSTEM=1): local ranks bound by their launcher to different
#     CPUs of this machine (taskset; mpirun --bind-to core) still compute one
#     node plan: 8 distinct GPUs, disjoint cores. Before, each rank planned on
#     its own mask (duplicated GPUs on aws-g4dn-metal). --print-env: the
#     recorded machine's CPUs are not this machine's, so nothing is applied.
for xml in aws-g4dn-metal-8xt4.xml aws-g4dn-metal-8xt4-interleaved.xml; do
  lines=""
  for r in 0 1 2 3 4 5 6 7; do
    cpu=$((r % ncpu))
    line=$(hwloc_env OMPI_COMM_WORLD_RANK=$r OMPI_COMM_WORLD_SIZE=8 OMPI_COMM_WORLD_LOCAL_RANK=$r \
           OMPI_COMM_WORLD_LOCAL_SIZE=8 OMPI_MCA_ess_base_jobid=42 HWLOC_XMLFILE="$TOPO/$xml" HWLOC_THISSYSTEM=1 \
           RANKWRAP_TOPOLOGY_CACHE=0 taskset -c $cpu "$RW" --report --print-env 2>&1 >/dev/null)
    [ "$r" -eq 0 ] && { [[ "$line" == *"the launcher bound this process to PUs 0 of the node's"* ]] \
      && pass "$xml: local rank 0 says the plan replaces the launcher's mask" || fail "$xml: no mask note: $line"; }
    [ "$r" -ne 0 ] && [[ "$line" == *"launcher bound"* ]] && fail "$xml: rank $r repeats the mask note"
    lines+=$(printf '%s\n' "$line" | grep 'binding: ')$'\n'
  done
  gpus=$(printf '%s' "$lines" | grep -o 'GPU [0-9a-f:.]*' | sort | uniq | wc -l)
  [ "$gpus" -eq 8 ] && pass "$xml under taskset: 8 ranks, 8 distinct GPUs" || fail "$xml: $gpus distinct GPUs: $lines"
  cpus=$(printf '%s' "$lines" | grep -o 'cpus [0-9,-]*' | sort | uniq | wc -l)
  [ "$cpus" -eq 8 ] && pass "$xml under taskset: 8 distinct core sets" || fail "$xml: cpus $lines"
done
if [ "$ncpu" -ge 2 ]; then
  out=$(clean_env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 timeout 60 \
        "${MPIRUN[@]}" -np 2 --bind-to core --map-by core env -u HWLOC_COMPONENTS HWLOC_XMLFILE="$TOPO/aws-g4dn-metal-8xt4-interleaved.xml" \
        HWLOC_THISSYSTEM=1 RANKWRAP_TOPOLOGY_CACHE=0 "$RW" --report --print-env 2>&1 >/dev/null || true)
  g0=$(printf '%s\n' "$out" | grep 'local rank 0:' | grep -o 'GPU [0-9a-f:.]*' || true)
  g1=$(printf '%s\n' "$out" | grep 'local rank 1:' | grep -o 'GPU [0-9a-f:.]*' || true)
  [ -n "$g0" ] && [ -n "$g1" ] && [ "$g0" != "$g1" ] \
    && pass "mpirun --bind-to core: local ranks 0 and 1 plan different GPUs ($g0 / $g1)" || fail "mpirun --bind-to core: $out"
fi

# 5c. rankwrap plan --svg for hundreds of ranks writes a well-formed SVG.
# (this machine: with few cores, each core's title names over a hundred ranks)
clean_env RANKWRAP_TOPOLOGY_CACHE=0 "$RW" plan --ranks-per-node 300 --svg "$WORK/300.svg" >/dev/null
python3 -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' "$WORK/300.svg" \
  && pass "SVG for 300 ranks parses as XML" || fail "SVG for 300 ranks is broken"

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
