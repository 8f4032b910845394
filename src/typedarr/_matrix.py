"""Matrices (massiv's `Array r Ix2 e`): `Matrix[R, C]` in memory, `DMatrix[R, C]` delayed.

`R` and `C` are phantom dimensions: `Matrix[Batch, Hidden] @ Matrix[Hidden, Out]` is a
`Matrix[Batch, Out]`, while `Matrix[Batch, In] @ Matrix[Hidden, Out]` and
`Matrix[B, H] + Matrix[B, In]` are mypy errors. A bare `Matrix` has dynamic dimensions.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Generic, overload

import numpy as np
from typing_extensions import TypeVar

from . import _compute, _construct
from ._args import Real, Size
from ._array import _Elementwise
from ._construct import NonFinite, Seed
from ._errors import DTypeError, ShapeError
from ._ir import Node, is_leaf, leaf, permute
from ._linalg import matmul
from ._select import Index, select, select_pair
from ._strategy import Strategy, combine, strategy_or_default
from ._vector import Vector, VectorLike

if TYPE_CHECKING:
    import dask.array as da

R = TypeVar("R", default=Any)
C = TypeVar("C", default=Any)
K = TypeVar("K", default=Any)

Position = int | np.integer[Any]
Picks = slice | Sequence[int] | np.ndarray[Any, Any]


class MatrixLike(_Elementwise["MatrixLike[R, C]", "DMatrix[R, C]"], Generic[R, C]):
    """A Matrix with `R` rows and `C` columns, in memory or delayed."""

    __slots__ = ()
    _KIND: ClassVar[str] = "Matrix"
    _RANK: ClassVar[int] = 2

    def _delayed(self, node: Node, strategy: Strategy) -> DMatrix[R, C]:
        return DMatrix._wrap(node, strategy)

    @property
    def rows(self) -> int:
        """The number of rows."""
        return self.shape[0]

    @property
    def cols(self) -> int:
        """The number of columns."""
        return self.shape[1]

    @property
    def T(self) -> MatrixLike[C, R]:  # numpy's name
        """The transpose: a view for a Matrix, an index map for a DMatrix; never a copy."""
        return DMatrix._wrap(permute(self._node, (1, 0)), self._strategy)

    def delay(self) -> DMatrix[R, C]:
        """A delayed view of this Matrix (massiv's `delay`): no copy."""
        return DMatrix._wrap(self._node, self._strategy)

    def compute(self) -> Matrix[R, C]:
        """The values in memory (massiv's `compute`); a Matrix is returned as it is."""
        if isinstance(self, Matrix):
            return self
        (node,) = _compute.materialise((self._node,), self._strategy)
        return self._computed(node)

    def _computed(self, node: Node) -> Matrix[R, C]:
        """This array's manifest form holding `node` (what `compute` made of it)."""
        if isinstance(self, Matrix):
            return self
        return Matrix._wrap(node, self._strategy)

    @overload
    def __matmul__(self, other: MatrixLike[C, K]) -> Matrix[R, K]: ...
    @overload
    def __matmul__(self, other: VectorLike[C]) -> Vector[R]: ...
    def __matmul__(self, other: MatrixLike[C, K] | VectorLike[C]) -> Matrix[R, K] | Vector[R]:
        """The matrix product (BLAS): delayed operands are computed first.

        Raises ShapeError when the inner sizes differ.

        >>> (Matrix.ones(2, 3) @ Matrix.ones(3, 4)).shape
        (2, 4)
        """
        self._refuse_ndarray("multiply", other)
        if not isinstance(other, _Elementwise):
            return NotImplemented
        node, strategy = matmul(self, other)
        if other._RANK == 1:
            return Vector._wrap(node, strategy)
        return Matrix._wrap(node, strategy)


class Matrix(MatrixLike[R, C]):
    """A manifest Matrix: float32 (default) or float64 values in memory (massiv's `U`)."""

    __slots__ = ()
    _MANIFEST = True

    @classmethod
    def from_numpy(cls, a: np.ndarray[Any, Any], *, nonfinite: NonFinite = "raise",
                   strategy: Strategy | None = None) -> Matrix:
        """A Matrix holding a copy of the 2-d float32/float64 array `a`.

        Raises ShapeError for another rank, DTypeError for a non-float dtype, and ValueError
        for NaN or infinity unless `nonfinite="allow"`.

        >>> Matrix.from_numpy(np.zeros((2, 3))).dtype
        dtype('float64')
        """
        return cls._new(_construct.from_numpy(a, 2, "Matrix", nonfinite), strategy)

    @classmethod
    def from_dask(cls, blocks: da.Array, *, strategy: Strategy | None = None) -> DMatrix:
        """A delayed Matrix over the 2-d float32/float64 dask array `blocks` (chunked, on disk
        or in a cluster): computed block by block on Dask, never loaded whole.

        Raises ShapeError for another rank or unknown sizes, DTypeError for a non-float
        dtype, ImportError without dask (`pip install 'typedarr[dask]'`). The values are
        not checked for NaN (that would read them all).

        >>> import dask.array
        >>> x = Matrix.from_dask(dask.array.ones((6, 2), chunks=(4, 2), dtype=np.float32))
        >>> sum_rows(x).compute().to_numpy()
        array([6., 6.], dtype=float32)
        """
        from ._chunked import chunked_leaf

        return DMatrix._wrap(chunked_leaf(blocks, 2, "Matrix"), strategy_or_default(strategy))

    @classmethod
    def from_zarr(cls, source: str | os.PathLike[str] | Any, *,
                  strategy: Strategy | None = None) -> DMatrix:
        """A delayed Matrix over a 2-d zarr array, or the one stored at the path `source`,
        read chunk by chunk (see `from_dask`)."""
        from ._chunked import zarr_leaf

        return DMatrix._wrap(zarr_leaf(source, 2, "Matrix"), strategy_or_default(strategy))

    @classmethod
    def from_list(cls, rows: Sequence[Sequence[Real]], *, dtype: Any = np.float32,
                  strategy: Strategy | None = None) -> Matrix:
        """A Matrix from a list of equally long rows."""
        return cls._new(_construct.from_nested(rows, 2, "Matrix", dtype), strategy)

    @classmethod
    def zeros(cls, rows: Size, cols: Size, *, dtype: Any = np.float32) -> Matrix:
        """A `rows` x `cols` Matrix of zeros."""
        return cls.replicate(rows, cols, 0.0, dtype=dtype)

    @classmethod
    def ones(cls, rows: Size, cols: Size, *, dtype: Any = np.float32) -> Matrix:
        """A `rows` x `cols` Matrix of ones."""
        return cls.replicate(rows, cols, 1.0, dtype=dtype)

    @classmethod
    def replicate(cls, rows: Size, cols: Size, value: Real, *, dtype: Any = np.float32
                  ) -> Matrix:
        """A `rows` x `cols` Matrix with every element `value` (massiv's `replicate`)."""
        return cls._new(_construct.filled((rows, cols), value, dtype), None)

    @classmethod
    def random_normal(cls, rows: Size, cols: Size, *, seed: Seed, mean: Real = 0.0,
                      std: Real = 1.0, dtype: Any = np.float32) -> Matrix:
        """Normally distributed values, reproducible from `seed` (an int or a Generator)."""
        return cls._wrap(_construct.random("normal", (rows, cols), seed, (mean, std), dtype),
                         strategy_or_default(None))

    @classmethod
    def random_uniform(cls, rows: Size, cols: Size, *, seed: Seed, low: Real = 0.0,
                       high: Real = 1.0, dtype: Any = np.float32) -> Matrix:
        """Values uniform on [low, high), reproducible from `seed`."""
        return cls._wrap(_construct.random("uniform", (rows, cols), seed, (low, high), dtype),
                         strategy_or_default(None))

    @classmethod
    def _new(cls, data: _construct.Data, strategy: Strategy | None) -> Matrix:
        return cls._wrap(leaf(data), strategy_or_default(strategy))

    @property
    def T(self) -> Matrix[C, R]:  # numpy's name
        """The transpose: a view of the same memory, no copy."""
        if not is_leaf(self._node):  # inside a trace: the program reads it transposed
            return Matrix._wrap(permute(self._node, (1, 0)), self._strategy)
        return Matrix._wrap(leaf(self._values().T), self._strategy)

    # A tuple is always `m[rows, cols]`, never a list of rows: its overloads come first (mypy
    # sees a tuple of ints as a Sequence[int] too, hence the overlap it reports).
    @overload
    def __getitem__(self, index: tuple[Position, Position]) -> float: ...  # type: ignore[overload-overlap]
    @overload
    def __getitem__(self, index: tuple[Position, Picks]) -> Vector[Any]: ...  # type: ignore[overload-overlap]
    @overload
    def __getitem__(self, index: tuple[Picks, Position]) -> Vector[Any]: ...  # type: ignore[overload-overlap]
    @overload
    def __getitem__(self, index: tuple[Picks, Picks]) -> Matrix[Any, Any]: ...
    @overload
    def __getitem__(self, index: Position) -> Vector[C]: ...
    @overload
    def __getitem__(self, index: Picks) -> Matrix[Any, C]: ...
    def __getitem__(self, index: Index | tuple[Any, ...]
                    ) -> float | Vector[Any] | Matrix[Any, Any]:
        """Row `i` as a Vector, or the rows a slice or an index array selects (mini-batches);
        with two indices `m[rows, cols]`, each an int, a slice or an index array: `m[:, j]` is
        column `j` (a Vector), `m[:, a:b]` those columns (a Matrix), `m[i, j]` a float.

        Raises IndexError for an index out of range, TypeError for a bool, a float, or two
        index arrays at once (write `m[rows][:, cols]`).

        >>> m = Matrix.from_list([[1, 2, 3], [4, 5, 6]])
        >>> m[np.array([1, 0])].shape, m[:, 1].shape, m[:, 1:].shape, m[1, 2]
        ((2, 3), (2,), (2, 2), 6.0)
        """
        if isinstance(index, tuple):
            picked = select_pair(self._values(), index)
            if isinstance(picked, float):
                return picked
        else:
            picked = select(self._values(), index, "Matrix")
        assert isinstance(picked, np.ndarray)
        if picked.ndim == 1:
            return Vector._wrap(leaf(picked), self._strategy)
        return Matrix._wrap(leaf(picked), self._strategy)


class DMatrix(MatrixLike[R, C]):
    """A delayed Matrix (massiv's `D`): an expression, computed only by `compute`."""

    __slots__ = ()

    @property
    def T(self) -> DMatrix[C, R]:  # numpy's name
        """The transpose, delayed: an index map over the expression."""
        return DMatrix._wrap(permute(self._node, (1, 0)), self._strategy)


def concat_rows(parts: Sequence[MatrixLike[Any, C]]) -> Matrix[Any, C]:
    """The rows of every part, one part after another (all with the same columns and dtype).

    >>> concat_rows([Matrix.zeros(2, 3), Matrix.ones(1, 3)]).shape
    (3, 3)
    """
    return _concat("concat_rows", parts, 0)


def concat_cols(parts: Sequence[MatrixLike[R, Any]]) -> Matrix[R, Any]:
    """The columns of every part, one part after another (all with the same rows and dtype):
    numpy's `np.concatenate(parts, axis=1)`, `np.hstack`.

    >>> concat_cols([Matrix.zeros(2, 3), Matrix.ones(2, 1)]).shape
    (2, 4)
    """
    return _concat("concat_cols", parts, 1)


def _concat(name: str, parts: Sequence[MatrixLike[Any, Any]], axis: int) -> Matrix[Any, Any]:
    if isinstance(parts, MatrixLike) or not parts:
        raise ShapeError(f"{name} takes a list of at least one Matrix")
    for i, p in enumerate(parts):
        if not isinstance(p, MatrixLike):
            raise ShapeError(f"{name} takes Matrix parts only; part {i} is "
                             f"{type(p).__name__} {getattr(p, 'shape', '')}")
    first, kept = parts[0], ("column", "row")[axis]
    for p in parts[1:]:
        if p.shape[1 - axis] != first.shape[1 - axis]:
            raise ShapeError(f"cannot concatenate {('rows', 'columns')[axis]} of Matrix "
                             f"{first.shape} and Matrix {p.shape}: the {kept} counts differ")
        if p.dtype != first.dtype:
            raise DTypeError(f"cannot concatenate Matrix of {first.dtype} and Matrix of "
                             f"{p.dtype}: convert one with .astype")
    data = np.concatenate([p._values() for p in parts], axis=axis)
    data.flags.writeable = False
    return Matrix._wrap(leaf(data), functools.reduce(combine, (p.strategy for p in parts)))
