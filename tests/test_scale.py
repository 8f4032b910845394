"""The scale example and benchmark: mini-batches drawn from chunked data on disk, the example
end to end (Dask's threads, and a one-worker cluster), the benchmark at a toy size."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zarr

from benchmarks import scale as bench
from examples import scale
from examples.chunked import make_dataset, shuffled_batches


@pytest.fixture(autouse=True, scope="module")
def _kernel_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Kernels compiled by these tests (and their workers) go to a temporary directory."""
    path = tmp_path_factory.mktemp("kernels")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TYPEDARR_CACHE_DIR", str(path))
        yield path


class Recorded:
    """A chunked array that remembers which rows were read, and checks that a read never
    spans more than one chunk."""

    def __init__(self, data: np.ndarray[Any, Any], chunk: int) -> None:
        self.data, self.chunks, self.shape = data, (chunk, *data.shape[1:]), data.shape
        self.reads: list[int] = []

    def __getitem__(self, rows: slice, /) -> Any:
        start = rows.start
        assert start % self.chunks[0] == 0 and rows.stop - start <= self.chunks[0]
        self.reads.append(start // self.chunks[0])
        return self.data[rows]


def test_batches_read_one_chunk_at_a_time_and_cover_every_row_once() -> None:
    rows, chunk, batch = 103, 10, 7
    x = Recorded(np.arange(rows * 2, dtype=np.float32).reshape(rows, 2), chunk)
    y = Recorded(np.arange(rows, dtype=np.int64), chunk)
    seen: list[int] = []
    for xb, yb in shuffled_batches(x, y, batch, np.random.default_rng(0)):
        assert xb.shape == (batch, 2)
        np.testing.assert_array_equal(xb.to_numpy()[:, 0], 2 * yb)  # rows keep their labels
        seen += yb.tolist()
    assert len(seen) == rows - rows % batch and len(set(seen)) == len(seen)
    assert sorted(x.reads) == list(range(11)) and x.reads != sorted(x.reads)  # by chunk
    assert seen[:batch] != sorted(seen[:batch])  # and within


def test_make_dataset_is_the_same_however_chunked(tmp_path: Path) -> None:
    a = make_dataset(tmp_path / "a", 50, 6, chunk_rows=50)
    b = make_dataset(tmp_path / "b", 50, 6, chunk_rows=50, compressed=False)
    np.testing.assert_array_equal(zarr.open_array(a.x)[:], zarr.open_array(b.x)[:])
    np.testing.assert_array_equal(zarr.open_array(a.y)[:], zarr.open_array(b.y)[:])
    with pytest.raises(ValueError, match="positive"):
        make_dataset(tmp_path, 0, 6, chunk_rows=5)


def test_scale_example_normalises_and_trains(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    scale.main(["--rows", "3000", "--cols", "20", "--chunk-rows", "700", "--steps", "120",
                "--batch-size", "50", "--dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert "mean and variance:" in out and "X.T @ X:" in out
    normalised = np.asarray(zarr.open_array(tmp_path / "x_normalised.zarr")[:])
    np.testing.assert_allclose(normalised.mean(0), 0.0, atol=1e-4)
    np.testing.assert_allclose(normalised.var(0), 1.0, rtol=1e-3)
    accuracy = float(out.rsplit("training accuracy (last 50 steps): ", 1)[1])
    assert accuracy > 0.3  # ten classes: chance is 0.1


def test_scale_example_on_a_cluster_prints_the_dashboard(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scale.main(["--rows", "1000", "--cols", "8", "--chunk-rows", "300", "--steps", "5",
                "--workers", "1", "--dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert "dashboard: http://127.0.0.1:" in out and "training accuracy" in out


def test_benchmark_at_a_toy_size(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bench.main(["--rows", "2000", "--cols", "12", "--chunk-rows", "500", "--workers", "1",
                "--dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert "| total |" in out and "workers lost: 0" in out
    assert "MiB after warm-up" in out and "X.T @ X: 0)" in out  # spill by step
    assert out.count("round 1, ") == 3 and "load average" in out
    assert "typedarr vs dask.array True, typedarr vs numpy True" in out
