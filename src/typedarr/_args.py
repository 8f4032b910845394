"""Checks of plain Python arguments: sizes, and numbers that must lie in a range.

One rule everywhere, for typedarr's constructors and nn's hyper-parameters alike:

- a size or a count is an integer, Python's `int` or numpy's (`np.int64(3)`), never a
  `bool` (`True` is an `int` in Python, but `zeros(True)` is a mistake, not a 1);
- a number is a real number, Python's or numpy's (`np.float32(0.1)`), never a `bool`, and is
  kept as a Python `float`; NaN and infinity are outside every range (a hyper-parameter of
  NaN trains nothing and reports it a step later, blaming something else).

A value of the wrong type raises `TypeError`; a value out of range raises the caller's error
type (typedarr's `ShapeError` for sizes, nn's `NetworkError` for layers and optimisers),
naming the argument, its value and the range allowed.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np

from ._errors import ShapeError
from ._runtime_scalar import Scalar

Size: TypeAlias = int | np.integer[Any]
"""What a size or count parameter accepts: a Python or numpy integer (`bool` refused)."""
Real: TypeAlias = float | np.floating[Any] | np.integer[Any]
"""What a number parameter accepts: a Python or numpy number (`bool` refused)."""


@dataclass(frozen=True, slots=True)
class Range:
    """An interval of finite numbers, with the words an error message uses for it."""

    low: float
    high: float
    low_closed: bool
    high_closed: bool
    words: str

    def __contains__(self, x: float) -> bool:
        above = x >= self.low if self.low_closed else x > self.low
        below = x <= self.high if self.high_closed else x < self.high
        return above and below and math.isfinite(x)


FINITE = Range(-math.inf, math.inf, False, False, "finite")
"""Any finite number: a weight, a target value."""
POSITIVE = Range(0.0, math.inf, False, False, "positive and finite")
"""The range `(0, inf)`: a learning rate, an `eps`."""
NON_NEGATIVE = Range(0.0, math.inf, True, False, "non-negative and finite")
"""The range `[0, inf)`: a weight decay, a standard deviation."""
UNIT = Range(0.0, 1.0, True, True, "in [0, 1]")
"""The range `[0, 1]`: a batchnorm momentum."""
UNIT_OPEN = Range(0.0, 1.0, True, False, "in [0, 1)")
"""The range `[0, 1)`: a dropout probability, an optimiser's decay."""


def integer(x: object) -> int | None:
    """`x` as a Python int when it is a Python or numpy integer and not a bool, else None.

    >>> integer(np.int64(3)), integer(True), integer(3.0)
    (3, None, None)
    """
    if isinstance(x, bool | np.bool_) or not isinstance(x, numbers.Integral):
        return None
    return int(x)


def size(what: str, n: object, error: type[Exception] = ShapeError, minimum: int = 0,
         runtime: bool = False) -> int:
    """`n` as a Python int, if it is an integer (not a bool) of at least `minimum`.

    Raises `error` naming `what` otherwise (a bool or a float is refused with the same
    error as a negative size: all three are a size that cannot be). Inside a `jit` trace, a
    number argument (a `Scalar`) is a size by its value, so the compiled function is
    specialised on it; with `runtime=True` (a count that only enters arithmetic, such as
    Adam's step count) it is returned as it is, a runtime input checked when it was made.

    >>> size("rows", np.int64(3))
    3
    >>> size("rows", -1)
    Traceback (most recent call last):
    ...
    typedarr._errors.ShapeError: rows must be a non-negative int, got -1
    """
    if isinstance(n, Scalar):
        if runtime:
            return n  # type: ignore[return-value]  # stands for an int while traced
        n = n.concrete()
    i = integer(n)
    if i is None or i < minimum:
        words = {0: "a non-negative int", 1: "a positive int"}.get(minimum,
                                                                   f"an int >= {minimum}")
        raise error(f"{what} must be {words}, got {n!r}")
    return i


def real(what: str, x: object, allowed: Range | None = FINITE,
         error: type[Exception] = ValueError, runtime: bool = False) -> float:
    """`x` as a Python float, if it is a real number (not a bool) in `allowed`.

    Raises TypeError for a value that is not a number, `error` for one outside `allowed`
    (NaN and infinity are outside every range; `allowed=None` takes any number, them too).
    Inside a `jit` trace a number argument (a `Scalar`) is checked by its value, which
    specialises the compiled function on it; with `runtime=True` (a number that only enters
    arithmetic, such as a learning rate) it is returned as it is.

    >>> real("lr", np.float32(0.5), POSITIVE)
    0.5
    >>> real("lr", -1, POSITIVE)
    Traceback (most recent call last):
    ...
    ValueError: lr must be positive and finite, got -1.0
    """
    if isinstance(x, Scalar):
        if runtime:  # checked when its value was made; reading it would specialise
            return x  # type: ignore[return-value]  # stands for a float while traced
        x = x.concrete()
    # `type(x) is not float` first: the usual case skips the slower number-ABC checks
    if type(x) is not float and (isinstance(x, bool | np.bool_)
                                 or not isinstance(x, numbers.Real)):
        raise TypeError(f"{what} must be a real number, got {type(x).__name__} {x!r}")
    value = float(x)
    if allowed is not None and value not in allowed:
        raise error(f"{what} must be {allowed.words}, got {value}")
    return value


def check_fields(obj: object, error: type[Exception], **allowed: Range) -> None:
    """Check the number fields of the frozen dataclass `obj`, each as `real` does, and store
    each as a Python float: the `__post_init__` of a layer or an optimiser.

    Raises TypeError or `error`, naming the class and the field (`Adam: beta1 must be in
    [0, 1), got 1.0`). Inside a `jit` trace a field that is a runtime number is kept as it
    is (the code of a layer or optimiser uses its numbers in arithmetic).

    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Opt:
    ...     lr: float
    ...     def __post_init__(self) -> None:
    ...         check_fields(self, ValueError, lr=POSITIVE)
    >>> Opt(1).lr
    1.0
    >>> Opt(0)
    Traceback (most recent call last):
    ...
    ValueError: Opt: lr must be positive and finite, got 0.0
    """
    owner = type(obj).__name__
    for name, within in allowed.items():
        value = real(f"{owner}: {name}", getattr(obj, name), within, error, runtime=True)
        object.__setattr__(obj, name, value)
