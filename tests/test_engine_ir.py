"""The typed IR and what it gave the engine: graphs of any depth, several outputs from one
kernel, every rank fused, products inside a program. The reference evaluator is the oracle."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import typedarr as ta
from typedarr import _compute, _reference
from typedarr._fused import _codegen
from typedarr._fused._plan import make_plan
from typedarr._ir import (
    BinaryOp,
    Node,
    Structural,
    UnaryOp,
    binary,
    const,
    expand,
    input_,
    leaf,
    matmul,
    permute,
    postorder,
    reduce_sum,
    render,
    reshape,
    substitute,
    unary,
)

Array = np.ndarray[Any, np.dtype[Any]]
DEPTH = 10_000


def _close(got: Array, want: Array, rtol: float) -> None:
    """Element by element, each within its own scale; NaN where the reference has NaN."""
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol, equal_nan=True)


def _source(*roots: Node) -> str:
    source = _codegen.generate(make_plan(roots).program)
    return source[source.index("def seq_kernel"):source.index("def par_kernel")]


# Depth ----------------------------------------------------------------------------------------


def test_a_loop_of_ten_thousand_updates_computes() -> None:
    x0 = ta.Matrix.random_normal(5, 4, seed=1, dtype=np.float64)
    x: ta.MatrixLike[Any, Any] = x0
    for _ in range(DEPTH):
        x = x + 1.0
    want = np.asarray(x0) + DEPTH
    np.testing.assert_allclose(np.asarray(ta.compute(x)), want, rtol=1e-12)
    np.testing.assert_allclose(_reference.evaluate(x._node), want, rtol=1e-12)
    assert len(list(postorder((x._node,)))) == 2 * DEPTH + 1
    assert repr(x).count("...") >= 1  # the description is cut short, not recursed through
    assert str(x.T.compute().shape) == "(4, 5)"


def test_a_deep_graph_with_sharing_and_reductions_computes() -> None:
    x0 = ta.Matrix.random_normal(6, 3, seed=2, dtype=np.float64)
    y: ta.MatrixLike[Any, Any] = x0
    for _ in range(DEPTH // 10):
        y = ta.tanh(y) * 0.5 + y * 0.25  # y is read twice per step
    s = ta.sum_rows(y) + ta.sum_cols(y.T)
    got_y, got_s = ta.compute(y, s)
    _close(np.asarray(got_y), _reference.evaluate(y._node), 1e-12)
    _close(np.asarray(got_s), _reference.evaluate(s._node), 1e-12)


def test_deep_vector_expressions_compute_under_par() -> None:
    v0 = ta.Vector.random_normal(7, seed=3).with_strategy(ta.Par)
    v: ta.VectorLike[Any] = v0
    for _ in range(DEPTH):
        v = ta.maximum(v, v * 0.5)
    _close(np.asarray(ta.compute(v)), _reference.evaluate(v._node), 1e-6)


# Several outputs --------------------------------------------------------------------------


def test_several_results_from_one_compute() -> None:
    x = ta.Matrix.random_normal(30, 7, seed=4)
    mu, var = ta.mean(x), ta.var(x)
    e = ta.exp(x * 0.5)
    got_mu, got_var, got_e, got_x = ta.compute(mu, var, e, x)
    assert isinstance(got_mu, ta.Vector) and isinstance(got_e, ta.Matrix)
    assert got_x is x  # a manifest array is returned as it is
    for got, d in ((got_mu, mu), (got_var, var), (got_e, e)):
        _close(np.asarray(got), _reference.evaluate(d._node), 1e-5)


def test_several_results_share_their_common_work() -> None:
    x = ta.Matrix.random_normal(9, 4, seed=5)
    dy = ta.Matrix.random_normal(9, 4, seed=6)
    xhat = ta.tanh(x) * 2.0
    dgamma, dbeta = ta.sum_rows(dy * xhat), ta.sum_rows(dy)
    source = _source(dgamma._node, dbeta._node, xhat._node)
    assert source.count("math.tanh(") == 1  # computed once into xhat's output, then read
    assert source.count("in prange(nchunks)") == 1  # dgamma and dbeta: one pass over dy
    got_dgamma, got_dbeta, got_xhat = ta.compute(dgamma, dbeta, xhat)
    _close(np.asarray(got_dgamma), _reference.evaluate(dgamma._node), 1e-5)
    _close(np.asarray(got_dbeta), _reference.evaluate(dbeta._node), 1e-5)
    _close(np.asarray(got_xhat), _reference.evaluate(xhat._node), 1e-5)


def test_the_same_array_twice_and_mixed_strategies() -> None:
    x = ta.Matrix.random_normal(3, 3, seed=7).with_strategy(ta.Seq)
    d = ta.relu(x - 0.25)
    a, b, c = ta.compute(d, d, ta.sum_cols(d).with_strategy(ta.Par))
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    _close(np.asarray(c), _reference.evaluate(ta.sum_cols(d)._node), 1e-5)


def test_compute_refuses_what_is_not_an_array() -> None:
    with pytest.raises(TypeError, match="typedarr arrays"):
        ta.compute(ta.Vector.ones(2), np.ones(2))  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="at least one"):
        ta.compute(*[])


# Every rank -------------------------------------------------------------------------------


@st.composite
def _rank_n_graphs(draw: st.DrawFn) -> tuple[Node, Node]:
    """A rank-3 or rank-4 expression with a broadcast, a permutation and a reduction."""
    rank = draw(st.sampled_from([3, 4]))
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=rank, max_size=rank)))
    dtype = np.dtype(draw(st.sampled_from([np.float32, np.float64])))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    data = rng.standard_normal(shape).astype(dtype)
    data.flags.writeable = False
    x = leaf(data)
    axis = draw(st.integers(0, rank - 1))
    reduced = reduce_sum(unary(UnaryOp.TANH, x), axis)
    back = expand(unary(UnaryOp.EXP, reduced), axis, shape[axis])
    perm = tuple(draw(st.permutations(range(rank))))
    y = binary(BinaryOp.MUL, permute(binary(BinaryOp.SUB, x, back), perm),
               permute(binary(BinaryOp.ADD, x, const(0.5, dtype)), perm))
    return y, reduce_sum(y, draw(st.integers(0, rank - 1)))


# Nearly every example is a new structure, so a compile (about a second): few examples, and
# no deadline.
@settings(max_examples=20, deadline=None)
@given(_rank_n_graphs())
def test_rank_three_and_four_graphs_are_fused(graphs: tuple[Node, Node]) -> None:
    y, total = graphs
    make_plan((y, total))  # fusable: raises Unfusable otherwise
    got = _compute.evaluate_many((y, total), ta.Seq)
    rtol = 1e-4 if y.dtype == np.float32 else 1e-10
    for g, node in zip(got, (y, total), strict=True):
        _close(g, _reference.evaluate(node), rtol)


# Reshapes -------------------------------------------------------------------------------------


@st.composite
def _reshapes(draw: st.DrawFn) -> tuple[tuple[Node, ...], Node]:
    """A graph around a reshape: an expression (or a transposed leaf) reshaped to another
    grouping of the same sizes, read elementwise, reduced and reshaped back; and its leaf."""
    sizes = draw(st.lists(st.integers(1, 4), min_size=2, max_size=4))
    cut = draw(st.integers(1, len(sizes) - 1))
    new = (int(np.prod(sizes[:cut])), int(np.prod(sizes[cut:])))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    data = np.random.default_rng(draw(st.integers(0, 99))).standard_normal(sizes).astype(dtype)
    if draw(st.booleans()):  # a leaf that is not C-contiguous (a transposed array)
        data = np.ascontiguousarray(data.T).T
    data.flags.writeable = False
    x = leaf(data)
    source = x if draw(st.booleans()) else unary(UnaryOp.TANH, x)
    flat = reshape(source, new)
    y = binary(BinaryOp.MUL, flat, const(2.0, x.dtype))
    back = reshape(y, tuple(sizes))
    roots = (flat, reduce_sum(y, 1), binary(BinaryOp.ADD, back, x))
    return roots[:draw(st.integers(1, 3))], x


@settings(max_examples=15, deadline=None)
@given(_reshapes())
def test_a_reshape_is_a_view_of_its_stored_operand_in_every_engine(
        graph: tuple[tuple[Node, ...], Node]) -> None:
    roots, x = graph
    want = _reference.evaluate_many(roots)
    np.testing.assert_array_equal(want[0], np.tanh(x.data).reshape(roots[0].shape)
                                  if roots[0].src[0] is not x else x.data.reshape(roots[0].shape))
    rtol = 1e-6 if x.dtype == np.float32 else 1e-12
    for g, w in zip(_compute.evaluate_many(roots, ta.Seq), want, strict=True):
        _close(g, w, rtol)
    slot = input_(0, x.shape, x.dtype)  # the same graph over a traced input
    traced = substitute(roots, {id(x): slot})
    run = _compute.compile_program(traced, (slot,), ta.Par)
    for _ in range(2):
        for g, w in zip(run([x.data]), want, strict=True):
            _close(g, w, rtol)
    assert ".reshape((dims[" in _source(*roots)
    assert render(roots[0]).startswith("reshape(")


def test_a_chunked_reshape_is_dasks_where_blocks_allow_and_a_clear_error_elsewhere() -> None:
    import dask.array as da

    a = np.arange(6 * 60, dtype=np.float32).reshape(6, 60)
    m = ta.Matrix.from_dask(da.from_array(a, chunks=(2, 60)))
    images = reshape(ta.relu(m - 3.0)._node, (6, 3, 4, 5))  # one block per 2 samples
    doubled = binary(BinaryOp.MUL, images, const(2.0, images.dtype))
    rows = reshape(doubled, (6, 60))
    got = _compute.evaluate_many((rows, images), ta.Seq)
    np.testing.assert_array_equal(got[0], np.maximum(a - 3, 0) * 2)
    np.testing.assert_array_equal(got[1], np.maximum(a - 3, 0).reshape(6, 3, 4, 5))
    with pytest.raises(ta.ShapeError, match=r"chunked array of shape \(6, 3, 4, 5\) cannot "
                                            r"be reshaped to \(12, 30\) block by block"):
        _compute.evaluate(reshape(doubled, (12, 30)), ta.Seq)


# Products inside a program ----------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_program_holds_matrix_products(dtype: Any) -> None:
    rng = np.random.default_rng(8)

    def data(*shape: int) -> Node:
        a = rng.standard_normal(shape).astype(dtype)
        a.flags.writeable = False
        return leaf(a)

    x, w, dy, v = data(5, 4), data(4, 3), data(5, 3), data(3)
    h = unary(UnaryOp.RELU, matmul(x, w))  # a product feeding an elementwise map
    dw = matmul(permute(x, (1, 0)), binary(BinaryOp.MUL, dy, h))  # a transposed leaf
    hv = matmul(h, v)  # matrix @ vector
    assert [n.op for n in (h.src[0], dw, hv)] == [Structural.MATMUL] * 3
    got = _compute.evaluate_many((h, dw, hv), ta.Seq)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    for g, node in zip(got, (h, dw, hv), strict=True):
        _close(g, _reference.evaluate(node), rtol)
    assert "np.dot(a0.T" in _source(h, dw, hv)
    assert render(dw).startswith("matmul(permute(array(5, 4), (1, 0)), mul(")


def test_the_reference_engine_computes_several_roots_too(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    monkeypatch.setattr(_compute, "_REGISTRY", (_compute.REFERENCE,))
    x = ta.Matrix.random_normal(4, 2, seed=9)
    a, b = ta.compute(x * 2.0, ta.sum_rows(x))
    np.testing.assert_array_equal(np.asarray(a), np.asarray(x) * 2)
    np.testing.assert_allclose(np.asarray(b), np.asarray(x).sum(0), rtol=1e-6)


# Recycled result buffers ----------------------------------------------------------------------


def test_a_large_result_reuses_the_memory_of_a_freed_one() -> None:
    from typedarr import _buffers

    x = ta.Matrix.random_normal(600, 500, seed=10)  # 1.2 MB results: pooled
    first = ta.compute(x * 2.0 + 1.0)
    address = np.asarray(first).ctypes.data
    view = np.asarray(first)[::2]  # a view keeps the memory in use
    del first
    second = ta.compute(x * 3.0)
    second_address = np.asarray(second).ctypes.data
    assert second_address != address
    np.testing.assert_array_equal(view, np.asarray(x)[::2] * 2.0 + 1.0)
    del view, second
    third = ta.compute(x * 4.0 - 1.0)
    np.testing.assert_allclose(np.asarray(third), np.asarray(x) * 4.0 - 1.0, rtol=1e-6)
    assert np.asarray(third).ctypes.data in {address, second_address}  # a freed block
    assert _buffers.kept() <= _buffers.MAX_BYTES
