"""A64 family placeholder: filled in by its own change."""


def decode(insn: int):
    return None
