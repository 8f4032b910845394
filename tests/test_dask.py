"""typedarr expressions over chunked arrays, computed on Dask's threads, against the in-memory
engine.

Every operation class (elementwise maps and zips, the explicit broadcasts, sums, maxima,
mean and variance, products, transposes) is computed once with the Matrix chunked (random
chunkings: one chunk, one-row chunks, uneven last chunks) and once in memory. Tolerance as
in test_fusion: sums add in another order across blocks, so rtol 1e-4 (float32) / 1e-9
(float64) with the same absolute slack relative to the result's largest magnitude.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dask
import dask.array as da
import numpy as np
import pytest
import zarr
from hypothesis import given, settings
from hypothesis import strategies as st

import typedarr as ta
from typedarr import _compute, _fused, _reference
from typedarr._dask import _block, _regions

Array = np.ndarray[Any, np.dtype[Any]]
Op = Callable[[Any, Any, Any], Any]  # (x, u over columns, w over rows) -> a result
RTOL = {"f": 1e-4, "d": 1e-9}


@pytest.fixture(autouse=True, scope="module")
def _kernel_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Kernels compiled by these tests go to a temporary directory, never the user's."""
    path = tmp_path_factory.mktemp("kernels")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TYPEDARR_CACHE_DIR", str(path))
        yield path


OPS: dict[str, Op] = {
    # elementwise
    "affine": lambda x, u, w: 2.0 * x - 1.0,
    "maps": lambda x, u, w: ta.tanh(x) + ta.sigmoid(x) * abs(x) + ta.relu(-x),
    "exp_log_sqrt": lambda x, u, w: ta.log(ta.exp(x) + 1.0) + ta.sqrt(x * x),
    "where_compare": lambda x, u, w: ta.where(x > 0.25, x, 0.5 * x) + (x <= 0.0),
    "max_min_pow": lambda x, u, w: ta.maximum(x, 0.1) - ta.minimum(x, -0.1) + x ** 2,
    "astype": lambda x, u, w: x.astype(np.float64) * 3.0,
    "shared": lambda x, u, w: (lambda y: y * y + y)(ta.exp(-x)),
    # broadcasts (in-memory or chunked Vectors over a chunked Matrix)
    "rows_like": lambda x, u, w: x - ta.rows_like(u, x),
    "cols_like": lambda x, u, w: x * ta.cols_like(w, x),
    "br": lambda x, u, w: ta.br(3, u) * 2.0,
    "normalise": lambda x, u, w: (x - ta.rows_like(ta.mean(x), x))
    / ta.rows_like(ta.sqrt(ta.var(x) + 1e-3), x),
    # reductions
    "sum_rows": lambda x, u, w: ta.sum_rows(x),
    "sum_cols": lambda x, u, w: ta.sum_cols(x * x),
    "sum_of_broadcast": lambda x, u, w: ta.sum_cols(ta.rows_like(u, x) * x),
    "mean": lambda x, u, w: ta.mean(x),
    "var": lambda x, u, w: ta.var(x),
    "max_rows": lambda x, u, w: ta.max_rows(x),
    "max_cols": lambda x, u, w: ta.max_cols(2.0 * x),
    "vector_ops": lambda x, u, w: ta.exp(u) * u + ta.sum_rows(x),
    # products
    "gram": lambda x, u, w: x.T @ x,
    "outer_gram": lambda x, u, w: x @ x.T,
    "matrix_vector": lambda x, u, w: x @ u,
    "vector_matrix": lambda x, u, w: w @ x,
    "in_memory_weights": lambda x, u, w: x @ ta.Matrix.from_numpy(np.ones((x.cols, 3),
                                                                          x.dtype)),
    "dot": lambda x, u, w: u @ u,
    "product_then_elementwise": lambda x, u, w: ta.relu((x.T @ x) - 1.0),
    # transposes
    "transpose": lambda x, u, w: x.T,
    "transpose_twice": lambda x, u, w: (x.T * 2.0).T + x,
    "transposed_reduction": lambda x, u, w: ta.sum_rows(x.T) + ta.sum_cols(x),
}


@st.composite
def chunking(draw: st.DrawFn, n: int) -> tuple[int, ...]:
    """Chunk sizes along an axis of length `n`: one chunk, one per row, equal chunks with
    an uneven last one, or random sizes."""
    kind = draw(st.sampled_from(["single", "ones", "equal", "random"]))
    if kind == "single":
        return (n,)
    if kind == "ones":
        return (1,) * n
    if kind == "equal":
        size = draw(st.integers(1, n))
        return (size,) * (n // size) + ((n % size,) if n % size else ())
    sizes: list[int] = []
    while sum(sizes) < n:
        sizes.append(draw(st.integers(1, n - sum(sizes))))
    return tuple(sizes)


@st.composite
def chunked_case(draw: st.DrawFn) -> tuple[Array, tuple[tuple[int, ...], ...], bool, int]:
    rows, cols = draw(st.integers(1, 12)), draw(st.integers(1, 6))
    x = np.random.default_rng(draw(st.integers(0, 2**16))).standard_normal((rows, cols))
    return (x.astype(np.float32), (draw(chunking(rows)), draw(chunking(cols))),
            draw(st.booleans()), draw(st.integers(1, max(cols, 1))))


def values(result: Any) -> Array:
    if isinstance(result, float):
        return np.asarray(result)
    return np.asarray(ta.compute(result).to_numpy())


def assert_close(got: Array, want: Array, precision: np.dtype[Any] | None = None) -> None:
    """`precision`: the operands' dtype, where it differs from the result's (a dot product
    of float32 Vectors is a Python float, summed in float32)."""
    assert got.shape == want.shape and got.dtype == want.dtype
    rtol = RTOL[(precision or want.dtype).char]
    scale = float(np.max(np.abs(want), initial=1.0))
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * scale)


def run_both(op: Op, x: Array, chunks: tuple[tuple[int, ...], ...], chunked_vectors: bool,
             vector_chunk: int) -> tuple[Array, Array]:
    rows, cols = x.shape
    u = np.linspace(-1.0, 1.0, cols).astype(x.dtype)
    w = np.linspace(0.5, 2.0, rows).astype(x.dtype)
    eager = op(ta.Matrix.from_numpy(x), ta.Vector.from_numpy(u), ta.Vector.from_numpy(w))
    xc = ta.Matrix.from_dask(da.from_array(x, chunks=chunks))
    if chunked_vectors:
        uc: Any = ta.Vector.from_dask(da.from_array(u, chunks=vector_chunk))
        wc: Any = ta.Vector.from_dask(da.from_array(w, chunks=chunks[0]))
    else:
        uc, wc = ta.Vector.from_numpy(u), ta.Vector.from_numpy(w)
    return values(op(xc, uc, wc)), values(eager)


# One-row chunks are deliberately wasteful: dask warns that `x @ x.T` over them makes many
# blocks, which is its advice to a user, not an error of the result.
@pytest.mark.filterwarnings("ignore::dask.array.core.PerformanceWarning")
@pytest.mark.parametrize("name", OPS)
@settings(max_examples=8, deadline=None)
@given(case=chunked_case())
def test_operation_equals_in_memory(name: str, case: tuple[Any, Any, bool, int]) -> None:
    x, chunks, chunked_vectors, vector_chunk = case
    got, want = run_both(OPS[name], x, chunks, chunked_vectors, vector_chunk)
    assert_close(got, want, x.dtype)


def test_float32_dot_over_chunks() -> None:
    """A case hypothesis found: the float32 dot product summed over chunks of 2 differs
    from the in-memory sum in the last float32 bit, which float64's tolerance refused."""
    x = np.zeros((1, 6), np.float32)
    got, want = run_both(OPS["dot"], x, ((1,), (6,)), True, 2)
    assert_close(got, want, x.dtype)
    assert abs(float(got) - 2.8) < 1e-6


@pytest.mark.parametrize("name", ["normalise", "var", "gram", "vector_matrix"])
def test_float64_equals_in_memory(name: str) -> None:
    x = np.random.default_rng(1).standard_normal((37, 5))
    got, want = run_both(OPS[name], x, ((10, 10, 10, 7), (2, 3)), True, 2)
    assert_close(got, want)


def test_several_results_share_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """An expression and its per-column sums: one task per block runs both (one kernel
    call per block), and the results equal the in-memory ones."""
    calls: list[int] = []
    run = _block.run_block

    def counted(*args: Any) -> Any:
        calls.append(1)
        return run(*args)

    monkeypatch.setattr(_regions, "run_block", counted)
    x = np.random.default_rng(2).standard_normal((40, 6)).astype(np.float32)
    xc = ta.Matrix.from_dask(da.from_array(x, chunks=(8, 6)))  # 5 blocks
    y = ta.exp(xc * 0.5) - 1.0
    values_, sums = ta.compute(y, ta.sum_rows(y))
    assert len(calls) == 5
    assert_close(values_.to_numpy(), np.exp(x * np.float32(0.5)) - np.float32(1.0))
    assert_close(sums.to_numpy(), (np.exp(x * np.float32(0.5)) - np.float32(1.0)).sum(0))


def test_tasks_per_block_do_not_grow_with_operations() -> None:
    """A chain of many operations is one task per block, not one per operation."""
    xc = ta.Matrix.from_dask(da.ones((60, 4), chunks=(10, 4), dtype=np.float32))
    short, long_ = xc * 2.0, xc
    for _ in range(30):
        long_ = ta.tanh(long_ * 1.01 + 0.1)

    def tasks(x: Any) -> int:
        (optimised,) = dask.optimize(x.to_dask())
        return len(dict(optimised.__dask_graph__()))

    assert tasks(long_) == tasks(short) <= 2 * 6


def test_two_passes_read_the_blocks_twice_rather_than_hold_them() -> None:
    """The variance reads x in two passes: each pass reads every block itself, so no
    block waits in memory for the second pass (data larger than memory stays streamed)."""
    reads: list[int] = []

    def read(block: Array) -> Array:
        reads.append(len(block))
        return block

    x = np.random.default_rng(10).standard_normal((50, 3)).astype(np.float32)
    xc = ta.Matrix.from_dask(da.from_array(x, chunks=(10, 3)).map_blocks(
        read, meta=np.empty((0, 0), np.float32)))
    assert_close(ta.var(xc).compute().to_numpy(), x.var(0))
    assert sorted(reads) == [10] * 10  # 5 blocks, each read by both passes


def test_block_results_are_not_kept_by_the_result_pool() -> None:
    """A task's results are fresh memory that Dask frees, never the result pool's blocks:
    memory the pool kept in a worker would be memory Dask can neither see nor spill. The
    in-memory engine in the same thread still recycles its results afterwards."""
    from typedarr import _buffers

    rows = _buffers.MIN_BYTES // (4 * 64) + 1  # each block's result above the pool's minimum
    x = np.random.default_rng(11).standard_normal((2 * rows, 64)).astype(np.float32)
    xc = ta.Matrix.from_dask(da.from_array(x, chunks=(rows, 64)))
    kept = _buffers.kept()
    with dask.config.set(scheduler="sync"):
        got = (2.0 * xc + 1.0).to_dask().compute()
    np.testing.assert_allclose(got, 2 * x + 1, rtol=1e-6)
    assert _buffers.kept() == kept
    (2.0 * ta.Matrix.from_numpy(x[:rows]) + 1.0).compute()
    assert _buffers.kept() > kept or kept + rows * 64 * 4 > _buffers.MAX_BYTES


def test_to_dask_is_lazy_and_keeps_the_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_regions, "run_block", lambda *a: pytest.fail("computed"))
    xc = ta.Matrix.from_dask(da.ones((9, 4), chunks=(4, 3), dtype=np.float32))
    lazy = (ta.exp(xc) + ta.rows_like(ta.Vector.ones(4), xc)).to_dask()
    assert isinstance(lazy, da.Array)
    assert lazy.chunks == ((4, 4, 1), (3, 1)) and lazy.dtype == np.float32


def test_to_dask_values() -> None:
    x = np.arange(12, dtype=np.float64).reshape(4, 3)
    xc = ta.Matrix.from_dask(da.from_array(x, chunks=2))
    np.testing.assert_array_equal((xc.T * 2.0).to_dask().compute(), x.T * 2)
    np.testing.assert_array_equal(ta.Matrix.from_numpy(x).to_dask().compute(), x)


def test_tasks_pickle_with_plain_pickle() -> None:
    """What a task carries is data (a recipe, numpy blocks) and module-level functions: no
    compiled kernel, dispatcher or lock travels to a worker."""
    x = np.random.default_rng(3).standard_normal((12, 4)).astype(np.float32)
    xc = ta.Matrix.from_dask(da.from_array(x, chunks=(5, 4)))
    expr = ta.var(xc - ta.rows_like(ta.Vector.ones(4), xc))
    ta.compute(expr)  # kernels now exist in this process: they still must not travel
    graph = dict(expr.to_dask().__dask_graph__())
    blob = pickle.dumps(graph)
    assert b"numba" not in blob and b"Dispatcher" not in blob
    restored = pickle.loads(blob)
    got = dask.get(restored, list(expr.to_dask().__dask_keys__()))
    assert_close(np.concatenate(got), x.var(0))


def test_reference_evaluator_reads_chunked_leaves() -> None:
    x = np.random.default_rng(4).standard_normal((7, 3)).astype(np.float32)
    xc = ta.Matrix.from_dask(da.from_array(x, chunks=3))
    (got,) = _reference.evaluate_many((ta.var(xc)._node,))
    assert_close(got, x.var(0))


def test_the_fused_engine_leaves_chunked_graphs_to_the_reference_definition() -> None:
    """Handed a chunked graph directly (`_compute` never does), the fused engine does not
    compile it: it falls back to the reference evaluator's definition."""

    x = np.random.default_rng(11).standard_normal((6, 2)).astype(np.float32)
    xc = ta.Matrix.from_dask(da.from_array(x, chunks=4))
    fused = _compute.InMemory(_fused.FusedEngine())  # the fused engine, behind the fallback rule
    (got,) = fused.evaluate_many(((xc * 2.0)._node,), ta.Seq)
    np.testing.assert_array_equal(got, x * 2)


def test_repr_shows_the_expression_without_computing() -> None:
    xc = ta.Matrix.from_dask(da.zeros((5, 2), chunks=2, dtype=np.float32))
    assert repr(xc * 2.0).splitlines()[1] == "  = mul(chunked(5, 2), 2.0)"


def test_store_writes_a_zarr_array(tmp_path: Path) -> None:
    x = np.random.default_rng(5).standard_normal((50, 6)).astype(np.float32)
    xc = ta.Matrix.from_dask(da.from_array(x, chunks=(7, 4)))  # irregular after unify
    path = tmp_path / "out.zarr"
    ta.store(xc * 2.0, path)
    np.testing.assert_array_equal(zarr.open_array(path)[:], x * 2)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        ta.store(xc, path)
    ta.store(ta.sum_cols(xc), path, overwrite=True)
    assert_close(np.asarray(zarr.open_array(path)[:]), x.sum(1))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.zarr"]  # nothing left over


def test_store_into_an_array(tmp_path: Path) -> None:
    x = np.random.default_rng(6).standard_normal((20, 3)).astype(np.float32)
    xc = ta.Matrix.from_dask(da.from_array(x, chunks=(3, 2)))
    target = zarr.create_array(store=str(tmp_path / "t.zarr"), shape=(20, 3), chunks=(8, 3),
                               dtype=np.float32)
    ta.store(xc + 1.0, target)
    np.testing.assert_array_equal(target[:], x + 1)
    with pytest.raises(ta.ShapeError, match=r"\(3, 20\).*\(20, 3\)"):
        ta.store(xc.T, target)
    with pytest.raises(TypeError, match="path or to an array"):
        ta.store(xc, 3)


def test_from_zarr(tmp_path: Path) -> None:
    x = np.random.default_rng(7).standard_normal((30, 4)).astype(np.float32)
    z = zarr.create_array(store=str(tmp_path / "x.zarr"), shape=x.shape, chunks=(8, 4),
                          dtype=np.float32)
    z[:] = x
    for source in (tmp_path / "x.zarr", str(tmp_path / "x.zarr"), z):
        assert_close(ta.var(ta.Matrix.from_zarr(source)).compute().to_numpy(), x.var(0))
    v = zarr.create_array(store=str(tmp_path / "v.zarr"), shape=(4,), chunks=(3,),
                          dtype=np.float32)
    v[:] = x[0]
    np.testing.assert_array_equal(ta.Vector.from_zarr(v).compute().to_numpy(), x[0])
    with pytest.raises(FileNotFoundError, match="no zarr array"):
        ta.Matrix.from_zarr(tmp_path / "missing.zarr")
    with pytest.raises(ta.ShapeError, match="2-d"):
        ta.Matrix.from_zarr(v)


def test_from_dask_validates_rank_dtype_and_sizes() -> None:
    with pytest.raises(ta.ShapeError, match=r"2-d array, got shape \(3,\)"):
        ta.Matrix.from_dask(da.zeros(3, dtype=np.float32))
    with pytest.raises(ta.ShapeError, match=r"1-d array, got shape \(3, 1\)"):
        ta.Vector.from_dask(da.zeros((3, 1), dtype=np.float32))
    with pytest.raises(ta.DTypeError, match="float32 or float64, got int64"):
        ta.Matrix.from_dask(da.zeros((3, 2), dtype=np.int64))
    with pytest.raises(TypeError, match=r"Matrix\.from_numpy"):
        ta.Matrix.from_dask(np.zeros((3, 2), np.float32))
    x = da.zeros((6, 2), chunks=2, dtype=np.float32)
    with pytest.raises(ta.ShapeError, match="compute_chunk_sizes"):
        ta.Matrix.from_dask(x[x[:, 0] > 0])


def test_in_memory_matrix_with_chunked_names_both_shapes() -> None:
    xc = ta.Matrix.from_dask(da.zeros((6, 4), chunks=3, dtype=np.float32))
    m = ta.Matrix.zeros(4, 6)
    with pytest.raises(ta.ShapeError, match=r"chunked Matrix \(6, 4\) and in-memory Matrix "
                                            r"\(4, 6\)"):
        (xc + m.delay().T).compute()
    with pytest.raises(ta.ShapeError, match=r"chunked Matrix \(6, 4\) and in-memory Matrix "
                                            r"\(6, 4\)"):
        ta.sum_rows(xc * ta.exp(m.T)).to_dask()


def test_chunked_operands_follow_the_no_broadcast_rules() -> None:
    xc = ta.Matrix.from_dask(da.zeros((6, 4), chunks=3, dtype=np.float32))
    vc = ta.Vector.from_dask(da.zeros(4, chunks=3, dtype=np.float32))
    with pytest.raises(ta.ShapeError, match=r"Matrix \(6, 4\) and Vector \(4,\).*rows_like"):
        xc + vc  # type: ignore[operator]
    with pytest.raises(ta.ShapeError, match=r"\(6, 4\) @ Matrix \(6, 4\).*a @ b.T"):
        xc @ xc
    with pytest.raises(ta.DTypeError):
        xc + xc.astype(np.float64)


def test_in_memory_vectors_and_reductions_join_chunked_matrices() -> None:
    x = np.random.default_rng(8).standard_normal((9, 4)).astype(np.float32)
    xc = ta.Matrix.from_dask(da.from_array(x, chunks=(2, 3)))
    m = ta.Matrix.from_numpy(x)
    got = (xc * ta.rows_like(ta.sum_rows(m), xc)).compute().to_numpy()  # reduced first
    assert_close(got, x * x.sum(0))


def test_sum_all_sums_block_by_block(monkeypatch: pytest.MonkeyPatch) -> None:
    x = np.random.default_rng(9).standard_normal((11, 3)).astype(np.float32)
    xc = ta.Matrix.from_dask(da.from_array(x, chunks=(4, 2)))
    monkeypatch.setattr(ta.DMatrix, "_values", lambda self: pytest.fail("loaded whole"))
    assert ta.sum_all(xc * 2.0) == pytest.approx(2 * float(x.sum()), rel=1e-5, abs=1e-5)
    assert ta.sum_all(ta.sum_rows(xc)) == pytest.approx(float(x.sum()), rel=1e-5, abs=1e-5)


def test_jit_refuses_a_captured_chunked_array() -> None:
    xc = ta.Matrix.from_dask(da.ones((4, 2), chunks=2, dtype=np.float32))

    @ta.jit
    def f(y: ta.Matrix) -> ta.Matrix:
        return ta.compute(y + xc)

    with pytest.raises(ta.TraceError, match="chunked array"):
        f(ta.Matrix.ones(4, 2))
