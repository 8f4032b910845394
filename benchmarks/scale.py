"""Data larger than the workers' memory: `python -m benchmarks.scale`.

An on-disk float32 matrix (zarr, raw chunks of `--chunk-rows` rows; default 2,000,000 x 784,
about 6 GB) is read by a `LocalCluster` of `--workers` worker processes with
`--memory-limit` each (default 2 x 1 GiB). Three contenders compute the same things:

- typedarr on Dask: `ta.compute(ta.mean(x), ta.var(x))`, the normalised matrix written with
  `ta.store`, and `x.T @ x`;
- the same expressions in dask.array on the same cluster (mean, then the variance as the
  mean of squared deviations, `da.store`, `x.T @ x`);
- numpy on a memory map of the same data (a `.npy` copy), in this process, block by block
  (bounded memory, BLAS threads for the product).

Each timed run starts on a new cluster warmed up on a slice of the data (kernels compiled or
loaded, files opened), after the file system has written out every page left dirty before it
(the data set's, the previous contender's output), so that no contender pays for another's
writes; the write step ends when the normalised matrix is on disk (`os.sync`), so each
contender pays for its own writes in that step and the product starts clean. The contenders
run in turns, each round starting with the next one (`--repeats` rounds, medians shown). A
thread samples every worker's resident memory, status and spilled bytes meanwhile. It prints
a Markdown table of seconds and ratios, the workers' memory after warm-up (what the worker
processes hold before any data: libraries, compiled kernels) and at peak against their
limit, whether any paused, spilled (by step) or was lost, whether the contenders' results
agree, and the load average. `--rows` etc. make it smaller.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dask
import dask.array as da
import numpy as np
import zarr
from distributed import Client, LocalCluster

import typedarr as ta
from examples.chunked import make_dataset
from typedarr._dask._replaceable import refuse_unless_zarr_array

Array = np.ndarray[Any, np.dtype[Any]]
EPS = 1e-5
STEPS = ("mean and variance", "normalised, written", "X.T @ X")


@dataclass
class Run:
    """One contender's pipeline: seconds per step, results, and what its workers did."""

    seconds: dict[str, float] = field(default_factory=dict)
    mean: Array | None = None
    var: Array | None = None
    gram: Array | None = None
    idle_rss: int = 0
    peak_rss: int = 0
    paused: bool = False
    spilled: float = 0.0
    lost: int = 0
    spilled_steps: dict[str, float] = field(default_factory=dict)
    # The workers' bytes spilled so far (set while a cluster watches the run).
    spill_meter: Callable[[], float] | None = None


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.scale", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=2_000_000)
    p.add_argument("--cols", type=int, default=784)
    p.add_argument("--chunk-rows", type=int, default=10_000)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--memory-limit", default="1GiB")
    p.add_argument("--repeats", type=int, default=1,
                   help="runs of each contender, in turns; the table shows medians")
    p.add_argument("--dir", type=Path, default=None,
                   help="where the data live (default: a temporary directory, removed)")
    return p.parse_args(argv)


def build(directory: Path, rows: int, cols: int, chunk_rows: int) -> tuple[Path, Path]:
    """The zarr data set and a `.npy` copy of its features, written chunk by chunk."""
    data = make_dataset(directory, rows, cols, chunk_rows=chunk_rows, compressed=False)
    source = zarr.open_array(data.x)
    npy = directory / "x.npy"
    copy = np.lib.format.open_memmap(npy, mode="w+", dtype=np.float32, shape=(rows, cols))
    for start in range(0, rows, chunk_rows):
        copy[start:start + chunk_rows] = source[start:start + chunk_rows]
    copy.flush()
    del copy
    return data.x, npy


def raw_target(path: Path, shape: tuple[int, ...], chunks: tuple[int, ...]) -> zarr.Array[Any]:
    """An uncompressed float32 zarr array (every contender writes the same format, so the
    comparison is of the computing, not of a compressor)."""
    if path.exists() or path.is_symlink():
        refuse_unless_zarr_array(path)  # zarr's overwrite=True deletes whatever is there
    return zarr.create_array(store=str(path), shape=shape, chunks=chunks, dtype=np.float32,
                             compressors=None, overwrite=True)


def typedarr_pipeline(x_path: Path, out: Path, rows: int | None, run: Run) -> None:
    blocks = da.from_zarr(str(x_path))
    x = ta.Matrix.from_dask(blocks if rows is None else blocks[:rows])
    with timed(run, STEPS[0]):
        mu, var = ta.compute(ta.mean(x), ta.var(x))
    with timed(run, STEPS[1]):
        normalised = (x - ta.rows_like(mu, x)) / ta.rows_like(ta.sqrt(var + EPS), x)
        ta.store(normalised, raw_target(out, x.shape, blocks.chunksize))
        os.sync()
    with timed(run, STEPS[2]):
        gram = x.T @ x
    run.mean, run.var, run.gram = mu.to_numpy(), var.to_numpy(), gram.to_numpy()


def dask_pipeline(x_path: Path, out: Path, rows: int | None, run: Run) -> None:
    x = da.from_zarr(str(x_path))
    x = x if rows is None else x[:rows]
    with timed(run, STEPS[0]):
        mean = x.mean(axis=0)
        mu, var = dask.compute(mean, ((x - mean) ** 2).mean(axis=0))
    with timed(run, STEPS[1]):
        normalised = (x - mu) / np.sqrt(var + np.float32(EPS))
        da.store(normalised, raw_target(out, x.shape, x.chunksize), lock=False)
        os.sync()
    with timed(run, STEPS[2]):
        gram = (x.T @ x).compute()
    run.mean, run.var, run.gram = mu, var, gram


def numpy_pipeline(npy: Path, out: Path, chunk_rows: int, run: Run) -> None:
    x = np.load(npy, mmap_mode="r")
    n = x.shape[0]
    blocks = [slice(s, s + chunk_rows) for s in range(0, n, chunk_rows)]
    with timed(run, STEPS[0]):
        mu = sum((x[b].sum(axis=0, dtype=np.float32) for b in blocks),
                 np.zeros(x.shape[1], np.float32)) / np.float32(n)
        var = sum((((x[b] - mu) ** 2).sum(axis=0) for b in blocks),
                  np.zeros(x.shape[1], np.float32)) / np.float32(n)
    with timed(run, STEPS[1]):
        scale = np.float32(1) / np.sqrt(var + np.float32(EPS))
        y = np.lib.format.open_memmap(out, mode="w+", dtype=np.float32, shape=x.shape)
        for b in blocks:
            y[b] = (x[b] - mu) * scale
        y.flush()
        del y
        os.sync()
    with timed(run, STEPS[2]):
        gram = np.zeros((x.shape[1], x.shape[1]), np.float32)
        for b in blocks:
            gram += x[b].T @ x[b]
    run.mean, run.var, run.gram = mu, var, gram


@contextlib.contextmanager
def timed(run: Run, step: str) -> Iterator[None]:
    spilled = run.spill_meter() if run.spill_meter else 0.0
    start = time.perf_counter()
    yield
    run.seconds[step] = time.perf_counter() - start
    if run.spill_meter:
        run.spilled_steps[step] = run.spill_meter() - spilled


def worker_state(dask_worker: Any) -> dict[str, Any]:
    """Runs in each worker: its pid, resident memory, status and bytes spilled so far."""
    import psutil  # type: ignore[import-untyped]  # distributed depends on it

    metrics = getattr(dask_worker.data, "cumulative_metrics", {})
    return {"pid": os.getpid(), "rss": psutil.Process().memory_info().rss,
            "status": dask_worker.status.name,
            "spilled": sum(v for (label, unit), v in metrics.items()
                           if label == "disk-write" and unit == "bytes")}


@contextlib.contextmanager
def watched(client: Client, run: Run) -> Iterator[None]:
    """Sample the workers every quarter second while the block runs."""
    before = client.run(worker_state)
    pids = {s["pid"] for s in before.values()}
    spilled = sum(s["spilled"] for s in before.values())
    run.idle_rss = max(s["rss"] for s in before.values())
    run.spill_meter = lambda: float(sum(s["spilled"] for s in client.run(
        worker_state, on_error="ignore").values() if isinstance(s, dict)))
    done = threading.Event()

    def sample() -> None:
        while True:
            for s in client.run(worker_state, on_error="ignore").values():
                if isinstance(s, dict):
                    run.peak_rss = max(run.peak_rss, s["rss"])
                    run.paused |= s["status"] == "paused"
            if done.wait(0.25):
                return

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
        client.wait_for_workers(len(pids), timeout=120)
        after = client.run(worker_state)
        run.lost = len(pids - {s["pid"] for s in after.values()})
        run.spilled = sum(s["spilled"] for s in after.values()) - spilled * (run.lost == 0)
        run.spill_meter = None


@dataclass(frozen=True, slots=True)
class Cluster:
    """How to start the workers every timed run gets afresh."""

    workers: int
    memory_limit: str

    @contextlib.contextmanager
    def client(self) -> Iterator[Client]:
        with LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                          memory_limit=self.memory_limit, host="127.0.0.1",
                          dashboard_address=None) as cluster, Client(cluster) as client:
            yield client


def on_cluster(cluster: Cluster, pipeline: Callable[[Path, Path, int | None, Run], None],
               x_path: Path, directory: Path, name: str, warm_rows: int) -> Run:
    """One timed run on new workers, after a warm-up on a slice (kernels compiled or
    loaded in every worker, files opened): what is measured is the pipeline itself."""
    with cluster.client() as client:
        pipeline(x_path, directory / f"warm-{name}.zarr", warm_rows, Run())
        os.sync()
        run = Run()
        with watched(client, run):
            pipeline(x_path, directory / f"{name}.zarr", None, run)
    return run


def median_run(runs: list[Run]) -> Run:
    """The median seconds of each step over `runs`; the worst memory, spill and losses."""
    out = Run(mean=runs[0].mean, var=runs[0].var, gram=runs[0].gram)
    out.seconds = {s: float(np.median([r.seconds[s] for r in runs])) for s in STEPS}
    out.idle_rss = max(r.idle_rss for r in runs)
    out.peak_rss = max(r.peak_rss for r in runs)
    out.spilled_steps = {s: max(r.spilled_steps.get(s, 0.0) for r in runs) for s in STEPS}
    out.paused = any(r.paused for r in runs)
    out.spilled = max(r.spilled for r in runs)
    out.lost = sum(r.lost for r in runs)
    return out


def agree(a: Run, b: Run) -> bool:
    pairs = [(a.mean, b.mean), (a.var, b.var), (a.gram, b.gram)]
    return all(u is not None and v is not None and
               np.allclose(u, v, rtol=1e-3, atol=1e-3 * float(np.max(np.abs(v))))
               for u, v in pairs)


def table(runs: dict[str, Run], limit: int) -> str:
    names = list(runs)
    lines = ["| step | " + " | ".join(f"{n} (s)" for n in names) + " | "
             + " | ".join(f"{n} / typedarr" for n in names[1:]) + " |",
             "|---" * (1 + 2 * len(names) - 1) + "|"]
    for step in (*STEPS, "total"):
        secs = {n: (sum(r.seconds.values()) if step == "total" else r.seconds[step])
                for n, r in runs.items()}
        ref = secs[names[0]]
        lines.append(f"| {step} | " + " | ".join(f"{secs[n]:.2f}" for n in names) + " | "
                     + " | ".join(f"{secs[n] / ref:.2f}x" for n in names[1:]) + " |")
    lines.append("")
    for name, r in runs.items():
        if name.startswith("numpy"):
            continue
        by_step = ", ".join(f"{s}: {v / 2**20:.0f}" for s, v in r.spilled_steps.items())
        lines.append(f"- {name}: worker memory {r.idle_rss / 2**20:.0f} MiB after warm-up, "
                     f"peak {r.peak_rss / 2**20:.0f} MiB of {limit / 2**20:.0f} MiB; paused: "
                     f"{'yes' if r.paused else 'no'}; spilled: {r.spilled / 2**20:.0f} MiB "
                     f"({by_step}); workers lost: {r.lost}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    with contextlib.ExitStack() as stack:
        directory = args.dir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        start = time.perf_counter()
        x_path, npy = build(directory, args.rows, args.cols, args.chunk_rows)
        gib = args.rows * args.cols * 4 / 2**30
        print(f"data: {args.rows} x {args.cols} float32 ({gib:.2f} GiB) in {directory}, "
              f"chunks of {args.chunk_rows} rows, written in {time.perf_counter() - start:.0f} s")
        cluster = Cluster(args.workers, args.memory_limit)
        with cluster.client() as client:
            limit = next(iter(client.scheduler_info()["workers"].values()))["memory_limit"]
        print(f"cluster: {args.workers} workers x {limit / 2**20:.0f} MiB "
              f"({args.workers * limit / 2**30:.2f} GiB in all), new for every timed run")
        warm = min(args.rows, 4 * args.workers * args.chunk_rows)  # every worker warms up
        def run_numpy() -> Run:
            os.sync()
            run = Run()
            numpy_pipeline(npy, directory / "numpy-out.npy", args.chunk_rows, run)
            return run

        contestants: dict[str, Callable[[], Run]] = {
            "typedarr on Dask": lambda: on_cluster(cluster, typedarr_pipeline, x_path,
                                                   directory, "typedarr", warm),
            "dask.array": lambda: on_cluster(cluster, dask_pipeline, x_path, directory,
                                             "dask", warm),
            "numpy memmap (1 process)": run_numpy}
        names = list(contestants)
        contenders: dict[str, list[Run]] = {name: [] for name in names}
        loads = [os.getloadavg()[0]]
        for k in range(args.repeats):  # in turns: a noisy neighbour slows them all alike
            for name in names[k % len(names):] + names[:k % len(names)]:
                run = contestants[name]()
                contenders[name].append(run)
                loads.append(os.getloadavg()[0])
                print(f"round {k + 1}, {name}: " + ", ".join(
                    f"{s} {v:.2f} s" for s, v in run.seconds.items())
                    + f"; spilled {run.spilled / 2**20:.0f} MiB; load {loads[-1]:.1f}",
                    flush=True)
        runs = {name: median_run(r) for name, r in contenders.items()}
        numpy_run = runs["numpy memmap (1 process)"]
        print()
        print(table(runs, limit))
        print(f"- results agree (mean, variance, X.T @ X): typedarr vs dask.array "
              f"{agree(runs['typedarr on Dask'], runs['dask.array'])}, typedarr vs numpy "
              f"{agree(runs['typedarr on Dask'], numpy_run)}")
        print(f"- load average (1 min) at the start and after each run: "
              f"{', '.join(f'{v:.1f}' for v in loads)}")


if __name__ == "__main__":
    main()
