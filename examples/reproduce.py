"""Reproduce the seeds' experiments: `python -m examples.reproduce` (about twelve minutes).

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
5. Seed 003: its CNN (`examples.cnn`, trained as `python -m examples.cnn` trains it by
   default: batch 64, 1 epoch, SGD lr 0.064 on the mean loss) with and without batchnorm:
   test accuracy, training seconds, and the training loss per step.

It writes the results into the documentation's page docs/guide/experiments.md (between the
`results` markers, one marked block per seed) and the figures into docs/figures/.
`--only 003` (or `--only 000,004`, or repeated) runs those seeds' experiments alone and
rewrites only their blocks, keeping the others.
`--quick` runs the experiments on a small scale (a smoke run: the numbers mean nothing) and
writes nothing unless told where.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import nn
from examples import cnn
from examples.breast_cancer import load_breast_cancer
from examples.mnist_data import load_for_cli
from examples.readme_section import read_section, replace_section
from examples.reproduce_report import (
    CnnRun,
    Result003,
    Run,
    figures_000,
    figures_003,
    figures_004,
    report_000,
    report_001,
    report_002,
    report_003,
    report_004,
    results,
)
from examples.train import (
    OPTIMIZERS,
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

PROG = "python -m examples.reproduce"
ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "guide" / "experiments.md"
"""The page the results go into (the site's "MNIST and the seeds' experiments")."""
SEEDS = ("000", "001", "002", "003", "004")
"""The experiments, by the seed each reproduces (`--only`'s choices, the page's blocks)."""
MNIST_SEEDS = frozenset(SEEDS) - {"002"}  # seed 002 trains on the breast-cancer data
_HAS_LOADAVG = hasattr(os, "getloadavg")  # Unix only


@dataclass(frozen=True, slots=True)
class Scale:
    """How big the experiments are: the seeds' sizes, or a smoke run's."""

    train_images: int | None  # None: all 60,000
    test_images: int | None  # None: all 10,000
    epochs_000: int
    steps_001: int
    runs_001: int
    epochs_004: int
    images_003: int | None  # training images of the CNN; None: all of train_images


FULL = Scale(train_images=None, test_images=None, epochs_000=10, steps_001=1000, runs_001=3,
             epochs_004=10, images_003=None)
# The CNN's quick part is 10 steps of 64: its eager step is the costliest of the smoke run.
QUICK = Scale(train_images=2000, test_images=1000, epochs_000=2, steps_001=10, runs_001=2,
              epochs_004=2, images_003=640)


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


def experiment_003(train_data: Data, test_data: Data, scale: Scale) -> Result003:
    """Seed 003's CNN with and without batchnorm, trained as `examples.cnn` trains it."""
    # examples.cnn's defaults are seed 003's training (and its choice of eager or compiled
    # steps): read from its parser, so that this experiment follows the CLI
    defaults = cnn.parse_args([])
    data = train_data.head(scale.images_003 or len(train_data.y))
    runs = {}
    for name, batchnorm in (("batchnorm", True), ("no batchnorm", False)):
        net = cnn.seed003_net(batchnorm=batchnorm, seed=defaults.seed)
        state = State(net, OPTIMIZERS[defaults.optimizer](defaults.lr))
        losses: list[float] = []
        _, history = train(state, data, test_data, epochs=defaults.epochs,
                           batch_size=defaults.batch_size, seed=defaults.seed, progress=True,
                           eager=defaults.eager, image=cnn.IMAGE, on_loss=losses.append)
        runs[name] = CnnRun(history, losses, os.getloadavg()[1] if _HAS_LOADAVG else None)
        print(f"seed 003, {name}: test accuracy {history[-1].test_accuracy:.4f} "
              f"({history[-1].train_seconds:.1f} s of training)", flush=True)
    return Result003(runs, defaults.eager, defaults.batch_size, defaults.lr, os.cpu_count())


def run_seed(seed: str, scale: Scale, train_data: Data | None, test_data: Data | None,
             figure_dir: Path | None) -> str:
    """Run one seed's experiment, write its figures; returns its block of the results."""
    if seed == "002":
        return report_002(experiment_002())
    assert train_data is not None and test_data is not None  # MNIST_SEEDS load MNIST
    match seed:
        case "000":
            r000 = experiment_000(train_data, test_data, scale)
            if figure_dir is not None:
                figures_000(figure_dir, r000)
            return report_000(r000)
        case "001":
            return report_001(experiment_001(train_data, test_data, scale))
        case "003":
            r003 = experiment_003(train_data, test_data, scale)
            if figure_dir is not None:
                figures_003(figure_dir, r003)
            return report_003(r003)
        case "004":
            r004 = experiment_004(train_data, scale)
            if figure_dir is not None:
                figures_004(figure_dir, r004)
            return report_004(r004)
    raise ValueError(f"no experiment for seed {seed!r} (choose from {', '.join(SEEDS)})")


def _seeds(text: str) -> list[str]:
    """`--only`'s value: seeds separated by commas."""
    seeds = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in seeds if s not in SEEDS]
    if not seeds or unknown:
        raise argparse.ArgumentTypeError(f"{text!r}: choose among {', '.join(SEEDS)} "
                                         f"(comma-separated or repeated)")
    return seeds


def main(argv: Sequence[str] | None = None) -> int:
    """Run the experiments asked for; returns the exit status."""
    p = argparse.ArgumentParser(prog=PROG, description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="a small smoke run")
    p.add_argument("--only", action="extend", type=_seeds, default=None, metavar="SEEDS",
                   help=f"run only these seeds' experiments ({', '.join(SEEDS)}; "
                        f"comma-separated or repeated) and rewrite only their blocks")
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument("--no-download", action="store_true",
                   help="never download: fail when the files are not found")
    # --readme: the option's name from when the results were in the README
    p.add_argument("--page", "--readme", dest="page", type=Path, default=None,
                   help="the Markdown page to write the tables into (default: "
                        "docs/guide/experiments.md, unless --quick)")
    p.add_argument("--figures", type=Path, default=None,
                   help="where to write the PNGs (default: docs/figures, unless --quick)")
    args = p.parse_args(argv)
    scale = QUICK if args.quick else FULL
    page: Path | None = args.page or (None if args.quick else PAGE)
    figure_dir = args.figures or (None if args.quick else ROOT / "docs" / "figures")
    chosen = [seed for seed in SEEDS if args.only is None or seed in args.only]
    if page is not None:
        # before the training: a page without the section, or (with --only) whose other
        # blocks cannot be kept, fails now rather than after it
        try:
            section = read_section(page, "results")
            if args.only is not None:
                results({}, section)
        except (OSError, ValueError) as e:
            p.error(f"--page {page}: {e}")
    train_data = test_data = None
    if MNIST_SEEDS.intersection(chosen):
        mnist = load_for_cli(PROG, "mnist", args.data_dir, download=not args.no_download)
        train_data = Data(mnist.train_x, mnist.train_y).head(
            scale.train_images or len(mnist.train_y))
        test_data = Data(mnist.test_x, mnist.test_y).head(
            scale.test_images or len(mnist.test_y))
    command = "python -m examples.reproduce" + (" --quick" if args.quick else "")
    if args.only is not None:
        command += " --only " + ",".join(chosen)
    stamp = f"Produced by `{command}` on {time.strftime('%Y-%m-%d')}."
    new = {seed: run_seed(seed, scale, train_data, test_data, figure_dir) + "\n\n" + stamp
           for seed in chosen}
    # the other seeds' blocks as they are now (the page may have changed during the run)
    old = None if page is None or args.only is None else read_section(page, "results")
    text = results(new, old)
    print(text)
    if page is not None:
        replace_section(page, "results", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
