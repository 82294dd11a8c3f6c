#!/usr/bin/env python3
"""Checks the --print-env output of every rank of one launch.

stdin: the launcher's tagged output, one line per variable, each line tagged
with its rank by the launcher itself ("[1,3]<stdout>:RANK=3" from Open MPI's
--tag-output, "[3] RANK=3" from Hydra's -l). argv: world size, launcher name.
"""
import re
import sys

world = int(sys.argv[1])
launcher = sys.argv[2]
tag = re.compile(r"^\[(?:\d+,)?(\d+)\](?:<stdout>:|\s)\s*([A-Z_]+)=(.*)$")
ranks = {}
for line in sys.stdin:
    m = tag.match(line.rstrip("\n"))
    if not m:
        continue
    ranks.setdefault(int(m.group(1)), {})[m.group(2)] = m.group(3)

errors = []
if sorted(ranks) != list(range(world)):
    errors.append(f"launcher ranks seen: {sorted(ranks)}")
seen = sorted(int(env.get("RANK", -1)) for env in ranks.values())
if seen != list(range(world)):
    errors.append(f"RANK values {seen}, expected 0..{world - 1} exactly once")
for tagged, env in ranks.items():
    if env.get("RANK") != str(tagged):
        errors.append(f"launcher rank {tagged} got RANK={env.get('RANK')}")
    if env.get("RANKWRAP_LAUNCHER") != launcher:
        errors.append(f"rank {tagged}: RANKWRAP_LAUNCHER={env.get('RANKWRAP_LAUNCHER')}")
for key, want in (("WORLD_SIZE", {str(world)}), ("LOCAL_WORLD_SIZE", {str(world)}),
                  ("NUM_NODES", {"1"}), ("NODE_RANK", {"0"})):
    got = {env.get(key) for env in ranks.values()}
    if got != want:
        errors.append(f"{key} values {got}, expected {want}")
for key in ("MASTER_ADDR", "MASTER_PORT"):
    got = {env.get(key) for env in ranks.values()}
    if len(got) != 1 or None in got:
        errors.append(f"{key} differs between ranks: {got}")
locals_ = sorted(int(env.get("LOCAL_RANK", -1)) for env in ranks.values())
if locals_ != list(range(world)):
    errors.append(f"LOCAL_RANK values {locals_}")
if errors:
    print("\n".join(errors))
    sys.exit(1)
env0 = ranks[0]
print(f"{world} ranks: RANK 0..{world - 1} once each, MASTER_ADDR={env0['MASTER_ADDR']} "
      f"MASTER_PORT={env0['MASTER_PORT']} everywhere")
