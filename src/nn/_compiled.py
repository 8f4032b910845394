"""A whole training step compiled into one call: `pass_` and the optimiser's update, traced.

`pass_` stays the definition of the maths (and keeps working eagerly); `compile_step` hands
it, followed by the optimiser's `update`, to `typedarr.jit`, which traces it once per
structure (the network's layer kinds and sizes, the optimiser's kind and settings, the batch
shape) and compiles every product, reduction and elementwise pass of the step into one fused
program (a CNN's step: a few kernels of pieces of it, each compiled once and cached).
Dropout masks are drawn from the generator passed in, in the same order as the eager step
draws them, so a compiled and an eager run from the same seed see the same masks.

NaN and infinity: a traced pass has no values to look at, so the compiled step checks its
prediction (a NaN or infinite logit makes the softmax NaN); when it is not finite the step is
run again eagerly from the same network, which raises the `NetworkError` naming the first
layer whose output went bad, exactly as an eager step does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, TypeVar

import numpy as np

import typedarr as ta
from typedarr import Matrix, MatrixLike, Tensor4Like

from ._check import all_finite
from ._errors import NetworkError
from ._layers import Gradients, Layer, Network
from ._losses import SOFTMAX_CROSS_ENTROPY, Loss, check_target
from ._pass import Phase, pass_

Opt = TypeVar("Opt", bound="Optimizer")
Input = MatrixLike[Any, Any] | Tensor4Like[Any, Any, Any, Any]  # a batch of rows or images


class Optimizer(Protocol):
    """What a step needs of an optimiser: a new network and a new optimiser from gradients."""

    def update(self, net: Sequence[Layer], grads: Sequence[Gradients]
               ) -> tuple[Network, Any]: ...


class Step(Protocol):
    """A compiled training step; `traces` counts the structures it has traced (one per
    network shape, optimiser kind and batch shape: the optimiser's numbers, its step count
    and learning rate included, are runtime inputs)."""

    def __call__(self, net: Sequence[Layer], opt: Opt, x: Input,
                 target: MatrixLike[Any, Any], *, rng: np.random.Generator | None = None
                 ) -> tuple[Network, Opt, Matrix]: ...

    @property
    def traces(self) -> int: ...


def compile_step(loss: Loss = SOFTMAX_CROSS_ENTROPY) -> Step:
    """One training step, `(net, opt, x, target, rng=...) -> (net, opt, pred)`, compiled.

    The same as `pred, grads = pass_(Phase.TRAIN, net, x, target, loss=loss, rng=rng)`
    followed by `net, opt = opt.update(net, grads)`, in one call after the first per
    structure. Raises what the eager step raises (NetworkError naming the layer).

    >>> import nn
    >>> step = nn.compile_step()
    >>> net = [nn.Linear(Matrix.ones(3, 2), Vector.zeros(2))]
    >>> net, opt, pred = step(net, nn.SGD(lr=0.1), Matrix.ones(4, 3), nn.one_hot([0, 1, 0, 1], 2))
    >>> pred.shape
    (4, 2)
    """

    def traced(net: Network, opt: Any, x: Input, target: MatrixLike[Any, Any],
               rng: np.random.Generator | None) -> tuple[Network, Any, Matrix]:
        pred, grads = pass_(Phase.TRAIN, net, x, target, loss=loss, rng=rng)
        new_net, new_opt = opt.update(net, grads)
        return new_net, new_opt, pred

    return _CompiledStep(ta.jit(traced), loss)


class _CompiledStep:
    """What `compile_step` returns (see there)."""

    def __init__(self, compiled: ta.Jitted[..., tuple[Network, Any, Matrix]], loss: Loss
                 ) -> None:
        self._compiled, self._loss = compiled, loss

    @property
    def traces(self) -> int:
        return self._compiled.traces

    def __call__(self, net: Sequence[Layer], opt: Any, x: Input,
                 target: MatrixLike[Any, Any], *, rng: np.random.Generator | None = None
                 ) -> tuple[Network, Any, Matrix]:
        compiled, loss = self._compiled, self._loss
        if not isinstance(x, MatrixLike | Tensor4Like) or not isinstance(target, MatrixLike):
            raise TypeError("x must be a typedarr Matrix or Tensor4 and target a Matrix "
                            "(convert numpy with Matrix.from_numpy or Tensor4.from_numpy)")
        check_target(loss, ta.compute(target))  # what the traced pass cannot look at
        started = getattr(opt, "started", None)  # moments at zero before the first step
        if started is not None:
            opt = started(net)
        state = None if rng is None else rng.bit_generator.state
        try:
            new_net, new_opt, pred = compiled(list(net), opt, x, target, rng)
        except ta.TraceError as e:
            raise NetworkError(f"this network cannot be compiled ({e}): train it eagerly "
                               f"with pass_ and update") from e
        if not all_finite(pred):
            if rng is not None and state is not None:
                rng.bit_generator.state = state  # the eager re-run draws the same masks
            pass_(Phase.TRAIN, net, x, target, loss=loss, rng=rng)  # raises, naming the layer
            raise NetworkError("the compiled step's prediction is not finite although the "
                               "eager step's is: please report this")
        return new_net, new_opt, pred
