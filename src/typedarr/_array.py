"""What every typed array shares: a graph node, a strategy, and the elementwise operators.

`_Array` is the untyped core (rank-generic, so rank-3 and rank-4 kinds can join Matrix and
Vector); `_Elementwise[Operand, D]` adds the operators once for every kind, typed by the operand
type `Operand` the kind accepts and the delayed type `D` it produces. Every operator follows the
same three steps: check the operand (same kind, same shape, same dtype, or a Python
scalar), build a node, wrap it as a delayed array. Nothing is evaluated here.
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any, ClassVar, Generic, NoReturn, Self, TypeVar

import numpy as np

from . import _compute
from ._errors import DTypeError, ShapeError
from ._ir import FLOAT_DTYPES, BinaryOp, DType, Node, Shape, UnaryOp, binary, const, unary
from ._numpy_calls import function_call, ufunc_call
from ._runtime_scalar import Scalar, concrete
from ._strategy import Strategy, check_strategy, combine

if TYPE_CHECKING:
    import dask.array as da

Operand = TypeVar("Operand")
D = TypeVar("D", covariant=True)


_VERBS = {
    BinaryOp.ADD: "add", BinaryOp.SUB: "subtract", BinaryOp.MUL: "multiply",
    BinaryOp.DIV: "divide", BinaryOp.POW: "raise", BinaryOp.MAX: "take the maximum of",
    BinaryOp.MIN: "take the minimum of", BinaryOp.LT: "compare (<)", BinaryOp.LE: "compare (<=)",
    BinaryOp.GT: "compare (>)", BinaryOp.GE: "compare (>=)", BinaryOp.EQ: "compare (==)",
    BinaryOp.NE: "compare (!=)",
}


class _Array:
    """A typed array: an expression node plus the strategy `compute` will use."""

    __slots__ = ("_node", "_strategy")
    __hash__ = None  # type: ignore[assignment]  # == is elementwise, as in numpy

    _KIND: ClassVar[str]
    _RANK: ClassVar[int]
    # massiv's representation: U (manifest, values in memory) or D (delayed). A delayed view
    # of a manifest array holds a LEAF too, so the class, not the node, decides.
    _MANIFEST: ClassVar[bool] = False
    _node: Node
    _strategy: Strategy

    def __init__(self) -> None:
        raise TypeError(f"use {self._KIND}.from_numpy, {self._KIND}.zeros, ... to build a "
                        f"{self._KIND}")

    @classmethod
    def _wrap(cls, node: Node, strategy: Strategy) -> Self:
        obj = object.__new__(cls)
        obj._node = node
        obj._strategy = strategy
        return obj

    @property
    def shape(self) -> Shape:
        """The size along each axis: `(rows, cols)` for a Matrix, `(n,)` for a Vector."""
        return self._node.shape

    @property
    def dtype(self) -> DType:
        """float32 (the default) or float64."""
        return self._node.dtype

    @property
    def strategy(self) -> Strategy:
        """`Seq` or `Par`: how `compute` may use cores for this array."""
        return self._strategy

    def with_strategy(self, strategy: Strategy) -> Self:
        """The same array, computed with `strategy` (`Seq` or `Par`) from now on."""
        return type(self)._wrap(self._node, check_strategy(strategy))

    def _computed(self, node: Node) -> Any:
        """This array's manifest kind holding `node`, what `compute` made of it."""
        raise NotImplementedError

    def _values(self) -> np.ndarray[Any, DType]:
        """The values in memory (read-only), computing a delayed array."""
        return _compute.evaluate(self._node, self._strategy)

    def to_dask(self) -> da.Array:
        """The values as a lazy dask array: a chunked expression stays blocked (one task per
        block per fused region); in-memory values become one block."""
        from ._chunked import to_dask

        return to_dask(self)

    def to_numpy(self) -> np.ndarray[Any, DType]:
        """A fresh, writable numpy copy of the values (computing a delayed array): writing
        into it never changes this array. `np.asarray(x)` gives the values read-only."""
        return np.array(self._values(), copy=True)

    # Note: an array is an immutable value, so a copy is the array itself (as for a tuple),
    # and pickle is refused: typedarr pickles nothing, and an unpickled ndarray is writable.
    def __copy__(self) -> Self:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        return self

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        raise TypeError(f"a {self._KIND} is not pickled (typedarr uses no pickle): send "
                        f"x.to_numpy() and rebuild with {self._KIND}.from_numpy, or save a "
                        f"network with nn.save")

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray[Any, DType]:
        values = self._values()
        if copy is False and dtype is not None and np.dtype(dtype) != values.dtype:
            raise ValueError(f"cannot convert {self._KIND} of {values.dtype} to {dtype} "
                             f"without a copy")
        return np.array(values, dtype=dtype, copy=True) if copy else values.astype(
            dtype or values.dtype, copy=False)

    # Note: numpy must not convert us and broadcast, nor leave a numpy user with its bare
    # "does not support ufuncs" (what `__array_ufunc__ = None` gives): numpy's ufuncs and the
    # functions typedarr has an operation for raise a TypeError naming it, an operator
    # ufunc (`ndarray + x`) is refused as the operator refuses a numpy array (_numpy_calls).
    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any
                        ) -> Any:
        return ufunc_call(self, ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Any, types: Any, args: tuple[Any, ...],
                           kwargs: dict[str, Any]) -> Any:
        return function_call(self, func, args, kwargs)

    def __bool__(self) -> NoReturn:
        raise TypeError(f"the truth value of a {self._KIND} is ambiguous: compare whole "
                        f"arrays with numpy.array_equal(np.asarray(a), np.asarray(b))")

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        from ._repr import format_array

        return format_array(self._KIND, self._MANIFEST, self._strategy, self._node)

    def _operand(self, verb: str, other: object) -> tuple[Node, Strategy] | None:
        """The node of a checked operand, or None when `other` is not ours to handle."""
        if isinstance(other, _Array):
            self._check_fits(verb, other)
            return other._node, combine(self._strategy, other._strategy)
        if isinstance(other, Scalar):  # a number argument of a traced function
            return other.meet(self.dtype, self.shape), self._strategy
        if isinstance(other, bool | np.bool_):
            raise TypeError(f"cannot {verb} {self._describe()} and a bool ({other}): write "
                            f"the number, 1.0 or 0.0")
        if isinstance(other, numbers.Real):
            return const(float(other), self.dtype), self._strategy
        self._refuse_ndarray(verb, other)
        return None

    def _refuse_ndarray(self, verb: str, other: object) -> None:
        if isinstance(other, np.ndarray):
            raise ShapeError(f"cannot {verb} {self._describe()} and numpy array "
                             f"{other.shape}: convert it explicitly with "
                             f"{self._KIND}.from_numpy(a)")

    def _check_fits(self, verb: str, other: _Array) -> None:
        if other._KIND != self._KIND or other.shape != self.shape:
            raise ShapeError(f"cannot {verb} {self._describe()} and {other._describe()}: "
                             f"{_hint(self, other)}")
        if other.dtype != self.dtype:
            raise DTypeError(f"cannot {verb} {self._describe()} of {self.dtype} and "
                             f"{other._describe()} of {other.dtype}: convert one with "
                             f".astype(np.{self.dtype}) or .astype(np.{other.dtype})")

    def _describe(self) -> str:
        return f"{self._KIND} {self.shape}"


def _hint(a: _Array, b: _Array) -> str:
    """What the user probably meant, since typedarr will not broadcast for them."""
    if a._RANK != b._RANK:
        m, v = (a, b) if a._RANK > b._RANK else (b, a)
        if m._RANK == 2 and v._RANK == 1:
            rows, cols = m.shape
            if v.shape[0] == cols:
                return "use rows_like(v, m) to repeat the Vector over rows"
            if v.shape[0] == rows:
                return "use cols_like(v, m) to repeat the Vector over columns"
            return ("sizes do not match either axis; rows_like(v, m) repeats a Vector over "
                    "rows, cols_like(v, m) over columns")
        if m._RANK == 4 and v._RANK == 1:
            if v.shape[0] == m.shape[1]:
                return "use channels_like(v, x) to repeat the Vector over each channel"
            return (f"channels_like(v, x) repeats a Vector of one value per channel, but the "
                    f"Vector's size is not the {m.shape[1]} channels")
        if m._RANK == 4 and v._RANK == 2:
            return ("flatten(x) makes a Matrix of one row per sample, unflatten(m, c, h, w) "
                    "a Tensor4")
        return f"a {a._KIND} and a {b._KIND} do not combine elementwise"
    if 1 in a.shape + b.shape and a._RANK == 4:
        return ("size-1 dimensions do not broadcast: make a Vector per channel (sum_channels, "
                "mean, var) and repeat it with channels_like")
    if 1 in a.shape + b.shape:
        return ("size-1 dimensions do not broadcast: make a Vector (sum_rows, sum_cols) and "
                "repeat it with rows_like, cols_like or br")
    if a.shape == b.shape[::-1]:
        return "the shapes are transposed: use .T"
    return "elementwise operations need exactly the same shape"


def check_dtype(dtype: Any) -> DType:
    """`dtype` as a numpy dtype, if typedarr holds it (float32 or float64).

    Anything numpy reads as one of them is accepted (`np.float32`, `"float64"`, `float`);
    `None`, which numpy reads as float64, is refused: it is more often a missing argument.
    Raises DTypeError for any other dtype, naming the conversion to make.

    >>> check_dtype(float)
    dtype('float64')
    >>> check_dtype(np.int32)  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ...
    DTypeError: typedarr holds float32 or float64, not int32: convert explicitly, ...
    """
    if dtype is None:
        raise DTypeError("dtype must be float32 or float64, got None")
    try:
        dt: DType = np.dtype(dtype)
    except TypeError as e:
        raise DTypeError(f"not a dtype: {dtype!r}") from e
    if dt not in FLOAT_DTYPES:
        raise DTypeError(f"typedarr holds float32 or float64, not {dt}: convert explicitly, "
                         f"e.g. a.astype(np.float32)")
    return dt


class _Elementwise(_Array, Generic[Operand, D]):
    """The elementwise operators, written once for every kind of array.

    `Operand` is what the kind accepts as an operand (for a Matrix: `MatrixLike[R, C]`, so mypy
    rejects a Vector or other named dimensions) and `D` the delayed array it returns.
    """

    __slots__ = ()

    def _delayed(self, node: Node, strategy: Strategy) -> D:
        raise NotImplementedError

    def _zip(self, op: BinaryOp, other: object, reflected: bool = False) -> D:
        got = self._operand(_VERBS[op], other)
        if got is None:
            return NotImplemented  # type: ignore[no-any-return]
        node, strategy = got
        a, b = (node, self._node) if reflected else (self._node, node)
        return self._delayed(binary(op, a, b), strategy)

    def _map(self, op: UnaryOp) -> D:
        return self._delayed(unary(op, self._node), self._strategy)

    if not TYPE_CHECKING:
        # Runtime only: `ndarray @ x` lands here (numpy defers, see __array_ufunc__) and is
        # refused as the elementwise operators refuse it, not with Python's bare "unsupported
        # operand". Hidden from mypy, whose operator inference a reflected method changes.
        def __rmatmul__(self, other: object) -> Any:
            self._refuse_ndarray("multiply", other)
            return NotImplemented

    def astype(self, dtype: Any) -> D:
        """The values converted to `dtype` (float32 or float64), delayed."""
        dt = check_dtype(dtype)
        return self._delayed(unary(UnaryOp.CAST, self._node, dt), self._strategy)

    def __add__(self, other: Operand | float) -> D:
        return self._zip(BinaryOp.ADD, other)

    def __radd__(self, other: float) -> D:
        return self._zip(BinaryOp.ADD, other, reflected=True)

    def __sub__(self, other: Operand | float) -> D:
        return self._zip(BinaryOp.SUB, other)

    def __rsub__(self, other: float) -> D:
        return self._zip(BinaryOp.SUB, other, reflected=True)

    def __mul__(self, other: Operand | float) -> D:
        return self._zip(BinaryOp.MUL, other)

    def __rmul__(self, other: float) -> D:
        return self._zip(BinaryOp.MUL, other, reflected=True)

    def __truediv__(self, other: Operand | float) -> D:
        return self._zip(BinaryOp.DIV, other)

    def __rtruediv__(self, other: float) -> D:
        return self._zip(BinaryOp.DIV, other, reflected=True)

    def __pow__(self, exponent: float) -> D:
        if isinstance(exponent, _Array):  # type: ignore[unreachable]  # untyped callers
            raise TypeError("** takes a Python number as exponent, not an array")
        # An exponent is structure (x ** 2 is a square, x ** 0.5 numpy's sqrt): a traced
        # number is specialised on, so the compiled function computes what eager code does.
        return self._zip(BinaryOp.POW, concrete(exponent))

    def __rpow__(self, base: float) -> D:
        return self._zip(BinaryOp.POW, base, reflected=True)

    def __neg__(self) -> D:
        return self._map(UnaryOp.NEG)

    def __abs__(self) -> D:
        return self._map(UnaryOp.ABS)

    # Note: comparisons give masks of 0.0 and 1.0 in the operands' dtype (numpy gives
    # booleans), so a mask multiplies an array directly: `(x > 0) * dz`.
    def __lt__(self, other: Operand | float) -> D:
        return self._zip(BinaryOp.LT, other)

    def __le__(self, other: Operand | float) -> D:
        return self._zip(BinaryOp.LE, other)

    def __gt__(self, other: Operand | float) -> D:
        return self._zip(BinaryOp.GT, other)

    def __ge__(self, other: Operand | float) -> D:
        return self._zip(BinaryOp.GE, other)

    def __eq__(self, other: Operand | float) -> D:  # type: ignore[override]
        return self._zip(BinaryOp.EQ, other)

    def __ne__(self, other: Operand | float) -> D:  # type: ignore[override]
        return self._zip(BinaryOp.NE, other)
