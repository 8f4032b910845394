"""The operations a numpy user reaches for, as mypy and pyright (strict) infer them: argmax
and argmin give Indices of the reduced Matrix's other dimension, `m[rows, cols]` a float, a
Vector or a Matrix by what each index is, and the rest keep what dimensions they can."""

from __future__ import annotations

from typing import Any, assert_type

import numpy as np

import nn
import typedarr as ta
from typedarr import DMatrix, DVector, Indices, Matrix, Vector


class R:
    """A row dimension."""


class C:
    """A column dimension."""


def positions(m: Matrix[R, C], d: DMatrix[R, C]) -> None:
    assert_type(ta.argmax_cols(m), Indices[R])
    assert_type(ta.argmin_cols(d), Indices[R])
    assert_type(ta.argmax_rows(d), Indices[C])
    assert_type(ta.argmin_rows(m), Indices[C])
    idx = ta.argmax_cols(m)
    assert_type(idx[0], int)
    assert_type(idx[1:], Indices)
    assert_type(list(idx), list[int])
    assert_type(idx == ta.argmin_cols(m), DVector[R])
    assert_type(idx != [0, 1], DVector[R])
    assert_type(ta.mean(idx == np.array([0, 1])), float)
    assert_type(m[idx], Matrix[Any, C])
    assert_type(nn.one_hot(idx, 3), Matrix)
    assert_type(idx.to_numpy(), np.ndarray[Any, np.dtype[np.intp]])


def reductions(m: Matrix[R, C], v: Vector[C], dv: DVector[C]) -> None:
    assert_type(ta.min_rows(m), Vector[C])
    assert_type(ta.min_cols(m), Vector[R])
    assert_type(ta.mean(v), float)
    assert_type(ta.mean(dv), float)
    assert_type(ta.var(v), float)
    assert_type(ta.mean(m), DVector[C])
    assert_type(ta.var(m.delay()), DVector[C])
    assert_type(ta.mean_all(m), float)
    assert_type(ta.mean_all(v), float)


def indexing(m: Matrix[R, C], rows: np.ndarray[Any, np.dtype[np.int64]]) -> None:
    assert_type(m[0], Vector[C])
    assert_type(m[1:], Matrix[Any, C])
    assert_type(m[rows], Matrix[Any, C])
    assert_type(m[0, 1], float)
    assert_type(m[np.int64(0), np.int64(1)], float)
    assert_type(m[:, 1], Vector[Any])
    assert_type(m[0, :], Vector[Any])
    assert_type(m[rows, 2], Vector[Any])
    assert_type(m[:, 1:3], Matrix[Any, Any])
    assert_type(m[rows, :], Matrix[Any, Any])
    assert_type(m[0, [1, 2]], Vector[Any])


def shapes(m: Matrix[R, C], v: Vector[C], d: DMatrix[R, C]) -> None:
    assert_type(ta.concat_cols([m, d]), Matrix[R, Any])
    assert_type(ta.reshape(m, 6), Vector)
    assert_type(ta.reshape(v, 2, -1), Matrix)
    assert_type(ta.reshape(d, 3, 2), Matrix)
    assert_type(ta.clip(m, 0.0, 1.0), DMatrix[R, C])
    assert_type(ta.clip(v, v, 1.0), DVector[C])
    assert_type(ta.clip(d, m, m), DMatrix[R, C])
