"""rankwrap: the rank contract of a distributed job, as the program sees it.

contract() reads what `rankwrap` exported to this program; detect() runs
rankwrap's own detection in this process (what `rankwrap --print-env`
prints); nccl_unique_id() gives the id of `rankwrap --nccl-bootstrap=mpi`.
"""

from ._rankwrap import Contract, RankwrapError, __version__, contract, detect, nccl_unique_id

__all__ = ["Contract", "RankwrapError", "__version__", "contract", "detect", "nccl_unique_id"]
