"""The algebra of typedarr as hypothesis laws, with numpy as the oracle.

Exact laws use float64 values that are small integers, so every sum is exact whatever the
order of summation (the fused engine and numpy sum in different orders). Laws over general
values compare with a tolerance stated next to them: float64 to ~1e-12 relative, float32 to
a bound proportional to the float32 epsilon times the magnitude of the terms involved, and
where an expression's elements differ in scale, element by element (`_compare`).

Hypothesis settings come from the profiles in conftest.py (fresh examples on every run).
Sizes include 0 (empty arrays are allowed) and 1 (1xN and Nx1); values span the float range,
signed zeros and subnormals included, and NaN and infinities where an operation is defined
on them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from _compare import assert_elementwise_close
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import typedarr as ta
from typedarr import Matrix, Vector

Array = np.ndarray[Any, np.dtype[Any]]

SIDES = st.integers(0, 7)
# Small integers as floats: sums of a few of them are exact, in float32 as in float64, in any
# order (below 2**24 in magnitude).
EXACT = st.integers(-1000, 1000).map(float)
# Finite values from subnormal to large: sums of a few dozen of them cannot overflow.
F64 = st.floats(-1e300, 1e300, allow_nan=False, allow_infinity=False)
F32 = st.floats(-2.0**120, 2.0**120, allow_nan=False, allow_infinity=False, width=32)
# Any float at all, for the operations defined on every value.
ANY64 = st.floats()
ANY32 = st.floats(width=32)
SCALARS = st.floats(-8, 8, allow_nan=False, allow_infinity=False, width=32)
# float32: relative error budget of a few dozen roundings, against the magnitude of the terms
EPS32 = float(np.finfo(np.float32).eps)
DTYPES = st.sampled_from([np.float32, np.float64])


def arrays(dtype: Any, shape: tuple[int, ...], elements: st.SearchStrategy[float]
           ) -> st.SearchStrategy[Array]:
    return hnp.arrays(dtype, shape, elements=elements)


def values(x: Any) -> Array:
    return np.asarray(ta.compute(x))


def assert_exact(got: Any, want: Array) -> None:
    out = values(got)
    assert out.dtype == want.dtype, (out.dtype, want.dtype)
    np.testing.assert_array_equal(out, want, strict=True)


# -- broadcasts and sums ----------------------------------------------------------------------


@given(n=st.integers(0, 9), dtype=DTYPES, data=st.data())
def test_sum_rows_of_br_is_n_times_v(n: int, dtype: Any, data: st.DataObject) -> None:
    v = data.draw(hnp.arrays(dtype, st.tuples(SIDES), elements=EXACT))
    assert_exact(ta.sum_rows(ta.br(n, Vector.from_numpy(v))), dtype(n) * v)


@given(n=st.integers(1, 9), v=hnp.arrays(np.float32, st.tuples(SIDES), elements=F32))
def test_sum_rows_of_br_is_n_times_v_in_float32(n: int, v: Array) -> None:
    out = values(ta.sum_rows(ta.br(n, Vector.from_numpy(v))))
    assert out.dtype == np.float32
    # n additions of v: each rounds by at most eps/2 of the running sum (<= n |v|)
    np.testing.assert_allclose(out, n * v.astype(np.float64), rtol=n * EPS32, atol=0)


@given(dtype=DTYPES, rows=SIDES, cols=SIDES, data=st.data())
def test_sum_cols_of_cols_like_is_cols_times_v(dtype: Any, rows: int, cols: int,
                                               data: st.DataObject) -> None:
    v = data.draw(hnp.arrays(dtype, st.tuples(SIDES), elements=EXACT))
    m = Matrix.zeros(rows, cols, dtype=dtype)
    assert_exact(ta.sum_cols(ta.cols_like(Vector.from_numpy(v), m)), dtype(m.cols) * v)


@given(v=hnp.arrays(np.float64, st.tuples(SIDES), elements=F64), rows=SIDES, cols=SIDES)
def test_rows_like_repeats_v_in_every_row(v: Array, rows: int, cols: int) -> None:
    m = Matrix.ones(rows, cols, dtype=np.float64)
    out = values(ta.rows_like(Vector.from_numpy(v), m))
    assert out.shape == (rows, len(v))  # only the row count comes from m
    for row in out:
        np.testing.assert_array_equal(row, v, strict=True)
    assert_exact(ta.br(rows, Vector.from_numpy(v)), np.tile(v, (rows, 1)))
    assert_exact(ta.rowsLike(Vector.from_numpy(v), m), out)


@given(v=hnp.arrays(np.float32, st.tuples(SIDES), elements=F32), rows=SIDES, cols=SIDES)
def test_cols_like_repeats_v_in_every_column(v: Array, rows: int, cols: int) -> None:
    m = Matrix.ones(rows, cols)
    out = values(ta.cols_like(Vector.from_numpy(v), m))
    assert out.shape == (len(v), cols)  # only the column count comes from m
    for j in range(cols):
        np.testing.assert_array_equal(out[:, j], v, strict=True)
    assert_exact(ta.colsLike(Vector.from_numpy(v), m), out)


@st.composite
def exact_matrices(draw: st.DrawFn, count: int = 1) -> list[Array]:
    shape, dtype = draw(st.tuples(SIDES, SIDES)), draw(DTYPES)
    return [draw(arrays(dtype, shape, EXACT)) for _ in range(count)]


@given(ms=exact_matrices())
def test_sum_rows_is_sum_cols_of_the_transpose(ms: list[Array]) -> None:
    (a,) = ms
    m = Matrix.from_numpy(a)
    assert_exact(ta.sum_rows(m), a.sum(axis=0))
    assert_exact(ta.sum_cols(m), a.sum(axis=1))
    assert_exact(ta.sum_cols(m.T), a.sum(axis=0))  # manifest transpose
    assert_exact(ta.sum_cols((m * 1.0).T), a.sum(axis=0))  # delayed transpose
    assert_exact(ta.sum_rows((m + 0.0).T), a.sum(axis=1))
    assert_exact(ta.sumRows(m), ta.compute(ta.sumCols(m.T)).to_numpy())


@given(ms=exact_matrices(count=2), a=st.integers(-9, 9), b=st.integers(-9, 9))
def test_sums_are_linear_exactly(ms: list[Array], a: int, b: int) -> None:
    xa, ya = ms
    x, y = Matrix.from_numpy(xa), Matrix.from_numpy(ya)
    for s in (ta.sum_rows, ta.sum_cols):
        lhs = values(s(a * x + b * y))
        rhs = values(a * s(x) + b * s(y))
        np.testing.assert_array_equal(lhs, rhs, strict=True)


@st.composite
def float_matrices(draw: st.DrawFn, dtype: Any, count: int = 1, min_rows: int = 0,
                   elements: st.SearchStrategy[float] | None = None) -> list[Array]:
    shape = draw(st.tuples(st.integers(min_rows, 7), SIDES))
    if elements is None:
        elements = F64 if dtype == np.float64 else F32
    return [draw(arrays(dtype, shape, elements)) for _ in range(count)]


@given(ms=float_matrices(np.float64, count=2), a=SCALARS, b=SCALARS)
def test_sums_are_linear(ms: list[Array], a: float, b: float) -> None:
    xa, ya = ms
    x, y = Matrix.from_numpy(xa), Matrix.from_numpy(ya)
    for axis, s in ((0, ta.sum_rows), (1, ta.sum_cols)):
        lhs, rhs = values(s(a * x + b * y)), values(a * s(x) + b * s(y))
        scale = (abs(a) * np.abs(xa) + abs(b) * np.abs(ya)).sum(axis=axis)
        np.testing.assert_array_less(np.abs(lhs - rhs), 1e-13 * scale + 1e-300)


@given(ms=float_matrices(np.float32))
def test_float32_sums_against_numpy(ms: list[Array]) -> None:
    (a,) = ms
    m = Matrix.from_numpy(a)
    a64 = a.astype(np.float64)
    for axis, got in ((0, ta.sum_rows(m)), (1, ta.sum_cols(m)), (0, ta.sum_cols(m.T))):
        out = values(got)
        assert out.dtype == np.float32
        # float32 summation of <= 7 terms: error <= 7 eps sum|x| (stated tolerance)
        bound = 8 * EPS32 * np.abs(a64).sum(axis=axis)
        np.testing.assert_array_less(np.abs(out - a64.sum(axis=axis)), bound + 1e-30)


# The mean of no rows is not defined; squares of values beyond 1e150 overflow.
@given(ms=float_matrices(np.float64, min_rows=1, elements=st.floats(-1e150, 1e150)))
def test_mean_and_var_against_numpy(ms: list[Array]) -> None:
    (a,) = ms
    m = Matrix.from_numpy(a)
    # Per column: the mean to 1e-12 of the sum of its terms' magnitudes, the variance to 1e-9
    # of itself plus 1e-12 of the largest square in the column.
    size = np.abs(a).max(axis=0, initial=0.0)
    assert_elementwise_close(values(ta.mean(m)), a.mean(axis=0),
                             1e-12 * np.abs(a).sum(axis=0) + 1e-300)
    want = a.var(axis=0)
    assert_elementwise_close(values(ta.var(m)), want,
                             1e-9 * want + 1e-12 * size * size + 1e-300)


# -- elementwise laws -------------------------------------------------------------------------


@st.composite
def same_shape(draw: st.DrawFn, dtype: Any, rank: int) -> tuple[Array, Array]:
    """Two arrays of any floats, NaN, infinities, signed zeros and subnormals included."""
    shape = draw(st.tuples(*[SIDES] * rank))
    elements = ANY64 if dtype == np.float64 else ANY32
    return draw(arrays(dtype, shape, elements)), draw(arrays(dtype, shape, elements))


def _typed(a: Array) -> Any:
    if a.ndim == 2:
        return Matrix.from_numpy(a, nonfinite="allow")
    return Vector.from_numpy(a, nonfinite="allow")


@given(data=st.data(), dtype=DTYPES, rank=st.sampled_from([1, 2]), c=SCALARS)
def test_arithmetic_is_numpy_arithmetic_bit_for_bit(data: st.DataObject, dtype: Any, rank: int,
                                                    c: float) -> None:
    a, b = data.draw(same_shape(dtype, rank))
    x, y = _typed(a), _typed(b)
    k = dtype(c)
    with np.errstate(all="ignore"):
        cases = [(x + y, a + b), (x - y, a - b), (x * y, a * b), (x / y, a / b),
                 (x + c, a + k), (c - x, k - a), (c * x, k * a), (x / c, a / k), (-x, -a),
                 (abs(x), np.abs(a)), (x * x - y, a * a - b), ((x + y) * c, (a + b) * k),
                 (x > y, (a > b).astype(dtype)), (x <= c, (a <= k).astype(dtype))]
    for got, want in cases:
        assert_exact(got, want)
        # -0.0 too; a NaN's sign is left unspecified by IEEE 754 (an x86 NaN from 0.0 - nan
        # keeps the operand's sign or takes the default NaN's by instruction): numbers only
        numbers = ~np.isnan(want)
        np.testing.assert_array_equal(np.signbit(values(got))[numbers], np.signbit(want)[numbers])


@given(data=st.data(), dtype=DTYPES, rank=st.sampled_from([1, 2]))
def test_where_maximum_minimum_relu_agree(data: st.DataObject, dtype: Any, rank: int) -> None:
    a, b = data.draw(same_shape(dtype, rank))
    x, y = _typed(a), _typed(b)
    mx = values(ta.maximum(x, y))
    np.testing.assert_array_equal(mx, np.maximum(a, b), strict=True)
    np.testing.assert_array_equal(values(ta.where(x > y, x, y)), np.where(a > b, a, b), strict=True)
    np.testing.assert_array_equal(values(ta.minimum(x, y)), np.minimum(a, b), strict=True)
    relu = values(ta.relu(x))
    np.testing.assert_array_equal(relu, np.maximum(a, dtype(0)), strict=True)
    np.testing.assert_array_equal(relu, values(ta.maximum(x, 0.0)), strict=True)
    gated = values(ta.where(x > 0, x, 0.0))
    np.testing.assert_array_equal(gated, np.where(a > 0, a, dtype(0)), strict=True)
    numbers = ~np.isnan(a)  # relu keeps NaN, the gate sends it to 0
    np.testing.assert_array_equal(relu[numbers], gated[numbers], strict=True)
    np.testing.assert_array_equal(values(-ta.maximum(-x, -y)), values(ta.minimum(x, y)),
                                  strict=True)


@given(ms=exact_matrices(count=1), data=st.data())
def test_transpose_laws(ms: list[Array], data: st.DataObject) -> None:
    (a,) = ms
    b = data.draw(arrays(a.dtype, (a.shape[1], data.draw(SIDES)), EXACT))
    x, y = Matrix.from_numpy(a), Matrix.from_numpy(b)
    assert_exact(x.T.T, a)
    assert_exact((x * 2.0).T, (a * 2).T)
    assert_exact((x * 2.0).T.T, a * 2)
    assert_exact(ta.compute(x - 1.0).T, (a - 1).T)
    assert_exact((x @ y).T, (a @ b).T)  # small integers: exact products and sums
    assert_exact(y.T @ x.T, (a @ b).T)
    assert_exact((x.delay() @ y.delay()), a @ b)


# -- hand-written delayed expressions against the same numpy expression ------------------------


@st.composite
def batch(draw: st.DrawFn, dtype: Any) -> tuple[Array, Array, Array]:
    rows, cols = draw(st.integers(2, 7)), draw(st.integers(1, 7))
    elements = st.floats(-10, 10, allow_nan=False, width=32 if dtype == np.float32 else 64)
    return (draw(arrays(dtype, (rows, cols), elements)), draw(arrays(dtype, (cols,), elements)),
            draw(arrays(dtype, (cols,), elements)))


def _close(got: Any, want: Array, dtype: Any, scale: Array) -> None:
    """`got` within 64 eps of `want`, relative to `|want| + scale` element by element, where
    `scale` bounds the magnitudes of the terms that make each element."""
    out = values(got)
    assert out.dtype == dtype and out.shape == want.shape
    eps = float(np.finfo(dtype).eps)
    assert_elementwise_close(out, want, 64 * eps * (np.abs(want) + scale))


@given(dtype=DTYPES, data=st.data())
def test_batchnorm_forward_is_the_numpy_expression(dtype: Any, data: st.DataObject) -> None:
    xa, ga, ba = data.draw(batch(dtype))
    x, g, b = Matrix.from_numpy(xa), Vector.from_numpy(ga), Vector.from_numpy(ba)
    mu = ta.compute(ta.mean(x))
    ivar = ta.compute(1.0 / ta.sqrt(ta.var(x) + 1.0))
    y = (ta.rows_like(g, x) * (x - ta.rows_like(mu, x)) * ta.rows_like(ivar, x)
         + ta.rows_like(b, x))
    want = ga * (xa - np.asarray(mu)) * np.asarray(ivar) + ba  # numpy broadcasts implicitly
    _close(y, want, dtype, scale=np.abs(ga) * (np.abs(xa) + np.abs(np.asarray(mu)))
           + np.abs(ba))
    np.testing.assert_allclose(np.asarray(mu), xa.astype(np.float64).mean(axis=0),
                               rtol=1e-5, atol=1e-5 * (np.abs(xa).max() + 1))


@given(dtype=DTYPES, data=st.data())
def test_softmax_is_the_numpy_expression(dtype: Any, data: st.DataObject) -> None:
    xa, _, _ = data.draw(batch(dtype))
    x = Matrix.from_numpy(xa)
    e = ta.compute(ta.exp(x - ta.cols_like(ta.max_cols(x), x)))
    p = ta.compute(e / ta.cols_like(ta.sum_cols(e), e))
    ea = np.exp(xa - xa.max(axis=1, keepdims=True))
    want = ea / ea.sum(axis=1, keepdims=True)
    # exp and the row sum are relative errors: each probability to its own few ulps
    _close(p, want, dtype, scale=want * xa.shape[1])
    np.testing.assert_allclose(values(ta.sum_cols(p)), np.ones(xa.shape[0]), rtol=1e-5)


@given(dtype=DTYPES, data=st.data())
def test_linear_layer_and_loss_are_the_numpy_expression(dtype: Any, data: st.DataObject) -> None:
    xa, ba, _ = data.draw(batch(dtype))
    wa = data.draw(arrays(dtype, (xa.shape[1], xa.shape[1]), st.floats(-1, 1, width=32)))
    x, w, b = Matrix.from_numpy(xa), Matrix.from_numpy(wa), Vector.from_numpy(ba)
    h = ta.relu(x @ w + ta.rows_like(b, x))
    loss = ta.sum_rows((h - x) ** 2) * 0.5
    ha = np.maximum(xa @ wa + ba, 0)
    terms = np.abs(xa) @ np.abs(wa) + np.abs(ba)  # what each element of h is made of
    _close(h, ha, dtype, terms)
    # Each loss element: its rows' errors of h through 2|h - x|, plus a sum's reordering.
    gap = np.abs(ha - xa)
    _close(loss, 0.5 * ((ha - xa) ** 2).sum(axis=0), dtype,
           (2 * gap * (terms + np.abs(xa)) + xa.shape[0] * gap * gap).sum(axis=0))


# -- random delayed expressions against the same expression in numpy --------------------------
#
# A tree of nodes: ("leaf", i) | ("mask", op, i, j) | (unary, e) | (binary, e, e)
# | ("scalar", op, e, c, reflected) | ("pow", e, k) | ("where", i, j, e, e)
# | ("rows_like_sum_rows", e) | ("cols_like_sum_cols", e) | ("TT", e).
# Masks compare leaves only, so a last-bit difference inside a subexpression (tanh, sums in
# another order) can never flip a comparison. The oracle carries a forward error analysis
# (`scale`), so the tolerance is a rounding-error bound: 64 eps times the scale.

LEAVES = 3
UNARY = ["neg", "abs", "tanh", "sigmoid", "relu"]
BINARY = ["add", "sub", "mul", "maximum", "minimum"]
COMPARE = ["lt", "le", "gt", "ge", "eq", "ne"]
SCALAR_OPS = ["add", "sub", "mul"]

Tree = tuple[Any, ...]


def trees() -> st.SearchStrategy[Tree]:
    leaf = st.tuples(st.just("leaf"), st.integers(0, LEAVES - 1))
    mask = st.tuples(st.just("mask"), st.sampled_from(COMPARE), st.integers(0, LEAVES - 1),
                     st.integers(0, LEAVES - 1))

    def extend(e: st.SearchStrategy[Tree]) -> st.SearchStrategy[Tree]:
        return st.one_of(
            st.tuples(st.sampled_from(UNARY), e),
            st.tuples(st.sampled_from(BINARY), e, e),
            st.tuples(st.just("scalar"), st.sampled_from(SCALAR_OPS), e, SCALARS, st.booleans()),
            st.tuples(st.just("pow"), e, st.integers(0, 3)),
            st.tuples(st.just("where"), st.integers(0, LEAVES - 1), st.integers(0, LEAVES - 1),
                      e, e),
            st.tuples(st.sampled_from(["rows_like_sum_rows", "cols_like_sum_cols", "TT"]), e),
        )

    return st.recursive(st.one_of(leaf, mask), extend, max_leaves=6)


def build(t: Tree, xs: list[Any]) -> Any:
    """The typed (delayed) expression of `t`."""
    tag = t[0]
    if tag == "leaf":
        return xs[t[1]]
    if tag == "mask":
        return _COMPARE_OPS[t[1]](xs[t[2]], xs[t[3]])
    if tag in UNARY:
        return _UNARY_OPS[tag](build(t[1], xs))
    if tag in BINARY:
        a, b = build(t[1], xs), build(t[2], xs)
        return _BINARY_OPS[tag](a, b)
    if tag == "scalar":
        _, op, sub, c, reflected = t
        e = build(sub, xs)
        fn = _BINARY_OPS[op]
        return fn(c, e) if reflected else fn(e, c)
    if tag == "pow":
        return build(t[1], xs) ** t[2]
    if tag == "where":
        return ta.where(xs[t[1]] > xs[t[2]], build(t[3], xs), build(t[4], xs))
    e = build(t[1], xs)
    if tag == "rows_like_sum_rows":
        return ta.rows_like(ta.sum_rows(e), e)
    if tag == "cols_like_sum_cols":
        return ta.cols_like(ta.sum_cols(e), e)
    assert tag == "TT"
    return e.T.T


_UNARY_OPS: dict[str, Callable[[Any], Any]] = {
    "neg": lambda e: -e, "abs": abs, "tanh": ta.tanh, "sigmoid": ta.sigmoid, "relu": ta.relu,
}
_BINARY_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "add": lambda p, q: p + q, "sub": lambda p, q: p - q, "mul": lambda p, q: p * q,
    "maximum": ta.maximum, "minimum": ta.minimum,
}
_COMPARE_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "lt": lambda p, q: p < q, "le": lambda p, q: p <= q, "gt": lambda p, q: p > q,
    "ge": lambda p, q: p >= q, "eq": lambda p, q: p == q, "ne": lambda p, q: p != q,
}


def oracle(t: Tree, xs: list[Array]) -> tuple[Array, Array, Array]:
    """The value of `t` in numpy (in the leaves' dtype), a bound on its magnitude, and the
    scale of its rounding error (an error analysis: the error is a few eps times the scale).
    """
    tag = t[0]
    dt = xs[0].dtype.type
    if tag == "leaf":
        x = xs[t[1]]
        return x, np.abs(x), np.abs(x)
    if tag == "mask":
        m = _COMPARE_OPS[t[1]](xs[t[2]], xs[t[3]]).astype(dt)
        return m, np.ones_like(m), np.ones_like(m)
    if tag in UNARY:
        e, v, s = oracle(t[1], xs)
        if tag in ("tanh", "sigmoid"):  # 1-Lipschitz: the error passes through, plus an ulp
            value = np.tanh(e) if tag == "tanh" else _sigmoid(e)
            return value, np.ones_like(v), s + 1
        return {"neg": -e, "abs": np.abs(e), "relu": np.maximum(e, dt(0))}[tag], v, s
    if tag in BINARY:
        (a, va, sa), (b, vb, sb) = oracle(t[1], xs), oracle(t[2], xs)
        if tag == "mul":
            return a * b, va * vb, va * sb + vb * sa
        if tag in ("add", "sub"):
            return (a + b if tag == "add" else a - b), va + vb, sa + sb
        fn = np.maximum if tag == "maximum" else np.minimum
        return fn(a, b), np.maximum(va, vb), np.maximum(sa, sb)
    if tag == "scalar":
        _, op, sub, c, reflected = t
        e, v, s = oracle(sub, xs)
        k = dt(c)
        p, q = (k, e) if reflected else (e, k)
        if op == "mul":
            return p * q, v * abs(k), s * abs(k)
        return (p + q if op == "add" else p - q), v + abs(k), s + abs(k)
    if tag == "pow":
        e, v, s = oracle(t[1], xs)
        n = t[2]
        if n == 0:
            return e ** 0, np.ones_like(v), np.ones_like(s)
        return e ** n, v ** n, n * v ** (n - 1) * s
    if tag == "where":
        (a, va, sa), (b, vb, sb) = oracle(t[3], xs), oracle(t[4], xs)
        return np.where(xs[t[1]] > xs[t[2]], a, b), np.maximum(va, vb), np.maximum(sa, sb)
    e, v, s = oracle(t[1], xs)
    if tag == "TT":
        return e, v, s
    axis = 0 if tag == "rows_like_sum_rows" else 1
    return tuple(np.broadcast_to(a.sum(axis=axis, keepdims=True), e.shape)  # type: ignore[return-value]
                 for a in (e, v, s))


def _sigmoid(e: Array) -> Array:
    out: Array = (1 / (1 + np.exp(-e.astype(np.float64)))).astype(e.dtype)
    return out


@given(dtype=DTYPES, tree=trees(), data=st.data(), magnitude=st.sampled_from([1.0, 2.0**-20,
                                                                              2.0**12]))
def test_random_delayed_expressions_match_numpy(dtype: Any, tree: Tree, data: st.DataObject,
                                                magnitude: float) -> None:
    shape = data.draw(st.tuples(SIDES, SIDES))
    # Values around 1, tiny or large (a power of two, so scaling rounds nothing).
    xs = [data.draw(arrays(dtype, shape, st.floats(-3, 3, width=32))) * dtype(magnitude)
          for _ in range(LEAVES)]
    got = build(tree, [Matrix.from_numpy(a) for a in xs])
    with np.errstate(over="ignore", under="ignore"):
        want, _, scale = oracle(tree, xs)
    out = values(got)
    assert out.dtype == dtype and out.shape == shape
    eps = float(np.finfo(dtype).eps)
    tiny = float(np.finfo(dtype).smallest_subnormal)  # rounding below the normal range
    assert_elementwise_close(out, want, 64 * (eps * scale + tiny), context=tree)
