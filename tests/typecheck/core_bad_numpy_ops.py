"""Misuses of the numpy user's operations that mypy and pyright must reject (`# E:` lines)."""

from __future__ import annotations

import typedarr as ta
from typedarr import Indices, Matrix, Tensor4, Vector


class R:
    """A row dimension."""


class C:
    """A column dimension."""


class K:
    """Another dimension."""


def use(*values: object) -> None:
    pass


def takes_rows(idx: Indices[R]) -> None:
    pass


def takes_vector(v: Vector[C]) -> None:
    pass


def takes_matrix(m: Matrix[R, C]) -> None:
    pass


def positions(m: Matrix[R, C], v: Vector[C]) -> None:
    takes_rows(ta.argmax_rows(m))  # E: arg-type
    takes_rows(ta.argmin_rows(m))  # E: arg-type
    use(ta.argmax_cols(v))  # E: arg-type
    use(ta.argmin_cols(v))  # E: arg-type
    use(ta.argmax_cols(m) + 1)  # E: operator
    takes_vector(ta.argmax_rows(m))  # E: arg-type


def reductions(m: Matrix[R, C], v: Vector[C], k: Vector[K]) -> None:
    takes_vector(ta.min_cols(m))  # E: arg-type
    use(ta.min_rows(v))  # E: arg-type
    takes_vector(ta.mean(v))  # E: arg-type
    use(ta.mean_all(ta.argmax_cols(m)))  # E: arg-type
    use(ta.sum_all(ta.argmax_cols(m)))  # E: arg-type
    use(ta.clip(m, k, 1.0))  # E: misc | reportArgumentType


def indexing(m: Matrix[R, C]) -> None:
    takes_matrix(m[:, 0])  # E: arg-type
    takes_vector(m[:, 1:])  # E: arg-type
    takes_matrix(m[0, 1])  # E: arg-type
    x: float = m[:, 0]  # E: assignment
    y: Vector[C] = m[0, 1]  # E: assignment
    use(x, y)


def shapes(m: Matrix[R, C], v: Vector[C], t: Tensor4) -> None:
    takes_vector(ta.reshape(m, 2, 3))  # E: arg-type
    takes_matrix(ta.reshape(v, 6))  # E: arg-type
    use(ta.reshape(t, 6))  # E: call-overload | reportArgumentType
    use(ta.concat_cols(m))  # E: arg-type
    use(ta.concat_cols([m, v]))  # E: list-item | reportArgumentType
