"""Vectors (massiv's `Array r Ix1 e`): `Vector[N]` in memory, `DVector[N]` delayed.

`N` is a phantom dimension: any class used as a name (`Vector[Hidden]`), or nothing at all
(a bare `Vector` has a dynamic dimension). Both kinds share every elementwise operator
through `VectorLike[N]`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Generic, overload

import numpy as np
from typing_extensions import TypeVar

from . import _compute, _construct
from ._args import Real, Size
from ._array import _Elementwise
from ._construct import NonFinite, Seed
from ._ir import Node, leaf
from ._linalg import dot, matmul
from ._select import Index, select
from ._strategy import Strategy, strategy_or_default

if TYPE_CHECKING:
    import dask.array as da

    from ._matrix import MatrixLike

N = TypeVar("N", default=Any)
K = TypeVar("K", default=Any)


class VectorLike(_Elementwise["VectorLike[N]", "DVector[N]"], Generic[N]):
    """A Vector of length `N`, in memory or delayed."""

    __slots__ = ()
    _KIND: ClassVar[str] = "Vector"
    _RANK: ClassVar[int] = 1

    def _delayed(self, node: Node, strategy: Strategy) -> DVector[N]:
        return DVector._wrap(node, strategy)

    @property
    def size(self) -> int:
        """The number of elements."""
        return self.shape[0]

    def delay(self) -> DVector[N]:
        """A delayed view of this Vector (massiv's `delay`): no copy."""
        return DVector._wrap(self._node, self._strategy)

    def compute(self) -> Vector[N]:
        """The values in memory (massiv's `compute`); a Vector is returned as it is."""
        if isinstance(self, Vector):
            return self
        (node,) = _compute.materialise((self._node,), self._strategy)
        return self._computed(node)

    def _computed(self, node: Node) -> Vector[N]:
        """This array's manifest form holding `node` (what `compute` made of it)."""
        if isinstance(self, Vector):
            return self
        return Vector._wrap(node, self._strategy)

    @overload
    def __matmul__(self, other: MatrixLike[N, K]) -> Vector[K]: ...
    @overload
    def __matmul__(self, other: VectorLike[N]) -> float: ...
    def __matmul__(self, other: MatrixLike[N, K] | VectorLike[N]) -> Vector[K] | float:
        """`v @ m` (a Vector) or `v @ w` (the dot product, a float)."""
        self._refuse_ndarray("multiply", other)
        if not isinstance(other, _Elementwise):
            return NotImplemented
        if other._RANK == 1:
            return dot(self, other)
        node, strategy = matmul(self, other)
        return Vector._wrap(node, strategy)


class Vector(VectorLike[N]):
    """A manifest Vector: float32 (default) or float64 values in memory (massiv's `U`)."""

    __slots__ = ()
    _MANIFEST = True

    @classmethod
    def from_numpy(cls, a: np.ndarray[Any, Any], *, nonfinite: NonFinite = "raise",
                   strategy: Strategy | None = None) -> Vector:
        """A Vector holding a copy of the 1-d float32/float64 array `a`.

        Raises ShapeError for another rank, DTypeError for a non-float dtype, and ValueError
        for NaN or infinity unless `nonfinite="allow"`.

        >>> Vector.from_numpy(np.array([1.0, 2.0], dtype=np.float32)).shape
        (2,)
        """
        return cls._new(_construct.from_numpy(a, 1, "Vector", nonfinite), strategy)

    @classmethod
    def from_dask(cls, blocks: da.Array, *, strategy: Strategy | None = None) -> DVector:
        """A delayed Vector over the 1-d float32/float64 dask array `blocks`, computed block
        by block on Dask (see `Matrix.from_dask`)."""
        from ._chunked import chunked_leaf

        return DVector._wrap(chunked_leaf(blocks, 1, "Vector"), strategy_or_default(strategy))

    @classmethod
    def from_zarr(cls, source: str | os.PathLike[str] | Any, *,
                  strategy: Strategy | None = None) -> DVector:
        """A delayed Vector over a 1-d zarr array, or the one stored at the path `source`."""
        from ._chunked import zarr_leaf

        return DVector._wrap(zarr_leaf(source, 1, "Vector"), strategy_or_default(strategy))

    @classmethod
    def from_list(cls, values: Sequence[Real], *, dtype: Any = np.float32,
                  strategy: Strategy | None = None) -> Vector:
        """A Vector of the numbers in `values` (massiv's `fromList`)."""
        return cls._new(_construct.from_nested(values, 1, "Vector", dtype), strategy)

    @classmethod
    def zeros(cls, n: Size, *, dtype: Any = np.float32) -> Vector:
        """A Vector of `n` zeros."""
        return cls.replicate(n, 0.0, dtype=dtype)

    @classmethod
    def ones(cls, n: Size, *, dtype: Any = np.float32) -> Vector:
        """A Vector of `n` ones."""
        return cls.replicate(n, 1.0, dtype=dtype)

    @classmethod
    def replicate(cls, n: Size, value: Real, *, dtype: Any = np.float32) -> Vector:
        """A Vector of `n` copies of `value` (massiv's `replicate`)."""
        return cls._new(_construct.filled((n,), value, dtype), None)

    @classmethod
    def random_normal(cls, n: Size, *, seed: Seed, mean: Real = 0.0, std: Real = 1.0,
                      dtype: Any = np.float32) -> Vector:
        """`n` normally distributed values, reproducible from `seed`."""
        return cls._wrap(_construct.random("normal", (n,), seed, (mean, std), dtype),
                         strategy_or_default(None))

    @classmethod
    def random_uniform(cls, n: Size, *, seed: Seed, low: Real = 0.0, high: Real = 1.0,
                       dtype: Any = np.float32) -> Vector:
        """`n` values uniform on [low, high), reproducible from `seed`."""
        return cls._wrap(_construct.random("uniform", (n,), seed, (low, high), dtype),
                         strategy_or_default(None))

    @classmethod
    def _new(cls, data: _construct.Data, strategy: Strategy | None) -> Vector:
        return cls._wrap(leaf(data), strategy_or_default(strategy))

    @overload
    def __getitem__(self, index: int | np.integer[Any]) -> float: ...
    @overload
    def __getitem__(self, index: slice | Sequence[int] | np.ndarray[Any, Any]) -> Vector: ...
    def __getitem__(self, index: Index) -> float | Vector:
        """One element (`v[i]`, a float) or a Vector of the elements selected."""
        picked = select(self._values(), index, "Vector")
        if isinstance(picked, np.ndarray):
            return Vector._wrap(leaf(picked), self._strategy)
        return picked


class DVector(VectorLike[N]):
    """A delayed Vector (massiv's `D`): an expression, computed only by `compute`."""

    __slots__ = ()
