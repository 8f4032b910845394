"""Saving and loading networks: safetensors files by default, numpy `.npz` archives on request.

Formats. `save` writes safetensors (format version 2) unless the destination's name ends in
`.npz`, which gets the `.npz` archive nn wrote before (format version 1), so a name says what
the file is and older versions of nn can still read such a file. `load` reads both, telling
them apart by their first bytes, not by the name. safetensors is the default because its
design removes the costly-file problem: an 8-byte header length, a JSON header of bounded size
whose offsets are checked against the file, then raw little-endian data; no compression and no
pickle, so a file cannot declare more than it holds; and PyTorch and the Hugging Face tools
read it (`safetensors.numpy.load_file` gives the arrays by name).

Layout. Each layer `i` has its arrays under `layer{i}.{field}`: `w`, `b` (Linear, and Conv2d
with a 4-d `w`), `w` (LinearNoBias), `mu`, `var`, `gamma`, `beta` (Batchnorm1d, Batchnorm2d),
of the network's dtype. In safetensors, `__metadata__` holds `format` (`typedarr.nn`),
`version` (`2`), `kinds` (a JSON list with one of `Linear`, `LinearNoBias`, `Batchnorm1d`,
`Activation`, `Dropout`, `Conv2d`, `AvgPool2d`, `Batchnorm2d`, `Flatten` per layer) and the
scalar fields as strings: `layer{i}.eps`, `layer{i}.momentum`, `layer{i}.p`, `layer{i}.k`
(Python's exact `repr` of the float) and `layer{i}.f` (the activation's name, e.g. `relu`).
In `.npz`, the same names are members: `format`, `version` (1), `kinds`, and the scalars as
0-d arrays (float64, or a string for `f`).

Writing. `save` publishes the file atomically (`typedarr._atomic`): a crash leaves the previous
checkpoint, never half of one. Through a symbolic link it writes the file the link names;
a destination that is a directory, a FIFO or a device is refused.

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
from typing import IO, Any, Literal, assert_never

import numpy as np

from typedarr import Matrix, Tensor4, Vector
from typedarr._atomic import atomic_writer

from . import _npz, _safetensors
from ._check import check_network
from ._errors import CheckpointError, NetworkError
from ._layers import (
    LAYER_KINDS,
    Activation,
    AvgPool2d,
    Batchnorm1d,
    Batchnorm2d,
    Conv2d,
    Dropout,
    FActivation,
    Flatten,
    Layer,
    Linear,
    LinearNoBias,
    Network,
)
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
Field = Literal["tensor4", "matrix", "vector", "number", "text"]
Value = Array | float | str

SCHEMA: Mapping[str, tuple[tuple[str, Field], ...]] = {
    "Linear": (("w", "matrix"), ("b", "vector")),
    "LinearNoBias": (("w", "matrix"),),
    "Batchnorm1d": (("mu", "vector"), ("var", "vector"), ("gamma", "vector"),
                    ("beta", "vector"), ("eps", "number"), ("momentum", "number")),
    "Activation": (("f", "text"),),
    "Dropout": (("p", "number"),),
    "Conv2d": (("w", "tensor4"), ("b", "vector")),
    "AvgPool2d": (("k", "number"),),
    "Batchnorm2d": (("mu", "vector"), ("var", "vector"), ("gamma", "vector"),
                    ("beta", "vector"), ("eps", "number"), ("momentum", "number")),
    "Flatten": (),
}
"""The fields each layer kind stores, in order: arrays (tensors) and scalars."""

_ANY_IMAGE = 1 << 20  # rows and columns larger than any kernel or pooling window
_NDIM = {"matrix": 2, "vector": 1}


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
    write: Callable[[IO[bytes]], None]
    if os.fspath(path).lower().endswith(".npz"):
        def write(f: IO[bytes]) -> None:
            _npz.write(f, _npz_arrays(kinds, fields))
    else:
        tensors = {k: v for k, v in fields.items() if isinstance(v, np.ndarray)}
        metadata = _metadata(kinds, fields)

        def write(f: IO[bytes]) -> None:
            _safetensors.write(f, tensors, metadata)
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
                net = _decode(safetensors_kinds(header), SafetensorsSource(f, header))
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
        if not isinstance(layer, LAYER_KINDS):
            raise NetworkError(f"layer {i} is not a layer: {layer!r}")
        out.update({f"layer{i}.{k}": v for k, v in _fields(layer).items()})
    return out


def _fields(layer: Layer) -> dict[str, Value]:
    match layer:
        case Linear(w, b):
            return {"w": np.asarray(w), "b": np.asarray(b)}
        case LinearNoBias(w):
            return {"w": np.asarray(w)}
        case Batchnorm1d(mu, var, gamma, beta, eps, momentum):
            return {"mu": np.asarray(mu), "var": np.asarray(var), "gamma": np.asarray(gamma),
                    "beta": np.asarray(beta), "eps": float(eps), "momentum": float(momentum)}
        case Activation(f):
            return {"f": f.value}
        case Dropout(p):
            return {"p": float(p)}
        case Conv2d(w, b):
            return {"w": np.asarray(w), "b": np.asarray(b)}
        case AvgPool2d(k):
            return {"k": float(k)}
        case Batchnorm2d(mu, var, gamma, beta, eps, momentum):
            return {"mu": np.asarray(mu), "var": np.asarray(var), "gamma": np.asarray(gamma),
                    "beta": np.asarray(beta), "eps": float(eps), "momentum": float(momentum)}
        case Flatten():
            return {}
        case _:
            assert_never(layer)


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
    for i, kind in enumerate(kinds):
        if kind not in SCHEMA:
            raise CheckpointError(f"layer {i}: unknown layer kind {kind!r:.40}")
        expected += [f"layer{i}.{field}" for field, _ in SCHEMA[kind]]
    present = source.names()
    for key in expected:
        if key not in present:
            raise CheckpointError(f"missing key {key!r}: the checkpoint is incomplete")
    if extra := sorted(present - set(expected)):
        raise CheckpointError(f"unexpected keys {extra[:10]}: not written by this version "
                              f"of nn")
    return [_layer(i, kind, source) for i, kind in enumerate(kinds)]


def _layer(i: int, kind: str, source: Source) -> Layer:
    values: dict[str, Any] = {}
    for field, what in SCHEMA[kind]:
        key = f"layer{i}.{field}"
        match what:
            case "tensor4":
                values[field] = Tensor4.from_numpy(source.array(key, 4), nonfinite="allow")
            case "matrix":
                values[field] = Matrix.from_numpy(source.array(key, 2), nonfinite="allow")
            case "vector":
                values[field] = Vector.from_numpy(source.array(key, 1), nonfinite="allow")
            case "number":
                values[field] = source.number(key)
            case "text":
                values[field] = source.text(key)
            case _:
                assert_never(what)
    # NaN is kept in the arrays above: a diverged network loads as it was saved
    match kind:
        case "Linear":
            return Linear(values["w"], values["b"])
        case "LinearNoBias":
            return LinearNoBias(values["w"])
        case "Batchnorm1d":
            return Batchnorm1d(values["mu"], values["var"], values["gamma"], values["beta"],
                               eps=values["eps"], momentum=values["momentum"])
        case "Activation":
            try:
                return Activation(FActivation(values["f"]))
            except ValueError as e:
                raise CheckpointError(f"layer {i}: unknown activation {values['f']!r:.40}") from e
        case "Dropout":
            return Dropout(values["p"])
        case "Conv2d":
            return Conv2d(values["w"], values["b"])
        case "AvgPool2d":
            k = values["k"]  # stored as a number: an integral one is the window's size
            return AvgPool2d(int(k) if float(k).is_integer() else k)
        case "Batchnorm2d":
            return Batchnorm2d(values["mu"], values["var"], values["gamma"], values["beta"],
                               eps=values["eps"], momentum=values["momentum"])
        case "Flatten":
            return Flatten()
    raise AssertionError(f"SCHEMA and _layer disagree on {kind!r}")


def _check_chain(net: Network) -> None:
    """The layer sizes chain (from the first layer that fixes an input size).

    A checkpoint does not store the size of the images a convolutional network was trained
    on, so its layers up to its first `Flatten` are checked for channels and dtypes only
    (with images larger than any kernel), and the layers after it as a dense network.
    """
    flat = next((i for i, layer in enumerate(net) if isinstance(layer, Flatten)), len(net))
    first4 = next((layer for layer in net[:flat] if isinstance(layer, Conv2d | Batchnorm2d)),
                  None)
    if first4 is not None:
        channels = first4.w.shape[1] if isinstance(first4, Conv2d) else first4.size
        check_network(net[:flat], (channels, _ANY_IMAGE, _ANY_IMAGE))
        net = net[flat + 1:]
    first = next((layer for layer in net if isinstance(layer, Linear | LinearNoBias
                                                         | Batchnorm1d)), None)
    if first is not None:
        check_network(net, first.size if isinstance(first, Batchnorm1d) else first.w.rows)
