#!/usr/bin/env python3
"""A torchrun-style PyTorch program behind rankwrap: torch.cuda.set_device(LOCAL_RANK).

Run it with --gpu-visibility local-rank: every rank of a node sees the same
list of the node's GPUs, and device LOCAL_RANK is the GPU rankwrap planned
for that rank (near its cores and NIC), so the usual

    torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))

lands on the right GPU while NCCL still sees every peer GPU for P2P/NVLink.

    srun -N2 --ntasks-per-node=4 rankwrap --gpu-visibility local-rank python3 examples/torch_local_rank.py
    mpirun -np 8 rankwrap --gpu-visibility local-rank python3 examples/torch_local_rank.py
    rankwrap --nproc 4 --gpu-visibility local-rank python3 examples/torch_local_rank.py

It checks that the chosen GPU is local to the CPUs the rank is bound to
(/sys/bus/pci/devices/BUS/local_cpulist), then all-reduces over NCCL. Without
CUDA it all-reduces over gloo and says there was no GPU to check.
"""
import os
import socket
import sys
from datetime import timedelta

import torch
import torch.distributed as dist


def cpulist(text: str) -> set:
    cpus = set()
    for part in text.strip().split(","):
        if part:
            lo, _, hi = part.partition("-")
            cpus.update(range(int(lo), int(hi or lo) + 1))
    return cpus


def gpu_is_near(device: int) -> str:
    props = torch.cuda.get_device_properties(device)
    bus = getattr(props, "pci_bus_id", None)
    if bus is None:
        return "not checked (this torch has no pci_bus_id)"
    domain = getattr(props, "pci_domain_id", 0)
    dev = getattr(props, "pci_device_id", 0)
    path = f"/sys/bus/pci/devices/{domain:04x}:{bus:02x}:{dev:02x}.0/local_cpulist"
    try:
        with open(path) as f:
            local = cpulist(f.read())
    except OSError:
        return f"not checked ({path} unreadable)"
    mine = os.sched_getaffinity(0)
    return "near my CPUs" if mine <= local or mine & local else f"FAR: my CPUs {sorted(mine)[:4]}... not in {path}"


def main() -> int:
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = torch.cuda.is_available()
    where = "no CUDA: nothing to check"
    if cuda:
        torch.cuda.set_device(local_rank)  # torchrun's convention
        where = f"cuda:{local_rank} ({torch.cuda.get_device_name(local_rank)}), {gpu_is_near(local_rank)}"
    dist.init_process_group("nccl" if cuda else "gloo", init_method="env://", timeout=timedelta(seconds=60))
    rank, world = dist.get_rank(), dist.get_world_size()
    t = torch.full((1024,), float(rank + 1), device="cuda" if cuda else "cpu")
    dist.all_reduce(t)
    ok = bool(torch.all(t == world * (world + 1) / 2)) and "FAR" not in where
    print(f"torch_local_rank rank {rank}/{world} local {local_rank} on {socket.gethostname()}: {where}: "
          f"{'OK' if ok else 'WRONG'}", flush=True)
    dist.destroy_process_group()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
