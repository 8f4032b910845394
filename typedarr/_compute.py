"""Where delayed arrays turn into memory: the one entry point every engine sits behind.

The fused engine (`_fused`, numba) computes a whole expression in one compiled kernel; the
reference evaluator (`_reference`, plain numpy) defines what every node means and is used
when numba cannot be imported, with one `FusionUnavailableWarning`. `KernelCacheWarning` is
the fused engine's one warning about its disk cache (refused or damaged, see `_fused._cache`). Set
`TYPEDARR_ENGINE=reference` (or `fused`, the default) before the first compute to choose.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from . import _reference
from ._expr import Leaf, Node
from ._strategy import Strategy

Array = np.ndarray[Any, np.dtype[Any]]
Engine = Callable[[Node, Strategy], Array]


class FusionUnavailableWarning(RuntimeWarning):
    """numba could not be imported: delayed arrays are computed by the plain-numpy reference
    evaluator, which is correct but allocates a temporary per operation."""


class KernelCacheWarning(RuntimeWarning):
    """The fused engine's disk cache of compiled kernels was refused or found damaged: the
    kernels are compiled again (and the damaged entry replaced), so results are unaffected,
    only the time a compile takes is spent again."""


# The engine, chosen on the first compute (numba's import costs ~0.15 s, paid only then):
# empty until chosen, then [fused evaluate] or [None] for the reference evaluator.
_engine: list[Engine | None] = []
_choosing = threading.Lock()


def evaluate(node: Node, strategy: Strategy) -> Array:
    """The values of `node`, freshly allocated, C-contiguous and read-only.

    `strategy` says whether the engine may use every core.
    """
    if isinstance(node, Leaf):
        return node.data
    engine = _engine[0] if _engine else _choose()
    if engine is not None:
        return engine(node, strategy)
    out = _reference.evaluate(node)
    out.flags.writeable = False
    return out


def _choose() -> Engine | None:
    with _choosing:
        if not _engine:
            _engine.append(_load_engine(os.environ.get("TYPEDARR_ENGINE", "fused")))
        return _engine[0]


def _load_engine(name: str) -> Engine | None:
    if name == "reference":
        return None
    if name != "fused":
        raise ValueError(f"TYPEDARR_ENGINE must be 'fused' or 'reference', not {name!r}")
    try:
        with _interrupts_held():
            from ._fused import evaluate as fused
    except ImportError as err:
        warnings.warn(FusionUnavailableWarning(
            f"typedarr's fused engine needs numba, which failed to import ({err}); delayed "
            f"arrays are computed by the plain-numpy reference evaluator instead (correct, "
            f"but one temporary array per operation): pip install 'typedarr[fusion]'"),
            stacklevel=4)
        return None
    return fused


@contextlib.contextmanager
def _interrupts_held() -> Iterator[None]:
    """Hold a Ctrl-C that arrives during the block and raise it when the block ends.

    An import that Ctrl-C stops halfway leaves numba's submodules registered but unattached,
    and every later import fails; numba's import takes well under a second, so holding the
    interrupt that long is the lesser harm. Only Python's own handler, in the main thread, is
    replaced: a handler the program installed is left alone.
    """
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield
        return
    held: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, frame: held.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if held:
        raise KeyboardInterrupt
