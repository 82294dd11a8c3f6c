"""A rank that fails with a Python exception under torch's @record.

@record (torch.distributed.elastic.multiprocessing.errors) writes the
exception and its traceback to TORCHELASTIC_ERROR_FILE, which rankwrap's
keeper sets for every rank (as torchrun does) and reads when the rank fails:
the failure summary, --failure-file and the other nodes then name it.

    rankwrap --nproc 2 --failure-file failure.json python3 torch_record_fail.py
FAIL_RANK chooses the failing rank (default: the last one).
"""
import os
import time

from torch.distributed.elastic.multiprocessing.errors import record


def load_checkpoint(rank):
    raise RuntimeError(f"checkpoint shard {rank} is corrupt")


@record
def main():
    rank = int(os.environ["RANK"])
    fail = int(os.environ.get("FAIL_RANK", int(os.environ["WORLD_SIZE"]) - 1))
    if rank == fail:
        time.sleep(0.5)
        load_checkpoint(rank)
    time.sleep(60)


if __name__ == "__main__":
    main()
