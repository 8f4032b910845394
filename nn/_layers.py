"""Seed 000's `Layer` sum type: one frozen, slotted dataclass per kind of layer.

```
Layer = Linear(w, b) | LinearNoBias(w) | Batchnorm1d(mu, var, gamma, beta)
      | Activation(f) | Dropout(p)
      | Conv2d(w, b) | AvgPool2d(k) | Batchnorm2d(mu, var, gamma, beta) | Flatten()
```

`LinearNoBias` is seed 000's `Linear'` (a prime is not a Python name): a linear layer
without biases, used before a batchnorm layer, whose `beta` makes a bias redundant.
`Dropout` comes from seed 001; the
convolutional layers (`Conv2d`, `AvgPool2d`, `Batchnorm2d`, `Flatten`) from seed 003, whose
activations are `(N, C, H, W)` Tensor4s until `Flatten` makes them the rows of a Matrix;
`Activation` and `Dropout` take either rank. A network is a plain list of layers
(`Network`), its first layer applied first; the output function (softmax or sigmoid) is
not a layer but the loss `pass_` applies at the end of the list.

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

from typedarr import Matrix, Tensor4, Vector
from typedarr._args import POSITIVE, UNIT, UNIT_OPEN, Size, check_fields, size

from ._errors import NetworkError

In = TypeVar("In", default=Any)  # input features
Out = TypeVar("Out", default=Any)  # output features
F = TypeVar("F", default=Any)  # features a batchnorm layer normalises
Cin = TypeVar("Cin", default=Any)  # input channels of a convolution
Cout = TypeVar("Cout", default=Any)  # output channels of a convolution


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
        _check_batchnorm(self)

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


@dataclass(frozen=True, slots=True, eq=False)
class Conv2d(Generic[Cin, Cout]):
    """`conv2d(x, w) + b` per output channel (stride 1, no padding): weights `w` of shape
    `(out channels, in channels, rows, columns)` and biases `b` of `out channels`.

    Raises NetworkError when `b` does not have one element per output channel of `w`.

    >>> import nn
    >>> from typedarr import Tensor4
    >>> nn.Conv2d(Tensor4.zeros(20, 1, 3, 3), Vector.zeros(20))
    Conv2d(1->20, 3x3, float32)
    """

    w: Tensor4[Cout, Cin, Any, Any]
    b: Vector[Cout]

    def __post_init__(self) -> None:
        _require(self, "w", self.w, Tensor4)
        _require(self, "b", self.b, Vector)
        if self.b.size != self.w.shape[0]:
            raise NetworkError(f"Conv2d: b has {self.b.size} elements but w has "
                               f"{self.w.shape[0]} output channels (w is (out, in, rows, "
                               f"columns))")
        if 0 in self.w.shape:
            raise NetworkError(f"Conv2d: w {self.w.shape} has an empty dimension")
        _same_dtype(self, self.w, self.b)

    @property
    def kernel(self) -> tuple[int, int]:
        """The kernel's rows and columns."""
        return self.w.shape[2], self.w.shape[3]

    def __repr__(self) -> str:
        o, c, kh, kw = self.w.shape
        return f"Conv2d({c}->{o}, {kh}x{kw}, {self.w.dtype})"


@dataclass(frozen=True, slots=True)
class AvgPool2d:
    """The mean of each non-overlapping `k x k` window of each channel (seed 003's pooling).

    Raises NetworkError unless `k` is an int >= 1.

    >>> import nn
    >>> nn.AvgPool2d(2)
    AvgPool2d(k=2)
    """

    k: int

    def __post_init__(self) -> None:
        if isinstance(self.k, bool) or not isinstance(self.k, int) or self.k < 1:
            raise NetworkError(f"AvgPool2d: k must be an int >= 1, got {self.k!r}")

    def __repr__(self) -> str:
        return f"AvgPool2d(k={self.k})"


@dataclass(frozen=True, slots=True, eq=False)
class Batchnorm2d(Generic[F]):
    """Batch normalisation of each channel over samples, rows and columns (seed 003):
    `Batchnorm1d`'s fields, conventions and checks, with one element per channel.

    >>> import nn
    >>> nn.Batchnorm2d.init(20)
    Batchnorm2d(20, eps=1e-05, momentum=0.9, float32)
    """

    mu: Vector[F]
    var: Vector[F]
    gamma: Vector[F]
    beta: Vector[F]
    eps: float = 1e-5
    momentum: float = 0.9

    @classmethod
    def init(cls, channels: Size, *, eps: float = 1e-5, momentum: float = 0.9,
             dtype: Any = np.float32) -> Batchnorm2d[Any]:
        """Means 0, variances 1, `gamma` 1 and `beta` 0 for `channels` channels."""
        k = size("Batchnorm2d.init: channels", channels, NetworkError)
        zeros, ones = Vector.zeros(k, dtype=dtype), Vector.ones(k, dtype=dtype)
        return cls(zeros, ones, ones, zeros, eps=eps, momentum=momentum)

    def __post_init__(self) -> None:
        _check_batchnorm(self)

    @property
    def size(self) -> int:
        """The number of channels normalised."""
        return self.mu.size

    def __repr__(self) -> str:
        return (f"Batchnorm2d({self.size}, eps={self.eps}, momentum={self.momentum}, "
                f"{self.mu.dtype})")


@dataclass(frozen=True, slots=True)
class Flatten:
    """The samples of a Tensor4 `(N, C, H, W)` as the rows of a Matrix `(N, C*H*W)`.

    >>> import nn
    >>> nn.Flatten()
    Flatten()
    """

    def __repr__(self) -> str:
        return "Flatten()"


Layer: TypeAlias = (Linear[Any, Any] | LinearNoBias[Any, Any] | Batchnorm1d[Any] | Activation
                    | Dropout | Conv2d[Any, Any] | AvgPool2d | Batchnorm2d[Any] | Flatten)
Network: TypeAlias = list[Layer]
# For runtime checks of untyped input; annotated loosely so mypy does not narrow with it.
LAYER_KINDS: tuple[type, ...] = (Linear, LinearNoBias, Batchnorm1d, Activation, Dropout, Conv2d,
                                 AvgPool2d, Batchnorm2d, Flatten)


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
        case Conv2d(w, _):
            return f"Conv2d {w.shape[1]}->{w.shape[0]} {w.shape[2]}x{w.shape[3]}"
        case AvgPool2d(k):
            return f"AvgPool2d {k}x{k}"
        case Batchnorm2d():
            return f"Batchnorm2d {layer.size}"
        case Flatten():
            return "Flatten"
        case _:
            assert_never(layer)


def _require(layer: object, field: str, value: object, kind: type) -> None:
    if not isinstance(value, kind):
        raise TypeError(f"{type(layer).__name__}.{field} must be a manifest typedarr "
                        f"{kind.__name__}, got {type(value).__name__} (compute a delayed "
                        f"array first; convert numpy with {kind.__name__}.from_numpy)")


def _check_batchnorm(layer: Batchnorm1d[Any] | Batchnorm2d[Any]) -> None:
    """The checks both batchnorm kinds share: four vectors of one size and dtype, `eps`
    positive and finite, `momentum` in [0, 1]."""
    vectors = (layer.mu, layer.var, layer.gamma, layer.beta)
    for name, v in zip(("mu", "var", "gamma", "beta"), vectors, strict=True):
        _require(layer, name, v, Vector)
    if len({v.size for v in vectors}) != 1:
        raise NetworkError(f"{type(layer).__name__}: mu, var, gamma and beta must have the "
                           f"same size, got {layer.mu.size}, {layer.var.size}, "
                           f"{layer.gamma.size} and {layer.beta.size}")
    _same_dtype(layer, *vectors)
    check_fields(layer, NetworkError, eps=POSITIVE, momentum=UNIT)


def _same_dtype(layer: object, *arrays: Matrix | Vector | Tensor4) -> None:
    dtypes = {a.dtype for a in arrays}
    if len(dtypes) != 1:
        raise NetworkError(f"{type(layer).__name__}: parameters mix dtypes "
                           f"{sorted(map(str, dtypes))}; convert with .astype")
