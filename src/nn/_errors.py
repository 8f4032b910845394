"""The two errors nn raises: one for networks and data that do not fit, one for checkpoints.

Both are `ValueError`s, so code that already catches bad values keeps working. A
`NetworkError` about a layer always names it by index and kind (`layer 2 (Linear 300->50)`),
since a network is a plain list and an index is how a reader finds the culprit.
"""


class NetworkError(ValueError):
    """A network, its input or its target does not fit, or training diverged.

    Raised for layer sizes that do not chain, a training batch of one row at a batchnorm
    layer, NaN or infinity in the inputs or in a layer's output, a target of the wrong shape
    or that the loss cannot learn from, labels out of range, a hyper-parameter out of its
    range, and gradients that do not belong to the network they update.
    """

    __module__ = "nn"  # tracebacks and doctests show the public name, nn.NetworkError


class CheckpointError(ValueError):
    """A checkpoint file is missing, truncated, corrupt, of another format version, or does
    not describe a valid network; or a checkpoint could not be written."""

    __module__ = "nn"
