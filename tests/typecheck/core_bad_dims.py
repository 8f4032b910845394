"""Dimension mismatches mypy and pyright must reject: each `# E: <code>` line is an error."""

from __future__ import annotations

import typedarr as ta
from typedarr import DMatrix, Matrix, Vector


class Batch:
    """Rows of a mini-batch."""


class In:
    """Input features."""


class Hidden:
    """Hidden units."""


class Out:
    """Classes."""


class SubIn(In):
    """A subclass: invariance must still keep it apart from In."""


def use(*values: object) -> None:
    pass


def matmul(x: Matrix[Batch, In], w: Matrix[Hidden, Out], v: Vector[Hidden], u: Vector[In]
           ) -> None:
    use(x @ w)  # E: operator
    use(x @ x)  # E: operator
    use(x @ v)  # E: operator
    use(v @ u)  # E: operator
    use(u @ w)  # E: operator
    use(x.T @ w)  # E: operator


def elementwise(h: Matrix[Batch, Hidden], x: Matrix[Batch, In], d: DMatrix[Batch, In],
                v: Vector[Hidden], u: Vector[In]) -> None:
    use(h + x)  # E: operator
    use(h - d)  # E: operator
    use(d * h)  # E: operator
    use(h / x.T)  # E: operator
    use(v + u)  # E: operator
    use(h < x)  # E: operator
    use(ta.maximum(h, x))  # E: misc | reportArgumentType
    use(ta.where(h > 0, x, 0.0))  # E: misc | reportArgumentType


def helpers(x: Matrix[Batch, In], v: Vector[Hidden], u: Vector[In]) -> None:
    # mypy infers the helpers' dimensions from the expected type, so it blames the argument;
    # pyright infers them from the arguments and blames the assignment or the operator
    bad_rows: DMatrix[Batch, Hidden] = ta.rows_like(u, x)  # E: arg-type | reportAssignmentType
    bad_sum: Vector[Batch] = ta.compute(ta.sum_rows(x))  # E: arg-type | reportAssignmentType
    bad_cols: Vector[In] = ta.compute(ta.sum_cols(x))  # E: arg-type | reportAssignmentType
    use(x + ta.rows_like(v, x))  # E: arg-type | reportOperatorIssue
    use(x * ta.cols_like(u, x))  # E: arg-type | reportOperatorIssue
    use(bad_rows, bad_sum, bad_cols)
    wrong_rows: DMatrix[Batch, Hidden] = x + ta.rows_like(u, x)  # E: assignment
    use(wrong_rows)


def delayed_and_rows(d: DMatrix[Batch, In], w: Matrix[Hidden, Out], v: Vector[Hidden],
                     x: Matrix[Batch, In]) -> None:
    use(d @ w)  # E: operator
    use(v @ d)  # E: operator
    first: Vector[Batch] = x[0]  # E: assignment
    use(first)


def invariance(x: Matrix[Batch, SubIn], w: Matrix[In, Hidden]) -> None:
    takes_in(x)  # E: arg-type
    use(x @ w)  # E: operator


def takes_in(x: Matrix[Batch, In]) -> None:
    pass


def returns(x: Matrix[Batch, In], w: Matrix[In, Hidden]) -> Matrix[Batch, Out]:
    # a correct product, a wrong return type: mypy reports it on the operator (context),
    # pyright on the return
    return x @ w  # E: operator | reportReturnType


def returns_delayed(x: Matrix[Batch, In]) -> Matrix[Batch, In]:
    y = x * 2.0
    return y  # E: return-value
