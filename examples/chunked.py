"""Data larger than memory, on disk in zarr chunks: a synthetic data set written chunk by chunk,
mini-batches drawn from it without loading it whole, and a progress display for Dask.

`make_dataset` writes features whose columns have very different means and scales (so
normalising them matters) and labels of a linear rule of the standardised features (so a
linear model can learn them). `shuffled_batches` reads one zarr chunk at a time, in a
shuffled chunk order, and shuffles rows within it: memory holds one chunk and one partial
batch, whatever the data set's size. `examples.scale` and `benchmarks.scale` use both.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import zarr
from numpy.typing import NDArray
from tqdm import tqdm  # type: ignore[import-untyped]

from typedarr import Matrix
from typedarr._dask._replaceable import refuse_unless_zarr_array


@dataclass(frozen=True, slots=True)
class Dataset:
    """Where a data set lives: features `x` (rows, cols) float32 and labels `y` (rows,)."""

    x: Path
    y: Path


def make_dataset(directory: Path, rows: int, cols: int, *, chunk_rows: int,
                 classes: int = 10, seed: int = 0, compressed: bool = True) -> Dataset:
    """Write a data set of `rows` samples into `directory`, one chunk of rows at a time.

    Each chunk is drawn from its own generator (`seed`, chunk index), so the data are the
    same however they are written. `compressed=False` stores raw chunks (what a benchmark
    of the arithmetic wants; zarr's default compressor otherwise).
    """
    if rows < 1 or cols < 1 or chunk_rows < 1:
        raise ValueError(f"rows, cols and chunk_rows must be positive, got {rows}, {cols}, "
                         f"{chunk_rows}")
    directory.mkdir(parents=True, exist_ok=True)
    rule = np.random.default_rng([seed, 2**32 - 1])
    means = rule.normal(0.0, 5.0, cols)
    scales = np.exp(rule.normal(0.0, 1.0, cols))
    weights = rule.standard_normal((cols, classes))
    codec: dict[str, Any] = {} if compressed else {"compressors": None}
    for name in ("x.zarr", "y.zarr"):
        if (directory / name).exists() or (directory / name).is_symlink():
            # zarr's overwrite=True deletes whatever is there: only an array may go
            refuse_unless_zarr_array(directory / name)
    x = zarr.create_array(store=str(directory / "x.zarr"), shape=(rows, cols),
                          chunks=(chunk_rows, cols), dtype=np.float32, overwrite=True, **codec)
    y = zarr.create_array(store=str(directory / "y.zarr"), shape=(rows,), chunks=(chunk_rows,),
                          dtype=np.int64, overwrite=True)
    for k, start in enumerate(range(0, rows, chunk_rows)):
        n = min(chunk_rows, rows - start)
        z = np.random.default_rng([seed, k]).standard_normal((n, cols), dtype=np.float32)
        x[start:start + n] = (z * scales + means).astype(np.float32)
        y[start:start + n] = np.argmax(z @ weights, axis=1)
    return Dataset(directory / "x.zarr", directory / "y.zarr")


class Chunked(Protocol):
    """What `shuffled_batches` reads: a zarr array, or anything sliced by rows like one."""

    @property
    def shape(self) -> tuple[int, ...]: ...
    @property
    def chunks(self) -> tuple[int, ...]: ...
    def __getitem__(self, rows: slice, /) -> Any: ...


def shuffled_batches(x: Chunked, y: Chunked, batch_size: int, rng: np.random.Generator
                     ) -> Iterator[tuple[Matrix, NDArray[np.int64]]]:
    """Mini-batches of `batch_size` rows of `x` and their labels, in a seeded random order,
    reading one zarr chunk at a time: the chunks in a shuffled order, the rows of each
    shuffled, and rows left over from one chunk completing a batch with the next. The last
    partial batch is dropped (as `examples.train.batches` does).

    >>> import tempfile
    >>> data = make_dataset(Path(tempfile.mkdtemp()), 10, 3, chunk_rows=4)
    >>> xs, ys = zarr.open_array(data.x), zarr.open_array(data.y)
    >>> [b.rows for b, _ in shuffled_batches(xs, ys, 3, np.random.default_rng(0))]
    [3, 3, 3]
    """
    if x.shape[0] != y.shape[0] or len(x.shape) != 2:
        raise ValueError(f"need features (n, cols) and labels (n,), got {x.shape} and "
                         f"{y.shape}")
    chunk_rows = x.chunks[0]
    carry_x = np.empty((0, x.shape[1]), np.float32)
    carry_y = np.empty(0, np.int64)
    for k in rng.permutation(-(-x.shape[0] // chunk_rows)):
        rows = slice(int(k) * chunk_rows, (int(k) + 1) * chunk_rows)
        order = rng.permutation(len(range(*rows.indices(x.shape[0]))))
        xs = np.concatenate([carry_x, np.asarray(x[rows], np.float32)[order]])
        ys = np.concatenate([carry_y, np.asarray(y[rows], np.int64)[order]])
        full = len(xs) - len(xs) % batch_size
        for start in range(0, full, batch_size):
            yield Matrix.from_numpy(xs[start:start + batch_size]), ys[start:start + batch_size]
        carry_x, carry_y = xs[full:], ys[full:]


@contextlib.contextmanager
def progress(client: Any | None, label: str) -> Iterator[None]:
    """A progress bar over what Dask runs inside the block: Dask's own bar on its threads,
    or, with a distributed client, a bar of the scheduler's tasks (the dashboard shows
    more)."""
    if client is None:
        from dask.diagnostics import ProgressBar

        print(label)
        with ProgressBar():
            yield
        return
    done = threading.Event()

    def count(dask_scheduler: Any) -> tuple[int, int]:  # runs in the scheduler
        tasks = dask_scheduler.tasks.values()
        waiting = sum(ts.state in ("waiting", "queued", "processing", "no-worker")
                      for ts in tasks)
        return len(tasks), waiting

    def draw() -> None:
        with tqdm(desc=label, unit="task") as bar:
            while not done.wait(0.5):
                total, waiting = client.run_on_scheduler(count)
                bar.total = max(total, bar.total or 0)
                bar.n = max(bar.n, total - waiting)
                bar.refresh()
            bar.n = bar.total or bar.n  # finished (the scheduler forgets finished tasks)
            bar.refresh()

    thread = threading.Thread(target=draw, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
