"""Milliseconds per compiled and eager training step of seed 000's network, per optimiser,
and how many times each compiled step traced over an epoch.

Run `python -m benchmarks.optimisers` (about two minutes). The network is seed 000's
784-300-50-10 with batchnorm, batch 100, float32, on random inputs of MNIST's shape (the
step's cost does not depend on the values). Contenders: SGD; SGD whose learning rate
changes at every step (a new `SGD` each step, `lr = 0.01 * 0.999**step`); SGD with momentum
0.9; Adam; RMSprop. Each runs a 600-step epoch compiled (`nn.compile_step`, its `traces`
counted from a fresh step function), then the contenders take turns in rounds of
`--steps` compiled and as many eager steps (`pass_` then `update`); the median over rounds
of the mean step time is reported. Targets (issue 19): 1 trace each; a schedule <= 1.2x
compiled SGD, Adam/RMSprop/momentum <= 1.5x; compiled >= 2x faster than eager.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import nn
from examples.train import seed000_net
from typedarr import Matrix

Schedule = Callable[[Any, int], Any]  # (optimiser, step) -> the optimiser for that step


def _constant(opt: Any, step: int) -> Any:
    return opt


def _decaying(opt: Any, step: int) -> Any:
    return dataclasses.replace(opt, lr=0.01 * 0.999 ** step)


CONTENDERS: dict[str, tuple[Callable[[], Any], Schedule]] = {
    "SGD": (lambda: nn.SGD(lr=0.01), _constant),
    "SGD, lr schedule": (lambda: nn.SGD(lr=0.01), _decaying),
    "SGD, momentum 0.9": (lambda: nn.SGD(lr=0.01, momentum=0.9), _constant),
    "Adam": (lambda: nn.Adam(lr=1e-3), _constant),
    "RMSprop": (lambda: nn.RMSprop(lr=1e-3), _constant),
}


class Runner:
    """One contender: its state, a compiled step function and the eager step."""

    def __init__(self, make: Callable[[], Any], schedule: Schedule, batch: int) -> None:
        rng = np.random.default_rng(0)
        self.x = Matrix.from_numpy(rng.random((batch, 784), dtype=np.float32))
        self.t = nn.one_hot(rng.integers(0, 10, batch), 10)
        self.net = seed000_net(batchnorm=True, seed=0)
        self.opt, self.schedule, self.k = make(), schedule, 0
        self.step = nn.compile_step()

    def compiled(self, steps: int) -> float:
        """Seconds per compiled step over `steps` steps."""
        start = time.perf_counter()
        for _ in range(steps):
            self.k += 1
            self.net, self.opt, _ = self.step(self.net, self.schedule(self.opt, self.k),
                                              self.x, self.t)
        return (time.perf_counter() - start) / steps

    def eager(self, steps: int) -> float:
        """Seconds per eager step (`pass_` then `update`) over `steps` steps."""
        start = time.perf_counter()
        for _ in range(steps):
            self.k += 1
            _, grads = nn.pass_(nn.Phase.TRAIN, self.net, self.x, self.t)
            self.net, self.opt = self.schedule(self.opt, self.k).update(self.net, grads)
        return (time.perf_counter() - start) / steps


def main(argv: Sequence[str] | None = None) -> None:
    """Measure and print the table."""
    p = argparse.ArgumentParser(prog="python -m benchmarks.optimisers")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--steps", type=int, default=50, help="steps per contender per round")
    p.add_argument("--epoch-steps", type=int, default=600)
    p.add_argument("--batch-size", type=int, default=100)
    args = p.parse_args(argv)
    runners = {name: Runner(make, schedule, args.batch_size)
               for name, (make, schedule) in CONTENDERS.items()}
    for runner in runners.values():  # one epoch each: compiles, and counts the traces
        runner.compiled(args.epoch_steps)
        runner.eager(3)
    compiled: dict[str, list[float]] = {name: [] for name in runners}
    eager: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(args.rounds):
        for name, runner in runners.items():
            compiled[name].append(runner.compiled(args.steps))
            eager[name].append(runner.eager(args.steps))
    c = {name: statistics.median(t) for name, t in compiled.items()}
    e = {name: statistics.median(t) for name, t in eager.items()}
    print(f"{os.cpu_count()} cores; numpy {np.__version__}; seed 000's network with "
          f"batchnorm, batch {args.batch_size}; median of {args.rounds} alternating rounds of "
          f"{args.steps} steps\n")
    print(f"| optimiser | traces in {args.epoch_steps} steps | compiled ms/step | "
          f"vs compiled SGD | eager ms/step | compiled speed-up over eager |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, runner in runners.items():
        print(f"| {name} | {runner.step.traces} | {1e3 * c[name]:.2f} | "
              f"{c[name] / c['SGD']:.2f}x | {1e3 * e[name]:.2f} | {e[name] / c[name]:.2f}x |")


if __name__ == "__main__":
    main()
