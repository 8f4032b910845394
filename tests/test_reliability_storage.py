"""What writing may delete, convert or expose: `store` replaces only a zarr array and never
converts a dtype, and atomic writes read the umask without changing it.

The umask test is deterministic where it can be (no call may change the process's umask at
all) and also runs saves beside a thread that keeps creating files, checking every file
that thread made.
"""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path
from typing import Any, Literal

import dask.array as da
import numpy as np
import pytest
import zarr

import nn
import typedarr as ta
from typedarr import _atomic


def _chunked() -> ta.MatrixLike[Any, Any]:
    x = np.random.default_rng(3).standard_normal((10, 4)).astype(np.float32)
    return ta.Matrix.from_dask(da.from_array(x, chunks=(4, 4)))


def _tree(path: Path) -> dict[str, bytes]:
    """Every file under `path` and its content (what must survive a refused store)."""
    return {p.relative_to(path).as_posix(): p.read_bytes()
            for p in sorted(path.rglob("*")) if p.is_file()}


def _v2_array(path: Path) -> Path:
    zarr.create_array(store=str(path), shape=(3,), chunks=(2,), dtype=np.float32,
                      zarr_format=2)[:] = 1.0
    return path


def _unrelated(path: Path) -> Path:
    path.mkdir()
    (path / "thesis.tex").write_text("years of work")
    (path / "figures").mkdir()
    (path / "figures" / "0").write_text("a file named like a chunk")
    return path


def _group(path: Path) -> Path:
    zarr.open_group(str(path), mode="w").create_array("x", shape=(2,), dtype=np.float32)
    return path


def _group_v2(path: Path) -> Path:
    zarr.open_group(str(path), mode="w", zarr_format=2)
    return path


def _array_with_a_stray_file(path: Path) -> Path:
    zarr.create_array(store=str(path), shape=(4,), chunks=(2,), dtype=np.float32)[:] = 2.0
    (path / "notes.txt").write_text("mine")
    return path


def _array_with_a_stray_chunk_dir(path: Path) -> Path:
    zarr.create_array(store=str(path), shape=(4,), chunks=(2,), dtype=np.float32)[:] = 2.0
    (path / "c" / "keep").mkdir()
    (path / "c" / "keep" / "data").write_text("mine")
    return path


def _metadata_not_json(path: Path) -> Path:
    path.mkdir()
    (path / "zarr.json").write_text("{not json")
    (path / "0").write_text("x")
    return path


def _metadata_of_another_format(path: Path) -> Path:
    path.mkdir()
    (path / ".zarray").write_text('{"zarr_format": 3}')
    return path


def _file(path: Path) -> Path:
    path.write_text("a plain file")
    return path


def _link_to_array(path: Path) -> Path:
    target = path.parent / "real.zarr"
    zarr.create_array(store=str(target), shape=(2,), dtype=np.float32)[:] = 5.0
    path.symlink_to(target)
    return path


@pytest.mark.parametrize(("make", "says"), [
    (_unrelated, "not a zarr array"),
    (_group, "zarr group, not an array"),
    (_group_v2, "zarr group, not an array"),
    (_array_with_a_stray_file, "notes.txt, which is not part of a zarr array"),
    (_array_with_a_stray_chunk_dir, "c/keep, which is not part of a zarr array"),
    (_metadata_not_json, "not JSON"),
    (_metadata_of_another_format, "not zarr 2 metadata"),
    (_file, "not a directory"),
    (_link_to_array, "symbolic link"),
], ids=lambda x: getattr(x, "__name__", "")[1:] if callable(x) else "")
def test_overwrite_replaces_only_a_zarr_array(tmp_path: Path, make: Any, says: str) -> None:
    path = make(tmp_path / "out.zarr")
    before = _tree(tmp_path)
    with pytest.raises(FileExistsError, match=says + ".*replaces only a zarr array"):
        ta.store(_chunked() * 2.0, path, overwrite=True)
    assert _tree(tmp_path) == before  # nothing deleted, nothing left over
    assert os.path.islink(path) == (make is _link_to_array)


@pytest.mark.parametrize("fmt", [2, 3])
def test_overwrite_replaces_a_zarr_array_of_either_format(tmp_path: Path,
                                                          fmt: Literal[2, 3]) -> None:
    path = tmp_path / "out.zarr"
    zarr.create_array(store=str(path), shape=(7, 2), chunks=(3, 2), dtype=np.float64,
                      zarr_format=fmt)[:] = 1.0
    x = _chunked()
    ta.store(x + 1.0, path, overwrite=True)
    np.testing.assert_array_equal(zarr.open_array(path)[:], np.asarray(x.compute()) + 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.zarr"]


def test_an_array_swapped_for_other_files_after_the_check_is_put_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The moved directory is checked again, so a swap between check and rename is undone."""
    from typedarr._dask import _engine, _replaceable

    path = _v2_array(tmp_path / "out.zarr")
    checked = _replaceable.refuse_unless_zarr_array

    def then_swap(p: Path) -> None:
        checked(p)
        if p == path:  # the first check passed: now someone puts other files there
            for child in path.iterdir():
                child.unlink()
            (path / "thesis.tex").write_text("years of work")

    monkeypatch.setattr(_engine, "refuse_unless_zarr_array", then_swap)
    with pytest.raises(FileExistsError, match="replaces only a zarr array"):
        ta.store(_chunked(), path, overwrite=True)
    assert (path / "thesis.tex").read_text() == "years of work"


@pytest.mark.parametrize("dtype", [np.int32, np.float16, np.int64, np.uint8, np.float64])
def test_store_into_an_array_of_another_dtype_is_refused(tmp_path: Path, dtype: Any) -> None:
    target = zarr.create_array(store=str(tmp_path / "t.zarr"), shape=(10, 4), chunks=(5, 4),
                               dtype=dtype)
    with pytest.raises(ta.DTypeError, match=f"float32 values into an array of dtype "
                                            f"{np.dtype(dtype)}"):
        ta.store(_chunked(), target)
    assert not np.asarray(target[:]).any()  # nothing written
    memmap = np.memmap(tmp_path / "m.bin", dtype=dtype, mode="w+", shape=(10, 4))
    with pytest.raises(ta.DTypeError):
        ta.store(ta.Matrix.ones(10, 4), memmap)


def test_store_into_an_array_without_a_dtype_is_refused() -> None:
    class Shaped:
        shape = (10, 4)

        def __setitem__(self, key: object, value: object) -> None:
            raise AssertionError("must not be written")

    with pytest.raises(ta.DTypeError, match="dtype None"):
        ta.store(_chunked(), Shaped())


def test_store_into_an_array_of_the_same_dtype_still_works(tmp_path: Path) -> None:
    memmap = np.memmap(tmp_path / "m.bin", dtype=np.float64, mode="w+", shape=(10, 4))
    x = _chunked().astype(np.float64)
    ta.store(x, memmap)
    np.testing.assert_array_equal(memmap, np.asarray(x.compute()))


def test_an_atomic_write_never_changes_the_umask(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(mask: int) -> int:
        raise AssertionError("os.umask changes the umask of every thread")

    monkeypatch.setattr(os, "umask", forbidden)
    nn.save([nn.Activation(nn.Relu)], tmp_path / "net.safetensors")
    with ta.atomic_writer(tmp_path / "raw") as f:
        f.write(b"x")


def test_a_new_file_gets_0o666_less_the_umask_read_either_way(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = os.umask(0o027)
    try:
        assert _atomic.umask(tmp_path) == 0o027
        monkeypatch.setattr(_atomic, "STATUS", str(tmp_path / "no-proc"))
        assert _atomic.umask(tmp_path) == 0o026  # the bits 0o666 loses: a probe file's
        with ta.atomic_writer(tmp_path / "f") as f:
            f.write(b"x")
        assert stat.S_IMODE(os.stat(tmp_path / "f").st_mode) == 0o640
        assert sorted(p.name for p in tmp_path.iterdir()) == ["f"]  # the probe is gone
    finally:
        os.umask(old)


def test_files_another_thread_creates_during_saves_keep_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    made: list[Path] = []
    stop = threading.Event()

    def create() -> None:
        k = 0
        while not stop.is_set():
            path = tmp_path / "other" / f"{k}"
            with open(path, "w"):
                pass
            made.append(path)
            k += 1

    (tmp_path / "other").mkdir()
    net = [nn.Activation(nn.Relu)]
    worker = threading.Thread(target=create)
    worker.start()
    try:
        for k in range(300):
            nn.save(net, tmp_path / f"net{k}.safetensors")
    finally:
        stop.set()
        worker.join()
        os.umask(old)
    assert len(made) > 0
    loose = [p for p in made if os.stat(p).st_mode & 0o022]
    assert not loose, f"{len(loose)} files became group/world-writable"
    assert all(stat.S_IMODE(os.stat(tmp_path / f"net{k}.safetensors").st_mode) == 0o644
               for k in range(300))


def test_the_example_data_set_writer_replaces_only_zarr_arrays(tmp_path: Path) -> None:
    from examples.chunked import make_dataset

    make_dataset(tmp_path, 20, 3, chunk_rows=10)
    make_dataset(tmp_path, 20, 3, chunk_rows=10, seed=1)  # its own arrays: replaced
    (tmp_path / "other").mkdir()
    _unrelated(tmp_path / "other" / "x.zarr")
    before = _tree(tmp_path / "other")
    with pytest.raises(FileExistsError, match="replaces only a zarr array"):
        make_dataset(tmp_path / "other", 20, 3, chunk_rows=10)
    assert _tree(tmp_path / "other") == before
