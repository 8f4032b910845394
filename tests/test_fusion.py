"""The fused engine against the reference evaluator, and its caches, strategies and fallback.

Tolerance, element by element (`error_bounds`): a fused kernel does the reference's IEEE
arithmetic in the same dtype and order, except that numba's exp/log/tanh/pow may differ from
numpy's by a few ulps and reductions may add in another order (Par's per-thread partials;
sum_cols accumulates in float64). So each element may differ from the reference by what an
error analysis of that element allows: a few ulps of every operation's result, carried to
the output through each operation's derivative, and the reordering bound of each sum. A
small element gets a small bound (no slack borrowed from the largest value of the result),
and NaN and infinities must match exactly.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _compare import assert_elementwise_close
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import typedarr as ta
from typedarr import _compute, _fused, _reference
from typedarr._expr import (
    COMPARISONS,
    Binary,
    BinaryOp,
    Const,
    Expand,
    Leaf,
    Node,
    Permute,
    Reduce,
    Unary,
    UnaryOp,
    Where,
    binary,
    expand,
    permute,
    reduce_sum,
    render,
    unary,
    where,
)
from typedarr._fused import _codegen, _engine
from typedarr._fused._plan import make_plan

Array = np.ndarray[Any, np.dtype[Any]]
# Each operation may be this many ulps of its result away from the reference (numba's and
# numpy's exp/log/tanh/pow round differently; x**3 is two products, not one pow).
ULPS = 8


def assert_matches_reference(got: Array, node: Node) -> None:
    want = _reference.evaluate(node)
    assert got.shape == want.shape and got.dtype == want.dtype
    assert got.flags.c_contiguous and not got.flags.writeable
    value, bound = error_bounds(node)
    np.testing.assert_array_equal(value, want)  # the analysis follows the reference's values
    # First-order bounds: twice them covers the second-order terms.
    assert_elementwise_close(got, want, 2 * bound, context=render(node))


def error_bounds(root: Node) -> tuple[Array, Array]:
    """The reference's value of every element of `root` and how far from it a correct engine
    may be: each operation adds ULPS ulps of its result (and of underflow), and carries its
    operands' bounds through its derivative (first order). A comparison or a `where` whose
    operands lie within their bounds of the decision may go either way: its bound is then
    the distance between the two outcomes. A sum adds its reordering bound, n eps sum|x|.
    Walked with an explicit stack, so graphs of any depth are analysed.
    """
    done: dict[int, tuple[Array, Array]] = {}
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, ready = stack.pop()
        if id(node) in done:
            continue
        children = _children(node)
        if ready:
            done[id(node)] = _bound_of(node, [done[id(c)] for c in children])
        else:
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in done)
    value, bound = done[id(root)]
    return np.broadcast_to(value, root.shape), np.broadcast_to(bound, root.shape)


def _children(node: Node) -> tuple[Node, ...]:
    match node:
        case Leaf() | Const():
            return ()
        case Unary() | Expand() | Reduce() | Permute():
            return (node.x,)
        case Binary():
            return (node.a, node.b)
        case Where():
            return (node.cond, node.a, node.b)
    raise AssertionError(f"unknown node {node!r}")


def _carried(derivative: Any, bound: Any) -> Array:
    """|derivative| * bound, 0 where the operand is exact, unbounded where that is NaN."""
    out: Array = np.where(np.asarray(bound) == 0, 0.0, np.abs(derivative) * bound)
    return np.where(np.isnan(out), np.inf, out)


def _bound_of(node: Node, operands: list[tuple[Array, Array]]) -> tuple[Array, Array]:
    info = np.finfo(node.dtype)
    vs = [v for v, _ in operands]
    es = [e for _, e in operands]

    def rounded(v: Array) -> Array:
        return ULPS * (float(info.eps) * np.abs(v) + float(info.smallest_subnormal))

    with np.errstate(all="ignore"):
        match node:
            case Leaf():
                return node.data, np.zeros(())
            case Const():
                return np.asarray(node.value, dtype=node.dtype), np.zeros(())
            case Unary(op=UnaryOp.CAST):
                v = vs[0].astype(node.dtype)
                return v, es[0] + rounded(v)
            case Unary(op=op):
                (x,) = vs
                v = _reference.UNARY[op](x).astype(node.dtype, copy=False)
                slope = {UnaryOp.EXP: v, UnaryOp.LOG: 1 / x, UnaryOp.SQRT: 0.5 / v,
                         UnaryOp.TANH: 1 - v * v, UnaryOp.SIGMOID: v * (1 - v)}.get(op, 1.0)
                return v, _carried(slope, es[0]) + rounded(v)
            case Binary(op=op) if op in COMPARISONS:
                (a, b), (ea, eb) = vs, es
                v = _reference.BINARY[op](a, b).astype(node.dtype)
                decided = (np.isnan(a) | np.isnan(b) | (ea + eb == 0)
                           | (np.abs(a - b) > 2 * (ea + eb)))
                return v, np.where(decided, 0.0, 1.0)
            case Binary(op=BinaryOp.MAX | BinaryOp.MIN as op):
                v = _reference.BINARY[op](*vs).astype(node.dtype, copy=False)
                return v, np.maximum(*es)  # 1-Lipschitz in each operand
            case Binary(op=op):
                (a, b), (ea, eb) = vs, es
                v = _reference.BINARY[op](a, b).astype(node.dtype, copy=False)
                slopes = {BinaryOp.ADD: (1.0, 1.0), BinaryOp.SUB: (1.0, 1.0),
                          BinaryOp.MUL: (b, a), BinaryOp.DIV: (1 / b, v / b),
                          BinaryOp.POW: (b * a ** (b - 1), v * np.log(a))}[op]
                return v, _carried(slopes[0], ea) + _carried(slopes[1], eb) + rounded(v)
            case Where():
                (c, a, b), (ec, ea, eb) = vs, es
                v = np.where(c != 0, a, b).astype(node.dtype)
                either = (ec > 0) & ~(np.abs(c) > 2 * ec) & ~np.isnan(c)
                both = np.abs(a - b) + np.maximum(ea, eb)
                return v, np.where(either, np.where(np.isnan(both), np.inf, both),
                                   np.where(c != 0, ea, eb))
            case Expand():
                def expanded(a: Array) -> Array:
                    return np.broadcast_to(np.expand_dims(a, node.axis), node.shape)
                return expanded(vs[0]), expanded(np.broadcast_to(es[0], node.x.shape))
            case Reduce():
                (x,), (ex,) = vs, es
                v = x.sum(axis=node.axis, dtype=node.dtype)
                terms = np.abs(x).astype(np.float64).sum(axis=node.axis)
                carried = np.broadcast_to(ex, x.shape).sum(axis=node.axis)
                return v, carried + ULPS * x.shape[node.axis] * float(info.eps) * terms
            case Permute():
                return (np.transpose(vs[0], node.perm),
                        np.transpose(np.broadcast_to(es[0], node.x.shape), node.perm))
    raise AssertionError(f"unknown node {node!r}")


# Specials, signed zeros, the sigmoid's tails, magnitudes near overflow and underflow.
EDGES = [np.nan, np.inf, -np.inf, 0.0, -0.0, -1.0, 2.0, -12.0, -30.0, 40.0, -90.0, 1e-30,
         -1e-30, 1e30, -3e38, 1e-40]


# Random expression trees -------------------------------------------------------------------

SIZES = st.sampled_from([0, 1, 2, 3, 5, 8])
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

    def leaf(self, shape: tuple[int, ...], dtype: Any) -> Leaf:
        spread = self.draw(SPREADS)
        data = self.rng.normal(0.0, 2.0, size=shape) * 10.0 ** self.rng.integers(
            -spread, spread + 1, size=shape)
        if data.size and self.draw(st.integers(0, 2)) == 0:  # a few special values
            for _ in range(self.draw(st.integers(1, 3))):
                data.flat[self.rng.integers(0, data.size)] = self.draw(SPECIALS)
        if len(shape) == 2 and self.draw(st.booleans()):
            data = np.asfortranarray(data)  # like a manifest .T: an F-ordered view
        elif len(shape) == 1 and self.draw(st.booleans()):
            data = np.repeat(data, 2)[::2]  # a strided view
        data = data.astype(dtype, copy=False)
        data.flags.writeable = False
        return Leaf(data)

    def operand(self, shape: tuple[int, ...], dtype: Any, depth: int) -> Node:
        if self.draw(st.integers(0, 3)) == 0:
            return Const(self.draw(SCALARS), np.dtype(dtype))
        return self.node(shape, dtype, depth)

    def inner(self, shape: tuple[int, ...], dtype: Any, depth: int) -> Node:
        # Elementwise maps twice as often: each is where an engine spells a function wrongly.
        kinds = ["unary", "unary", "binary", "binary", "pow", "where", "cast", "reduce"]
        kinds += ["expand", "permute"] if len(shape) == 2 else []
        match self.draw(st.sampled_from(kinds)):
            case "unary":
                return unary(self.draw(st.sampled_from(UNARY)), self.node(shape, dtype, depth))
            case "binary":
                return self.binary(shape, dtype, depth)
            case "pow":
                return binary(BinaryOp.POW, self.node(shape, dtype, depth),
                              Const(self.draw(EXPONENTS), np.dtype(dtype)))
            case "where":
                cond = self.node(shape, dtype, depth)
                if self.draw(st.booleans()):  # a 0/1 mask, as comparisons make
                    cond = binary(BinaryOp.GT, cond, Const(0.0, np.dtype(dtype)))
                return where(cond, self.operand(shape, dtype, depth),
                             self.operand(shape, dtype, depth))
            case "cast":
                other = np.float64 if np.dtype(dtype) == np.float32 else np.float32
                return unary(UnaryOp.CAST, self.node(shape, other, depth), np.dtype(dtype))
            case "reduce":
                return self.reduce(shape, dtype, depth)
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
        if len(shape) == 2:  # a reduction inside a matrix expression, broadcast back
            axis = self.draw(st.integers(0, 1))
            inner = reduce_sum(self.node(shape, dtype, depth), axis)
            return expand(inner, axis, shape[axis])
        axis, other = self.draw(st.integers(0, 1)), self.draw(SIZES)
        inner_shape = (other, shape[0]) if axis == 0 else (shape[0], other)
        return reduce_sum(self.node(inner_shape, dtype, depth), axis)


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
    assert_matches_reference(_fused.evaluate(node, ta.Seq), node)  # quietly: no warning


# Fixed cases: semantics at the edges ---------------------------------------------------------


def _leaf(values: Any, dtype: Any = np.float32) -> Leaf:
    data = np.array(values, dtype=dtype)
    data.flags.writeable = False
    return Leaf(data)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ieee_edges_follow_the_reference(dtype: Any) -> None:
    x = _leaf(EDGES, dtype)
    dt = np.dtype(dtype)
    zero, one, half = Const(0.0, dt), Const(1.0, dt), Const(0.5, dt)
    nodes: list[Node] = [
        unary(UnaryOp.RELU, unary(UnaryOp.NEG, x)), unary(UnaryOp.LOG, x),
        unary(UnaryOp.SQRT, x), unary(UnaryOp.SIGMOID, x), binary(BinaryOp.DIV, one, x),
        binary(BinaryOp.MAX, x, zero), binary(BinaryOp.MIN, zero, x),
        binary(BinaryOp.MAX, zero, x), binary(BinaryOp.MIN, x, zero),
        binary(BinaryOp.POW, x, half), binary(BinaryOp.POW, x, Const(1.5, dt)),
        binary(BinaryOp.POW, x, zero), binary(BinaryOp.NE, x, x),
        where(x, one, zero), binary(BinaryOp.DIV, one, unary(UnaryOp.RELU, unary(
            UnaryOp.NEG, binary(BinaryOp.MUL, x, zero)))),
        unary(UnaryOp.EXP, x), unary(UnaryOp.TANH, x), unary(UnaryOp.ABS, x),
        binary(BinaryOp.SUB, x, x), binary(BinaryOp.MUL, x, x),
        binary(BinaryOp.MIN, x, unary(UnaryOp.NEG, x)),
    ]
    for node in nodes:  # warnings are errors: both engines must be quiet (IEEE, no warning)
        got = _fused.evaluate(node, ta.Seq)
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
    got = _fused.evaluate(d._node, ta.Seq)
    assert got.shape == (7,) and got.dtype == np.float64
    assert_matches_reference(got, d._node)


def test_rank_three_falls_back_to_the_reference_quietly() -> None:
    node = unary(UnaryOp.EXP, _leaf(np.arange(24.0).reshape(2, 3, 4) / 10))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = _fused.evaluate(node, ta.Par)
    assert_matches_reference(got, node)


# Fusion: sharing, hoisting, allocation -------------------------------------------------------


def _kernel_source(node: Node) -> str:
    source = _codegen.generate(make_plan(node).key)
    return source[source.index("def seq_kernel"):source.index("def par_kernel")]


def test_a_subexpression_used_twice_is_computed_once_per_element() -> None:
    x = ta.Matrix.random_normal(4, 5, seed=2)
    e = ta.exp(x * 0.5)
    d = e * e + e  # one node, referenced three times
    assert _kernel_source(d._node).count("math.exp(") == 1
    assert len(make_plan(d._node).leaves) == 1  # x, used through one argument
    assert_matches_reference(_compute.evaluate(d._node, ta.Seq), d._node)


def test_a_computed_vector_under_a_broadcast_is_computed_once_per_vector_element() -> None:
    x = ta.Matrix.random_normal(4, 5, seed=3)
    mu = ta.Vector.random_normal(5, seed=4)
    d = x * ta.rows_like(ta.exp(mu), x)
    source = _kernel_source(d._node)
    hoisted = source.index("math.exp(")
    assert hoisted < source.index("out[")  # in the vector's own loop, before the matrix's
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

    _fused.evaluate(variance(3), ta.Seq)  # compile first: compiling allocates plenty
    node = variance(4000)  # x is 8 MB, the result 2 KB
    peak_fused = _peak_allocation(lambda: _fused.evaluate(node, ta.Seq))
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


# Caches ----------------------------------------------------------------------------------------


# Counts of kernels made in this process depend on what ran before, so the tests of counts run
# their computations in a fresh process, with a fresh kernel directory.


def _fresh_process(source: str, cache: Path, **env: str) -> Any:
    """What `source`, run in a new interpreter with an empty kernel directory `cache`,
    prints as JSON on its last line (`env` adds to, or with "" removes from, the
    environment)."""
    child_env = {**os.environ, "TYPEDARR_CACHE_DIR": str(cache), **env}
    child_env = {k: v for k, v in child_env.items() if v}
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(source)], env=child_env,
                          text=True, capture_output=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


_SIZES_AND_SCALARS = [(3, 4, 2.5), (17, 2, -1.0), (0, 5, 3.0), (6, 1, 0.25)]


def _one_structure(rows: int, cols: int, c: float) -> Node:
    x = ta.Matrix.random_normal(rows, cols, seed=rows, dtype=np.float64)
    return ta.sum_cols(ta.tanh(x) * c - abs(x))._node


def test_one_kernel_serves_every_size_and_scalar(tmp_path: Path) -> None:
    counts = _fresh_process(f"""
        import dataclasses, json
        import numpy as np
        import typedarr as ta
        from typedarr import _fused
        counts = []
        for rows, cols, c in {_SIZES_AND_SCALARS!r}:
            x = ta.Matrix.random_normal(rows, cols, seed=rows, dtype=np.float64)
            _fused.evaluate(ta.sum_cols(ta.tanh(x) * c - abs(x))._node, ta.Seq)
            counts.append(dataclasses.asdict(_fused.stats()))
        print(json.dumps(counts))
    """, tmp_path, TYPEDARR_ENGINE="fused")
    assert counts[0] == {"structures": 1, "compiled": 1, "loaded": 0}
    assert counts == [counts[0]] * len(_SIZES_AND_SCALARS)  # no other kernel, no recompile
    for rows, cols, c in _SIZES_AND_SCALARS:  # and every one of them computes the right values
        node = _one_structure(rows, cols, c)
        assert_matches_reference(_fused.evaluate(node, ta.Seq), node)


_CHILD = textwrap.dedent("""
    import dataclasses, json, sys
    import numpy as np
    import typedarr as ta
    from typedarr import _fused
    x = ta.Matrix.random_normal(50, 40, seed=0, dtype=np.float64)
    mu = ta.Vector.random_normal(40, seed=1, dtype=np.float64)
    d = ta.sum_cols(ta.maximum(x - ta.rows_like(mu, x), 0.125) * 1.75)
    values = np.asarray(d.with_strategy(ta.Seq).compute()).tolist()
    print(json.dumps({"values": values, **dataclasses.asdict(_fused.stats())}))
""")


def _child(cache: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "TYPEDARR_CACHE_DIR": str(cache), "TYPEDARR_ENGINE": "fused"}
    return subprocess.Popen([sys.executable, "-c", _CHILD], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _result(child: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err
    result: dict[str, Any] = json.loads(out)
    return result


def test_a_second_process_loads_the_kernel_from_disk(tmp_path: Path) -> None:
    first = _result(_child(tmp_path))
    second = _result(_child(tmp_path))
    assert first["compiled"] == 1 and first["loaded"] == 0
    assert second["compiled"] == 0 and second["loaded"] == 1
    assert first["values"] == second["values"]
    assert len(list(tmp_path.glob("typedarr_kernel_*.py"))) == 1


def test_two_processes_compiling_the_same_kernel_both_succeed(tmp_path: Path) -> None:
    children = [_child(tmp_path), _child(tmp_path)]
    results = [_result(child) for child in children]
    assert results[0]["values"] == results[1]["values"]
    assert len(list(tmp_path.glob("typedarr_kernel_*.py"))) == 1
    assert not list(tmp_path.glob(".*.tmp"))


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
    kernel = _fused._cache.kernel_for(make_plan(par).key)
    got_seq, got_par = _fused.evaluate(seq, ta.Seq), _fused.evaluate(par, ta.Par)
    assert kernel.par.signatures  # the parallel variant really ran
    np.testing.assert_allclose(got_par, got_seq, rtol=1e-12, atol=1e-12)
    assert_matches_reference(got_par, par)


def test_small_arrays_run_sequentially_under_par(tmp_path: Path) -> None:
    x = ta.Matrix.random_normal(3, 4, seed=10).with_strategy(ta.Par)
    d = ta.sqrt(abs(x)) * 1.5 + x
    assert_matches_reference(_compute.evaluate(d._node, ta.Par), d._node)
    ran = _fresh_process("""
        import json
        import typedarr as ta
        from typedarr import _compute, _fused
        from typedarr._fused._plan import make_plan
        x = ta.Matrix.random_normal(3, 4, seed=10).with_strategy(ta.Par)
        d = ta.sqrt(abs(x)) * 1.5 + x
        _compute.evaluate(d._node, ta.Par)
        kernel = _fused._cache.kernel_for(make_plan(d._node).key)
        print(json.dumps([len(kernel.seq.signatures), len(kernel.par.signatures)]))
    """, tmp_path, TYPEDARR_ENGINE="fused")
    assert ran == [1, 0]  # the sequential variant ran, the parallel one never compiled


# Choosing the engine ---------------------------------------------------------------------------


def test_without_numba_compute_warns_once_and_uses_the_reference(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "numba", None)  # `import numba` now raises ImportError
    for name in [m for m in sys.modules if m.startswith("typedarr._fused")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(_compute, "_engine", [])
    x = ta.Matrix.random_normal(3, 4, seed=11)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = ta.compute(ta.sum_rows(x * 2.0))
        second = ta.compute(ta.exp(x))
    assert [w.category for w in caught] == [ta.FusionUnavailableWarning]
    assert "numba" in str(caught[0].message)
    assert _compute._engine == [None]
    np.testing.assert_array_equal(np.asarray(first), np.asarray(x).sum(0) * 2)
    np.testing.assert_array_equal(np.asarray(second), np.exp(np.asarray(x)))


def test_the_engine_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _compute._load_engine("reference") is None
    assert _compute._load_engine("fused") is _fused.evaluate
    with pytest.raises(ValueError, match="TYPEDARR_ENGINE"):
        _compute._load_engine("numexpr")


def test_compute_uses_the_fused_engine_by_default(tmp_path: Path) -> None:
    made = _fresh_process("""
        import json
        import numpy as np
        import typedarr as ta
        from typedarr import _compute, _fused
        x = ta.Matrix.random_normal(2, 3, seed=12, dtype=np.float64)
        ta.compute(ta.relu(x) * ta.sigmoid(x) - 0.5)
        print(json.dumps([_compute._engine == [_fused.evaluate], _fused.stats().structures]))
    """, tmp_path, TYPEDARR_ENGINE="")  # unset: the default
    assert made == [True, 1]


def test_stats_are_plain_values() -> None:
    stats = _fused.stats()
    assert dataclasses.asdict(stats).keys() == {"structures", "compiled", "loaded"}
