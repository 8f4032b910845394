"""Where delayed arrays turn into memory: the one entry point every engine sits behind.

The fused engine (`_fused`, numba) computes a whole expression in one compiled kernel; the
reference evaluator (`_reference`, plain numpy) defines what every node means and is used
when numba cannot be imported, with one `FusionUnavailableWarning`. Set
`TYPEDARR_ENGINE=reference` (or `fused`, the default) before the first compute to choose.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Callable
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
        from ._fused import evaluate as fused
    except ImportError as err:
        warnings.warn(FusionUnavailableWarning(
            f"typedarr's fused engine needs numba, which failed to import ({err}); delayed "
            f"arrays are computed by the plain-numpy reference evaluator instead (correct, "
            f"but one temporary array per operation): pip install 'typedarr[fusion]'"),
            stacklevel=4)
        return None
    return fused
