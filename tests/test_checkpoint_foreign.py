"""Checkpoints that other tools wrote: numpy's `savez`, the `safetensors` package, PyTorch.

The round-trip tests read only files nn itself wrote, so a reader that ignores something nn's
writer never produces (a Fortran-ordered `.npy` member, a big-endian one, tensors in another
order) would pass them. Here each file is built in nn's documented layout (nn/_checkpoint.py:
`layer{i}.{field}` arrays, the `format`, `version` and `kinds` head, scalars as 0-d members or
metadata strings) by the other tool, and `nn.load` must give back exactly the values put in.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import safetensors.numpy

import nn
from typedarr import Matrix, Vector

Array = np.ndarray[Any, Any]
FORMAT = "typedarr.nn"  # nn's layout, spelled here as its documentation states it


@dataclass(frozen=True)
class Layout:
    """A network in nn's checkpoint layout: its layer kinds, arrays and scalar fields."""

    kinds: list[str]
    arrays: dict[str, Array]
    scalars: dict[str, float | str]


def _normals(seed: int, dtype: type[np.floating[Any]]) -> Callable[..., Array]:
    """Arrays of distinct values (any misplaced one shows) of the shape asked for."""
    rng = np.random.default_rng(seed)

    def normal(*shape: int) -> Array:
        return rng.normal(size=shape).astype(dtype)

    return normal


def _dense(dtype: type[np.floating[Any]]) -> Layout:
    normal = _normals(1, dtype)
    return Layout(["Linear", "Batchnorm1d", "Activation", "LinearNoBias"],
                  {"layer0.w": normal(5, 3), "layer0.b": normal(3),
                   "layer1.mu": normal(3), "layer1.var": np.abs(normal(3)) + 0.5,
                   "layer1.gamma": normal(3), "layer1.beta": normal(3),
                   "layer3.w": normal(3, 4)},
                  {"layer1.eps": 1e-5, "layer1.momentum": 0.9, "layer2.f": "relu"})


def _conv(dtype: type[np.floating[Any]]) -> Layout:
    normal = _normals(2, dtype)
    return Layout(["Conv2d", "Batchnorm2d", "Activation", "AvgPool2d", "Flatten", "Linear"],
                  {"layer0.w": normal(4, 2, 3, 5), "layer0.b": normal(4),
                   "layer1.mu": normal(4), "layer1.var": np.abs(normal(4)) + 0.5,
                   "layer1.gamma": normal(4), "layer1.beta": normal(4),
                   "layer5.w": normal(12, 3), "layer5.b": normal(3)},
                  {"layer1.eps": 1e-3, "layer1.momentum": 0.8, "layer2.f": "relu",
                   "layer3.k": 2.0})


NETWORKS: dict[str, Callable[[], Layout]] = {
    "dense float32": lambda: _dense(np.float32),
    "dense float64": lambda: _dense(np.float64),
    "conv float32": lambda: _conv(np.float32),
}


def _check_loaded(path: Path, layout: Layout) -> None:
    """`nn.load(path)` holds exactly the layout's layers, arrays and scalars."""
    net = nn.load(path)
    assert [type(layer).__name__ for layer in net] == layout.kinds
    for key, want in layout.arrays.items():
        i, field = key.removeprefix("layer").split(".")
        got = np.asarray(getattr(net[int(i)], field))
        assert got.dtype == want.dtype.newbyteorder("=") and got.shape == want.shape, key
        np.testing.assert_array_equal(got, want, err_msg=key)
    for key, value in layout.scalars.items():
        i, field = key.removeprefix("layer").split(".")
        got_scalar = getattr(net[int(i)], field)
        assert (got_scalar.value if field == "f" else got_scalar) == value, key


# numpy's savez ---------------------------------------------------------------------------

def _savez(path: Path, layout: Layout, order: Callable[[Array], Array]) -> None:
    members: dict[str, Array] = {"format": np.array(FORMAT), "version": np.array(1),
                                 "kinds": np.array(layout.kinds)}
    members |= {k: order(v) for k, v in layout.arrays.items()}
    members |= {k: np.array(v) for k, v in layout.scalars.items()}
    np.savez(path, allow_pickle=False, **members)


def _fortran(a: Array) -> Array:
    return np.asfortranarray(a)


def _big_endian_fortran(a: Array) -> Array:
    return np.asfortranarray(a.astype(a.dtype.newbyteorder(">")))


ORDERS: dict[str, Callable[[Array], Array]] = {
    "C-ordered": np.ascontiguousarray,
    "Fortran-ordered": _fortran,
    "big-endian Fortran-ordered": _big_endian_fortran,
}


def _npy_headers(path: Path) -> dict[str, tuple[tuple[int, ...], bool, np.dtype[Any]]]:
    """Each member's (shape, fortran_order, dtype), as its `.npy` header states them."""
    headers = {}
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            with z.open(info) as f:
                read = {(1, 0): np.lib.format.read_array_header_1_0,
                        (2, 0): np.lib.format.read_array_header_2_0}[
                    np.lib.format.read_magic(f)]
                headers[info.filename.removesuffix(".npy")] = read(f)
    return headers


@pytest.mark.parametrize("network", NETWORKS)
@pytest.mark.parametrize("order", ORDERS)
def test_an_npz_numpy_wrote_loads_with_its_values_in_place(network: str, order: str,
                                                           tmp_path: Path) -> None:
    layout = NETWORKS[network]()
    path = tmp_path / "net.npz"
    _savez(path, layout, ORDERS[order])
    headers = _npy_headers(path)
    flagged = {k for k, (shape, fortran, _) in headers.items() if fortran}
    # what this case is about is really in the file: every array of rank 2 or more flagged
    assert flagged == ({k for k, a in layout.arrays.items() if a.ndim > 1}
                       if "Fortran" in order else set())
    if "big-endian" in order:
        assert all(headers[k][2].byteorder == ">" for k in layout.arrays)
    _check_loaded(path, layout)


def test_a_network_from_a_fortran_ordered_npz_computes_what_its_c_ordered_twin_does(
        tmp_path: Path) -> None:
    layout = _dense(np.float32)
    _savez(tmp_path / "c.npz", layout, np.ascontiguousarray)
    _savez(tmp_path / "f.npz", layout, _fortran)
    x = Matrix.from_numpy(np.random.default_rng(3).normal(size=(7, 5)).astype(np.float32))
    c_out, f_out = (np.asarray(nn.forward(nn.load(tmp_path / name), x))
                    for name in ("c.npz", "f.npz"))
    np.testing.assert_array_equal(c_out, f_out)
    made = nn.Linear(Matrix.from_numpy(layout.arrays["layer0.w"]),
                     Vector.from_numpy(layout.arrays["layer0.b"]))  # the first layer, as given
    np.testing.assert_array_equal(np.asarray(nn.forward([made], x)),
                                  np.asarray(nn.forward(nn.load(tmp_path / "f.npz")[:1], x)))


# The safetensors package and PyTorch ----------------------------------------------------

def _metadata(layout: Layout) -> dict[str, str]:
    return {"format": FORMAT, "version": "2", "kinds": json.dumps(layout.kinds),
            **{k: v if isinstance(v, str) else repr(v) for k, v in layout.scalars.items()}}


@pytest.mark.parametrize("network", NETWORKS)
def test_safetensors_the_safetensors_package_wrote_load_with_their_values(
        network: str, tmp_path: Path) -> None:
    layout = NETWORKS[network]()
    path = tmp_path / "net.safetensors"
    # The format has no order flag: the package writes what it is given, so C-ordered arrays
    # (safetensors 0.8 writes a Fortran-ordered array's memory as if it were C-ordered).
    safetensors.numpy.save_file({k: np.ascontiguousarray(v) for k, v in layout.arrays.items()},
                                str(path), metadata=_metadata(layout))
    _check_loaded(path, layout)
    # the package's own reader agrees (and the file is not in nn's writing order)
    back = safetensors.numpy.load_file(str(path))
    assert back.keys() == layout.arrays.keys()


@pytest.mark.parametrize("network", NETWORKS)
def test_safetensors_pytorch_wrote_load_with_their_values(network: str, tmp_path: Path
                                                          ) -> None:
    torch = pytest.importorskip("torch")  # the bench extra; the package test above runs always
    import safetensors.torch

    layout = NETWORKS[network]()
    path = tmp_path / "net.safetensors"
    # Weights as PyTorch holds them: a Linear's weight is (out, in), so nn's (in, out) matrix
    # is its transpose, made contiguous as safetensors.torch requires.
    tensors = {}
    for key, value in layout.arrays.items():
        t = torch.from_numpy(value.T.copy() if value.ndim == 2 else value.copy())
        tensors[key] = t.t().contiguous() if value.ndim == 2 else t
    safetensors.torch.save_file(tensors, str(path), metadata=_metadata(layout))
    _check_loaded(path, layout)
