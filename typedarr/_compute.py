"""Where delayed arrays turn into memory: the one entry point every engine sits behind.

The fused engine (`_fused`, numba) computes a whole expression in one compiled kernel; the
reference evaluator (`_reference`, plain numpy) defines what every node means and is used
when numba cannot be imported, with one `FusionUnavailableWarning`. `KernelCacheWarning` is
the fused engine's one warning about its disk cache (refused or damaged, see
`_fused._cache`). Set `TYPEDARR_ENGINE=reference` (or `fused`, the default) before the first
compute to choose.
A graph that reads a chunked array (`Matrix.from_dask`) goes to the Dask engine (`_dask`)
instead, whatever the setting: the graph's content, not a fallback, decides; that engine
hands each block back to the engine chosen here.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _reference, _trace
from ._errors import FusionUnavailableWarning
from ._ir import Node, holds_chunked, is_leaf, leaf
from ._strategy import Strategy

Array = np.ndarray[Any, np.dtype[Any]]
Program = Callable[[list[Array]], list[Array]]


@dataclass(frozen=True, slots=True)
class Engine:
    """What an engine does: compute several roots of one graph at once (fresh, C-contiguous,
    read-only results), and compile roots over a traced function's inputs into a function
    of their arrays."""

    evaluate_many: Callable[[tuple[Node, ...], Strategy], tuple[Array, ...]]
    compile_program: Callable[[tuple[Node, ...], tuple[Node, ...], Strategy], Program]


# The engine, chosen on the first compute (numba's import is paid only then): empty until
# chosen, then the one engine every compute goes to.
_engine: list[Engine] = []
_choosing = threading.Lock()


def evaluate(node: Node, strategy: Strategy) -> Array:
    """The values of `node`, C-contiguous and read-only (a manifest array's own data).

    `strategy` says whether the engine may use every core.
    """
    if is_leaf(node):
        return node.data
    _trace.refuse_values((node,))
    (out,) = _engine_for((node,)).evaluate_many((node,), strategy)
    return out


def evaluate_many(nodes: tuple[Node, ...], strategy: Strategy) -> tuple[Array, ...]:
    """The values of several nodes, from one pass over their shared graph where the engine
    can (a manifest array's data is returned as it is)."""
    _trace.refuse_values(nodes)
    todo = tuple(dict.fromkeys(n for n in nodes if not is_leaf(n)))  # distinct, in order
    engine = _engine_for(todo)
    done = (dict(zip(map(id, todo), engine.evaluate_many(todo, strategy), strict=True))
            if todo else {})
    return tuple(n.data if is_leaf(n) else done[id(n)] for n in nodes)


def materialise(nodes: tuple[Node, ...], strategy: Strategy) -> tuple[Node, ...]:
    """What `compute` turns `nodes` into: LEAF nodes holding their values, or, inside a
    trace, the nodes themselves (the compiled program decides what it stores)."""
    if _trace.active() is not None:
        return nodes
    return tuple(n if is_leaf(n) else leaf(v)
                 for n, v in zip(nodes, evaluate_many(nodes, strategy), strict=True))


def compile_program(roots: tuple[Node, ...], inputs: tuple[Node, ...], strategy: Strategy
                    ) -> Program:
    """`roots` compiled as a function of the arrays of `inputs` (see `typedarr.jit`)."""
    return _engine_for(roots).compile_program(roots, inputs, strategy)


def _engine_for(nodes: tuple[Node, ...]) -> Engine:
    """The engine for the graph of `nodes`: Dask's if it reads a chunked array."""
    if holds_chunked(nodes):
        return _dask_engine[0] if _dask_engine else _load_dask()
    return _engine[0] if _engine else _choose()


def _reference_many(nodes: tuple[Node, ...], strategy: Strategy) -> tuple[Array, ...]:
    outs = _reference.evaluate_many(nodes)
    for out in outs:
        out.flags.writeable = False
    return outs


_reference_engine = Engine(_reference_many, lambda roots, inputs, _: _reference.program(
    roots, inputs))


# The Dask engine, imported on the first graph that needs it (dask is an optional extra).
_dask_engine: list[Engine] = []


def _load_dask() -> Engine:
    from ._dask import _engine as dask

    with _choosing:
        if not _dask_engine:
            _dask_engine.append(Engine(dask.evaluate_many, dask.compile_program))
        return _dask_engine[0]


def _choose() -> Engine:
    with _choosing:
        if not _engine:
            _engine.append(_load_engine(os.environ.get("TYPEDARR_ENGINE", "fused")))
        return _engine[0]


def _fused_engine() -> Engine:
    try:
        with _interrupts_held():
            from ._fused import compile_program, evaluate_many
    except ImportError as err:
        warnings.warn(FusionUnavailableWarning(
            f"typedarr's fused engine needs numba, which failed to import ({err}); delayed "
            f"arrays are computed by the plain-numpy reference evaluator instead (correct, "
            f"but one temporary array per operation): pip install 'typedarr[fusion]'"),
            stacklevel=6)
        return _reference_engine
    return Engine(evaluate_many, compile_program)


_ENGINES: dict[str, Callable[[], Engine]] = {
    "reference": lambda: _reference_engine,
    "fused": _fused_engine,
}


def _load_engine(name: str) -> Engine:
    load = _ENGINES.get(name)
    if load is None:
        raise ValueError(f"TYPEDARR_ENGINE must be one of {sorted(_ENGINES)}, not {name!r}")
    return load()


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
