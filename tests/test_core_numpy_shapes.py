"""Picking columns (`m[rows, cols]`), `concat_cols`, `reshape` and `clip` held to numpy, and
numpy's own ufuncs and functions on a typed array: each names typedarr's operation."""

from __future__ import annotations

from typing import Any

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given

import typedarr as ta
from typedarr import DTypeError, Matrix, ShapeError, Vector

Array = np.ndarray[Any, np.dtype[Any]]
A = np.arange(20, dtype=np.float32).reshape(4, 5)


@st.composite
def axis_index(draw: st.DrawFn, n: int) -> Any:
    """An int, a slice or an index array for an axis of `n`."""
    kind = draw(st.sampled_from(["int", "slice", "array", "list"]))
    if kind == "int":
        return draw(st.integers(-n, n - 1))
    if kind == "slice":
        bound = st.none() | st.integers(-n - 2, n + 2)
        return slice(draw(bound), draw(bound), draw(st.none() | st.sampled_from([1, 2, -1, -3])))
    picks = draw(st.lists(st.integers(-n, n - 1), max_size=6))
    return np.array(picks, np.int64) if kind == "array" else picks


@given(data=st.data())
def test_pairs_of_indices_take_whole_axes_as_numpy(data: st.DataObject) -> None:
    rows, cols = data.draw(axis_index(4)), data.draw(axis_index(5))
    arrays = isinstance(rows, list | np.ndarray) and isinstance(cols, list | np.ndarray)
    if arrays:
        with pytest.raises(TypeError, match=r"m\[rows\]\[:, cols\]"):
            Matrix.from_numpy(A)[rows, cols]
        return
    got = Matrix.from_numpy(A)[rows, cols]
    want = A[rows, cols]  # one index array at most: numpy takes whole axes too
    if isinstance(rows, int) and isinstance(cols, int):
        assert isinstance(got, float) and got == want
        return
    assert type(got) is (Vector if want.ndim == 1 else Matrix)
    values = np.asarray(got)
    np.testing.assert_array_equal(values, want)
    assert values.flags.c_contiguous and not values.flags.writeable


def test_columns_and_blocks() -> None:
    m = Matrix.from_numpy(A)
    column = m[:, 2]
    assert type(column) is Vector
    np.testing.assert_array_equal(np.asarray(column), A[:, 2])
    np.testing.assert_array_equal(np.asarray(m[:, 1:3]), A[:, 1:3])
    np.testing.assert_array_equal(np.asarray(m[1:3, ::-2]), A[1:3, ::-2])
    np.testing.assert_array_equal(np.asarray(m[np.array([3, 0]), 1:]), A[[3, 0], 1:])
    np.testing.assert_array_equal(np.asarray(m[ta.argmax_rows(m), 0]), A[[3] * 5, 0])
    np.testing.assert_array_equal(np.asarray(m[1, [4, 0]]), A[1, [4, 0]])
    assert m[-1, -1] == 19.0
    np.testing.assert_array_equal(np.asarray(m[:, 2] * 2.0), A[:, 2] * 2)


@pytest.mark.parametrize(("index", "error"), [
    ((0, 5), IndexError), ((4, 0), IndexError), ((slice(None), [5]), IndexError),
    ((slice(None), True), TypeError), ((slice(None), 1.0), TypeError),
    ((slice(None), [True, False]), TypeError), ((0,), TypeError), ((0, 0, 0), TypeError),
    ((Ellipsis, 0), TypeError), ((None, 0), TypeError), (([0, 1], [0, 1]), TypeError),
], ids=["col-range", "row-range", "col-array-range", "bool", "float", "bools", "one",
        "three", "ellipsis", "newaxis", "two-arrays"])
def test_pairs_of_indices_refuse(index: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        Matrix.from_numpy(A)[index]


def test_a_vector_takes_one_index() -> None:
    with pytest.raises(TypeError, match="one index"):
        Vector.zeros(3)[0, 0]  # a tuple is a Sequence[int] to mypy


@given(widths=st.lists(st.integers(0, 4), min_size=1, max_size=4), rows=st.integers(0, 3))
def test_concat_cols_is_numpys(widths: list[int], rows: int) -> None:
    parts = [np.full((rows, w), i, np.float32) for i, w in enumerate(widths)]
    got = ta.concat_cols([Matrix.from_numpy(p) for p in parts])
    assert type(got) is Matrix
    np.testing.assert_array_equal(np.asarray(got), np.concatenate(parts, axis=1))


def test_concat_cols_refuses_mixed_dtypes_and_names_counts() -> None:
    with pytest.raises(DTypeError):
        ta.concat_cols([Matrix.zeros(1, 2), Matrix.zeros(1, 2, dtype=np.float64)])
    with pytest.raises(ShapeError, match=r"\(1, 2\) and Matrix \(2, 2\): the row counts"):
        ta.concat_cols([Matrix.zeros(1, 2), Matrix.zeros(2, 2)])


@given(rows=st.integers(0, 4), cols=st.integers(0, 4), data=st.data())
def test_reshape_is_numpys_row_major(rows: int, cols: int, data: st.DataObject) -> None:
    a = np.arange(rows * cols, dtype=np.float64).reshape(rows, cols)
    m = Matrix.from_numpy(a)
    flat = ta.reshape(m, rows * cols)
    assert type(flat) is Vector
    np.testing.assert_array_equal(np.asarray(flat), a.ravel())
    divisors = [d for d in range(1, rows * cols + 1) if (rows * cols) % d == 0] or [0]
    r = data.draw(st.sampled_from(divisors))
    c = rows * cols // r if r else data.draw(st.integers(0, 3))
    back = ta.reshape(flat, r, c)
    assert type(back) is Matrix and back.dtype == np.float64
    np.testing.assert_array_equal(np.asarray(back), a.reshape(r, c))
    np.testing.assert_array_equal(np.asarray(ta.reshape(m * 2.0, -1)), a.ravel() * 2)
    if r:
        np.testing.assert_array_equal(np.asarray(ta.reshape(flat, r, -1)), a.reshape(r, -1))


def test_reshape_says_what_does_not_fit() -> None:
    with pytest.raises(ShapeError, match=r"cannot reshape Matrix \(2, 3\) \(6 values\) to "
                                         r"\(4,\) \(4 values\)"):
        ta.reshape(Matrix.zeros(2, 3), 4)
    with pytest.raises(ShapeError, match="use flatten"):
        ta.reshape(ta.Tensor4.zeros(1, 2, 2, 2), 8)  # type: ignore[call-overload]


@given(lo=st.floats(-3, 3), width=st.floats(0, 3))
def test_clip_is_numpys(lo: float, width: float) -> None:
    a = np.array([-5.0, -1.0, 0.0, 0.5, 2.0, np.nan, np.inf, -np.inf], np.float64)
    v = Vector.from_numpy(a, nonfinite="allow")
    got = ta.clip(v, lo, lo + width).compute().to_numpy()
    np.testing.assert_array_equal(got, np.clip(a, lo, lo + width))


def test_clip_takes_array_bounds_and_refuses_bad_ones() -> None:
    m = Matrix.from_numpy(A)
    low, high = Matrix.from_numpy(A * 0 + 3), Matrix.from_numpy(A * 0 + 7)
    np.testing.assert_array_equal(np.asarray(ta.clip(m, low, high).compute()), np.clip(A, 3, 7))
    with pytest.raises(ValueError, match="low 2 is above high 1"):
        ta.clip(m, 2, 1)
    with pytest.raises(ValueError, match="NaN"):
        ta.clip(m, float("nan"), 1)
    with pytest.raises(ShapeError):
        ta.clip(m, Vector.zeros(5), 1.0)  # type: ignore[misc]
    with pytest.raises(TypeError, match="clip"):
        ta.clip(m, "0", 1.0)  # type: ignore[misc]


# -- numpy's functions on a typed array ------------------------------------------------

M = Matrix.from_numpy(A)
UFUNCS: list[tuple[Any, tuple[Any, ...], str]] = [
    (np.exp, (M,), "use ta.exp(x)"), (np.log, (M,), "use ta.log(x)"),
    (np.sqrt, (M,), "use ta.sqrt(x)"), (np.tanh, (M,), "use ta.tanh(x)"),
    (np.maximum, (M, 0.0), "use ta.maximum(a, b)"), (np.minimum, (M, M), "ta.minimum(a, b)"),
    (np.square, (M,), "use x * x"), (np.absolute, (M,), "use abs(x)"),
    (np.negative, (M,), "use -x"), (np.sign, (M,), "np.sign(np.asarray(x))"),
    (np.add.reduce, (M,), "ta.sum_rows"), (np.maximum.reduce, (M,), "ta.max_rows"),
    (np.add.accumulate, (M,), "no such operation"),
]
FUNCTIONS: list[tuple[Any, tuple[Any, ...], str]] = [
    (np.sum, (M,), "ta.sum_all"), (np.mean, (M,), "ta.mean_all"), (np.var, (M,), "ta.var"),
    (np.max, (M,), "ta.max_cols"), (np.min, (M,), "ta.min_rows"),
    (np.argmax, (M,), "ta.argmax_cols"), (np.argmin, (M,), "ta.argmin_rows"),
    (np.concatenate, ([M, M],), "ta.concat_rows"), (np.hstack, ([M, M],), "ta.concat_cols"),
    (np.where, (M, M, M), "ta.where(cond, a, b)"), (np.clip, (M, 0, 1), "ta.clip"),
    (np.reshape, (M, 20), "ta.reshape"), (np.dot, (M, M.T), "a @ b"),
    (np.transpose, (M,), "m.T"), (np.std, (Vector.zeros(2),), "ta.var"),
]


@pytest.mark.parametrize(("func", "args", "hint"), UFUNCS + FUNCTIONS,
                         ids=[f"{getattr(f[0], '__name__', f[0])}-{i}"
                              for i, f in enumerate(UFUNCS + FUNCTIONS)])
def test_numpy_names_typedarrs_operation(func: Any, args: tuple[Any, ...], hint: str) -> None:
    with pytest.raises(TypeError) as err:
        func(*args)
    assert hint in str(err.value) and "typedarr" in str(err.value), str(err.value)


def test_numpy_operators_act_as_typedarrs() -> None:
    np.testing.assert_array_equal(np.asarray(np.float64(2) * M), A * 2)
    np.testing.assert_array_equal(np.asarray(np.int64(1) + M), A + 1)  # type: ignore[operator]  # numpy's stubs
    np.testing.assert_array_equal(np.asarray(np.add(M, 1.0)), A + 1)
    with pytest.raises(ShapeError, match=r"convert it explicitly with Matrix\.from_numpy"):
        _ = A + M
    with pytest.raises(ShapeError, match=r"cannot compare \(>\)"):  # what M > A would say
        _ = A < M
    with pytest.raises(ShapeError, match="numpy array"):
        _ = np.ones(4) @ M
    with pytest.raises(ShapeError, match=r"m > 0\.0 is the same test"):
        _ = np.float32(0) < M  # numpy hands the scalar over as a 0-d array
    with pytest.raises(TypeError, match="a bool"):
        _ = np.bool_(True) + M  # type: ignore[operator]


def test_other_numpy_functions_read_the_values() -> None:
    assert np.allclose(M, A) and np.array_equal(M, M)
    assert np.linalg.norm(M) == pytest.approx(float(np.linalg.norm(A)))
    np.testing.assert_array_equal(np.asarray(M), A)
    np.testing.assert_allclose(M * 1.0, A)
