"""Typed code on data larger than memory: `python -m examples.scale`.

Builds a chunked on-disk data set (zarr; `--rows` x `--cols` float32, written chunk by
chunk), then runs on Dask, with the same typed expressions as for arrays in memory:

1. the per-feature mean and variance (`ta.mean`, `ta.var`: one compute, tree reductions of
   per-block partial sums),
2. the Gram matrix `X.T @ X` (dask's blocked product),
3. the normalised data written back to zarr (`ta.store`, block by block),
4. a few hundred training steps of a small network on mini-batches drawn from the
   normalised data on disk (`examples.chunked.shuffled_batches`: shuffled by chunk, then
   within), never loading it whole.

Dask's threads run it by default; `--workers N` starts a `LocalCluster` of N worker
processes with `--memory-limit` each and prints its dashboard address. A progress bar shows
each Dask computation.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import zarr

import nn
import typedarr as ta
from examples.chunked import Dataset, make_dataset, progress, shuffled_batches

PROG = "python -m examples.scale"
EPS = 1e-5


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=_positive, default=20_000)
    p.add_argument("--cols", type=_positive, default=784)
    p.add_argument("--chunk-rows", type=_positive, default=5_000)
    p.add_argument("--dir", type=Path, default=None,
                   help="where the data set lives (default: a new temporary directory)")
    p.add_argument("--workers", type=_integer, default=0,
                   help="worker processes of a LocalCluster (default 0: Dask's threads)")
    p.add_argument("--memory-limit", default="1GiB", help="per worker (default 1GiB)")
    p.add_argument("--steps", type=_integer, default=300, help="training steps (default 300)")
    p.add_argument("--batch-size", type=_positive, default=100)
    p.add_argument("--seed", type=_integer, default=0)
    return p.parse_args(argv)


def _integer(text: str) -> int:
    value = ta.parse_integer(text)  # int() would take "1_0" and other scripts' digits
    if value is None:
        raise argparse.ArgumentTypeError(f"invalid integer: {text!r}")
    return value


def _positive(text: str) -> int:
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


@contextmanager
def timed(what: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    print(f"{what}: {time.perf_counter() - start:.2f} s")


def statistics(data: Dataset, out: Path, client: Any | None
               ) -> tuple[ta.Vector, ta.Vector, ta.Matrix]:
    """Mean, variance and Gram matrix of the features; the normalised features to `out`."""
    x = ta.Matrix.from_zarr(data.x)
    with timed("mean and variance"), progress(client, "mean and variance"):
        mu, var = ta.compute(ta.mean(x), ta.var(x))
    with timed("X.T @ X"), progress(client, "X.T @ X"):
        gram = x.T @ x
    normalised = (x - ta.rows_like(mu, x)) / ta.rows_like(ta.sqrt(var + EPS), x)
    with timed("normalised data written"), progress(client, "normalise and store"):
        ta.store(normalised, out, overwrite=True)
    return mu, var, gram


def train(features: Path, labels: Path, *, steps: int, batch_size: int, seed: int,
          classes: int) -> float:
    """`steps` training steps of a small network on shuffled mini-batches from disk; the
    mean training accuracy of the last 50 steps."""
    x, y = zarr.open_array(features), zarr.open_array(labels)
    net = nn.mlp(x.shape[1], classes, [64], [nn.Relu, nn.Identity], seed=seed)
    opt: nn.Optimizer = nn.Adam(lr=1e-3)
    step = nn.compile_step()
    rng = np.random.default_rng(seed)
    accuracies: list[float] = []
    while len(accuracies) < steps:
        for xb, yb in shuffled_batches(x, y, batch_size, rng):
            net, opt, pred = step(net, opt, xb, nn.one_hot(yb, classes), rng=rng)
            accuracies.append(nn.accuracy(pred, yb))
            if len(accuracies) % 100 == 0:
                print(f"  step {len(accuracies)}: accuracy {np.mean(accuracies[-100:]):.3f}")
            if len(accuracies) == steps:
                break
    return float(np.mean(accuracies[-50:]))


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    with ExitStack() as stack:
        directory = args.dir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        with timed(f"data set {args.rows} x {args.cols} written to {directory}"):
            data = make_dataset(directory, args.rows, args.cols, chunk_rows=args.chunk_rows,
                                seed=args.seed)
        client = None
        if args.workers > 0:
            from distributed import Client, LocalCluster

            cluster = stack.enter_context(LocalCluster(
                n_workers=args.workers, threads_per_worker=1, processes=True,
                memory_limit=args.memory_limit, host="127.0.0.1", dashboard_address=":0"))
            client = stack.enter_context(Client(cluster))
            print(f"dashboard: {client.dashboard_link}")
        mu, var, gram = statistics(data, directory / "x_normalised.zarr", client)
        print(f"features: mean in [{mu.to_numpy().min():.2f}, {mu.to_numpy().max():.2f}], "
              f"variance in [{var.to_numpy().min():.3f}, {var.to_numpy().max():.3f}]; "
              f"trace(X.T @ X) = {float(np.trace(gram.to_numpy())):.4g}")
        with timed(f"{args.steps} training steps from disk"):
            accuracy = train(directory / "x_normalised.zarr", data.y, steps=args.steps,
                             batch_size=args.batch_size, seed=args.seed, classes=10)
        print(f"training accuracy (last 50 steps): {accuracy:.3f}")


if __name__ == "__main__":
    main()
