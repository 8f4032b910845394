"""Class labels in and out of a network: one-hot targets, 0/1 targets and accuracy.

This is data glue around the typed arrays (labels are integers, which typedarr does not
hold), so it uses numpy directly; the layer maths never does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from typedarr import Matrix, MatrixLike, Size, size

from ._errors import NetworkError

Labels = np.ndarray[Any, np.dtype[np.integer[Any]]] | Sequence[int]


def one_hot(labels: Labels, classes: Size, *, dtype: Any = np.float32) -> Matrix:
    """A Matrix with one row per label: 1 in the label's column, 0 elsewhere.

    Raises NetworkError for labels outside `0 .. classes - 1`, for non-integer labels, or
    for labels that are not one-dimensional.

    >>> import nn
    >>> nn.one_hot([2, 0], 3)
    Matrix U Par (Sz (2 :. 3)) float32
    [ [ 0.0, 0.0, 1.0 ]
    , [ 1.0, 0.0, 0.0 ]
    ]
    """
    classes = size("one_hot: classes", classes, NetworkError, minimum=1)
    idx = _labels("one_hot", labels)
    bad = (idx < 0) | (idx >= classes)
    if bad.any():
        at = int(np.flatnonzero(bad)[0])
        raise NetworkError(f"one_hot: label {int(idx[at])} at index {at} is out of range for "
                           f"{classes} classes (0 .. {classes - 1})")
    out = np.zeros((idx.size, classes), dtype=dtype)
    out[np.arange(idx.size), idx] = 1.0
    return Matrix.from_numpy(out)


def binary_targets(labels: Labels, *, dtype: Any = np.float32) -> Matrix:
    """A one-column Matrix of 0/1 labels: the target of a sigmoid output
    (`nn.SigmoidBinaryCrossEntropy`), as `one_hot` is for softmax classes.

    Raises NetworkError for a label other than 0 or 1 (naming the first), for non-integer
    labels (booleans included: convert with `.astype(int)`), or for labels that are not
    one-dimensional.

    >>> import nn
    >>> nn.binary_targets([1, 0, 1])
    Matrix U Par (Sz (3 :. 1)) float32
    [ [ 1.0 ]
    , [ 0.0 ]
    , [ 1.0 ]
    ]
    """
    idx = _labels("binary_targets", labels)
    bad = (idx != 0) & (idx != 1)
    if bad.any():
        at = int(np.flatnonzero(bad)[0])
        raise NetworkError(f"binary_targets: label {int(idx[at])} at index {at} is not 0 or 1 "
                           f"(for classes 0 .. k-1, use one_hot(labels, k) and a softmax "
                           f"output)")
    return Matrix.from_numpy(idx.astype(dtype).reshape(-1, 1))


def accuracy(pred: MatrixLike[Any, Any], target: MatrixLike[Any, Any] | Labels) -> float:
    """The fraction of rows predicted right: the largest probability's column is the label.

    `target` is a Matrix (one-hot rows, or 0/1 for a one-column sigmoid output) or the
    integer labels. A one-column `pred` is a binary prediction: 1 where it is >= 0.5.

    >>> import nn
    >>> nn.accuracy(Matrix.from_list([[0.9, 0.1], [0.2, 0.8]]), [0, 0])
    0.5
    """
    p = np.asarray(pred)
    if isinstance(target, MatrixLike):
        t = np.asarray(target)
        if t.shape != p.shape:
            raise NetworkError(f"accuracy: target has shape {t.shape} but the prediction "
                               f"has {p.shape}")
        truth = (t[:, 0] >= 0.5).astype(np.intp) if p.shape[1] == 1 else t.argmax(axis=1)
    else:
        truth = _labels("accuracy", target)
        if truth.size != p.shape[0]:
            raise NetworkError(f"accuracy: {truth.size} labels for {p.shape[0]} predictions")
    if p.shape[0] == 0:
        raise NetworkError("accuracy of no predictions is undefined")
    guess = (p[:, 0] >= 0.5).astype(np.intp) if p.shape[1] == 1 else p.argmax(axis=1)
    return float(np.mean(guess == truth))


def _labels(name: str, labels: Labels) -> np.ndarray[Any, np.dtype[np.intp]]:
    idx = np.asarray(labels)
    if idx.size == 0:
        idx = idx.astype(np.intp)
    if idx.ndim != 1 or idx.dtype.kind not in "iu":
        raise NetworkError(f"{name}: labels must be a 1-d array of integers, got "
                           f"{idx.dtype} with shape {idx.shape}")
    return idx.astype(np.intp)
