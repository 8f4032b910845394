"""Typed expressions over chunked arrays, computed on Dask (DESIGN §8: the Dask engine).

`_front` is what the typed front calls (dask imported only when called), `_regions` cuts a
graph into fused regions and boundaries and builds the dask arrays, `_block` is what one
task carries and runs (a recipe and numpy blocks), and `_engine` is the entry `_compute`
calls for a graph that reads a chunked array.
"""

from ._front import chunked_leaf as chunked_leaf
from ._front import store as store
from ._front import to_dask as to_dask
from ._front import zarr_leaf as zarr_leaf

__all__ = ["chunked_leaf", "store", "to_dask", "zarr_leaf"]
