"""Tests that kill mutants of `typedarr/_reference.py` which the rest of the suite let live
(scripts/mutation.sh): the reference evaluator computes every node in that node's dtype,
bit for bit as numpy does in it. (Elsewhere the reference is only compared with the fused
engine within a few ulps, which an evaluator computing float32 nodes in float64 and
rounding at the end would pass.)"""

from __future__ import annotations

import numpy as np

from typedarr import _reference
from typedarr._ir import BinaryOp, Node, UnaryOp, binary, const, leaf, unary

F32 = np.dtype(np.float32)


def _leaf(a: np.ndarray) -> Node:
    a = a.copy()
    a.flags.writeable = False
    return leaf(a)


def test_a_float32_constant_stays_float32() -> None:
    a = np.random.default_rng(0).normal(size=1000).astype(np.float32)
    got = _reference.evaluate(binary(BinaryOp.MUL, _leaf(a), const(0.1, F32)))
    np.testing.assert_array_equal(got, a * np.float32(0.1), strict=True)


def test_a_cast_rounds_where_it_stands() -> None:
    a = np.random.default_rng(1).normal(size=1000)  # float64
    node = binary(BinaryOp.MUL, unary(UnaryOp.CAST, _leaf(a), F32), const(3.0, F32))
    got = _reference.evaluate(node)
    np.testing.assert_array_equal(got, a.astype(np.float32) * np.float32(3.0), strict=True)
