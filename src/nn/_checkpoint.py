"""Saving and loading networks: safetensors files by default, numpy `.npz` archives on request.

Formats. `save` writes safetensors (format version 2) unless the destination's name ends in
`.npz`, which gets the `.npz` archive nn wrote before (format version 1), so a name says what
the file is and older versions of nn can still read such a file. `load` reads both, telling
them apart by their first bytes, not by the name. safetensors is the default because its
design removes the costly-file problem: an 8-byte header length, a JSON header of bounded size
whose offsets are checked against the file, then raw little-endian data; no compression and no
pickle, so a file cannot declare more than it holds; and PyTorch and the Hugging Face tools
read it (`safetensors.numpy.load_file` gives the arrays by name).

Layout. Each layer `i` stores every field its class declares (`nn._fields`), in declaration
order, under `layer{i}.{field}`: the arrays (`w`, `b` of a Linear or Conv2d; `mu`, `var`,
`gamma`, `beta` of a batchnorm layer), of the network's dtype, as tensors; the settings as
scalars (a setting declared `added`, such as a Conv2d's `stride` and `padding`, may be
absent from a file an older nn wrote: it loads with its default). In safetensors,
`__metadata__` holds `format` (`typedarr.nn`), `version` (`2`), `kinds` (a JSON list of
each layer's class name, e.g. `Linear`) and the settings as strings:
numbers as Python's exact `repr` of the float (`layer{i}.eps`, `layer{i}.k`), choices as the
Enum's value (`layer{i}.f`, the activation's name, e.g. `relu`). In `.npz`, the same names are
members: `format`, `version` (1), `kinds`, and the settings as 0-d arrays (float64, or a
string for a choice). A new layer kind needs nothing here: its declaration is its layout.

Writing. `save` publishes the file atomically (`typedarr.atomic_writer`): a crash leaves the
previous checkpoint, never half of one. Through a symbolic link it writes the file the link
names; a destination that is a directory, a FIFO or a device is refused.

What a load may allocate. `load` checks the names, dtypes and shapes a file declares against
what its declared layers need, and checks that the declared data is in the file, before it
reads any data: at most the file's size is read, each array is read once and then copied into
its Matrix or Vector, so a load never holds more than about twice the file's size (plus a
safetensors header of at most 1 MiB). Every failure is a `CheckpointError` naming the file
and the problem.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import stat
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from typedarr import Matrix, Tensor4, Vector, atomic_writer

from . import _npz, _safetensors
from ._check import check_network
from ._errors import CheckpointError, NetworkError
from ._fields import specs
from ._layers import KINDS, Flatten, Layer, Network, is_layer
from ._sources import (
    FORMAT,
    NPZ_VERSION,
    SAFETENSORS_VERSION,
    NpzSource,
    SafetensorsSource,
    Source,
    safetensors_kinds,
)

StrPath = str | os.PathLike[str]
Array = np.ndarray[Any, Any]
Value = Array | float | str
FROM_NUMPY: Mapping[int, Callable[..., Any]] = {
    1: Vector.from_numpy, 2: Matrix.from_numpy, 4: Tensor4.from_numpy}
"""The array kind of each rank a layer field may have."""


def save(net: Sequence[Layer], path: StrPath) -> None:
    """Write `net` to `path`, atomically: safetensors, or a version 1 `.npz` for `*.npz`.

    Raises CheckpointError if the file cannot be written (the previous file, if any, is
    left as it was), NetworkError for an entry that is not a layer.

    >>> import nn, tempfile, os
    >>> net = [nn.Linear(Matrix.ones(2, 3), Vector.zeros(3)), nn.Activation(nn.Relu)]
    >>> with tempfile.TemporaryDirectory() as d:
    ...     nn.save(net, os.path.join(d, "net.safetensors"))
    ...     nn.load(os.path.join(d, "net.safetensors"))
    [Linear(2->3, float32), Activation(Relu)]
    """
    fields = _encode(net)
    kinds = [type(layer).__name__ for layer in net]
    def write_npz(f: IO[bytes]) -> None:
        _npz.write(f, _npz_arrays(kinds, fields))

    def write_safetensors(f: IO[bytes]) -> None:
        tensors = {k: v for k, v in fields.items() if isinstance(v, np.ndarray)}
        _safetensors.write(f, tensors, _metadata(kinds, fields))

    write: Callable[[IO[bytes]], None] = (
        write_npz if os.fspath(path).lower().endswith(".npz") else write_safetensors)
    try:
        with atomic_writer(path) as f:
            write(f)
    except OSError as e:
        raise CheckpointError(f"cannot write a checkpoint in {Path(path).parent}: {e}") from e


def load(path: StrPath) -> Network:
    """The network saved at `path` (safetensors or `.npz`, told apart by content).

    Raises CheckpointError for a missing, truncated, corrupt or special file, another format
    or version, a missing or unexpected key, a declared size the file does not hold, or
    layers that are not valid or do not chain.

    >>> import nn
    >>> nn.load("no/such/file.safetensors")
    Traceback (most recent call last):
    ...
    nn.CheckpointError: no checkpoint at no/such/file.safetensors
    """
    with _open(path) as (f, size):
        try:
            head = f.read(8)
            f.seek(0)
            if head.startswith(b"\x93NUMPY"):
                raise CheckpointError("a single .npy array, not an nn checkpoint (.npz)")
            if head.startswith(b"PK"):
                with _npz.Archive(f, size) as archive:
                    source = NpzSource(archive)
                    net = _decode(source.kinds(), source)
            else:
                header = _safetensors.read_header(f, size)
                kinds = safetensors_kinds(header)  # first: another tool's file says so
                _safetensors.check_dtypes(header, _safetensors.DTYPES)
                net = _decode(kinds, SafetensorsSource(f, header))
            _check_chain(net)
        except CheckpointError as e:
            raise CheckpointError(f"{os.fspath(path)}: {e}") from e
        except OSError as e:  # before ValueError: a read that fails is not a bad network
            raise CheckpointError(f"cannot read checkpoint {os.fspath(path)}: {e}") from e
        except (NetworkError, TypeError, ValueError) as e:
            raise CheckpointError(f"{os.fspath(path)} does not hold a valid network: {e}") from e
    return net


@contextlib.contextmanager
def _open(path: StrPath) -> Iterator[tuple[io.BufferedReader, int]]:
    """`path` opened for reading, and its size, if it is a regular file."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; refused below anyway
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError as e:
        raise CheckpointError(f"no checkpoint at {os.fspath(path)}") from e
    except OSError as e:
        raise CheckpointError(f"cannot read checkpoint {os.fspath(path)}: {e}") from e
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise CheckpointError(f"{os.fspath(path)} is not a regular file (a directory, FIFO or "
                              f"device?), so not a checkpoint")
    with os.fdopen(fd, "rb") as f:
        yield f, st.st_size


def _encode(net: Sequence[Layer]) -> dict[str, Value]:
    """Every field of every layer, by its key `layer{i}.{field}`."""
    out: dict[str, Value] = {}
    for i, layer in enumerate(net):
        if not is_layer(layer):
            raise NetworkError(f"layer {i} is not a layer: {layer!r}")
        out.update({f"layer{i}.{k}": v for k, v in _fields(layer).items()})
    return out


def _fields(layer: Layer) -> dict[str, Value]:
    """The layer's declared fields as stored: arrays, numbers (floats) and choices (text)."""
    out: dict[str, Value] = {}
    for spec in specs(type(layer)):
        value = getattr(layer, spec.name)
        if spec.rank:
            out[spec.name] = np.asarray(value)
        elif spec.choices is not None:
            out[spec.name] = value.value
        else:
            out[spec.name] = float(value)
    return out


def _npz_arrays(kinds: list[str], fields: Mapping[str, Value]) -> dict[str, Array]:
    """The members of a version 1 archive: scalars become 0-d arrays."""
    arrays: dict[str, Array] = {"format": np.array(FORMAT), "version": np.array(NPZ_VERSION),
                                "kinds": np.array(kinds, dtype=np.str_)}
    for key, value in fields.items():
        arrays[key] = value if isinstance(value, np.ndarray) else np.array(
            value, dtype=np.float64 if isinstance(value, float) else np.str_)
    return arrays


def _metadata(kinds: list[str], fields: Mapping[str, Value]) -> dict[str, str]:
    """The safetensors metadata: the head, then each scalar as an exact string."""
    out = {"format": FORMAT, "version": str(SAFETENSORS_VERSION), "kinds": json.dumps(kinds)}
    for key, value in fields.items():
        if isinstance(value, float):
            out[key] = repr(value)
        elif isinstance(value, str):
            out[key] = value
    return out


def _decode(kinds: list[str], source: Source) -> Network:
    """The layers, after checking that the names present are exactly those `kinds` need."""
    expected: list[str] = []
    optional: set[str] = set()
    for i, kind in enumerate(kinds):
        if kind not in KINDS:
            raise CheckpointError(f"layer {i}: unknown layer kind {kind!r:.40}")
        expected += [f"layer{i}.{spec.name}" for spec in specs(KINDS[kind])]
        optional |= {f"layer{i}.{spec.name}" for spec in specs(KINDS[kind]) if spec.optional}
    present = source.names()
    for key in expected:
        if key not in present and key not in optional:
            raise CheckpointError(f"missing key {key!r}: the checkpoint is incomplete")
    if extra := sorted(present - set(expected)):
        raise CheckpointError(f"unexpected keys {extra[:10]}: not written by this version "
                              f"of nn")
    return [_layer(i, KINDS[kind], source, present) for i, kind in enumerate(kinds)]


def _layer(i: int, kind: type, source: Source, present: set[str]) -> Layer:
    """Layer `i`, of class `kind`, from its declared fields in `source` (a setting the file
    predates keeps its default)."""
    values: dict[str, Any] = {}
    for spec in specs(kind):
        key = f"layer{i}.{spec.name}"
        if key not in present:  # only an optional setting: _decode checked
            continue
        if spec.rank:
            # NaN passes here so that the layer's own check refuses it, naming the field
            values[spec.name] = FROM_NUMPY[spec.rank](source.array(key, spec.rank),
                                                      nonfinite="allow")
        elif spec.choices is not None:
            text = source.text(key)
            try:
                values[spec.name] = spec.choices(text)
            except ValueError as e:
                raise CheckpointError(f"layer {i}: unknown {spec.what} {text!r:.40}") from e
        else:  # a number; an integral one is an int setting's value (a window's size)
            x = source.number(key)
            values[spec.name] = int(x) if spec.integral and x.is_integer() else x
    try:
        layer: Layer = kind(**values)
    except NetworkError as e:  # the checks every layer gets where it is made
        raise NetworkError(f"layer {i}: {e}") from e
    return layer


def _check_chain(net: Network) -> None:
    """The layer sizes chain (from the first layer that fixes an input size).

    A checkpoint does not store the size of the images a convolutional network was trained
    on, so its layers up to its first `Flatten` are checked for channels and dtypes only
    (with images larger than any kernel), and the layers after it as a dense network.
    """
    flat = next((i for i, layer in enumerate(net) if isinstance(layer, Flatten)), len(net))
    head = next((s for layer in net[:flat] if isinstance(s := layer.input_size(), tuple)), None)
    if head is not None:
        check_network(net[:flat], head)
        net = net[flat + 1:]
    first = next((s for layer in net if isinstance(s := layer.input_size(), int)), None)
    if first is not None:
        check_network(net, first)
