"""`Chain`: a network built layer by layer, with mypy checking that the layers fit.

A network is a plain list, whose entries mypy can only type as `Layer`; a `Chain[F]` knows
that its output has `F` features, and `then` accepts only a layer whose input is `F`:

```
net = (nn.Chain[In]()
       .then(nn.LinearNoBias(w1))            # Matrix[In, Hidden]: Chain[Hidden]
       .then(nn.Batchnorm1d(mu, var, g, b))  # Vector[Hidden]s:    Chain[Hidden]
       .then(nn.Activation(nn.Relu))
       .then(nn.LinearNoBias(w2))            # Matrix[Hidden, Out]: Chain[Out]
       .network)
```

A layer with other dimensions (a `Matrix[Out, Hidden]` after a `Chain[Hidden]`) is a mypy
error (`arg-type`). At runtime `then` checks nothing: use `nn.check_network`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, overload

from typing_extensions import TypeVar

from ._batchnorm_layers import Batchnorm1d
from ._layers import Activation, Dropout, Layer, Linear, LinearNoBias, Network

F = TypeVar("F", default=Any)  # features out of the chain so far
Out = TypeVar("Out", default=Any)  # features out of the next layer


# Not slotted: `nn.Chain[In]()` stores `__orig_class__` on the new instance, and on Python
# 3.11 a frozen *slotted* dataclass's `__setattr__` then raises TypeError (its `super()`
# names the class before slots were added) where typing only tolerates an AttributeError.
@dataclass(frozen=True)
class Chain(Generic[F]):
    """Layers whose output has `F` features.

    >>> import nn
    >>> nn.Chain().then(nn.Activation(nn.Relu)).network
    [Activation(Relu)]
    >>> nn.Chain[int]().layers  # a subscripted Chain is made as the README shows
    ()
    """

    layers: tuple[Layer, ...] = ()

    @overload
    def then(self, layer: Linear[F, Out]) -> Chain[Out]: ...
    @overload
    def then(self, layer: LinearNoBias[F, Out]) -> Chain[Out]: ...
    @overload
    def then(self, layer: Batchnorm1d[F] | Activation | Dropout) -> Chain[F]: ...
    def then(self, layer: Layer) -> Chain[Any]:
        """This chain followed by `layer`."""
        return Chain((*self.layers, layer))

    @property
    def network(self) -> Network:
        """The layers as a network (a new list)."""
        return list(self.layers)
