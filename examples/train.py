"""The training loop every example shares: seeded shuffles, mini-batches, per-epoch metrics.

`train` runs a network and an optimiser over a data set for some epochs and reports one
`EpochMetrics` per epoch; the CLI (`examples.mnist`), the reproductions
(`examples.reproduce`) and the epoch benchmark all call it, so what they measure is the same
loop. Each epoch draws a permutation from the seeded generator (seed 004) and gathers the
batches through it (the data arrays are read-only and never shuffled in place); the last
partial batch is dropped, as PyTorch's `drop_last=True` does, because a batchnorm layer
cannot train on a single row. Evaluation runs in the EVAL phase (running statistics, no
dropout), in chunks so that memory stays flat. A convolutional network (`examples.cnn`) gets
its samples as images: `train(..., image=(1, 28, 28))` reshapes the rows of the data into a
Tensor4 `(N, 1, 28, 28)`, and the same loop gathers its batches.
"""

from __future__ import annotations

import functools
import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

import nn
from typedarr import Matrix, Tensor4

SOFTMAX = nn.SoftmaxCrossEntropy()

OPTIMIZERS: dict[str, Callable[[float], nn.Optimizer]] = {
    "sgd": lambda lr: nn.SGD(lr=lr),
    "momentum": lambda lr: nn.SGD(lr=lr, momentum=0.9),
    "adam": lambda lr: nn.Adam(lr=lr),
    "rmsprop": lambda lr: nn.RMSprop(lr=lr),
}
"""Optimisers by their command-line name, each made from a learning rate."""

INITS: dict[str, nn.WeightInit] = {
    "small": nn.small_normal,  # seed 000: 0.01 * randn
    "normal": nn.standard_normal,  # seed 001's bad init: randn
    "xavier": nn.xavier_normal,
    "he": nn.he_normal,  # seed 001's "Xavier / 2"
}
"""Weight initialisers by their command-line name."""

Image = tuple[int, int, int]  # channels, rows, columns of one sample


@dataclass(frozen=True, slots=True)
class Data:
    """Features (one row per sample, float32) and integer labels of one split."""

    x: NDArray[np.float32]
    y: NDArray[np.int64]

    def __post_init__(self) -> None:
        if self.x.ndim != 2 or self.y.shape != (self.x.shape[0],):
            raise ValueError(f"Data needs x of shape (n, features) and y of shape (n,), got "
                             f"{self.x.shape} and {self.y.shape}")

    def head(self, n: int) -> Data:
        """The first `n` samples (smoke runs train on a subset)."""
        return Data(self.x[:n], self.y[:n])


@dataclass(frozen=True, slots=True)
class EpochMetrics:
    """One line of `--metrics-out`: the training figures are averages over the epoch's
    batches (in the TRAIN phase, as they were trained); the test figures are computed
    after the epoch in the EVAL phase. `seconds` is the epoch's wall time, training and
    evaluation; `train_seconds` the training steps alone (what a step's speed shows in)."""

    epoch: int
    train_loss: float
    train_accuracy: float
    test_loss: float
    test_accuracy: float
    seconds: float
    train_seconds: float


@dataclass(frozen=True, slots=True)
class State:
    """What training carries from step to step: the network and the optimiser (values)."""

    net: nn.Network
    opt: nn.Optimizer


def seed000_net(*, batchnorm: bool, init: nn.WeightInit = nn.small_normal, seed: int = 0,
                hiddens: tuple[int, ...] = (300, 50), dropout: float = 0.0,
                inputs: int = 784, classes: int = 10) -> nn.Network:
    """Seed 000's network: 784-300-50-10 with ReLUs; with batchnorm, each hidden layer is
    `LinearNoBias` + `Batchnorm1d` before the ReLU, without it `Linear` (biases 0.01*randn)."""
    return nn.mlp(inputs, classes, list(hiddens), [nn.Relu] * len(hiddens) + [nn.Identity],
                  num_bn_layers=len(hiddens) if batchnorm else 0, weight_init=init,
                  bias_init=nn.small_normal_bias, seed=seed, dropout=dropout,
                  bias_before_bn=False)


def targets(labels: NDArray[np.int64], classes: int, loss: nn.Loss) -> Matrix:
    """The rows the loss compares with: one-hot rows for softmax, a 0/1 column for sigmoid."""
    if isinstance(loss, nn.SigmoidBinaryCrossEntropy):
        return nn.binary_targets(labels)
    return nn.one_hot(labels, classes)


def batches(order: NDArray[np.int64], size: int) -> Iterator[NDArray[np.int64]]:
    """Consecutive slices of `order` of exactly `size` rows (the remainder is dropped).

    >>> [b.tolist() for b in batches(np.arange(5), 2)]
    [[0, 1], [2, 3]]
    """
    for start in range(0, len(order) - size + 1, size):
        yield order[start:start + size]


def train_epoch(state: State, x: Matrix | Tensor4, t: Matrix, *, batch_size: int,
                rng: np.random.Generator, loss: nn.Loss = SOFTMAX,
                on_step: Callable[[State], None] | None = None, max_steps: int | None = None,
                order: NDArray[np.int64] | None = None, eager: bool = False,
                on_loss: Callable[[float], None] | None = None
                ) -> tuple[State, float, float]:
    """One epoch over the rows of `x` (targets `t`) in a fresh seeded order.

    `on_step` sees the state after every step, `on_loss` each step's training loss (per-step
    loss curves); `max_steps` ends the epoch early (for experiments counted in iterations,
    as seed 001's); `order` replaces the shuffle (the epoch benchmark feeds PyTorch and
    typedarr the same batches); `eager` runs each step as `pass_` then `update` instead of
    the compiled step (`nn.compile_step`), which computes the same. `x` holds one sample
    per row, or per image (a Tensor4). Returns the new state, the mean training loss and
    the training accuracy.
    """
    samples = x.shape[0]
    if samples < batch_size:
        raise ValueError(f"a batch of {batch_size} needs at least that many samples, got "
                         f"{samples}")
    net, opt = state.net, state.opt
    total_loss = total_correct = 0.0
    count = 0
    if order is None:
        order = rng.permutation(samples)
    for rows in itertools.islice(batches(order, batch_size), max_steps):
        xb, tb = x[rows], t[rows]
        if eager:
            pred, grads = nn.pass_(nn.Phase.TRAIN, net, xb, tb, loss=loss, rng=rng)
            net, opt = opt.update(net, grads)
        else:
            net, opt, pred = compiled_step(loss)(net, opt, xb, tb, rng=rng)
        step_loss = nn.loss(pred, tb, loss)
        total_loss += step_loss
        total_correct += nn.accuracy(pred, tb)
        count += 1
        if on_loss is not None:
            on_loss(step_loss)
        if on_step is not None:
            on_step(State(net, opt))
    return State(net, opt), total_loss / count, total_correct / count


@functools.cache
def compiled_step(loss: nn.Loss) -> nn.Step:
    """The compiled training step for `loss`, one per process (it caches its traces)."""
    return nn.compile_step(loss)


def evaluate(net: nn.Network, x: Matrix | Tensor4, t: Matrix, *, loss: nn.Loss = SOFTMAX,
             chunk: int = 2000) -> tuple[float, float]:
    """Mean loss and accuracy of `net` in the EVAL phase, `chunk` samples at a time."""
    total_loss = total_correct = 0.0
    samples = x.shape[0]
    for start in range(0, samples, chunk):
        xb, tb = x[start:start + chunk], t[start:start + chunk]
        pred = nn.forward(net, xb, loss=loss)
        total_loss += nn.loss(pred, tb, loss) * tb.rows
        total_correct += nn.accuracy(pred, tb) * tb.rows
    return total_loss / samples, total_correct / samples


def inputs(data: Data, image: Image | None) -> Matrix | Tensor4:
    """The samples of `data` as the rows of a Matrix, or as `(N, *image)` images."""
    if image is None:
        return Matrix.from_numpy(data.x)
    return Tensor4.from_numpy(data.x.reshape(-1, *image))


def train(state: State, train_data: Data, test_data: Data, *, epochs: int, batch_size: int,
          seed: int, classes: int = 10, loss: nn.Loss = SOFTMAX,
          on_epoch: Callable[[EpochMetrics, State], None] | None = None,
          on_step: Callable[[State], None] | None = None,
          progress: bool = False, eager: bool = False, image: Image | None = None,
          on_loss: Callable[[float], None] | None = None,
          say: Callable[[str], None] | None = None
          ) -> tuple[State, list[EpochMetrics]]:
    """`epochs` epochs of mini-batch training, each followed by a test evaluation.

    `on_epoch` sees each epoch's metrics and state as soon as they exist (printing,
    checkpoints), `on_step` the state after every step (so an interrupted run can keep
    the latest one), `on_loss` each step's training loss; `progress` draws a tqdm bar per
    epoch on a terminal, when tqdm is installed; `eager` trains without the compiled step
    (see `train_epoch`); `image`, the `(channels, rows, columns)` of a sample, feeds a
    convolutional network images; `say` is told when the compiled step's first call
    compiles and how long it took (the CLIs print it: a long pause is never silent).
    """
    if say is not None and not eager and compiled_step(loss).traces == 0:
        on_step = _announcing(say, on_step)
    rng = np.random.default_rng(seed)
    x, t = inputs(train_data, image), targets(train_data.y, classes, loss)
    x_test, t_test = inputs(test_data, image), targets(test_data.y, classes, loss)
    history: list[EpochMetrics] = []
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        with _Bar(progress, epoch, epochs, x.shape[0] // batch_size, on_step) as step:
            state, train_loss, train_acc = train_epoch(state, x, t, batch_size=batch_size,
                                                       rng=rng, loss=loss, on_step=step,
                                                       eager=eager, on_loss=on_loss)
        trained = time.perf_counter()
        test_loss, test_acc = evaluate(state.net, x_test, t_test, loss=loss)
        metrics = EpochMetrics(epoch, train_loss, train_acc, test_loss, test_acc,
                               time.perf_counter() - start, trained - start)
        history.append(metrics)
        if on_epoch is not None:
            on_epoch(metrics, state)
    return state, history


def _announcing(say: Callable[[str], None], on_step: Callable[[State], None] | None
                ) -> Callable[[State], None]:
    """`on_step`, saying first that the training step compiles, then, after the first step,
    how long that took."""
    say("compiling the training step (first run only: its kernels are cached on disk)...")
    started = [time.perf_counter()]

    def step(state: State) -> None:
        if started:
            say(f"compiled and ran the first step in {time.perf_counter() - started.pop():.1f} s")
        if on_step is not None:
            on_step(state)

    return step


class _Bar:
    """A tqdm bar for one epoch (on a terminal, when tqdm is installed), ticked by the
    step callback it hands out, which also calls the caller's `on_step`."""

    def __init__(self, enabled: bool, epoch: int, epochs: int, total: int,
                 on_step: Callable[[State], None] | None) -> None:
        self._bar: Any = None
        self._on_step = on_step
        if enabled:
            try:
                from tqdm import tqdm  # type: ignore[import-untyped]
            except ImportError:
                return
            # disable=None: no bar when the output is not a terminal (logs, CI)
            self._bar = tqdm(total=total, desc=f"epoch {epoch}/{epochs}", unit="batch",
                             leave=False, dynamic_ncols=True, disable=None)

    def __enter__(self) -> Callable[[State], None] | None:
        bar, on_step = self._bar, self._on_step
        if bar is None:
            return on_step

        def step(state: State) -> None:
            bar.update(1)
            if on_step is not None:
                on_step(state)

        return step

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.close()
