# Type stubs of the rankwrap module (the extension rankwrap._rankwrap).
# tests/integration/install.sh checks that these names and the module's agree.

__version__: str
__all__: list[str]

class RankwrapError(RuntimeError):
    """rankwrap's own error: the variable, its value, what was expected, a hint."""

class Contract:
    """The rank contract rankwrap exported to this program."""

    @property
    def rank(self) -> int: ...
    @property
    def world_size(self) -> int: ...
    @property
    def local_rank(self) -> int: ...
    @property
    def local_world_size(self) -> int: ...
    @property
    def node_rank(self) -> int: ...
    @property
    def num_nodes(self) -> int: ...
    @property
    def master_addr(self) -> str: ...
    @property
    def master_port(self) -> int: ...
    @property
    def launcher(self) -> str: ...

def detect(**options: object) -> dict[str, str]:
    """The variables `rankwrap --print-env` would print here; options as keywords (master_port=...)."""

def contract() -> Contract:
    """The contract from RANK, WORLD_SIZE, ... as rankwrap exported them; raises RankwrapError."""

def nccl_unique_id() -> bytes:
    """The 128-byte NCCL unique id from RANKWRAP_NCCL_UNIQUE_ID; raises RankwrapError."""
