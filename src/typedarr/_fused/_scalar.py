"""How one element of each operation is spelled in a generated kernel's Python source.

Every spelling reproduces `_reference.py` for a single element of one dtype: arithmetic
stays in the node's dtype (the kernel's typed constants `one_f` and `zero_f` are
float32 and `one_d`, `zero_d` float64, since a bare `1.0` would promote float32 to float64),
comparisons give 1 or 0, `maximum`/`minimum` propagate NaN and return their second operand
on ties exactly as numpy does (so `relu(-0.0)` is `+0.0`), and nothing raises: the kernels
are compiled with numba's `error_model="numpy"`, so `1/0` is `inf` and `log(-1)` is `nan`.
"""

from __future__ import annotations

from typing import assert_never

from .._ir import BinaryOp, Float, UnaryOp

_INFIX = {
    BinaryOp.ADD: "+", BinaryOp.SUB: "-", BinaryOp.MUL: "*", BinaryOp.DIV: "/",
    BinaryOp.POW: "**",
}
_COMPARE = {
    BinaryOp.LT: "<", BinaryOp.LE: "<=", BinaryOp.GT: ">", BinaryOp.GE: ">=",
    BinaryOp.EQ: "==", BinaryOp.NE: "!=",
}
_MATH = {
    UnaryOp.EXP: "math.exp", UnaryOp.LOG: "math.log", UnaryOp.SQRT: "math.sqrt",
    UnaryOp.TANH: "math.tanh", UnaryOp.ABS: "abs",
}


def typed(name: str, dt: Float) -> str:
    """The kernel's variable holding the constant `name` ("one" or "zero") in `dt`."""
    return f"{name}_{dt.suffix}"


def unary(op: UnaryOp, x: str, dt: Float) -> str:
    """`op` applied to the element `x`; the result has dtype `dt` (for CAST, the target)."""
    match op:
        case UnaryOp.EXP | UnaryOp.LOG | UnaryOp.SQRT | UnaryOp.TANH | UnaryOp.ABS:
            return f"{_MATH[op]}({x})"
        case UnaryOp.NEG:
            return f"-{x}"
        case UnaryOp.SIGMOID:  # (1 or e) / (1 + e) with e = exp(-|x|), as the reference does
            one, zero = typed("one", dt), typed("zero", dt)
            e = f"math.exp(-abs({x}))"
            return f"(({one} if {x} >= {zero} else {e}) / ({one} + {e}))"
        case UnaryOp.RELU:
            return maximum(x, typed("zero", dt))
        case UnaryOp.CAST:
            return f"{dt.scalar}({x})"
        case _:
            assert_never(op)


def binary(op: BinaryOp, a: str, b: str, dt: Float) -> str:
    """`op` zipped over the elements `a` and `b`, in dtype `dt`."""
    match op:
        case BinaryOp.ADD | BinaryOp.SUB | BinaryOp.MUL | BinaryOp.DIV | BinaryOp.POW:
            return f"{a} {_INFIX[op]} {b}"
        case (BinaryOp.LT | BinaryOp.LE | BinaryOp.GT | BinaryOp.GE | BinaryOp.EQ
              | BinaryOp.NE):
            return f"{typed('one', dt)} if {a} {_COMPARE[op]} {b} else {typed('zero', dt)}"
        case BinaryOp.MAX:
            return maximum(a, b)
        case BinaryOp.MIN:
            return f"{a} if ({a} < {b} or {a} != {a}) else {b}"
        case _:
            assert_never(op)


def maximum(a: str, b: str) -> str:
    """numpy's `maximum`: `a` if it is larger or NaN, else `b` (ties give `b`)."""
    return f"{a} if ({a} > {b} or {a} != {a}) else {b}"


def where(cond: str, a: str, b: str, dt: Float) -> str:
    """`a` where `cond` is non-zero (NaN counts as non-zero, as in numpy), else `b`."""
    return f"{a} if {cond} != {typed('zero', dt)} else {b}"


def power(x: str, n: float, dt: Float) -> str:
    """`x ** n` for an exponent in `_plan.SPECIAL_EXPONENTS`, without `pow`.

    Exponents -1, 0, 0.5, 1 and 2 are what numpy's `power` does for them (a reciprocal, ones,
    a square root, a copy, a square); 3 and 4 are products, within an ulp or two of `pow`.
    """
    match n:
        case 0.0:  # pow(x, 0) is 1 even for NaN
            return typed("one", dt)
        case 0.5:
            return f"math.sqrt({x})"
        case 1.0:
            return x
        case -1.0:
            return f"{typed('one', dt)} / {x}"
        case 4.0:
            return f"({x} * {x}) * ({x} * {x})"
    return " * ".join([x] * int(n))
