"""Seed 000's `Layer` and `Gradients` sum types: per kind of layer, one frozen, slotted
dataclass and the record of the gradients `pass_` computes for it.

```
Layer = Linear(w, b) | LinearNoBias(w) | Batchnorm1d(mu, var, gamma, beta)
      | Activation(f) | Dropout(p)
      | Conv2d(w, b, stride, padding) | AvgPool2d(k) | MaxPool2d(k)
      | Batchnorm2d(mu, var, gamma, beta) | Flatten()
Gradients = LinearGradients(dw, db) | LinearNoBiasGradients(dw)
          | Batchnorm1dGradients(batch_mu, batch_var, dgamma, dbeta) | NoGrad()
          | Conv2dGradients(dw, db) | Batchnorm2dGradients(batch_mu, batch_var, dgamma, dbeta)
```

A layer kind is its dataclass here (or in its family's module: `nn._batchnorm_layers`) and its
arm of `pass_`. The dataclass declares its fields once (`nn._fields`: parameter, running
statistic or setting, and the PyTorch name), names its gradient record (`gradients`), and
answers `label`, `input_size` and `output_size`; the optimisers, checkpoints and checks walk
those declarations and never list the kinds. A record's fields follow from the layer's:
`d<name>` per parameter, `batch_<name>` per running statistic. Every gradient is of the
**mean** loss over the batch (PyTorch's default).

`LinearNoBias` is seed 000's `Linear'` (a prime is not a Python name): a linear layer
without biases, used before a batchnorm layer, whose `beta` makes a bias redundant;
`LinearNoBiasGradients` is its `Linear'Gradients`. `Dropout` comes from seed 001; the
convolutional layers (`Conv2d`, `AvgPool2d`, `Batchnorm2d`, `Flatten`) from seed 003 (and
`MaxPool2d`, the pooling most CNNs since use), whose
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

from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeAlias, get_args, get_origin

from typing_extensions import TypeVar

from typedarr import UNIT_OPEN, Matrix, Tensor4, Vector

from ._activations import FActivation
from ._batchnorm_layers import Batchnorm1d, Batchnorm1dGradients, Batchnorm2d, Batchnorm2dGradients
from ._errors import NetworkError
from ._fields import added, check_declared, choice, parameter, setting
from ._sizes import ANY_IMAGE, Sizes, at_least, features, images, shape
from ._sizes import Size as SampleSize

In = TypeVar("In", default=Any)  # input features
Out = TypeVar("Out", default=Any)  # output features
Cin = TypeVar("Cin", default=Any)  # input channels of a convolution
Cout = TypeVar("Cout", default=Any)  # output channels of a convolution


@dataclass(frozen=True, slots=True, eq=False)
class LinearGradients(Generic[In, Out]):
    """The gradients of a `Linear` layer's weights and biases."""

    dw: Matrix[In, Out]
    db: Vector[Out]


@dataclass(frozen=True, slots=True, eq=False)
class Linear(Generic[In, Out]):
    """`x @ w + b`: weights `w` of shape `(inputs, outputs)` and biases `b` of `outputs`.

    Raises NetworkError when `b` does not have one element per column of `w`.

    >>> import nn
    >>> nn.Linear(Matrix.zeros(3, 2), Vector.zeros(2))
    Linear(3->2, float32)
    """

    w: Matrix[In, Out] = field(metadata=parameter("weight", transposed=True))
    b: Vector[Out] = field(metadata=parameter("bias"))
    gradients: ClassVar[type[Gradients]] = LinearGradients

    def __post_init__(self) -> None:
        check_declared(self)
        if self.b.size != self.w.cols:
            raise NetworkError(f"Linear: b has {self.b.size} elements but w has "
                               f"{self.w.cols} columns (outputs)")

    @property
    def label(self) -> str:
        return f"Linear {self.w.rows}->{self.w.cols}"

    def input_size(self) -> SampleSize | None:
        return self.w.rows

    def output_size(self, size: SampleSize) -> Sizes:
        return features(self.w.rows, size), self.w.cols

    def __repr__(self) -> str:
        return f"Linear({self.w.rows}->{self.w.cols}, {self.w.dtype})"


@dataclass(frozen=True, slots=True, eq=False)
class LinearNoBiasGradients(Generic[In, Out]):
    """The gradient of a `LinearNoBias` layer's weights (seed 000's `Linear'Gradients`)."""

    dw: Matrix[In, Out]


@dataclass(frozen=True, slots=True, eq=False)
class LinearNoBias(Generic[In, Out]):
    """`x @ w` (seed 000's `Linear'`): a linear layer without biases, for before batchnorm.

    >>> import nn
    >>> nn.LinearNoBias(Matrix.zeros(3, 2))
    LinearNoBias(3->2, float32)
    """

    w: Matrix[In, Out] = field(metadata=parameter("weight", transposed=True))
    gradients: ClassVar[type[Gradients]] = LinearNoBiasGradients

    def __post_init__(self) -> None:
        check_declared(self)

    @property
    def label(self) -> str:
        return f"LinearNoBias {self.w.rows}->{self.w.cols}"

    def input_size(self) -> SampleSize | None:
        return self.w.rows

    def output_size(self, size: SampleSize) -> Sizes:
        return features(self.w.rows, size), self.w.cols

    def __repr__(self) -> str:
        return f"LinearNoBias({self.w.rows}->{self.w.cols}, {self.w.dtype})"


@dataclass(frozen=True, slots=True)
class NoGrad:
    """Nothing to learn: activations, dropout, pooling and flattening."""


@dataclass(frozen=True, slots=True)
class Activation:
    """An elementwise function (`nn.Relu`, `nn.Sigmoid`, `nn.Tanh` or `nn.Identity`).

    >>> import nn
    >>> nn.Activation(nn.Relu)
    Activation(Relu)
    """

    f: FActivation = field(metadata=choice("activation"))
    gradients: ClassVar[type[Gradients]] = NoGrad

    def __post_init__(self) -> None:
        if not isinstance(self.f, FActivation):
            raise TypeError(f"Activation takes nn.Relu, nn.Sigmoid, nn.Tanh or nn.Identity, "
                            f"got {self.f!r}")

    @property
    def label(self) -> str:
        return f"Activation {self.f!r}"

    def input_size(self) -> SampleSize | None:
        return None

    def output_size(self, size: SampleSize) -> Sizes:
        return None, size

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

    p: float = field(metadata=setting(UNIT_OPEN))
    gradients: ClassVar[type[Gradients]] = NoGrad

    def __post_init__(self) -> None:
        check_declared(self)

    @property
    def label(self) -> str:
        return f"Dropout p={self.p}"

    def input_size(self) -> SampleSize | None:
        return None

    def output_size(self, size: SampleSize) -> Sizes:
        return None, size

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"


@dataclass(frozen=True, slots=True, eq=False)
class Conv2dGradients(Generic[Cin, Cout]):
    """The gradients of a `Conv2d` layer's weights and biases."""

    dw: Tensor4[Cout, Cin, Any, Any]
    db: Vector[Cout]


@dataclass(frozen=True, slots=True, eq=False)
class Conv2d(Generic[Cin, Cout]):
    """`conv2d(x, w, stride=stride, padding=padding) + b` per output channel: weights `w` of
    shape `(out channels, in channels, rows, columns)` and biases `b` of `out channels`.

    The kernel moves `stride` pixels at a time over the input surrounded by `padding` rows
    and columns of zeros (PyTorch's `Conv2d(..., stride=s, padding=p)`): an `H x W` image
    gives `(H + 2*padding - rows) // stride + 1` rows out (and columns alike).

    Raises NetworkError when `b` does not have one element per output channel of `w`, or
    unless `stride` is an int >= 1 and `padding` an int >= 0.

    >>> import nn
    >>> from typedarr import Tensor4
    >>> nn.Conv2d(Tensor4.zeros(20, 1, 3, 3), Vector.zeros(20))
    Conv2d(1->20, 3x3, float32)
    >>> nn.Conv2d(Tensor4.zeros(20, 1, 3, 3), Vector.zeros(20), stride=2, padding=1)
    Conv2d(1->20, 3x3, stride=2, padding=1, float32)
    """

    w: Tensor4[Cout, Cin, Any, Any] = field(metadata=parameter("weight"))
    b: Vector[Cout] = field(metadata=parameter("bias"))
    # added after the first Conv2d checkpoints: files without them are stride 1, padding 0
    stride: int = field(default=1, metadata=added())
    padding: int = field(default=0, metadata=added())
    gradients: ClassVar[type[Gradients]] = Conv2dGradients

    def __post_init__(self) -> None:
        check_declared(self)
        if self.b.size != self.w.shape[0]:
            raise NetworkError(f"Conv2d: b has {self.b.size} elements but w has "
                               f"{self.w.shape[0]} output channels (w is (out, in, rows, "
                               f"columns))")
        for name, least in (("stride", 1), ("padding", 0)):
            object.__setattr__(self, name, at_least("Conv2d", name, getattr(self, name), least))

    @property
    def kernel(self) -> tuple[int, int]:
        """The kernel's rows and columns."""
        return self.w.shape[2], self.w.shape[3]

    @property
    def label(self) -> str:
        o, c, kh, kw = self.w.shape
        return f"Conv2d {c}->{o} {kh}x{kw}{self._steps(' ')}"

    def _steps(self, sep: str) -> str:
        """The stride and padding where they are not the defaults (`, stride=2`)."""
        return "".join(f"{sep}{name}={value}" for name, value, default in
                       (("stride", self.stride, 1), ("padding", self.padding, 0))
                       if value != default)

    def input_size(self) -> SampleSize | None:
        return self.w.shape[1], ANY_IMAGE, ANY_IMAGE

    def output_size(self, size: SampleSize) -> Sizes:
        o, c, kh, kw = self.w.shape
        if not isinstance(size, tuple):
            return images(size), size
        h, w = size[1] + 2 * self.padding, size[2] + 2 * self.padding
        if size[0] != c or kh > h or kw > w:
            padded = f" (padded by {self.padding})" if self.padding else ""
            return (f"expects images of {c} channels of at least {kh}x{kw}{padded}, got "
                    f"{shape(size)}"), size
        return None, (o, (h - kh) // self.stride + 1, (w - kw) // self.stride + 1)

    def __repr__(self) -> str:
        o, c, kh, kw = self.w.shape
        return f"Conv2d({c}->{o}, {kh}x{kw}{self._steps(', ')}, {self.w.dtype})"


@dataclass(frozen=True, slots=True)
class _Pool2d:
    """What the pooling kinds share: a window of `k x k`, checked when made (NetworkError
    unless `k` is an int >= 1), and the sizes it gives."""

    k: int
    gradients: ClassVar[type[Gradients]] = NoGrad

    def __post_init__(self) -> None:
        object.__setattr__(self, "k", at_least(type(self).__name__, "k", self.k, 1))

    @property
    def label(self) -> str:
        return f"{type(self).__name__} {self.k}x{self.k}"

    def input_size(self) -> SampleSize | None:
        return None

    def output_size(self, size: SampleSize) -> Sizes:
        k = self.k
        if not isinstance(size, tuple):
            return images(size), size
        if k > size[1] or k > size[2]:
            return f"a {k}x{k} window does not fit in {shape(size)}", size
        return None, (size[0], size[1] // k, size[2] // k)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(k={self.k})"


@dataclass(frozen=True, slots=True, repr=False)
class AvgPool2d(_Pool2d):
    """The mean of each non-overlapping `k x k` window of each channel (seed 003's pooling).

    >>> import nn
    >>> nn.AvgPool2d(2)
    AvgPool2d(k=2)
    """


@dataclass(frozen=True, slots=True, repr=False)
class MaxPool2d(_Pool2d):
    """The largest value of each non-overlapping `k x k` window of each channel; its
    gradient goes to the window's first largest input when several tie
    (`typedarr.max_pool2d_grad`).

    >>> import nn
    >>> nn.MaxPool2d(2)
    MaxPool2d(k=2)
    """


@dataclass(frozen=True, slots=True)
class Flatten:
    """The samples of a Tensor4 `(N, C, H, W)` as the rows of a Matrix `(N, C*H*W)`.

    >>> import nn
    >>> nn.Flatten()
    Flatten()
    """

    gradients: ClassVar[type[Gradients]] = NoGrad

    @property
    def label(self) -> str:
        return "Flatten"

    def input_size(self) -> SampleSize | None:
        return None

    def output_size(self, size: SampleSize) -> Sizes:
        if not isinstance(size, tuple):
            return images(size), size
        return None, size[0] * size[1] * size[2]

    def __repr__(self) -> str:
        return "Flatten()"


Layer: TypeAlias = (Linear[Any, Any] | LinearNoBias[Any, Any] | Batchnorm1d[Any] | Activation
                    | Dropout | Conv2d[Any, Any] | AvgPool2d | MaxPool2d | Batchnorm2d[Any]
                    | Flatten)
"""The layer sum type (seed 000's `Layer`): `pass_` has one `match` arm per variant."""
Network: TypeAlias = list[Layer]
"""A network: its layers in order, input first."""
Gradients: TypeAlias = (LinearGradients[Any, Any] | LinearNoBiasGradients[Any, Any]
                        | Batchnorm1dGradients[Any] | NoGrad | Conv2dGradients[Any, Any]
                        | Batchnorm2dGradients[Any])
"""The gradient sum type (seed 000's `Gradients`): `pass_` returns one per layer."""
KINDS: dict[str, type] = {c.__name__: c for c in (get_origin(t) or t for t in get_args(Layer))}
"""Every layer class by name, from `Layer` itself (checkpoints name kinds; untyped input is
checked with it)."""


def is_layer(x: object) -> bool:
    """Whether `x` is a layer of one of the kinds of `Layer`."""
    return isinstance(x, _CLASSES)


_CLASSES = tuple(KINDS.values())


def describe(index: int, layer: Layer) -> str:
    """How errors name a layer: `layer 2 (Linear 300->50)`.

    >>> import nn
    >>> describe(1, nn.Activation(nn.Tanh))
    'layer 1 (Activation Tanh)'
    """
    return f"layer {index} ({layer.label})"
