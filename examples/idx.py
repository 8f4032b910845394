"""A strict reader for the IDX format that MNIST ships in, gzipped or raw.

IDX is a four-byte magic number (two zero bytes, a type code, the rank), one big-endian
`uint32` per dimension, then the values in C order. Only type code 0x08 (unsigned byte) is
read: it is the only one MNIST uses, and supporting the others would be code without a test
oracle. Every way a file can be wrong (bad magic, other type code, a rank or a dimension no
array can have, short or long header or payload, corrupt gzip) raises `IdxError` with the
file name and what was found, because a silently misread dataset shows up much later as a
model that does not learn. What MNIST's files must hold beyond that (images of 28x28,
labels in 0..9) is `examples.mnist_arrays`'s.

Files are read as a stream, never decompressed whole: the header comes first and says how
many bytes follow, so a declared size beyond `max_bytes` (or beyond what an `Expected` allows,
as the MNIST loader says for each file) is refused before anything is allocated, then exactly
that many bytes are read and a short or overlong stream is an error. A small `.gz` that
inflates to gigabytes therefore costs at most the declared size, and only when it is allowed.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import math
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

GZIP_MAGIC = b"\x1f\x8b"
UNSIGNED_BYTE = 0x08

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


DEFAULT_MAX_BYTES = 1 << 28
"""The most data bytes `read_idx` accepts unless told otherwise (MNIST's largest file holds
47 million): the bound a declared size must pass before it is allocated."""

MAX_RANK = 64 if np.lib.NumpyVersion(np.__version__) >= "2.0.0" else 32
"""The most dimensions a numpy array (hence an IDX file read here) may have."""

_MAX_SIZE = int(np.iinfo(np.intp).max)  # the most elements an array can index
_TRAILING_PROBE = 1 << 16  # how far past the declared end is read to report trailing bytes
_CHUNK = 1 << 20


class Digest(Protocol):
    """Something that hashes what is read (`hashlib.md5()`)."""

    def update(self, data: bytes | memoryview, /) -> None: ...


@dataclass(frozen=True, slots=True)
class Expected:
    """What a file must declare: rank `1 + len(item)`, at most `max_count` items of shape
    `item` (MNIST: `Expected(60000, (28, 28))` for the training images)."""

    max_count: int
    item: tuple[int, ...] = ()

    def check(self, dims: tuple[int, ...], source: str) -> None:
        """Raises IdxError when `dims` is not what is expected."""
        if dims[1:] != self.item or len(dims) != 1 + len(self.item) or dims[0] > self.max_count:
            shape = ", ".join(["n", *map(str, self.item)])
            raise IdxError(f"{source}: header declares shape {dims}, expected ({shape}) with n "
                           f"at most {self.max_count}")


def decompress(data: bytes, source: str = "<bytes>", *,
               max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """Return `data` gunzipped if it starts with the gzip magic bytes, else unchanged.

    The format is detected from the content, never from a `.gz` suffix, so a renamed file
    still reads.

    Raises:
        IdxError: `data` starts like gzip but is corrupt or truncated, or inflates to more
            than `max_bytes` (found after inflating at most one byte more).

    >>> decompress(gzip.compress(b"idx")), decompress(b"idx")
    (b'idx', b'idx')
    """
    if not data.startswith(GZIP_MAGIC):
        return data
    with gzip.GzipFile(fileobj=io.BytesIO(data), mode="rb") as stream:
        return _read_bounded(stream, max_bytes, source, gz=True)


def parse_idx(data: bytes, source: str = "<bytes>") -> NDArray[np.uint8]:
    """Parse uncompressed IDX bytes into a read-only uint8 array of the header's shape.

    The array is a view of `data` (no copy), hence read-only.

    Raises:
        IdxError: bad magic, a type code other than 0x08, rank 0 or above `MAX_RANK`, a
            truncated header, a dimension of 0 or a product of dimensions no array can
            hold, or a payload whose size differs from the product of the dimensions
            (truncated or trailing bytes).

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
    if rank > MAX_RANK:
        raise IdxError(f"{source}: rank {rank} in the header: numpy arrays have at most "
                       f"{MAX_RANK} dimensions (is this an IDX file?)")
    if len(data) < 4 + 4 * rank:
        raise IdxError(
            f"{source}: header of rank {rank} needs {4 + 4 * rank} bytes, the file has {len(data)}"
        )
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(rank))
    _check_dims(dims, source)
    return dims


def _check_dims(dims: tuple[int, ...], source: str) -> None:
    """Dimensions numpy can hold: none 0 (a lying header could pair a 0 with sizes whose
    product numpy cannot even compute) and a product an array can index."""
    if 0 in dims:
        raise IdxError(f"{source}: header declares shape {dims}: a dimension of 0 holds no "
                       "data")
    if math.prod(dims) > _MAX_SIZE:
        raise IdxError(f"{source}: header declares shape {dims}, {math.prod(dims)} values: "
                       f"more than a numpy array can hold ({_MAX_SIZE})")


def encode_idx(array: NDArray[np.uint8]) -> bytes:
    """Encode a uint8 array of rank 1 to 255 as uncompressed IDX bytes (inverse of `parse_idx`).

    Raises:
        IdxError: the dtype is not uint8, the rank is 0 or above 255, or a dimension is 0.

    >>> encode_idx(np.array([7, 9], dtype=np.uint8)).hex()
    '00000801000000020709'
    """
    if array.dtype != np.uint8:
        raise IdxError(f"only uint8 arrays are written as IDX, got {array.dtype}")
    if not 1 <= array.ndim <= 255:
        raise IdxError(f"IDX holds rank 1 to 255, got rank {array.ndim}")
    if 0 in array.shape:
        raise IdxError(f"shape {array.shape}: a dimension of 0 holds no data, which "
                       "`parse_idx` refuses")
    header = bytes([0, 0, UNSIGNED_BYTE, array.ndim])
    dims = b"".join(n.to_bytes(4, "big") for n in array.shape)
    return header + dims + np.ascontiguousarray(array).tobytes()


def read_idx_bytes(path: StrPath, *, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """Read a file and return its uncompressed bytes (gunzipped if it is gzip), at most
    `max_bytes` of them.

    Raises:
        IdxError: the file is gzip but corrupt, or holds more than `max_bytes`.
        OSError: the file cannot be read.
    """
    with _open(path) as (stream, gz):
        return _read_bounded(stream, max_bytes, os.fspath(path), gz=gz)


def digest_uncompressed(path: StrPath, digest: Digest, *,
                        max_bytes: int = DEFAULT_MAX_BYTES) -> None:
    """Feed `digest` the uncompressed content of `path` (gunzipped if it is gzip) chunk by
    chunk, never holding it whole, and refuse it past `max_bytes`: a checksum of any file,
    well-formed IDX or not, in bounded memory.

    Raises:
        IdxError: the file is gzip but corrupt, or holds more than `max_bytes`.
        OSError: the file cannot be read.
    """
    source = os.fspath(path)
    with _open(path) as (stream, gz):
        seen = 0
        try:
            while chunk := stream.read(min(_CHUNK, max_bytes + 1 - seen)):
                seen += len(chunk)
                if seen > max_bytes:
                    raise _too_long(source, max_bytes, gz)
                digest.update(chunk)
        except (OSError, EOFError, zlib.error) as e:
            if not gz:
                raise
            raise _corrupt(source, e) from e


def read_idx(path: StrPath, *, max_bytes: int = DEFAULT_MAX_BYTES,
             expected: Expected | None = None, digest: Digest | None = None
             ) -> NDArray[np.uint8]:
    """Read a gzipped or raw unsigned-byte IDX file into a read-only uint8 array.

    Args:
        path: the file.
        max_bytes: the most data bytes the header may declare.
        expected: the shape the header must declare, checked before anything is allocated.
        digest: fed the uncompressed bytes (header and data), e.g. `hashlib.md5()`.

    Raises:
        IdxError: the file is not well-formed IDX (see `parse_idx`), declares more than
            allowed, or is corrupt gzip.
        OSError: the file cannot be read.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = os.path.join(d, "x.gz")
    ...     with open(p, "wb") as f:
    ...         _ = f.write(gzip.compress(encode_idx(np.arange(6, dtype=np.uint8))))
    ...     read_idx(p).tolist()
    [0, 1, 2, 3, 4, 5]
    """
    source = os.fspath(path)
    with _open(path) as (stream, gz):
        try:
            return _read_idx(stream, source, max_bytes, expected, digest)
        except (OSError, EOFError, zlib.error) as e:
            if not gz:
                raise
            raise _corrupt(source, e) from e


def _read_idx(stream: io.BufferedIOBase, source: str, max_bytes: int, expected: Expected | None,
              digest: Digest | None) -> NDArray[np.uint8]:
    """Header first, then exactly the data it declares, then nothing more."""
    header = stream.read(4)
    if len(header) == 4 and header[:2] == b"\0\0":  # else _parse_header says what is wrong
        header += stream.read(4 * header[3])
    dims = _parse_header(header, source)
    if expected is not None:
        expected.check(dims, source)
    n = math.prod(dims)
    if n > max_bytes:
        raise IdxError(f"{source}: header declares shape {dims}, {n} bytes of data: more than "
                       f"the limit of {max_bytes} (pass max_bytes to read larger files)")
    data = np.empty(n, dtype=np.uint8)
    got = _read_into(stream, data.data)
    if got < n:
        raise IdxError(
            f"{source}: truncated: header says shape {dims}, so expected {n} bytes of "
            f"data after the {len(header)}-byte header, but the file has {got}"
        )
    if extra := len(stream.read(_TRAILING_PROBE)):
        count = f"{extra}" if extra < _TRAILING_PROBE else f"at least {extra}"
        raise IdxError(
            f"{source}: {count} trailing bytes: header says shape {dims}, so expected {n} "
            f"bytes of data after the {len(header)}-byte header, found {count} more"
        )
    if digest is not None:
        digest.update(header)
        digest.update(data.data)
    data.flags.writeable = False
    return data.reshape(dims)


def _read_into(stream: io.BufferedIOBase, out: memoryview) -> int:
    """Fill `out` from `stream` as far as it goes; the number of bytes read."""
    got = 0
    while got < len(out):
        chunk = stream.read(min(_CHUNK, len(out) - got))
        if not chunk:
            break
        out[got:got + len(chunk)] = chunk
        got += len(chunk)
    return got


def _read_bounded(stream: io.BufferedIOBase, max_bytes: int, source: str, *, gz: bool) -> bytes:
    """Everything in `stream`, refused once it passes `max_bytes`."""
    try:
        data = stream.read(max_bytes + 1)
    except (OSError, EOFError, zlib.error) as e:
        if not gz:
            raise
        raise _corrupt(source, e) from e
    if len(data) > max_bytes:
        raise _too_long(source, max_bytes, gz)
    return data


def _too_long(source: str, max_bytes: int, gz: bool) -> IdxError:
    return IdxError(f"{source}: more than {max_bytes} bytes{' once gunzipped' if gz else ''}: "
                    "not an IDX file of the size expected")


@contextlib.contextmanager
def _open(path: StrPath) -> Iterator[tuple[io.BufferedIOBase, bool]]:
    """The uncompressed content of `path` as a stream, and whether it is gzip."""
    with open(path, "rb") as f:
        gz = f.read(2) == GZIP_MAGIC
        f.seek(0)
        if not gz:
            yield f, False
            return
        with gzip.GzipFile(fileobj=f, mode="rb") as stream:
            yield stream, True


def _corrupt(source: str, e: BaseException) -> IdxError:
    return IdxError(f"{source}: corrupt gzip data ({e}); delete the file and fetch it again")
