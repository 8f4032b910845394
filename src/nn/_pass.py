"""Seed 000's `_pass`: one recursive function doing a network's forward and backward pass.

```
pred, grads = pass_(Phase.TRAIN, net, x, target, rng=rng)   # grads[i] belongs to net[i]
pred = forward(net, x)                                       # evaluation only
```

`x` is a Matrix `(batch, features)`, or a Tensor4 `(batch, channels, rows, columns)` for a
network that starts with convolutional layers (seed 003); `Flatten` turns a Tensor4 into the
Matrix that dense layers take.

`_pass` matches the first layer of the list, computes its output, recurses on the rest of
the list with that output, and on the way back turns the gradient at its output into the
gradient at its input and its own `Gradients`. The empty list is the output: softmax (or
sigmoid) and the gradient of the mean loss, `(pred - target) / batch`. Every gradient is of
the mean loss over the batch (see `nn._batchnorm` for how seed 000 differs).

In the TRAIN phase batchnorm normalises with the batch's statistics and dropout drops
values, drawing its masks from `rng`, a seeded `numpy.random.Generator` (a Generator and
not a seed: a seed would draw the same mask at every step). In the EVAL phase batchnorm
uses the running statistics, dropout is the identity, and the gradients are those of that
function (so EVAL passes are deterministic and can be gradient-checked; a batchnorm layer's
gradients then carry the running statistics, and EVAL gradients are not meant for training).

`forward` is the same recursion in the EVAL phase without a target: seed 000's Haskell never
computes what nobody asks for, so its prediction costs no gradients; here the output level of
such a pass hands the prediction straight back to `forward` (an exception that unwinds the
recursion), so the arms below are the only statement of each layer's maths and no arm
computes its backward half for an inference.

Errors are `NetworkError`s naming the layer: sizes that do not fit (typedarr's ShapeError
or DTypeError, re-raised), a training batch of one row at a batchnorm layer, NaN or
infinity in `x`, in `target` or in any layer's output (a diverged training), and dropout
without `rng`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, assert_never

import numpy as np
from typing_extensions import TypeVar

import typedarr as ta
from typedarr import Matrix, MatrixLike, Tensor4, Tensor4Like

from . import _batchnorm as bn
from . import _batchnorm2d as bn2
from ._activations import activate, derivative
from ._batchnorm_layers import (
    Batchnorm1d,
    Batchnorm1dGradients,
    Batchnorm2d,
    Batchnorm2dGradients,
)
from ._check import all_finite
from ._errors import NetworkError
from ._layers import (
    Activation,
    AvgPool2d,
    Conv2d,
    Conv2dGradients,
    Dropout,
    Flatten,
    Gradients,
    Layer,
    Linear,
    LinearGradients,
    LinearNoBias,
    LinearNoBiasGradients,
    MaxPool2d,
    NoGrad,
)
from ._layers import describe as _describe
from ._losses import SOFTMAX_CROSS_ENTROPY, Loss, check_loss, prediction
from ._losses import output as _output
from ._values import (
    Blame,
    Values,
    as_matrix,
    as_tensor4,
    check_batch,
    check_layer,
    checked_data,
    network_input,
    report_nonfinite,
)

B = TypeVar("B", default=Any)  # rows: the batch
C = TypeVar("C", default=Any)  # columns of the prediction


class Phase(Enum):
    """Training (batch statistics, dropout on) or evaluation (running statistics, no dropout).

    >>> import nn
    >>> nn.Phase.TRAIN
    <Phase.TRAIN: 'train'>
    """

    TRAIN = "train"
    EVAL = "eval"


@dataclass(frozen=True, slots=True)
class _Context:
    """What every level of the recursion shares."""

    phase: Phase
    loss: Loss
    target: Matrix | None  # None: an inference pass (`forward`), which ends at the output
    rng: np.random.Generator | None
    # Each layer's output, in order: checked for NaN and infinity only when the logits are
    # not finite (one check per pass instead of one per layer), to name the first culprit.
    outputs: list[tuple[int, Values]] = field(default_factory=list)


Back = tuple[Values | None, Matrix, list[Gradients]]  # input gradient, prediction, gradients


class _Predicted(Exception):
    """The end of an inference pass: the last layer's output, carried past the arms'
    backward halves."""

    def __init__(self, out: Values) -> None:
        super().__init__("an inference pass reached the output")
        self.out = out


def pass_(phase: Phase, net: Sequence[Layer],
          x: MatrixLike[B, Any] | Tensor4Like[B, Any, Any, Any], target: MatrixLike[B, C],
          *, loss: Loss = SOFTMAX_CROSS_ENTROPY, rng: np.random.Generator | None = None
          ) -> tuple[Matrix[B, C], list[Gradients]]:
    """The prediction for `x` and the gradients of the mean `loss` for every layer.

    Returns `(pred, grads)`: `pred` the output probabilities (softmax rows, or sigmoids),
    `grads[i]` the `Gradients` of `net[i]`. `rng` is required in the TRAIN phase when the
    network has dropout with `p > 0`.

    Raises NetworkError naming the layer (see the module docstring).

    >>> import nn
    >>> net = [nn.Linear(Matrix.ones(2, 2), Vector.zeros(2)), nn.Activation(nn.Relu)]
    >>> pred, grads = nn.pass_(nn.Phase.TRAIN, net, Matrix.ones(1, 2), nn.one_hot([0], 2))
    >>> pred
    Matrix U Par (Sz (1 :. 2)) float32
    [ [ 0.5, 0.5 ]
    ]
    >>> [type(g).__name__ for g in grads]
    ['LinearGradients', 'NoGrad']
    """
    if not isinstance(phase, Phase):
        raise TypeError(f"phase must be nn.Phase.TRAIN or nn.Phase.EVAL, got {phase!r}")
    check_loss(loss)
    inp, tgt = network_input(x), checked_data("target", target)
    if inp.shape[0] == 0:
        raise NetworkError("x has no rows: a batch needs at least one")
    if rng is not None and not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    # An overflow shows up as inf, which the output level reports naming the first layer
    # that produced it; numpy's RuntimeWarning from BLAS would come first and say less.
    with np.errstate(over="ignore", invalid="ignore"):
        _, pred, grads = _pass(_Context(phase, loss, tgt, rng), net, 0, inp)
    return pred, grads


def _pass(ctx: _Context, net: Sequence[Layer], i: int, inp: Values) -> Back:
    """The layers `net[i:]` applied to `inp`, and back: seed 000's `_pass inp layers`.

    One arm per dense layer kind here, one per image layer kind (seed 003) in `_pass4`;
    the gradient at the network's input (`i == 0`) is not needed, so it is not computed.
    """
    if i == len(net):
        return _output_level(ctx, net, inp)
    layer = net[i]
    check_layer(i, layer)
    match layer:
        case Linear(w, b):
            x2 = as_matrix(i, layer, inp)
            with Blame(lambda: _describe(i, layer)):
                out = ta.compute(x2 @ w + ta.rows_like(b, x2))
            dz, pred, t = _rest2(ctx, net, i, out)
            dw, db = x2.T @ dz, ta.compute(ta.sum_rows(dz))
            return (dz @ w.T if i else None), pred, [LinearGradients(dw, db), *t]
        case LinearNoBias(w):
            x2 = as_matrix(i, layer, inp)
            with Blame(lambda: _describe(i, layer)):
                out = x2 @ w
            dz, pred, t = _rest2(ctx, net, i, out)
            return (dz @ w.T if i else None), pred, [LinearNoBiasGradients(x2.T @ dz), *t]
        case Batchnorm1d(mu, var, gamma, beta):
            x2 = as_matrix(i, layer, inp)
            with Blame(lambda: _describe(i, layer)):
                if ctx.phase is Phase.TRAIN:
                    check_batch(i, layer, x2.rows, "rows")
                    mu, var = bn.statistics(x2)
                ivar = bn.inverse_std(var, layer.eps)
                out = bn.normalise(x2, mu, ivar, gamma, beta)
            dz, pred, t = _rest2(ctx, net, i, out)
            back = bn.backward if ctx.phase is Phase.TRAIN else bn.backward_eval
            dx, dgamma, dbeta = back(x2, mu, ivar, gamma, dz)
            return (dx if i else None), pred, [Batchnorm1dGradients(mu, var, dgamma, dbeta), *t]
        case Activation(f):
            if isinstance(inp, Tensor4):
                out4 = activate(f, inp)
                dz4, pred, t = _rest4(ctx, net, i, out4)
                return (derivative(f, inp, out4, dz4) if i else None), pred, [NoGrad(), *t]
            out = activate(f, inp)
            dz, pred, t = _rest2(ctx, net, i, out)
            return (derivative(f, inp, out, dz) if i else None), pred, [NoGrad(), *t]
        case Dropout(p):
            if ctx.phase is Phase.EVAL or p == 0.0:
                dzv, pred, t = _rest(ctx, net, i, inp)
                return dzv, pred, [NoGrad(), *t]
            if isinstance(inp, Tensor4):
                keep4 = Tensor4.random_uniform(*inp.shape, seed=_rng(ctx, i, layer),
                                               dtype=inp.dtype)
                mask4 = (keep4 >= p) * (1.0 / (1.0 - p))
                dz4, pred, t = _rest4(ctx, net, i, ta.compute(inp * mask4))
                return (ta.compute(dz4 * mask4) if i else None), pred, [NoGrad(), *t]
            keep = Matrix.random_uniform(inp.rows, inp.cols, seed=_rng(ctx, i, layer),
                                         dtype=inp.dtype)
            mask = (keep >= p) * (1.0 / (1.0 - p))
            dz, pred, t = _rest2(ctx, net, i, ta.compute(inp * mask))
            return (ta.compute(dz * mask) if i else None), pred, [NoGrad(), *t]
        case Conv2d() | AvgPool2d() | MaxPool2d() | Batchnorm2d() | Flatten():
            return _pass4(ctx, net, i, inp, layer)
        case _:
            assert_never(layer)


def _pass4(ctx: _Context, net: Sequence[Layer], i: int, inp: Values,
           layer: Conv2d[Any, Any] | AvgPool2d | MaxPool2d | Batchnorm2d[Any] | Flatten
           ) -> Back:
    """`_pass` at an image layer (seed 003), whose input is a Tensor4 `(N, C, H, W)`."""
    x4 = as_tensor4(i, layer, inp)
    match layer:
        case Conv2d(w, b, stride, padding):
            with Blame(lambda: _describe(i, layer)):
                y = ta.conv2d(x4, w, stride=stride, padding=padding)
                out4 = ta.compute(y + ta.channels_like(b, y))
            dz4, pred, t = _rest4(ctx, net, i, out4)
            dw4 = ta.conv2d_grad_weight(x4, dz4, layer.kernel, stride=stride, padding=padding)
            grads = Conv2dGradients(dw4, ta.compute(ta.sum_channels(dz4)))
            dx4 = (ta.conv2d_grad_input(dz4, w, x4.shape, stride=stride, padding=padding)
                   if i else None)
            return dx4, pred, [grads, *t]
        case AvgPool2d(k):
            with Blame(lambda: _describe(i, layer)):
                out4 = ta.avg_pool2d(x4, k)
            dz4, pred, t = _rest4(ctx, net, i, out4)
            return (ta.avg_pool2d_grad(dz4, k, x4.shape) if i else None), pred, [NoGrad(), *t]
        case MaxPool2d(k):
            with Blame(lambda: _describe(i, layer)):
                out4 = ta.max_pool2d(x4, k)
            dz4, pred, t = _rest4(ctx, net, i, out4)
            return (ta.max_pool2d_grad(x4, dz4, k) if i else None), pred, [NoGrad(), *t]
        case Batchnorm2d(mu, var, gamma, beta):
            with Blame(lambda: _describe(i, layer)):
                if ctx.phase is Phase.TRAIN:
                    check_batch(i, layer, x4.shape[0] * x4.shape[2] * x4.shape[3],
                                "values per channel")
                    mu, var = bn2.statistics(x4)
                ivar = bn2.inverse_std(var, layer.eps)
                out4 = bn2.normalise(x4, mu, ivar, gamma, beta)
            dz4, pred, t = _rest4(ctx, net, i, out4)
            back2 = bn2.backward if ctx.phase is Phase.TRAIN else bn2.backward_eval
            dx4, dgamma, dbeta = back2(x4, mu, ivar, gamma, dz4)
            return (dx4 if i else None), pred, [Batchnorm2dGradients(mu, var, dgamma, dbeta), *t]
        case Flatten():
            _, c, h, wd = x4.shape
            dz, pred, t = _rest2(ctx, net, i, ta.flatten(x4))
            return (ta.unflatten(dz, c, h, wd) if i else None), pred, [NoGrad(), *t]
        case _:
            assert_never(layer)


def _output_level(ctx: _Context, net: Sequence[Layer], logits: Values) -> Back:
    """The end of the list: the output function and the gradient of the mean loss (seed
    000's `_pass inp []`); an inference pass returns here by raising `_Predicted`."""
    # A traced pass has no values to check: the compiled step checks its prediction.
    if not ta.tracing() and not all_finite(logits):
        report_nonfinite(net, ctx.outputs)
    if ctx.target is None:
        raise _Predicted(logits)
    with Blame(lambda: f"output ({type(ctx.loss).__name__})"):
        pred, dz = _output(ctx.loss, as_matrix(len(net), None, logits), ctx.target)
    return dz, pred, []


def _rest(ctx: _Context, net: Sequence[Layer], i: int, out: Values
          ) -> tuple[Values, Matrix, list[Gradients]]:
    """The pass through the layers after `net[i]`, whose output is `out`."""
    ctx.outputs.append((i, out))
    dz, pred, t = _pass(ctx, net, i + 1, out)
    assert dz is not None  # only layer 0 skips its input gradient
    return dz, pred, t


def _rest2(ctx: _Context, net: Sequence[Layer], i: int, out: Matrix
           ) -> tuple[Matrix, Matrix, list[Gradients]]:
    """`_rest` for a Matrix output, whose gradient is a Matrix."""
    dz, pred, t = _rest(ctx, net, i, out)
    assert isinstance(dz, Matrix)  # every layer's input gradient has its input's kind
    return dz, pred, t


def _rest4(ctx: _Context, net: Sequence[Layer], i: int, out: Tensor4
           ) -> tuple[Tensor4, Matrix, list[Gradients]]:
    """`_rest` for a Tensor4 output, whose gradient is a Tensor4."""
    dz, pred, t = _rest(ctx, net, i, out)
    assert isinstance(dz, Tensor4)
    return dz, pred, t


def forward(net: Sequence[Layer], x: MatrixLike[B, Any] | Tensor4Like[B, Any, Any, Any], *,
            loss: Loss = SOFTMAX_CROSS_ENTROPY) -> Matrix[B, Any]:
    """The prediction of `net` for `x` in the EVAL phase: no target, no gradients.

    Runs `pass_`'s arms (batchnorm with its running statistics, dropout off), then the
    output function of `loss`: softmax rows or sigmoids.

    Raises NetworkError naming the layer, as `pass_` does.

    >>> import nn
    >>> nn.forward([nn.Batchnorm1d.init(2)], Matrix.zeros(3, 2)).shape
    (3, 2)
    """
    check_loss(loss)
    return prediction(loss, as_matrix(len(net), None, _infer(net, 0, network_input(x))))


def layer_output(i: int, layer: Layer, inp: Values) -> Values:
    """What `layer`, as layer `i` of a network, gives for `inp` in the EVAL phase."""
    return _infer([layer] * (i + 1), i, inp)  # the entries before `i` are not read


def _infer(net: Sequence[Layer], i: int, inp: Values) -> Values:
    """The output of the layers `net[i:]` for `inp` in the EVAL phase: `_pass` without a
    target, which returns at the output by raising `_Predicted`."""
    try:
        with np.errstate(over="ignore", invalid="ignore"):  # reported naming the layer
            _pass(_Context(Phase.EVAL, SOFTMAX_CROSS_ENTROPY, None, None), net, i, inp)
    except _Predicted as done:
        return done.out
    raise AssertionError("an inference pass ends by raising its output")


def _rng(ctx: _Context, i: int, layer: Dropout) -> np.random.Generator:
    """The generator dropout draws its masks from (`1 / (1 - p)` where a value is kept, 0
    where it is dropped)."""
    if ctx.rng is None:
        raise NetworkError(f"{_describe(i, layer)}: dropout in the TRAIN phase draws random "
                           f"masks: pass rng=numpy.random.default_rng(seed) to pass_")
    return ctx.rng
