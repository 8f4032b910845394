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

from ._errors import NetworkError
from ._init import BiasInit, Seed, WeightInit, xavier_normal, zero_bias
from ._layers import Activation, Batchnorm1d, Dropout, FActivation, Linear, LinearNoBias, Network


def mlp(input_size: int, output_size: int, hiddens: Sequence[int],
        activations: Sequence[FActivation], num_bn_layers: int = 0,
        weight_init: WeightInit = xavier_normal, bias_init: BiasInit = zero_bias, *,
        seed: Seed, dropout: float = 0.0, bias_before_bn: bool = True,
        dtype: Any = np.float32) -> Network:
    """A network of `len(hiddens) + 1` linear layers, as seed 004's `MLP(...)`.

    Args:
        input_size, output_size: features in and classes out.
        hiddens: the size of each hidden layer.
        activations: one per linear layer (`len(hiddens) + 1`), e.g. `[nn.Relu, nn.Identity]`.
        num_bn_layers: how many linear layers, from the first, are followed by batchnorm.
        weight_init, bias_init: initialisers (`nn.he_normal`, `nn.zero_bias`, ...).
        seed: an int or Generator; every parameter is drawn from it in layer order.
        dropout: dropout probability after each hidden activation (0: no Dropout layers).
        bias_before_bn: False gives seed 000's `LinearNoBias` before each batchnorm
            (whose `beta` makes the bias redundant); True keeps seed 004's `Linear`.
        dtype: float32 (default) or float64.

    Raises NetworkError for sizes that are not positive, the wrong number of activations,
    or `num_bn_layers` outside `0 .. len(hiddens) + 1`.

    >>> import nn
    >>> nn.mlp(784, 10, [64, 32], [nn.Sigmoid, nn.Sigmoid, nn.Identity], num_bn_layers=1,
    ...        seed=0)  # doctest: +NORMALIZE_WHITESPACE
    [Linear(784->64, float32), Batchnorm1d(64, eps=1e-05, momentum=0.9, float32),
     Activation(Sigmoid), Linear(64->32, float32), Activation(Sigmoid),
     Linear(32->10, float32), Activation(Identity)]
    """
    sizes = [input_size, *hiddens, output_size]
    _check(sizes, activations, num_bn_layers, dropout)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    net: Network = []
    for k, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        w = weight_init(fan_in, fan_out, seed=rng, dtype=dtype)
        batchnorm = k < num_bn_layers
        if batchnorm and not bias_before_bn:
            net.append(LinearNoBias(w))
        else:
            net.append(Linear(w, bias_init(fan_out, seed=rng, dtype=dtype)))
        if batchnorm:
            net.append(Batchnorm1d.init(fan_out, dtype=dtype))
        net.append(Activation(activations[k]))
        if dropout > 0.0 and k < len(hiddens):
            net.append(Dropout(dropout))
    return net


def _check(sizes: list[int], activations: Sequence[FActivation], num_bn_layers: int,
           dropout: float) -> None:
    for n in sizes:
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise NetworkError(f"mlp: layer sizes must be positive ints, got {sizes}")
    layers = len(sizes) - 1
    if len(activations) != layers:
        raise NetworkError(f"mlp: {layers} linear layers need {layers} activations (one per "
                           f"hidden layer and one for the output), got {len(activations)}")
    if not 0 <= num_bn_layers <= layers:
        raise NetworkError(f"mlp: num_bn_layers must be in 0 .. {layers}, got {num_bn_layers}")
    if not 0.0 <= dropout < 1.0:
        raise NetworkError(f"mlp: dropout must be in [0, 1), got {dropout}")
