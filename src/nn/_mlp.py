"""`mlp`: a multi-layer perceptron built the way seed 004's `MLP` constructor lays it out.

For each linear layer `k` (the hidden ones, then the output one):
`Linear -> Batchnorm1d (if k < num_bn_layers) -> Activation(activations[k])`, and after
each hidden layer's activation a `Dropout(dropout)` when `dropout > 0` (seed 001). The
output activation is usually `nn.Identity`: the softmax belongs to the loss.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from typedarr import UNIT_OPEN, Real, Size, check_dtype, generator, integer, real

from ._activations import FActivation
from ._batchnorm_layers import Batchnorm1d
from ._errors import NetworkError
from ._init import BiasInit, Seed, WeightInit, xavier_normal, zero_bias
from ._layers import Activation, Dropout, Linear, LinearNoBias, Network


def mlp(input_size: Size, output_size: Size, hiddens: Sequence[Size],
        activations: Sequence[FActivation], num_bn_layers: Size = 0,
        weight_init: WeightInit = xavier_normal, bias_init: BiasInit = zero_bias, *,
        seed: Seed, dropout: Real = 0.0, bias_before_bn: bool = True,
        dtype: Any = np.float32) -> Network:
    """A network of `len(hiddens) + 1` linear layers, as seed 004's `MLP(...)`.

    Args:
        input_size: features in.
        output_size: classes out.
        hiddens: the size of each hidden layer.
        activations: one per linear layer (`len(hiddens) + 1`), e.g. `[nn.Relu, nn.Identity]`.
        num_bn_layers: how many linear layers, from the first, are followed by batchnorm.
        weight_init: the weights' initialiser (`nn.xavier_normal`, `nn.he_normal`, ...).
        bias_init: the biases' initialiser (`nn.zero_bias`, `nn.small_normal_bias`, ...).
        seed: an int or Generator; every parameter is drawn from it in layer order.
        dropout: dropout probability after each hidden activation (0: no Dropout layers).
        bias_before_bn: False gives seed 000's `LinearNoBias` before each batchnorm
            (whose `beta` makes the bias redundant); True keeps seed 004's `Linear`.
        dtype: float32 (default) or float64.

    Sizes and counts are Python or numpy integers. Raises NetworkError for sizes that are
    not positive integers, the wrong number of activations, `num_bn_layers` outside
    `0 .. len(hiddens) + 1` or `dropout` outside [0, 1); TypeError for an activation that is
    not an `nn.FActivation`, an initialiser that is not callable, a `bias_before_bn` that is
    not a bool, or a bad seed; typedarr's DTypeError for a dtype other than float32/float64.

    >>> import nn
    >>> nn.mlp(784, 10, [64, 32], [nn.Sigmoid, nn.Sigmoid, nn.Identity], num_bn_layers=1,
    ...        seed=0)  # doctest: +NORMALIZE_WHITESPACE
    [Linear(784->64, float32), Batchnorm1d(64, eps=1e-05, momentum=0.9, float32),
     Activation(Sigmoid), Linear(64->32, float32), Activation(Sigmoid),
     Linear(32->10, float32), Activation(Identity)]
    """
    sizes = _sizes([input_size, *hiddens, output_size])
    layers = len(sizes) - 1
    acts, bn_layers = _activations(activations, layers), _bn_layers(num_bn_layers, layers)
    p = real("mlp: dropout", dropout, UNIT_OPEN, NetworkError)
    _check_options(weight_init, bias_init, bias_before_bn)
    check_dtype(dtype)
    rng = generator(seed)
    net: Network = []
    for k, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        w = weight_init(fan_in, fan_out, seed=rng, dtype=dtype)
        batchnorm = k < bn_layers
        if batchnorm and not bias_before_bn:
            net.append(LinearNoBias(w))
        else:
            net.append(Linear(w, bias_init(fan_out, seed=rng, dtype=dtype)))
        if batchnorm:
            net.append(Batchnorm1d.init(fan_out, dtype=dtype))
        net.append(acts[k])
        if p > 0.0 and k < len(hiddens):
            net.append(Dropout(p))
    return net


def _sizes(sizes: list[Size]) -> list[int]:
    checked = [integer(n) for n in sizes]
    if any(n is None or n < 1 for n in checked):
        raise NetworkError(f"mlp: layer sizes must be positive ints, got {sizes}")
    return [n for n in checked if n is not None]


def _activations(activations: Sequence[FActivation], layers: int) -> list[Activation]:
    if len(activations) != layers:
        raise NetworkError(f"mlp: {layers} linear layers need {layers} activations (one per "
                           f"hidden layer and one for the output), got {len(activations)}")
    return [Activation(f) for f in activations]


def _bn_layers(num_bn_layers: Size, layers: int) -> int:
    n = integer(num_bn_layers)
    if n is None or not 0 <= n <= layers:
        raise NetworkError(f"mlp: num_bn_layers must be in 0 .. {layers} (an int), got "
                           f"{num_bn_layers!r}")
    return n


def _check_options(weight_init: object, bias_init: object, bias_before_bn: object) -> None:
    for name, f in (("weight_init", weight_init), ("bias_init", bias_init)):
        if not callable(f):
            raise TypeError(f"mlp: {name} must be an initialiser such as nn.he_normal, got "
                            f"{f!r}")
    if not isinstance(bias_before_bn, bool | np.bool_):
        raise TypeError(f"mlp: bias_before_bn must be True or False, got {bias_before_bn!r}")
