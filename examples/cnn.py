"""Train seed 003's convolutional network on MNIST from the command line: `python -m examples.cnn`.

The network (seed 003, MXNet's "straight dope"): conv 3x3x20, batchnorm, ReLU, average
pooling 2, conv 5x5x50, batchnorm, ReLU, average pooling 2, flatten (800), dense 128,
batchnorm, ReLU, dense 10; `--no-batchnorm` leaves out the three batchnorm layers. Seed
003's initialisation: every weight and bias N(0, 0.01), batchnorm's gamma N(1, 0.01) and
beta N(0, 0.01). Its training: plain SGD, batch 64, 1 epoch, learning rate 0.001 on the loss
summed over the batch; nn's gradients are of the mean loss, so the same steps take the
learning rate 0.001 * 64 = 0.064 (the default of --lr; at another --batch-size, seed 003's
steps are --lr 0.001 times the batch size).

Data, flags, output, checkpoints and errors are those of `examples.mnist` (see its help), and
the training loop is the same (`examples.train`), fed 28x28 images.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import nn
from examples.download import MnistNotFound
from examples.mnist import (
    UsageError,
    _check_outputs,
    _data,
    _fail,
    _natural,
    _Parser,
    _positive,
    _positive_float,
    _run,
    add_data_flags,
)
from examples.train import OPTIMIZERS, Data
from typedarr import Matrix, Tensor4, Vector

PROG = "python -m examples.cnn"
IMAGE = (1, 28, 28)
CLASSES = 10
SEED003_LR = 0.001  # on the summed loss, per sample of the batch


def seed003_net(*, batchnorm: bool = True, seed: int = 0, scale: float = 0.01) -> nn.Network:
    """Seed 003's CNN for `(N, 1, 28, 28)` images, initialised as seed 003 does.

    >>> [repr(layer) for layer in seed003_net()][:4]
    ['Conv2d(1->20, 3x3, float32)', 'Batchnorm2d(20, eps=1e-05, momentum=0.9, float32)', \
'Activation(Relu)', 'AvgPool2d(k=2)']
    """
    rng = np.random.default_rng(seed)

    def normal(*shape: int, mean: float = 0.0) -> np.ndarray[Any, Any]:
        return rng.normal(mean, scale, shape).astype(np.float32)

    def conv(c_in: int, c_out: int, k: int) -> nn.Conv2d:
        return nn.Conv2d(Tensor4.from_numpy(normal(c_out, c_in, k, k)),
                         Vector.from_numpy(normal(c_out)))

    def bn(kind: type[nn.Batchnorm1d] | type[nn.Batchnorm2d], n: int) -> list[nn.Layer]:
        if not batchnorm:
            return []
        zeros, ones = Vector.zeros(n), Vector.ones(n)
        return [kind(zeros, ones, Vector.from_numpy(normal(n, mean=1.0)),
                     Vector.from_numpy(normal(n)))]

    def dense(n_in: int, n_out: int) -> nn.Linear:
        return nn.Linear(Matrix.from_numpy(normal(n_in, n_out)),
                         Vector.from_numpy(normal(n_out)))

    relu = nn.Activation(nn.Relu)
    return [conv(1, 20, 3), *bn(nn.Batchnorm2d, 20), relu, nn.AvgPool2d(2),
            conv(20, 50, 5), *bn(nn.Batchnorm2d, 50), relu, nn.AvgPool2d(2),
            nn.Flatten(), dense(800, 128), *bn(nn.Batchnorm1d, 128), relu, dense(128, CLASSES)]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line, with seed 003's experiment as the defaults."""
    p = _Parser(prog=PROG, description=__doc__,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=_positive, default=1)
    p.add_argument("--batch-size", type=_positive, default=64)
    p.add_argument("--lr", type=_positive_float, default=SEED003_LR * 64,
                   help="learning rate on the mean loss (default 0.064: seed 003's 0.001 on "
                        "the loss summed over its batch of 64)")
    p.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="sgd")
    p.add_argument("--batchnorm", action=argparse.BooleanOptionalAction, default=True,
                   help="batchnorm before each ReLU (default on)")
    p.add_argument("--eager", action="store_true",
                   help="run each step as pass_ then update, not as one compiled call "
                        "(nn.compile_step: the same maths, traced and compiled once; the "
                        "first run compiles the CNN's step, later runs load it from the "
                        "kernel cache)")
    p.add_argument("--seed", type=_natural, default=0)
    add_data_flags(p)
    return p.parse_args(argv)


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
    return _run(PROG, args, net, train_data, test_data, image=IMAGE,
                title="MNIST, seed 003's CNN")


def _prepare(args: argparse.Namespace) -> tuple[nn.Network, Data, Data]:
    """Everything checked that can be before training: raises UsageError or MnistNotFound."""
    _check_outputs(args)
    wanted = seed003_net(batchnorm=args.batchnorm, seed=args.seed)
    net = wanted if args.resume is None else _resume(args.resume, wanted)
    train_data, test_data = _data(args)
    if args.batch_size < 2 and args.batchnorm:
        raise UsageError("--batch-size 1: batchnorm needs at least 2 samples per batch "
                         "(or --no-batchnorm)")
    return net, train_data, test_data


def _resume(path: Path, wanted: nn.Network) -> nn.Network:
    """The network saved at `path`, if it has the layers the flags describe."""
    try:
        net = nn.load(path)
    except nn.CheckpointError as e:
        raise UsageError(f"--resume: {e}") from e
    have, want = [_shape(layer) for layer in net], [_shape(layer) for layer in wanted]
    if have != want:
        raise UsageError(f"--resume {path} holds another network: {have} where the flags "
                         f"build {want} (--batchnorm/--no-batchnorm as it was trained)")
    return net


def _shape(layer: nn.Layer) -> str:
    """What must agree between a checkpoint and the flags: kinds, sizes and dtype."""
    if isinstance(layer, nn.Batchnorm1d | nn.Batchnorm2d):
        return f"{type(layer).__name__}({layer.size}, {layer.mu.dtype})"
    return repr(layer)


if __name__ == "__main__":
    sys.exit(main())
