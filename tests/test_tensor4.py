"""The rank-4 kind: construction, the no-broadcast rules, per-channel helpers and statistics,
flatten and its inverse, with numpy as the oracle and both engines held to it."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import typedarr as ta
from typedarr import DTensor4, DTypeError, ShapeError, Tensor4, Vector, _compute, _reference
from typedarr._ir import Node, Structural, postorder

Array = np.ndarray[Any, np.dtype[Any]]
SHAPES = st.tuples(*(st.integers(1, 5) for _ in range(4)))

# Seed 003's sanity input for 4-d batchnorm: `nd.array([...]).reshape((2, 2, 2, 2))`. The
# seed lists 17 numbers for 16 places (MXNet refuses that reshape); the first 16 are used.
SEED_003_B = np.array([1, 6, 5, 7, 4, 3, 2, 5, 6, 3, 2, 4, 5, 3, 2, 5], np.float32
                      ).reshape(2, 2, 2, 2)
SEED_003_A = np.array([1, 7, 5, 4, 6, 10], np.float32).reshape(3, 2)


def _t4(a: Array) -> Tensor4[Any, Any, Any, Any]:
    return Tensor4.from_numpy(a)


# Construction -------------------------------------------------------------------------------


def test_constructors_shapes_and_dtypes() -> None:
    assert Tensor4.zeros(2, 3, 4, 5).shape == (2, 3, 4, 5)
    assert Tensor4.zeros(2, 3, 4, 5).dtype == np.float32
    assert np.all(np.asarray(Tensor4.ones(1, 2, 1, 2, dtype=np.float64)) == 1.0)
    assert Tensor4.ones(1, 2, 1, 2, dtype=np.float64).dtype == np.float64
    assert np.all(np.asarray(Tensor4.replicate(1, 1, 2, 2, 0.5)) == 0.5)
    assert Tensor4.from_list([[[[1, 2]], [[3, 4]]]]).shape == (1, 2, 1, 2)
    assert Tensor4.zeros(2, 3, 4, 5).channels == 3
    assert len(Tensor4.zeros(2, 3, 4, 5)) == 2


def test_random_constructors_are_seeded() -> None:
    a = Tensor4.random_normal(2, 3, 4, 5, seed=7, mean=1.0, std=2.0)
    b = Tensor4.random_normal(2, 3, 4, 5, seed=7, mean=1.0, std=2.0)
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert a.dtype == np.float32
    u = Tensor4.random_uniform(2, 3, 4, 5, seed=7, low=-1.0, high=1.0, dtype=np.float64)
    assert u.dtype == np.float64 and np.asarray(u).min() >= -1.0 and np.asarray(u).max() < 1.0
    assert not np.array_equal(np.asarray(a), np.asarray(Tensor4.random_normal(2, 3, 4, 5,
                                                                              seed=8)))


def test_from_numpy_copies_and_keeps_float64() -> None:
    a = np.arange(24, dtype=np.float64).reshape(1, 2, 3, 4)
    t = Tensor4.from_numpy(a)
    a[0, 0, 0, 0] = 99.0
    assert t.dtype == np.float64 and np.asarray(t)[0, 0, 0, 0] == 0.0
    out = t.to_numpy()
    out[0, 0, 0, 0] = 5.0  # a writable copy
    assert np.asarray(t)[0, 0, 0, 0] == 0.0
    assert np.asarray(t, dtype=np.float32).dtype == np.float32


@pytest.mark.parametrize(("a", "error", "text"), [
    (np.zeros((2, 3, 4)), ShapeError, "4-d"),
    (np.zeros((2, 3, 4, 5), np.int64), DTypeError, "int64"),
    (np.full((1, 1, 1, 2), np.nan), ValueError, "non-finite"),
])
def test_from_numpy_refuses(a: Array, error: type[Exception], text: str) -> None:
    with pytest.raises(error, match=text):
        Tensor4.from_numpy(a)


def test_repr_is_massiv_like() -> None:
    t = Tensor4.zeros(2, 3, 4, 5)
    assert repr(t).splitlines()[0] == "Tensor4 U Par (Sz (2 :> 3 :> 4 :. 5)) float32"
    d = t + 1.0
    assert isinstance(d, DTensor4)
    assert repr(d).splitlines() == ["Tensor4 D Par (Sz (2 :> 3 :> 4 :. 5)) float32",
                                    "  = add(array(2, 3, 4, 5), 1.0)"]
    assert repr(ta.Matrix.zeros(3, 4)).splitlines()[0] == "Matrix U Par (Sz (3 :. 4)) float32"


def test_delay_compute_and_multi_output() -> None:
    t = Tensor4.random_normal(2, 3, 2, 2, seed=1)
    assert isinstance(t.delay(), DTensor4) and t.compute() is t
    doubled, total = ta.compute(t * 2.0, ta.sum_channels(t))
    assert isinstance(doubled, Tensor4) and isinstance(total, Vector)
    np.testing.assert_allclose(np.asarray(doubled), 2 * np.asarray(t))
    np.testing.assert_allclose(np.asarray(total), np.asarray(t).sum(axis=(0, 2, 3)), rtol=1e-6)


def test_samples_are_selected_by_slice_or_index_array() -> None:
    t = Tensor4.from_numpy(np.arange(40, dtype=np.float32).reshape(5, 2, 2, 2))
    np.testing.assert_array_equal(np.asarray(t[1:3]), np.asarray(t)[1:3])
    np.testing.assert_array_equal(np.asarray(t[np.array([4, 0])]), np.asarray(t)[[4, 0]])
    with pytest.raises(TypeError, match="slice"):
        t[0]  # type: ignore[index]
    with pytest.raises(IndexError):
        t[np.array([5])]


# Elementwise ------------------------------------------------------------------------------


# (typedarr's operation, numpy's)
OPS: list[tuple[Callable[[Any, Any], Any], Callable[[Any, Any], Any]]] = [
    (operator.add, operator.add), (operator.sub, operator.sub), (operator.mul, operator.mul),
    (operator.truediv, operator.truediv), (ta.maximum, np.maximum), (operator.lt, operator.lt)]


@settings(max_examples=30, deadline=None)
@given(SHAPES, st.sampled_from(OPS), st.sampled_from([np.float32, np.float64]),
       st.integers(0, 2**16))
def test_elementwise_is_numpy(shape: tuple[int, ...],
                              ops: tuple[Callable[[Any, Any], Any], Callable[[Any, Any], Any]],
                              dtype: Any, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a, b = (rng.standard_normal(shape).astype(dtype) for _ in range(2))
    op, numpy_op = ops
    got = ta.compute(op(ta.exp(_t4(a)), _t4(b)) * 0.5)
    want = (np.asarray(numpy_op(np.exp(a), b)) * dtype(0.5)).astype(dtype)
    assert got.dtype == dtype
    tol = 1e-6 if dtype == np.float32 else 1e-14  # exp may differ from numpy's by an ulp
    np.testing.assert_allclose(np.asarray(got), want, rtol=tol, atol=tol)


# Refusals ---------------------------------------------------------------------------------


X = Tensor4.zeros(2, 3, 4, 5)
REFUSALS: list[tuple[str, Callable[[], object], type[Exception], list[str]]] = [
    ("Tensor4 + Vector of channels", lambda: X + Vector.zeros(3),  # type: ignore[operator]
     ShapeError, ["Tensor4 (2, 3, 4, 5)", "Vector (3,)", "channels_like(v, x)"]),
    ("Vector + Tensor4", lambda: Vector.zeros(3) * X,  # type: ignore[operator]
     ShapeError, ["Tensor4 (2, 3, 4, 5)", "Vector (3,)", "channels_like(v, x)"]),
    ("Tensor4 + Vector of another size", lambda: X - Vector.zeros(4),  # type: ignore[operator]
     ShapeError, ["Tensor4 (2, 3, 4, 5)", "Vector (4,)", "3 channels"]),
    ("Tensor4 + Matrix", lambda: X * ta.Matrix.zeros(2, 60),  # type: ignore[operator]
     ShapeError, ["Tensor4 (2, 3, 4, 5)", "Matrix (2, 60)", "flatten(x)"]),
    ("Tensor4 + Tensor4 of another shape", lambda: X + Tensor4.zeros(2, 3, 5, 4),
     ShapeError, ["Tensor4 (2, 3, 4, 5)", "Tensor4 (2, 3, 5, 4)"]),
    ("Tensor4 + size-1 Tensor4", lambda: X + Tensor4.zeros(1, 3, 1, 1),
     ShapeError, ["Tensor4 (2, 3, 4, 5)", "Tensor4 (1, 3, 1, 1)", "channels_like"]),
    ("Tensor4 + float64 Tensor4", lambda: X + Tensor4.zeros(2, 3, 4, 5, dtype=np.float64),
     DTypeError, ["Tensor4 (2, 3, 4, 5)", "float32", "float64"]),
    ("Tensor4 + ndarray", lambda: X + np.zeros((2, 3, 4, 5), np.float32),
     ShapeError, ["Tensor4 (2, 3, 4, 5)", "(2, 3, 4, 5)", "Tensor4.from_numpy"]),
    ("ndarray + Tensor4", lambda: np.zeros((2, 3, 4, 5), np.float32) + X,
     ShapeError, ["Tensor4 (2, 3, 4, 5)", "Tensor4.from_numpy"]),
    ("maximum of Tensor4 and Vector", lambda: ta.maximum(X, Vector.zeros(3)),  # type: ignore[misc]
     ShapeError, ["Tensor4 (2, 3, 4, 5)", "Vector (3,)"]),
    ("channels_like wrong size", lambda: ta.channels_like(Vector.zeros(4), X),
     ShapeError, ["Vector (4,)", "Tensor4 (2, 3, 4, 5)"]),
    ("channels_like of a Matrix", lambda: ta.channels_like(Vector.zeros(3), ta.Matrix.zeros(2, 3)),  # type: ignore[arg-type]
     ShapeError, ["Vector", "Matrix"]),
    ("sum_channels of a Matrix", lambda: ta.sum_channels(ta.Matrix.zeros(2, 3)),  # type: ignore[arg-type]
     ShapeError, ["Matrix"]),
    ("mean of an empty Tensor4", lambda: ta.mean(Tensor4.zeros(0, 3, 4, 5)),
     ShapeError, ["(0, 3, 4, 5)"]),
    ("var of an empty Tensor4", lambda: ta.var(Tensor4.zeros(2, 3, 0, 5)),
     ShapeError, ["(2, 3, 0, 5)"]),
    ("unflatten wrong columns", lambda: ta.unflatten(ta.Matrix.zeros(2, 59), 3, 4, 5),
     ShapeError, ["Matrix (2, 59)", "(2, 3, 4, 5)"]),
    ("flatten of a Matrix", lambda: ta.flatten(ta.Matrix.zeros(2, 3)),  # type: ignore[arg-type]
     ShapeError, ["Matrix"]),
]


@pytest.mark.parametrize(("call", "error", "names"), [r[1:] for r in REFUSALS],
                         ids=[r[0] for r in REFUSALS])
def test_refusals_name_both_shapes(call: Callable[[], object], error: type[Exception],
                                   names: list[str]) -> None:
    with pytest.raises(error) as caught:
        call()
    for name in names:
        assert name in str(caught.value), f"{name!r} not in {caught.value}"


# Per channel --------------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(SHAPES, st.sampled_from([np.float32, np.float64]), st.integers(0, 2**16))
def test_per_channel_helpers_are_numpy(shape: tuple[int, ...], dtype: Any, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = (rng.standard_normal(shape) * 3 + 2).astype(dtype)
    v = rng.standard_normal(shape[1]).astype(dtype)
    x = _t4(a)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    broadcast = ta.channels_like(Vector.from_numpy(v), x)
    assert isinstance(broadcast, DTensor4) and broadcast.shape == shape
    np.testing.assert_array_equal(np.asarray(broadcast),
                                  np.broadcast_to(v.reshape(1, -1, 1, 1), shape))
    total, mu, var = ta.compute(ta.sum_channels(x), ta.mean(x), ta.var(x))
    np.testing.assert_allclose(np.asarray(total), a.sum(axis=(0, 2, 3)), rtol=tol, atol=tol * 10)
    np.testing.assert_allclose(np.asarray(mu), a.mean(axis=(0, 2, 3)), rtol=tol, atol=tol)
    np.testing.assert_allclose(np.asarray(var), a.var(axis=(0, 2, 3)), rtol=tol * 10,
                               atol=tol)
    assert total.dtype == mu.dtype == var.dtype == dtype


def test_the_engines_agree_on_a_batchnorm_expression(monkeypatch: pytest.MonkeyPatch) -> None:
    x = Tensor4.random_normal(4, 3, 5, 6, seed=4, dtype=np.float64)
    gamma, beta = Vector.from_list([1.0, 2.0, 0.5], dtype=np.float64), Vector.zeros(
        3, dtype=np.float64)
    mu, var = ta.mean(x), ta.var(x)
    c = ta.channels_like
    y = c(gamma, x) * (x - c(mu, x)) / ta.sqrt(c(var, x) + 1e-5) + c(beta, x)
    fused = np.asarray(ta.compute(y))
    np.testing.assert_allclose(fused, _reference.evaluate(y._node), rtol=1e-12)
    monkeypatch.setattr(_compute, "_REGISTRY", (_compute.REFERENCE,))
    np.testing.assert_allclose(np.asarray(ta.compute(y)), fused, rtol=1e-12)


def test_seed_003_sanity_inputs_normalise_to_mean_0_variance_1() -> None:
    """Seed 003's `pure_batch_norm` checks: a 3x2 matrix per column, the 2x2x2x2 array per
    channel, with gamma 1 and beta 0, its own eps 1e-5."""
    eps = 1e-5
    b = _t4(SEED_003_B)
    b_hat = ta.compute((b - ta.channels_like(ta.mean(b), b))
                       / ta.sqrt(ta.channels_like(ta.var(b), b) + eps))
    assert b_hat.shape == (2, 2, 2, 2)
    np.testing.assert_allclose(np.asarray(ta.mean(b_hat).compute()), 0.0, atol=1e-6)
    np.testing.assert_allclose(np.asarray(ta.var(b_hat).compute()), 1.0, rtol=1e-4)
    mean = SEED_003_B.mean(axis=(0, 2, 3), keepdims=True)
    want = (SEED_003_B - mean) / np.sqrt(SEED_003_B.var(axis=(0, 2, 3), keepdims=True) + eps)
    np.testing.assert_allclose(np.asarray(b_hat), want, rtol=1e-5)
    a = ta.Matrix.from_numpy(SEED_003_A)
    a_hat = ta.compute((a - ta.rows_like(ta.mean(a), a))
                       / ta.sqrt(ta.rows_like(ta.var(a), a) + eps))
    np.testing.assert_allclose(np.asarray(ta.mean(a_hat).compute()), 0.0, atol=1e-6)
    np.testing.assert_allclose(np.asarray(ta.var(a_hat).compute()), 1.0, rtol=1e-4)


# Flatten --------------------------------------------------------------------------------------


@settings(max_examples=20, deadline=None)
@given(SHAPES)
def test_flatten_is_a_row_major_view_and_unflatten_its_inverse(shape: tuple[int, ...]
                                                               ) -> None:
    a = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    x = _t4(a)
    m = ta.flatten(x)
    assert isinstance(m, ta.Matrix) and m.shape == (shape[0], int(np.prod(shape[1:])))
    np.testing.assert_array_equal(np.asarray(m), a.reshape(shape[0], -1))
    assert np.shares_memory(np.asarray(m), np.asarray(x))  # a view, no copy
    back = ta.unflatten(m, *shape[1:])
    assert isinstance(back, Tensor4)
    np.testing.assert_array_equal(np.asarray(back), a)
    assert np.shares_memory(np.asarray(back), np.asarray(x))


def test_flatten_of_a_delayed_tensor_computes_it_first() -> None:
    x = Tensor4.random_normal(2, 3, 2, 2, seed=2)
    m = ta.flatten(ta.relu(x))
    np.testing.assert_array_equal(np.asarray(m), np.maximum(np.asarray(x), 0).reshape(2, -1))
    t = ta.unflatten(ta.Matrix.ones(2, 12) * 3.0, 3, 2, 2)
    assert np.all(np.asarray(t) == 3.0)
    assert not np.asarray(t).flags.writeable
    transposed = ta.unflatten(ta.Matrix.from_numpy(np.arange(24.0).reshape(12, 2)).T, 3, 2, 2)
    np.testing.assert_array_equal(np.asarray(transposed),
                                  np.arange(24.0).reshape(12, 2).T.reshape(2, 3, 2, 2))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_flatten_in_a_traced_function_is_a_reshape_node_and_equals_eager(
        dtype: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Inside `typedarr.jit` there is no memory to view: flatten and unflatten are RESHAPE
    nodes of the compiled program (not a convolution), and give the eager values."""
    traced: list[tuple[Node, ...]] = []
    compile_program = _compute.compile_program

    def spy(roots: tuple[Node, ...], inputs: tuple[Node, ...], strategy: Any) -> Any:
        traced.append(roots)
        return compile_program(roots, inputs, strategy)

    monkeypatch.setattr(_compute, "compile_program", spy)

    def f(x: Tensor4[Any, Any, Any, Any], m: ta.Matrix[Any, Any]) -> tuple[Any, ...]:
        flat = ta.flatten(ta.compute(ta.relu(x) * 2.0))
        back = ta.unflatten(ta.compute(m * flat), *x.shape[1:])
        return ta.compute(flat + 1.0), ta.compute(ta.sum_channels(back)), ta.flatten(x), back

    rng = np.random.default_rng(5)
    compiled = ta.jit(f)
    for _ in range(2):
        x = _t4(rng.standard_normal((3, 2, 4, 5)).astype(dtype))
        m = ta.Matrix.from_numpy(rng.standard_normal((40, 3)).astype(dtype)).T  # strided
        for got, want in zip(compiled(x, m), f(x, m), strict=True):
            assert type(got) is type(want) and got.dtype == want.dtype
            np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-6)
    assert compiled.traces == 1
    ops = [n.op for n in postorder(traced[0])]
    assert ops.count(Structural.RESHAPE) == 3
    assert Structural.CONV2D not in ops and Structural.CONV2D_GRAD_INPUT not in ops
