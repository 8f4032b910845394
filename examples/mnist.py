"""Train seed 000's network on MNIST from the command line: `python -m examples.mnist`.

Finds the data (`--data-dir`, else `$TYPEDARR_DATA`, else the per-user cache, downloading it
there when absent), trains 784-300-50-10 with batchnorm before each ReLU (or without, with
`--no-batchnorm`), prints one summary line per epoch and the final test accuracy. A tqdm bar
shows each epoch's progress on a terminal. `--metrics-out` writes one JSON object per epoch,
`--plot` the accuracy curves, and `--checkpoint` keeps the latest network (after every epoch
and on Ctrl-C, which stops cleanly; `--resume` starts from such a file, with a fresh
optimiser).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import nn
from examples.mnist_data import MnistNotFound, load_mnist
from examples.train import INITS, OPTIMIZERS, Data, EpochMetrics, State, seed000_net, train


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line, with seed 000's experiment as the defaults."""
    p = argparse.ArgumentParser(prog="python -m examples.mnist", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=_positive, default=10)
    p.add_argument("--batch-size", type=_positive, default=100)
    p.add_argument("--lr", type=float, default=0.01, help="learning rate (default 0.01)")
    p.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="sgd")
    p.add_argument("--batchnorm", action=argparse.BooleanOptionalAction, default=True,
                   help="batchnorm before each ReLU (default on)")
    p.add_argument("--dropout", type=float, default=0.0,
                   help="dropout probability after each hidden ReLU (default 0)")
    p.add_argument("--init", choices=list(INITS), default="small",
                   help="weights: small = 0.01*randn (seed 000), normal = randn, xavier, he")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument("--no-download", action="store_true",
                   help="never download: fail when the files are not found")
    p.add_argument("--limit", type=_positive, default=None,
                   help="train on the first N training images only (quick runs)")
    p.add_argument("--metrics-out", type=Path, default=None, metavar="FILE",
                   help="write one JSON object per epoch (JSON lines)")
    p.add_argument("--plot", type=Path, default=None, metavar="FILE.png",
                   help="plot train and test accuracy per epoch")
    p.add_argument("--checkpoint", type=Path, default=None, metavar="FILE.npz",
                   help="save the network after every epoch and on Ctrl-C")
    p.add_argument("--resume", type=Path, default=None, metavar="FILE.npz",
                   help="start from a saved network instead of a new one")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = parse_args(argv)
    try:
        mnist = load_mnist(args.data_dir, download=not args.no_download)
    except MnistNotFound as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    train_data = Data(mnist.train_x, mnist.train_y)
    if args.limit is not None:
        train_data = train_data.head(args.limit)
    test_data = Data(mnist.test_x, mnist.test_y)
    net = (nn.load(args.resume) if args.resume is not None else
           seed000_net(batchnorm=args.batchnorm, init=INITS[args.init], seed=args.seed,
                       dropout=args.dropout))
    nn.check_network(net, train_data.x.shape[1])
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
              seed=args.seed, on_epoch=on_epoch, on_step=on_step, progress=True)
    except KeyboardInterrupt:
        where = "no checkpoint asked for (--checkpoint FILE)"
        if args.checkpoint is not None:
            nn.save(latest[0].net, args.checkpoint)
            where = f"the latest network is saved in {args.checkpoint}"
        print(f"\ninterrupted after {len(history)} full epoch(s): {where}", file=sys.stderr)
        return 130
    finally:
        if args.plot is not None and history:
            from examples.plots import plot_curves

            plot_curves(args.plot, {"train": [m.train_accuracy for m in history],
                                    "test": [m.test_accuracy for m in history]},
                        title="MNIST, seed 000's network", ylabel="accuracy", percent=True)
    if history:
        print(f"test accuracy {history[-1].test_accuracy:.4f}")
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


if __name__ == "__main__":
    sys.exit(main())
