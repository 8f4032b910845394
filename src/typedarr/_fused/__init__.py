"""The fused engine: a delayed array's whole expression compiled into one numba kernel.

`_plan` turns a graph into a program (the typed structural key) and the kernel's
arguments, `_layout` works out a kernel's extents and stored instructions, `_scalar` and
`_codegen` write the kernel's source,
`_cache` keeps compiled kernels in memory and on disk, and `_engine` is the `FusedEngine` the
dispatcher calls. Importing this package imports numba.
"""

from ._cache import CacheStats as CacheStats
from ._cache import kernel_dir as kernel_dir
from ._cache import stats as stats
from ._engine import FusedEngine as FusedEngine

__all__ = ["CacheStats", "FusedEngine", "kernel_dir", "stats"]
