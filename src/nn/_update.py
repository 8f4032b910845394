"""Applying gradients to a network: the walk every optimiser shares.

An optimiser is a rule for one parameter: `(p, g, moments) -> (new p, new moments)`, where
the moments are the rule's running averages of that parameter's gradients (none for plain
SGD, a velocity for momentum, two for Adam). `apply` walks the layers with their
`Gradients`, applies the rule to every field the layer declares a `parameter` (with its
gradient `d<name>`), and moves every `running` statistic towards its batch value
(`batch_<name>`): `running = momentum * running + (1 - momentum) * batch`; nothing is
changed in place. No layer kind is named here: the walk reads the declarations
(`nn._fields`).

A layer's moments are stored as `Gradients` of the layer's own kind, since a running
average of gradients has the gradients' shape (a batchnorm moment's batch statistics fields
are unused and hold zeros).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields, replace
from typing import Any, Protocol, TypeAlias, TypeVar

import typedarr as ta
from typedarr import Matrix, Tensor4, Vector

from ._errors import NetworkError
from ._fields import Role, momentum, specs
from ._layers import Gradients, Layer, Network
from ._layers import describe as _describe

P = TypeVar("P", Matrix[Any, Any], Vector[Any], Tensor4[Any, Any, Any, Any])
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
    """The layer after `rule`'s step on each parameter and with its running statistics
    moved, and its new moments."""
    _of(i, layer, g)
    for m in ms:
        _of(i, layer, m)
    changes = _running(layer, g)
    moved: list[dict[str, Any]] = [{} for _ in ms]  # each moment's new fields
    for spec in specs(type(layer)):
        if spec.role is Role.PARAMETER:
            p, d = getattr(layer, spec.name), spec.gradient
            changes[spec.name], steps = rule(p, _decayed(getattr(g, d), p, wd),
                                             tuple(getattr(m, d) for m in ms))
            for fields_, step in zip(moved, steps, strict=True):
                fields_[d] = step
    if not changes:  # nothing to learn or to move
        return layer, ms
    return _remade(i, layer, changes), tuple(
        replace(m, **fields_) for m, fields_ in zip(ms, moved, strict=True))


def _remade(i: int, layer: Layer, changes: dict[str, Any]) -> Layer:
    """`layer` with `changes`, checked as every layer is where it is made (a step that
    gives a NaN weight or a negative running variance is refused, naming layer `i`)."""
    try:
        return replace(layer, **changes)
    except NetworkError as e:
        raise NetworkError(f"{_describe(i, layer)} after the update: {e}") from e


def update_batch_statistics(net: Sequence[Layer], grads: Sequence[Gradients]) -> Network:
    """`net` with each layer's running statistics (batchnorm's) moved towards the batch
    statistics in its gradients; nothing else changes. Every optimiser's `update` does this
    too.

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
        if any(s.role is Role.RUNNING for s in specs(type(layer))):
            _of(i, layer, g)
            layer = _remade(i, layer, _running(layer, g))
        out.append(layer)
    return out


def _running(layer: Layer, g: Gradients) -> dict[str, Any]:
    """`running = momentum * running + (1 - momentum) * batch` for each running statistic."""
    out: dict[str, Any] = {}
    for spec in specs(type(layer)):
        if spec.role is Role.RUNNING:
            a = momentum(layer)
            out[spec.name] = ta.compute(a * getattr(layer, spec.name)
                                        + (1.0 - a) * getattr(g, spec.gradient))
    return out


def zero_moments(net: Sequence[Layer], count: int) -> Moments:
    """`count` moments per layer of `net`, all zero: what `apply` starts empty moments at,
    made from the network instead of from its first gradients."""
    return tuple(tuple(layer.gradients(**{s.gradient: _zero(getattr(layer, s.name))
                                          for s in specs(type(layer)) if s.rank})
                       for _ in range(count)) for layer in net)


def zeros_like(g: Gradients) -> Gradients:
    """Gradients of `g`'s kind and shapes, all zero: the moments before the first step."""
    return replace(g, **{f.name: _zero(getattr(g, f.name)) for f in fields(g)})


# `.compute()`, the method, in code generic over the array kinds: pyright keeps a
# constrained TypeVar through a method call, not through the function `ta.compute`.
def _zero(p: P) -> P:
    return (p * 0.0).compute()


def _decayed(g: P, p: P, weight_decay: float) -> P:
    """The gradient of the loss plus `weight_decay / 2 * |p|**2` (L2, as PyTorch's SGD)."""
    return g if weight_decay == 0.0 else (g + weight_decay * p).compute()


def _of(i: int, layer: Layer, g: Gradients) -> None:
    """Raise NetworkError unless `g` is the record of `layer`'s kind."""
    kind = layer.gradients
    if not isinstance(g, kind):
        raise NetworkError(f"{_describe(i, layer)}: got {type(g).__name__}, expected "
                           f"{kind.__name__}: the gradients belong to another network")
