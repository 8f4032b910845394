"""Rank-4 mismatches mypy --strict must reject: each `# E: <code>` line is an error."""

from __future__ import annotations

from typing import Any

import typedarr as ta
from typedarr import DTensor4, Matrix, Tensor4, Vector


class Batch:
    """Samples."""


class Chan:
    """Input channels."""


class Other:
    """Other channels."""


class Out:
    """Output channels."""


class H:
    """Rows."""


class W:
    """Columns."""


def use(*values: object) -> None:
    pass


def kinds(x: Tensor4[Batch, Chan, H, W], v: Vector[Chan], m: Matrix[Batch, Chan]) -> None:
    use(x + v)  # E: operator
    use(v * x)  # E: operator
    use(x - m)  # E: operator
    use(ta.maximum(x, v))  # E: misc | reportArgumentType


def dimensions(x: Tensor4[Batch, Chan, H, W], y: Tensor4[Batch, Other, H, W],
               g: Vector[Other]) -> None:
    use(x + y)  # E: operator
    use(x * ta.channels_like(g, x))  # E: misc, arg-type | reportOperatorIssue, reportArgumentType
    bad: DTensor4[Batch, Chan, H, W] = ta.channels_like(g, y)  # E: arg-type | reportAssignmentType
    use(bad)


def convolution(x: Tensor4[Batch, Chan, H, W], w: Tensor4[Out, Other, Any, Any],
                good: Tensor4[Out, Chan, Any, Any]) -> None:
    use(ta.conv2d(x, w))  # E: misc | reportArgumentType
    out: Tensor4[Batch, Chan, Any, Any] = ta.conv2d(x, good)  # E: arg-type | reportAssignmentType
    use(out)
    use(ta.conv2d(ta.flatten(x), good))  # E: arg-type
    delayed: Tensor4[Batch, Out, Any, Any] = ta.conv2d(x, good) * 2.0  # E: assignment
    use(delayed)
