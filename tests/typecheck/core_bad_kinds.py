"""Rank and representation mismatches mypy and pyright must reject (`# E: <code>` lines)."""

from __future__ import annotations

import numpy as np

import typedarr as ta
from typedarr import DMatrix, DVector, Matrix, Vector


class R:
    """A row dimension."""


class C:
    """A column dimension."""


def use(*values: object) -> None:
    pass


def takes_matrix(m: Matrix[R, C]) -> None:
    pass


def takes_vector(v: Vector[C]) -> None:
    pass


def rank(m: Matrix[R, C], v: Vector[C], dv: DVector[C]) -> None:
    use(m + v)  # E: operator
    use(v + m)  # E: operator
    use(m * dv)  # E: operator
    use(m == v)  # E: operator
    use(ta.maximum(m, v))  # E: misc | reportArgumentType
    takes_matrix(v)  # E: arg-type
    takes_vector(m)  # E: arg-type
    use(ta.sum_rows(v))  # E: arg-type
    use(ta.br(3, m))  # E: arg-type
    use(ta.rows_like(m, v))  # E: arg-type
    use(ta.cols_like(v, v))  # E: arg-type
    use(ta.where(m > 0, v, 0.0))  # E: misc | reportArgumentType
    use(ta.max_rows(v))  # E: arg-type
    use(v.T)  # E: attr-defined | reportAttributeAccessIssue
    use(m @ 2.0)  # E: operator


def representation(m: Matrix[R, C], d: DMatrix[R, C], dv: DVector[C]) -> None:
    takes_matrix(d)  # E: arg-type
    takes_matrix(m + m)  # E: arg-type
    takes_matrix(ta.exp(m))  # E: arg-type
    takes_vector(dv)  # E: arg-type
    takes_vector(ta.sum_rows(m))  # E: arg-type
    manifest: Matrix[R, C] = m.delay()  # E: assignment
    use(manifest)
    m += m  # E: assignment
    use(m)


def delayed_result(m: Matrix[R, C]) -> Matrix[R, C]:
    return m * 2.0  # E: return-value


def numpy_values(m: Matrix[R, C], a: np.ndarray[tuple[int, int], np.dtype[np.float32]]) -> None:
    takes_matrix(a)  # E: arg-type
    use(ta.exp(a))  # E: arg-type
    use(ta.br(2, a))  # E: arg-type
    use(ta.sum_rows(a))  # E: arg-type
    use(m ** m)  # E: operator
