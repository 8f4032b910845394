"""Rank-4 arrays (massiv's `Array r Ix4 e`): `Tensor4[N, C, H, W]` in memory, `DTensor4` delayed.

The layout of convolution activations: samples, channels, rows, columns (seed 003's
`(N, C, H, W)`). The four dimensions are phantom types as for Matrix: `Tensor4[B, C, H, W]`
and `Tensor4[B, D, H, W]` do not combine, and a bare `Tensor4` has dynamic dimensions. The
same rules hold as for every kind: elementwise only with a Tensor4 of the same shape (or a
Python scalar); a per-channel Vector meets a Tensor4 through `channels_like`.

`flatten` and `unflatten` move between a Tensor4 and a Matrix of one row per sample. They
reshape manifest data, a view of the same memory; a delayed operand is computed first.
Inside a `typedarr.jit` trace there is no memory to view: there they are RESHAPE nodes, which
the compiled program turns into a view of its source, stored contiguously.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any, ClassVar, Generic

import numpy as np
from typing_extensions import TypeVar

from . import _compute, _construct
from ._array import _Elementwise
from ._construct import NonFinite, Seed
from ._errors import ShapeError
from ._ir import Node, leaf, reshape
from ._matrix import Matrix, MatrixLike
from ._runtime_scalar import concrete
from ._select import select
from ._strategy import Strategy, default_strategy

N = TypeVar("N", default=Any)
C = TypeVar("C", default=Any)
H = TypeVar("H", default=Any)
W = TypeVar("W", default=Any)


class Tensor4Like(_Elementwise["Tensor4Like[N, C, H, W]", "DTensor4[N, C, H, W]"],
                  Generic[N, C, H, W]):
    """A Tensor4 of `N` samples, `C` channels, `H` rows and `W` columns, in memory or delayed."""

    __slots__ = ()
    _KIND: ClassVar[str] = "Tensor4"
    _RANK: ClassVar[int] = 4

    def _delayed(self, node: Node, strategy: Strategy) -> DTensor4[N, C, H, W]:
        return DTensor4._wrap(node, strategy)

    @property
    def channels(self) -> int:
        """The number of channels (the second axis)."""
        return self.shape[1]

    def delay(self) -> DTensor4[N, C, H, W]:
        """A delayed view of this Tensor4 (massiv's `delay`): no copy."""
        return DTensor4._wrap(self._node, self._strategy)

    def compute(self) -> Tensor4[N, C, H, W]:
        """The values in memory (massiv's `compute`); a Tensor4 is returned as it is."""
        if isinstance(self, Tensor4):
            return self
        (node,) = _compute.materialise((self._node,), self._strategy)
        return self._computed(node)

    def _computed(self, node: Node) -> Tensor4[N, C, H, W]:
        """This array's manifest form holding `node` (what `compute` made of it)."""
        if isinstance(self, Tensor4):
            return self
        return Tensor4._wrap(node, self._strategy)


class Tensor4(Tensor4Like[N, C, H, W]):
    """A manifest Tensor4: float32 (default) or float64 values in memory (massiv's `U`)."""

    __slots__ = ()
    _MANIFEST = True

    @classmethod
    def from_numpy(cls, a: np.ndarray[Any, Any], *, nonfinite: NonFinite = "raise",
                   strategy: Strategy | None = None) -> Tensor4:
        """A Tensor4 holding a copy of the 4-d float32/float64 array `a` `(N, C, H, W)`.

        Raises ShapeError for another rank, DTypeError for a non-float dtype, and ValueError
        for NaN or infinity unless `nonfinite="allow"`.

        >>> Tensor4.from_numpy(np.zeros((2, 1, 28, 28), np.float32)).shape
        (2, 1, 28, 28)
        """
        return cls._new(_construct.from_numpy(a, 4, "Tensor4", nonfinite), strategy)

    @classmethod
    def from_list(cls, values: Sequence[Any], *, dtype: Any = np.float32,
                  strategy: Strategy | None = None) -> Tensor4:
        """A Tensor4 from four levels of nested lists of numbers."""
        return cls._new(_construct.from_nested(values, 4, "Tensor4", dtype), strategy)

    @classmethod
    def zeros(cls, n: int, c: int, h: int, w: int, *, dtype: Any = np.float32) -> Tensor4:
        """An `(n, c, h, w)` Tensor4 of zeros."""
        return cls.replicate(n, c, h, w, 0.0, dtype=dtype)

    @classmethod
    def ones(cls, n: int, c: int, h: int, w: int, *, dtype: Any = np.float32) -> Tensor4:
        """An `(n, c, h, w)` Tensor4 of ones."""
        return cls.replicate(n, c, h, w, 1.0, dtype=dtype)

    @classmethod
    def replicate(cls, n: int, c: int, h: int, w: int, value: float, *,
                  dtype: Any = np.float32) -> Tensor4:
        """An `(n, c, h, w)` Tensor4 with every element `value` (massiv's `replicate`)."""
        return cls._new(_construct.filled((n, c, h, w), value, dtype), None)

    @classmethod
    def random_normal(cls, n: int, c: int, h: int, w: int, *, seed: Seed, mean: float = 0.0,
                      std: float = 1.0, dtype: Any = np.float32) -> Tensor4:
        """Normally distributed values, reproducible from `seed` (an int or a Generator)."""
        return cls._new(_construct.normal((n, c, h, w), seed, mean, std, dtype), None)

    @classmethod
    def random_uniform(cls, n: int, c: int, h: int, w: int, *, seed: Seed, low: float = 0.0,
                       high: float = 1.0, dtype: Any = np.float32) -> Tensor4:
        """Values uniform on [low, high), reproducible from `seed`."""
        return cls._new(_construct.uniform((n, c, h, w), seed, low, high, dtype), None)

    @classmethod
    def _new(cls, data: _construct.Data, strategy: Strategy | None) -> Tensor4:
        return cls._wrap(leaf(data), strategy or default_strategy())

    def __getitem__(self, index: slice | Sequence[int] | np.ndarray[Any, Any]
                    ) -> Tensor4[Any, C, H, W]:
        """The samples a slice or an index array selects (mini-batches), as a Tensor4.

        >>> Tensor4.zeros(5, 1, 2, 2)[np.array([4, 0])].shape
        (2, 1, 2, 2)
        """
        if isinstance(index, numbers.Integral):  # untyped callers
            raise TypeError("a Tensor4 is indexed by a slice or an index array of samples, "
                            "not one int: write x[i:i + 1] for one sample")
        picked = select(self._values(), index, "Tensor4")
        assert isinstance(picked, np.ndarray)
        return Tensor4._wrap(leaf(picked), self._strategy)


class DTensor4(Tensor4Like[N, C, H, W]):
    """A delayed Tensor4 (massiv's `D`): an expression, computed only by `compute`."""

    __slots__ = ()


def flatten(x: Tensor4Like[N, Any, Any, Any]) -> Matrix[N, Any]:
    """The samples of `x` `(N, C, H, W)` as the rows of a Matrix `(N, C*H*W)`, row-major over
    `C, H, W` (seed 003's `nd.flatten`, PyTorch's `flatten(1)`): a view, no copy.

    >>> flatten(Tensor4.zeros(2, 3, 4, 5)).shape
    (2, 60)
    """
    if not isinstance(x, Tensor4Like):
        raise ShapeError(f"flatten takes a Tensor4, got {type(x).__name__}")
    n, c, h, w = x.shape
    return Matrix._wrap(_compute.run(reshape(x._node, (n, c * h * w)), x.strategy), x.strategy)


def unflatten(m: MatrixLike[N, Any], c: int, h: int, w: int) -> Tensor4[N, Any, Any, Any]:
    """The rows of `m` as samples of `c` channels of `h x w`: the inverse of `flatten`.

    Raises ShapeError unless `m` has `c * h * w` columns.

    >>> unflatten(Matrix.zeros(2, 60), 3, 4, 5).shape
    (2, 3, 4, 5)
    """
    if not isinstance(m, MatrixLike):
        raise ShapeError(f"unflatten takes a Matrix, got {type(m).__name__}")
    sizes = tuple(concrete(v) for v in (c, h, w))  # sizes: traced numbers specialise
    if any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in sizes):
        raise ShapeError(f"unflatten: channels, rows and columns must be non-negative ints, "
                         f"got {sizes!r}")
    if m.cols != c * h * w:
        raise ShapeError(f"unflatten: Matrix {m.shape} has {m.cols} columns, not the "
                         f"{c}*{h}*{w} = {c * h * w} of Tensor4 {(m.rows, c, h, w)}")
    return Tensor4._wrap(_compute.run(reshape(m._node, (m.rows, c, h, w)), m.strategy),
                         m.strategy)
