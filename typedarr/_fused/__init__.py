"""The fused engine: a delayed array's whole expression compiled into one numba kernel.

`_plan` turns a graph into a program (the typed structural key) and the kernel's
arguments, `_layout` works out a kernel's extents and stored instructions, `_scalar` and
`_codegen` write the kernel's source,
`_cache` keeps compiled kernels in memory and on disk, and `_engine` is the entry `_compute`
calls. Importing this package imports numba.
"""

from ._cache import CacheStats as CacheStats
from ._cache import kernel_dir as kernel_dir
from ._cache import stats as stats
from ._engine import compile_program as compile_program
from ._engine import evaluate as evaluate
from ._engine import evaluate_many as evaluate_many

__all__ = ["CacheStats", "compile_program", "evaluate", "evaluate_many", "kernel_dir", "stats"]
