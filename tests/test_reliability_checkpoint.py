"""Checkpoints under attack and bad luck: where `nn.save` writes, what a small file may make
`nn.load` allocate, and every malformed safetensors or `.npz` file refused as a CheckpointError.

Memory is measured with tracemalloc (numpy and zlib report their buffers to it), so a test
sees the allocation a crafted file asks for even when the system would overcommit it.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import stat
import struct
import tempfile
import time
import tracemalloc
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors import numpy as safetensors_numpy
from safetensors import safe_open

import nn
from nn import _safetensors
from typedarr import Matrix, Vector

MB = 1 << 20


def small_net() -> list[nn.Layer]:
    bn = nn.Batchnorm1d(Vector.zeros(3), Vector.ones(3), Vector.ones(3), Vector.zeros(3),
                        eps=1e-5, momentum=0.9)
    return [nn.LinearNoBias(Matrix.random_normal(4, 3, seed=0)), bn, nn.Activation(nn.Relu),
            nn.Dropout(0.5), nn.Linear(Matrix.random_normal(3, 2, seed=1), Vector.zeros(2))]


@contextlib.contextmanager
def peak_memory() -> Iterator[list[int]]:
    """The peak of traced allocations (bytes) inside the block, in a one-element list."""
    result = [0]
    tracemalloc.start()
    try:
        yield result
    finally:
        result[0] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()


def refuses_cheaply(path: Path, message: str, *, max_bytes: int = 20 * MB) -> None:
    """`nn.load(path)` raises a CheckpointError matching `message`, fast and small."""
    start = time.perf_counter()
    with peak_memory() as peak, pytest.raises(nn.CheckpointError, match=message):
        nn.load(path)
    assert peak[0] < max_bytes, f"peak {peak[0] / MB:.1f} MiB"
    assert time.perf_counter() - start < 5.0


# --- where save writes ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["net.safetensors", "net.npz"])
def test_save_through_a_symlink_writes_its_target(tmp_path: Path, name: str) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    target, link = elsewhere / name, tmp_path / name
    target.write_bytes(b"old")
    link.symlink_to(target)
    nn.save(small_net(), link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert [type(layer) for layer in nn.load(target)] == [type(layer) for layer in small_net()]
    assert sorted(p.name for p in elsewhere.iterdir()) == [name]  # no temporary left beside it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["elsewhere", name]


def test_save_through_a_dangling_symlink_creates_its_target(tmp_path: Path) -> None:
    link, target = tmp_path / "net.safetensors", tmp_path / "real.safetensors"
    link.symlink_to(target)
    nn.save(small_net(), link)
    assert link.is_symlink() and target.is_file()
    assert len(nn.load(link)) == 5


def special_files(tmp_path: Path) -> dict[str, Path]:
    """A FIFO, a character device (made here when allowed, else /dev/null through a link)
    and a directory, each where a checkpoint could be asked for."""
    fifo = tmp_path / "fifo.safetensors"
    os.mkfifo(fifo)
    device = tmp_path / "null.safetensors"
    try:
        os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # what /dev/null is
    except PermissionError:
        device.symlink_to("/dev/null")
    directory = tmp_path / "dir.safetensors"
    directory.mkdir()
    return {"fifo": fifo, "device": device, "directory": directory}


@pytest.mark.parametrize("kind", ["fifo", "device", "directory"])
def test_save_refuses_what_is_not_a_regular_file(tmp_path: Path, kind: str) -> None:
    path = special_files(tmp_path)[kind]
    mode = os.stat(path).st_mode
    with pytest.raises(nn.CheckpointError, match=r"cannot write a checkpoint in .*(not a regular "
                       r"file|is a directory)"):
        nn.save(small_net(), path)
    assert os.stat(path).st_mode == mode  # still the same node, not replaced by a file
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("kind", ["fifo", "device", "directory"])
def test_load_refuses_what_is_not_a_regular_file(tmp_path: Path, kind: str) -> None:
    """A FIFO without a writer must not hang the load; a device must not be read forever."""
    path = special_files(tmp_path)[kind]
    start = time.perf_counter()
    with pytest.raises(nn.CheckpointError, match="not a regular file"):
        nn.load(path)
    assert time.perf_counter() - start < 5.0


def test_load_of_dev_zero_is_refused() -> None:
    with pytest.raises(nn.CheckpointError, match="not a regular file"):
        nn.load("/dev/zero")


def test_a_file_whose_reads_fail_is_a_checkpoint_error(tmp_path: Path) -> None:
    """A regular file that cannot be read (a process's memory at address 0 fails with EIO)."""
    link = tmp_path / "net.safetensors"
    link.symlink_to("/proc/self/mem")
    with pytest.raises(nn.CheckpointError, match="cannot read checkpoint"):
        nn.load(link)


# --- .npz archives (format version 1): nothing is inflated, nothing is believed --------------


def npy_bytes(array: np.ndarray[Any, Any], *, shape: tuple[int, ...] | None = None) -> bytes:
    """A .npy file of `array`, its header declaring `shape` when given."""
    buf = io.BytesIO()
    header = np.lib.format.header_data_from_array_1_0(array)
    if shape is not None:
        header["shape"] = shape
    np.lib.format.write_array_header_1_0(buf, header)
    buf.write(array.tobytes())
    return buf.getvalue()


Member = tuple[str, int, bytes, int, int]  # name, method, raw data, crc, uncompressed size


def zip_bytes(members: list[Member]) -> bytes:
    """A zip archive written by hand, so a member can carry any data and any declared size."""
    out, central = io.BytesIO(), io.BytesIO()
    for name, method, data, crc, size in members:
        offset = out.tell()
        fields = (20, 0, method, 0, 0x21, crc, len(data), size, len(name))
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, *fields, 0) + name.encode() + data)
        central.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, *fields, 0, 0, 0, 0,
                                  0, offset) + name.encode())
    directory = central.getvalue()
    n = len(members)
    return out.getvalue() + directory + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n,
                                                    len(directory), out.tell(), 0)


def stored(name: str, data: bytes) -> Member:
    return (name, zipfile.ZIP_STORED, data, zlib.crc32(data), len(data))


def deflated_zeros(prefix: bytes, size: int) -> tuple[bytes, int]:
    """Raw deflate data of `prefix` then `size` zero bytes (whole MiBs), about size/1000 bytes
    long, and its true CRC: after a full flush, equal input gives equal output."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = c.compress(prefix) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(bytes(MB)) + c.flush(zlib.Z_FULL_FLUSH)
    data = head + block * (size // MB) + c.flush()
    crc, zeros = zlib.crc32(prefix), bytes(MB)
    for _ in range(size // MB):
        crc = zlib.crc32(zeros, crc)
    return data, crc


BOMB_HEADER = npy_bytes(np.zeros(0, np.float32), shape=(600 * MB,))


@pytest.fixture(scope="module")
def bomb() -> tuple[bytes, int]:
    """A .npy member of 2.4 GB of float32 zeros, deflated to 2.4 MB."""
    return deflated_zeros(BOMB_HEADER, 2400 * MB)


def v1_members(net: list[nn.Layer]) -> list[Member]:
    """The members nn writes for `net` in a .npz, each stored."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d, "net.npz")
        nn.save(net, path)
        with zipfile.ZipFile(path) as z:
            return [stored(name, z.read(name)) for name in z.namelist()]


def test_a_small_npz_that_inflates_to_gigabytes_is_refused_cheaply(
        tmp_path: Path, bomb: tuple[bytes, int]) -> None:
    """The campaign's case: a 2.4 MB archive that np.load would inflate to 2.4 GB, under a
    name nn does not write and under a name it does."""
    data, crc = bomb
    for name in ("junk.npy", "layer0.w.npy"):
        path = tmp_path / "bomb.npz"
        bomb_member = (name, zipfile.ZIP_DEFLATED, data, crc, len(BOMB_HEADER) + 2400 * MB)
        others = [m for m in v1_members(small_net()) if m[0] != name]
        path.write_bytes(zip_bytes([*others, bomb_member]))
        assert path.stat().st_size < 3 * MB
        refuses_cheaply(path, f"member '{name}' is compressed")


def test_an_npz_member_larger_than_its_header_declares_is_refused(tmp_path: Path) -> None:
    members = v1_members(small_net())
    name, _, data, _, _ = members[3]
    members[3] = stored(name, data + bytes(4 * MB))  # 4 MB after the declared array
    path = tmp_path / "long.npz"
    path.write_bytes(zip_bytes(members))
    refuses_cheaply(path, re.escape(f"member '{name}' holds {len(data) + 4 * MB} bytes, but "
                                    f"its header declares"), max_bytes=MB)


def test_an_npz_header_declaring_a_huge_shape_is_refused(tmp_path: Path) -> None:
    """No MemoryError: the declared 4 TB are not in the file, so nothing is allocated."""
    members = v1_members(small_net())
    name = members[3][0]
    assert name == "layer0.w.npy"
    members[3] = stored(name, npy_bytes(np.zeros((4, 3), np.float32), shape=(10**6, 10**6)))
    path = tmp_path / "huge.npz"
    path.write_bytes(zip_bytes(members))
    refuses_cheaply(path, r"header declares shape \(1000000, 1000000\)", max_bytes=MB)


def test_an_npz_directory_declaring_more_than_the_file_is_refused(tmp_path: Path) -> None:
    members = v1_members(small_net())
    method = members[3][1]
    path = tmp_path / "lying.npz"
    raw = zip_bytes(members)
    # the central directory says the member is 2 GB, stored
    entry = raw.index(b"PK\x01\x02" + struct.pack("<HHHH", 20, 20, 0, method))
    lie = struct.pack("<II", 2 << 30, 2 << 30)
    raw = raw[:entry + 20] + lie + raw[entry + 28:]
    path.write_bytes(raw)
    refuses_cheaply(path, r"declares \d+ bytes of members in a \d+-byte file",
                    max_bytes=MB)


def test_npz_members_twice_or_not_npy_are_refused(tmp_path: Path) -> None:
    members = v1_members(small_net())
    for extra, message in ((members[3], "appears twice"),
                           (stored("layer0.w", members[3][2]), "is not a .npy array")):
        path = tmp_path / "odd.npz"
        path.write_bytes(zip_bytes([*members, extra]))
        refuses_cheaply(path, message, max_bytes=MB)


@pytest.mark.parametrize(("array", "message"), [
    (np.array([b"x"], dtype=object), "has no readable .npy header|not plain numbers"),
    (np.zeros(2, dtype=[("a", "<f4"), ("b", "<f4")]), "not plain numbers"),
])
def test_npz_object_and_structured_members_are_refused(tmp_path: Path, array: Any,
                                                       message: str) -> None:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, np.lib.format.header_data_from_array_1_0(array))
    buf.write(b"\0" * 16)
    path = tmp_path / "odd.npz"
    path.write_bytes(zip_bytes([*v1_members(small_net()), stored("layer9.w.npy",
                                                                 buf.getvalue())]))
    refuses_cheaply(path, message, max_bytes=MB)


# --- safetensors (format version 2) -----------------------------------------------------------


def safetensors_bytes(header: dict[str, Any] | bytes, data: bytes = b"",
                      length: int | None = None) -> bytes:
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(text) if length is None else length) + text + data


def meta(kinds: list[str], **fields: str) -> dict[str, str]:
    return {"format": "typedarr.nn", "version": "2", "kinds": json.dumps(kinds), **fields}


def linear_header(w_shape: list[Any], w_offsets: list[int], *, b_offsets: list[int] | None = None,
                  dtype: str = "F32") -> dict[str, Any]:
    """A header for one Linear layer whose bias (2 floats) comes after `w` by default."""
    end = w_offsets[1]
    return {"__metadata__": meta(["Linear"]),
            "layer0.w": {"dtype": dtype, "shape": w_shape, "data_offsets": w_offsets},
            "layer0.b": {"dtype": "F32", "shape": [2],
                         "data_offsets": b_offsets or [end, end + 8]}}


GOOD = linear_header([3, 2], [0, 24])
GOOD_DATA = bytes(32)


def test_the_crafting_helpers_make_a_loadable_file(tmp_path: Path) -> None:
    path = tmp_path / "good.safetensors"
    path.write_bytes(safetensors_bytes(GOOD, GOOD_DATA))
    assert repr(nn.load(path)) == "[Linear(3->2, float32)]"


def with_entry(name: str, entry: Any) -> dict[str, Any]:
    return {**GOOD, name: entry}


CRAFTED: dict[str, tuple[bytes, str]] = {
    "empty": (b"", "too short"),
    "length-only": (struct.pack("<Q", 0), "not a JSON object"),
    "header-longer-than-file": (safetensors_bytes(GOOD, GOOD_DATA, length=10_000),
                                "says 10000 bytes, but the file has only"),
    "header-over-the-limit": (safetensors_bytes(GOOD, GOOD_DATA, length=(1 << 20) + 1),
                              "more than the 1048576-byte limit"),
    "not-json": (safetensors_bytes(b"{nope", GOOD_DATA), "not valid JSON"),
    "not-utf8": (safetensors_bytes(b'{"\xff": 1}', GOOD_DATA), "not valid JSON"),
    "json-list": (safetensors_bytes(b"[1, 2]"), "must start with '{'"),
    "leading-space": (safetensors_bytes(b" " + json.dumps(GOOD).encode(), GOOD_DATA),
                      "must start with '{'"),
    "nan": (safetensors_bytes(b'{"x": NaN}'), "holds NaN, which is not JSON"),
    "deep": (safetensors_bytes(b'{"x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
             "nested too deeply|not valid JSON"),
    "huge-integer": (safetensors_bytes(b'{"x": ' + b"9" * 5000 + b"}"), "not valid JSON"),
    "duplicate-tensor": (safetensors_bytes(json.dumps(GOOD).encode()[:-1] + b', "layer0.b": '
                                           + json.dumps(GOOD["layer0.b"]).encode() + b"}",
                                           GOOD_DATA), "names 'layer0.b' twice"),
    "duplicate-metadata": (safetensors_bytes(
        b'{"__metadata__": {"format": "a", "format": "b"}}'), "names 'format' twice"),
    "truncated-data": (safetensors_bytes(GOOD, GOOD_DATA[:-5]), "past its end"),
    "trailing-bytes": (safetensors_bytes(GOOD, GOOD_DATA + b"extra"), "bytes after the data"),
    "huge-shape": (safetensors_bytes(linear_header([10**6, 10**6], [0, 24]), GOOD_DATA),
                   r"shape \[1000000, 1000000\] of F32 needs 4000000000000 bytes"),
    "huge-shape-and-offsets": (safetensors_bytes(linear_header(
        [10**6, 10**6], [0, 4 * 10**12], b_offsets=[4 * 10**12, 4 * 10**12 + 8]), GOOD_DATA),
        "past its end"),
    "overlap": (safetensors_bytes(linear_header([3, 2], [0, 24], b_offsets=[16, 24]),
                                  GOOD_DATA), "overlaps the tensor before it"),
    "gap": (safetensors_bytes(linear_header([3, 2], [0, 24], b_offsets=[28, 36]),
                              bytes(36)), "leaves a gap before it"),
    "out-of-range": (safetensors_bytes(linear_header([3, 2], [0, 24], b_offsets=[24, 32]),
                                       GOOD_DATA[:24]), "past its end"),
    "negative-offset": (safetensors_bytes(linear_header([3, 2], [-8, 16]), GOOD_DATA),
                        "data_offsets"),
    "reversed-offsets": (safetensors_bytes(linear_header([3, 2], [24, 0]), GOOD_DATA),
                         "0 <= begin <= end"),
    "three-offsets": (safetensors_bytes(with_entry("layer0.b", {
        "dtype": "F32", "shape": [2], "data_offsets": [24, 32, 40]}), GOOD_DATA),
        "is not \\[begin, end\\]"),
    "float-shape": (safetensors_bytes(linear_header([3.0, 2], [0, 24]), GOOD_DATA),
                    "is not a list of at most 8 non-negative integers"),
    "bool-shape": (safetensors_bytes(linear_header([True, 2], [0, 24]), GOOD_DATA),
                   "non-negative integers"),
    "negative-shape": (safetensors_bytes(linear_header([-3, -2], [0, 24]), GOOD_DATA),
                       "non-negative integers"),
    "rank-9": (safetensors_bytes(linear_header([1] * 9, [0, 24]), GOOD_DATA), "at most 8"),
    "bf16": (safetensors_bytes(linear_header([3, 2], [0, 12], dtype="BF16"), bytes(20)),
             "dtype 'BF16': only F32 and F64"),
    "i64": (safetensors_bytes(linear_header([3, 2], [0, 48], dtype="I64"), bytes(56)),
            "dtype 'I64'"),
    "extra-entry-field": (safetensors_bytes(with_entry("layer0.b", {
        "dtype": "F32", "shape": [2], "data_offsets": [24, 32], "x": 1}), GOOD_DATA),
        "needs exactly dtype, shape and data_offsets"),
    "metadata-not-strings": (safetensors_bytes(with_entry("__metadata__", {"format": 1}),
                                               GOOD_DATA), "must map names to strings"),
    "no-metadata": (safetensors_bytes({k: v for k, v in GOOD.items() if k != "__metadata__"},
                                      GOOD_DATA), "not an nn checkpoint"),
    "other-version": (safetensors_bytes(with_entry("__metadata__", {
        **meta(["Linear"]), "version": "3"}), GOOD_DATA), "version '3' is not supported"),
    "kinds-not-json": (safetensors_bytes(with_entry("__metadata__", {
        **meta([]), "kinds": "Linear"}), GOOD_DATA), "kinds is not a JSON list"),
    "kinds-nested-deeply": (safetensors_bytes(with_entry("__metadata__", {
        **meta([]), "kinds": "[" * 100_000 + "]" * 100_000}), GOOD_DATA),
        "kinds is not a JSON list"),
    "kinds-not-list": (safetensors_bytes(with_entry("__metadata__", {
        **meta([]), "kinds": '{"a": 1}'}), GOOD_DATA), "kinds is not a JSON list"),
    "unknown-kind": (safetensors_bytes(with_entry("__metadata__", meta(["Conv3d"])),
                                       GOOD_DATA), "unknown layer kind 'Conv3d'"),
    "missing-tensor": (safetensors_bytes({"__metadata__": meta(["Linear"]), "layer0.w": {
        "dtype": "F32", "shape": [3, 2], "data_offsets": [0, 24]}}, GOOD_DATA[:24]),
        "missing key 'layer0.b'"),
    "unexpected-tensor": (safetensors_bytes(with_entry("layer1.w", {
        "dtype": "F32", "shape": [1], "data_offsets": [32, 36]}), bytes(36)),
        re.escape("unexpected keys ['layer1.w']")),
    "tensor-and-metadata": (safetensors_bytes(with_entry("__metadata__", {
        **meta(["Linear"]), "layer0.w": "1"}), GOOD_DATA), "both tensors and metadata"),
    "scalar-as-tensor": (safetensors_bytes({
        "__metadata__": meta(["Dropout"]),
        "layer0.p": {"dtype": "F64", "shape": [], "data_offsets": [0, 8]}}, bytes(8)),
        "'layer0.p' is a tensor, expected metadata"),
    "scalar-not-a-number": (safetensors_bytes({"__metadata__": meta(["Dropout"], **{
        "layer0.p": "half"})}), "'layer0.p' is 'half', not a number"),
    "wrong-rank": (safetensors_bytes(linear_header([6], [0, 24]), GOOD_DATA),
                   "'layer0.w' holds a 1-d tensor, expected 2-d"),
    "sizes-do-not-chain": (safetensors_bytes({
        "__metadata__": meta(["Linear", "Linear"]),
        "layer0.w": {"dtype": "F32", "shape": [1, 2], "data_offsets": [0, 8]},
        "layer0.b": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]},
        "layer1.w": {"dtype": "F32", "shape": [3, 1], "data_offsets": [16, 28]},
        "layer1.b": {"dtype": "F32", "shape": [1], "data_offsets": [28, 32]}}, bytes(32)),
        "does not hold a valid network"),
}


@pytest.mark.parametrize("case", sorted(CRAFTED))
def test_a_malformed_safetensors_file_is_a_checkpoint_error(tmp_path: Path, case: str) -> None:
    data, message = CRAFTED[case]
    path = tmp_path / "bad.safetensors"
    path.write_bytes(data)
    refuses_cheaply(path, message, max_bytes=8 * MB)


def test_the_largest_header_allowed_costs_little(tmp_path: Path) -> None:
    """A header at the size limit, all of it tensor entries: parsed, then refused by name,
    within a small fixed amount of memory (what the docstring of nn._checkpoint states)."""
    entries: dict[str, Any] = {"__metadata__": meta([])}
    entry = {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}
    entries.update({f"t{i}": entry for i in range(17_000)})
    text = json.dumps(entries, separators=(",", ":")).encode()
    assert (1 << 20) - 100_000 < len(text) <= 1 << 20
    path = tmp_path / "wide.safetensors"
    path.write_bytes(safetensors_bytes(text))
    refuses_cheaply(path, "unexpected keys", max_bytes=32 * MB)


def test_every_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.safetensors"
    path.write_bytes(CRAFTED["overlap"][0])
    with pytest.raises(nn.CheckpointError, match=re.escape(str(path))):
        nn.load(path)


def test_a_file_shortened_while_read_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "net.safetensors"
    nn.save([nn.Linear(Matrix.zeros(300, 300), Vector.zeros(300))], path)  # beyond any buffer
    with open(path, "rb") as f:
        header = _safetensors.read_header(f, path.stat().st_size)
        info = header.tensors["layer0.w"]
        os.truncate(path, info.start + 4)
        with pytest.raises(nn.CheckpointError, match=r"ended .* bytes into a tensor"):
            _safetensors.read_tensor(f, info)


def test_save_refuses_a_header_over_the_limit(tmp_path: Path) -> None:
    """A file nn writes is a file nn reads: too many layers for one header is an error now."""
    net: list[nn.Layer] = [nn.Activation(nn.Relu)] * 60_000
    with pytest.raises(nn.CheckpointError, match="too many layers"):
        nn.save(net, tmp_path / "long.safetensors")
    assert list(tmp_path.iterdir()) == []
    nn.save(net[:1000], tmp_path / "ok.safetensors")
    assert len(nn.load(tmp_path / "ok.safetensors")) == 1000


# --- any damage: a CheckpointError, never another exception ------------------------------------


def saved_bytes(suffix: str) -> bytes:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d, f"net{suffix}")
        nn.save(small_net(), path)
        return path.read_bytes()


SAVED = {suffix: saved_bytes(suffix) for suffix in (".safetensors", ".npz")}


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(sorted(SAVED)), st.data())
def test_damaged_files_load_or_raise_checkpoint_error(suffix: str, data: st.DataObject) -> None:
    raw = bytearray(SAVED[suffix])
    damage = data.draw(st.sampled_from(["flip", "cut", "splice"]))
    at = data.draw(st.integers(0, len(raw) - 1))
    if damage == "flip":
        raw[at] ^= data.draw(st.integers(1, 255))
    elif damage == "cut":
        del raw[at:]
    else:
        raw[at:at] = data.draw(st.binary(min_size=1, max_size=64))
    with tempfile.TemporaryDirectory() as d:
        path = Path(d, f"net{suffix}")
        path.write_bytes(bytes(raw))
        with contextlib.suppress(nn.CheckpointError):
            net = nn.load(path)
            assert isinstance(net, list)  # a flip in the data, or in a float's text: loads


# --- the format is safetensors: other tools read ours, and we read theirs ---------------------


def test_the_safetensors_package_reads_our_files(tmp_path: Path) -> None:
    path = tmp_path / "net.safetensors"
    net = small_net()
    nn.save(net, path)
    tensors: dict[str, Any] = safetensors_numpy.load_file(str(path))
    assert sorted(tensors) == ["layer0.w", "layer1.beta", "layer1.gamma", "layer1.mu",
                               "layer1.var", "layer4.b", "layer4.w"]
    np.testing.assert_array_equal(tensors["layer0.w"], np.asarray(net[0].w))  # type: ignore[union-attr]
    with safe_open(str(path), "np") as f:
        assert f.metadata() == meta(["LinearNoBias", "Batchnorm1d", "Activation", "Dropout",
                                     "Linear"], **{"layer1.eps": "1e-05",
                                                   "layer1.momentum": "0.9",
                                                   "layer2.f": "relu", "layer3.p": "0.5"})


def test_we_read_files_the_safetensors_package_writes(tmp_path: Path) -> None:
    ours, theirs = tmp_path / "ours.safetensors", tmp_path / "theirs.safetensors"
    nn.save(small_net(), ours)
    with safe_open(str(ours), "np") as f:
        metadata = f.metadata()
    tensors = safetensors_numpy.load_file(str(ours))
    safetensors_numpy.save_file({k: v.astype(np.float64) for k, v in tensors.items()},
                                str(theirs), metadata=metadata)
    loaded = nn.load(theirs)
    assert repr(loaded[0]) == "LinearNoBias(4->3, float64)"
    np.testing.assert_array_equal(np.asarray(loaded[0].w), tensors["layer0.w"])  # type: ignore[union-attr]


def test_a_safetensors_file_without_our_metadata_says_so(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    safetensors_numpy.save_file({"weight": np.zeros((2, 2), np.float32)}, str(path))
    with pytest.raises(nn.CheckpointError, match="not an nn checkpoint"):
        nn.load(path)

