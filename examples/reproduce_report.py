"""The results of `examples.reproduce` as the documentation shows them
(docs/guide/experiments.md): one Markdown block per seed (its table, its verdict against the
seed's numbers, its figure) and the PNG figures.

The experiments themselves (and the command line) are `examples.reproduce`'s; this module
turns what they return into text and plots, so that a block can be rewritten alone.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from examples.plots import plot_curves
from examples.readme_section import join_blocks, split_blocks
from examples.train import EpochMetrics

FIGURES = "../figures"
"""The figures' folder as the results page links it: docs/figures from docs/guide/."""


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


@dataclass(frozen=True, slots=True)
class CnnRun:
    """Seed 003's CNN, one configuration: its epochs' metrics and every step's training loss."""

    history: list[EpochMetrics]
    step_losses: list[float]
    load: float | None  # the 5-minute load average when its training ended (None: unknown)


@dataclass(frozen=True, slots=True)
class Result003:
    """Seed 003's experiment: the CNN with and without batchnorm, and how it was trained."""

    runs: dict[str, CnnRun]  # "batchnorm", "no batchnorm"
    eager: bool
    batch_size: int
    lr: float
    cpus: int | None


def moving_average(values: Sequence[float], weight: float = 0.99) -> list[float]:
    """Seed 003's moving loss: the first value, then `weight * previous + (1 - weight) * value`.

    >>> moving_average([1.0, 0.0, 0.0], weight=0.5)
    [1.0, 0.5, 0.25]
    """
    out: list[float] = []
    for v in values:
        out.append(v if not out else weight * out[-1] + (1 - weight) * v)
    return out


def report_000(r000: dict[str, list[EpochMetrics]]) -> str:
    """Seed 000's block of the results (Markdown)."""
    bn, plain = r000["batchnorm"], r000["no batchnorm"]
    return "\n".join([
        "**Seed 000** (test accuracy per epoch; the seed reports about 98% with "
        "batchnorm after 10 epochs):", "",
        "| epoch | " + " | ".join(str(m.epoch) for m in bn) + " |",
        "|---|" + "---:|" * len(bn),
        "| batchnorm | " + " | ".join(f"{m.test_accuracy:.4f}" for m in bn) + " |",
        "| no batchnorm | " + " | ".join(f"{m.test_accuracy:.4f}" for m in plain) + " |",
        "", _verdict_000(bn, plain), "",
        f"![seed 000]({FIGURES}/seed000_batchnorm.png)"])


SEED001 = {"bad init, batchnorm": "0.8853 ± 0.0079", "bad init, no batchnorm":
           "0.1388 ± 0.0219", "Xavier/2, batchnorm only": "0.9740 ± 0.0016",
           "Xavier/2, dropout only": "0.9692 ± 0.0006", "Xavier/2, neither":
           "0.9640 ± 0.0071"}
"""Seed 001's published accuracies, by experiment."""


def report_001(r001: list[Run]) -> str:
    """Seed 001's block: both tables, their ranking and batchnorm's time overhead."""
    lines = [f"**Seed 001** (test accuracy, mean ± std over {len(r001[0].accuracies)} runs of "
             f"1000 iterations):", "",
             "| experiment | typedarr | seed 001 | training seconds |", "|---|---:|---:|---:|"]
    for run in r001:
        lines.append(f"| {run.name} | {run.mean:.4f} ± {run.std:.4f} | {SEED001[run.name]} | "
                     f"{statistics.fmean(run.seconds):.1f} |")
    t_bn = statistics.fmean(r001[2].seconds)
    t_none = statistics.fmean(r001[4].seconds)
    lines += ["", _verdict_001(r001, SEED001), "",
              f"Batchnorm's training-time overhead (Xavier/2, batchnorm only vs neither): "
              f"{100 * (t_bn / t_none - 1):+.0f}% (seed 001: +30%)."]
    return "\n".join(lines)


def report_002(r002: list[float]) -> str:
    """Seed 002's block: one sentence."""
    return (f"**Seed 002** (breast cancer, 30-20-BN-tanh-10-BN-tanh-1-sigmoid, 100 steps): "
            f"test accuracy {statistics.fmean(r002):.4f} ± {statistics.pstdev(r002):.4f} "
            f"over {len(r002)} runs (the seed publishes no number).")


PYTORCH_003 = {"batchnorm": 0.9879, "no batchnorm": 0.1135}
"""Test accuracy of seed 003's network and training in PyTorch (CPU) after 1 epoch (issue 10)."""


def report_003(r003: Result003) -> str:
    """Seed 003's block: accuracy and training seconds with and without batchnorm."""
    bn = r003.runs["batchnorm"].history
    epochs = len(bn)
    steps = ("eager steps (`pass_` + `update`)" if r003.eager
             else "compiled steps (`nn.compile_step`)")
    lines = [f"**Seed 003** (`examples.cnn`'s network and defaults: batch {r003.batch_size}, "
             f"SGD lr {r003.lr:g} on the mean loss, {epochs} epoch{'s' if epochs > 1 else ''}, "
             f"{steps}; test accuracy after the last epoch, training seconds per epoch):", "",
             "| network | typedarr | PyTorch, 1 epoch | training seconds |",
             "|---|---:|---:|---:|"]
    for name, run in r003.runs.items():
        seconds = statistics.fmean(m.train_seconds for m in run.history)
        lines.append(f"| {name} | {run.history[-1].test_accuracy:.4f} | "
                     f"{PYTORCH_003[name]:.4f} | {seconds:.1f} |")
    plain = r003.runs["no batchnorm"].history[-1].test_accuracy
    final = bn[-1].test_accuracy
    lines += ["", f"Batchnorm after {epochs} epoch{'s' if epochs > 1 else ''}: {final:.4f} "
              f"(target ≥ 0.985: {'met' if final >= 0.985 else 'missed'}); without it "
              f"{plain:.4f} (chance is 0.10; PyTorch stays at 0.1135, its most frequent "
              f"class)."]
    loads = [run.load for run in r003.runs.values()]
    if all(load is not None for load in loads):
        # seconds mean little without how busy the machine was
        lines.append(f"The 5-minute load average when each training ended: "
                     f"{' and '.join(f'{load:.1f}' for load in loads)}, on "
                     f"{r003.cpus or 'an unknown number of'} CPUs.")
    lines += ["", f"![seed 003]({FIGURES}/seed003_loss.png)"]
    return "\n".join(lines)


def report_004(r004: list[EpochMetrics]) -> str:
    """Seed 004's block: per-epoch training and validation loss and error."""
    lines = ["**Seed 004** (`nn.mlp`, 784-64-32-10, sigmoid, one batchnorm layer, momentum "
             "SGD lr 0.008 / 0.9, batch 100):", "",
             "| epoch | train loss | train error | validation loss | validation error |",
             "|---:|---:|---:|---:|---:|"]
    lines += [f"| {m.epoch} | {m.train_loss:.4f} | {1 - m.train_accuracy:.4f} | "
              f"{m.test_loss:.4f} | {1 - m.test_accuracy:.4f} |" for m in r004]
    lines += ["", f"![seed 004 loss]({FIGURES}/seed004_loss.png) "
              f"![seed 004 error]({FIGURES}/seed004_error.png)"]
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


def figures_000(directory: Path, r000: dict[str, list[EpochMetrics]]) -> None:
    """Seed 000's figure: test accuracy per epoch."""
    plot_curves(directory / "seed000_batchnorm.png",
                {k: [m.test_accuracy for m in v] for k, v in r000.items()},
                title="Seed 000: MNIST 784-300-50-10, SGD", ylabel="test accuracy",
                percent=True)


def figures_003(directory: Path, r003: Result003) -> None:
    """Seed 003's figure: the training loss per step, as the seed's moving average."""
    plot_curves(directory / "seed003_loss.png",
                {k: moving_average(v.step_losses) for k, v in r003.runs.items()},
                title="Seed 003: MNIST CNN, SGD, batch 64",
                ylabel="training loss (moving average, 0.99)", xlabel="step", markers=False)


def figures_004(directory: Path, r004: list[EpochMetrics]) -> None:
    """Seed 004's figures: loss and error per epoch, training and validation."""
    plot_curves(directory / "seed004_loss.png",
                {"training": [m.train_loss for m in r004],
                 "validation": [m.test_loss for m in r004]},
                title="Seed 004: nn.mlp", ylabel="loss")
    plot_curves(directory / "seed004_error.png",
                {"training": [1 - m.train_accuracy for m in r004],
                 "validation": [1 - m.test_accuracy for m in r004]},
                title="Seed 004: nn.mlp", ylabel="error", percent=True)


def results(new: dict[str, str], old: str | None) -> str:
    """The results section: the `new` blocks (by seed) and, when `old` (the section's text
    today) is given, its blocks of the other seeds, unchanged; in the order of the seeds.

    Raises ValueError when `old` holds text outside its blocks (it would be lost).
    """
    blocks = {} if old is None else split_blocks(old, "results")
    blocks.update(new)
    return join_blocks("results", {seed: blocks[seed] for seed in sorted(blocks)})
