"""The Dask engine: typed expressions over chunked arrays, computed block by block (DESIGN §8).

`_regions` cuts a graph into fused regions and boundaries and builds the dask arrays,
`_block` is what one task carries and runs (a recipe, the in-memory engine and numpy
blocks), and `_engine` is the `DaskEngine` the dispatcher calls for a graph that reads a
chunked array. Importing this package imports dask.
"""

from ._engine import DaskEngine as DaskEngine
from ._engine import store as store
from ._engine import to_dask as to_dask

__all__ = ["DaskEngine", "store", "to_dask"]
