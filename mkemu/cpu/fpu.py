"""IEEE 754 arithmetic on raw bit patterns, as the Arm ARM's FP pseudocode defines it.

Placeholder: filled in by its own change (see the API in its docstring there).
"""
