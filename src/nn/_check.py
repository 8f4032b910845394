"""Checks that name the culprit: layer sizes that do not chain, and NaN or infinity in data.

`check_network` walks the layer list with the feature count, without any data, so a
network can be validated when it is built or loaded; `pass_` catches the same mistakes
when they happen (typedarr's ShapeError, re-raised naming the layer) for networks that were
never checked.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, overload

import numpy as np

from typedarr import MatrixLike, Tensor4Like

from ._errors import NetworkError
from ._fields import arrays
from ._layers import Layer, describe, is_layer
from ._sizes import Size


@overload
def check_network(net: Sequence[Layer], input_size: int) -> int: ...
@overload
def check_network(net: Sequence[Layer], input_size: tuple[int, int, int]) -> Size: ...
def check_network(net: Sequence[Layer], input_size: Size) -> Size:
    """The number of output features of `net` for inputs of `input_size` features, or, for a
    network that starts with convolutional layers, for images of `input_size = (channels,
    rows, columns)` (its output is `(channels, rows, columns)` when it has no `Flatten`).

    Raises NetworkError naming the first layer whose input size differs from what the layer
    before it gives, the first layer whose dtype differs from the first layer's, or an entry
    that is not a layer.

    >>> import nn
    >>> net = [nn.Linear(Matrix.zeros(4, 3), Vector.zeros(3)), nn.Activation(nn.Relu)]
    >>> nn.check_network(net, 4)
    3
    >>> nn.check_network(net, 5)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nn.NetworkError: layer 0 (Linear 4->3): expects 4 input features, got 5 (...)
    >>> nn.check_network([nn.Conv2d(Tensor4.zeros(2, 1, 3, 3), Vector.zeros(2)),
    ...                   nn.AvgPool2d(2), nn.Flatten()], (1, 8, 8))
    18
    """
    size, dtype = input_size, None
    for i, layer in enumerate(net):
        if not is_layer(layer):
            raise NetworkError(f"layer {i} is not a layer: {layer!r}")
        problem, gives = layer.output_size(size)
        layer_dtype = next((a.dtype for a in arrays(layer).values()), None)
        if problem is not None:
            source = "the network input" if i == 0 else f"what {describe(i - 1, net[i - 1])} gives"
            raise NetworkError(f"{describe(i, layer)}: {problem} ({source})")
        if layer_dtype is not None:
            if dtype is not None and layer_dtype != dtype:
                raise NetworkError(f"{describe(i, layer)}: parameters are {layer_dtype} but "
                                   f"earlier layers are {dtype}; convert with .astype")
            dtype = layer_dtype
        size = gives
    return size


def all_finite(m: MatrixLike[Any, Any] | Tensor4Like[Any, Any, Any, Any]) -> bool:
    """Whether `m` holds no NaN or infinity.

    One summing pass decides the common case: NaN and infinity make the sum non-finite, and
    only then (or when the sum itself overflowed) does the exact elementwise test run. This
    is cheaper than `np.isfinite(...).all()`, which allocates a mask of the whole array.
    """
    values = np.asarray(m)
    with np.errstate(over="ignore", invalid="ignore"):
        total = float(np.add.reduce(values, axis=None))
    return math.isfinite(total) or bool(np.isfinite(values).all())


def check_finite(what: str, m: MatrixLike[Any, Any] | Tensor4Like[Any, Any, Any, Any],
                 why: str = "") -> None:
    """Raise NetworkError if `m` holds NaN or infinity, saying where the first one is."""
    if all_finite(m):
        return
    values = np.asarray(m)
    at = tuple(int(k) for k in np.argwhere(~np.isfinite(values))[0])
    where = f"row {at[0]}, column {at[1]}" if len(at) == 2 else f"index {at}"
    raise NetworkError(f"{what} holds {values[at]} at {where}{why}")
