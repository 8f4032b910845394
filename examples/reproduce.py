"""Reproduce the seeds' experiments: `python -m examples.reproduce` (about ten minutes).

1. Seed 000: 784-300-50-10, `LinearNoBias` + `Batchnorm1d` before each ReLU vs the same net
   with biases and no batchnorm; weights 0.01*randn, SGD lr 0.01, batch 100, 10 epochs.
2. Seed 001: two hidden layers of 256, batch 256, 1000 iterations, mean and std over runs.
   Bad init (randn weights, Adam lr 1e-2, dropout 0.5) with and without batchnorm; He init
   ("Xavier/2", RMSprop lr 1e-2) with batchnorm only, dropout only, neither; and the time
   batchnorm adds to training.
3. Seed 002: the breast-cancer classifier 30-20-BN-tanh-10-BN-tanh-1-sigmoid, randn
   weights, SGD, batch 50, 100 steps.
4. Seed 004: `nn.mlp(784, 10, [64, 32], [Sigmoid, Sigmoid, Identity], num_bn_layers=1)`
   with momentum SGD, per-epoch training/validation loss and error (the last 10,000
   training images are the validation set).

It writes the results table into README.md (between the `results` markers) and the
figures into docs/figures/. `--quick` runs every experiment on a small scale (a smoke
run: the numbers mean nothing) and writes nothing unless told where.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import nn
from examples.breast_cancer import load_breast_cancer
from examples.mnist_data import Mnist, load_mnist
from examples.plots import plot_curves
from examples.readme_section import replace_section
from examples.train import (
    Data,
    EpochMetrics,
    State,
    evaluate,
    seed000_net,
    targets,
    train,
    train_epoch,
)
from typedarr import Matrix

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class Scale:
    """How big the experiments are: the seeds' sizes, or a smoke run's."""

    train_images: int | None  # None: all 60,000
    test_images: int | None  # None: all 10,000
    epochs_000: int
    steps_001: int
    runs_001: int
    epochs_004: int


FULL = Scale(train_images=None, test_images=None, epochs_000=10, steps_001=1000, runs_001=3,
             epochs_004=10)
QUICK = Scale(train_images=2000, test_images=1000, epochs_000=2, steps_001=10, runs_001=2,
              epochs_004=2)


@dataclass(frozen=True, slots=True)
class Run:
    """One configuration of seed 001, over several runs: accuracies and training seconds."""

    name: str
    accuracies: list[float]
    seconds: list[float]

    @property
    def mean(self) -> float:
        return statistics.fmean(self.accuracies)

    @property
    def std(self) -> float:
        return statistics.pstdev(self.accuracies)


def experiment_000(train_data: Data, test_data: Data, scale: Scale
                   ) -> dict[str, list[EpochMetrics]]:
    """Seed 000's figure: test accuracy per epoch with and without batchnorm."""
    out = {}
    for name, batchnorm in (("batchnorm", True), ("no batchnorm", False)):
        state = State(seed000_net(batchnorm=batchnorm, seed=0), nn.SGD(lr=0.01))
        _, history = train(state, train_data, test_data, epochs=scale.epochs_000,
                           batch_size=100, seed=0, progress=True)
        out[name] = history
        print(f"seed 000, {name}: " + " ".join(f"{m.test_accuracy:.4f}" for m in history),
              flush=True)
    return out


def experiment_001(train_data: Data, test_data: Data, scale: Scale) -> list[Run]:
    """Seed 001's two tables: bad init (Adam) and He init (RMSprop), with their timings."""
    configs: list[tuple[str, nn.WeightInit, nn.Optimizer, bool, float]] = [
        # name, init, optimiser, batchnorm, dropout
        ("bad init, batchnorm", nn.standard_normal, nn.Adam(lr=1e-2), True, 0.5),
        ("bad init, no batchnorm", nn.standard_normal, nn.Adam(lr=1e-2), False, 0.5),
        ("Xavier/2, batchnorm only", nn.he_normal, nn.RMSprop(lr=1e-2), True, 0.0),
        ("Xavier/2, dropout only", nn.he_normal, nn.RMSprop(lr=1e-2), False, 0.5),
        ("Xavier/2, neither", nn.he_normal, nn.RMSprop(lr=1e-2), False, 0.0),
    ]
    x, t = Matrix.from_numpy(train_data.x), targets(train_data.y, 10, nn.SoftmaxCrossEntropy())
    x_test = Matrix.from_numpy(test_data.x)
    t_test = targets(test_data.y, 10, nn.SoftmaxCrossEntropy())
    runs = []
    for name, init, opt, batchnorm, dropout in configs:
        accuracies, seconds = [], []
        for run in range(scale.runs_001):
            # hipsternet's net: biased linear layers, batchnorm before ReLU, dropout after
            net = nn.mlp(784, 10, [256, 256], [nn.Relu, nn.Relu, nn.Identity],
                         num_bn_layers=2 if batchnorm else 0, weight_init=init,
                         seed=run, dropout=dropout)
            state, rng, steps = State(net, opt), np.random.default_rng(run), 0
            start = time.perf_counter()
            while steps < scale.steps_001:
                state, _, _ = train_epoch(state, x, t, batch_size=256, rng=rng,
                                          max_steps=scale.steps_001 - steps)
                steps += min(x.rows // 256, scale.steps_001 - steps)
            seconds.append(time.perf_counter() - start)
            accuracies.append(evaluate(state.net, x_test, t_test)[1])
        runs.append(Run(name, accuracies, seconds))
        print(f"seed 001, {name}: {runs[-1].mean:.4f} ± {runs[-1].std:.4f} "
              f"({statistics.fmean(seconds):.1f} s)", flush=True)
    return runs


def experiment_002(steps: int = 100, runs: int = 5) -> list[float]:
    """Seed 002's classifier: test accuracy of `runs` seeded trainings."""
    data = load_breast_cancer(seed=0)
    loss = nn.SigmoidBinaryCrossEntropy()
    x, t = Matrix.from_numpy(data.train_x), targets(data.train_y, 1, loss)
    x_test, t_test = Matrix.from_numpy(data.test_x), targets(data.test_y, 1, loss)
    accuracies = []
    for run in range(runs):
        net = nn.mlp(30, 1, [20, 10], [nn.Tanh, nn.Tanh, nn.Identity], num_bn_layers=2,
                     weight_init=nn.standard_normal, seed=run, bias_before_bn=False)
        # the seed sums its loss over the batch of 50 with lr 0.01: lr 0.5 on the mean
        state, rng, done = State(net, nn.SGD(lr=0.5)), np.random.default_rng(run), 0
        while done < steps:
            state, _, _ = train_epoch(state, x, t, batch_size=50, rng=rng, loss=loss,
                                      max_steps=steps - done)
            done += min(x.rows // 50, steps - done)
        accuracies.append(evaluate(state.net, x_test, t_test, loss=loss)[1])
    print(f"seed 002: {statistics.fmean(accuracies):.4f} over {runs} runs", flush=True)
    return accuracies


def experiment_004(train_data: Data, scale: Scale) -> list[EpochMetrics]:
    """Seed 004's MLP with per-epoch training and validation loss and error."""
    n_val = min(10_000, len(train_data.y) // 6)
    fit = Data(train_data.x[:-n_val], train_data.y[:-n_val])
    val = Data(train_data.x[-n_val:], train_data.y[-n_val:])
    net = nn.mlp(784, 10, [64, 32], [nn.Sigmoid, nn.Sigmoid, nn.Identity], num_bn_layers=1,
                 weight_init=nn.xavier_normal, seed=0)
    _, history = train(State(net, nn.SGD(lr=0.008, momentum=0.9)), fit, val,
                       epochs=scale.epochs_004, batch_size=100, seed=0, progress=True)
    print("seed 004, validation error: "
          + " ".join(f"{1 - m.test_accuracy:.4f}" for m in history), flush=True)
    return history


def report(r000: dict[str, list[EpochMetrics]], r001: list[Run], r002: list[float],
           r004: list[EpochMetrics], command: str) -> str:
    """The README's results section (Markdown)."""
    seed001 = {"bad init, batchnorm": "0.8853 ± 0.0079", "bad init, no batchnorm":
               "0.1388 ± 0.0219", "Xavier/2, batchnorm only": "0.9740 ± 0.0016",
               "Xavier/2, dropout only": "0.9692 ± 0.0006", "Xavier/2, neither":
               "0.9640 ± 0.0071"}
    bn, plain = r000["batchnorm"], r000["no batchnorm"]
    lines = [f"Produced by `{command}` on {time.strftime('%Y-%m-%d')}.", "",
             "**Seed 000** (test accuracy per epoch; the seed reports about 98% with "
             "batchnorm after 10 epochs):", "",
             "| epoch | " + " | ".join(str(m.epoch) for m in bn) + " |",
             "|---|" + "---:|" * len(bn),
             "| batchnorm | " + " | ".join(f"{m.test_accuracy:.4f}" for m in bn) + " |",
             "| no batchnorm | " + " | ".join(f"{m.test_accuracy:.4f}" for m in plain) + " |",
             "", _verdict_000(bn, plain), "",
             "![seed 000](docs/figures/seed000_batchnorm.png)", "",
             f"**Seed 001** (test accuracy, mean ± std over {len(r001[0].accuracies)} runs of "
             f"1000 iterations):", "",
             "| experiment | typedarr | seed 001 | training seconds |", "|---|---:|---:|---:|"]
    for run in r001:
        lines.append(f"| {run.name} | {run.mean:.4f} ± {run.std:.4f} | {seed001[run.name]} | "
                     f"{statistics.fmean(run.seconds):.1f} |")
    lines += ["", _verdict_001(r001, seed001)]
    t_bn = statistics.fmean(r001[2].seconds)
    t_none = statistics.fmean(r001[4].seconds)
    lines += ["", f"Batchnorm's training-time overhead (Xavier/2, batchnorm only vs neither): "
              f"{100 * (t_bn / t_none - 1):+.0f}% (seed 001: +30%).", "",
              f"**Seed 002** (breast cancer, 30-20-BN-tanh-10-BN-tanh-1-sigmoid, 100 steps): "
              f"test accuracy {statistics.fmean(r002):.4f} ± {statistics.pstdev(r002):.4f} "
              f"over {len(r002)} runs (the seed publishes no number).", "",
              "**Seed 004** (`nn.mlp`, 784-64-32-10, sigmoid, one batchnorm layer, momentum "
              "SGD lr 0.008 / 0.9, batch 100):", "",
              "| epoch | train loss | train error | validation loss | validation error |",
              "|---:|---:|---:|---:|---:|"]
    lines += [f"| {m.epoch} | {m.train_loss:.4f} | {1 - m.train_accuracy:.4f} | "
              f"{m.test_loss:.4f} | {1 - m.test_accuracy:.4f} |" for m in r004]
    lines += ["", "![seed 004 loss](docs/figures/seed004_loss.png) "
              "![seed 004 error](docs/figures/seed004_error.png)"]
    return "\n".join(lines)


def _verdict_000(bn: list[EpochMetrics], plain: list[EpochMetrics]) -> str:
    final = bn[-1].test_accuracy
    ahead = all(b.test_accuracy > p.test_accuracy for b, p in zip(bn, plain, strict=True))
    return (f"Batchnorm at epoch {bn[-1].epoch}: {final:.4f} (target ≥ 0.975: "
            f"{'met' if final >= 0.975 else 'missed'}); ahead of the plain net at every "
            f"epoch: {'yes' if ahead else 'no'}.")


def _verdict_001(runs: list[Run], seed: dict[str, str]) -> str:
    """Whether each table ranks its rows as the seed's does."""
    verdicts = []
    for table in ("bad init", "Xavier/2"):
        rows = [r for r in runs if r.name.startswith(table)]
        ours = [r.name for r in sorted(rows, key=lambda r: -r.mean)]
        theirs = sorted((r.name for r in rows), key=lambda n: -float(seed[n].split()[0]))
        if ours == theirs:
            verdicts.append(f"{table}: as in the seed")
        else:
            verdicts.append(f"{table}: differs from the seed (here {' > '.join(ours)})")
    return "Ranking of each table: " + "; ".join(verdicts) + "."


def figures(directory: Path, r000: dict[str, list[EpochMetrics]], r004: list[EpochMetrics]
            ) -> None:
    """The PNG figures the README shows."""
    plot_curves(directory / "seed000_batchnorm.png",
                {k: [m.test_accuracy for m in v] for k, v in r000.items()},
                title="Seed 000: MNIST 784-300-50-10, SGD", ylabel="test accuracy",
                percent=True)
    plot_curves(directory / "seed004_loss.png",
                {"training": [m.train_loss for m in r004],
                 "validation": [m.test_loss for m in r004]},
                title="Seed 004: nn.mlp", ylabel="loss")
    plot_curves(directory / "seed004_error.png",
                {"training": [1 - m.train_accuracy for m in r004],
                 "validation": [1 - m.test_accuracy for m in r004]},
                title="Seed 004: nn.mlp", ylabel="error", percent=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run every experiment; returns the exit status."""
    p = argparse.ArgumentParser(prog="python -m examples.reproduce", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="a small smoke run")
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument("--no-download", action="store_true",
                   help="never download: fail when the files are not found")
    p.add_argument("--readme", type=Path, default=None,
                   help="the README to write the table into (default: the project's, "
                        "unless --quick)")
    p.add_argument("--figures", type=Path, default=None,
                   help="where to write the PNGs (default: docs/figures, unless --quick)")
    args = p.parse_args(argv)
    scale = QUICK if args.quick else FULL
    readme = args.readme or (None if args.quick else ROOT / "README.md")
    figure_dir = args.figures or (None if args.quick else ROOT / "docs" / "figures")
    mnist: Mnist = load_mnist(args.data_dir, download=not args.no_download)
    n = scale.train_images or len(mnist.train_y)
    train_data = Data(mnist.train_x, mnist.train_y).head(n)
    test_data = Data(mnist.test_x, mnist.test_y).head(scale.test_images or len(mnist.test_y))
    r000 = experiment_000(train_data, test_data, scale)
    r001 = experiment_001(train_data, test_data, scale)
    r002 = experiment_002()
    r004 = experiment_004(train_data, scale)
    if figure_dir is not None:
        figures(figure_dir, r000, r004)
    command = "python -m examples.reproduce" + (" --quick" if args.quick else "")
    text = report(r000, r001, r002, r004, command)
    print(text)
    if readme is not None:
        replace_section(readme, "results", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
