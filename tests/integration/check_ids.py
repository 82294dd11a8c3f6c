#!/usr/bin/env python3
"""Checks the NCCL ids every rank of one launch received.

stdin: lines "ID <RANK> <256 hex> <MASTER_ADDR> <MASTER_PORT>" (any order,
other lines ignored). argv: world size, then this host's IPv4 addresses.
Prints the id on success. The id is NCCL's bootstrap handle: 8 bytes of
magic, then the root's socket address (sa_family little-endian, port and
IPv4 address in network order), which must be one of rank 0's (this host's)
addresses.
"""
import re
import socket
import struct
import sys

world = int(sys.argv[1])
local_addrs = set(sys.argv[2:]) | {"127.0.0.1"}
seen = {}
for line in sys.stdin:
    m = re.match(r"^ID (\d+) ([0-9a-f]*) (\S+) (\d+)$", line.strip())
    if m:
        seen[int(m.group(1))] = (m.group(2), m.group(3), m.group(4))
errors = []
if sorted(seen) != list(range(world)):
    errors.append(f"ranks seen {sorted(seen)}, expected 0..{world - 1}")
ids = {v[0] for v in seen.values()}
if len(ids) != 1:
    errors.append(f"{len(ids)} different ids")
ident = next(iter(ids)) if ids else ""
if len(ident) != 256:
    errors.append(f"id has {len(ident)} hex characters, expected 256")
else:
    raw = bytes.fromhex(ident)
    family = struct.unpack_from("<H", raw, 8)[0]
    port = struct.unpack_from(">H", raw, 10)[0]
    addr = socket.inet_ntoa(raw[12:16])
    if family != socket.AF_INET:
        errors.append(f"handle address family {family}, expected AF_INET")
    if addr not in local_addrs:
        errors.append(f"handle address {addr} is not one of rank 0's host addresses {sorted(local_addrs)}")
    if port == 0:
        errors.append("handle port is 0")
masters = {(v[1], v[2]) for v in seen.values()}
if len(masters) != 1:
    errors.append(f"MASTER_ADDR/MASTER_PORT differ: {masters}")
if errors:
    print("; ".join(errors))
    sys.exit(1)
print(f"{ident[:16]}... root {addr}:{port}")
