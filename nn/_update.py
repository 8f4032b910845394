"""Applying gradients to a network: the walk every optimiser shares.

An optimiser is a rule for one parameter: `(p, g, moments) -> (new p, new moments)`, where
the moments are the rule's running averages of that parameter's gradients (none for plain
SGD, a velocity for momentum, two for Adam). `apply` walks the layers with their
`Gradients`, applies the rule to every learnable parameter, and moves each batchnorm layer's
running statistics from its `BN1` or `BN2` (`running = momentum * running + (1 - momentum) *
batch`); nothing is changed in place.

A layer's moments are stored as `Gradients` of the layer's own kind, since a running
average of gradients has the gradients' shape (a `BN1` moment's batch statistics fields
are unused and hold zeros).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Protocol, TypeAlias, TypeVar, assert_never

import typedarr as ta
from typedarr import Matrix, Tensor4, Vector

from ._errors import NetworkError
from ._gradients import (
    BN1,
    BN2,
    Conv2dGradients,
    Gradients,
    LinearGradients,
    LinearNoBiasGradients,
    NoGrad,
)
from ._layers import (
    Activation,
    AvgPool2d,
    Batchnorm1d,
    Batchnorm2d,
    Conv2d,
    Dropout,
    Flatten,
    Layer,
    Linear,
    LinearNoBias,
    Network,
)
from ._layers import describe as _describe

P = TypeVar("P", Matrix[Any, Any], Vector[Any], Tensor4[Any, Any, Any, Any])
G = TypeVar("G", LinearGradients, LinearNoBiasGradients, BN1, NoGrad, Conv2dGradients, BN2)
Moments: TypeAlias = tuple[tuple[Gradients, ...], ...]  # [layer][moment]


class Rule(Protocol):
    """An optimiser's step for one parameter `p` with gradient `g` and its moments."""

    def __call__(self, p: P, g: P, moments: tuple[P, ...]) -> tuple[P, tuple[P, ...]]: ...


def apply(rule: Rule, count: int, weight_decay: float, net: Sequence[Layer],
          grads: Sequence[Gradients], moments: Moments) -> tuple[Network, Moments]:
    """`net` with `rule` applied to each parameter, and the new moments (`count` of each).

    Empty `moments` start at zero. Raises NetworkError naming the first layer whose
    gradients are of another kind, or when the lengths differ.
    """
    if len(grads) != len(net):
        raise NetworkError(f"{len(grads)} gradients for a network of {len(net)} layers")
    if not moments:
        moments = tuple(tuple(zeros_like(g) for _ in range(count)) for g in grads)
    if len(moments) != len(net):
        raise NetworkError(f"the optimiser holds moments for {len(moments)} layers, the "
                           f"network has {len(net)}: use a fresh optimiser for a new network")
    layers, new_moments = [], []
    for i, (layer, g, ms) in enumerate(zip(net, grads, moments, strict=True)):
        new_layer, new_ms = _layer(rule, weight_decay, i, layer, g, ms)
        layers.append(new_layer)
        new_moments.append(new_ms)
    return layers, tuple(new_moments)


def _layer(rule: Rule, wd: float, i: int, layer: Layer, g: Gradients,
           ms: tuple[Gradients, ...]) -> tuple[Layer, tuple[Gradients, ...]]:
    match layer:
        case Linear(w, b):
            gl, ml = _of(LinearGradients, i, layer, g), _all(LinearGradients, i, layer, ms)
            w2, mw = rule(w, _decayed(gl.dw, w, wd), tuple(m.dw for m in ml))
            b2, mb = rule(b, _decayed(gl.db, b, wd), tuple(m.db for m in ml))
            return Linear(w2, b2), tuple(map(LinearGradients, mw, mb))
        case LinearNoBias(w):
            gn = _of(LinearNoBiasGradients, i, layer, g)
            mn = _all(LinearNoBiasGradients, i, layer, ms)
            w2, mw = rule(w, _decayed(gn.dw, w, wd), tuple(m.dw for m in mn))
            return LinearNoBias(w2), tuple(map(LinearNoBiasGradients, mw))
        case Batchnorm1d():
            return _batchnorm(rule, wd, layer, _of(BN1, i, layer, g), _all(BN1, i, layer, ms))
        case Conv2d(w, b):
            gc, mc = _of(Conv2dGradients, i, layer, g), _all(Conv2dGradients, i, layer, ms)
            w4, mw4 = rule(w, _decayed(gc.dw, w, wd), tuple(m.dw for m in mc))
            b2, mb = rule(b, _decayed(gc.db, b, wd), tuple(m.db for m in mc))
            return Conv2d(w4, b2), tuple(map(Conv2dGradients, mw4, mb))
        case Batchnorm2d():
            return _batchnorm(rule, wd, layer, _of(BN2, i, layer, g), _all(BN2, i, layer, ms))
        case Activation() | Dropout() | AvgPool2d() | Flatten():
            _of(NoGrad, i, layer, g)
            return layer, ms
        case _:
            assert_never(layer)


def _batchnorm(rule: Rule, wd: float, layer: Batchnorm1d[Any] | Batchnorm2d[Any],
               g: BN1[Any] | BN2[Any], ms: Sequence[BN1[Any] | BN2[Any]]
               ) -> tuple[Layer, tuple[Gradients, ...]]:
    """A batchnorm layer of either rank after `rule`'s step on `gamma` and `beta`, its
    running statistics moved towards the batch's."""
    gamma, beta = layer.gamma, layer.beta
    gamma2, mg = rule(gamma, _decayed(g.dgamma, gamma, wd), tuple(m.dgamma for m in ms))
    beta2, mb = rule(beta, _decayed(g.dbeta, beta, wd), tuple(m.dbeta for m in ms))
    new_ms = tuple(replace(m, dgamma=a, dbeta=c) for m, a, c in zip(ms, mg, mb, strict=True))
    mu, var = _running(layer, g)
    return replace(layer, mu=mu, var=var, gamma=gamma2, beta=beta2), new_ms


def update_batch_statistics(net: Sequence[Layer], grads: Sequence[Gradients]) -> Network:
    """`net` with each batchnorm layer's running statistics moved towards its `BN1`'s batch
    statistics; nothing else changes. Every optimiser's `update` does this too.

    >>> import nn
    >>> net = [nn.Batchnorm1d.init(2)]
    >>> x = Matrix.from_list([[0.0, 10.0], [2.0, 10.0]])
    >>> _, grads = nn.pass_(nn.Phase.TRAIN, net, x, nn.one_hot([0, 1], 2))
    >>> nn.update_batch_statistics(net, grads)[0].mu
    Vector U Par (Sz1 2) float32
    [ 0.1, 1.0 ]
    """
    if len(grads) != len(net):
        raise NetworkError(f"{len(grads)} gradients for a network of {len(net)} layers")
    out: Network = []
    for i, (layer, g) in enumerate(zip(net, grads, strict=True)):
        if isinstance(layer, Batchnorm1d):
            mu, var = _running(layer, _of(BN1, i, layer, g))
            layer = replace(layer, mu=mu, var=var)
        elif isinstance(layer, Batchnorm2d):
            mu, var = _running(layer, _of(BN2, i, layer, g))
            layer = replace(layer, mu=mu, var=var)
        out.append(layer)
    return out


def _running(layer: Batchnorm1d[Any] | Batchnorm2d[Any], g: BN1[Any] | BN2[Any]
             ) -> tuple[Vector, Vector]:
    """`running = momentum * running + (1 - momentum) * batch`: the new mean and variance."""
    a = layer.momentum
    return (ta.compute(a * layer.mu + (1.0 - a) * g.batch_mu),
            ta.compute(a * layer.var + (1.0 - a) * g.batch_var))


def zeros_like(g: Gradients) -> Gradients:
    """Gradients of `g`'s kind and shapes, all zero: the moments before the first step."""
    match g:
        case LinearGradients(dw, db):
            return LinearGradients(_zero(dw), _zero(db))
        case LinearNoBiasGradients(dw):
            return LinearNoBiasGradients(_zero(dw))
        case BN1(mu, _, _, _):
            z = _zero(mu)
            return BN1(z, z, z, z)
        case Conv2dGradients(dw, db):
            return Conv2dGradients(_zero(dw), _zero(db))
        case BN2(mu, _, _, _):
            z = _zero(mu)
            return BN2(z, z, z, z)
        case NoGrad():
            return g
        case _:
            assert_never(g)


def _zero(p: P) -> P:
    return ta.compute(p * 0.0)


def _decayed(g: P, p: P, weight_decay: float) -> P:
    """The gradient of the loss plus `weight_decay / 2 * |p|**2` (L2, as PyTorch's SGD)."""
    return g if weight_decay == 0.0 else ta.compute(g + weight_decay * p)


def _of(kind: type[G], i: int, layer: Layer, g: Gradients) -> G:
    if not isinstance(g, kind):
        raise NetworkError(f"{_describe(i, layer)}: got {type(g).__name__}, expected "
                           f"{kind.__name__}: the gradients belong to another network")
    return g


def _all(kind: type[G], i: int, layer: Layer, ms: tuple[Gradients, ...]) -> list[G]:
    return [_of(kind, i, layer, m) for m in ms]
