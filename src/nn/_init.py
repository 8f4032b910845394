"""Weight and bias initialisers, each reproducible from a seed (an int or a Generator).

Weights `(fan_in, fan_out)`, normally distributed with mean 0 and this standard deviation:

| initialiser       | std                          | from                                   |
|-------------------|------------------------------|----------------------------------------|
| `small_normal`    | 0.01                         | seed 000 (`0.01 * randn`)              |
| `standard_normal` | 1                            | seed 001's "bad" initialisation        |
| `xavier_normal`   | sqrt(2 / (fan_in + fan_out)) | Glorot and Bengio (2010)               |
| `he_normal`       | sqrt(2 / fan_in)             | He et al. (2015)                       |

Convolution kernels `(out_channels, in_channels, rows, columns)` (a `Tensor4`, as
`nn.Conv2d` takes them) are drawn by `he_normal_conv` and `xavier_normal_conv` with the same
formulas, where a kernel's `fan_in` is `in_channels * rows * columns` (the inputs each output
value sums over) and its `fan_out` `out_channels * rows * columns` (PyTorch's
`kaiming_normal_` and `xavier_normal_` count them so too).

Seed 001 names a "Xavier / 2" initialisation without defining it; its author's code draws
`randn / sqrt(fan_in / 2)`, which is `he_normal`. Biases: `zero_bias` or `small_normal_bias`
(seed 000 draws biases like weights, `0.01 * randn`). Any function with the signature of
`WeightInit` or `BiasInit` can be passed to `nn.mlp`, as seed 004's `weight_init_fn`.

Every initialiser raises NetworkError for a size (`fan_in`, `fan_out`, `n`, a kernel's
dimensions) that is not a
positive integer (Python's or numpy's; a bool is refused), and typedarr's errors for a bad
seed (a negative int, a float) or dtype.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import numpy as np

from typedarr import Matrix, Size, Tensor4, Vector, generator, size

from ._errors import NetworkError

Seed = int | np.integer[Any] | np.random.Generator


class WeightInit(Protocol):
    """Makes a `(fan_in, fan_out)` weight Matrix from a seed."""

    def __call__(self, fan_in: int, fan_out: int, *, seed: Seed, dtype: Any = np.float32
                 ) -> Matrix: ...


class BiasInit(Protocol):
    """Makes a bias Vector of `n` elements from a seed."""

    def __call__(self, n: int, *, seed: Seed, dtype: Any = np.float32) -> Vector: ...


def small_normal(fan_in: Size, fan_out: Size, *, seed: Seed, dtype: Any = np.float32) -> Matrix:
    """`0.01 * randn(fan_in, fan_out)`: seed 000's weights.

    >>> import nn
    >>> nn.small_normal(784, 300, seed=0).shape
    (784, 300)
    """
    fan_in, fan_out = _fans("small_normal", fan_in, fan_out)
    return Matrix.random_normal(fan_in, fan_out, seed=seed, std=0.01, dtype=dtype)


def standard_normal(fan_in: Size, fan_out: Size, *, seed: Seed, dtype: Any = np.float32
                    ) -> Matrix:
    """`randn(fan_in, fan_out)`: seed 001's deliberately bad initialisation.

    >>> import nn
    >>> round(float(np.asarray(nn.standard_normal(300, 300, seed=0)).std()), 1)
    1.0
    """
    fan_in, fan_out = _fans("standard_normal", fan_in, fan_out)
    return Matrix.random_normal(fan_in, fan_out, seed=seed, dtype=dtype)


def xavier_normal(fan_in: Size, fan_out: Size, *, seed: Seed, dtype: Any = np.float32
                  ) -> Matrix:
    """Glorot's normal initialisation: std `sqrt(2 / (fan_in + fan_out))`.

    >>> import nn
    >>> round(float(np.asarray(nn.xavier_normal(300, 500, seed=0)).std()), 3)
    0.05
    """
    fan_in, fan_out = _fans("xavier_normal", fan_in, fan_out)
    std = math.sqrt(2.0 / (fan_in + fan_out))
    return Matrix.random_normal(fan_in, fan_out, seed=seed, std=std, dtype=dtype)


def he_normal(fan_in: Size, fan_out: Size, *, seed: Seed, dtype: Any = np.float32) -> Matrix:
    """He's initialisation for ReLU layers: std `sqrt(2 / fan_in)` (seed 001's "Xavier / 2").

    >>> import nn
    >>> round(float(np.asarray(nn.he_normal(800, 300, seed=0)).std()), 3)
    0.05
    """
    fan_in, fan_out = _fans("he_normal", fan_in, fan_out)
    return Matrix.random_normal(fan_in, fan_out, seed=seed, std=math.sqrt(2.0 / fan_in),
                                dtype=dtype)


def he_normal_conv(out_channels: Size, in_channels: Size, rows: Size, columns: Size, *,
                   seed: Seed, dtype: Any = np.float32) -> Tensor4:
    """He's initialisation of a convolution kernel: std `sqrt(2 / fan_in)`, with `fan_in =
    in_channels * rows * columns`.

    >>> import nn
    >>> w = nn.he_normal_conv(20, 1, 5, 5, seed=0)
    >>> w.shape, round(float(np.asarray(w).std()), 2)
    ((20, 1, 5, 5), 0.28)
    """
    shape = _kernel("he_normal_conv", out_channels, in_channels, rows, columns)
    std = math.sqrt(2.0 / math.prod(shape[1:]))
    return Tensor4.random_normal(*shape, seed=seed, std=std, dtype=dtype)


def xavier_normal_conv(out_channels: Size, in_channels: Size, rows: Size, columns: Size, *,
                       seed: Seed, dtype: Any = np.float32) -> Tensor4:
    """Glorot's normal initialisation of a convolution kernel: std `sqrt(2 / (fan_in +
    fan_out))`, with `fan_in = in_channels * rows * columns`, `fan_out = out_channels *
    rows * columns`.

    >>> import nn
    >>> w = nn.xavier_normal_conv(50, 20, 5, 5, seed=0)
    >>> w.shape, round(float(np.asarray(w).std()), 3)
    ((50, 20, 5, 5), 0.034)
    """
    o, c, kh, kw = _kernel("xavier_normal_conv", out_channels, in_channels, rows, columns)
    std = math.sqrt(2.0 / ((c + o) * kh * kw))
    return Tensor4.random_normal(o, c, kh, kw, seed=seed, std=std, dtype=dtype)


def zero_bias(n: Size, *, seed: Seed, dtype: Any = np.float32) -> Vector:
    """`n` zeros (the seed is accepted for a uniform signature, and unused).

    >>> import nn
    >>> nn.zero_bias(2, seed=0)
    Vector U Par (Sz1 2) float32
    [ 0.0, 0.0 ]
    """
    generator(seed)  # checked like every other initialiser's, though no number is drawn
    return Vector.zeros(size("zero_bias: n", n, NetworkError, minimum=1), dtype=dtype)


def small_normal_bias(n: Size, *, seed: Seed, dtype: Any = np.float32) -> Vector:
    """`0.01 * randn(n)`: seed 000's biases.

    >>> import nn
    >>> nn.small_normal_bias(3, seed=0).shape
    (3,)
    """
    n = size("small_normal_bias: n", n, NetworkError, minimum=1)
    return Vector.random_normal(n, seed=seed, std=0.01, dtype=dtype)


def _fans(name: str, fan_in: Size, fan_out: Size) -> tuple[int, int]:
    """Both sizes as Python ints, each at least 1 (a layer has inputs and outputs)."""
    return (size(f"{name}: fan_in", fan_in, NetworkError, minimum=1),
            size(f"{name}: fan_out", fan_out, NetworkError, minimum=1))


def _kernel(name: str, out_channels: Size, in_channels: Size, rows: Size, columns: Size
            ) -> tuple[int, int, int, int]:
    """A kernel's four sizes as Python ints, each at least 1."""
    o, c, kh, kw = (size(f"{name}: {what}", n, NetworkError, minimum=1) for what, n in (
        ("out_channels", out_channels), ("in_channels", in_channels), ("rows", rows),
        ("columns", columns)))
    return o, c, kh, kw
