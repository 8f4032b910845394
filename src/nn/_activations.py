"""The elementwise activations (seed 000's `FActivation`; seed 004, task 1) and their
derivatives, as fused expressions.

The derivative of sigmoid and tanh is written with the layer's output `y` (`y * (1 - y)`,
`1 - y**2`), so the backward pass needs nothing the forward pass did not already keep; ReLU's
uses the input (`1` where `x > 0`, else `0`: seed 004's choice at the kink).
"""

from __future__ import annotations

from enum import Enum
from typing import Any, assert_never

from typing_extensions import TypeVar

import typedarr as ta
from typedarr import Matrix, Tensor4


class FActivation(Enum):
    """Seed 000's `FActivation`: the elementwise function an `Activation` layer applies."""

    RELU = "relu"
    SIGMOID = "sigmoid"
    TANH = "tanh"
    IDENTITY = "identity"

    def __repr__(self) -> str:
        return self.name.capitalize()


Relu = FActivation.RELU
"""`max(x, 0)`, seed 000's `Relu`."""
Sigmoid = FActivation.SIGMOID
"""`1 / (1 + exp(-x))`."""
Tanh = FActivation.TANH
"""`tanh(x)`."""
Identity = FActivation.IDENTITY
"""`x` unchanged: a network's last layer before a loss that applies its own output."""

# Either rank: a Matrix (dense layers) or a Tensor4 (convolutional layers)
A = TypeVar("A", Matrix[Any, Any], Tensor4[Any, Any, Any, Any])


def activate(f: FActivation, x: A) -> A:
    """`f` applied to every element of `x` (a Matrix or a Tensor4): one pass.

    >>> import nn
    >>> activate(nn.Relu, Matrix.from_list([[-1.0, 2.0]]))
    Matrix U Par (Sz (1 :. 2)) float32
    [ [ 0.0, 2.0 ]
    ]
    """
    match f:
        case FActivation.RELU:
            return ta.compute(ta.relu(x))
        case FActivation.SIGMOID:
            return ta.compute(ta.sigmoid(x))
        case FActivation.TANH:
            return ta.compute(ta.tanh(x))
        case FActivation.IDENTITY:
            return x
        case _:
            assert_never(f)


def derivative(f: FActivation, x: A, y: A, dy: A) -> A:
    """The gradient at the input `x`, given the output `y = f(x)` and the gradient `dy` there."""
    # `.compute()`, the method: pyright keeps the constrained TypeVar `A` through it.
    match f:
        case FActivation.RELU:
            return ((x > 0.0) * dy).compute()
        case FActivation.SIGMOID:
            return (dy * y * (1.0 - y)).compute()
        case FActivation.TANH:
            return (dy * (1.0 - y * y)).compute()
        case FActivation.IDENTITY:
            return dy.compute()
        case _:
            assert_never(f)
