"""Fixed cases for the classes of engine bug that merged passes could introduce.

Each case pins a promise exactly, not within a loose error bound, so that a planted bug of its
class fails here within seconds: a comparison spelled `>` for `>=` (ties), a max reduction
started at 0 instead of -inf (rows of negative values), a sum accumulated in float32 where
the engine promises float64 (a float32 row of 2**24 then 64 ones), and a reduction grouped
into one pass with a reduction it reads (`sum_rows(x - rows_like(sum_rows(x), x))`). Every
case runs eagerly under both strategies and compiled by `jit`, through the public API only.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import typedarr as ta

Array = np.ndarray[Any, np.dtype[Any]]
COMPARISONS = [operator.lt, operator.le, operator.gt, operator.ge, operator.eq, operator.ne]
STRATEGIES = [ta.Seq, ta.Par]


def _matrix(values: Any, strategy: ta.Strategy, dtype: Any = np.float32) -> ta.Matrix[Any, Any]:
    return ta.Matrix.from_numpy(np.asarray(values, dtype=dtype), strategy=strategy,
                                nonfinite="allow")


def _both_ways(fn: Callable[..., Any], *args: Any) -> list[Array]:
    """`fn(*args)` computed eagerly and compiled by `jit`, as numpy arrays."""
    eager = np.asarray(ta.compute(fn(*args)))
    compiled = np.asarray(ta.jit(lambda *a: ta.compute(fn(*a)))(*args))
    return [eager, compiled]


# Ties: every comparison where both sides hold exactly equal values ---------------------------


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("compare", COMPARISONS, ids=lambda c: c.__name__)
def test_comparisons_decide_ties_as_numpy_does(compare: Callable[..., Any],
                                                strategy: ta.Strategy) -> None:
    rng = np.random.default_rng(0)
    a = rng.integers(-2, 3, size=(37, 29)).astype(np.float32)  # a third of the pairs tie
    b = rng.integers(-2, 3, size=(37, 29)).astype(np.float32)
    x, y = _matrix(a, strategy), _matrix(b, strategy)
    for got in _both_ways(lambda p, q: compare(p, q) * 1.0, x, y):
        np.testing.assert_array_equal(got, compare(a, b).astype(np.float32))
    for got in _both_ways(lambda p: compare(p, 1.0) * 1.0, x):  # ties with a scalar
        np.testing.assert_array_equal(got, compare(a, np.float32(1.0)).astype(np.float32))
    for got in _both_ways(lambda p: compare(p, p) * 1.0, x):  # a node against itself
        np.testing.assert_array_equal(got, compare(a, a).astype(np.float32))


@pytest.mark.parametrize("compare", COMPARISONS, ids=lambda c: c.__name__)
def test_comparisons_of_vectors_decide_ties_too(compare: Callable[..., Any]) -> None:
    a = np.array([-1.0, 0.0, -0.0, 2.0, 2.0, np.inf], np.float32)
    b = np.array([-1.0, -0.0, 0.0, 2.0, 3.0, np.inf], np.float32)
    x = ta.Vector.from_numpy(a, nonfinite="allow")
    y = ta.Vector.from_numpy(b, nonfinite="allow")
    for got in _both_ways(lambda p, q: compare(p, q) * 1.0, x, y):
        np.testing.assert_array_equal(got, compare(a, b).astype(np.float32))


# Max reductions start at -inf, not at 0 ---------------------------------------------------------


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_of_negative_values_is_negative(strategy: ta.Strategy, dtype: Any) -> None:
    a = -1.0 - np.random.default_rng(1).random((300, 7)).astype(dtype)  # all below -1
    a[:, 3] = -np.inf  # a column of -inf has max -inf
    x = _matrix(a, strategy, dtype)
    np.testing.assert_array_equal(np.asarray(ta.max_rows(x)), a.max(axis=0))
    np.testing.assert_array_equal(np.asarray(ta.max_cols(x.T.compute())), a.max(axis=0))
    np.testing.assert_array_equal(np.asarray(ta.max_cols(x)), a.max(axis=1))
    compiled = ta.jit(lambda m: (ta.max_rows(m), ta.max_cols(m)))(x)
    np.testing.assert_array_equal(np.asarray(compiled[0]), a.max(axis=0))
    np.testing.assert_array_equal(np.asarray(compiled[1]), a.max(axis=1))


def test_max_of_a_delayed_negative_expression_and_nan() -> None:
    a = -np.arange(1.0, 13.0, dtype=np.float32).reshape(3, 4)
    a[1, 2] = np.nan  # NaN wins, as numpy's max says
    x = _matrix(a, ta.Seq)
    want = (a * 2.0 - 1.0).max(axis=1)
    np.testing.assert_array_equal(np.asarray(ta.max_cols(x * 2.0 - 1.0)), want)
    compiled = ta.jit(lambda m: ta.max_cols(m * 2.0 - 1.0))(x)
    np.testing.assert_array_equal(np.asarray(compiled), want)


# Sums accumulate in float64 ---------------------------------------------------------------------

BIG = 2.0**24  # float32 cannot add 1 to it: 2**24 + 1 rounds back to 2**24


def _long_row() -> Array:
    return np.concatenate([[BIG], np.ones(64)]).astype(np.float32)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_float32_row_sum_accumulates_in_float64(strategy: ta.Strategy) -> None:
    # The fused engine's promise (its codegen docstring): a sum over the last axis keeps a
    # float64 accumulator per output element; a float32 chain would lose all 64 ones.
    rows = np.stack([_long_row()] * 3)  # (3, 65): each row sums to 2**24 + 64 exactly
    x = _matrix(rows, strategy)
    want = np.full(3, BIG + 64, np.float32)
    for got in _both_ways(ta.sum_cols, x):
        np.testing.assert_array_equal(got, want)
    for got in _both_ways(lambda m: ta.sum_cols(m + 0.0), x):  # fused with its producer
        np.testing.assert_array_equal(got, want)
    for got in _both_ways(lambda m: ta.sum_cols(m.T), x.T.compute()):  # a transposed read
        np.testing.assert_array_equal(got, want)


def test_a_column_sum_under_seq_is_numpys_own_order() -> None:
    # The other half of the promise: over the first axis, Seq adds in numpy's order, so the
    # result is bitwise numpy's (here numpy's float32 pairwise sum of a long column).
    columns = np.stack([_long_row()] * 3).T.copy()  # (65, 3)
    x = _matrix(columns, ta.Seq)
    for got in _both_ways(lambda m: ta.sum_rows(m * 1.0), x):
        np.testing.assert_array_equal(got, columns.sum(axis=0))


# A reduction is never grouped with a reduction it reads -----------------------------------------


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_reduction_of_a_broadcast_reduction(strategy: ta.Strategy) -> None:
    a = np.random.default_rng(2).integers(-4, 5, size=(40, 6)).astype(np.float32)
    x = _matrix(a, strategy)
    # Small integers: every sum is exact, so the results are compared exactly.
    centred_rows = a - a.sum(axis=0, keepdims=True)
    centred_cols = a - a.sum(axis=1, keepdims=True)
    for got in _both_ways(lambda m: ta.sum_rows(m - ta.rows_like(ta.sum_rows(m), m)), x):
        np.testing.assert_array_equal(got, centred_rows.sum(axis=0))
    for got in _both_ways(lambda m: ta.sum_cols(m - ta.cols_like(ta.sum_cols(m), m)), x):
        np.testing.assert_array_equal(got, centred_cols.sum(axis=1))
    squares = _both_ways(
        lambda m: ta.sum_rows((m - ta.rows_like(ta.sum_rows(m), m)) ** 2.0), x)
    for got in squares:
        np.testing.assert_array_equal(got, (centred_rows**2).sum(axis=0))
    # Two levels: a row sum of a column-sum-centred matrix, broadcast and summed again.
    def nested(m: ta.Matrix[Any, Any]) -> Any:
        inner = m - ta.rows_like(ta.sum_rows(m), m)
        return ta.sum_cols(inner * ta.cols_like(ta.sum_cols(inner), inner))
    for got in _both_ways(nested, x):
        want = (centred_rows * centred_rows.sum(axis=1, keepdims=True)).sum(axis=1)
        np.testing.assert_array_equal(got, want)
