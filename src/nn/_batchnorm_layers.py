"""The batchnorm family's layers and gradient records: `Batchnorm1d` (seed 000) normalises
each feature of a Matrix, `Batchnorm2d` (seed 003) each channel of a Tensor4; their maths is
`nn._batchnorm` and `nn._batchnorm2d`, called from their arms in `pass_`.

Both kinds share one body (`_Batchnorm`): running `mu` and `var`, learnable `gamma` and
`beta`, `eps` and `momentum`, and the checks on them. Their gradient records carry the batch
statistics the layer normalised with and the gradients of `gamma` and `beta`
(`Batchnorm1dGradients` is seed 000's `BN1`; nn exports both names).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Self

import numpy as np
from typing_extensions import TypeVar

from typedarr import NON_NEGATIVE, POSITIVE, UNIT, Size, Vector, size

from ._errors import NetworkError
from ._fields import check_declared, parameter, running, setting
from ._sizes import ANY_IMAGE, Sizes, features, shape
from ._sizes import Size as SampleSize

F = TypeVar("F", default=Any)  # features (or channels) a batchnorm layer normalises


@dataclass(frozen=True, slots=True, eq=False)
class Batchnorm1dGradients(Generic[F]):
    """A `Batchnorm1d` layer's batch statistics and the gradients of `gamma` and `beta`
    (seed 000's `BN1`)."""

    batch_mu: Vector[F]
    batch_var: Vector[F]
    dgamma: Vector[F]
    dbeta: Vector[F]


@dataclass(frozen=True, slots=True, eq=False)
class Batchnorm2dGradients(Generic[F]):
    """A `Batchnorm2d` layer's per-channel batch statistics and the gradients of `gamma` and
    `beta`: `Batchnorm1dGradients`' fields, one element per channel."""

    batch_mu: Vector[F]
    batch_var: Vector[F]
    dgamma: Vector[F]
    dbeta: Vector[F]


BN1 = Batchnorm1dGradients  # seed 000's name
"""Seed 000's name for `Batchnorm1dGradients`: the same class."""
BN2 = Batchnorm2dGradients  # seed 000's name, per channel
"""The per-channel `Batchnorm2dGradients` under seed 000's naming: the same class."""


@dataclass(frozen=True, slots=True, eq=False)
class _Batchnorm(Generic[F]):
    """The fields, initial values and checks both batchnorm kinds share: four vectors of one
    size and dtype (finite, the running variance non-negative), `eps` positive and finite,
    `momentum` in [0, 1]."""

    mu: Vector[F] = field(metadata=running("running_mean"))
    # eval divides by sqrt(var + eps): a negative variance is a NaN waiting for eval
    var: Vector[F] = field(metadata=running("running_var", NON_NEGATIVE))
    gamma: Vector[F] = field(metadata=parameter("weight"))
    beta: Vector[F] = field(metadata=parameter("bias"))
    eps: float = field(default=1e-5, metadata=setting(POSITIVE))
    momentum: float = field(default=0.9, metadata=setting(UNIT))

    @classmethod
    def _init(cls, what: str, n: Size, eps: float, momentum: float, dtype: Any) -> Self:
        """Seed 000's initial layer: means 0, variances 1, `gamma` 1 and `beta` 0."""
        k = size(f"{cls.__name__}.init: {what}", n, NetworkError)
        zeros, ones = Vector.zeros(k, dtype=dtype), Vector.ones(k, dtype=dtype)
        return cls(zeros, ones, ones, zeros, eps=eps, momentum=momentum)

    def __post_init__(self) -> None:
        check_declared(self)
        sizes = (self.mu.size, self.var.size, self.gamma.size, self.beta.size)
        if len(set(sizes)) != 1:
            raise NetworkError(f"{type(self).__name__}: mu, var, gamma and beta must have the "
                               f"same size, got {', '.join(map(str, sizes[:3]))} and "
                               f"{sizes[3]}")

    @property
    def size(self) -> int:
        """The number of features (or channels) normalised."""
        return self.mu.size

    @property
    def label(self) -> str:
        return f"{type(self).__name__} {self.size}"

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.size}, eps={self.eps}, "
                f"momentum={self.momentum}, {self.mu.dtype})")


@dataclass(frozen=True, slots=True, eq=False, repr=False)  # _Batchnorm's repr
class Batchnorm1d(_Batchnorm[F]):
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

    gradients: ClassVar[type[Batchnorm1dGradients[Any]]] = Batchnorm1dGradients

    @classmethod
    def init(cls, n: Size, *, eps: float = 1e-5, momentum: float = 0.9,
             dtype: Any = np.float32) -> Batchnorm1d[Any]:
        """Seed 000's initial layer: means 0, variances 1, `gamma` 1 and `beta` 0."""
        return cls._init("n", n, eps, momentum, dtype)

    def input_size(self) -> SampleSize | None:
        return self.size

    def output_size(self, size: SampleSize) -> Sizes:
        return features(self.size, size), self.size


@dataclass(frozen=True, slots=True, eq=False, repr=False)  # _Batchnorm's repr
class Batchnorm2d(_Batchnorm[F]):
    """Batch normalisation of each channel over samples, rows and columns (seed 003):
    `Batchnorm1d`'s fields, conventions and checks, with one element per channel.

    >>> import nn
    >>> nn.Batchnorm2d.init(20)
    Batchnorm2d(20, eps=1e-05, momentum=0.9, float32)
    """

    gradients: ClassVar[type[Batchnorm2dGradients[Any]]] = Batchnorm2dGradients

    @classmethod
    def init(cls, channels: Size, *, eps: float = 1e-5, momentum: float = 0.9,
             dtype: Any = np.float32) -> Batchnorm2d[Any]:
        """Means 0, variances 1, `gamma` 1 and `beta` 0 for `channels` channels."""
        return cls._init("channels", channels, eps, momentum, dtype)

    def input_size(self) -> SampleSize | None:
        return self.size, ANY_IMAGE, ANY_IMAGE

    def output_size(self, size: SampleSize) -> Sizes:
        if not isinstance(size, tuple) or size[0] != self.size:
            return f"expects images of {self.size} channels, got {shape(size)}", size
        return None, size
