"""MNIST's images and labels from IDX arrays and files: `(n, 784)` float32 pixels in [0, 1]
and int64 labels in 0..9, each checked for the shape, the range and the count it must have,
with `IdxError` naming the file (the IDX format itself is `examples.idx`'s).
"""

from __future__ import annotations

import os

import numpy as np
from numpy.typing import NDArray

from examples.idx import IdxError, StrPath, read_idx

IMAGE_ROWS = 28
IMAGE_COLS = 28
NUM_CLASSES = 10


def to_images(array: NDArray[np.uint8], source: str = "<array>") -> NDArray[np.float32]:
    """Turn a rank-3 `(n, 28, 28)` uint8 array into `(n, 784)` float32 pixels in [0, 1].

    Raises:
        IdxError: the array is not of shape `(n, 28, 28)`.

    >>> to_images(np.full((2, 28, 28), 255, dtype=np.uint8)).shape
    (2, 784)
    """
    if array.ndim != 3 or array.shape[1:] != (IMAGE_ROWS, IMAGE_COLS):
        raise IdxError(
            f"{source}: images must have shape (n, {IMAGE_ROWS}, {IMAGE_COLS}) (rank 3), "
            f"got shape {array.shape} (rank {array.ndim}); is this a labels file?"
        )
    out = array.reshape(len(array), IMAGE_ROWS * IMAGE_COLS).astype(np.float32)
    out /= np.float32(255)  # in place: one float32 buffer, and exact division, not * (1/255)
    return out


def to_labels(array: NDArray[np.uint8], source: str = "<array>") -> NDArray[np.int64]:
    """Turn a rank-1 uint8 array of digits into int64 labels, checking each is in 0..9.

    Raises:
        IdxError: the array is not rank 1, or a label is above 9 (names value and position).

    >>> to_labels(np.array([5, 0, 4], dtype=np.uint8)).tolist()
    [5, 0, 4]
    """
    if array.ndim != 1:
        raise IdxError(
            f"{source}: labels must have rank 1, got shape {array.shape} (rank {array.ndim}); "
            "is this an images file?"
        )
    bad = np.flatnonzero(array >= NUM_CLASSES)  # uint8: nothing below 0 to check
    if bad.size:
        i = int(bad[0])
        raise IdxError(
            f"{source}: label {int(array[i])} at position {i} is outside 0..{NUM_CLASSES - 1} "
            f"({bad.size} labels out of range in all)"
        )
    return array.astype(np.int64)


def check_counts(images: NDArray[np.float32], labels: NDArray[np.int64], source: str) -> None:
    """Check that a split has as many labels as images.

    Raises:
        IdxError: the counts differ; the message gives both.
    """
    if len(images) != len(labels):
        raise IdxError(
            f"{source}: {len(images)} images but {len(labels)} labels: "
            "the images and labels files do not belong together"
        )


def load_images(path: StrPath) -> NDArray[np.float32]:
    """Read an MNIST images file into `(n, 784)` float32 pixels scaled to [0, 1].

    Raises:
        IdxError: not well-formed IDX, or not of shape `(n, 28, 28)`.
        OSError: the file cannot be read.
    """
    return to_images(read_idx(path), os.fspath(path))


def load_labels(path: StrPath) -> NDArray[np.int64]:
    """Read an MNIST labels file into int64 labels, each checked to be in 0..9.

    Raises:
        IdxError: not well-formed IDX, not rank 1, or a label outside 0..9.
        OSError: the file cannot be read.
    """
    return to_labels(read_idx(path), os.fspath(path))


def load_split(
    images_path: StrPath, labels_path: StrPath
) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """Read one split (images and labels files), checking that their counts agree.

    Raises:
        IdxError: either file is malformed, or the counts differ.
        OSError: a file cannot be read.
    """
    images, labels = load_images(images_path), load_labels(labels_path)
    check_counts(images, labels, f"{os.fspath(images_path)} and {os.fspath(labels_path)}")
    return images, labels
