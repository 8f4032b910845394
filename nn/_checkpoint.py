"""Saving and loading networks: `.npz` archives with a format version, and no pickle.

Layout (format version 1): `format` (the string `typedarr.nn`), `version` (1), `kinds` (one
string per layer: `Linear`, `LinearNoBias`, `Batchnorm1d`, `Activation`, `Dropout`), and
the layer fields under `layer{i}.{field}`: `w`, `b`, `mu`, `var`, `gamma`, `beta` as arrays
of the network's dtype, `eps`, `momentum`, `p` as float64 scalars, `f` as a string (`relu`).

`save` writes a temporary file in the destination's directory, fsyncs it and renames it
over the destination (`os.replace`, atomic), so a crash or a failed write leaves the
previous checkpoint intact and never a half-written one. `load` reads with
`allow_pickle=False` and checks everything (keys, ranks, dtypes, sizes that chain): any
problem is a `CheckpointError` saying what is wrong.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, assert_never

import numpy as np

from typedarr import Matrix, Vector

from ._check import check_network
from ._errors import CheckpointError, NetworkError
from ._layers import (
    LAYER_KINDS,
    Activation,
    Batchnorm1d,
    Dropout,
    FActivation,
    Layer,
    Linear,
    LinearNoBias,
    Network,
)

FORMAT = "typedarr.nn"
VERSION = 1
Arrays = dict[str, np.ndarray[Any, Any]]
StrPath = str | os.PathLike[str]
Getter = Callable[..., Any]  # (field, ndim, dtype kinds) -> the checked array


def save(net: Sequence[Layer], path: StrPath) -> None:
    """Write `net` to `path` (an `.npz` archive), atomically.

    Raises CheckpointError if the file cannot be written (the previous file, if any, is
    left as it was), NetworkError for an entry that is not a layer.

    >>> import nn, tempfile, os
    >>> net = [nn.Linear(Matrix.ones(2, 3), Vector.zeros(3)), nn.Activation(nn.Relu)]
    >>> with tempfile.TemporaryDirectory() as d:
    ...     nn.save(net, os.path.join(d, "net.npz"))
    ...     nn.load(os.path.join(d, "net.npz"))
    [Linear(2->3, float32), Activation(Relu)]
    """
    arrays = _encode(net)
    dest = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    except OSError as e:
        raise CheckpointError(f"cannot write a checkpoint in {dest.parent}: {e}") from e
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, allow_pickle=False, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _mode(dest))
        os.replace(tmp, dest)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise CheckpointError(f"cannot write checkpoint {dest}: {e}") from e
        raise
    _fsync_directory(dest.parent)


def load(path: StrPath) -> Network:
    """The network saved at `path`.

    Raises CheckpointError for a missing, truncated or corrupt file, another format or
    version, a missing or unexpected key, or layers that are not valid or do not chain.

    >>> import nn
    >>> nn.load("no/such/file.npz")
    Traceback (most recent call last):
    ...
    nn.CheckpointError: no checkpoint at no/such/file.npz
    """
    arrays = _read(Path(path))
    try:
        net = _decode(arrays)
        _check_chain(net)
    except (NetworkError, TypeError) as e:
        raise CheckpointError(f"{path} does not hold a valid network: {e}") from e
    return net


def _encode(net: Sequence[Layer]) -> Arrays:
    arrays: Arrays = {"format": np.array(FORMAT), "version": np.array(VERSION),
                      "kinds": np.array([type(layer).__name__ for layer in net], dtype=np.str_)}
    for i, layer in enumerate(net):
        if not isinstance(layer, LAYER_KINDS):
            raise NetworkError(f"layer {i} is not a layer: {layer!r}")
        for field, value in _fields(layer).items():
            arrays[f"layer{i}.{field}"] = value
    return arrays


def _fields(layer: Layer) -> Arrays:
    match layer:
        case Linear(w, b):
            return {"w": np.asarray(w), "b": np.asarray(b)}
        case LinearNoBias(w):
            return {"w": np.asarray(w)}
        case Batchnorm1d(mu, var, gamma, beta, eps, momentum):
            return {"mu": np.asarray(mu), "var": np.asarray(var), "gamma": np.asarray(gamma),
                    "beta": np.asarray(beta), "eps": np.array(eps, dtype=np.float64),
                    "momentum": np.array(momentum, dtype=np.float64)}
        case Activation(f):
            return {"f": np.array(f.value)}
        case Dropout(p):
            return {"p": np.array(p, dtype=np.float64)}
        case _:
            assert_never(layer)


def _read(path: Path) -> Arrays:
    """Every array in the archive at `path`, read in full (np.load reads lazily)."""
    try:
        # Note: we open the file, not np.load, which leaks its handle when the zip is bad
        with open(path, "rb") as f:
            archive = np.load(f, allow_pickle=False)
            if not isinstance(archive, np.lib.npyio.NpzFile):
                raise CheckpointError(f"{path} is a single .npy array, not an nn checkpoint "
                                      f"(.npz)")
            with archive:
                return {name: archive[name] for name in archive.files}
    except CheckpointError:
        raise
    except FileNotFoundError as e:
        raise CheckpointError(f"no checkpoint at {path}") from e
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as e:
        raise CheckpointError(f"{path} is not a readable nn checkpoint (truncated or "
                              f"corrupt?): {type(e).__name__}: {e}") from e


def _decode(arrays: Arrays) -> Network:
    used = {"format", "version", "kinds"}
    fmt, version = _scalar(arrays, "format", "U"), _scalar(arrays, "version", "iu")
    if fmt != FORMAT:
        raise CheckpointError(f"not an nn checkpoint: format is {fmt!r}, not {FORMAT!r}")
    if version != VERSION:
        raise CheckpointError(f"checkpoint format version {version} is not supported (this "
                              f"nn reads version {VERSION})")
    kinds = _array(arrays, "kinds", 1, "U")
    net: Network = []
    for i, kind in enumerate(kinds.tolist()):
        def get(field: str, ndim: int, dtypes: str = "f", i: int = i) -> Any:
            used.add(f"layer{i}.{field}")
            return _array(arrays, f"layer{i}.{field}", ndim, dtypes)
        net.append(_layer(i, str(kind), get))
    extra = sorted(set(arrays) - used)
    if extra:
        raise CheckpointError(f"unexpected keys {extra}: not written by this version of nn")
    return net


def _layer(i: int, kind: str, get: Getter) -> Layer:
    match kind:
        case "Linear":
            return Linear(_m(get("w", 2)), _v(get("b", 1)))
        case "LinearNoBias":
            return LinearNoBias(_m(get("w", 2)))
        case "Batchnorm1d":
            return Batchnorm1d(_v(get("mu", 1)), _v(get("var", 1)), _v(get("gamma", 1)),
                               _v(get("beta", 1)), eps=float(get("eps", 0)),
                               momentum=float(get("momentum", 0)))
        case "Activation":
            name = str(get("f", 0, "U"))
            try:
                return Activation(FActivation(name))
            except ValueError as e:
                raise CheckpointError(f"layer {i}: unknown activation {name!r}") from e
        case "Dropout":
            return Dropout(float(get("p", 0)))
    raise CheckpointError(f"layer {i}: unknown layer kind {kind!r}")


def _m(a: np.ndarray[Any, Any]) -> Matrix:
    """A Matrix of the saved values, NaN included: a diverged network loads as it was."""
    return Matrix.from_numpy(a, nonfinite="allow")


def _v(a: np.ndarray[Any, Any]) -> Vector:
    return Vector.from_numpy(a, nonfinite="allow")


def _array(arrays: Arrays, key: str, ndim: int, dtypes: str) -> np.ndarray[Any, Any]:
    if key not in arrays:
        raise CheckpointError(f"missing key {key!r}: the checkpoint is incomplete")
    a = arrays[key]
    if a.ndim != ndim or a.dtype.kind not in dtypes:
        raise CheckpointError(f"key {key!r} holds a {a.ndim}-d {a.dtype} array, expected "
                              f"{ndim}-d of kind {dtypes!r}")
    return a


def _scalar(arrays: Arrays, key: str, dtypes: str) -> Any:
    return _array(arrays, key, 0, dtypes).item()


def _check_chain(net: Network) -> None:
    """The layer sizes chain (from the first layer that fixes an input size)."""
    first = next((layer for layer in net if isinstance(layer, Linear | LinearNoBias
                                                         | Batchnorm1d)), None)
    if first is not None:
        check_network(net, first.size if isinstance(first, Batchnorm1d) else first.w.rows)


def _mode(dest: Path) -> int:
    """The replaced file's permissions, else rw-r--r--: mkstemp's private 0600 would make a
    checkpoint unreadable to anyone else, unlike a file written with open()."""
    try:
        return dest.stat().st_mode & 0o777
    except OSError:
        return 0o644


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable; not every platform can open a directory, hence best effort."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
