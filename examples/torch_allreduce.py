#!/usr/bin/env python3
"""A PyTorch program that knows nothing about Slurm or MPI.

It reads the standard contract through torch's env:// rendezvous (RANK,
WORLD_SIZE, MASTER_ADDR, MASTER_PORT), all-reduces a tensor holding its
rank + 1 over gloo, and checks the sum. Run it behind rankwrap under any
launcher:

    srun -N2 --ntasks-per-node=2 rankwrap python3 examples/torch_allreduce.py
    mpirun -np 4 rankwrap python3 examples/torch_allreduce.py
    rankwrap --nproc 4 python3 examples/torch_allreduce.py
"""
import os
import socket
import sys
from datetime import timedelta

import torch
import torch.distributed as dist


def main() -> int:
    dist.init_process_group("gloo", init_method="env://", timeout=timedelta(seconds=60))
    rank, world = dist.get_rank(), dist.get_world_size()
    t = torch.full((1024,), float(rank + 1))
    dist.all_reduce(t)
    want = world * (world + 1) / 2
    ok = bool(torch.all(t == want))
    print(f"torch_allreduce rank {rank}/{world} local {os.environ.get('LOCAL_RANK')} "
          f"on {socket.gethostname()}: sum {t[0].item():.0f} {'OK' if ok else f'WRONG (expected {want:.0f})'}",
          flush=True)
    dist.barrier()
    dist.destroy_process_group()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
