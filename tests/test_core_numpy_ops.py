"""The operations a numpy user reaches for, held to numpy: argmax and argmin per row and
column (ties and NaN as numpy), minima, the scalar and Vector statistics, picking columns,
concat_cols, reshape, clip, and numpy's own functions pointing at typedarr's.

Where an operation is a graph (the argmax family, the minima, reshape) it is also computed
by the reference engine and compiled by `jit`, and all three must agree.
"""

from __future__ import annotations

import doctest
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given
from hypothesis.extra.numpy import arrays

import nn
import typedarr as ta
from typedarr import Indices, Matrix, ShapeError, Vector, _argreduce, _reference
from typedarr._fused import FusedEngine
from typedarr._ir import Node, UnaryOp, unary

Array = np.ndarray[Any, np.dtype[Any]]


@st.composite
def tied_matrices(draw: st.DrawFn, nan: bool = True) -> Array:
    """Small matrices of few distinct values (ties everywhere), sometimes with NaN."""
    shape = (draw(st.integers(1, 7)), draw(st.integers(1, 7)))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    values = [-1.0, 0.0, -0.0, 2.0, np.inf, -np.inf] + ([np.nan] if nan else [])
    return draw(arrays(dtype, shape, elements=st.sampled_from(values)))


ARG: list[tuple[str, Callable[[Any], Indices], Callable[[Array], Array]]] = [
    ("argmax_rows", ta.argmax_rows, lambda a: a.argmax(axis=0)),
    ("argmax_cols", ta.argmax_cols, lambda a: a.argmax(axis=1)),
    ("argmin_rows", ta.argmin_rows, lambda a: a.argmin(axis=0)),
    ("argmin_cols", ta.argmin_cols, lambda a: a.argmin(axis=1)),
]


@pytest.mark.parametrize(("name", "ours", "numpy"), ARG, ids=[a[0] for a in ARG])
@given(a=tied_matrices())
def test_argmax_and_argmin_are_numpys(name: str, ours: Callable[[Any], Indices],
                                      numpy: Callable[[Array], Array], a: Array) -> None:
    m = Matrix.from_numpy(a, nonfinite="allow")
    got = ours(m)
    assert type(got) is Indices and got.shape == (a.shape[1 if "rows" in name else 0],)
    np.testing.assert_array_equal(got.to_numpy(), numpy(a))  # first on ties, NaN first
    np.testing.assert_array_equal(ours(m * 1.0).to_numpy(), numpy(a))  # of a delayed Matrix


def _fused(node: Node) -> Array:
    return FusedEngine().evaluate_many((node,), ta.Seq)[0]


ENGINES: dict[str, Callable[[Node], Array]] = {"reference": _reference.evaluate,
                                               "fused": _fused}


@pytest.mark.parametrize("engine", list(ENGINES))
@pytest.mark.parametrize("axis", [0, 1])
@given(a=tied_matrices())
def test_the_argmax_graph_is_numpys_on_every_engine(engine: str, axis: int, a: Array) -> None:
    # what jit compiles and Dask runs; in memory, numpy searches the computed values
    x = Matrix.from_numpy(a, nonfinite="allow")._node
    evaluate = ENGINES[engine]
    np.testing.assert_array_equal(evaluate(_argreduce.first_largest(x, axis)),
                                  a.argmax(axis=axis))
    negated = unary(UnaryOp.NEG, x)  # what argmin searches
    np.testing.assert_array_equal(evaluate(_argreduce.first_largest(negated, axis)),
                                  a.argmin(axis=axis))


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "jit"])
def test_a_long_axis_is_searched_in_float64(monkeypatch: pytest.MonkeyPatch,
                                            compiled: bool) -> None:
    # float32 holds positions exactly below 2**24; past that (here: past 4) float64 does
    monkeypatch.setattr(_argreduce, "_EXACT_FLOAT32", 4)
    a = np.zeros((2, 9), np.float32)
    a[0, 7], a[1, 8] = 1.0, -1.0

    def both(x: Matrix) -> tuple[Indices, Indices]:
        return ta.argmax_cols(x), ta.argmin_cols(x)

    top, bottom = (ta.jit(both) if compiled else both)(Matrix.from_numpy(a))
    assert top.dtype == np.float64 and bottom.dtype == np.float64
    assert list(top) == [7, 0] and list(bottom) == [0, 8]


@given(a=tied_matrices())
def test_min_rows_and_min_cols_are_numpys(a: Array) -> None:
    m = Matrix.from_numpy(a, nonfinite="allow")
    for got, want in ((ta.min_rows(m), a.min(axis=0)), (ta.min_cols(m), a.min(axis=1)),
                      (ta.min_rows(m + 0.0), a.min(axis=0))):
        assert type(got) is Vector and got.dtype == a.dtype
        np.testing.assert_array_equal(got.to_numpy(), want)


def test_jit_and_eager_agree_on_the_new_graphs() -> None:
    a = np.random.default_rng(0).integers(0, 3, (6, 5)).astype(np.float32)
    a[2, 1] = np.nan

    def step(m: Matrix) -> tuple[Any, ...]:
        d = m * 2.0 - 1.0
        return (ta.argmax_cols(d), ta.argmin_rows(d), ta.argmax_rows(m), ta.argmin_cols(m),
                ta.min_rows(d), ta.min_cols(m), ta.reshape(m, 30), ta.reshape(d, 10, 3),
                ta.argmax_cols(m) == ta.argmin_cols(m))

    m = Matrix.from_numpy(a, nonfinite="allow")
    compiled = ta.jit(step)
    for _ in range(2):  # the trace, then the cached program
        for got, want in zip(compiled(m), step(m), strict=True):
            assert type(got) is type(want)
            np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


def test_indices_and_clip_bounds_are_inputs_of_a_jit_function() -> None:
    m = Matrix.from_list([[1, 5, 2], [3, 0, 4]])
    agree = ta.jit(lambda x, idx: ta.argmax_cols(x) == idx)
    np.testing.assert_array_equal(np.asarray(agree(m, ta.argmin_cols(m))), [0.0, 0.0])
    np.testing.assert_array_equal(np.asarray(agree(m, ta.argmax_cols(m))), [1.0, 1.0])
    clipped = ta.jit(lambda x, low: ta.clip(x, low, 4.0))
    for low in (2.0, 3.0):  # a runtime number: the same program, another bound
        np.testing.assert_array_equal(np.asarray(clipped(m, low)),
                                      np.clip(np.asarray(m), low, 4))


def test_argmax_of_chunked_matrix_runs_on_dask() -> None:
    da = pytest.importorskip("dask.array")
    a = np.random.default_rng(1).integers(0, 4, (10, 3)).astype(np.float32)
    m = Matrix.from_dask(da.from_array(a, chunks=(4, 3)))
    np.testing.assert_array_equal(ta.argmax_cols(m).to_numpy(), a.argmax(axis=1))
    np.testing.assert_array_equal(ta.argmin_rows(m).to_numpy(), a.argmin(axis=0))
    np.testing.assert_array_equal(ta.min_rows(m).to_numpy(), a.min(axis=0))


# -- Indices -----------------------------------------------------------------------------


def test_indices_pick_rows_build_one_hot_and_compare() -> None:
    scores = Matrix.from_list([[0.1, 0.9, 0.0], [0.8, 0.1, 0.1], [0.3, 0.3, 0.4]])
    idx = ta.argmax_cols(scores)
    assert list(idx) == [1, 0, 2] and idx[0] == 1 and isinstance(idx[-1], int) and len(idx) == 3
    assert list(idx[1:]) == [0, 2] and type(idx[np.array([2, 2])]) is Indices
    assert idx.to_numpy().dtype == np.intp and np.asarray(idx).dtype == np.intp
    np.testing.assert_array_equal(np.asarray(scores[idx]), np.asarray(scores)[[1, 0, 2]])
    np.testing.assert_array_equal(np.asarray(nn.one_hot(idx, 3)), np.eye(3)[[1, 0, 2]])
    mask = idx == [1, 1, 2]
    assert type(mask) is ta.DVector
    np.testing.assert_array_equal(mask.compute().to_numpy(), [1.0, 0.0, 1.0])
    assert ta.mean(idx == np.array([1, 1, 2])) == pytest.approx(2 / 3)
    assert ta.mean(np.array([1, 1, 2]) == idx) == pytest.approx(2 / 3)  # numpy on the left
    assert ta.sum_all(idx != ta.argmax_cols(scores)) == 0.0
    np.testing.assert_array_equal(np.bincount(idx), [1, 1, 1])  # numpy functions: the ints
    assert repr(idx) == "Indices U Par (Sz1 3)\n[ 1, 0, 2 ]"


@pytest.mark.parametrize(("other", "error"), [
    ([1, 2], ShapeError), (np.array([1.0, 0.0, 2.0]), TypeError), ("abc", TypeError),
    (Vector.zeros(3), TypeError), (1, TypeError), ([True, False, True], TypeError),
], ids=["length", "floats", "str", "Vector", "int", "bools"])
def test_indices_compare_only_with_positions(other: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        ta.argmax_cols(Matrix.zeros(3, 2)) == other  # noqa: B015


def test_indices_are_not_summed_as_values() -> None:
    with pytest.raises(TypeError, match="sum_all takes a Matrix or Vector"):
        ta.sum_all(ta.argmax_cols(Matrix.zeros(3, 2)))  # type: ignore[arg-type]


# -- statistics of a Vector, the scalar mean -------------------------------------------


@given(a=arrays(st.sampled_from([np.float32, np.float64]), st.integers(1, 40),
                elements=st.floats(-1e3, 1e3, width=32)))
def test_vector_mean_var_sum_and_mean_all_are_numpys(a: Array) -> None:
    v = Vector.from_numpy(a)
    tol = 1e-4 if a.dtype == np.float32 else 1e-10
    want = a.astype(np.float64)
    scale = float(np.abs(want).max()) + 1.0
    assert ta.mean(v) == pytest.approx(want.mean(), abs=tol * scale)
    assert ta.var(v) == pytest.approx(want.var(), abs=tol * scale * scale)
    assert ta.sum_all(v) == pytest.approx(want.sum(), abs=tol * scale * a.size)
    assert ta.mean(v * 1.0) == pytest.approx(want.mean(), abs=tol * scale)
    m = Matrix.from_numpy(np.stack([a, -a]))
    assert ta.mean_all(m) == pytest.approx(0.0, abs=tol * scale)


def test_mean_all_is_the_mean_of_every_element() -> None:
    assert ta.mean_all(Matrix.from_list([[1, 2], [3, 6]])) == 3.0
    assert ta.mean_all(Vector.from_list([1, 2])) == 1.5
    with pytest.raises(TypeError, match="mean_all takes a Matrix or Vector"):
        ta.mean_all(np.zeros(3))  # type: ignore[arg-type]


def test_the_docs_coming_from_numpy_page_runs() -> None:
    """Every `>>>` example of the guide's "Coming from numpy" runs and prints what it says."""
    page = Path(__file__).resolve().parent.parent / "docs" / "guide" / "numpy.md"
    blocks = re.findall(r"```python\n(.*?)\n```", page.read_text(), re.S)
    assert len(blocks) >= 2 and all(">>>" in b for b in blocks)
    parser, runner = doctest.DocTestParser(), doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    # the blocks run one after another in one session, as a reader types them
    runner.run(parser.get_doctest("\n".join(blocks), {}, "numpy.md", "numpy.md", 0))
    result = runner.summarize(verbose=False)
    assert result.attempted > 20 and result.failed == 0, result
