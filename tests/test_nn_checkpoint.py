"""Checkpoints: a bit-identical round trip in both formats, and every broken file is a
CheckpointError.

A failed save never leaves a half-written file: the previous checkpoint stays intact and
no temporary file is left behind. (Hostile files and destinations:
tests/test_reliability_checkpoint.py.)
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nn
from typedarr import Matrix, Vector


def every_layer(dtype: Any = np.float32) -> list[nn.Layer]:
    net = nn.mlp(5, 3, [4, 4], [nn.Relu, nn.Sigmoid, nn.Identity], num_bn_layers=1,
                 weight_init=nn.he_normal, bias_init=nn.small_normal_bias, seed=0,
                 dropout=0.25, bias_before_bn=False, dtype=dtype)
    mu, gamma, beta = (Vector.random_normal(4, seed=k, dtype=dtype) for k in range(3))
    var = Vector.random_uniform(4, seed=3, low=0.5, high=2.0, dtype=dtype)
    bn = nn.Batchnorm1d(mu, var, gamma, beta, eps=1e-3, momentum=0.8)
    return [*net[:1], bn, *net[2:], nn.Activation(nn.Tanh)]


def arrays_of(net: list[nn.Layer]) -> list[tuple[str, Any]]:
    """Every field of every layer, arrays as numpy, in order."""
    out: list[tuple[str, Any]] = []
    for layer in net:
        for field in type(layer).__dataclass_fields__:
            value = getattr(layer, field)
            out.append((f"{type(layer).__name__}.{field}",
                        np.asarray(value) if isinstance(value, Matrix | Vector) else value))
    return out


@pytest.mark.parametrize("name", ["net.npz", "net.safetensors", "net", "NET.NPZ"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_round_trip_is_bit_identical(tmp_path: Path, dtype: Any, name: str) -> None:
    net = every_layer(dtype)
    path = tmp_path / name
    nn.save(net, path)
    loaded = nn.load(path)
    assert [type(layer) for layer in loaded] == [type(layer) for layer in net]
    for (name, a), (name_b, b) in zip(arrays_of(loaded), arrays_of(net), strict=True):
        assert name == name_b
        if isinstance(a, np.ndarray):
            assert a.dtype == b.dtype == dtype, name
            np.testing.assert_array_equal(a, b, err_msg=name)
        else:
            assert a == b, name
    x = Matrix.random_normal(6, 5, seed=1, dtype=dtype)
    np.testing.assert_array_equal(np.asarray(nn.forward(loaded, x)),
                                  np.asarray(nn.forward(net, x)))


@pytest.mark.parametrize("name", ["net.npz", "net.safetensors"])
def test_permissions(tmp_path: Path, name: str) -> None:
    """A new checkpoint is rw-r--r-- (not mkstemp's 0600) under the usual umask 022; a
    replaced one keeps its mode."""
    path = tmp_path / name
    umask = os.umask(0o022)
    try:
        nn.save([], path)
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644
    path.chmod(0o600)
    nn.save([nn.Activation(nn.Relu)], path)
    assert path.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("name", ["empty.npz", "empty.safetensors"])
def test_empty_network_round_trips(tmp_path: Path, name: str) -> None:
    nn.save([], tmp_path / name)
    assert nn.load(tmp_path / name) == []


@pytest.mark.parametrize(("name", "magic"), [("net.safetensors", b"{"), ("net", b"{"),
                                             ("net.ckpt", b"{"), ("net.npz", b"PK\x03\x04")])
def test_the_name_chooses_the_format_and_safetensors_is_the_default(
        tmp_path: Path, name: str, magic: bytes) -> None:
    path = tmp_path / name
    nn.save(every_layer(), path)
    data = path.read_bytes()
    if magic == b"{":
        assert data[8:9] == magic
        header_length = int.from_bytes(data[:8], "little")
        assert (8 + header_length) % 8 == 0  # the data starts aligned, as the reference writes
    else:
        assert data.startswith(magic)


def test_the_content_not_the_name_says_how_to_read(tmp_path: Path) -> None:
    """A safetensors file renamed .npz, and an archive renamed .safetensors, still load."""
    nn.save(every_layer(), tmp_path / "a.safetensors")
    nn.save(every_layer(), tmp_path / "b.npz")
    (tmp_path / "a.safetensors").rename(tmp_path / "a.npz")
    (tmp_path / "b.npz").rename(tmp_path / "b.safetensors")
    assert repr(nn.load(tmp_path / "a.npz")) == repr(nn.load(tmp_path / "b.safetensors"))


def test_no_pickle_anywhere(tmp_path: Path) -> None:
    path = tmp_path / "net.npz"
    nn.save(every_layer(), path)
    with np.load(path, allow_pickle=False) as archive:
        assert all(archive[k].dtype != object for k in archive.files)
        assert archive["version"] == 1 and archive["format"] == "typedarr.nn"


def rewrite(path: Path, change: dict[str, Any], drop: tuple[str, ...] = ()) -> None:
    """Rewrite the archive at `path` with some keys changed or dropped."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files if k not in drop}
    arrays.update(change)
    np.savez(path, **arrays)


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    path = tmp_path / "net.npz"
    nn.save(every_layer(), path)
    return path


def test_truncated_file(saved: Path) -> None:
    data = saved.read_bytes()
    for keep in (0, 10, len(data) // 2, len(data) - 10):
        saved.write_bytes(data[:keep])
        with pytest.raises(nn.CheckpointError, match="truncated or corrupt"):
            nn.load(saved)


def test_garbage_file(saved: Path) -> None:
    saved.write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(nn.CheckpointError, match="truncated or corrupt"):
        nn.load(saved)


def test_corrupt_member(saved: Path) -> None:
    """A flipped byte inside an array: the zip CRC check catches it."""
    data = bytearray(saved.read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as z:
        info = z.getinfo("layer0.w.npy")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 200
    data[start] ^= 0xFF
    saved.write_bytes(bytes(data))
    with pytest.raises(nn.CheckpointError, match="truncated or corrupt"):
        nn.load(saved)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(nn.CheckpointError, match="no checkpoint at"):
        nn.load(tmp_path / "absent.npz")


def test_npy_file(tmp_path: Path) -> None:
    np.save(tmp_path / "a.npy", np.zeros(3))
    with pytest.raises(nn.CheckpointError, match=r"single \.npy array"):
        nn.load(tmp_path / "a.npy")


@pytest.mark.parametrize(("change", "drop", "message"), [
    ({"version": np.array(2)}, (), "version 2 is not supported"),
    ({"version": np.array(1.0)}, (), "key 'version' holds a 0-d float64"),
    ({"format": np.array("something else")}, (), "format is 'something else'"),
    ({}, ("layer0.w",), "missing key 'layer0.w'"),
    ({}, ("kinds",), "missing key 'kinds'"),
    ({}, ("version",), "missing key 'version'"),
    ({"layer9.w": np.zeros((2, 2))}, (), "unexpected keys ['layer9.w']"),
    ({"layer0.w": np.zeros(4)}, (), "key 'layer0.w' holds a 1-d float64 array"),
    ({"layer0.w": np.zeros((5, 4), np.int64)}, (), "key 'layer0.w' holds a 2-d int64"),
    ({"layer0.w": np.zeros((5, 4), np.float16)}, (), "float16"),
    ({"layer4.w": np.zeros((5, 4), np.float32)}, (), "layer 4 (Linear 5->4): expects 5 input "
     "features, got 4"),
    ({"layer2.f": np.array("swish")}, (), "unknown activation 'swish'"),
    ({"kinds": np.array(["Conv3d"])}, (), "unknown layer kind 'Conv3d'"),
    ({"layer1.gamma": np.zeros(3, np.float32)}, (), "mu, var, gamma and beta must have the same"),
    ({"layer1.mu": np.zeros(4, np.float64)}, (), "mix dtypes"),
    ({"layer3.p": np.array(1.5)}, (), "p must be in [0, 1)"),
])
def test_mismatched_contents(saved: Path, change: dict[str, Any], drop: tuple[str, ...],
                             message: str) -> None:
    rewrite(saved, change, drop)
    with pytest.raises(nn.CheckpointError, match=re.escape(message)):
        nn.load(saved)


def test_failed_write_leaves_the_previous_file_intact(saved: Path, monkeypatch: pytest.MonkeyPatch
                                                       ) -> None:
    before = saved.read_bytes()

    def half_then_fail(file: Any, *args: Any, **kwargs: Any) -> None:
        file.write(before[: len(before) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", half_then_fail)
    with pytest.raises(nn.CheckpointError, match="No space left on device"):
        nn.save([nn.Activation(nn.Relu)], saved)
    assert saved.read_bytes() == before
    assert sorted(p.name for p in saved.parent.iterdir()) == [saved.name]  # no temporary left


def test_failed_rename_leaves_the_previous_file_intact(saved: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    before = saved.read_bytes()

    def fail(*args: Any) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(nn.CheckpointError, match="Input/output error"):
        nn.save([nn.Activation(nn.Relu)], saved)
    assert saved.read_bytes() == before
    assert sorted(p.name for p in saved.parent.iterdir()) == [saved.name]


def test_interrupted_save_leaves_the_previous_file_intact(saved: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    before = saved.read_bytes()

    def interrupted(file: Any, *args: Any, **kwargs: Any) -> None:
        file.write(b"PK\x03\x04 partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", interrupted)
    with pytest.raises(KeyboardInterrupt):
        nn.save(every_layer(), saved)
    assert saved.read_bytes() == before
    assert sorted(p.name for p in saved.parent.iterdir()) == [saved.name]


def test_save_into_a_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(nn.CheckpointError, match="cannot write a checkpoint in"):
        nn.save([], tmp_path / "missing" / "net.npz")


def test_save_refuses_what_is_not_a_layer(tmp_path: Path) -> None:
    with pytest.raises(nn.NetworkError, match="layer 0 is not a layer"):
        nn.save([np.zeros(2)], tmp_path / "net.npz")  # type: ignore[list-item]
    assert not list(tmp_path.iterdir())
