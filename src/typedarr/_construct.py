"""Making manifest data from numpy, Python lists, constants and seeded random numbers.

Every constructor returns a fresh, read-only, C-contiguous numpy array that a Matrix or
Vector then owns: later changes to the caller's array cannot reach it. Validation is
strict and says what to do instead:

- sizes are non-negative integers, Python's or numpy's, never bools (`ShapeError`);
- the dtype is float32 or float64 (`DTypeError`), the strategy `Seq` or `Par`;
- data from numpy or lists is finite unless `nonfinite="allow"` (`ValueError`), and never
  a masked array, whose mask would be dropped (`TypeError`); list
  elements are numbers, not bools or strings (`TypeError`), in lists that are not ragged;
- seeds are non-negative integers or a `numpy.random.Generator`;
- the numbers that shape random values (`mean`, `std >= 0`, `low < high`) are finite and
  every value they produce fits the dtype, as does a finite `replicate` value.

Note: `replicate` takes NaN and infinity as they are: a constant is what the caller asked
for (a NaN marker, `-inf` to start a running maximum), whereas data from numpy or a list
may hold a NaN nobody meant, so those refuse it by default.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from . import _compute
from ._args import FINITE, NON_NEGATIVE, integer, real, size
from ._array import check_dtype
from ._errors import DTypeError, ShapeError
from ._ir import FLOAT_DTYPES, DType, Node, Shape, leaf

Data = np.ndarray[Any, DType]
Seed = int | np.integer[Any] | np.random.Generator
NonFinite = Literal["raise", "allow"]


def owned(data: Data) -> Data:
    """`data` made contiguous and read-only, copied if the caller could still change it."""
    out = np.array(data, order="C", copy=True)
    out.flags.writeable = False
    return out


def checked_shape(shape: tuple[object, ...]) -> Shape:
    """`shape` as Python ints, each a non-negative integer (numpy's too, never a bool)."""
    return tuple(size("each size", n) for n in shape)


def from_numpy(a: object, rank: int, kind: str, nonfinite: NonFinite) -> Data:
    """A validated private copy of `a` for an array of `kind` with `rank` axes."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{kind}.from_numpy takes a numpy array, got {type(a).__name__}")
    refuse_masked(f"{kind}.from_numpy", a)
    if nonfinite not in ("raise", "allow"):
        raise ValueError(f"{kind}.from_numpy: nonfinite must be 'raise' or 'allow', got "
                         f"{nonfinite!r}")
    if a.ndim != rank:
        raise ShapeError(f"{kind}.from_numpy needs a {rank}-d array, got shape {a.shape}")
    if a.dtype not in FLOAT_DTYPES:
        raise DTypeError(f"{kind}.from_numpy takes float32 or float64, got {a.dtype}: convert "
                         f"explicitly, e.g. a.astype(np.float32)")
    if nonfinite == "raise":
        _refuse_nonfinite(f"{kind}.from_numpy", a, "pass nonfinite='allow' to accept it")
    return owned(a)


def from_nested(values: Sequence[Any] | Data, rank: int, kind: str, dtype: Any) -> Data:
    """Nested Python lists of numbers as data of `rank` axes."""
    dt = check_dtype(dtype)
    refuse_masked(f"{kind}.from_list", values, rank)
    try:
        raw = np.array(values)
    except ValueError as e:
        raise ShapeError(f"{kind}.from_list: the nested lists are ragged ({e})") from e
    if raw.ndim != rank or (rank == 2 and len(values) == 0):
        raise ShapeError(f"{kind}.from_list needs {rank} levels of lists, got shape {raw.shape}")
    if raw.dtype.kind not in "iuf" or (not isinstance(values, np.ndarray)
                                       and _holds_bool(values, rank)):
        what = ("bools (write 1.0 and 0.0 for a mask)" if raw.dtype.kind in "biuf"
                else f"values numpy reads as {raw.dtype}")
        raise TypeError(f"{kind}.from_list takes numbers (ints or floats), got {what}")
    _refuse_nonfinite(f"{kind}.from_list", raw,
                      "build it with from_numpy(a, nonfinite='allow') to hold NaN or infinity")
    return owned(_cast(f"{kind}.from_list", raw, dt))


def filled(shape: tuple[object, ...], value: object, dtype: Any) -> Data:
    """An array of `shape` with every element `value` (NaN and infinity included)."""
    dims, dt = checked_shape(shape), check_dtype(dtype)
    v = real("replicate: value", value, None)
    return owned(np.full(dims, _scalar("replicate: value", v, dt), dtype=dt))


def generator(seed: object) -> np.random.Generator:
    """A numpy Generator: the one given, or a fresh one seeded with `seed`.

    Raises TypeError for a seed that is neither an int nor a Generator (a bool, a float),
    ValueError for a negative one.

    >>> float(generator(0).random()) == float(generator(0).random())
    True
    """
    if isinstance(seed, np.random.Generator):
        return seed
    s = integer(seed)
    if s is None:
        raise TypeError(f"seed must be an int or numpy.random.Generator, got {seed!r}")
    if s < 0:
        raise ValueError(f"seed must be a non-negative int, got {s}")
    return np.random.default_rng(s)


def normal(shape: tuple[object, ...], seed: object, mean: object, std: object, dtype: Any
           ) -> Data:
    """Normally distributed values, reproducible from `seed`."""
    dims, dt = checked_shape(shape), check_dtype(dtype)
    m = _scalar("random_normal: mean", real("random_normal: mean", mean, FINITE), dt)
    s = _scalar("random_normal: std", real("random_normal: std", std, NON_NEGATIVE), dt)
    z = generator(seed).standard_normal(dims, dtype=dt.type)
    try:
        with np.errstate(over="raise"):
            return owned((z * s + m).astype(dt, copy=False))
    except FloatingPointError:
        raise ValueError(f"random_normal: mean {float(m)} and std {float(s)} give values "
                         f"beyond the range of {dt}") from None


def uniform(shape: tuple[object, ...], seed: object, low: object, high: object, dtype: Any
            ) -> Data:
    """Values uniform on [low, high), reproducible from `seed`."""
    dims, dt = checked_shape(shape), check_dtype(dtype)
    lo = _scalar("random_uniform: low", real("random_uniform: low", low, FINITE), dt)
    hi = _scalar("random_uniform: high", real("random_uniform: high", high, FINITE), dt)
    if not lo < hi:
        raise ValueError(f"uniform needs low < high (distinct in {dt}), got {low} and {high}")
    width = _scalar("random_uniform: high - low", float(hi) - float(lo), dt)
    u = generator(seed).random(dims, dtype=dt.type)
    x = u * width + lo
    # Rounding of `u*(high-low) + low` can land exactly on `high` (u = 1 - 2**-24 in float32);
    # move such values to the largest representable number below `high` to keep [low, high).
    below = np.nextafter(hi, lo)
    np.minimum(x, below, out=x)
    return owned(x.astype(dt, copy=False))


def _scalar(what: str, value: float, dt: DType) -> np.floating[Any]:
    """`value` in the dtype `dt`; a finite value too large for it is refused, not made inf."""
    try:
        with np.errstate(over="raise"):
            out: np.floating[Any] = dt.type(value)
    except FloatingPointError:
        raise ValueError(f"{what} {value} does not fit in {dt} (largest "
                         f"{float(np.finfo(dt).max):.4g})") from None
    return out


def _cast(what: str, raw: np.ndarray[Any, Any], dt: DType) -> Data:
    try:
        with np.errstate(over="raise"):
            return raw.astype(dt, copy=False)
    except FloatingPointError:
        big = raw.flat[int(np.argmax(np.abs(raw)))]
        raise ValueError(f"{what}: {big} does not fit in {dt} (largest "
                         f"{float(np.finfo(dt).max):.4g})") from None


def _refuse_nonfinite(what: str, a: np.ndarray[Any, Any], fix: str) -> None:
    if a.dtype.kind != "f" or np.isfinite(a).all():
        return
    bad = np.argwhere(~np.isfinite(a))[0]
    raise ValueError(f"{what}: non-finite value {a[tuple(bad)]} at index "
                     f"{tuple(int(i) for i in bad)}; {fix}")


def refuse_masked(what: str, values: object, depth: int = 0) -> None:
    """Raise TypeError if `values` is, or (to `depth` levels of lists) holds, a numpy masked
    array: converting one drops its mask and keeps the values under it, a NaN included."""
    if _holds_masked(values, depth):
        raise TypeError(f"{what} takes plain values, got a numpy masked array: its mask "
                        f"would be dropped and the values hidden under it kept; fill it "
                        f"explicitly (a.filled(0.0)) or drop the masked entries")


def _holds_masked(values: object, depth: int) -> bool:
    if isinstance(values, np.ma.MaskedArray):  # the masked constant `np.ma.masked` too
        return True
    if depth == 0 or isinstance(values, np.ndarray | str | bytes):
        return False
    return isinstance(values, Sequence) and any(_holds_masked(v, depth - 1) for v in values)


def _holds_bool(values: Sequence[Any], depth: int) -> bool:
    """Whether the nested lists hold a bool (numpy would read True as 1 among numbers)."""
    if depth == 1:
        return any(isinstance(x, bool | np.bool_) for x in values)
    return any(_holds_bool(row, depth - 1) for row in values)


def draw(kind: str, shape: tuple[object, ...], seed: object, params: tuple[object, object],
         dtype: Any) -> Data:
    """`normal` (params: mean, std) or `uniform` (params: low, high) by name."""
    first, second = params
    if kind == "normal":
        return normal(shape, seed, first, second, dtype)
    return uniform(shape, seed, first, second, dtype)


def random(kind: str, shape: tuple[object, ...], seed: object, params: tuple[object, object],
           dtype: Any) -> Node:
    """A random array's node: its values, or inside a trace (given the traced function's
    generator) an input drawn afresh at every call of the compiled function."""
    trace = _compute.draws_afresh(seed)
    if trace is not None:
        assert isinstance(seed, np.random.Generator)
        low, high = (real(f"{kind} parameter", p, FINITE) for p in params)
        return trace.draw(seed, kind, checked_shape(shape), (low, high), check_dtype(dtype))
    return leaf(draw(kind, shape, seed, params, dtype))
