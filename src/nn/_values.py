"""The values between a network's layers, checked: the kinds a layer takes, the batch
batchnorm needs, the input's finiteness, and errors re-raised naming the layer they
happened in. What `pass_` and `forward` (`nn._pass`) check on the way through a network.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any

from typing_extensions import TypeVar

import typedarr as ta
from typedarr import DTypeError, Matrix, MatrixLike, ShapeError, Tensor4, Tensor4Like

from ._check import check_finite
from ._errors import NetworkError
from ._layers import Layer, is_layer
from ._layers import describe as _describe

B = TypeVar("B", default=Any)  # rows: the batch
C = TypeVar("C", default=Any)  # columns
# The values between layers: a Matrix, or a Tensor4 before a network's Flatten
Values = Matrix[Any, Any] | Tensor4[Any, Any, Any, Any]
DIVERGED = (": its parameters are not finite or its values overflowed (has the training "
            "diverged? try a lower learning rate)")


def check_batch(i: int, layer: Layer, values: int, what: str) -> None:
    """Raise NetworkError unless a batch statistic has at least 2 `what` (rows, values per
    channel) to be computed from."""
    if values < 2:
        raise NetworkError(f"{_describe(i, layer)}: training needs a batch of at least 2 "
                           f"{what}, got {values}: one has no batch variance (use "
                           f"Phase.EVAL, or forward, to predict single samples)")


def as_matrix(i: int, layer: Layer | None, inp: Values) -> Matrix:
    """`inp`, which the layer (None: the output) needs as a Matrix."""
    if not isinstance(inp, Matrix):
        where = "the output" if layer is None else _describe(i, layer)
        raise NetworkError(f"{where}: takes a Matrix (batch, features), got a Tensor4 "
                           f"{inp.shape}: put an nn.Flatten() before it")
    return inp


def as_tensor4(i: int, layer: Layer, inp: Values) -> Tensor4:
    """`inp`, which the layer needs as a Tensor4."""
    if not isinstance(inp, Tensor4):
        raise NetworkError(f"{_describe(i, layer)}: takes a Tensor4 (batch, channels, rows, "
                           f"columns), got a Matrix {inp.shape}")
    return inp


def check_layer(i: int, layer: object) -> None:
    if not is_layer(layer):
        raise NetworkError(f"layer {i} is not a layer: {layer!r}")


def network_input(x: MatrixLike[B, Any] | Tensor4Like[B, Any, Any, Any]) -> Values:
    """The network's input in memory: a Matrix, or a Tensor4 for a convolutional network."""
    if isinstance(x, Tensor4Like):
        values = ta.compute(x)
        if not ta.tracing():
            check_finite("the input x", values)
        return values
    return checked_data("x", x)


def checked_data(name: str, m: MatrixLike[B, C]) -> Matrix[B, C]:
    """`m` in memory, checked to be a typedarr Matrix of finite values."""
    if not isinstance(m, MatrixLike):
        raise TypeError(f"{name} must be a typedarr Matrix, got {type(m).__name__} "
                        f"(convert numpy with Matrix.from_numpy)")
    values = ta.compute(m)
    if not ta.tracing():
        check_finite("the input x" if name == "x" else f"the {name}", values)
    return values


class Blame:
    """Re-raise typedarr's size and dtype errors naming the layer they happened in.

    A class rather than a generator context manager, and `where` a function called only on
    an error: this runs for every layer of every step.
    """

    __slots__ = ("_where",)

    def __init__(self, where: Callable[[], str]) -> None:
        self._where = where

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        if isinstance(e, (ShapeError, DTypeError)):
            raise NetworkError(f"{self._where()}: {e}") from e


def report_nonfinite(net: Sequence[Layer], outputs: list[tuple[int, Values]]) -> None:
    """Raise NetworkError naming the first layer whose output holds NaN or infinity."""
    for i, out in outputs:
        check_finite(f"the output of {_describe(i, net[i])}", out, DIVERGED)
