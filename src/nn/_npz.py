"""Version 1 checkpoints: numpy `.npz` archives (a zip of `.npy` files), read within bounds.

nn wrote these before safetensors became its default, and still writes them for a destination
named `*.npz`. `np.load` inflates a member before anything about it is checked, so a small
archive can make it allocate gigabytes. This reader looks at the zip directory and at each
member's `.npy` header first, and refuses before reading any data: a compressed or encrypted
member (nn always wrote them stored, so every byte a member declares is a byte in the file), a
member whose size in the zip directory differs from its `.npy` header plus the data that header
declares, a dtype that is not a plain number or string (object arrays would need pickle), and
names twice. Which names and dtypes a checkpoint may hold is the caller's to check, with
`Archive.members`, before it reads; reading a member then allocates only what the file holds.
"""

from __future__ import annotations

import math
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

from ._errors import CheckpointError

SUFFIX = ".npy"
_MAX_NPY_HEADER = 10_000  # numpy's own default limit for a .npy header it parses
_READ_ERRORS = (OSError, EOFError, ValueError, SyntaxError, RecursionError, TypeError,
                zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, NotImplementedError)


@dataclass(frozen=True, slots=True)
class Member:
    """One `.npy` member as its header declares it."""

    info: zipfile.ZipInfo
    dtype: np.dtype[Any]
    shape: tuple[int, ...]
    fortran_order: bool
    data_offset: int  # bytes of .npy header before the data


class Archive:
    """An open `.npz` archive whose members' headers have been read and checked."""

    def __init__(self, f: IO[bytes], size: int) -> None:
        """Index the archive in `f` (`size` bytes long).

        Raises CheckpointError for a file that is not a zip archive, or a member that breaks
        one of the rules in the module's docstring.
        """
        try:
            self._zip = zipfile.ZipFile(f)
        except _READ_ERRORS as e:
            raise CheckpointError(_unreadable(e)) from e
        try:
            self.members: Mapping[str, Member] = _index(self._zip, size)
        except BaseException:
            self._zip.close()
            raise

    def read(self, name: str) -> np.ndarray[Any, Any]:
        """The array in member `name` (without `.npy`), read in full and checked by CRC."""
        member = self.members[name]
        nbytes = member.info.file_size - member.data_offset
        try:
            with self._zip.open(member.info) as fp:
                fp.read(member.data_offset)
                data = fp.read(nbytes)
                if len(data) != nbytes or fp.read(1):  # the last read also checks the CRC
                    raise CheckpointError(f"member {member.info.filename!r} does not hold the "
                                          f"{nbytes} bytes its header declares")
        except _READ_ERRORS as e:
            raise CheckpointError(_unreadable(e)) from e
        flat = np.frombuffer(data, dtype=member.dtype)
        a = flat.reshape(member.shape, order="F" if member.fortran_order else "C")
        return a.astype(member.dtype.newbyteorder("="), copy=False)

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _index(z: zipfile.ZipFile, size: int) -> dict[str, Member]:
    infos = z.infolist()
    stored = sum(info.compress_size for info in infos)
    if stored > size:
        raise CheckpointError(f"the zip directory declares {stored} bytes of members in a "
                              f"{size}-byte file (truncated or corrupt?)")
    members: dict[str, Member] = {}
    for info in infos:
        name = info.filename.removesuffix(SUFFIX)
        if not info.filename.endswith(SUFFIX):
            raise CheckpointError(f"member {info.filename!r} is not a .npy array")
        if name in members:
            raise CheckpointError(f"member {info.filename!r} appears twice")
        if info.flag_bits & 0x1:
            raise CheckpointError(f"member {info.filename!r} is encrypted")
        if info.compress_type != zipfile.ZIP_STORED or info.file_size != info.compress_size:
            raise CheckpointError(f"member {info.filename!r} is compressed: nn writes .npz "
                                  f"checkpoints uncompressed (np.savez), so this file was not "
                                  f"written by nn")
        members[name] = _member(z, info)
    return members


def _member(z: zipfile.ZipFile, info: zipfile.ZipInfo) -> Member:
    """A member's `.npy` header, read without reading its data, and checked against its size."""
    try:
        with z.open(info) as fp:
            version = np.lib.format.read_magic(fp)
            match version:
                case (1, 0):
                    header = np.lib.format.read_array_header_1_0(
                        fp, max_header_size=_MAX_NPY_HEADER)
                case (2, 0):
                    header = np.lib.format.read_array_header_2_0(
                        fp, max_header_size=_MAX_NPY_HEADER)
                case _:
                    raise CheckpointError(f"member {info.filename!r} is .npy version "
                                          f"{version}, which nn never wrote")
            offset = fp.tell()
    except CheckpointError:
        raise
    except _READ_ERRORS as e:
        raise CheckpointError(f"member {info.filename!r} has no readable .npy header "
                              f"(truncated or corrupt?): {type(e).__name__}: {e}") from e
    shape, fortran_order, dtype = header
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
        raise CheckpointError(f"member {info.filename!r} holds {dtype}, not plain numbers or "
                              f"strings")
    if any(n < 0 for n in shape):
        raise CheckpointError(f"member {info.filename!r} declares shape {shape}")
    declared = offset + math.prod(shape) * dtype.itemsize
    if info.file_size != declared:
        raise CheckpointError(f"member {info.filename!r} holds {info.file_size} bytes, but its "
                              f"header declares shape {shape} of {dtype}: {declared} bytes")
    return Member(info, dtype, tuple(shape), bool(fortran_order), offset)


def _unreadable(e: BaseException) -> str:
    return f"not a readable .npz archive (truncated or corrupt?): {type(e).__name__}: {e}"


def write(f: IO[bytes], arrays: Mapping[str, np.ndarray[Any, Any]]) -> None:
    """Write `arrays` to `f` as an uncompressed `.npz` archive, without pickle."""
    np.savez(f, allow_pickle=False, **arrays)

