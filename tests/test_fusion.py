"""The fused engine against the reference evaluator: random graphs, IEEE edges, shapes, fusion
(sharing, hoisting, allocation), Seq against Par, and choosing the engine.

Every comparison with the reference is element by element (`_reference_bounds`): each
element within what an error analysis of that element allows, NaN and infinities exact.
"""

from __future__ import annotations

import sys
import tracemalloc
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from _reference_bounds import assert_matches_reference
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import typedarr as ta
from typedarr import _compute, _fused, _reference
from typedarr._fused import _codegen, _engine
from typedarr._fused._plan import make_plan
from typedarr._ir import (
    COMPARISONS,
    BinaryOp,
    Node,
    UnaryOp,
    binary,
    const,
    expand,
    leaf,
    permute,
    reduce_max,
    reduce_sum,
    render,
    unary,
    where,
)

# Specials, signed zeros, the sigmoid's tails, magnitudes near overflow and underflow.
EDGES = [np.nan, np.inf, -np.inf, 0.0, -0.0, -1.0, 2.0, -12.0, -30.0, 40.0, -90.0, 1e-30,
         -1e-30, 1e30, -3e38, 1e-40]


# Random expression trees -------------------------------------------------------------------

SIZES = st.sampled_from([0, 1, 2, 3, 5, 8])
LONG = st.sampled_from([3000])  # a long reduced axis, drawn now and then
SCALARS = st.sampled_from([0.5, -1.5, 2.0, 3.0, -0.25, 7.0])
SPECIALS = st.sampled_from(EDGES)
# How far the magnitudes of a leaf's elements spread: 10**-k to 10**k around N(0, 2).
SPREADS = st.sampled_from([0, 0, 2, 8, 30])
EXPONENTS = st.sampled_from([2.0, 3.0, -1.0, 0.0, 1.0, 4.0, 0.5, 1.5])
UNARY = [op for op in UnaryOp if op is not UnaryOp.CAST]
BINARY = [op for op in BinaryOp if op is not BinaryOp.POW]


class _Trees:
    """Draws random graphs of a given shape; reuses nodes so graphs share subexpressions."""

    def __init__(self, draw: st.DrawFn, seed: int) -> None:
        self.draw, self.rng = draw, np.random.default_rng(seed)
        self.made: dict[tuple[tuple[int, ...], Any], list[Node]] = {}

    def node(self, shape: tuple[int, ...], dtype: Any, depth: int) -> Node:
        made = self.made.setdefault((shape, np.dtype(dtype)), [])
        if made and self.draw(st.integers(0, 4)) == 0:
            return self.draw(st.sampled_from(made))  # shared: the same node object again
        if depth == 0 or self.draw(st.integers(0, 3)) == 0:
            node: Node = self.leaf(shape, dtype)
        else:
            node = self.inner(shape, dtype, depth - 1)
        made.append(node)
        return node

    def leaf(self, shape: tuple[int, ...], dtype: Any) -> Node:
        spread = self.draw(SPREADS)
        data = self.rng.normal(0.0, 2.0, size=shape) * 10.0 ** self.rng.integers(
            -spread, spread + 1, size=shape)
        if self.draw(st.integers(0, 3)) == 0:  # few distinct values: ties in every comparison
            data = self.rng.integers(-2, 3, size=shape).astype(np.float64)
        elif self.draw(st.integers(0, 4)) == 0:  # all negative: a max that starts at 0 is wrong
            data = -np.abs(data) - 1.0
        if data.size and self.draw(st.integers(0, 2)) == 0:  # a few special values
            for _ in range(self.draw(st.integers(1, 3))):
                data.flat[self.rng.integers(0, data.size)] = self.draw(SPECIALS)
        if len(shape) == 2 and self.draw(st.booleans()):
            data = np.asfortranarray(data)  # like a manifest .T: an F-ordered view
        elif len(shape) == 1 and self.draw(st.booleans()):
            data = np.repeat(data, 2)[::2]  # a strided view
        data = data.astype(dtype, copy=False)
        data.flags.writeable = False
        return leaf(data)

    def operand(self, shape: tuple[int, ...], dtype: Any, depth: int) -> Node:
        if self.draw(st.integers(0, 3)) == 0:
            return const(self.draw(SCALARS), np.dtype(dtype))
        return self.node(shape, dtype, depth)

    def inner(self, shape: tuple[int, ...], dtype: Any, depth: int) -> Node:
        # Elementwise maps twice as often: each is where an engine spells a function wrongly.
        kinds = ["unary", "unary", "binary", "binary", "pow", "where", "cast", "reduce", "tie"]
        kinds += ["expand", "permute"] if len(shape) == 2 else []
        match self.draw(st.sampled_from(kinds)):
            case "unary":
                return unary(self.draw(st.sampled_from(UNARY)), self.node(shape, dtype, depth))
            case "binary":
                return self.binary(shape, dtype, depth)
            case "pow":
                return binary(BinaryOp.POW, self.node(shape, dtype, depth),
                              const(self.draw(EXPONENTS), np.dtype(dtype)))
            case "where":
                cond = self.node(shape, dtype, depth)
                if self.draw(st.booleans()):  # a 0/1 mask, as comparisons make
                    cond = binary(BinaryOp.GT, cond, const(0.0, np.dtype(dtype)))
                return where(cond, self.operand(shape, dtype, depth),
                             self.operand(shape, dtype, depth))
            case "cast":
                other = np.float64 if np.dtype(dtype) == np.float32 else np.float32
                return unary(UnaryOp.CAST, self.node(shape, other, depth), np.dtype(dtype))
            case "reduce":
                return self.reduce(shape, dtype, depth)
            case "tie":  # a comparison of two exact arrays equal in most elements
                x = self.leaf(shape, dtype)
                data = np.array(x.data)
                if data.size:
                    data.flat[self.rng.integers(0, data.size)] += 1.0
                data.flags.writeable = False
                compare = self.draw(st.sampled_from(sorted(COMPARISONS, key=str)))
                return binary(compare, x, leaf(data))
            case "expand":
                axis = self.draw(st.integers(0, 1))
                return expand(self.node(shape[1 - axis:2 - axis], dtype, depth), axis,
                              shape[axis])
            case "permute":
                return permute(self.node(shape[::-1], dtype, depth), (1, 0))
        raise AssertionError("unreachable")

    def binary(self, shape: tuple[int, ...], dtype: Any, depth: int) -> Node:
        op = self.draw(st.sampled_from(BINARY))
        a = self.node(shape, dtype, depth)
        b = self.operand(shape, dtype, depth)
        return binary(op, b, a) if self.draw(st.booleans()) else binary(op, a, b)

    def reduce(self, shape: tuple[int, ...], dtype: Any, depth: int) -> Node:
        # Sums and maxima; the operand may itself hold reductions under broadcasts (nested),
        # and a vector's reduction may run over a long row (float64 accumulation matters).
        # (A max over an empty axis is undefined: the front-end refuses it, so it is a sum.)
        fold = reduce_max if self.draw(st.booleans()) else reduce_sum
        if len(shape) == 2:  # a reduction inside a matrix expression, broadcast back
            axis = self.draw(st.integers(0, 1))
            fold = fold if shape[axis] else reduce_sum
            inner = fold(self.node(shape, dtype, depth), axis)
            return expand(inner, axis, shape[axis])
        axis, other = self.draw(st.integers(0, 1)), self.draw(SIZES | LONG)
        fold = fold if other else reduce_sum
        inner_shape = (other, shape[0]) if axis == 0 else (shape[0], other)
        return fold(self.node(inner_shape, dtype, depth), axis)


@st.composite
def graphs(draw: st.DrawFn) -> Node:
    trees = _Trees(draw, draw(st.integers(0, 2**32 - 1)))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    shape = (draw(SIZES), draw(SIZES)) if draw(st.booleans()) else (draw(SIZES),)
    return trees.inner(shape, dtype, draw(st.integers(0, 3)))


# A graph is many draws (its data comes from a seed, not from hypothesis): allow that.
@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(graphs())
def test_random_graphs_match_the_reference(node: Node) -> None:
    assert_matches_reference(_compute.evaluate(node, ta.Seq), node)  # quietly: no warning


# Fixed cases: semantics at the edges ---------------------------------------------------------


def _leaf(values: Any, dtype: Any = np.float32) -> Node:
    data = np.array(values, dtype=dtype)
    data.flags.writeable = False
    return leaf(data)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ieee_edges_follow_the_reference(dtype: Any) -> None:
    x = _leaf(EDGES, dtype)
    dt = np.dtype(dtype)
    zero, one, half = const(0.0, dt), const(1.0, dt), const(0.5, dt)
    nodes: list[Node] = [
        unary(UnaryOp.RELU, unary(UnaryOp.NEG, x)), unary(UnaryOp.LOG, x),
        unary(UnaryOp.SQRT, x), unary(UnaryOp.SIGMOID, x), binary(BinaryOp.DIV, one, x),
        binary(BinaryOp.MAX, x, zero), binary(BinaryOp.MIN, zero, x),
        binary(BinaryOp.MAX, zero, x), binary(BinaryOp.MIN, x, zero),
        binary(BinaryOp.POW, x, half), binary(BinaryOp.POW, x, const(1.5, dt)),
        binary(BinaryOp.POW, x, zero), binary(BinaryOp.NE, x, x),
        where(x, one, zero), binary(BinaryOp.DIV, one, unary(UnaryOp.RELU, unary(
            UnaryOp.NEG, binary(BinaryOp.MUL, x, zero)))),
        unary(UnaryOp.EXP, x), unary(UnaryOp.TANH, x), unary(UnaryOp.ABS, x),
        binary(BinaryOp.SUB, x, x), binary(BinaryOp.MUL, x, x),
        binary(BinaryOp.MIN, x, unary(UnaryOp.NEG, x)),
    ]
    for node in nodes:  # warnings are errors: both engines must be quiet (IEEE, no warning)
        got = _compute.evaluate(node, ta.Seq)
        assert_matches_reference(got, node)
        # Signs of zeros too, which a comparison of values does not see.
        numbers = ~np.isnan(got)
        np.testing.assert_array_equal(np.signbit(got)[numbers],
                                      np.signbit(_reference.evaluate(node))[numbers],
                                      err_msg=render(node))


@pytest.mark.parametrize("shape", [(0, 3), (3, 0), (0, 0), (1, 1), (1, 5), (5, 1)])
def test_empty_and_unit_shapes(shape: tuple[int, int]) -> None:
    x = ta.Matrix.from_numpy(np.ones(shape, np.float32) * 2, strategy=ta.Seq)
    v = ta.Vector.from_numpy(np.ones(shape[1], np.float32), strategy=ta.Seq)
    for d in (x * 3.0 - ta.rows_like(v, x), ta.sum_rows(x * x), ta.sum_cols(ta.exp(x)),
              ta.rows_like(ta.sum_rows(x), x).T):
        assert_matches_reference(_compute.evaluate(d._node, ta.Seq), d._node)


def test_vector_expressions_have_rank_one_results() -> None:
    v = ta.Vector.random_normal(7, seed=1, dtype=np.float64)
    d = ta.sigmoid(v) * 2.0 - v / 3.0
    got = _compute.evaluate(d._node, ta.Seq)
    assert got.shape == (7,) and got.dtype == np.float64
    assert_matches_reference(got, d._node)


def test_rank_three_falls_back_to_the_reference_quietly() -> None:
    node = unary(UnaryOp.EXP, _leaf(np.arange(24.0).reshape(2, 3, 4) / 10))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = _compute.evaluate(node, ta.Par)
    assert_matches_reference(got, node)


# Fusion: sharing, hoisting, allocation -------------------------------------------------------


def _kernel_source(node: Node) -> str:
    source = _codegen.generate(make_plan((node,)).program)
    return source[source.index("def seq_kernel"):source.index("def par_kernel")]


def test_a_subexpression_used_twice_is_computed_once_per_element() -> None:
    x = ta.Matrix.random_normal(4, 5, seed=2)
    e = ta.exp(x * 0.5)
    d = e * e + e  # one node, referenced three times
    assert _kernel_source(d._node).count("math.exp(") == 1
    assert len(make_plan((d._node,)).leaves) == 1  # x, used through one argument
    assert_matches_reference(_compute.evaluate(d._node, ta.Seq), d._node)


def test_a_computed_vector_under_a_broadcast_is_computed_once_per_vector_element() -> None:
    x = ta.Matrix.random_normal(4, 5, seed=3)
    mu = ta.Vector.random_normal(5, seed=4)
    d = x * ta.rows_like(ta.exp(mu), x)
    source = _kernel_source(d._node)
    hoisted = source.index("math.exp(")
    assert hoisted < source.index("out0[")  # in the vector's own loop, before the matrix's
    assert source.count("math.exp(") == 1
    assert_matches_reference(_compute.evaluate(d._node, ta.Seq), d._node)


def test_batchnorm_reductions_inside_an_elementwise_expression() -> None:
    x = ta.Matrix.random_normal(64, 9, seed=5, dtype=np.float64)
    centred = x - ta.rows_like(ta.mean(x), x)
    d = centred / ta.rows_like(ta.sqrt(ta.var(x) + 1e-5), x)
    assert_matches_reference(_compute.evaluate(d._node, ta.Seq), d._node)


def test_fused_variance_allocates_only_its_result() -> None:
    def variance(rows: int) -> Node:
        x = ta.Matrix.random_normal(rows, 256, seed=6, dtype=np.float64)
        mu = ta.Vector.random_normal(256, seed=7, dtype=np.float64)
        return ta.sum_rows((x - ta.rows_like(mu, x)) ** 2)._node

    _compute.evaluate(variance(3), ta.Seq)  # compile first: compiling allocates plenty
    node = variance(4000)  # x is 8 MB, the result 2 KB
    peak_fused = _peak_allocation(lambda: _compute.evaluate(node, ta.Seq))
    peak_reference = _peak_allocation(lambda: _reference.evaluate(node))
    assert peak_reference > 8_000_000  # the measure sees full-size temporaries...
    assert peak_fused < 64_000  # ...and the fused kernel makes none


def _peak_allocation(run: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# Strategies ------------------------------------------------------------------------------------


def _strategy_cases() -> list[Callable[[ta.Strategy], Node]]:
    def data(s: ta.Strategy) -> tuple[ta.Matrix, ta.Vector]:
        x = ta.Matrix.random_normal(37, 23, seed=8, dtype=np.float64).with_strategy(s)
        return x, ta.Vector.random_normal(23, seed=9, dtype=np.float64).with_strategy(s)

    def affine(s: ta.Strategy) -> Node:
        x, v = data(s)
        return (ta.rows_like(v, x) * (x - ta.rows_like(v * v, x)) + 1.0)._node

    def variance(s: ta.Strategy) -> Node:
        x, v = data(s)
        return ta.sum_rows((x - ta.rows_like(v, x)) ** 2)._node

    def softmax_denominator(s: ta.Strategy) -> Node:
        x, _ = data(s)
        return ta.sum_cols(ta.exp(x - ta.cols_like(ta.sum_cols(x) * 0.1, x)))._node

    return [affine, variance, softmax_denominator]


@pytest.mark.parametrize("case", _strategy_cases())
def test_seq_and_par_agree(case: Callable[[ta.Strategy], Node],
                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_engine, "PAR_THRESHOLD", 0)  # Par even for this small matrix
    seq, par = case(ta.Seq), case(ta.Par)
    kernel = _fused._cache.kernel_for(make_plan((par,)).program)
    got_seq, got_par = _compute.evaluate(seq, ta.Seq), _compute.evaluate(par, ta.Par)
    assert kernel.par.signatures  # the parallel variant really ran
    np.testing.assert_allclose(got_par, got_seq, rtol=1e-12, atol=1e-12)
    assert_matches_reference(got_par, par)


# Choosing the engine ---------------------------------------------------------------------------


def test_without_numba_compute_warns_once_and_uses_the_reference(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "numba", None)  # `import numba` now raises ImportError
    for name in [m for m in sys.modules if m.startswith("typedarr._fused")]:
        monkeypatch.delitem(sys.modules, name)
    fresh = _compute._Deferred(lambda roots: True, _compute._memory_engine)
    monkeypatch.setattr(_compute, "_MEMORY", fresh)
    monkeypatch.setattr(_compute, "_REGISTRY", (fresh,))
    x = ta.Matrix.random_normal(3, 4, seed=11)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = ta.compute(ta.sum_rows(x * 2.0))
        second = ta.compute(ta.exp(x))
    assert [w.category for w in caught] == [ta.FusionUnavailableWarning]
    assert "numba" in str(caught[0].message)
    assert _compute.current_engine() is _compute.REFERENCE
    np.testing.assert_array_equal(np.asarray(first), np.asarray(x).sum(0) * 2)
    np.testing.assert_array_equal(np.asarray(second), np.exp(np.asarray(x)))


def test_the_engine_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _compute.load_engine("reference") is _compute.REFERENCE
    assert isinstance(_compute.load_engine("fused"), _fused.FusedEngine)
    with pytest.raises(ValueError, match="TYPEDARR_ENGINE"):
        _compute.load_engine("numexpr")
