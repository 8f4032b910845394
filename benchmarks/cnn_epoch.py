"""Seconds per MNIST epoch of seed 003's CNN: typedarr + nn (the eager `pass_` + `update`,
and the compiled step) against PyTorch on the CPU.

Run `python -m benchmarks.cnn_epoch` (about ten minutes at the defaults; PyTorch from `pip
install 'typedarr[bench]'`, left out with a note when absent). All train the network of
`examples.cnn` (`seed003_net`, the same initial weights: PyTorch's is its twin,
`benchmarks.torch_cnn`) with SGD at learning rate 0.064 on the mean loss, batch 64, float32,
on the training images in the same order; the contenders take turns, one epoch each per
round, and the median is reported. Training only: no evaluation. typedarr's epoch is
`examples.train.train_epoch`, the loop the CLI runs (its loss and accuracy bookkeeping
included). Each contender first trains a few batches (the warm-up column: kernels compile,
pages fault in; for the compiled step this is the compile), which the epochs do not count.
`--limit` trains on the first images only, for a short run; `--no-compiled` leaves out the
compiled step, whose first call compiles the whole CNN step. After the table, where the
compiled step's time goes (`benchmarks.step_profile`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

import nn
from benchmarks import step_profile, torch_mnist
from benchmarks.epoch import Epoch, training_runner
from examples.cnn import IMAGE, seed003_net
from examples.mnist_data import load_for_cli
from examples.train import SOFTMAX, State, targets
from typedarr import Tensor4

PROG = "python -m benchmarks.cnn_epoch"


def typedarr_runner(images: NDArray[np.float32], labels: NDArray[np.int64], *,
                    batch_size: int, lr: float, eager: bool) -> Epoch:
    """A function training seed 003's network for one epoch in the given order, with the
    compiled step (`nn.compile_step`) or, `eager`, with `pass_` then `update`."""
    x, t = Tensor4.from_numpy(images), targets(labels, 10, SOFTMAX)
    start = State(seed003_net(seed=0), nn.SGD(lr=lr))
    return training_runner(start, x, t, batch_size=batch_size, eager=eager)


def torch_version() -> str | None:
    """PyTorch's version and thread count, or None when it is not installed."""
    # As typedarr's engine does before its first kernel: PyTorch's OpenMP threads must not
    # spin while the other contenders run in the same process.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    return torch_mnist.version()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--limit", type=int, default=None,
                   help="train on the first LIMIT images (default: all 60,000)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.064)
    p.add_argument("--warm-up", type=int, default=10, help="batches before the epochs")
    p.add_argument("--compiled", action=argparse.BooleanOptionalAction, default=True,
                   help="include the compiled step (its warm-up compiles the CNN step)")
    p.add_argument("--torch", action=argparse.BooleanOptionalAction, default=True,
                   help="include PyTorch where it is installed")
    p.add_argument("--data-dir", type=Path, default=None)
    return p.parse_args(argv)


def contenders(args: argparse.Namespace, images: NDArray[np.float32],
               labels: NDArray[np.int64]) -> dict[str, Epoch]:
    """The contenders the flags ask for, by name."""
    make = {"batch_size": args.batch_size, "lr": args.lr}
    runs: dict[str, Epoch] = {
        "typedarr eager": typedarr_runner(images, labels, eager=True, **make)}
    if args.compiled:
        runs["typedarr compiled"] = typedarr_runner(images, labels, eager=False, **make)
    if args.torch and torch_version() is not None:
        from benchmarks import torch_cnn
        runs["PyTorch"] = torch_cnn.epoch_runner(seed003_net(seed=0), images, labels, **make)
    return runs


def main(argv: Sequence[str] | None = None) -> None:
    """Measure and print the table."""
    args = parse_args(argv)
    mnist = load_for_cli(PROG, "mnist", args.data_dir)
    images = mnist.train_x[:args.limit].reshape(-1, *IMAGE)
    labels = mnist.train_y[:args.limit]
    torch = torch_version() if args.torch else None
    runs = contenders(args, images, labels)
    rng = np.random.default_rng(0)
    warm = rng.permutation(len(labels))[:args.warm_up * args.batch_size]
    first: dict[str, float] = {}
    for name, run in runs.items():
        start = time.perf_counter()
        run(warm)
        first[name] = time.perf_counter() - start
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.rounds):
        order = rng.permutation(len(labels))
        for name, run in runs.items():
            start = time.perf_counter()
            run(order)
            times[name].append(time.perf_counter() - start)
    print(f"{os.cpu_count()} cores; numpy {np.__version__}; "
          f"{torch or 'PyTorch not measured'}; median of {args.rounds} alternating rounds\n")
    print(table(times, first, steps=len(labels) // args.batch_size,
                batch_size=args.batch_size, warm_up=args.warm_up))
    if args.compiled:
        x = Tensor4.from_numpy(images[:args.batch_size])
        t = targets(labels[:args.batch_size], 10, SOFTMAX)
        print("", *step_profile.report(seed003_net(seed=0), nn.SGD(lr=args.lr), x, t,
                                       "seed 003's CNN", steps=10), sep="\n")


def table(times: dict[str, list[float]], first: dict[str, float], *, steps: int,
          batch_size: int, warm_up: int) -> str:
    """The Markdown table: median seconds per epoch, and each relative to PyTorch's."""
    median = {name: statistics.median(t) for name, t in times.items()}
    base = median.get("PyTorch")
    lines = [f"| seed 003's CNN, one epoch ({steps} steps of {batch_size}) | seconds "
             f"(median) | relative to PyTorch | rounds (s) | warm-up, {warm_up} steps (s) |",
             "|---|---:|---:|---|---:|"]
    for name, t in median.items():
        ratio = f"{t / base:.2f}x" if base else ""
        rounds = ", ".join(f"{s:.1f}" for s in times[name])
        lines.append(f"| {name} | {t:.2f} | {ratio} | {rounds} | {first[name]:.1f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
