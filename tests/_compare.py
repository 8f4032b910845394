"""The one element-by-element comparison of computed values with an oracle's.

A single tolerance scaled by the largest value of a result leaves its small elements
unchecked (a sigmoid of -20 is 2e-9: any value below the slack passes). Here every element
gets its own bound, the error scale an error analysis gives for that element, so a wrong
small value fails as surely as a wrong large one. Non-finite values are compared exactly:
NaN exactly where the oracle has NaN, the same infinities with the same signs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

Array = np.ndarray[Any, np.dtype[Any]]


def assert_elementwise_close(got: Array, want: Array, bound: Any, *, context: object = "") -> None:
    """Assert `|got - want| <= bound` element by element where `want` is finite, and that
    `got` has NaN and signed infinities exactly where `want` has them.

    `bound` broadcasts to `want`'s shape: an array of per-element error bounds (from an
    error analysis of each element), or a scalar where one bound suits every element.
    A NaN bound means the analysis could not bound that element and counts as unbounded.
    """
    assert got.shape == want.shape, (got.shape, want.shape, context)
    assert got.dtype == want.dtype, (got.dtype, want.dtype, context)
    nan = np.isnan(want)
    wrong_nan = np.isnan(got) != nan
    inf = np.isinf(want)
    wrong_inf = (np.isinf(got) != inf) | (inf & (np.signbit(got) != np.signbit(want)))
    limit = np.broadcast_to(np.asarray(bound, dtype=np.float64), want.shape)
    finite = ~nan & ~inf
    with np.errstate(invalid="ignore", over="ignore"):
        error = np.abs(got.astype(np.float64) - want.astype(np.float64))
    wrong_value = finite & ~(error <= np.where(np.isnan(limit), np.inf, limit))
    bad = wrong_nan | wrong_inf | wrong_value
    if bad.any():
        where = [tuple(int(i) for i in index) for index in np.argwhere(bad)[:8]]
        details = "\n".join(
            f"  at {i}: got {got[i]!r}, want {want[i]!r}, bound {float(limit[i]):.3g}"
            for i in where)
        raise AssertionError(
            f"{int(bad.sum())} of {want.size} elements differ ({context}):\n{details}")
