"""The output of a network and its loss: softmax with cross-entropy, sigmoid with binary
cross-entropy.

The output function is not a layer: `pass_` applies it when the layer list is empty, as
seed 000's `_pass inp []` does, and `output` returns both the prediction and the gradient
of the mean loss with respect to the logits, which for both pairs is
`(prediction - target) / batch` (seed 004, appendix A; the sigmoid case is the same
algebra per output). Softmax and `logsumexp` are computed with the log-sum-exp shift by
the row's maximum (seed 004, appendix B), so they never overflow.

The loss *values* (`cross_entropy`, `binary_cross_entropy`, or `loss` for either) take the
prediction `pass_` and `forward` return, i.e. probabilities, and average over the batch.
Note: a probability that underflowed to 0 is read as the dtype's smallest normal number
(`log` gives about -87 in float32, -708 in float64) instead of giving an infinite loss;
PyTorch's `BCELoss` clamps the log at -100 for the same reason.

Targets are checked where they enter a loss (`output`, which `pass_` calls at every step,
and the loss values), since a target of the wrong kind gives a loss that means nothing (a
negative cross-entropy) and gradients that train towards it:

- softmax cross-entropy: each row a distribution over the classes: no negative entry, and
  summing to 1 within `max(sqrt(eps), classes * eps32)` (`eps` the target dtype's machine
  epsilon, `eps32` float32's: rows made in float32 and converted to float64 carry
  float32's rounding). One-hot rows and soft labels (label smoothing, a teacher's
  probabilities) pass;
- sigmoid binary cross-entropy: every entry in [0, 1] (0/1 labels or soft ones).

NaN fails both. The check is a few numpy reductions over the target alone.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, TypeAlias, assert_never

import numpy as np
from typing_extensions import TypeVar

import typedarr as ta
from typedarr import Matrix, MatrixLike, Vector

from ._errors import NetworkError

B = TypeVar("B", default=Any)  # rows: the batch
C = TypeVar("C", default=Any)  # columns: classes or outputs


@dataclass(frozen=True, slots=True)
class SoftmaxCrossEntropy:
    """Multi-class output: softmax probabilities, cross-entropy against one-hot targets."""


@dataclass(frozen=True, slots=True)
class SigmoidBinaryCrossEntropy:
    """Binary output (seed 002): a sigmoid per output column, binary cross-entropy against
    0/1 targets, summed over the columns and averaged over the batch (with one column, as
    PyTorch's `BCELoss`)."""


Loss: TypeAlias = SoftmaxCrossEntropy | SigmoidBinaryCrossEntropy
"""An output and its loss: softmax with cross-entropy, or a sigmoid with binary cross-entropy."""

SOFTMAX_CROSS_ENTROPY = SoftmaxCrossEntropy()


def logsumexp(x: MatrixLike[B, Any]) -> Vector[B]:
    """`log(sum(exp(row)))` of each row, shifted by the row's maximum so it never overflows.

    >>> import nn
    >>> nn.logsumexp(Matrix.from_list([[1000.0, 1000.0]]))
    Vector U Par (Sz1 1) float32
    [ 1000.6932 ]
    """
    shift = ta.max_cols(x)
    return ta.compute(shift + ta.log(ta.sum_cols(ta.exp(x - ta.cols_like(shift, x)))))


def softmax(x: MatrixLike[B, C]) -> Matrix[B, C]:
    """The softmax of each row: rows of probabilities summing to 1.

    Seed 000's `softmax` with the log-sum-exp shift: `e = exp(x - max)`, then `e / sum(e)`.
    Note: `exp(x - logsumexp(x))` is the same function but less accurate in float32, where
    `logsumexp` of large logits carries the rounding of their magnitude into every
    probability.

    >>> import nn
    >>> nn.softmax(Matrix.from_list([[0.0, 0.0], [1e4, 0.0]]))
    Matrix U Par (Sz (2 :. 2)) float32
    [ [ 0.5, 0.5 ]
    , [ 1.0, 0.0 ]
    ]
    """
    e = ta.compute(ta.exp(x - ta.cols_like(ta.max_cols(x), x)))
    return ta.compute(e / ta.cols_like(ta.sum_cols(e), e))


def output(loss: Loss, logits: MatrixLike[B, C], target: MatrixLike[B, C]
           ) -> tuple[Matrix[B, C], Matrix[B, C]]:
    """The prediction for `logits` and the gradient of the mean `loss` with respect to them.

    Raises NetworkError when `target` does not have the logits' shape or is not a target
    of `loss` (see the module docstring); TypeError when `loss` is not a Loss.
    """
    check_loss(loss)
    if target.shape != logits.shape:
        raise NetworkError(f"output ({type(loss).__name__}): the target has shape "
                           f"{target.shape} but the network gives {logits.shape}")
    if not ta.tracing():  # a compiled step checks its target before the call
        check_target(loss, ta.compute(target))
    pred = prediction(loss, logits)
    return pred, ta.compute((pred - target) * (1.0 / logits.rows))


def prediction(loss: Loss, logits: MatrixLike[B, C]) -> Matrix[B, C]:
    """The output function of `loss` applied to `logits`: softmax rows or sigmoids."""
    match loss:
        case SoftmaxCrossEntropy():
            return softmax(logits)
        case SigmoidBinaryCrossEntropy():
            return ta.compute(ta.sigmoid(logits))
        case _:
            assert_never(loss)


def cross_entropy(pred: MatrixLike[B, C], target: MatrixLike[B, C]) -> float:
    """The mean over rows of `-sum(target * log(pred))`: the loss of a softmax output.

    Raises NetworkError if a row of `target` is not a distribution (negative entries, a sum
    other than 1, NaN) or the result is not finite (NaN in `pred`).

    >>> import nn
    >>> round(nn.cross_entropy(Matrix.from_list([[0.5, 0.5]]), Matrix.from_list([[1, 0]])), 4)
    0.6931
    """
    t = ta.compute(target)
    check_target(SOFTMAX_CROSS_ENTROPY, t)
    return _finite("cross_entropy", -ta.sum_all(t * ta.log(_floored(pred))) / _rows(pred))


def binary_cross_entropy(pred: MatrixLike[B, C], target: MatrixLike[B, C]) -> float:
    """The mean over rows of `-sum(t * log(p) + (1 - t) * log(1 - p))`: a sigmoid's loss.

    Raises NetworkError if an entry of `target` is outside [0, 1] (or NaN) or the result is
    not finite.

    >>> import nn
    >>> round(nn.binary_cross_entropy(Matrix.from_list([[0.5]]), Matrix.from_list([[1]])), 4)
    0.6931
    """
    t = ta.compute(target)
    check_target(SigmoidBinaryCrossEntropy(), t)
    terms = t * ta.log(_floored(pred)) + (1.0 - t) * ta.log(_floored(1.0 - pred))
    return _finite("binary_cross_entropy", -ta.sum_all(terms) / _rows(pred))


def loss(pred: MatrixLike[B, C], target: MatrixLike[B, C],
         loss: Loss = SOFTMAX_CROSS_ENTROPY) -> float:
    """The mean loss of a prediction: `cross_entropy` or `binary_cross_entropy` by `loss`.

    >>> import nn
    >>> p, t = Matrix.from_list([[0.5]]), Matrix.from_list([[1]])
    >>> nn.loss(p, t, loss=nn.SigmoidBinaryCrossEntropy()) == nn.binary_cross_entropy(p, t)
    True
    """
    check_loss(loss)
    match loss:
        case SoftmaxCrossEntropy():
            return cross_entropy(pred, target)
        case SigmoidBinaryCrossEntropy():
            return binary_cross_entropy(pred, target)
        case _:
            assert_never(loss)


def check_loss(loss: object) -> None:
    """Raise TypeError unless `loss` is a Loss value (an instance, not the class)."""
    if not isinstance(loss, SoftmaxCrossEntropy | SigmoidBinaryCrossEntropy):
        raise TypeError(f"loss must be nn.SoftmaxCrossEntropy() or "
                        f"nn.SigmoidBinaryCrossEntropy(), got {loss!r}")


def check_target(loss: Loss, target: Matrix[Any, Any]) -> None:
    """Raise NetworkError unless `target` is what `loss` learns from (module docstring).

    >>> import nn
    >>> check_target(nn.SoftmaxCrossEntropy(), Matrix.from_list([[0.9, 0.1], [0.5, 0.5]]))
    >>> check_target(nn.SoftmaxCrossEntropy(), Matrix.from_list([[1.5, -0.5]]))
    Traceback (most recent call last):
    ...
    nn.NetworkError: the target of SoftmaxCrossEntropy holds -0.5 at row 0, column 1: ...
    """
    t = np.asarray(target)
    if t.size == 0:
        return
    name = type(loss).__name__
    match loss:
        case SoftmaxCrossEntropy():
            ones, tol = _row_sums(t.shape[1], t.dtype)
            # BLAS: far cheaper than a numpy reduction along short rows; it may flag an
            # infinity in the target as invalid, which the checks below report instead
            with np.errstate(invalid="ignore", over="ignore"):
                sums = t.dot(ones)
                off = sums - 1.0
                square = off.dot(off)
            # ||off|| <= tol bounds every row's |off|: one dot product decides the usual
            # case, and only a batch it cannot vouch for is checked row by row
            if t.min() >= 0.0 and (square <= tol * tol or np.abs(off).max() <= tol):
                return
            why = ("a target row is a distribution over the classes (one-hot, or soft labels: "
                   "non-negative, summing to 1)")
            _explain(name, t, t < 0.0, why)
            row = int(np.flatnonzero(~(np.abs(off) <= tol))[0])
            raise NetworkError(f"the target of {name}: row {row} sums to {sums[row]}, not 1 "
                               f"(tolerance {tol:.2g}): {why}")
        case SigmoidBinaryCrossEntropy():
            if t.min() >= 0.0 and t.max() <= 1.0:
                return
            _explain(name, t, (t < 0.0) | (t > 1.0),
                     "every entry must be in [0, 1] (0/1 labels, or soft ones)")
        case _:
            assert_never(loss)


@functools.lru_cache(maxsize=16)
def _row_sums(classes: int, dtype: np.dtype[Any]) -> tuple[np.ndarray[Any, Any], float]:
    """A vector of ones to sum rows with, and how far from 1 a row sum may be (see the
    module docstring for why float32's rounding bounds the tolerance for both dtypes)."""
    ones = np.ones(classes, dtype)
    ones.flags.writeable = False
    eps32 = float(np.finfo(np.float32).eps)
    return ones, max(math.sqrt(float(np.finfo(dtype).eps)), classes * eps32)


def _explain(name: str, t: np.ndarray[Any, Any], bad: np.ndarray[Any, Any], why: str
             ) -> None:
    """Raise NetworkError at the first NaN, else at the first entry `bad` marks, if any."""
    nan = np.isnan(t)
    where = nan if nan.any() else bad
    if where.any():
        row, col = (int(i) for i in np.argwhere(where)[0])
        raise NetworkError(f"the target of {name} holds {t[row, col]} at row {row}, column "
                           f"{col}: {why}")


def _floored(p: MatrixLike[B, C]) -> ta.DMatrix[B, C]:
    """`p` with values below the smallest normal number raised to it, so `log` is finite."""
    return ta.maximum(p, float(np.finfo(p.dtype).tiny))


def _rows(pred: MatrixLike[Any, Any]) -> int:
    if pred.rows == 0:
        raise NetworkError("the loss of a batch with no rows is undefined")
    return pred.rows


def _finite(name: str, value: float) -> float:
    if not math.isfinite(value):
        raise NetworkError(f"{name} is not finite ({value}): the prediction or the target "
                           f"holds NaN or infinity, or the training diverged")
    return value
