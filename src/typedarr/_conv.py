"""Convolution and pooling (average and max) of `(N, C, H, W)` Tensor4s, and their adjoints.

`conv2d` is seed 003's `nd.Convolution` without the bias (add `channels_like(b, y)`), a
cross-correlation as in every deep-learning library; `avg_pool2d` is its
`nd.Pooling(pool_type="avg")` with non-overlapping windows, `max_pool2d` the same with
`pool_type="max"`. The adjoints are what a backward
pass needs: `conv2d_grad_input` and `conv2d_grad_weight` give the gradients of a loss with
respect to a convolution's input and weights from the gradient `dy` with respect to its
output, and `avg_pool2d_grad` and `max_pool2d_grad` do the same for pooling.

Like a matrix product, each is a boundary of fusion: its node reads its sources whole, so an
engine stores them first (a delayed operand is computed in the same kernel, just before),
and the result is returned in memory, ready to feed fused elementwise work. Inside a
`typedarr.jit` trace the result is the node itself, which the compiled program computes (as
a product is a MATMUL node there).
"""

from __future__ import annotations

from typing import Any

from typing_extensions import TypeVar

from . import _compute
from ._errors import DTypeError, ShapeError
from ._ir import Node, conv2d_shape
from ._ir import avg_pool2d as avg_pool2d_node
from ._ir import avg_pool2d_grad as avg_pool2d_grad_node
from ._ir import conv2d as conv2d_node
from ._ir import conv2d_grad_input as conv2d_grad_input_node
from ._ir import conv2d_grad_weight as conv2d_grad_weight_node
from ._ir import max_pool2d as max_pool2d_node
from ._ir import max_pool2d_grad as max_pool2d_grad_node
from ._runtime_scalar import concrete
from ._strategy import Strategy, combine
from ._tensor4 import Tensor4, Tensor4Like

N = TypeVar("N", default=Any)
C = TypeVar("C", default=Any)
O = TypeVar("O", default=Any)  # noqa: E741  # the output channels, as the literature names them

Shape4 = tuple[int, int, int, int]


def conv2d(x: Tensor4Like[N, C, Any, Any], w: Tensor4Like[O, C, Any, Any], *, stride: int = 1,
           padding: int = 0) -> Tensor4[N, O, Any, Any]:
    """The cross-correlation of `x` `(N, C, H, W)` with the weights `w` `(O, C, KH, KW)`.

    `out[n, o, i, j] = sum over c, a, b of x[n, c, i*stride + a - padding, j*stride + b -
    padding] * w[o, c, a, b]`, reading zeros in the padding: shape `(N, O, H', W')` with
    `H' = (H + 2*padding - KH) // stride + 1` (and `W'` alike).

    Raises ShapeError when the channels of `x` and `w` differ or the window does not fit,
    DTypeError when their dtypes differ.

    >>> conv2d(Tensor4.ones(2, 3, 5, 5), Tensor4.ones(4, 3, 3, 3)).shape
    (2, 4, 3, 3)
    """
    _check_pair("conv2d", x, "x", w, "w")
    stride, padding = _check_steps("conv2d", stride, padding)
    if x.shape[1] != w.shape[1]:
        raise ShapeError(f"conv2d: x {x._describe()} has {x.shape[1]} channels but the "
                         f"weights w {w._describe()} expect {w.shape[1]}: w is (out "
                         f"channels, in channels, rows, columns)")
    _check_fits("conv2d", x.shape, w.shape, padding)
    return _run(conv2d_node(x._node, w._node, stride, padding), x, w)


def conv2d_grad_input(dy: Tensor4Like[N, O, Any, Any], w: Tensor4Like[O, C, Any, Any],
                      x_shape: tuple[int, ...], *, stride: int = 1, padding: int = 0
                      ) -> Tensor4[N, C, Any, Any]:
    """The gradient with respect to the input `x` of shape `x_shape` of `conv2d(x, w)`, given
    the gradient `dy` with respect to its output (the transposed convolution of `dy`).

    Raises ShapeError when `dy`, `w` and `x_shape` are not those of one convolution.

    >>> conv2d_grad_input(Tensor4.ones(2, 4, 3, 3), Tensor4.ones(4, 3, 3, 3), (2, 3, 5, 5)).shape
    (2, 3, 5, 5)
    """
    _check_pair("conv2d_grad_input", dy, "dy", w, "w")
    stride, padding = _check_steps("conv2d_grad_input", stride, padding)
    shape = _check_shape("conv2d_grad_input", x_shape)
    _check_fits("conv2d_grad_input", shape, w.shape, padding)
    want = conv2d_shape(shape, w.shape, stride, padding)
    if shape[1] != w.shape[1] or dy.shape != want:
        raise ShapeError(f"conv2d_grad_input: dy {dy._describe()} is not the output of a "
                         f"convolution of an input {shape} with w {w._describe()} (stride "
                         f"{stride}, padding {padding}), which is {want}")
    node = conv2d_grad_input_node(dy._node, w._node, shape, stride, padding)
    return _run(node, dy, w)


def conv2d_grad_weight(x: Tensor4Like[N, C, Any, Any], dy: Tensor4Like[N, O, Any, Any],
                       kernel: tuple[int, ...], *, stride: int = 1, padding: int = 0
                       ) -> Tensor4[O, C, Any, Any]:
    """The gradient with respect to the weights (of `kernel` rows and columns) of
    `conv2d(x, w)`, given the gradient `dy` with respect to its output.

    Raises ShapeError when `x`, `dy` and `kernel` are not those of one convolution.

    >>> conv2d_grad_weight(Tensor4.ones(2, 3, 5, 5), Tensor4.ones(2, 4, 3, 3), (3, 3)).shape
    (4, 3, 3, 3)
    """
    _check_pair("conv2d_grad_weight", x, "x", dy, "dy")
    stride, padding = _check_steps("conv2d_grad_weight", stride, padding)
    if not isinstance(kernel, tuple) or len(kernel) != 2:
        raise ShapeError(f"conv2d_grad_weight: kernel is (rows, columns), got {kernel!r}")
    kh, kw = (_check_int("conv2d_grad_weight", "kernel sizes", v, 1) for v in kernel)
    w_shape = (dy.shape[1], x.shape[1], kh, kw)
    _check_fits("conv2d_grad_weight", x.shape, w_shape, padding)
    want = conv2d_shape(x.shape, w_shape, stride, padding)
    if dy.shape != want:
        raise ShapeError(f"conv2d_grad_weight: dy {dy._describe()} is not the output of a "
                         f"convolution of x {x._describe()} with a {kh}x{kw} kernel (stride "
                         f"{stride}, padding {padding}), which is {want}")
    node = conv2d_grad_weight_node(x._node, dy._node, w_shape, stride, padding)
    return _run(node, x, dy)


def avg_pool2d(x: Tensor4Like[N, C, Any, Any], k: int) -> Tensor4[N, C, Any, Any]:
    """The mean of each non-overlapping `k x k` window of `x` `(N, C, H, W)`: shape
    `(N, C, H // k, W // k)` (a remainder of rows or columns is dropped, as MXNet's and
    PyTorch's default pooling do).

    Raises ShapeError when the window is larger than the image.

    >>> avg_pool2d(Tensor4.ones(2, 3, 5, 4), 2).shape
    (2, 3, 2, 2)
    """
    k = _check_window("avg_pool2d", x, k)
    return _run(avg_pool2d_node(x._node, k), x, x)


def max_pool2d(x: Tensor4Like[N, C, Any, Any], k: int) -> Tensor4[N, C, Any, Any]:
    """The largest value of each non-overlapping `k x k` window of `x` `(N, C, H, W)`:
    shape `(N, C, H // k, W // k)` (a remainder is dropped, as in `avg_pool2d`); a window
    holding a NaN gives NaN.

    Raises ShapeError when the window is larger than the image.

    >>> x = Tensor4.from_numpy(np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4))
    >>> max_pool2d(x, 2).to_numpy()[0, 0]
    array([[ 5.,  7.],
           [13., 15.]], dtype=float32)
    """
    k = _check_window("max_pool2d", x, k)
    return _run(max_pool2d_node(x._node, k), x, x)


def max_pool2d_grad(x: Tensor4Like[N, C, Any, Any], dy: Tensor4Like[N, C, Any, Any], k: int
                    ) -> Tensor4[N, C, Any, Any]:
    """The gradient with respect to `x` of `max_pool2d(x, k)`, given the gradient `dy` with
    respect to its output: each window's gradient goes to ONE of its inputs, the first
    largest in row-major order when several tie (as PyTorch routes it), or the first NaN in
    a window that holds one; every other input, and the rows and columns the pooling
    dropped, get 0.

    Raises ShapeError when `dy` is not the pooling of `x`.

    >>> x = Tensor4.from_numpy(np.array([[[[1, 3], [3, 0]]]], dtype=np.float32))
    >>> max_pool2d_grad(x, Tensor4.ones(1, 1, 1, 1), 2).to_numpy()[0, 0]
    array([[0., 1.],
           [0., 0.]], dtype=float32)
    """
    _check_pair("max_pool2d_grad", x, "x", dy, "dy")
    k = _check_window("max_pool2d_grad", x, k)
    want = (x.shape[0], x.shape[1], x.shape[2] // k, x.shape[3] // k)
    if dy.shape != want:
        raise ShapeError(f"max_pool2d_grad: dy {dy._describe()} is not the {k}x{k} pooling "
                         f"of x {x._describe()}, which is {want}")
    return _run(max_pool2d_grad_node(x._node, dy._node, k), x, dy)


def _check_window(name: str, x: object, k: object) -> int:
    """`k`, checked as a pooling window that fits in the Tensor4 `x`."""
    _check_tensor4(name, x, "x")
    assert isinstance(x, Tensor4Like)
    size = _check_int(name, "k", k, 1)
    if size > x.shape[2] or size > x.shape[3]:
        raise ShapeError(f"{name}: a {size}x{size} window does not fit in x {x._describe()}")
    return size


def avg_pool2d_grad(dy: Tensor4Like[N, C, Any, Any], k: int, x_shape: tuple[int, ...]
                    ) -> Tensor4[N, C, Any, Any]:
    """The gradient with respect to the input `x` of shape `x_shape` of `avg_pool2d(x, k)`,
    given the gradient `dy` with respect to its output: each window's gradient shared by its
    `k * k` inputs, 0 for the rows and columns the pooling dropped.

    Raises ShapeError when `dy` is not the pooling of an input of `x_shape`.

    >>> avg_pool2d_grad(Tensor4.ones(2, 3, 2, 2), 2, (2, 3, 5, 4)).shape
    (2, 3, 5, 4)
    """
    _check_tensor4("avg_pool2d_grad", dy, "dy")
    k = _check_int("avg_pool2d_grad", "k", k, 1)
    shape = _check_shape("avg_pool2d_grad", x_shape)
    want = (shape[0], shape[1], shape[2] // k, shape[3] // k)
    if dy.shape != want:
        raise ShapeError(f"avg_pool2d_grad: dy {dy._describe()} is not the {k}x{k} pooling "
                         f"of an input {shape}, which is {want}")
    return _run(avg_pool2d_grad_node(dy._node, k, shape), dy, dy)


def _run(node: Node, a: Tensor4Like[Any, Any, Any, Any], b: Tensor4Like[Any, Any, Any, Any]
         ) -> Tensor4[Any, Any, Any, Any]:
    strategy: Strategy = combine(a.strategy, b.strategy)
    return Tensor4._wrap(_compute.run(node, strategy), strategy)


def _check_tensor4(name: str, x: object, role: str) -> None:
    if not isinstance(x, Tensor4Like):
        raise ShapeError(f"{name}: {role} must be a Tensor4 (N, C, H, W), got "
                         f"{type(x).__name__} {getattr(x, 'shape', '')}".rstrip())


def _check_pair(name: str, a: Tensor4Like[Any, Any, Any, Any], a_role: str,
                b: Tensor4Like[Any, Any, Any, Any], b_role: str) -> None:
    _check_tensor4(name, a, a_role)
    _check_tensor4(name, b, b_role)
    if a.dtype != b.dtype:
        raise DTypeError(f"{name}: {a_role} {a._describe()} of {a.dtype} and {b_role} "
                         f"{b._describe()} of {b.dtype}: convert one with .astype")


def _check_steps(name: str, stride: int, padding: int) -> tuple[int, int]:
    return _check_int(name, "stride", stride, 1), _check_int(name, "padding", padding, 0)


def _check_int(name: str, what: str, value: object, least: int) -> int:
    value = concrete(value)  # a size: a traced number argument is specialised on
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ValueError(f"{name}: {what} must be an int >= {least}, got {value!r}")
    return value


def _check_shape(name: str, shape: object) -> Shape4:
    if not (isinstance(shape, tuple) and len(shape) == 4
            and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in shape)):
        raise ShapeError(f"{name}: the input's shape must be 4 non-negative ints (N, C, H, W), "
                         f"got {shape!r}")
    n, c, h, w = shape
    return n, c, h, w


def _check_fits(name: str, x_shape: tuple[int, ...], w_shape: tuple[int, ...],
                padding: int) -> None:
    h, w = x_shape[2] + 2 * padding, x_shape[3] + 2 * padding
    if w_shape[2] > h or w_shape[3] > w or 0 in w_shape[2:]:
        raise ShapeError(f"{name}: a {w_shape[2]}x{w_shape[3]} kernel does not fit in an "
                         f"input {tuple(x_shape)} padded by {padding} ({h}x{w})")
