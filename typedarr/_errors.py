"""The errors typedarr raises: arrays that do not fit together, and code that cannot be traced."""


class ShapeError(ValueError):
    """Raised when array shapes or kinds do not fit an operation.

    typedarr never broadcasts implicitly: the message names the operation, both shapes and
    the explicit helper (`rows_like`, `cols_like`, `br`, `.T`) that says what was meant.
    """


class DTypeError(TypeError):
    """Raised for a dtype typedarr does not hold, or when float32 and float64 would mix.

    Mixing precisions is an explicit conversion (`x.astype(np.float64)`), never a silent
    promotion.
    """


class TraceError(TypeError):
    """Raised inside a function being traced by `typedarr.jit` for what a compiled program
    cannot do: turn a traced array into values (numpy, a float, a truth value), or draw from a
    source the trace cannot replay. The message says what to do instead.
    """
