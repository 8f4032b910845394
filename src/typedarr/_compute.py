"""The dispatcher: where delayed arrays turn into memory, the one door every engine sits behind.

Choosing an engine is a look-up in one registry (`_REGISTRY`): the Dask engine, which covers
a graph that reads a chunked array (`Matrix.from_dask`), then the in-memory engine named by
`TYPEDARR_ENGINE` (`fused`, the default, or `reference`), read before the first compute. The
first that covers the graph takes it, and one fallback rule holds for every engine: a graph
it raises `Uncovered` for is computed by the reference engine (the definition of every
node). The fused engine needs numba; when numba cannot be imported the reference engine
takes its place, with one `FusionUnavailableWarning`. The Dask engine is given the
in-memory engine, behind the same rule, to run on each block. This module is also the one place that
knows whether a trace is active (`run`).
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

from . import _trace
from ._engine import Compiled, Engine, Uncovered
from ._errors import FusionUnavailableWarning
from ._ir import Node, frozen, holds_chunked, is_leaf, leaf
from ._reference import ReferenceEngine
from ._strategy import Strategy

Array = np.ndarray[Any, np.dtype[Any]]
Program = Compiled

REFERENCE = ReferenceEngine()


@dataclass(frozen=True, slots=True)
class InMemory:
    """The in-memory door: `engine`, with the one fallback rule (what it raises `Uncovered`
    for goes to the reference engine). Plain data: a Dask task carries it to a worker."""

    engine: Engine

    def covers(self, roots: tuple[Node, ...]) -> bool:
        return self.engine.covers(roots)

    def evaluate_many(self, roots: tuple[Node, ...], strategy: Strategy
                      ) -> tuple[Array, ...]:
        try:
            return self.engine.evaluate_many(roots, strategy)
        except Uncovered:
            return REFERENCE.evaluate_many(roots, strategy)

    def compile_program(self, roots: tuple[Node, ...], inputs: tuple[Node, ...],
                        strategy: Strategy) -> Compiled:
        try:
            return self.engine.compile_program(roots, inputs, strategy)
        except Uncovered:
            return REFERENCE.compile_program(roots, inputs, strategy)


class _Deferred:
    """An engine imported on the first graph it covers: `covers` answers without the
    import (dask is an optional extra, numba's import takes a while)."""

    def __init__(self, covers: Callable[[tuple[Node, ...]], bool],
                 load: Callable[[], Engine]) -> None:
        self._covers, self._load = covers, load
        self._lock = threading.Lock()
        self._engine: Engine | None = None

    def covers(self, roots: tuple[Node, ...]) -> bool:
        return self._covers(roots)

    def evaluate_many(self, roots: tuple[Node, ...], strategy: Strategy
                      ) -> tuple[Array, ...]:
        return (self._engine or self.loaded()).evaluate_many(roots, strategy)

    def compile_program(self, roots: tuple[Node, ...], inputs: tuple[Node, ...],
                        strategy: Strategy) -> Compiled:
        return self.loaded().compile_program(roots, inputs, strategy)

    def loaded(self) -> Engine:
        found = self._engine
        if found is None:
            with self._lock:
                if self._engine is None:
                    self._engine = self._load()
                found = self._engine
        return found


def _dask_engine() -> Engine:
    from ._dask import DaskEngine

    return InMemory(DaskEngine(_MEMORY.loaded()))


def _memory_engine() -> Engine:
    return InMemory(load_engine(os.environ.get("TYPEDARR_ENGINE", "fused")))


# The in-memory engine `TYPEDARR_ENGINE` names, and the registry: the engines in the order
# they are asked; the first that covers a graph computes it.
_MEMORY = _Deferred(lambda roots: True, _memory_engine)
_DASK = _Deferred(holds_chunked, _dask_engine)
_REGISTRY: tuple[Engine, ...] = (_DASK, _MEMORY)


def _choose(nodes: tuple[Node, ...]) -> Engine:
    for engine in _REGISTRY:
        if engine.covers(nodes):
            return engine
    raise AssertionError("the last engine of the registry covers every graph")


def evaluate(node: Node, strategy: Strategy) -> Array:
    """The values of `node`, C-contiguous and read-only (a manifest array's own data).

    `strategy` says whether the engine may use every core.
    """
    if is_leaf(node):
        return node.data
    _trace.refuse_values((node,))
    return _computed(node, strategy)


def _computed(node: Node, strategy: Strategy) -> Array:
    (out,) = _choose((node,)).evaluate_many((node,), strategy)
    return frozen(out)  # what np.asarray hands out: its write flag stays off


def evaluate_many(nodes: tuple[Node, ...], strategy: Strategy) -> tuple[Array, ...]:
    """The values of several nodes, from one pass over their shared graph where the engine
    can (a manifest array's data is returned as it is)."""
    _trace.refuse_values(nodes)
    todo = tuple(dict.fromkeys(n for n in nodes if not is_leaf(n)))  # distinct, in order
    done = (dict(zip(map(id, todo), map(frozen, _choose(todo).evaluate_many(todo, strategy)),
                     strict=True)) if todo else {})
    return tuple(n.data if is_leaf(n) else done[id(n)] for n in nodes)


def run(node: Node, strategy: Strategy) -> Node:
    """What an operation that the front-end does not delay (a product, a convolution, a
    reshape) gives: inside a trace the node itself (the compiled program computes it), else
    a LEAF of its values."""
    if is_leaf(node) or _trace.active() is not None:
        return node
    return leaf(_computed(node, strategy))


def value(node: Node, strategy: Strategy, what: str) -> Array:
    """The values of `node` now, refused inside a trace when they depend on its inputs
    (`what` says what the front-end was doing: "multiplied into a float (v @ w)")."""
    _trace.refuse_values((node,), what)
    return node.data if is_leaf(node) else _computed(node, strategy)


def draws_afresh(seed: object) -> _trace.Trace | None:
    """The trace that draws from the generator `seed` afresh at every call of its compiled
    function, if one is active (None: draw the values now)."""
    trace = _trace.active()
    return trace if trace is not None and isinstance(seed, np.random.Generator) else None


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
    return _choose(roots).compile_program(roots, inputs, strategy)


def current_engine() -> Engine:
    """The in-memory engine computes go to (chosen now if none is yet)."""
    door = _MEMORY.loaded()
    assert isinstance(door, InMemory)
    return door.engine


def _fused_engine() -> Engine:
    try:
        with _interrupts_held():
            from ._fused import FusedEngine
    except ImportError as err:
        warnings.warn(FusionUnavailableWarning(
            f"typedarr's fused engine needs numba, which failed to import ({err}); delayed "
            f"arrays are computed by the plain-numpy reference evaluator instead (correct, "
            f"but one temporary array per operation): pip install 'typedarr[fusion]'"),
            stacklevel=7)
        return REFERENCE
    return FusedEngine()


# The in-memory engines by their `TYPEDARR_ENGINE` name (a GPU engine is one more entry).
ENGINES: dict[str, Callable[[], Engine]] = {
    "reference": lambda: REFERENCE,
    "fused": _fused_engine,
}


def load_engine(name: str) -> Engine:
    """The in-memory engine called `name`."""
    load = ENGINES.get(name)
    if load is None:
        raise ValueError(f"TYPEDARR_ENGINE must be one of {sorted(ENGINES)}, not {name!r}")
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
