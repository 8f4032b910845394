"""Seed 000's `Gradients` sum type: what `pass_` computes for each layer, in layer order.

```
Gradients = LinearGradients(dw, db) | LinearNoBiasGradients(dw)
          | Batchnorm1dGradients(batch_mu, batch_var, dgamma, dbeta) | NoGrad()
          | Conv2dGradients(dw, db) | Batchnorm2dGradients(batch_mu, batch_var, dgamma, dbeta)
```

Each layer kind names its record (its `gradients` class variable), whose fields follow from the
layer's declared fields (`nn._fields`): `d<name>` for each parameter, `batch_<name>` for each
running statistic. `LinearNoBiasGradients` is seed 000's `Linear'Gradients`; seed 000's `BN1`
is `Batchnorm1dGradients` (and `BN2`, the per-channel one, `Batchnorm2dGradients`), which nn
keeps exporting under the seed's names. Every gradient is of the **mean** loss over the batch
(PyTorch's default), batchnorm's `dgamma` and `dbeta` included. A batchnorm record also
carries the batch statistics the layer normalised with, from which the update step moves the
running statistics (in the EVAL phase they are the running statistics themselves, so EVAL
gradients are for inspection, not for training).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeAlias

from typing_extensions import TypeVar

from typedarr import Matrix, Tensor4, Vector

In = TypeVar("In", default=Any)  # input features
Out = TypeVar("Out", default=Any)  # output features
F = TypeVar("F", default=Any)  # normalised features
Cin = TypeVar("Cin", default=Any)  # input channels of a convolution
Cout = TypeVar("Cout", default=Any)  # output channels of a convolution


@dataclass(frozen=True, slots=True, eq=False)
class LinearGradients(Generic[In, Out]):
    """The gradients of a `Linear` layer's weights and biases."""

    dw: Matrix[In, Out]
    db: Vector[Out]


@dataclass(frozen=True, slots=True, eq=False)
class LinearNoBiasGradients(Generic[In, Out]):
    """The gradient of a `LinearNoBias` layer's weights (seed 000's `Linear'Gradients`)."""

    dw: Matrix[In, Out]


@dataclass(frozen=True, slots=True, eq=False)
class Batchnorm1dGradients(Generic[F]):
    """A `Batchnorm1d` layer's batch statistics and the gradients of `gamma` and `beta`
    (seed 000's `BN1`)."""

    batch_mu: Vector[F]
    batch_var: Vector[F]
    dgamma: Vector[F]
    dbeta: Vector[F]


@dataclass(frozen=True, slots=True, eq=False)
class Conv2dGradients(Generic[Cin, Cout]):
    """The gradients of a `Conv2d` layer's weights and biases."""

    dw: Tensor4[Cout, Cin, Any, Any]
    db: Vector[Cout]


@dataclass(frozen=True, slots=True, eq=False)
class Batchnorm2dGradients(Generic[F]):
    """A `Batchnorm2d` layer's per-channel batch statistics and the gradients of `gamma` and
    `beta`: `Batchnorm1dGradients`' fields, one element per channel."""

    batch_mu: Vector[F]
    batch_var: Vector[F]
    dgamma: Vector[F]
    dbeta: Vector[F]


@dataclass(frozen=True, slots=True)
class NoGrad:
    """Nothing to learn: activations, dropout, pooling and flattening."""


Gradients: TypeAlias = (LinearGradients[Any, Any] | LinearNoBiasGradients[Any, Any]
                        | Batchnorm1dGradients[Any] | NoGrad | Conv2dGradients[Any, Any]
                        | Batchnorm2dGradients[Any])
BN1 = Batchnorm1dGradients  # seed 000's name
BN2 = Batchnorm2dGradients  # seed 000's name, per channel
