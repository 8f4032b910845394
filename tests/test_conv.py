"""Convolution, pooling and their adjoints: direct loops as the oracle for values, central
finite differences in float64 for the adjoints, the reference evaluator and the fused engine
held to each other, and every forbidden combination refused with both shapes named."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from _finite_differences import numeric_gradient
from hypothesis import given, settings
from hypothesis import strategies as st

import typedarr as ta
from typedarr import DTypeError, ShapeError, Tensor4, _compute, _ir, _reference
from typedarr._fused import _codegen, _convolution
from typedarr._fused._plan import make_plan
from typedarr._ir import Structural, UnaryOp, leaf, unary

Array = np.ndarray[Any, np.dtype[Any]]
# The fused kernels compile once per structure (operation, stride, padding, dtype), not per
# size: the hypothesis tests on the fused engine keep to these few structures.
FUSED_STEPS = [(1, 0), (2, 1)]


def _direct_conv(x: Array, w: Array, stride: int, padding: int) -> Array:
    """The definition, one output element at a time."""
    n, _, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho, wo = (h + 2 * padding - kh) // stride + 1, (wd + 2 * padding - kw) // stride + 1
    out = np.zeros((n, o, ho, wo), x.dtype)
    for b, f, i, j in itertools.product(range(n), range(o), range(ho), range(wo)):
        window = xp[b, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
        out[b, f, i, j] = (window * w[f]).sum()
    return out


def _direct_pool(x: Array, k: int) -> Array:
    n, c, h, w = x.shape
    out = np.zeros((n, c, h // k, w // k), x.dtype)
    for b, f, i, j in itertools.product(range(n), range(c), range(h // k), range(w // k)):
        out[b, f, i, j] = x[b, f, i * k:(i + 1) * k, j * k:(j + 1) * k].mean()
    return out


def _data(rng: np.random.Generator, shape: tuple[int, ...], dtype: Any = np.float64) -> Array:
    return rng.standard_normal(shape).astype(dtype)


def _t4(a: Array) -> Tensor4[Any, Any, Any, Any]:
    return Tensor4.from_numpy(a)


@st.composite
def _convolutions(draw: st.DrawFn, steps: list[tuple[int, int]] | None = None
                  ) -> tuple[Array, Array, int, int]:
    """An input, weights, a stride and a padding that fit together."""
    stride, padding = draw(st.sampled_from(steps)) if steps else (
        draw(st.integers(1, 3)), draw(st.integers(0, 2)))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    h = draw(st.integers(max(1, kh - 2 * padding), 9))
    w = draw(st.integers(max(1, kw - 2 * padding), 9))
    n, c, o = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    return _data(rng, (n, c, h, w)), _data(rng, (o, c, kh, kw)), stride, padding


# Values ---------------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(_convolutions())
def test_the_reference_convolution_is_the_direct_loop(case: tuple[Array, Array, int, int]
                                                      ) -> None:
    x, w, stride, padding = case
    got = _reference.evaluate(_ir.conv2d(leaf(x), leaf(w), stride, padding))
    np.testing.assert_allclose(got, _direct_conv(x, w, stride, padding), rtol=1e-12,
                               atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(_convolutions(FUSED_STEPS), st.sampled_from([np.float32, np.float64]))
def test_conv2d_is_the_direct_loop(case: tuple[Array, Array, int, int], dtype: Any) -> None:
    x, w, stride, padding = case
    got = ta.conv2d(_t4(x.astype(dtype)), _t4(w.astype(dtype)), stride=stride, padding=padding)
    assert isinstance(got, Tensor4) and got.dtype == dtype
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(np.asarray(got), _direct_conv(x, w, stride, padding), rtol=tol,
                               atol=tol)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 9), st.integers(1, 9),
       st.integers(1, 4), st.sampled_from([np.float32, np.float64]), st.integers(0, 2**16))
def test_avg_pool2d_is_the_mean_of_each_window(n: int, c: int, h: int, w: int, k: int,
                                               dtype: Any, seed: int) -> None:
    k = min(k, h, w)
    x = _data(np.random.default_rng(seed), (n, c, h, w))
    got = ta.avg_pool2d(_t4(x.astype(dtype)), k)
    assert got.shape == (n, c, h // k, w // k) and got.dtype == dtype
    tol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(np.asarray(got), _direct_pool(x, k), rtol=tol, atol=tol)
    ref = _reference.evaluate(ta.avg_pool2d(_t4(x), k)._node)
    np.testing.assert_allclose(ref, _direct_pool(x, k), rtol=1e-14, atol=1e-14)


def test_seed_003_shapes() -> None:
    """The two convolutions and poolings of seed 003's network, on a small batch."""
    rng = np.random.default_rng(3)
    x = _t4(_data(rng, (4, 1, 28, 28), np.float32))
    w1, w2 = (_t4(_data(rng, s, np.float32)) for s in [(20, 1, 3, 3), (50, 20, 5, 5)])
    h1 = ta.avg_pool2d(ta.conv2d(x, w1), 2)
    assert h1.shape == (4, 20, 13, 13)
    h2 = ta.avg_pool2d(ta.conv2d(h1, w2), 2)
    assert h2.shape == (4, 50, 4, 4)
    assert ta.flatten(h2).shape == (4, 800)
    want = _direct_pool(_direct_conv(np.asarray(h1), np.asarray(w2), 1, 0), 2)
    np.testing.assert_allclose(np.asarray(h2), want, rtol=1e-4, atol=1e-4)


# Adjoints: central finite differences in float64 -------------------------------------------


@settings(max_examples=12, deadline=None)
@given(_convolutions([*FUSED_STEPS, (3, 2), (2, 0)]))
def test_conv2d_adjoints_are_the_finite_difference_gradients(
        case: tuple[Array, Array, int, int]) -> None:
    x, w, stride, padding = case
    r = _data(np.random.default_rng(0), _direct_conv(x, w, stride, padding).shape)

    def loss(xv: Array, wv: Array) -> float:  # <conv2d(x, w), r>: its gradient in dy is r
        return float((np.asarray(ta.conv2d(_t4(xv), _t4(wv), stride=stride,
                                           padding=padding)) * r).sum())

    dx = ta.conv2d_grad_input(_t4(r), _t4(w), x.shape, stride=stride, padding=padding)
    dw = ta.conv2d_grad_weight(_t4(x), _t4(r), w.shape[2:], stride=stride, padding=padding)
    assert dx.shape == x.shape and dw.shape == w.shape
    np.testing.assert_allclose(np.asarray(dx), numeric_gradient(lambda v: loss(v, w), x),
                               rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(np.asarray(dw), numeric_gradient(lambda v: loss(x, v), w),
                               rtol=1e-6, atol=1e-7)


@settings(max_examples=12, deadline=None)
@given(st.integers(1, 2), st.integers(1, 2), st.integers(2, 7), st.integers(2, 7),
       st.integers(1, 3), st.integers(0, 2**16))
def test_avg_pool2d_grad_is_the_finite_difference_gradient(n: int, c: int, h: int, w: int,
                                                           k: int, seed: int) -> None:
    k = min(k, h, w)
    rng = np.random.default_rng(seed)
    x = _data(rng, (n, c, h, w))
    r = _data(rng, (n, c, h // k, w // k))

    def loss(xv: Array) -> float:
        return float((np.asarray(ta.avg_pool2d(_t4(xv), k)) * r).sum())

    dx = ta.avg_pool2d_grad(_t4(r), k, x.shape)
    np.testing.assert_allclose(np.asarray(dx), numeric_gradient(loss, x), rtol=1e-6,
                               atol=1e-8)


# Engines ------------------------------------------------------------------------------------


@settings(max_examples=20, deadline=None)
@given(_convolutions(FUSED_STEPS), st.sampled_from([np.float32, np.float64]))
def test_the_fused_engine_agrees_with_the_reference(case: tuple[Array, Array, int, int],
                                                    dtype: Any) -> None:
    """Every windowed node in one program under both strategies, with computed sources
    (stored in the same kernel first) and results feeding elementwise work."""
    x_, w_, stride, padding = case
    x, w = leaf(x_.astype(dtype)), leaf(w_.astype(dtype))
    y = _ir.conv2d(x, w, stride, padding)
    r = leaf(np.cos(np.arange(np.prod(y.shape))).reshape(y.shape).astype(dtype))
    k = min(2, *x.shape[2:])
    nodes = (
        y,
        unary(UnaryOp.TANH, _ir.conv2d(unary(UnaryOp.RELU, x), w, stride, padding)),
        _ir.conv2d_grad_input(r, w, x.shape, stride, padding),
        _ir.conv2d_grad_weight(x, unary(UnaryOp.NEG, r), w.shape, stride, padding),
        _ir.avg_pool2d(unary(UnaryOp.EXP, x), k),
        _ir.avg_pool2d_grad(_ir.avg_pool2d(x, k), k, x.shape),
    )
    tol = 1e-4 if dtype == np.float32 else 1e-11
    for strategy in (ta.Seq, ta.Par):
        got = _compute.evaluate_many(nodes, strategy)
        for g, node in zip(got, nodes, strict=True):
            np.testing.assert_allclose(g, _reference.evaluate(node), rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("stride", "padding"), FUSED_STEPS)
def test_large_products_are_cut_into_pieces(dtype: Any, stride: int, padding: int) -> None:
    """Past `_convolution.SMALL` multiply-adds per sample, each product is cut into pieces
    of the columns' rows (the forward product's pieces summed): pieces of one row, ragged
    pieces (72 rows in pieces of 5) and one piece all give the reference's values, under
    both strategies (one run of samples, and one per thread)."""
    rng = np.random.default_rng(6)
    x, w = _data(rng, (9, 8, 16, 16), dtype), _data(rng, (80, 8, 3, 3), dtype)
    y = _ir.conv2d(leaf(x), leaf(w), stride, padding)
    positions = y.shape[2] * y.shape[3]
    per_sample = y.shape[1] * 8 * 9 * positions
    assert per_sample > _convolution.SMALL
    dy = leaf(_data(rng, y.shape, dtype))
    nodes = (y, _ir.conv2d_grad_input(dy, leaf(w), x.shape, stride, padding),
             _ir.conv2d_grad_weight(leaf(x), dy, w.shape, stride, padding))
    tol = 1e-4 if dtype == np.float32 else 1e-11
    for small in (_convolution.SMALL, 80 * positions, 5 * 80 * positions, per_sample):
        for strategy in (ta.Seq, ta.Par):
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(_convolution, "SMALL", small)
                got = _compute.evaluate_many(nodes, strategy)
            for g, node in zip(got, nodes, strict=True):
                np.testing.assert_allclose(g, _reference.evaluate(node), rtol=tol, atol=tol)


def test_a_convolution_is_a_product_inside_its_kernel() -> None:
    x = leaf(np.ones((2, 3, 6, 6), np.float32))
    w = leaf(np.ones((4, 3, 3, 3), np.float32))
    y = unary(UnaryOp.RELU, _ir.conv2d(unary(UnaryOp.EXP, x), w, 1, 1))
    program = make_plan((y,)).program
    assert [i.op for i in program.instrs].count(Structural.CONV2D) == 1
    source = _codegen.generate(program)
    assert "np.dot(" in source and "math.exp(" in source  # the source computed in the kernel
    np.testing.assert_allclose(_compute.evaluate(y, ta.Seq), _reference.evaluate(y), rtol=1e-5)


def test_the_reference_engine_computes_convolutions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_compute, "_REGISTRY", (_compute.REFERENCE,))
    rng = np.random.default_rng(5)
    x, w = _data(rng, (2, 2, 5, 5)), _data(rng, (3, 2, 2, 2))
    got = ta.conv2d(_t4(x), _t4(w), stride=2, padding=1)
    np.testing.assert_allclose(np.asarray(got), _direct_conv(x, w, 2, 1), rtol=1e-12)
    # the adjoint identity <conv2d(x, w), y> = <x, conv2d_grad_input(y, w)>, with y = got
    dx = ta.conv2d_grad_input(got, _t4(w), x.shape, stride=2, padding=1)
    y = np.asarray(got)
    assert (y * y).sum() == pytest.approx((x * np.asarray(dx)).sum(), rel=1e-12)


# Refusals ---------------------------------------------------------------------------------


X = (2, 3, 8, 8)


def _ones(*shape: int, dtype: Any = np.float32) -> Tensor4[Any, Any, Any, Any]:
    return Tensor4.ones(*shape, dtype=dtype)


REFUSALS: list[tuple[str, Callable[[], object], type[Exception], list[str]]] = [
    ("conv2d channels", lambda: ta.conv2d(_ones(*X), _ones(4, 2, 3, 3)), ShapeError,
     ["(2, 3, 8, 8)", "(4, 2, 3, 3)"]),
    ("conv2d kernel too large", lambda: ta.conv2d(_ones(*X), _ones(4, 3, 9, 3)), ShapeError,
     ["9x3", "(2, 3, 8, 8)"]),
    ("conv2d dtypes", lambda: ta.conv2d(_ones(*X), _ones(4, 3, 3, 3, dtype=np.float64)),
     DTypeError, ["(2, 3, 8, 8)", "(4, 3, 3, 3)", "float64"]),
    ("conv2d stride 0", lambda: ta.conv2d(_ones(*X), _ones(4, 3, 3, 3), stride=0), ValueError,
     ["stride"]),
    ("conv2d negative padding", lambda: ta.conv2d(_ones(*X), _ones(4, 3, 3, 3), padding=-1),
     ValueError, ["padding"]),
    ("conv2d of a Matrix", lambda: ta.conv2d(ta.Matrix.ones(2, 3), _ones(4, 3, 3, 3)),  # type: ignore[arg-type]
     ShapeError, ["Matrix", "(2, 3)"]),
    ("conv2d of a numpy array", lambda: ta.conv2d(np.ones(X), _ones(4, 3, 3, 3)),  # type: ignore[arg-type]
     ShapeError, ["ndarray", "(2, 3, 8, 8)"]),
    ("grad_input shape", lambda: ta.conv2d_grad_input(_ones(2, 4, 6, 6), _ones(4, 3, 3, 3),
                                                      (2, 3, 9, 8)), ShapeError,
     ["(2, 4, 6, 6)", "(4, 3, 3, 3)", "(2, 3, 9, 8)"]),
    ("grad_input channels", lambda: ta.conv2d_grad_input(_ones(2, 5, 6, 6), _ones(4, 3, 3, 3),
                                                         X), ShapeError,
     ["(2, 5, 6, 6)", "(4, 3, 3, 3)"]),
    ("grad_input input channels", lambda: ta.conv2d_grad_input(
        _ones(2, 4, 6, 6), _ones(4, 3, 3, 3), (2, 2, 8, 8)), ShapeError,
     ["(2, 4, 6, 6)", "(2, 2, 8, 8)"]),
    ("grad_input bad x_shape", lambda: ta.conv2d_grad_input(_ones(2, 4, 6, 6),
                                                            _ones(4, 3, 3, 3), (2, 3, 8)),
     ShapeError, ["(2, 3, 8)"]),
    ("grad_weight bad kernel", lambda: ta.conv2d_grad_weight(_ones(*X), _ones(2, 4, 6, 6),
                                                             (3, 3, 1)),
     ShapeError, ["(3, 3, 1)"]),
    ("grad_weight samples", lambda: ta.conv2d_grad_weight(_ones(*X), _ones(3, 4, 6, 6),
                                                          (3, 3)), ShapeError,
     ["(2, 3, 8, 8)", "(3, 4, 6, 6)"]),
    ("grad_weight kernel", lambda: ta.conv2d_grad_weight(_ones(*X), _ones(2, 4, 6, 6),
                                                         (2, 2)), ShapeError,
     ["(2, 3, 8, 8)", "(2, 4, 6, 6)", "2x2"]),
    ("grad_weight dtypes", lambda: ta.conv2d_grad_weight(
        _ones(*X), _ones(2, 4, 6, 6, dtype=np.float64), (3, 3)), DTypeError,
     ["(2, 3, 8, 8)", "(2, 4, 6, 6)"]),
    ("avg_pool2d window too large", lambda: ta.avg_pool2d(_ones(2, 3, 8, 3), 4), ShapeError,
     ["4x4", "(2, 3, 8, 3)"]),
    ("avg_pool2d k 0", lambda: ta.avg_pool2d(_ones(*X), 0), ValueError, ["k"]),
    ("avg_pool2d of a Vector", lambda: ta.avg_pool2d(ta.Vector.ones(3), 2),  # type: ignore[arg-type]
     ShapeError, ["Vector", "(3,)"]),
    ("avg_pool2d_grad shape", lambda: ta.avg_pool2d_grad(_ones(2, 3, 4, 4), 2, (2, 3, 10, 8)),
     ShapeError, ["(2, 3, 4, 4)", "(2, 3, 10, 8)", "(2, 3, 5, 4)"]),
]


@pytest.mark.parametrize(("call", "error", "names"), [r[1:] for r in REFUSALS],
                         ids=[r[0] for r in REFUSALS])
def test_refusals_name_both_shapes(call: Callable[[], object], error: type[Exception],
                                   names: list[str]) -> None:
    with pytest.raises(error) as caught:
        call()
    for name in names:
        assert name in str(caught.value), f"{name!r} not in {caught.value}"
