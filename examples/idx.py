"""A strict reader for the IDX format that MNIST ships in, gzipped or raw.

IDX is a four-byte magic number (two zero bytes, a type code, the rank), one big-endian
`uint32` per dimension, then the values in C order. Only type code 0x08 (unsigned byte) is
read: it is the only one MNIST uses, and supporting the others would be code without a test
oracle. Every way a file can be wrong (bad magic, other type code, short or long payload,
corrupt gzip, labels outside 0..9) raises `IdxError` with the file name and what was found,
because a silently misread dataset shows up much later as a model that does not learn.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

GZIP_MAGIC = b"\x1f\x8b"
UNSIGNED_BYTE = 0x08
IMAGE_ROWS = 28
IMAGE_COLS = 28
NUM_CLASSES = 10

# Type codes of the IDX specification, named so a rejected file says what it holds.
_TYPE_NAMES = {
    0x08: "unsigned byte",
    0x09: "signed byte",
    0x0B: "short (int16)",
    0x0C: "int (int32)",
    0x0D: "float (float32)",
    0x0E: "double (float64)",
}

StrPath = str | os.PathLike[str]


class IdxError(ValueError):
    """Raised for a file that is not well-formed unsigned-byte IDX, or not the data expected.

    The message names the file (or `<bytes>`) and says what was expected and what was found.
    """


def decompress(data: bytes, source: str = "<bytes>") -> bytes:
    """Return `data` gunzipped if it starts with the gzip magic bytes, else unchanged.

    The format is detected from the content, never from a `.gz` suffix, so a renamed file
    still reads.

    Raises:
        IdxError: `data` starts like gzip but is corrupt or truncated.

    >>> decompress(gzip.compress(b"idx")), decompress(b"idx")
    (b'idx', b'idx')
    """
    if not data.startswith(GZIP_MAGIC):
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as e:
        raise IdxError(
            f"{source}: corrupt gzip data ({e}); delete the file and fetch it again"
        ) from e


def parse_idx(data: bytes, source: str = "<bytes>") -> NDArray[np.uint8]:
    """Parse uncompressed IDX bytes into a read-only uint8 array of the header's shape.

    The array is a view of `data` (no copy), hence read-only.

    Raises:
        IdxError: bad magic, a type code other than 0x08, rank 0, or a payload whose size
            differs from the product of the dimensions (truncated or trailing bytes).

    >>> parse_idx(bytes([0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6])).tolist()
    [[1, 2, 3], [4, 5, 6]]
    """
    dims = _parse_header(data, source)
    offset = 4 + 4 * len(dims)
    expected, actual = math.prod(dims), len(data) - offset
    if actual < expected:
        raise IdxError(
            f"{source}: truncated: header says shape {dims}, so expected {expected} bytes of "
            f"data after the {offset}-byte header, but the file has {actual}"
        )
    if actual > expected:
        raise IdxError(
            f"{source}: {actual - expected} trailing bytes: header says shape {dims}, so "
            f"expected {expected} bytes of data after the {offset}-byte header, found {actual}"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(dims)


def _parse_header(data: bytes, source: str) -> tuple[int, ...]:
    """The dimensions in the header, after checking the magic number and the type code."""
    if len(data) < 4:
        raise IdxError(f"{source}: {len(data)} bytes is too short for an IDX header (4 bytes)")
    if data[0] != 0 or data[1] != 0:
        raise IdxError(
            f"{source}: bad magic number {data[:4].hex()}: IDX starts with two zero bytes "
            "(is this an IDX file?)"
        )
    code, rank = data[2], data[3]
    if code != UNSIGNED_BYTE:
        name = _TYPE_NAMES.get(code, "not an IDX type")
        raise IdxError(
            f"{source}: type code 0x{code:02x} ({name}) is not supported: only 0x08 "
            "(unsigned byte, as in MNIST) is read"
        )
    if rank == 0:
        raise IdxError(f"{source}: rank 0 in the header: IDX data has at least one dimension")
    if len(data) < 4 + 4 * rank:
        raise IdxError(
            f"{source}: header of rank {rank} needs {4 + 4 * rank} bytes, the file has {len(data)}"
        )
    return tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(rank))


def encode_idx(array: NDArray[np.uint8]) -> bytes:
    """Encode a uint8 array of rank 1 to 255 as uncompressed IDX bytes (inverse of `parse_idx`).

    Raises:
        IdxError: the dtype is not uint8, or the rank is 0 or above 255.

    >>> encode_idx(np.array([7, 9], dtype=np.uint8)).hex()
    '00000801000000020709'
    """
    if array.dtype != np.uint8:
        raise IdxError(f"only uint8 arrays are written as IDX, got {array.dtype}")
    if not 1 <= array.ndim <= 255:
        raise IdxError(f"IDX holds rank 1 to 255, got rank {array.ndim}")
    header = bytes([0, 0, UNSIGNED_BYTE, array.ndim])
    dims = b"".join(n.to_bytes(4, "big") for n in array.shape)
    return header + dims + np.ascontiguousarray(array).tobytes()


def read_idx_bytes(path: StrPath) -> bytes:
    """Read a file and return its uncompressed IDX bytes (gunzipped if it is gzip).

    Raises:
        IdxError: the file is gzip but corrupt.
        OSError: the file cannot be read.
    """
    return decompress(Path(path).read_bytes(), os.fspath(path))


def read_idx(path: StrPath) -> NDArray[np.uint8]:
    """Read a gzipped or raw unsigned-byte IDX file into a read-only uint8 array.

    Raises:
        IdxError: the file is not well-formed IDX (see `parse_idx`) or corrupt gzip.
        OSError: the file cannot be read.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = Path(d, "x.gz")
    ...     _ = p.write_bytes(gzip.compress(encode_idx(np.arange(6, dtype=np.uint8))))
    ...     read_idx(p).tolist()
    [0, 1, 2, 3, 4, 5]
    """
    return parse_idx(read_idx_bytes(path), os.fspath(path))


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
