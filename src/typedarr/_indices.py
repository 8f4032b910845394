"""Indices: a typed Vector of positions, what `argmax_cols` and its kin return.

typedarr's arrays hold floats; a position is an integer. `Indices[N]` is the typed answer:
`N` positions (one per row of an `argmax_cols`, one per column of an `argmax_rows`), each an
int when read, and a `Sequence[int]` for everything that takes positions: `m[idx]` picks
those rows, `nn.one_hot(idx, k)` makes one-hot rows of them, `np.asarray(idx)` is an `intp`
array. Comparing two of them (or one with integer labels) gives a 0/1 mask Vector, so an
accuracy is `ta.mean(ta.argmax_cols(p) == labels)`.

Inside a `typedarr.jit` trace an `Indices` is a node of the graph like any array (its
values, exact integers held in floats, exist when the compiled function runs), so a jit
function may compute and return one; reading positions (`idx[0]`, `m[idx]`) needs values
and is done outside the trace.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar, Generic, overload

import numpy as np
from typing_extensions import TypeVar

from ._array import _Array
from ._errors import ShapeError
from ._ir import BinaryOp, Node, UnaryOp, binary, leaf, unary
from ._select import integer_vector, select
from ._strategy import Strategy, combine
from ._vector import DVector

N = TypeVar("N", default=Any)

Positions = np.ndarray[Any, np.dtype[np.intp]]


class Indices(_Array, Sequence[int], Generic[N]):
    """`N` positions along an axis, in memory (massiv's `Array U Ix1 Int`).

    >>> idx = argmax_cols(Matrix.from_list([[1, 5], [3, 2], [0, 0]]))
    >>> idx
    Indices U Par (Sz1 3)
    [ 1, 0, 0 ]
    >>> list(idx), idx[0]
    ([1, 0, 0], 1)
    """

    __slots__ = ()
    _KIND: ClassVar[str] = "Indices"
    _RANK: ClassVar[int] = 1
    _MANIFEST = True

    @property
    def size(self) -> int:
        """The number of positions."""
        return self.shape[0]

    def compute(self) -> Indices[N]:
        """The positions in memory: they always are (an `Indices` is never delayed)."""
        return self

    def _computed(self, node: Node) -> Indices[N]:
        return self

    def __repr__(self) -> str:
        from ._repr import format_positions

        return format_positions(self._strategy, self._node)

    def to_numpy(self) -> Positions:
        """The positions as a fresh `intp` numpy array."""
        return self._values().astype(np.intp)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray[Any, Any]:
        return self.to_numpy().astype(dtype or np.intp, copy=False)

    # Positions are integers, numpy's home ground: numpy functions and ufuncs see them as
    # the `intp` array, except `labels == idx`, which is this class's mask like `idx == labels`.
    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any
                        ) -> Any:
        op = {"equal": BinaryOp.EQ, "not_equal": BinaryOp.NE}.get(ufunc.__name__)
        if op is not None and method == "__call__" and len(inputs) == 2 and not kwargs:
            return self._compare(op, inputs[0] if inputs[1] is self else inputs[1])
        values = [i.to_numpy() if isinstance(i, Indices) else i for i in inputs]
        return getattr(ufunc, method)(*values, **kwargs)

    def __array_function__(self, func: Any, types: Any, args: tuple[Any, ...],
                           kwargs: dict[str, Any]) -> Any:
        return func._implementation(*args, **kwargs)

    def __iter__(self) -> Iterator[int]:
        return iter(self.to_numpy().tolist())

    @overload
    def __getitem__(self, index: int | np.integer[Any]) -> int: ...
    @overload
    def __getitem__(self, index: slice | Sequence[int] | np.ndarray[Any, Any]) -> Indices: ...
    def __getitem__(self, index: Any) -> int | Indices:
        """One position (an int), or the positions a slice or an index array selects."""
        picked = select(self.to_numpy(), index, "Indices")
        if isinstance(picked, np.ndarray):
            return Indices._wrap(leaf(_held(picked, self.dtype)), self._strategy)
        return int(picked)

    def __eq__(self, other: Indices[N] | Sequence[int] | np.ndarray[Any, Any]  # type: ignore[override]
               ) -> DVector[N]:
        """A mask Vector: 1.0 where the positions agree, 0.0 elsewhere (`other`: Indices of
        the same length or integer labels)."""
        return self._compare(BinaryOp.EQ, other)

    def __ne__(self, other: Indices[N] | Sequence[int] | np.ndarray[Any, Any]  # type: ignore[override]
               ) -> DVector[N]:
        """A mask Vector: 1.0 where the positions differ, 0.0 elsewhere."""
        return self._compare(BinaryOp.NE, other)

    def _compare(self, op: BinaryOp, other: object) -> DVector[N]:
        node, strategy = self._other(other)
        return DVector._wrap(binary(op, self._node, node), strategy)

    def _other(self, other: object) -> tuple[Node, Strategy]:
        if isinstance(other, Indices):
            if other.shape != self.shape:
                raise ShapeError(f"cannot compare Indices {self.shape} and Indices "
                                 f"{other.shape}: they need the same length")
            node = other._node if other.dtype == self.dtype else unary(
                UnaryOp.CAST, other._node, self.dtype)
            return node, combine(self._strategy, other._strategy)
        if isinstance(other, (_Array, bool | numbers.Number)):
            raise TypeError(f"Indices compare with Indices or integer labels (a 1-d int "
                            f"array or list), not {type(other).__name__}")
        labels = _labels(other)
        if labels.shape != self.shape:
            raise ShapeError(f"cannot compare Indices {self.shape} and {labels.size} labels: "
                             f"they need the same length")
        return leaf(_held(labels, self.dtype)), self._strategy


def _labels(other: object) -> Positions:
    """`other` as a 1-d integer array, or TypeError saying what labels are."""
    if not isinstance(other, np.ndarray | Sequence) or isinstance(other, str):
        raise TypeError(f"Indices compare with Indices or integer labels (a 1-d int array or "
                        f"list), not {type(other).__name__}")
    labels, integers = integer_vector(other)
    if not integers:
        raise TypeError(f"labels must be a 1-d array of integers, got {labels.dtype} with "
                        f"shape {labels.shape}")
    return labels.astype(np.intp)


def _held(positions: np.ndarray[Any, Any], dtype: np.dtype[Any]) -> np.ndarray[Any, Any]:
    """`positions` as float data in `dtype`, read-only. An Indices' own positions are exact
    there (its builder chose float64 for an axis of 2**24 or more); a label too large for
    float32 rounds to 2**24 or more, so it still equals none of them."""
    out = positions.astype(dtype)
    out.flags.writeable = False
    return out
