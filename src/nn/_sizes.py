"""The sizes of the values between layers, without any data, and how errors describe them.

A sample is `features` (an int) before a dense layer, or `(channels, rows, columns)` before a
convolutional one; each layer kind says what it gives for a size (`output_size`), so
`nn.check_network` can walk a network before it sees a batch.
"""

from __future__ import annotations

from typedarr import size

from ._errors import NetworkError

Size = int | tuple[int, int, int]  # features, or (channels, rows, columns) of each sample
Sizes = tuple[str | None, Size]  # what is wrong with an input size (None: nothing), the output
ANY_IMAGE = 1 << 20
"""Rows and columns larger than any kernel or pooling window: the image size of a network
whose images' size is unknown (a loaded checkpoint's)."""


def features(wants: int, size: Size) -> str | None:
    """What is wrong with `size` for a layer taking `wants` features (None: nothing)."""
    return None if size == wants else f"expects {wants} input features, got {shape(size)}"


def images(size: int) -> str:
    """The problem of a layer that takes images and was given `size` features."""
    return f"expects images (channels, rows, columns), got {size} features"


def shape(size: Size) -> str:
    """`size` in words: `4` or `images of 3 channels of 8x8`."""
    if isinstance(size, int):
        return str(size)
    c, h, w = size
    return f"images of {c} channels of {h}x{w}"


def at_least(owner: str, name: str, value: object, least: int) -> int:
    """An int setting of at least `least`, read as `typedarr.size` reads a size (inside a
    `jit` trace a number argument is read by its value); NetworkError naming it otherwise."""
    try:
        return size(f"{owner}: {name}", value, NetworkError, least)
    except NetworkError:
        raise NetworkError(f"{owner}: {name} must be an int >= {least}, got {value!r}"
                           ) from None
