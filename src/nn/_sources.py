"""Where `nn.load` reads a checkpoint's fields from: one source per container format.

A source answers the same questions whatever the container: which names it holds, and the
array, number or text stored under a name, each checked against the rank and kind the layer
field needs before any data is read. A `.npz` archive stores every field as a member; a
safetensors file stores arrays as tensors and scalars as `__metadata__` strings.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any

import numpy as np

from . import _npz, _safetensors
from ._errors import CheckpointError

FORMAT = "typedarr.nn"
NPZ_VERSION = 1
SAFETENSORS_VERSION = 2
HEAD = ("format", "version", "kinds")
"""The names of a checkpoint's header fields, beside the layers' fields."""
Array = np.ndarray[Any, Any]
NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?", re.ASCII)
"""A number as metadata stores it (Python's `repr` of a finite float, or an int): ASCII
digits only, no `_`, no spaces, no sign but a leading `-`, no `nan` or `inf` (no setting
may hold them). `float()` alone would take `1_0`, `' 1'`, Arabic-Indic digits and `'nan'`."""


class NpzSource:
    """Fields of a version 1 archive: every field, scalars included, is a member."""

    def __init__(self, archive: _npz.Archive) -> None:
        self._archive = archive

    def names(self) -> set[str]:
        return set(self._archive.members) - set(HEAD)

    def array(self, key: str, ndim: int) -> Array:
        return self._archive.read(self._checked(key, ndim, "f"))

    def number(self, key: str) -> float:
        return float(self._archive.read(self._checked(key, 0, "f")))

    def text(self, key: str) -> str:
        return str(self._archive.read(self._checked(key, 0, "U")))

    def kinds(self) -> list[str]:
        """The layer kinds, after checking the format and its version."""
        fmt = self.text("format")
        if fmt != FORMAT:
            raise CheckpointError(f"not an nn checkpoint: format is {fmt!r:.40}, not {FORMAT!r}")
        version = int(self._archive.read(self._checked("version", 0, "iu")))
        if version != NPZ_VERSION:
            raise CheckpointError(f"checkpoint format version {version} is not supported (this "
                                  f"nn reads version {NPZ_VERSION} in .npz and version "
                                  f"{SAFETENSORS_VERSION} in safetensors)")
        return [str(k) for k in self._archive.read(self._checked("kinds", 1, "U")).tolist()]

    def _checked(self, key: str, ndim: int, kinds: str) -> str:
        """`key`, once its declared rank and dtype are what the field needs."""
        member = self._archive.members.get(key)
        if member is None:
            raise CheckpointError(f"missing key {key!r}: the checkpoint is incomplete")
        dtype = member.dtype
        wrong_float = kinds == "f" and dtype.newbyteorder("=") not in (np.float32, np.float64)
        if len(member.shape) != ndim or dtype.kind not in kinds or wrong_float:
            raise CheckpointError(f"key {key!r} holds a {len(member.shape)}-d {dtype} array, "
                                  f"expected {ndim}-d of kind {kinds!r}"
                                  + (" (float32 or float64)" if kinds == "f" else ""))
        return key


class SafetensorsSource:
    """Fields of a safetensors file: arrays are tensors, scalars are metadata strings."""

    def __init__(self, f: io.BufferedReader, header: _safetensors.Header) -> None:
        self._f, self._header = f, header

    def names(self) -> set[str]:
        tensors, metadata = set(self._header.tensors), set(self._header.metadata) - set(HEAD)
        if both := sorted(tensors & metadata):
            raise CheckpointError(f"keys {both} are both tensors and metadata")
        return tensors | metadata

    def array(self, key: str, ndim: int) -> Array:
        info = self._header.tensors.get(key)
        if info is None:
            raise CheckpointError(f"key {key!r} is metadata, expected a tensor")
        if len(info.shape) != ndim:
            raise CheckpointError(f"key {key!r} holds a {len(info.shape)}-d tensor, expected "
                                  f"{ndim}-d")
        return _safetensors.read_tensor(self._f, info)

    def number(self, key: str) -> float:
        text = self.text(key)
        if not NUMBER.fullmatch(text):
            raise CheckpointError(f"metadata {key!r} is {text!r:.40}, not a number written "
                                  f"as nn writes one (ASCII digits, e.g. 1e-05)")
        return float(text)

    def text(self, key: str) -> str:
        if key not in self._header.metadata:
            raise CheckpointError(f"key {key!r} is a tensor, expected metadata")
        return self._header.metadata[key]


def safetensors_kinds(header: _safetensors.Header) -> list[str]:
    meta = header.metadata
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"not an nn checkpoint: __metadata__ format is "
                              f"{meta.get('format')!r:.40}, not {FORMAT!r} (a PyTorch "
                              f"state_dict? read it with nn.from_state_dict(template, path))")
    if meta.get("version") != str(SAFETENSORS_VERSION):
        raise CheckpointError(f"checkpoint format version {meta.get('version')!r:.40} is not "
                              f"supported (this nn reads version {SAFETENSORS_VERSION} in "
                              f"safetensors and version {NPZ_VERSION} in .npz)")
    try:
        kinds = json.loads(meta.get("kinds", ""))
    except (ValueError, RecursionError) as e:
        raise CheckpointError("__metadata__ kinds is not a JSON list of layer kinds") from e
    if not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds):
        raise CheckpointError("__metadata__ kinds is not a JSON list of layer kinds")
    return kinds


Source = NpzSource | SafetensorsSource
