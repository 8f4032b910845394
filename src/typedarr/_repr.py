"""massiv-style `repr`: kind, representation, strategy and size, then the values.

    Matrix U Par (Sz (3 :. 4)) float32
    [ [ 1.0, 2.0, 3.0, 4.0 ]
    , ...

A delayed array (representation `D`) shows its expression instead of values: printing must
never compute it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._ir import Node, is_leaf, render
from ._strategy import Strategy

EDGE = 3  # values shown at each end of a long axis
LONG = 8  # axes longer than this are summarised


def format_array(kind: str, manifest: bool, strategy: Strategy, node: Node) -> str:
    """The text of `repr` for an array of `kind` holding `node`."""
    rep = "U" if manifest else "D"
    header = f"{kind} {rep} {strategy.value} ({_size(node.shape)}) {node.dtype}"
    if is_leaf(node):
        return header + "\n" + _values(node.data)
    return header + "\n  = " + render(node)


def _size(shape: tuple[int, ...]) -> str:
    if len(shape) == 1:
        return f"Sz1 {shape[0]}"
    # massiv: `:.` joins the last two sizes, `:>` every size before them
    outer = "".join(f"{n} :> " for n in shape[:-2])
    return f"Sz ({outer}{shape[-2]} :. {shape[-1]})"


def _number(v: Any) -> str:
    x = float(v)
    if x != 0.0 and np.isfinite(x) and not 1e-4 <= abs(x) < 1e7:
        return np.format_float_scientific(v, trim="0")
    if not np.isfinite(x):
        return str(x)
    return np.format_float_positional(v, trim="0")


def _line(values: np.ndarray[Any, Any]) -> str:
    n = values.shape[0]
    if n == 0:
        return "[ ]"
    items = ([_number(v) for v in values[:EDGE]] + ["..."] + [_number(v) for v in values[-EDGE:]]
             if n > LONG else [_number(v) for v in values])
    return "[ " + ", ".join(items) + " ]"


def _values(data: np.ndarray[Any, Any]) -> str:
    if data.ndim == 1:
        return _line(data)
    if data.ndim != 2:
        return np.array2string(data, threshold=LONG * LONG, edgeitems=EDGE)
    rows = [_line(r) for r in data] if data.shape[0] <= LONG else (
        [_line(r) for r in data[:EDGE]] + ["..."] + [_line(r) for r in data[-EDGE:]])
    if not rows:
        return "[ ]"
    return "[ " + "\n, ".join(rows) + "\n]"


def format_positions(strategy: Strategy, node: Node) -> str:
    """The text of `repr` for an `Indices`: its positions as ints, no dtype (its floats are
    how it is stored, not what it holds)."""
    header = f"Indices U {strategy.value} ({_size(node.shape)})"
    if not is_leaf(node):
        return header + "\n  = " + render(node)
    values = [str(int(v)) for v in node.data]
    if len(values) > LONG:
        values = [*values[:EDGE], "...", *values[-EDGE:]]
    return header + "\n" + ("[ " + ", ".join(values) + " ]" if values else "[ ]")
