"""The one exception guest memory accesses raise."""


class MemFault(Exception):
    """A guest access to unmapped or protected memory.

    kind is "unmapped" (SEGV_MAPERR) or "perm" (SEGV_ACCERR); access is
    "r", "w" or "x".
    """

    def __init__(self, addr: int, access: str = "r", kind: str = "unmapped") -> None:
        super().__init__(f"guest {access} fault at {addr:#x} ({kind})")
        self.addr = addr
        self.access = access
        self.kind = kind
