"""Seed 000's `Layer` sum type: one frozen, slotted dataclass per kind of layer.

```
Layer = Linear(w, b) | LinearNoBias(w) | Batchnorm1d(mu, var, gamma, beta)
      | Activation(f) | Dropout(p)
```

`LinearNoBias` is seed 000's `Linear'` (a prime is not a Python name): a linear layer
without biases, used before a batchnorm layer, whose `beta` makes a bias redundant.
`Dropout` comes from seed 001. A network is a plain list of layers (`Network`), its first
layer applied first; the output function (softmax or sigmoid) is not a layer but the loss
`pass_` applies at the end of the list.

Layers are immutable values: training returns new layers (see `nn.SGD.update`) and never
changes one in place. They are generic in their dimensions (`Linear[In, Hidden]`), so mypy
rejects a bias of the wrong dimension; `Chain` checks that consecutive layers fit. Equality
is identity (`eq=False`): `==` on arrays is elementwise, so compare parameters with numpy.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, Generic, TypeAlias, assert_never

import numpy as np
from typing_extensions import TypeVar

from typedarr import Matrix, Vector
from typedarr._args import POSITIVE, UNIT, UNIT_OPEN, Size, check_fields, size

from ._errors import NetworkError

In = TypeVar("In", default=Any)  # input features
Out = TypeVar("Out", default=Any)  # output features
F = TypeVar("F", default=Any)  # features a batchnorm layer normalises


class FActivation(Enum):
    """Seed 000's `FActivation`: the elementwise function an `Activation` layer applies."""

    RELU = "relu"
    SIGMOID = "sigmoid"
    TANH = "tanh"
    IDENTITY = "identity"

    def __repr__(self) -> str:
        return self.name.capitalize()


Relu = FActivation.RELU
Sigmoid = FActivation.SIGMOID
Tanh = FActivation.TANH
Identity = FActivation.IDENTITY


@dataclass(frozen=True, slots=True, eq=False)
class Linear(Generic[In, Out]):
    """`x @ w + b`: weights `w` of shape `(inputs, outputs)` and biases `b` of `outputs`.

    Raises NetworkError when `b` does not have one element per column of `w`.

    >>> import nn
    >>> nn.Linear(Matrix.zeros(3, 2), Vector.zeros(2))
    Linear(3->2, float32)
    """

    w: Matrix[In, Out]
    b: Vector[Out]

    def __post_init__(self) -> None:
        _require(self, "w", self.w, Matrix)
        _require(self, "b", self.b, Vector)
        if self.b.size != self.w.cols:
            raise NetworkError(f"Linear: b has {self.b.size} elements but w has "
                               f"{self.w.cols} columns (outputs)")
        _same_dtype(self, self.w, self.b)

    def __repr__(self) -> str:
        return f"Linear({self.w.rows}->{self.w.cols}, {self.w.dtype})"


@dataclass(frozen=True, slots=True, eq=False)
class LinearNoBias(Generic[In, Out]):
    """`x @ w` (seed 000's `Linear'`): a linear layer without biases, for before batchnorm.

    >>> import nn
    >>> nn.LinearNoBias(Matrix.zeros(3, 2))
    LinearNoBias(3->2, float32)
    """

    w: Matrix[In, Out]

    def __post_init__(self) -> None:
        _require(self, "w", self.w, Matrix)

    def __repr__(self) -> str:
        return f"LinearNoBias({self.w.rows}->{self.w.cols}, {self.w.dtype})"


@dataclass(frozen=True, slots=True, eq=False)
class Batchnorm1d(Generic[F]):
    """Batch normalisation of each feature: running `mu` and `var`, learnable `gamma`, `beta`.

    Training normalises with the batch's statistics, evaluation with the running ones; the
    update step moves them as `running = momentum * running + (1 - momentum) * batch`.
    Note: that is the seeds' convention, where PyTorch's `momentum=0.1` means our 0.9; and
    the running variance is the biased batch variance, as in the seeds (PyTorch keeps the
    unbiased one). `eps` defaults to PyTorch's 1e-5 (seed 000 uses 1e-12, seeds 001, 002
    and 004 use 1e-8: pass `eps=` to reproduce them); 1e-5 is safer in float32.

    Raises NetworkError for vectors of different sizes, an `eps` that is not positive and
    finite, or a `momentum` outside [0, 1] (1 freezes the running statistics, 0 keeps only
    the last batch's: both legitimate); TypeError for a bool or a non-number.

    >>> import nn
    >>> nn.Batchnorm1d.init(4)
    Batchnorm1d(4, eps=1e-05, momentum=0.9, float32)
    """

    mu: Vector[F]
    var: Vector[F]
    gamma: Vector[F]
    beta: Vector[F]
    eps: float = 1e-5
    momentum: float = 0.9

    @classmethod
    def init(cls, n: Size, *, eps: float = 1e-5, momentum: float = 0.9,
             dtype: Any = np.float32) -> Batchnorm1d[Any]:
        """Seed 000's initial layer: means 0, variances 1, `gamma` 1 and `beta` 0."""
        k = size("Batchnorm1d.init: n", n, NetworkError)
        zeros, ones = Vector.zeros(k, dtype=dtype), Vector.ones(k, dtype=dtype)
        return cls(zeros, ones, ones, zeros, eps=eps, momentum=momentum)

    def __post_init__(self) -> None:
        for name in ("mu", "var", "gamma", "beta"):
            _require(self, name, getattr(self, name), Vector)
        sizes = {v.size for v in (self.mu, self.var, self.gamma, self.beta)}
        if len(sizes) != 1:
            raise NetworkError(f"Batchnorm1d: mu, var, gamma and beta must have the same "
                               f"size, got {self.mu.size}, {self.var.size}, "
                               f"{self.gamma.size} and {self.beta.size}")
        _same_dtype(self, self.mu, self.var, self.gamma, self.beta)
        check_fields(self, NetworkError, eps=POSITIVE, momentum=UNIT)

    @property
    def size(self) -> int:
        """The number of features normalised."""
        return self.mu.size

    def __repr__(self) -> str:
        return (f"Batchnorm1d({self.size}, eps={self.eps}, momentum={self.momentum}, "
                f"{self.mu.dtype})")


@dataclass(frozen=True, slots=True)
class Activation:
    """An elementwise function (`nn.Relu`, `nn.Sigmoid`, `nn.Tanh` or `nn.Identity`).

    >>> import nn
    >>> nn.Activation(nn.Relu)
    Activation(Relu)
    """

    f: FActivation

    def __post_init__(self) -> None:
        if not isinstance(self.f, FActivation):
            raise TypeError(f"Activation takes nn.Relu, nn.Sigmoid, nn.Tanh or nn.Identity, "
                            f"got {self.f!r}")

    def __repr__(self) -> str:
        return f"Activation({self.f!r})"


@dataclass(frozen=True, slots=True)
class Dropout:
    """Inverted dropout (seed 001): in training, zero each value with probability `p` and
    scale the rest by `1 / (1 - p)`; in evaluation, the identity.

    Raises NetworkError unless `0 <= p < 1` (`p = 0` keeps every value: no dropout);
    TypeError for a bool or a non-number.

    >>> import nn
    >>> nn.Dropout(0.5)
    Dropout(p=0.5)
    """

    p: float

    def __post_init__(self) -> None:
        check_fields(self, NetworkError, p=UNIT_OPEN)

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"


Layer: TypeAlias = (Linear[Any, Any] | LinearNoBias[Any, Any] | Batchnorm1d[Any] | Activation
                    | Dropout)
Network: TypeAlias = list[Layer]
# For runtime checks of untyped input; annotated loosely so mypy does not narrow with it.
LAYER_KINDS: tuple[type, ...] = (Linear, LinearNoBias, Batchnorm1d, Activation, Dropout)


def describe(index: int, layer: Layer) -> str:
    """How errors name a layer: `layer 2 (Linear 300->50)`.

    >>> import nn
    >>> describe(1, nn.Activation(nn.Tanh))
    'layer 1 (Activation Tanh)'
    """
    return f"layer {index} ({_kind(layer)})"


def _kind(layer: Layer) -> str:
    match layer:
        case Linear(w, _):
            return f"Linear {w.rows}->{w.cols}"
        case LinearNoBias(w):
            return f"LinearNoBias {w.rows}->{w.cols}"
        case Batchnorm1d():
            return f"Batchnorm1d {layer.size}"
        case Activation(f):
            return f"Activation {f!r}"
        case Dropout(p):
            return f"Dropout p={p}"
        case _:
            assert_never(layer)


def _require(layer: object, field: str, value: object, kind: type) -> None:
    if not isinstance(value, kind):
        raise TypeError(f"{type(layer).__name__}.{field} must be a manifest typedarr "
                        f"{kind.__name__}, got {type(value).__name__} (compute a delayed "
                        f"array first; convert numpy with {kind.__name__}.from_numpy)")


def _same_dtype(layer: object, *arrays: Matrix | Vector) -> None:
    dtypes = {a.dtype for a in arrays}
    if len(dtypes) != 1:
        raise NetworkError(f"{type(layer).__name__}: parameters mix dtypes "
                           f"{sorted(map(str, dtypes))}; convert with .astype")
