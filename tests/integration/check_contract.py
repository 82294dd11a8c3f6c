#!/usr/bin/env python3
"""Checks the --print-env output of every rank of one launch.

stdin: the launcher's output, one line per variable, tagged with the rank by
the launcher itself: "[1,3]<stdout>:RANK=3" (Open MPI --tag-output),
"[3] RANK=3" (Hydra -l), "3: RANK=3" (srun --label). Untagged lines are
ignored.

usage: check_contract.py WORLD LAUNCHER [--layout 2,1] [--master HOST]
  --layout  tasks per node in node order, block placement (default: all on one node)
  --master  the expected MASTER_ADDR
"""
import argparse
import re
import sys

ap = argparse.ArgumentParser()
ap.add_argument("world", type=int)
ap.add_argument("launcher")
ap.add_argument("--layout")
ap.add_argument("--master")
args = ap.parse_args()
world = args.world
layout = [int(x) for x in args.layout.split(",")] if args.layout else [world]
assert sum(layout) == world, "layout must add up to the world size"

tag = re.compile(r"^(?:\[(?:\d+,)?(\d+)\](?:<stdout>:|\s)|\s*(\d+): )\s*([A-Z_]+)=(.*)$")
ranks = {}
for line in sys.stdin:
    m = tag.match(line.rstrip("\n"))
    if m:
        t = int(m.group(1) if m.group(1) is not None else m.group(2))
        ranks.setdefault(t, {})[m.group(3)] = m.group(4)

errors = []
if sorted(ranks) != list(range(world)):
    errors.append(f"launcher ranks seen: {sorted(ranks)}")
seen = sorted(int(env.get("RANK", -1)) for env in ranks.values())
if seen != list(range(world)):
    errors.append(f"RANK values {seen}, expected 0..{world - 1} exactly once")
# Block placement: rank r is on node n with local rank l.
where = {}
r = 0
for node, count in enumerate(layout):
    for local in range(count):
        where[r] = (node, local, count)
        r += 1
for tagged, env in ranks.items():
    rank = int(env.get("RANK", -1))
    if env.get("RANK") != str(tagged):
        errors.append(f"launcher rank {tagged} got RANK={env.get('RANK')}")
    if env.get("RANKWRAP_LAUNCHER") != args.launcher:
        errors.append(f"rank {rank}: RANKWRAP_LAUNCHER={env.get('RANKWRAP_LAUNCHER')}")
    if rank in where:
        node, local, count = where[rank]
        want = {"NODE_RANK": node, "GROUP_RANK": node, "LOCAL_RANK": local, "LOCAL_WORLD_SIZE": count,
                "WORLD_SIZE": world, "NUM_NODES": len(layout)}
        for k, v in want.items():
            if env.get(k) != str(v):
                errors.append(f"rank {rank}: {k}={env.get(k)}, expected {v}")
for key in ("MASTER_ADDR", "MASTER_PORT"):
    got = {env.get(key) for env in ranks.values()}
    if len(got) != 1 or None in got:
        errors.append(f"{key} differs between ranks: {got}")
if args.master and ranks and {env.get("MASTER_ADDR") for env in ranks.values()} != {args.master}:
    errors.append(f"MASTER_ADDR is not {args.master}")
if errors:
    print("; ".join(errors[:12]))
    sys.exit(1)
env0 = next(iter(ranks.values()))
print(f"{world} ranks on {len(layout)} node(s) {layout}: contract right, MASTER_ADDR={env0['MASTER_ADDR']} "
      f"MASTER_PORT={env0['MASTER_PORT']} everywhere")
