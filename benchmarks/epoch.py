"""Seconds per MNIST epoch of seed 000's network: typedarr + nn (its compiled step, and the
eager `pass_` + `update`) against PyTorch on the CPU and against the same network written by
hand in numpy.

Run `python -m benchmarks.epoch` (about two minutes; PyTorch from `pip install
'typedarr[bench]'`, left out with a note when absent). All train 784-300-50-10 with SGD lr
0.01, batch 100, float32, on all 60,000 training images, in the same row order, with
batchnorm before each ReLU and without; the contenders take turns, one epoch each per
round, and the median is reported. typedarr's epoch is `examples.train.train_epoch`, the
loop the CLI runs (its loss and accuracy bookkeeping included); PyTorch's is
`benchmarks.torch_mnist`, numpy's `benchmarks.numpy_mnist`, JAX's (one `jax.jit` step,
from the `bench` extra) `benchmarks.jax_mnist`. After the table, where the
compiled step's time goes (`benchmarks.step_profile`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

import nn
from benchmarks import jax_mnist, numpy_mnist, step_profile, torch_mnist
from examples.mnist_data import load_for_cli
from examples.train import SOFTMAX, State, seed000_net, targets, train_epoch
from typedarr import Matrix, Tensor4

Epoch = Callable[[NDArray[np.int64]], object]


def typedarr_runner(train_x: NDArray[np.float32], train_y: NDArray[np.int64], *,
                    batchnorm: bool, batch_size: int, eager: bool = False) -> Epoch:
    """A function training typedarr's network for one epoch in the given row order, with
    the compiled step (`nn.compile_step`) or, `eager`, with `pass_` then `update`."""
    x, t = Matrix.from_numpy(train_x), targets(train_y, 10, SOFTMAX)
    start = State(seed000_net(batchnorm=batchnorm, seed=0), nn.SGD(lr=0.01))
    return training_runner(start, x, t, batch_size=batch_size, eager=eager)


def training_runner(start: State, x: Matrix | Tensor4, t: Matrix, *, batch_size: int,
                    eager: bool) -> Epoch:
    """A function training on from `start` for one epoch of `examples.train`'s loop in the
    given order; returns the loss."""
    state = [start]
    rng = np.random.default_rng(0)  # unused without dropout: the order is given

    def run(order: NDArray[np.int64]) -> object:
        state[0], loss, _ = train_epoch(state[0], x, t, batch_size=batch_size, rng=rng,
                                        order=order, eager=eager)
        return loss

    return run


def _yardsticks(train_x: NDArray[np.float32], train_y: NDArray[np.int64], batch_size: int
                ) -> dict[str, Epoch]:
    """numpy by hand, JAX and PyTorch (those installed), with batchnorm and without."""
    contenders: dict[str, Epoch] = {}
    for bn, name in ((True, "numpy by hand, batchnorm"), (False, "numpy by hand, no batchnorm")):
        contenders[name] = numpy_mnist.epoch_runner(seed000_net(batchnorm=bn, seed=0),
                                                    train_x, train_y,
                                                    batch_size=batch_size, lr=0.01)
    jax = jax_mnist.version()
    if jax is not None:
        for bn, name in ((True, "JAX, batchnorm"), (False, "JAX, no batchnorm")):
            contenders[name] = jax_mnist.epoch_runner(seed000_net(batchnorm=bn, seed=0),
                                                      train_x, train_y,
                                                      batch_size=batch_size, lr=0.01)
    torch = torch_mnist.version()
    if torch is not None:
        for bn, name in ((True, "PyTorch, batchnorm"), (False, "PyTorch, no batchnorm")):
            contenders[name] = torch_mnist.epoch_runner(train_x, train_y,
                                                        batchnorm=bn,
                                                        batch_size=batch_size,
                                                        lr=0.01, seed=0)
    return contenders


def main(argv: Sequence[str] | None = None) -> None:
    """Measure and print the table."""
    p = argparse.ArgumentParser(prog="python -m benchmarks.epoch")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--data-dir", type=Path, default=None)
    args = p.parse_args(argv)
    mnist = load_for_cli(p.prog, "mnist", args.data_dir)
    contenders: dict[str, Epoch] = {
        "typedarr, batchnorm": typedarr_runner(mnist.train_x, mnist.train_y, batchnorm=True,
                                               batch_size=args.batch_size),
        "typedarr, no batchnorm": typedarr_runner(mnist.train_x, mnist.train_y,
                                                  batchnorm=False, batch_size=args.batch_size),
    }
    for bn, name in ((True, "typedarr eager, batchnorm"), (False, "typedarr eager, no batchnorm")):
        contenders[name] = typedarr_runner(mnist.train_x, mnist.train_y, batchnorm=bn,
                                           batch_size=args.batch_size, eager=True)
    contenders.update(_yardsticks(mnist.train_x, mnist.train_y, args.batch_size))
    rng = np.random.default_rng(0)
    warm = rng.permutation(len(mnist.train_y))[:2000]
    for run in contenders.values():
        run(warm)  # compile kernels, fault in pages
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(args.rounds):
        order = rng.permutation(len(mnist.train_y))
        for name, run in contenders.items():
            start = time.perf_counter()
            run(order)
            times[name].append(time.perf_counter() - start)
    median = {name: statistics.median(t) for name, t in times.items()}
    torch, jax = torch_mnist.version(), jax_mnist.version()
    print(f"{os.cpu_count()} cores; numpy {np.__version__}; {torch or 'PyTorch not installed'}"
          f"; {jax or 'JAX not installed'}; median of {args.rounds} alternating rounds\n")
    steps = len(mnist.train_y) // args.batch_size
    print(f"| seed 000's network, one epoch ({steps} steps of {args.batch_size}) | seconds | "
          f"typedarr's time relative to it |")
    print("|---|---:|---:|")
    for name, t in median.items():
        ours = median[name.replace(name.split(",")[0], "typedarr")]
        ratio = "" if name.startswith("typedarr,") else f"{ours / t:.2f}x"
        print(f"| {name} | {t:.2f} | {ratio} |")
    print()
    for who in ("typedarr", "typedarr eager", "numpy by hand", "JAX", "PyTorch"):
        if f"{who}, batchnorm" in median:
            overhead = median[f"{who}, batchnorm"] / median[f"{who}, no batchnorm"] - 1
            print(f"batchnorm adds {100 * overhead:+.0f}% to a {who} epoch")
    _profiles(mnist.train_x[:args.batch_size], mnist.train_y[:args.batch_size])


def _profiles(images: NDArray[np.float32], labels: NDArray[np.int64]) -> None:
    """Where the compiled step's time goes, with batchnorm and without (one batch)."""
    x, target = Matrix.from_numpy(images), targets(labels, 10, SOFTMAX)
    for bn in (True, False):
        net = seed000_net(batchnorm=bn, seed=0)
        print("", *step_profile.report(net, nn.SGD(lr=0.01), x, target,
                                       f"seed 000's network {'with' if bn else 'without'} "
                                       f"batchnorm"), sep="\n")


if __name__ == "__main__":
    main()
