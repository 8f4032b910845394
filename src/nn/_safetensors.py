"""The safetensors file format, written strictly for float32 and float64 tensors, read
strictly for any of its dtypes.

A safetensors file is an 8-byte little-endian header length `N`, `N` bytes of JSON, then one
byte buffer. The JSON maps each tensor's name to `{"dtype", "shape", "data_offsets"}` (offsets
into the buffer, little-endian C order) and may hold a `"__metadata__"` map of strings. There
is no compression and no code in it, so a file cannot claim more than it holds: `read_header`
checks, before any tensor is read, that the header is at most `MAX_HEADER` bytes of valid JSON
without duplicate keys, that every dtype is one the format defines, that each tensor's
offsets span exactly `prod(shape) * itemsize` bytes, and that the tensors tile the buffer
from its first byte to the file's last, without gaps or overlaps (the rules of the reference
implementation, which PyTorch and the Hugging Face tools use). Which dtypes a reader takes is
its own business: `nn.load` takes F32 and F64 (`check_dtypes`); `nn.from_state_dict` reads
only the tensors its template names, past PyTorch's I64 `num_batches_tracked` counters;
`read_tensor` reads any dtype numpy has (not BF16 or the F8s). Reading a tensor then
allocates only what the file holds. Files are read with ordinary reads rather than
memory-mapped, so a file truncated by someone else while it is being read is an error, not a
crash (SIGBUS).
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

from ._errors import CheckpointError

MAX_HEADER = 1 << 20
"""The longest JSON header read (bytes): far above what a network of thousands of layers
needs, far below what would cost memory to parse."""

DTYPES: Mapping[str, np.dtype[Any]] = {"F32": np.dtype("<f4"), "F64": np.dtype("<f8")}
"""The dtypes nn's own checkpoints hold (and the only ones `write` writes)."""
NUMPY: Mapping[str, np.dtype[Any]] = {
    **DTYPES, "F16": np.dtype("<f2"), "I8": np.dtype("i1"), "I16": np.dtype("<i2"),
    "I32": np.dtype("<i4"), "I64": np.dtype("<i8"), "U8": np.dtype("u1"),
    "U16": np.dtype("<u2"), "U32": np.dtype("<u4"), "U64": np.dtype("<u8"),
    "BOOL": np.dtype("?")}
"""The dtypes `read_tensor` can read: those of the format that numpy has."""
ITEMSIZE: Mapping[str, int] = {**{k: v.itemsize for k, v in NUMPY.items()},
                               "BF16": 2, "F8_E4M3": 1, "F8_E5M2": 1}
"""Every dtype the format defines, with its size in bytes (what the header check needs)."""
_NAMES = {dtype: name for name, dtype in DTYPES.items()}
_ALIGN = 8  # the buffer starts 8-aligned (the header is padded with spaces, as the reference does)
_MAX_RANK = 8
_METADATA = "__metadata__"


@dataclass(frozen=True, slots=True)
class TensorInfo:
    """Where one tensor lies in the file and what it holds."""

    dtype: str  # the format's name: F32, I64, BF16, ...
    shape: tuple[int, ...]
    start: int  # absolute file offsets
    end: int


@dataclass(frozen=True, slots=True)
class Header:
    """A validated header: the tensors by name and the metadata strings."""

    tensors: Mapping[str, TensorInfo]
    metadata: Mapping[str, str]


def write(f: IO[bytes], tensors: Mapping[str, np.ndarray[Any, Any]],
          metadata: Mapping[str, str]) -> None:
    """Write `tensors` (float32 or float64, any rank) and `metadata` to `f`, in the order given.

    Raises CheckpointError for another dtype, or a header longer than `MAX_HEADER`.
    """
    header: dict[str, Any] = {_METADATA: dict(metadata)} if metadata else {}
    offset = 0
    for name, a in tensors.items():
        dtype = a.dtype.newbyteorder("<")
        if dtype not in _NAMES:
            raise CheckpointError(f"tensor {name!r} is {a.dtype}: safetensors checkpoints hold "
                                  f"float32 or float64")
        header[name] = {"dtype": _NAMES[dtype], "shape": list(a.shape),
                        "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % _ALIGN)
    if len(text) > MAX_HEADER:
        raise CheckpointError(f"the header would take {len(text)} bytes, more than the "
                              f"{MAX_HEADER} a reader accepts: too many layers for one file")
    f.write(len(text).to_bytes(8, "little"))
    f.write(text)
    for a in tensors.values():
        f.write(np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<")).tobytes())


def read_header(f: io.BufferedIOBase, size: int) -> Header:
    """The header of the safetensors file `f` of `size` bytes, checked against the file.

    Raises CheckpointError naming the first problem found.
    """
    if size < 8:
        raise CheckpointError(f"{size} bytes is too short for a safetensors header length "
                              f"(8 bytes): truncated or corrupt?")
    n = int.from_bytes(_read_exactly(f, 8), "little")
    if n > MAX_HEADER:
        raise CheckpointError(f"the header length field says {n} bytes: more than the "
                              f"{MAX_HEADER}-byte limit on headers (truncated or corrupt? "
                              f"not a checkpoint?)")
    if n > size - 8:
        raise CheckpointError(f"the header length field says {n} bytes, but the file has "
                              f"only {size - 8} after it (truncated or corrupt?)")
    raw = _read_exactly(f, n)
    if not raw.startswith(b"{"):
        raise CheckpointError("the header is not a JSON object (it must start with '{'): "
                              "truncated or corrupt?")
    try:
        parsed = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates,
                            parse_constant=_no_constant)
    except CheckpointError:
        raise
    except RecursionError as e:
        raise CheckpointError("the header's JSON is nested too deeply") from e
    except (UnicodeDecodeError, ValueError) as e:  # json.JSONDecodeError is a ValueError
        raise CheckpointError(f"the header is not valid JSON (truncated or corrupt?): {e}"
                              ) from e
    if not isinstance(parsed, dict):  # unreachable after the '{' check; kept for mypy
        raise CheckpointError("the header is not a JSON object")
    metadata = _metadata(parsed.pop(_METADATA, {}))
    tensors = {name: _tensor(name, entry) for name, entry in parsed.items()}
    return Header(_tile(tensors, 8 + n, size), metadata)


def check_dtypes(header: Header, dtypes: Mapping[str, object]) -> None:
    """Raise CheckpointError unless every tensor of `header` has one of `dtypes`."""
    for name, info in header.tensors.items():
        if info.dtype not in dtypes:
            raise CheckpointError(f"tensor {name!r} has dtype {info.dtype!r}: only "
                                  f"{' and '.join(dtypes)} are read")


def read_tensor(f: io.BufferedIOBase, info: TensorInfo) -> np.ndarray[Any, Any]:
    """The values of one tensor of a header that `read_header` returned, in native byte order.

    Raises CheckpointError for a dtype numpy does not have (BF16, F8), or if the file is
    shorter than when its header was read.
    """
    dtype = NUMPY.get(info.dtype)
    if dtype is None:
        raise CheckpointError(f"a {info.dtype} tensor cannot be read: numpy has no such dtype "
                              f"(convert it with .float() before saving)")
    f.seek(info.start)
    buffer = bytearray(info.end - info.start)  # bounded: read_header checked it is in the file
    view = memoryview(buffer)
    got = 0
    while got < len(buffer):
        n = f.readinto(view[got:])
        if not n:
            raise CheckpointError(f"the file ended {len(buffer) - got} bytes into a tensor "
                                  f"(it was truncated while being read?)")
        got += n
    a = np.frombuffer(buffer, dtype=dtype).reshape(info.shape)
    return a.astype(dtype.newbyteorder("="), copy=False)


def _read_exactly(f: io.BufferedIOBase, n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise CheckpointError(f"the file ended after {len(data)} of {n} header bytes "
                              f"(truncated or corrupt?)")
    return data


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise CheckpointError(f"the header names {key!r} twice")
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise CheckpointError(f"the header holds {name}, which is not JSON")


def _metadata(value: object) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise CheckpointError(f"{_METADATA} must map names to strings")
    return value


def _tensor(name: str, entry: object) -> tuple[str, tuple[int, ...], int, int]:
    """One header entry's dtype, shape and relative offsets, each of the right type."""
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise CheckpointError(f"tensor {name!r}: an entry needs exactly dtype, shape and "
                              f"data_offsets, got {entry!r:.200}")
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if dtype not in ITEMSIZE:
        raise CheckpointError(f"tensor {name!r} has dtype {dtype!r:.40}, which is not a "
                              f"safetensors dtype")
    if not _ints(shape) or len(shape) > _MAX_RANK:
        raise CheckpointError(f"tensor {name!r}: shape {shape!r:.200} is not a list of at most "
                              f"{_MAX_RANK} non-negative integers")
    if not _ints(offsets) or len(offsets) != 2 or offsets[0] > offsets[1]:
        raise CheckpointError(f"tensor {name!r}: data_offsets {offsets!r:.200} is not "
                              f"[begin, end] with 0 <= begin <= end")
    nbytes = math.prod(shape) * ITEMSIZE[dtype]
    if offsets[1] - offsets[0] != nbytes:
        raise CheckpointError(f"tensor {name!r}: shape {shape} of {dtype} needs {nbytes} bytes, "
                              f"its data_offsets {offsets} span {offsets[1] - offsets[0]}")
    return dtype, tuple(shape), offsets[0], offsets[1]


def _ints(value: object) -> bool:
    return isinstance(value, list) and all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value)


def _tile(tensors: Mapping[str, tuple[str, tuple[int, ...], int, int]], base: int,
          size: int) -> dict[str, TensorInfo]:
    """The tensors with absolute offsets, after checking they tile the buffer exactly."""
    end = 0
    for name, (_, _, start, stop) in sorted(tensors.items(), key=lambda kv: kv[1][2:]):
        if start != end:
            what = "overlaps the tensor before it" if start < end else "leaves a gap before it"
            raise CheckpointError(f"tensor {name!r}: data_offsets [{start}, {stop}] {what} "
                                  f"(which ends at {end})")
        end = stop
    if base + end != size:
        what = "past its end" if base + end > size else "before its end: bytes after the data"
        raise CheckpointError(f"the tensors end at byte {base + end} of a {size}-byte file, "
                              f"{what} (truncated or corrupt?)")
    return {name: TensorInfo(dtype, shape, base + start, base + stop)
            for name, (dtype, shape, start, stop) in tensors.items()}
