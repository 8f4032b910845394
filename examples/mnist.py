"""Train seed 000's network on MNIST from the command line: `python -m examples.mnist`.

Finds the data (`--data-dir`, else `$TYPEDARR_DATA`, else the per-user cache, downloading it
there when absent), trains 784-300-50-10 with batchnorm before each ReLU (or without, with
`--no-batchnorm`), prints one summary line per epoch and the final test accuracy. A tqdm bar
shows each epoch's progress on a terminal. `--metrics-out` writes one JSON object per epoch,
`--plot` the accuracy curves, and `--checkpoint` keeps the latest network (after every epoch
and on Ctrl-C, which stops cleanly; safetensors, or a version 1 `.npz` for a name ending in
`.npz`). `--resume` starts from such a file, with a fresh optimiser: its network must be the
one the flags describe (`--no-batchnorm` and `--dropout` as it was trained), and `--init`,
which it would make meaningless, is refused.

Every mistake the command line can see (a bad value, an output it cannot write, a missing or
damaged data file or checkpoint, a batch larger than the data) is one line on stderr and exit
status 2, before training starts.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import nn
import typedarr as ta
from examples.datasets import DATASETS
from examples.download import MnistNotFound
from examples.mnist_data import DataError, load_dataset
from examples.train import (
    INITS,
    OPTIMIZERS,
    Data,
    EpochMetrics,
    Image,
    State,
    seed000_net,
    train,
)
from typedarr._atomic import destination

PROG = "python -m examples.mnist"
INPUTS, CLASSES = 784, 10


class UsageError(Exception):
    """A mistake in the command line or in what it names: one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line (argparse adds the usage first); `--help` shows the usage."""
        self.exit(2, f"{self.prog}: error: {message}\n")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line, with seed 000's experiment as the defaults."""
    p = _Parser(prog=PROG, description=__doc__,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=_positive, default=10)
    p.add_argument("--batch-size", type=_positive, default=100)
    p.add_argument("--lr", type=_positive_float, default=0.01,
                   help="learning rate (default 0.01)")
    p.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="sgd")
    p.add_argument("--batchnorm", action=argparse.BooleanOptionalAction, default=True,
                   help="batchnorm before each ReLU (default on)")
    p.add_argument("--dropout", type=_probability, default=0.0,
                   help="dropout probability after each hidden ReLU (default 0)")
    p.add_argument("--init", choices=list(INITS), default=None,
                   help="weights: small = 0.01*randn (seed 000, the default), normal = randn, "
                        "xavier, he; not with --resume")
    p.add_argument("--eager", action="store_true",
                   help="run each step as pass_ then update, not as one compiled call "
                        "(nn.compile_step: the same maths, traced and compiled once)")
    p.add_argument("--seed", type=_natural, default=0)
    add_data_flags(p)
    return p.parse_args(argv)


def add_data_flags(p: argparse.ArgumentParser) -> None:
    """The flags every MNIST-layout CLI shares: where the data is and where results go."""
    p.add_argument("--dataset", choices=sorted(DATASETS), default="mnist",
                   help="which MNIST-layout dataset to train on (each with its own mirrors "
                        "and checksums; Fashion-MNIST is the usual drop-in for MNIST)")
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument("--no-download", action="store_true",
                   help="never download: fail when the files are not found")
    p.add_argument("--limit", type=_positive, default=None,
                   help="train on the first N training images only (quick runs)")
    p.add_argument("--metrics-out", type=Path, default=None, metavar="FILE",
                   help="write one JSON object per epoch (JSON lines)")
    p.add_argument("--plot", type=Path, default=None, metavar="FILE.png",
                   help="plot train and test accuracy per epoch")
    p.add_argument("--checkpoint", type=Path, default=None, metavar="FILE.safetensors",
                   help="save the network after every epoch and on Ctrl-C")
    p.add_argument("--resume", type=Path, default=None, metavar="FILE.safetensors",
                   help="start from a saved network instead of a new one")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = parse_args(argv)
    try:
        net, train_data, test_data = _prepare(args)
    except UsageError as e:
        return _fail(PROG, str(e))
    except MnistNotFound as e:  # several lines on purpose: what is missing and how to get it
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    return _run(PROG, args, net, train_data, test_data)


def _prepare(args: argparse.Namespace) -> tuple[nn.Network, Data, Data]:
    """Everything checked that can be before training: raises UsageError or MnistNotFound."""
    if args.resume is not None and args.init is not None:
        raise UsageError("--init has no effect with --resume (the weights come from the "
                         "checkpoint): leave it out")
    _check_outputs(args)
    wanted = seed000_net(batchnorm=args.batchnorm, init=INITS[args.init or "small"],
                         seed=args.seed, dropout=args.dropout)
    net = wanted if args.resume is None else _resume(args.resume, wanted, args)
    train_data, test_data = _data(args)
    if args.batch_size < 2 and any(isinstance(layer, nn.Batchnorm1d) for layer in net):
        raise UsageError("--batch-size 1: batchnorm needs at least 2 rows per batch "
                         "(or --no-batchnorm)")
    return net, train_data, test_data


def _data(args: argparse.Namespace) -> tuple[Data, Data]:
    """The training images (the first --limit) and the test images, checked against
    --limit and --batch-size (shared with `examples.cnn`): raises UsageError or
    MnistNotFound."""
    try:
        mnist = load_dataset(args.dataset, args.data_dir, download=not args.no_download)
    except DataError as e:
        raise UsageError(str(e)) from e
    train_data = Data(mnist.train_x, mnist.train_y)
    if args.limit is not None:
        if args.limit > len(train_data.y):
            raise UsageError(f"--limit {args.limit} is more than the {len(train_data.y)} "
                             f"training images")
        train_data = train_data.head(args.limit)
    if args.batch_size > len(train_data.y):
        raise UsageError(f"--batch-size {args.batch_size} is more than the "
                         f"{len(train_data.y)} training images")
    return train_data, Data(mnist.test_x, mnist.test_y)


def _run(prog: str, args: argparse.Namespace, net: nn.Network, train_data: Data,
         test_data: Data, *, image: Image | None = None,
         title: str = "MNIST, seed 000's network") -> int:
    """Train, report and save as the flags ask (shared with `examples.cnn`, whose network
    takes each sample as an `image`); errors name `prog`, the program that runs."""
    state = State(net, OPTIMIZERS[args.optimizer](args.lr))
    print(f"MNIST: {len(train_data.y)} training, {len(test_data.y)} test images; network "
          f"{net}; {args.optimizer} lr={args.lr}, batch {args.batch_size}, seed {args.seed}")
    if args.metrics_out is not None:
        args.metrics_out.write_text("")  # one run per file: start it empty
    history: list[EpochMetrics] = []
    latest = [state]

    def on_epoch(m: EpochMetrics, s: State) -> None:
        latest[0] = s
        history.append(m)
        print(f"epoch {m.epoch:3d}  train loss {m.train_loss:.4f}  acc {m.train_accuracy:.4f}"
              f"  |  test loss {m.test_loss:.4f}  acc {m.test_accuracy:.4f}  "
              f"({m.seconds:.1f} s)", flush=True)
        if args.metrics_out is not None:
            with args.metrics_out.open("a", encoding="utf-8") as f:
                f.write(json.dumps(dataclasses.asdict(m)) + "\n")
        if args.checkpoint is not None:
            nn.save(s.net, args.checkpoint)

    def on_step(s: State) -> None:  # states are values: keeping the latest is enough
        latest[0] = s

    try:
        train(state, train_data, test_data, epochs=args.epochs, batch_size=args.batch_size,
              seed=args.seed, on_epoch=on_epoch, on_step=on_step, progress=True,
              eager=args.eager, image=image,
              say=lambda message: print(message, file=sys.stderr, flush=True))
    except KeyboardInterrupt:
        where = "no checkpoint asked for (--checkpoint FILE)"
        if args.checkpoint is not None:
            nn.save(latest[0].net, args.checkpoint)
            where = f"the latest network is saved in {args.checkpoint}"
        print(f"\ninterrupted after {len(history)} full epoch(s): {where}", file=sys.stderr)
        return 130
    except (nn.CheckpointError, OSError) as e:  # checked up front, so the disk changed since
        print(f"{prog}: error after {len(history)} epoch(s): {_one_line(str(e))}",
              file=sys.stderr)
        return 1
    finally:
        if args.plot is not None and history:
            from examples.plots import plot_curves

            plot_curves(args.plot, {"train": [m.train_accuracy for m in history],
                                    "test": [m.test_accuracy for m in history]},
                        title=title, ylabel="accuracy", percent=True)
    if history:
        print(f"test accuracy {history[-1].test_accuracy:.4f}")
    return 0


def _resume(path: Path, wanted: nn.Network, args: argparse.Namespace) -> nn.Network:
    """The network saved at `path`, if it is the one the flags describe."""
    try:
        net = nn.load(path)
    except nn.CheckpointError as e:
        raise UsageError(f"--resume: {e}") from e
    have, want = [_shape(layer) for layer in net], [_shape(layer) for layer in wanted]
    if have == want:
        return net
    i = next((i for i, (h, w) in enumerate(zip(have, want, strict=False)) if h != w),
             min(len(have), len(want)))
    what = (f"layer {i} is {have[i] if i < len(have) else 'missing'} where the flags build "
            f"{want[i] if i < len(want) else 'nothing'}")
    raise UsageError(f"--resume {path} holds another network ({len(have)} layers; {what})"
                     f"{_hint(net, args)}")


def _shape(layer: nn.Layer) -> str:
    """What must agree between a checkpoint and the flags: kinds, sizes, dtype, activation
    and dropout rate (not the values learned, nor batchnorm's eps and momentum)."""
    if isinstance(layer, nn.Batchnorm1d):
        return f"Batchnorm1d({layer.size}, {layer.mu.dtype})"
    return repr(layer)


def _hint(net: nn.Network, args: argparse.Namespace) -> str:
    """Which flag would describe the checkpoint's network, where one would."""
    has_bn = any(isinstance(layer, nn.Batchnorm1d) for layer in net)
    rates = sorted({layer.p for layer in net if isinstance(layer, nn.Dropout)})
    if has_bn and not args.batchnorm:
        return ": it was trained with batchnorm, so leave out --no-batchnorm"
    if args.batchnorm and not has_bn:
        return ": it was trained without batchnorm, so add --no-batchnorm"
    if rates and rates != [args.dropout]:
        return f": it has dropout {rates[0]}, so pass --dropout {rates[0]}"
    if args.dropout and not rates:
        return ": it has no dropout, so leave out --dropout"
    return ""


def _check_outputs(args: argparse.Namespace) -> None:
    """Each output can be written: its directory exists and takes a new file, it is not a
    directory or a special file, and no two outputs (or an output and --resume) coincide."""
    outputs = {flag: path for flag, path in (("--checkpoint", args.checkpoint),
                                             ("--metrics-out", args.metrics_out),
                                             ("--plot", args.plot)) if path is not None}
    seen: dict[Path, str] = {}
    for flag, path in outputs.items():
        dest = _writable(flag, path)
        if dest in seen:
            raise UsageError(f"{flag} and {seen[dest]} name the same file {path}")
        seen[dest] = flag
    resume = None if args.resume is None else Path(os.path.realpath(args.resume))
    if resume in seen and seen[resume] != "--checkpoint":
        raise UsageError(f"{seen[resume]} would overwrite the --resume checkpoint {args.resume}")
    if args.plot is not None:
        _check_plot(args.plot)


def _writable(flag: str, path: Path) -> Path:
    try:
        dest = destination(path)
    except OSError as e:
        raise UsageError(f"{flag} {path}: {e}") from e
    if not dest.parent.is_dir():
        raise UsageError(f"{flag} {path}: directory {dest.parent} does not exist")
    try:  # a real try: permissions alone do not tell (root, read-only mounts, quotas)
        fd, probe = tempfile.mkstemp(dir=dest.parent, prefix=".write-test.")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise UsageError(f"{flag} {path}: cannot write in {dest.parent} ({e.strerror})") from e
    if dest.exists() and not os.access(dest, os.W_OK):
        raise UsageError(f"{flag} {path}: the file is read-only")
    return dest


def _check_plot(path: Path) -> None:
    try:
        from matplotlib.figure import Figure
    except ImportError as e:
        raise UsageError("--plot needs matplotlib (pip install 'typedarr[examples]')") from e
    kinds = Figure().canvas.get_supported_filetypes()
    suffix = path.suffix.lstrip(".").lower()
    if suffix and suffix not in kinds:
        raise UsageError(f"--plot {path}: matplotlib cannot write .{suffix} files (it writes "
                         f"{', '.join(sorted(kinds))})")


def _fail(prog: str, message: str) -> int:
    """One line on stderr naming `prog`, the program that runs; exit status 2."""
    print(f"{prog}: error: {_one_line(message)}", file=sys.stderr)
    return 2


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _positive(text: str) -> int:
    value = _int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def _natural(text: str) -> int:
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {value}")
    return value


def _positive_float(text: str) -> float:
    value = _float(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number above 0, got {text}")
    return value


def _probability(text: str) -> float:
    value = _float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value


def _int(text: str) -> int:
    value = ta.parse_integer(text)  # int() would take "1_0" and other scripts' digits
    if value is None:
        raise argparse.ArgumentTypeError(f"invalid integer: {text!r}")
    return value


def _float(text: str) -> float:
    value = ta.parse_number(text)  # float() would take "1_0", " 1" and other scripts' digits
    if value is None and text in ("nan", "inf", "-inf"):
        value = float(text)  # a number all the same: its range check says why it is refused
    if value is None:
        raise argparse.ArgumentTypeError(f"invalid number: {text!r}")
    return value


if __name__ == "__main__":
    sys.exit(main())
