"""The errors and warnings typedarr raises: arrays that do not fit together, code that cannot
be traced, and the engines' warnings (the bottom of the house: it imports nothing)."""


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


class FusionUnavailableWarning(RuntimeWarning):
    """numba could not be imported: delayed arrays are computed by the plain-numpy reference
    evaluator, which is correct but allocates a temporary per operation."""


class KernelCacheWarning(RuntimeWarning):
    """The fused engine's disk cache of compiled kernels was refused or found damaged: the
    kernels are compiled again (and the damaged entry replaced), so results are unaffected,
    only the time a compile takes is spent again."""
