#!/usr/bin/env bash
# Hostlist expansion checked against the real `scontrol show hostnames`
# (Debian slurm-client) on generated lists: widths, several ranges, several
# bracket groups, comma and space separators.
source "$(dirname "$0")/lib.sh"
: "${RANKWRAP_HOSTLIST_TOOL:?set by ctest}"
command -v scontrol >/dev/null || { echo "scontrol (slurm-client) is required: apt-get install slurm-client"; exit 1; }
# scontrol only needs some configuration to start; hostname expansion is local.
printf 'ClusterName=oracle\nSlurmctldHost=localhost\nNodeName=n1\nPartitionName=p Nodes=n1\n' > "$WORK/slurm.conf"
export SLURM_CONF="$WORK/slurm.conf"

python3 - "$WORK/lists.txt" <<'PY'
import random, sys
rng = random.Random(20261127)
def number(v, width):
    return str(v).zfill(width)
def group():
    parts = []
    lo = rng.randint(0, 120)
    for _ in range(rng.randint(1, 3)):
        hi = lo + rng.randint(0, 6)
        w = len(str(lo)) + rng.choice([0, 0, 1, 2])
        parts.append(number(lo, w) if hi == lo and rng.random() < 0.5
                     else number(lo, w) + "-" + number(hi, rng.choice([len(str(hi)), w])))
        lo = hi + rng.randint(1, 30)
    return "[" + ",".join(parts) + "]"
def item():
    prefix = rng.choice(["nid", "node", "gpu-b", "c", "rack", "x1000c", "10.0.0."])
    if rng.random() < 0.15:
        return prefix + str(rng.randint(1, 99))
    s = prefix + group()
    if rng.random() < 0.3:
        s += rng.choice(["-node", "n", "-"]) + group()
    return s
with open(sys.argv[1], "w") as out:
    for _ in range(150):
        sep = rng.choice([",", ",", " ", ", "])
        out.write(sep.join(item() for _ in range(rng.randint(1, 4))) + "\n")
PY

"$RANKWRAP_HOSTLIST_TOOL" < "$WORK/lists.txt" > "$WORK/ours.txt"
n=0
while IFS= read -r list; do
  n=$((n + 1))
  theirs=$(scontrol show hostnames "$list" | tr '\n' ' ' | sed 's/ $//')
  ours=$(sed -n "${n}p" "$WORK/ours.txt")
  if [ "$theirs" != "$ours" ]; then
    fail "list $n '$list': scontrol gives '$theirs', rankwrap gives '$ours'"
  fi
done < "$WORK/lists.txt"
[ "$n" -eq 150 ] && pass "150 generated lists agree with scontrol" || fail "only $n lists read"
# Compression: Slurm's own parser reads rankwrap's compressed form back to the same hosts.
"$RANKWRAP_HOSTLIST_TOOL" --compress < "$WORK/ours.txt" > "$WORK/compressed.txt"
n=0; bad=0
while IFS= read -r expr; do
  n=$((n + 1))
  theirs=$(scontrol show hostnames "$expr" | tr '\n' ' ' | sed 's/ $//')
  [ "$theirs" = "$(sed -n "${n}p" "$WORK/ours.txt")" ] || { bad=$((bad + 1)); echo "  '$expr' -> '$theirs'"; }
done < "$WORK/compressed.txt"
[ "$bad" -eq 0 ] && pass "$n compressed lists read back by scontrol to the same hosts" || fail "$bad compressed lists differ"
# The user-facing subcommands agree with scontrol too.
big='nid[000001-000500,000600-000700],gpu[1-3]'
[ "$("$RANKWRAP" hostnames "$big")" = "$(scontrol show hostnames "$big")" ] && pass "rankwrap hostnames = scontrol show hostnames" \
  || fail "rankwrap hostnames differs"
expr=$("$RANKWRAP" hostlist $(scontrol show hostnames "$big"))
[ "$(scontrol show hostnames "$expr")" = "$(scontrol show hostnames "$big")" ] && pass "rankwrap hostlist reads back through scontrol ($expr)" \
  || fail "rankwrap hostlist: $expr"
set +e; out=$("$RANKWRAP" hostnames 'n[1-' 2>&1); rc=$?; set -e
[ "$rc" -eq 2 ] && [[ "$out" == *"host list 'n[1-'"* ]] && pass "a malformed list: exit 2 naming it" || fail "bad list: $rc $out"

# Lists both must reject (scontrol 22.05 and rankwrap alike).
for bad in 'node[3-1]' 'gpu-[1-2]-[a-c]'; do
  # scontrol 22.05 exits 0 here but prints "Invalid hostlist" and no host.
  theirs=$(scontrol show hostnames "$bad" 2>&1 || true)
  [[ "$theirs" == *"Invalid hostlist"* ]] || fail "scontrol accepted '$bad': $theirs"
  out=$(echo "$bad" | "$RANKWRAP_HOSTLIST_TOOL")
  [[ "$out" == error:* ]] && pass "'$bad' rejected by both" || fail "rankwrap accepted '$bad': $out"
done
finish
