"""Every operation's result kind and representation, as mypy and pyright (strict) infer them."""

from __future__ import annotations

from typing import Any, assert_type

import numpy as np

import typedarr as ta
from typedarr import DMatrix, DVector, Matrix, MatrixLike, Vector, VectorLike


class R:
    """A row dimension."""


class C:
    """A column dimension."""


def elementwise(m: Matrix[R, C], d: DMatrix[R, C], v: Vector[C], dv: DVector[C]) -> None:
    assert_type(m + m, DMatrix[R, C])
    assert_type(m + d, DMatrix[R, C])
    assert_type(d * m, DMatrix[R, C])
    assert_type(2.0 - m, DMatrix[R, C])
    assert_type(1 / d, DMatrix[R, C])
    assert_type(m ** 2, DMatrix[R, C])
    assert_type(-m, DMatrix[R, C])
    assert_type(abs(d), DMatrix[R, C])
    assert_type(m < d, DMatrix[R, C])
    assert_type(m == 0.0, DMatrix[R, C])
    assert_type(v + dv, DVector[C])
    assert_type(3 * v, DVector[C])
    assert_type(v >= dv, DVector[C])
    assert_type(ta.exp(m), DMatrix[R, C])
    assert_type(ta.log(v), DVector[C])
    assert_type(ta.sigmoid(d), DMatrix[R, C])
    assert_type(ta.tanh(dv), DVector[C])
    assert_type(ta.sqrt(m), DMatrix[R, C])
    assert_type(ta.relu(v), DVector[C])
    assert_type(ta.maximum(m, d), DMatrix[R, C])
    assert_type(ta.minimum(v, 0.0), DVector[C])
    assert_type(ta.where(m > 0, m, 0.0), DMatrix[R, C])
    assert_type(m.astype(np.float64), DMatrix[R, C])


def representations(m: Matrix[R, C], d: DMatrix[R, C], v: Vector[C], dv: DVector[C]) -> None:
    assert_type(m.delay(), DMatrix[R, C])
    assert_type(ta.compute(d), Matrix[R, C])
    assert_type(d.compute(), Matrix[R, C])
    assert_type(ta.compute(m), Matrix[R, C])
    assert_type(ta.compute(dv), Vector[C])
    assert_type(v.delay(), DVector[C])
    assert_type(m.T, Matrix[C, R])
    assert_type(d.T, DMatrix[C, R])
    assert_type(m.with_strategy(ta.Seq), Matrix[R, C])
    assert_type(d.with_strategy(ta.Par), DMatrix[R, C])
    like: MatrixLike[R, C] = d
    also: MatrixLike[R, C] = m
    vlike: VectorLike[C] = dv
    likes(like, also, vlike, m, v)
    assert_type(d @ m.T, Matrix[R, R])
    assert_type(v @ d.T, Vector[R])
    assert_type(len(m), int)
    acc = m.delay()
    acc += m
    assert_type(acc, DMatrix[R, C])


def likes(like: MatrixLike[R, C], also: MatrixLike[R, C], vlike: VectorLike[C], m: Matrix[R, C],
          v: Vector[C]) -> None:
    # parameters: a checker may narrow a variable to the type assigned to it (pyright does)
    assert_type(like.T, MatrixLike[C, R])
    assert_type(also @ m.T, Matrix[R, R])
    assert_type(also @ like.T, Matrix[R, R])
    assert_type(vlike @ v, float)
    assert_type(like @ vlike, Vector[R])
    assert_type(ta.compute(like), Matrix[R, C])


def helpers(m: Matrix[R, C], v: Vector[C], u: Vector[R]) -> None:
    assert_type(ta.br(3, v), DMatrix[Any, C])
    assert_type(ta.rows_like(v, m), DMatrix[R, C])
    assert_type(ta.rowsLike(v, m), DMatrix[R, C])
    assert_type(ta.cols_like(u, m), DMatrix[R, C])
    assert_type(ta.sum_rows(m), DVector[C])
    assert_type(ta.sumCols(m), DVector[R])
    assert_type(ta.mean(m), DVector[C])
    assert_type(ta.var(m), DVector[C])
    assert_type(ta.max_rows(m), Vector[C])
    assert_type(ta.max_cols(m), Vector[R])
    assert_type(ta.sum_all(m), float)
    assert_type(ta.sum_all(v), float)
    assert_type(ta.concat_rows([m, m.delay()]), Matrix[Any, C])


def constructors() -> None:
    assert_type(Matrix.zeros(2, 3), Matrix)
    assert_type(Vector.from_list([1.0, 2.0]), Vector)
    assert_type(Matrix.from_numpy(np.zeros((2, 2))), Matrix)
    assert_type(Vector.random_normal(3, seed=0), Vector)
    assert_type(Matrix.random_uniform(2, 2, seed=np.random.default_rng(0)), Matrix)
