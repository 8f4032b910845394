"""Tensor4's kinds, representations and named dimensions, as mypy --strict infers them."""

from __future__ import annotations

from typing import Any, assert_type

import numpy as np

import typedarr as ta
from typedarr import DTensor4, DVector, Matrix, Tensor4, Tensor4Like, Vector


class Batch:
    """Samples."""


class Chan:
    """Input channels."""


class Out:
    """Output channels."""


class H:
    """Rows."""


class W:
    """Columns."""


def elementwise(x: Tensor4[Batch, Chan, H, W], d: DTensor4[Batch, Chan, H, W]) -> None:
    assert_type(x + x, DTensor4[Batch, Chan, H, W])
    assert_type(x * d, DTensor4[Batch, Chan, H, W])
    assert_type(2.0 - x, DTensor4[Batch, Chan, H, W])
    assert_type(x > 0.0, DTensor4[Batch, Chan, H, W])
    assert_type(ta.relu(d), DTensor4[Batch, Chan, H, W])
    assert_type(ta.maximum(x, d), DTensor4[Batch, Chan, H, W])
    assert_type(ta.where(x > 0, x, 0.0), DTensor4[Batch, Chan, H, W])
    assert_type(x.astype(np.float64), DTensor4[Batch, Chan, H, W])


def representations(x: Tensor4[Batch, Chan, H, W], d: DTensor4[Batch, Chan, H, W]) -> None:
    assert_type(x.delay(), DTensor4[Batch, Chan, H, W])
    assert_type(d.compute(), Tensor4[Batch, Chan, H, W])
    assert_type(ta.compute(d), Tensor4[Batch, Chan, H, W])
    assert_type(ta.compute(d, ta.sum_channels(d)), tuple[Tensor4[Batch, Chan, H, W],
                                                         Vector[Chan]])
    like: Tensor4Like[Batch, Chan, H, W] = d
    assert_type(like.compute(), Tensor4[Batch, Chan, H, W])
    assert_type(Tensor4.zeros(2, 3, 4, 5), Tensor4[Any, Any, Any, Any])
    assert_type(x[0:2], Tensor4[Any, Chan, H, W])


def per_channel(x: Tensor4[Batch, Chan, H, W], g: Vector[Chan]) -> None:
    assert_type(ta.channels_like(g, x), DTensor4[Batch, Chan, H, W])
    assert_type(x * ta.channels_like(g, x), DTensor4[Batch, Chan, H, W])
    assert_type(ta.sum_channels(x), DVector[Chan])
    assert_type(ta.mean(x), DVector[Chan])
    assert_type(ta.var(x), DVector[Chan])
    assert_type(ta.flatten(x), Matrix[Batch, Any])
    assert_type(ta.unflatten(ta.flatten(x), 3, 4, 5), Tensor4[Batch, Any, Any, Any])


def convolution(x: Tensor4[Batch, Chan, H, W], w: Tensor4[Out, Chan, Any, Any],
                dy: Tensor4[Batch, Out, Any, Any]) -> None:
    assert_type(ta.conv2d(x, w), Tensor4[Batch, Out, Any, Any])
    assert_type(ta.conv2d(ta.relu(x), w, stride=2, padding=1), Tensor4[Batch, Out, Any, Any])
    assert_type(ta.conv2d_grad_input(dy, w, x.shape), Tensor4[Batch, Chan, Any, Any])
    assert_type(ta.conv2d_grad_weight(x, dy, (3, 3)), Tensor4[Out, Chan, Any, Any])
    assert_type(ta.avg_pool2d(x, 2), Tensor4[Batch, Chan, Any, Any])
    assert_type(ta.avg_pool2d_grad(ta.avg_pool2d(x, 2), 2, x.shape),
                Tensor4[Batch, Chan, Any, Any])


def dynamic(x: Tensor4, w: Tensor4) -> Tensor4:
    return ta.avg_pool2d(ta.conv2d(x, w) + 1.0, 2)
