"""Optimisers as immutable values: `new_net, new_opt = opt.update(net, grads)`.

- `SGD(lr)`: `p <- p - lr * g`; with `momentum=beta > 0`, seed 004's rule
  `v <- beta * v - lr * g; p <- p + v` (the same steps as PyTorch's for a constant lr).
- `Adam(lr)` and `RMSprop(lr)`: as in seed 001's code (Adam with bias correction,
  `p <- p - lr * m_hat / (sqrt(v_hat) + eps)`; RMSprop `c <- decay * c + (1 - decay) * g**2`,
  `p <- p - lr * g / (sqrt(c) + eps)`, decay 0.9 as there, where PyTorch defaults to 0.99).

The moments (velocity, Adam's `m` and `v`, RMSprop's cache) and Adam's step count live in
the returned optimiser, so a training loop threads `(net, opt)` through its steps. Every
update also moves the batchnorm running statistics (see `nn.update_batch_statistics`).
`weight_decay` adds `weight_decay * p` to every parameter's gradient (L2, as PyTorch's
`weight_decay`). Each parameter's step is one or two fused computes.

Every hyper-parameter is checked when the optimiser is made (NetworkError naming it, its
value and the range; TypeError for a bool or a non-number): `lr` positive and finite,
`momentum`, `beta1`, `beta2` and `decay` in [0, 1), `eps` positive and finite,
`weight_decay` non-negative and finite, Adam's step count `t` a non-negative int. numpy
scalars are accepted and stored as Python numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeAlias, TypeVar

import typedarr as ta
from typedarr import NON_NEGATIVE, POSITIVE, UNIT_OPEN, Matrix, Tensor4, Vector, check_fields, size

from ._errors import NetworkError
from ._layers import Gradients, Layer, Network
from ._update import Moments, apply, zero_moments

P = TypeVar("P", Matrix[Any, Any], Vector[Any], Tensor4[Any, Any, Any, Any])
# The rules compute with `.compute()`, the method: pyright keeps the constrained TypeVar `P`
# through a method call, not through the function `ta.compute` (mypy accepts both).


@dataclass(frozen=True, slots=True, eq=False)
class SGD:
    """Stochastic gradient descent, with seed 004's momentum when `momentum > 0`.

    >>> import nn
    >>> net = [nn.LinearNoBias(Matrix.ones(1, 1))]
    >>> grads = [nn.LinearNoBiasGradients(Matrix.ones(1, 1))]
    >>> net, opt = nn.SGD(lr=0.5).update(net, grads)
    >>> net[0].w
    Matrix U Par (Sz (1 :. 1)) float32
    [ [ 0.5 ]
    ]
    """

    lr: float
    momentum: float = 0.0
    weight_decay: float = 0.0
    velocity: Moments = ()

    def __post_init__(self) -> None:
        check_fields(self, NetworkError, lr=POSITIVE, momentum=UNIT_OPEN,
                     weight_decay=NON_NEGATIVE)
        _check_moments(self, "velocity", self.velocity)

    def update(self, net: Sequence[Layer], grads: Sequence[Gradients]) -> tuple[Network, SGD]:
        """One step: the new network and the optimiser holding the new velocities."""
        count = 1 if self.momentum else 0
        new_net, velocity = apply(self._rule, count, self.weight_decay, net, grads,
                                  self.velocity)
        return new_net, replace(self, velocity=velocity if count else ())

    def started(self, net: Sequence[Layer]) -> SGD:
        """This optimiser with its velocities at zero if it holds none yet: the state its
        first update starts from, so that a compiled step's first call has the structure
        of every later one (see `nn.compile_step`)."""
        if not self.momentum or self.velocity:
            return self
        return replace(self, velocity=zero_moments(net, 1))

    def _rule(self, p: P, g: P, moments: tuple[P, ...]) -> tuple[P, tuple[P, ...]]:
        if not moments:
            return (p - self.lr * g).compute(), ()
        v = (self.momentum * moments[0] - self.lr * g).compute()
        return (p + v).compute(), (v,)


@dataclass(frozen=True, slots=True, eq=False)
class Adam:
    """Adam with bias correction (seed 001's optimiser), step count `t` starting at 0.

    The first step moves every parameter by about `lr` against its gradient's sign:

    >>> import nn
    >>> net = [nn.LinearNoBias(Matrix.ones(1, 2))]
    >>> grads = [nn.LinearNoBiasGradients(Matrix.from_list([[3.0, -0.5]]))]
    >>> net, opt = nn.Adam(lr=0.1).update(net, grads)
    >>> net[0].w, opt.t
    (Matrix U Par (Sz (1 :. 2)) float32
    [ [ 0.9, 1.1 ]
    ], 1)
    """

    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.0
    t: int = 0
    moments: Moments = ()

    def __post_init__(self) -> None:
        check_fields(self, NetworkError, lr=POSITIVE, beta1=UNIT_OPEN, beta2=UNIT_OPEN,
                     eps=POSITIVE, weight_decay=NON_NEGATIVE)
        object.__setattr__(self, "t", size("Adam: t", self.t, NetworkError, runtime=True))
        _check_moments(self, "moments", self.moments)

    def update(self, net: Sequence[Layer], grads: Sequence[Gradients]) -> tuple[Network, Adam]:
        """One step: the new network and the optimiser holding `t + 1` and the moments."""
        new_net, moments = apply(self._rule, 2, self.weight_decay, net, grads, self.moments)
        return new_net, replace(self, t=self.t + 1, moments=moments)

    def started(self, net: Sequence[Layer]) -> Adam:
        """This optimiser with its moments at zero if it holds none yet (see `SGD.started`)."""
        return self if self.moments else replace(self, moments=zero_moments(net, 2))

    def _rule(self, p: P, g: P, moments: tuple[P, ...]) -> tuple[P, tuple[P, ...]]:
        b1, b2 = self.beta1, self.beta2
        m = (b1 * moments[0] + (1.0 - b1) * g).compute()
        v = (b2 * moments[1] + (1.0 - b2) * g * g).compute()
        t = self.t + 1  # the step being taken
        m_hat, v_hat = m * (1.0 / (1.0 - b1 ** t)), v * (1.0 / (1.0 - b2 ** t))
        return ta.compute(p - self.lr * m_hat / (ta.sqrt(v_hat) + self.eps)), (m, v)


@dataclass(frozen=True, slots=True, eq=False)
class RMSprop:
    """RMSprop (seed 001's optimiser): steps scaled by a running RMS of the gradients.

    >>> import nn
    >>> net = [nn.LinearNoBias(Matrix.ones(1, 1))]
    >>> grads = [nn.LinearNoBiasGradients(Matrix.ones(1, 1))]
    >>> net, opt = nn.RMSprop(lr=0.01, decay=0.75).update(net, grads)
    >>> round(float(np.asarray(net[0].w)[0, 0]), 4)  # 1 - 0.01 / sqrt(0.25)
    0.98
    """

    lr: float = 1e-3
    decay: float = 0.9
    eps: float = 1e-8
    weight_decay: float = 0.0
    cache: Moments = ()

    def __post_init__(self) -> None:
        check_fields(self, NetworkError, lr=POSITIVE, decay=UNIT_OPEN, eps=POSITIVE,
                     weight_decay=NON_NEGATIVE)
        _check_moments(self, "cache", self.cache)

    def update(self, net: Sequence[Layer], grads: Sequence[Gradients]
               ) -> tuple[Network, RMSprop]:
        """One step: the new network and the optimiser holding the new caches."""
        new_net, cache = apply(self._rule, 1, self.weight_decay, net, grads, self.cache)
        return new_net, replace(self, cache=cache)

    def started(self, net: Sequence[Layer]) -> RMSprop:
        """This optimiser with its caches at zero if it holds none yet (see `SGD.started`)."""
        return self if self.cache else replace(self, cache=zero_moments(net, 1))

    def _rule(self, p: P, g: P, moments: tuple[P, ...]) -> tuple[P, tuple[P, ...]]:
        c = (self.decay * moments[0] + (1.0 - self.decay) * g * g).compute()
        return ta.compute(p - self.lr * g / (ta.sqrt(c) + self.eps)), (c,)


Optimizer: TypeAlias = SGD | Adam | RMSprop
"""An optimiser: `update(net, grads)` returns the new network and the new optimiser."""


def _check_moments(opt: object, name: str, moments: object) -> None:
    """The moments an optimiser carries are a tuple (empty: start at zero); `apply` checks
    each layer's against the network when it updates."""
    if not isinstance(moments, tuple):
        raise TypeError(f"{type(opt).__name__}: {name} must be a tuple of the moments a "
                        f"previous update returned, got {type(moments).__name__}")
