"""Making manifest data from numpy, Python lists, constants and seeded random numbers.

Every constructor returns a fresh, read-only, C-contiguous numpy array that a Matrix or
Vector then owns: later changes to the caller's array cannot reach it. Validation is
strict (rank, dtype, finiteness) and says what to do instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from . import _trace
from ._array import check_dtype
from ._errors import DTypeError, ShapeError
from ._expr import DType, Node, Shape, leaf

Data = np.ndarray[Any, DType]
Seed = int | np.random.Generator
NonFinite = Literal["raise", "allow"]


def owned(data: Data) -> Data:
    """`data` made contiguous and read-only, copied if the caller could still change it."""
    out = np.array(data, order="C", copy=True)
    out.flags.writeable = False
    return out


def from_numpy(a: object, rank: int, kind: str, nonfinite: NonFinite) -> Data:
    """A validated private copy of `a` for an array of `kind` with `rank` axes."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{kind}.from_numpy takes a numpy array, got {type(a).__name__}")
    if a.ndim != rank:
        raise ShapeError(f"{kind}.from_numpy needs a {rank}-d array, got shape {a.shape}")
    if a.dtype not in (np.float32, np.float64):
        raise DTypeError(f"{kind}.from_numpy takes float32 or float64, got {a.dtype}: convert "
                         f"explicitly, e.g. a.astype(np.float32)")
    if nonfinite == "raise" and not np.isfinite(a).all():
        bad = np.argwhere(~np.isfinite(a))[0]
        raise ValueError(f"{kind}.from_numpy: non-finite value {a[tuple(bad)]} at index "
                         f"{tuple(int(i) for i in bad)}; pass nonfinite='allow' to accept it")
    return owned(a)


def from_nested(values: Sequence[Any], rank: int, kind: str, dtype: Any) -> Data:
    """Nested Python lists of numbers as data of `rank` axes."""
    dt = check_dtype(dtype)
    try:
        a = np.array(values, dtype=dt)
    except ValueError as e:
        raise ShapeError(f"{kind}.from_list: the nested lists are ragged ({e})") from e
    if a.ndim != rank or (rank == 2 and len(values) == 0):
        raise ShapeError(f"{kind}.from_list needs {rank} levels of lists, got shape {a.shape}")
    return from_numpy(a, rank, kind, "raise")


def filled(shape: Shape, value: float, dtype: Any) -> Data:
    """An array of `shape` with every element `value`."""
    if any(n < 0 for n in shape):
        raise ShapeError(f"sizes must be non-negative, got {shape}")
    return owned(np.full(shape, value, dtype=check_dtype(dtype)))


def generator(seed: Seed) -> np.random.Generator:
    """A numpy Generator: the one given, or a fresh one seeded with `seed`."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int or numpy.random.Generator, got {seed!r}")
    return np.random.default_rng(seed)


def normal(shape: Shape, seed: Seed, mean: float, std: float, dtype: Any) -> Data:
    """Normally distributed values, reproducible from `seed`."""
    dt = check_dtype(dtype)
    z = generator(seed).standard_normal(shape, dtype=dt.type)
    return owned((z * dt.type(std) + dt.type(mean)).astype(dt, copy=False))


def uniform(shape: Shape, seed: Seed, low: float, high: float, dtype: Any) -> Data:
    """Values uniform on [low, high), reproducible from `seed`."""
    dt = check_dtype(dtype)
    if not low < high:
        raise ValueError(f"uniform needs low < high, got {low} and {high}")
    u = generator(seed).random(shape, dtype=dt.type)
    x = u * dt.type(high - low) + dt.type(low)
    # Rounding of `u*(high-low) + low` can land exactly on `high` (u = 1 - 2**-24 in float32);
    # move such values to the largest representable number below `high` to keep [low, high).
    below = np.nextafter(dt.type(high), dt.type(low))
    np.minimum(x, below, out=x)
    return owned(x.astype(dt, copy=False))


def draw(kind: str, shape: Shape, seed: Seed, params: tuple[float, float], dtype: Any) -> Data:
    """`normal` (params: mean, std) or `uniform` (params: low, high) by name."""
    first, second = params
    if kind == "normal":
        return normal(shape, seed, first, second, dtype)
    return uniform(shape, seed, first, second, dtype)


def random(kind: str, shape: Shape, seed: Seed, params: tuple[float, float], dtype: Any
           ) -> Node:
    """A random array's node: its values, or inside a trace (given the traced function's
    generator) an input drawn afresh at every call of the compiled function."""
    trace = _trace.active()
    if trace is not None and isinstance(seed, np.random.Generator):
        return trace.draw(seed, kind, shape, params, check_dtype(dtype))
    return leaf(draw(kind, shape, seed, params, dtype))
