"""Constructors, dtypes, repr, indexing, products and the elementwise functions, numpy as oracle.

Everything goes through the public API (`compute`, `np.asarray`), so it holds for the fused
engine and for the reference evaluator alike (`TYPEDARR_ENGINE=reference`).
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

import typedarr as ta
from typedarr import DMatrix, DTypeError, DVector, Matrix, Par, Seq, ShapeError, Vector

Array = np.ndarray[Any, np.dtype[Any]]
TOL = {np.float32: 1e-6, np.float64: 1e-13}  # rtol for transcendental functions (ULPs)
DTYPES = [np.float32, np.float64]


def values(x: Any) -> Array:
    """The computed values of a typed array, as numpy."""
    return np.asarray(ta.compute(x))


def sample(shape: tuple[int, ...], dtype: Any = np.float32, seed: int = 0) -> Array:
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


@pytest.fixture
def restore_strategy() -> Iterator[None]:
    before = ta.default_strategy()
    yield
    ta.set_default_strategy(before)


# -- constructors ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_zeros_ones_replicate(dtype: Any) -> None:
    cases: list[tuple[Any, Array]] = [
        (Matrix.zeros(2, 3, dtype=dtype), np.zeros((2, 3), dtype)),
        (Matrix.ones(2, 3, dtype=dtype), np.ones((2, 3), dtype)),
        (Matrix.replicate(2, 3, 1.5, dtype=dtype), np.full((2, 3), 1.5, dtype)),
        (Vector.zeros(4, dtype=dtype), np.zeros(4, dtype)),
        (Vector.ones(4, dtype=dtype), np.ones(4, dtype)),
        (Vector.replicate(4, -2.0, dtype=dtype), np.full(4, -2.0, dtype)),
    ]
    for got, want in cases:
        assert got.dtype == dtype
        np.testing.assert_array_equal(np.asarray(got), want, strict=True)


def test_default_dtype_is_float32() -> None:
    assert Matrix.zeros(1, 1).dtype == np.float32
    assert Vector.from_list([1, 2]).dtype == np.float32
    assert Matrix.random_normal(1, 1, seed=0).dtype == np.float32


def test_empty_shapes_are_allowed() -> None:
    assert Matrix.zeros(0, 3).shape == (0, 3)
    assert Vector.zeros(0).shape == (0,)
    assert values(Matrix.zeros(0, 3) + 1.0).shape == (0, 3)


@pytest.mark.parametrize("make", [lambda: Matrix.zeros(-1, 2), lambda: Matrix.ones(2, -1),
                                  lambda: Vector.zeros(-1), lambda: Vector.replicate(-3, 1.0)])
def test_negative_sizes_raise(make: Callable[[], Any]) -> None:
    with pytest.raises(ShapeError):
        make()


def test_from_list() -> None:
    m = Matrix.from_list([[1, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(np.asarray(m), np.array([[1, 2, 3], [4, 5, 6]], np.float32),
                                  strict=True)
    v = Vector.from_list([1.5, -2], dtype=np.float64)
    np.testing.assert_array_equal(np.asarray(v), np.array([1.5, -2]), strict=True)


@pytest.mark.parametrize("make", [
    lambda: Matrix.from_list([[1, 2], [3]]),
    lambda: Matrix.from_list([[1, 2], 3]),  # type: ignore[list-item]
    lambda: Matrix.from_list([1, 2]),  # type: ignore[list-item]
    lambda: Matrix.from_list([]),
    lambda: Matrix.from_list([[[1.0]]]),  # type: ignore[list-item]
    lambda: Vector.from_list([[1, 2]]),  # type: ignore[list-item]
], ids=["ragged", "row-and-number", "flat", "empty", "three-levels", "vector-of-lists"])
def test_from_list_rejects_wrong_nesting(make: Callable[[], Any]) -> None:
    with pytest.raises(ShapeError):
        make()


def test_from_list_rejects_non_float_dtype() -> None:
    with pytest.raises(DTypeError):
        Vector.from_list([1, 2], dtype=np.int32)


@pytest.mark.parametrize("dtype", DTYPES)
def test_from_numpy_keeps_dtype_and_values(dtype: Any) -> None:
    a = sample((3, 4), dtype)
    m = Matrix.from_numpy(a)
    assert m.dtype == dtype and m.shape == (3, 4)
    np.testing.assert_array_equal(np.asarray(m), a, strict=True)
    v = Vector.from_numpy(a[1])
    assert v.dtype == dtype
    np.testing.assert_array_equal(np.asarray(v), a[1], strict=True)


@pytest.mark.parametrize("shape", [(3,), (2, 3, 4), ()])
def test_matrix_from_numpy_rejects_wrong_rank(shape: tuple[int, ...]) -> None:
    with pytest.raises(ShapeError):
        Matrix.from_numpy(np.zeros(shape, np.float32))


@pytest.mark.parametrize("shape", [(3, 1), (1, 3), ()])
def test_vector_from_numpy_rejects_wrong_rank(shape: tuple[int, ...]) -> None:
    with pytest.raises(ShapeError):
        Vector.from_numpy(np.zeros(shape, np.float32))


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint8, np.bool_, np.float16,
                                   np.complex64, np.complex128, np.object_])
@pytest.mark.parametrize("kind", ["Matrix", "Vector"])
def test_from_numpy_rejects_non_float_dtypes(kind: str, dtype: Any) -> None:
    shape = (2, 2) if kind == "Matrix" else (2,)
    a = np.zeros(shape, dtype)
    with pytest.raises(DTypeError, match="float32 or float64"):
        (Matrix if kind == "Matrix" else Vector).from_numpy(a)


def test_from_numpy_rejects_non_arrays() -> None:
    with pytest.raises(TypeError):
        Vector.from_numpy([1.0, 2.0])  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("dtype", DTYPES)
def test_from_numpy_rejects_non_finite_unless_allowed(bad: float, dtype: Any) -> None:
    a = np.ones((2, 3), dtype)
    a[1, 2] = bad
    with pytest.raises(ValueError, match="nonfinite"):
        Matrix.from_numpy(a)
    with pytest.raises(ValueError, match="nonfinite"):
        Vector.from_numpy(a[1])
    allowed = Matrix.from_numpy(a, nonfinite="allow")
    np.testing.assert_array_equal(np.asarray(allowed), a)
    np.testing.assert_array_equal(np.asarray(Vector.from_numpy(a[1], nonfinite="allow")), a[1])


def test_from_numpy_copies() -> None:
    a = np.zeros((2, 3), np.float32)
    v_src = np.zeros(3, np.float64)
    m, v = Matrix.from_numpy(a), Vector.from_numpy(v_src)
    a[:] = 7.0
    v_src[:] = 7.0
    assert not np.asarray(m).any() and not np.asarray(v).any()


def test_from_numpy_of_a_non_contiguous_view() -> None:
    a = sample((4, 6), np.float64)
    np.testing.assert_array_equal(np.asarray(Matrix.from_numpy(a[::2, ::3])), a[::2, ::3])
    np.testing.assert_array_equal(np.asarray(Matrix.from_numpy(a.T)), a.T)


@pytest.mark.parametrize("make", [
    lambda: Matrix.ones(2, 2), lambda: Matrix.ones(2, 2) * 2.0, lambda: Matrix.ones(3, 2).T,
    lambda: Vector.ones(2), lambda: Vector.ones(2) + 1.0, lambda: Matrix.ones(3, 2)[0],
    lambda: Matrix.ones(3, 2)[1:], lambda: Matrix.ones(3, 2)[np.array([0, 0])],
    lambda: ta.max_cols(Matrix.ones(3, 2)), lambda: Matrix.ones(2, 3) @ Matrix.ones(3, 2),
    lambda: ta.concat_rows([Matrix.ones(1, 2), Matrix.ones(1, 2)]),
], ids=["Matrix", "DMatrix", "T", "Vector", "DVector", "row", "slice", "take", "max_cols",
        "matmul", "concat_rows"])
def test_values_are_read_only(make: Callable[[], Any]) -> None:
    a = np.asarray(ta.compute(make()))
    assert not a.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        a[...] = 1.0


@pytest.mark.parametrize("make", [lambda: Matrix.ones(2, 3), lambda: Matrix.ones(2, 3) * 2.0,
                                  lambda: Vector.ones(3), lambda: Vector.ones(3) * 2.0])
def test_to_numpy_is_a_writable_copy(make: Callable[[], Any]) -> None:
    x = make()
    a = x.to_numpy()
    before = np.asarray(x).copy()
    assert a.flags.writeable and a.dtype == x.dtype
    a[...] = -5.0
    np.testing.assert_array_equal(np.asarray(x), before)
    assert not np.shares_memory(a, np.asarray(ta.compute(x)))


def test_array_protocol() -> None:
    m = Matrix.from_list([[1, 2], [3, 4]])
    assert np.asarray(m).dtype == np.float32
    as64 = np.asarray(m, dtype=np.float64)
    assert as64.dtype == np.float64
    np.testing.assert_array_equal(as64, [[1, 2], [3, 4]])
    fresh = np.array(m)  # copy=True: a writable copy
    assert fresh.flags.writeable
    fresh[0, 0] = 9.0
    assert np.asarray(m)[0, 0] == 1.0
    assert m.__array__(copy=True).flags.writeable
    assert not m.__array__(copy=False).flags.writeable
    np.testing.assert_array_equal(m.__array__(dtype=np.float32, copy=False), np.asarray(m))
    with pytest.raises(ValueError, match="without a copy"):
        m.__array__(dtype=np.float64, copy=False)
    d = m * 2.0  # a delayed array converts by computing
    np.testing.assert_array_equal(np.asarray(d), [[2, 4], [6, 8]])
    assert np.asarray(d, dtype=np.float64).dtype == np.float64


def test_python_scalars_keep_the_array_dtype() -> None:
    for dt in DTYPES:
        x = Matrix.ones(2, 2, dtype=dt)
        for y in (x + 1.5, 2 * x, x / 3, 1 / x, 2 - x, x ** 2, 2 ** x, x > 0.5, -x, abs(x)):
            assert y.dtype == dt
            assert values(y).dtype == dt
        assert (Vector.ones(2, dtype=dt) + 1).dtype == dt


def test_float32_scalar_arithmetic_stays_in_float32() -> None:
    a = sample((50,), np.float32)
    got = values(Vector.from_numpy(a) * 0.1 + 1e-3)
    np.testing.assert_array_equal(got, a * np.float32(0.1) + np.float32(1e-3), strict=True)


def test_astype() -> None:
    m = Matrix.from_list([[1.5, 2], [3, 4]])
    d = m.astype(np.float64)
    assert isinstance(d, DMatrix) and d.dtype == np.float64
    np.testing.assert_array_equal(values(d), np.asarray(m).astype(np.float64), strict=True)
    back = d.astype(np.float32)
    np.testing.assert_array_equal(values(back), np.asarray(m), strict=True)
    assert (Vector.ones(2).astype("float64")).dtype == np.float64
    for bad in (np.int32, np.float16, bool, complex):
        with pytest.raises(DTypeError):
            m.astype(bad)


# -- random constructors --------------------------------------------------------------------


@pytest.mark.parametrize("draw", [
    lambda s: Matrix.random_normal(30, 20, seed=s),
    lambda s: Matrix.random_uniform(30, 20, seed=s),
    lambda s: Vector.random_normal(50, seed=s, dtype=np.float64),
    lambda s: Vector.random_uniform(50, seed=s, low=-2.0, high=3.0),
], ids=["Matrix-normal", "Matrix-uniform", "Vector-normal", "Vector-uniform"])
def test_random_is_reproducible_from_the_seed(draw: Callable[[int], Any]) -> None:
    np.testing.assert_array_equal(np.asarray(draw(7)), np.asarray(draw(7)))
    assert not np.array_equal(np.asarray(draw(7)), np.asarray(draw(8)))


def test_random_takes_a_generator() -> None:
    g = np.random.default_rng(3)
    a, b = Vector.random_normal(10, seed=g), Vector.random_normal(10, seed=g)
    assert not np.array_equal(np.asarray(a), np.asarray(b))  # the generator advanced
    g2 = np.random.default_rng(3)
    np.testing.assert_array_equal(np.asarray(Vector.random_normal(10, seed=g2)), np.asarray(a))


@pytest.mark.parametrize("seed", [True, 1.5, "1", None])
def test_random_rejects_bad_seeds(seed: Any) -> None:
    with pytest.raises(TypeError):
        Vector.random_normal(3, seed=seed)


@pytest.mark.parametrize("dtype", DTYPES)
def test_random_normal_moments(dtype: Any) -> None:
    x = np.asarray(Matrix.random_normal(400, 250, seed=1, mean=2.0, std=3.0, dtype=dtype))
    assert x.dtype == dtype
    assert abs(x.mean() - 2.0) < 0.03  # standard error 3/sqrt(1e5) ~ 0.0095
    assert abs(x.std() - 3.0) < 0.03
    v = np.asarray(Vector.random_normal(100_000, seed=2, dtype=dtype))
    assert abs(v.mean()) < 0.015 and abs(v.std() - 1.0) < 0.015


@pytest.mark.parametrize("dtype", DTYPES)
def test_random_uniform_moments_and_bounds(dtype: Any) -> None:
    x = np.asarray(Matrix.random_uniform(400, 250, seed=1, low=-1.0, high=3.0, dtype=dtype))
    assert x.dtype == dtype
    assert x.min() >= -1.0 and x.max() < 3.0
    assert abs(x.mean() - 1.0) < 0.02  # standard error 4/sqrt(12e5) ~ 0.0037
    assert abs(x.var() - 16 / 12) < 0.02
    with pytest.raises(ValueError):
        Vector.random_uniform(3, seed=0, low=1.0, high=1.0)


def test_random_uniform_never_returns_high() -> None:
    # Documented as [low, high). With seed 198, the 30475th float32 draw of [0, 1) is
    # 1 - 2**-24, and `u * (high - low) + low` rounds 1 + (1 - 2**-24) up to exactly 2.0.
    x = np.asarray(Vector.random_uniform(40_000, seed=198, low=1.0, high=2.0))
    assert x.max() < 2.0, f"{int((x >= 2.0).sum())} value(s) equal to high"


def test_random_normal_std_zero_is_the_mean() -> None:
    np.testing.assert_array_equal(np.asarray(Vector.random_normal(5, seed=0, mean=1.5, std=0.0)),
                                  np.full(5, 1.5, np.float32))


# -- shapes, kinds, bool, hashing -----------------------------------------------------------


def test_shape_properties() -> None:
    m = Matrix.zeros(3, 5)
    assert (m.shape, m.rows, m.cols, len(m)) == ((3, 5), 3, 5, 3)
    v = Vector.zeros(4)
    assert (v.shape, v.size, len(v)) == ((4,), 4, 4)
    d = m * 2.0
    assert (d.shape, d.rows, d.cols) == ((3, 5), 3, 5)


@pytest.mark.parametrize("make", [lambda: Matrix.ones(2, 2), lambda: Matrix.ones(2, 2) * 2.0,
                                  lambda: Vector.ones(2), lambda: Vector.ones(2) * 2.0,
                                  lambda: Matrix.ones(1, 1), lambda: Vector.ones(1)])
def test_bool_raises(make: Callable[[], Any]) -> None:
    x = make()
    with pytest.raises(TypeError, match="ambiguous"):
        bool(x)
    with pytest.raises(TypeError, match="ambiguous"):
        bool(x == x)


def test_arrays_are_unhashable() -> None:
    with pytest.raises(TypeError):
        hash(Matrix.ones(1, 1))


def test_arrays_are_not_constructed_directly() -> None:
    for cls in (Matrix, DMatrix, Vector, DVector):
        with pytest.raises(TypeError):
            cls()


def test_aliases_are_the_same_functions() -> None:
    assert ta.rowsLike is ta.rows_like
    assert ta.colsLike is ta.cols_like
    assert ta.sumRows is ta.sum_rows
    assert ta.sumCols is ta.sum_cols


def test_public_names_exist() -> None:
    for name in ta.__all__:
        assert getattr(ta, name) is not None, name


# -- delayed vs manifest --------------------------------------------------------------------


def test_helpers_and_reductions_return_delayed_arrays() -> None:
    v, m = Vector.ones(3), Matrix.ones(2, 3)
    assert type(ta.br(4, v)) is DMatrix
    assert type(ta.rows_like(v, m)) is DMatrix
    assert type(ta.cols_like(Vector.ones(2), m)) is DMatrix
    for reduced in (ta.sum_rows(m), ta.sum_cols(m), ta.mean(m), ta.var(m)):
        assert type(reduced) is DVector
    for x in (m + m, m * 2.0, -m, ta.exp(m), ta.where(m > 0, m, 0.0), ta.maximum(m, 0.0),
              m.delay(), (m * 2.0).T, m.astype(np.float64)):
        assert type(x) is DMatrix
    assert type(ta.exp(v)) is DVector and type(v.delay()) is DVector


def test_boundaries_return_manifest_arrays() -> None:
    m, v = Matrix.ones(2, 3), Vector.ones(3)
    assert type(m @ m.T) is Matrix
    assert type(m @ v) is Vector and type(Vector.ones(2) @ m) is Vector
    assert type(v @ v) is float
    assert type(ta.max_rows(m)) is Vector and type(ta.max_cols(m)) is Vector
    assert type(m.T) is Matrix
    assert type(ta.sum_all(m)) is float


def test_compute_and_delay_round_trip() -> None:
    m = Matrix.from_list([[1, 2], [3, 4]])
    assert ta.compute(m) is m and m.compute() is m
    d = m.delay()
    assert isinstance(d, DMatrix)
    c = ta.compute(d)
    assert type(c) is Matrix
    np.testing.assert_array_equal(np.asarray(c), np.asarray(m))
    dv = ta.sum_rows(m)
    cv = dv.compute()
    assert type(cv) is Vector and ta.compute(cv) is cv
    np.testing.assert_array_equal(np.asarray(cv), [4, 6])


def _refuse(*args: Any) -> Any:
    raise AssertionError("evaluated an array that should have stayed delayed")


def test_building_and_printing_delayed_arrays_computes_nothing(
        monkeypatch: pytest.MonkeyPatch) -> None:
    x, v = Matrix.random_normal(50, 40, seed=0), Vector.ones(40)
    monkeypatch.setattr(ta._compute, "evaluate", _refuse)
    built = [
        ta.br(1000, v), ta.rows_like(v, x), ta.cols_like(Vector.ones(50), x),
        ta.sum_rows(x), ta.sum_cols(x), ta.mean(x), ta.var(x),
        ta.exp(x - ta.rows_like(ta.mean(x), x)) / 2.0, (x * 2.0).T, ta.where(x > 0, x, 0.0),
        ta.sigmoid(ta.sum_rows(ta.br(3, v))), x.astype(np.float64),
    ]
    for d in built:
        text = repr(d)
        assert text.startswith(("Matrix D ", "Vector D ")), text
        assert str(d) == text


def test_a_big_broadcast_is_never_materialised() -> None:
    n, k = 20_000, 1_000  # as a full array: 80 MB of float32
    v = Vector.random_normal(k, seed=0)
    x = Matrix.random_normal(200, k, seed=1)

    def summed() -> Vector:  # (a `- 1.0` inside would be a temporary in the reference engine)
        return ta.compute(ta.sum_rows(ta.br(n, v)))

    def scaled() -> Matrix:
        return ta.compute(ta.rows_like(v, x) * x)

    summed(), scaled()  # a first run may compile kernels: measure the second
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        big = ta.br(n, v) - 1.0
        assert big.shape == (n, k)
        _, built_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        total = summed()
        _, summed_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        product = scaled()
        _, scaled_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert built_peak < 100_000, built_peak
    assert summed_peak < 1_000_000, summed_peak  # the result is 4 kB, the broadcast 80 MB
    assert scaled_peak < 1.5 * 200 * k * 4, scaled_peak  # the result only, no broadcast copy
    # float32 sums of 20000 rows, accumulated row by row as numpy does: n * eps / 2 ~ 1e-3
    expect = n * np.asarray(v).astype(np.float64)
    np.testing.assert_allclose(np.asarray(total), expect, rtol=2e-3)
    np.testing.assert_allclose(np.asarray(product), np.asarray(v)[None, :] * np.asarray(x),
                               rtol=1e-6)


# -- repr, as massiv prints in GHCi ---------------------------------------------------------


def test_repr_of_a_vector() -> None:
    assert repr(Vector.from_list([1, 2, 3, 4])) == (
        "Vector U Par (Sz1 4) float32\n[ 1.0, 2.0, 3.0, 4.0 ]")


def test_repr_of_a_matrix() -> None:
    assert repr(Matrix.from_list([[1, 2], [3, 4.5]], dtype=np.float64)) == (
        "Matrix U Par (Sz (2 :. 2)) float64\n"
        "[ [ 1.0, 2.0 ]\n"
        ", [ 3.0, 4.5 ]\n"
        "]")


def test_repr_shows_the_strategy() -> None:
    assert repr(Vector.ones(2).with_strategy(Seq)).startswith("Vector U Seq (Sz1 2) float32")


def test_repr_of_empty_arrays() -> None:
    assert repr(Vector.zeros(0)) == "Vector U Par (Sz1 0) float32\n[ ]"
    assert repr(Matrix.zeros(0, 3)).startswith("Matrix U Par (Sz (0 :. 3)) float32\n")


def test_repr_of_a_large_matrix_is_summarised() -> None:
    text = repr(Matrix.random_normal(100, 300, seed=0))
    lines = text.split("\n")
    assert lines[0] == "Matrix U Par (Sz (100 :. 300)) float32"
    assert len(lines) <= 12 and len(text) < 2_000
    assert ", ..." in lines
    for line in lines[1:]:
        if line.startswith(("[ [", ", [")):
            assert ", ..., " in line and line.count(",") <= 8


def test_repr_of_a_large_vector_is_summarised() -> None:
    text = repr(Vector.from_numpy(np.arange(1000, dtype=np.float64)))
    assert text == "Vector U Par (Sz1 1000) float64\n[ 0.0, 1.0, 2.0, ..., 997.0, 998.0, 999.0 ]"


def test_repr_of_a_delayed_array_shows_its_expression() -> None:
    text = repr(ta.br(3, Vector.from_list([1, 2, 3, 4])))
    assert text.startswith("Matrix D Par (Sz (3 :. 4)) float32\n")
    assert "1.0" not in text  # no values: it was not computed


def test_repr_of_a_delayed_view_says_delayed() -> None:
    # A DMatrix is representation D, even when its expression is a bare manifest array
    # (massiv: `delay arr` prints as `Array D ...`).
    assert repr(Matrix.ones(2, 2).delay()).startswith("Matrix D ")
    assert repr(Vector.ones(2).delay()).startswith("Vector D ")


def test_repr_of_special_values() -> None:
    a = np.array([np.nan, np.inf, -np.inf, 0.0, 1e-8, 1e8], np.float32)
    text = repr(Vector.from_numpy(a, nonfinite="allow"))
    for word in ("nan", "inf", "-inf", "0.0", "e-08", "e+08"):
        assert word in text, text


# -- matrix products and transposes ---------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_matmul_against_numpy(dtype: Any) -> None:
    a, b = sample((5, 7), dtype, 1), sample((7, 3), dtype, 2)
    u, w = sample((7,), dtype, 3), sample((5,), dtype, 4)
    A, B, U, W = (Matrix.from_numpy(a), Matrix.from_numpy(b), Vector.from_numpy(u),
                  Vector.from_numpy(w))
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    products: list[tuple[Any, Array]] = [
        (A @ B, a @ b), (A @ U, a @ u), (W @ A, w @ a), (A.T @ W, a.T @ w),
        (B.T @ A.T, (a @ b).T), ((A * 2.0) @ B.delay(), (a * 2) @ b),
        (A @ (U + 1.0), a @ (u + 1)), ((W + 1.0) @ A, (w + 1) @ a)]
    for got, want in products:
        assert got.dtype == dtype
        np.testing.assert_allclose(np.asarray(got), want, rtol=rtol, atol=rtol)
    dot = U @ U
    assert isinstance(dot, float)
    assert dot == pytest.approx(float(u @ u), rel=rtol)
    assert (U + 1.0) @ U.delay() == pytest.approx(float((u + 1) @ u), rel=rtol)


def test_matmul_of_empty_inner_size() -> None:
    np.testing.assert_array_equal(np.asarray(Matrix.zeros(2, 0) @ Matrix.zeros(0, 3)),
                                  np.zeros((2, 3), np.float32))
    assert Vector.zeros(0) @ Vector.zeros(0) == 0.0


def test_matmul_takes_the_strategy_of_both() -> None:
    seq = Matrix.ones(2, 2).with_strategy(Seq)
    assert (seq @ seq).strategy is Seq
    assert (seq @ Matrix.ones(2, 2).with_strategy(Par)).strategy is Par


@pytest.mark.parametrize("dtype", DTYPES)
def test_transpose(dtype: Any) -> None:
    a = sample((3, 5), dtype)
    m = Matrix.from_numpy(a)
    assert type(m.T) is Matrix and m.T.shape == (5, 3)
    np.testing.assert_array_equal(np.asarray(m.T), a.T)
    np.testing.assert_array_equal(np.asarray(m.T.T), a)
    d = m * 2.0
    assert type(d.T) is DMatrix and d.T.shape == (5, 3)
    np.testing.assert_array_equal(values(d.T), (a * 2).T)
    np.testing.assert_array_equal(values(d.T.T), a * 2)
    np.testing.assert_array_equal(values(m.T + 1.0), a.T + 1)
    np.testing.assert_array_equal(values(m.T * d.T), a.T * (a * 2).T)
    np.testing.assert_array_equal(values(m.delay().T - m.T), np.zeros((5, 3), dtype))
    np.testing.assert_array_equal(values(ta.br(2, Vector.from_numpy(a[0])).T),
                                  np.tile(a[0], (2, 1)).T)


# -- row selection --------------------------------------------------------------------------


def test_row_selection() -> None:
    a = sample((5, 3))
    m = Matrix.from_numpy(a)
    row = m[2]
    assert type(row) is Vector
    np.testing.assert_array_equal(np.asarray(row), a[2])
    np.testing.assert_array_equal(np.asarray(m[-1]), a[-1])
    np.testing.assert_array_equal(np.asarray(m[np.int64(1)]), a[1])
    for index in (np.array([4, 0, 0, 2]), [1, 3], np.array([-1, 0]), np.array([], np.int64),
                  np.array([2], np.uint8)):
        picked = m[index]
        assert type(picked) is Matrix
        np.testing.assert_array_equal(np.asarray(picked), a[index])
    np.testing.assert_array_equal(np.asarray(m[1:4]), a[1:4])
    np.testing.assert_array_equal(np.asarray(m[::-2]), a[::-2])
    np.testing.assert_array_equal(values(m[::2] * 2.0), a[::2] * 2)


@pytest.mark.parametrize("index", [5, -6, np.array([0, 5]), np.array([-6]), [7]],
                         ids=["int", "negative", "array", "negative-array", "list"])
def test_row_selection_out_of_range(index: Any) -> None:
    with pytest.raises(IndexError):
        Matrix.zeros(5, 3)[index]


@pytest.mark.parametrize("index", [
    True, np.bool_(False), np.array([True, False, True, False, True]), [True, False],
    np.array([[0, 1]]), np.array(1.0), np.array([0.0, 1.0]), (0, 1, 2), (0.5, 1),
], ids=["bool", "np-bool", "bool-mask", "bool-list", "2d", "float-0d", "float-array",
        "three-indices", "float-in-pair"])
def test_row_selection_refuses_bad_indices(index: Any) -> None:
    with pytest.raises(TypeError):
        Matrix.zeros(5, 3)[index]


def test_vector_element_selection() -> None:
    a = sample((6,), np.float64)
    v = Vector.from_numpy(a)
    assert v[2] == a[2] and isinstance(v[2], float)
    np.testing.assert_array_equal(np.asarray(v[np.array([5, 0])]), a[[5, 0]])
    np.testing.assert_array_equal(np.asarray(v[2:]), a[2:])
    with pytest.raises(IndexError):
        v[6]
    with pytest.raises(TypeError):
        v[np.array([True] * 6)]


def test_concat_rows() -> None:
    a, b = sample((2, 3), seed=1), sample((4, 3), seed=2)
    got = ta.concat_rows([Matrix.from_numpy(a), Matrix.from_numpy(b) * 2.0])
    assert type(got) is Matrix and got.shape == (6, 3)
    np.testing.assert_array_equal(np.asarray(got), np.concatenate([a, b * 2]))
    one = ta.concat_rows([Matrix.from_numpy(a)])
    np.testing.assert_array_equal(np.asarray(one), a)


def test_concat_rows_takes_par_from_any_part() -> None:
    parts = [Matrix.ones(1, 2).with_strategy(Seq), Matrix.ones(1, 2).with_strategy(Par)]
    assert ta.concat_rows(parts).strategy is Par


# -- elementwise operations against numpy ---------------------------------------------------


def _pair(dtype: Any, shape: tuple[int, ...] = (4, 5)) -> tuple[Array, Array, Any, Any]:
    a, b = sample(shape, dtype, 1), sample(shape, dtype, 2)
    make = Matrix.from_numpy if len(shape) == 2 else Vector.from_numpy
    return a, b, make(a), make(b)


COMPARISONS: list[tuple[str, Callable[[Any, Any], Any]]] = [
    ("lt", lambda x, y: x < y), ("le", lambda x, y: x <= y), ("gt", lambda x, y: x > y),
    ("ge", lambda x, y: x >= y), ("eq", lambda x, y: x == y), ("ne", lambda x, y: x != y),
]


@pytest.mark.parametrize("shape", [(4, 5), (7,)], ids=["Matrix", "Vector"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cmp", [c[1] for c in COMPARISONS], ids=[c[0] for c in COMPARISONS])
def test_comparisons_are_zero_one_masks(cmp: Callable[[Any, Any], Any], dtype: Any,
                                        shape: tuple[int, ...]) -> None:
    a, b, x, y = _pair(dtype, shape)
    b.flat[::3] = a.flat[::3]  # some ties
    y = (Matrix if len(shape) == 2 else Vector).from_numpy(b)
    for got, want in [(cmp(x, y), cmp(a, b)), (cmp(x, 0.25), cmp(a, 0.25)),
                      (cmp(0.25, x), cmp(0.25, a)), (cmp(x, x), cmp(a, a))]:
        out = values(got)
        assert out.dtype == dtype
        np.testing.assert_array_equal(out, want.astype(dtype), strict=True)


def test_a_mask_multiplies_directly() -> None:
    a, b, x, y = _pair(np.float32)
    np.testing.assert_array_equal(values((x > 0) * y), np.where(a > 0, b, 0).astype(np.float32))


@pytest.mark.parametrize("dtype", DTYPES)
def test_arithmetic_and_reflected_scalars(dtype: Any) -> None:
    a, b, x, y = _pair(dtype)
    c = dtype(1.75)
    cases = [
        (x + y, a + b), (x - y, a - b), (x * y, a * b), (x / y, a / b),
        (x + 1.75, a + c), (1.75 + x, c + a), (x - 1.75, a - c), (2 - x, dtype(2) - a),
        (x * 1.75, a * c), (1.75 * x, c * a), (x / 1.75, a / c), (1 / x, dtype(1) / a),
        (-x, -a), (abs(x), np.abs(a)), (-(x * y) + x, -(a * b) + a),
    ]
    for got, want in cases:
        np.testing.assert_array_equal(values(got), want, strict=True)


@pytest.mark.parametrize("dtype", DTYPES)
def test_power_with_a_python_number(dtype: Any) -> None:
    a = sample((4, 5), dtype)
    pos = np.abs(a) + dtype(0.1)
    x, p = Matrix.from_numpy(a), Matrix.from_numpy(pos)
    rtol = TOL[dtype]
    for got, want in [(x ** 2, a ** 2), (x ** 3, a ** 3), (x ** 1, a), (x ** 0, np.ones_like(a)),
                      (x ** -1, dtype(1) / a), (p ** 0.5, np.sqrt(pos)), (p ** 2.5, pos ** 2.5),
                      (p ** -1.5, pos ** -1.5), (2 ** x, dtype(2) ** a),
                      (0.5 ** x, dtype(0.5) ** a)]:
        out = values(got)
        assert out.dtype == dtype
        np.testing.assert_allclose(out, want, rtol=rtol)


def _sigmoid(a: Array) -> Array:
    """The logistic function, computed stably in float64 (the oracle)."""
    x = a.astype(np.float64)
    e = np.exp(-np.abs(x))
    out: Array = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
    return out


UNARY: list[tuple[str, Callable[[Any], Any], Callable[[Array], Array], bool]] = [
    ("exp", ta.exp, np.exp, False), ("log", ta.log, np.log, True),
    ("sqrt", ta.sqrt, np.sqrt, True), ("tanh", ta.tanh, np.tanh, False),
    ("relu", ta.relu, lambda a: np.maximum(a, 0), False),
]


@pytest.mark.parametrize("shape", [(6, 9), (11,)], ids=["Matrix", "Vector"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("fn", "oracle", "positive"), [u[1:] for u in UNARY],
                         ids=[u[0] for u in UNARY])
def test_unary_functions_against_numpy(fn: Callable[[Any], Any], oracle: Callable[[Array], Array],
                                       positive: bool, dtype: Any, shape: tuple[int, ...]) -> None:
    a = sample(shape, dtype) * dtype(3)
    if positive:
        a = np.abs(a) + dtype(1e-3)
    x = (Matrix if len(shape) == 2 else Vector).from_numpy(a)
    out = values(fn(x))
    assert out.dtype == dtype and out.shape == shape
    np.testing.assert_allclose(out, oracle(a), rtol=TOL[dtype], atol=0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_against_numpy(dtype: Any) -> None:
    a = np.linspace(-8, 8, 161).astype(dtype)
    out = values(ta.sigmoid(Vector.from_numpy(a)))
    assert out.dtype == dtype
    np.testing.assert_allclose(out, _sigmoid(a), rtol=0, atol=4 * np.finfo(dtype).eps)


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_is_stable_at_extremes(dtype: Any) -> None:
    a = np.array([-1000, -100, 0, 100, 1000], dtype)
    out = values(ta.sigmoid(Vector.from_numpy(a)))  # warnings are errors: no overflow warning
    assert np.isfinite(out).all()
    assert out[0] == pytest.approx(0.0, abs=1e-30) and out[-1] == 1.0 and out[2] == 0.5
    assert ((out >= 0) & (out <= 1)).all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_keeps_relative_accuracy_in_the_left_tail(dtype: Any) -> None:
    # sigmoid(-20) is 2.06e-9, far above float32's smallest normal (1.2e-38); numpy's
    # `1 / (1 + exp(-x))` gives it to full precision, while 0.5 * (1 + tanh(x / 2)) cancels
    # to exactly 0 (so log(sigmoid(x)) becomes -inf instead of -20).
    a = np.array([-5.0, -10.0, -20.0, -40.0, -80.0], dtype)
    out = values(ta.sigmoid(Vector.from_numpy(a)))
    np.testing.assert_allclose(out, _sigmoid(a), rtol=1e-4 if dtype == np.float32 else 1e-10)


def test_ieee_special_values_are_quiet_and_match_numpy() -> None:
    # Warnings are errors here, so any floating-point warning fails the test.
    a = np.array([0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, 4.0], np.float32)
    b = np.array([0.0, 1.0, np.nan, -0.0, np.inf, 2.0, 1.0, -np.inf], np.float32)
    x = Vector.from_numpy(a, nonfinite="allow")
    y = Vector.from_numpy(b, nonfinite="allow")
    with np.errstate(all="ignore"):
        cases = [
            ("div", x / y, a / b), ("log", ta.log(x), np.log(a)), ("sqrt", ta.sqrt(x), np.sqrt(a)),
            ("exp", ta.exp(x), np.exp(a)), ("maximum", ta.maximum(x, y), np.maximum(a, b)),
            ("minimum", ta.minimum(x, y), np.minimum(a, b)),
            ("relu", ta.relu(x), np.maximum(a, np.float32(0))),
            ("where", ta.where(x, x, y), np.where(a != 0, a, b)),
            ("lt", x < y, (a < b).astype(np.float32)), ("ne", x != y, (a != b).astype(np.float32)),
            ("pow0", x ** 0, a ** 0), ("pow2", x ** 2, a ** 2), ("pow-1", x ** -1, a ** -1),
            ("pow0.5", x ** 0.5, a ** np.float32(0.5)), ("tanh", ta.tanh(x), np.tanh(a)),
            ("mul", x * y, a * b), ("sub", x - y, a - b),
        ]
    for name, got, want in cases:
        np.testing.assert_allclose(values(got), want, rtol=1e-6, atol=0, equal_nan=True,
                                   err_msg=name)
        np.testing.assert_array_equal(np.signbit(values(got)), np.signbit(want), err_msg=name)


@pytest.mark.parametrize("dtype", DTYPES)
def test_where_maximum_minimum(dtype: Any) -> None:
    a, b, x, y = _pair(dtype)
    for got, want in [
        (ta.where(x > y, x, y), np.where(a > b, a, b)),
        (ta.where(x > 0, x, 0.1 * x), np.where(a > 0, a, dtype(0.1) * a)),
        (ta.where(x > 0, 1.0, -1.0), np.where(a > 0, 1, -1).astype(dtype)),
        (ta.where(x, y, 0.0), np.where(a != 0, b, 0).astype(dtype)),
        (ta.maximum(x, y), np.maximum(a, b)), (ta.minimum(x, y), np.minimum(a, b)),
        (ta.maximum(x, 0.5), np.maximum(a, dtype(0.5))),
        (ta.minimum(x, -0.5), np.minimum(a, dtype(-0.5))),
    ]:
        out = values(got)
        assert out.dtype == dtype
        np.testing.assert_array_equal(out, want, strict=True)
    v = Vector.from_numpy(a[0])
    np.testing.assert_array_equal(values(ta.where(v < 0, 0.0, v)), np.maximum(a[0], 0))


def test_where_refuses_non_arrays() -> None:
    x = Matrix.ones(2, 2)
    with pytest.raises(TypeError):
        ta.where(x > 0, None, x)  # type: ignore[misc]


# -- reductions against numpy ---------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_reductions_against_numpy(dtype: Any) -> None:
    a = sample((37, 13), dtype) + dtype(0.5)
    m = Matrix.from_numpy(a)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    a64 = a.astype(np.float64)
    for got, want in [(ta.sum_rows(m), a64.sum(0)), (ta.sum_cols(m), a64.sum(1)),
                      (ta.mean(m), a64.mean(0)), (ta.var(m), a64.var(0))]:
        out = values(got)
        assert out.dtype == dtype
        np.testing.assert_allclose(out, want, rtol=rtol, atol=rtol)
    assert ta.sum_all(m) == pytest.approx(a64.sum(), rel=rtol)
    assert ta.sum_all(Vector.from_numpy(a[0]) * 2.0) == pytest.approx(2 * a64[0].sum(), rel=rtol)
    np.testing.assert_array_equal(np.asarray(ta.max_rows(m)), a.max(0))
    np.testing.assert_array_equal(np.asarray(ta.max_cols(m)), a.max(1))
    np.testing.assert_array_equal(np.asarray(ta.max_cols(m * 2.0)), (a * 2).max(1))


def test_var_is_the_population_variance() -> None:
    m = Matrix.from_list([[1, 0], [3, 0]])
    np.testing.assert_array_equal(values(ta.var(m)), [1, 0])
    np.testing.assert_array_equal(values(ta.mean(m)), [2, 0])


def test_sums_of_empty_axes_are_zero() -> None:
    np.testing.assert_array_equal(values(ta.sum_rows(Matrix.zeros(0, 3))), np.zeros(3))
    np.testing.assert_array_equal(values(ta.sum_cols(Matrix.zeros(2, 0))), np.zeros(2))


# -- strategies -----------------------------------------------------------------------------


@pytest.mark.usefixtures("restore_strategy")
def test_default_strategy() -> None:
    assert ta.default_strategy() is Par
    assert Matrix.zeros(1, 1).strategy is Par
    ta.set_default_strategy(Seq)
    assert ta.default_strategy() is Seq
    assert Matrix.zeros(1, 1).strategy is Seq and Vector.from_list([1]).strategy is Seq
    assert Matrix.from_numpy(np.zeros((1, 1), np.float32)).strategy is Seq
    assert Matrix.from_numpy(np.zeros((1, 1), np.float32), strategy=Par).strategy is Par
    with pytest.raises(TypeError):
        ta.set_default_strategy("Par")  # type: ignore[arg-type]


def test_with_strategy() -> None:
    m = Matrix.from_list([[1, 2]])
    s = m.with_strategy(Seq)
    assert s.strategy is Seq and m.strategy is Par and type(s) is Matrix
    np.testing.assert_array_equal(np.asarray(s), np.asarray(m))
    d = (m * 2.0).with_strategy(Seq)
    assert type(d) is DMatrix and d.strategy is Seq and ta.compute(d).strategy is Seq


def test_par_wins_when_combining() -> None:
    seq, par = Vector.ones(3).with_strategy(Seq), Vector.ones(3).with_strategy(Par)
    assert (seq + seq).strategy is Seq
    assert (seq + par).strategy is Par and (par + seq).strategy is Par
    assert (seq * 2.0).strategy is Seq and (2.0 - seq).strategy is Seq
    assert ta.maximum(seq, par).strategy is Par
    assert ta.where(seq > 0, seq, par).strategy is Par
    assert ta.where(par > 0, seq, seq).strategy is Par
    assert ta.exp(seq).strategy is Seq
    assert ta.sum_rows(ta.br(2, seq)).strategy is Seq


def test_par_and_seq_compute_the_same_values() -> None:
    a = np.random.default_rng(0).integers(-50, 50, (600, 400)).astype(np.float64)  # exact sums
    x = Matrix.from_numpy(a)
    cases: list[tuple[Callable[[Any], Any], Array]] = [
        (lambda m: m * 2.0 - 1.0, a * 2 - 1), (lambda m: ta.sum_rows(m * m), (a * a).sum(0)),
        (lambda m: ta.sum_cols(m - ta.rows_like(ta.sum_rows(m), m)), (a - a.sum(0)).sum(1))]
    for make, want in cases:
        par = values(make(x.with_strategy(Par)))
        seq = values(make(x.with_strategy(Seq)))
        np.testing.assert_array_equal(par, seq)
        np.testing.assert_array_equal(par, want)  # integers: exact in any order
    np.testing.assert_array_equal(values(ta.sum_rows(x * x)), (a * a).sum(0))
