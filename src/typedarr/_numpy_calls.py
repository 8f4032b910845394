"""What happens when numpy's own functions meet a typed array: the pointer to typedarr's.

`np.exp(m)` would otherwise fail with numpy's bare "does not support ufuncs", and `np.sum(m)`
would quietly compute a numpy value with none of typedarr's types, checks or fusion. Here,
every numpy ufunc and the numpy functions typedarr has an operation for raise a TypeError
naming it (`np.exp(m)`: use `ta.exp(m)`); a ufunc that is an operator (`ndarray + m`,
`np.float64(2) * m`) is that operator, so a numpy array is refused as `m + ndarray` is and a
numpy scalar is a number like any other. Note: numpy hands a scalar on the left of a
comparison (`np.float32(0) < m`) to the ufunc as a 0-d array, which is refused as every
numpy array is: write `m > 0.0`. Other numpy functions (`np.allclose`,
`np.array_equal`, `np.linalg.norm`) read the values as `np.asarray(x)` gives them.
"""

from __future__ import annotations

import numbers
import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from ._errors import ShapeError

# numpy's ufuncs by name, and how typedarr writes them.
UFUNCS: dict[str, str] = {
    "exp": "ta.exp(x)", "log": "ta.log(x)", "sqrt": "ta.sqrt(x)", "tanh": "ta.tanh(x)",
    "expit": "ta.sigmoid(x)", "maximum": "ta.maximum(a, b)", "minimum": "ta.minimum(a, b)",
    "fmax": "ta.maximum(a, b)", "fmin": "ta.minimum(a, b)", "absolute": "abs(x)",
    "negative": "-x", "square": "x * x", "power": "x ** p", "reciprocal": "1.0 / x",
    "add": "a + b", "subtract": "a - b", "multiply": "a * b", "divide": "a / b",
    "matmul": "a @ b", "less": "a < b", "less_equal": "a <= b", "greater": "a > b",
    "greater_equal": "a >= b", "equal": "a == b", "not_equal": "a != b",
}

# ufunc.reduce spelled as typedarr's reductions.
REDUCTIONS: dict[str, str] = {
    "add": "ta.sum_rows(m) (each column), ta.sum_cols(m) (each row) or ta.sum_all(x)",
    "maximum": "ta.max_rows(m) (each column) or ta.max_cols(m) (each row)",
    "minimum": "ta.min_rows(m) (each column) or ta.min_cols(m) (each row)",
}

# numpy functions (by name) typedarr has an operation for.
FUNCTIONS: dict[str, str] = {
    "sum": REDUCTIONS["add"],
    "mean": "ta.mean(m) (each column; of a Vector, a float) or ta.mean_all(x) (every element)",
    "var": "ta.var(m) (each column; of a Vector, a float)",
    "std": "ta.sqrt(ta.var(m)) (each column) or math.sqrt(ta.var(v))",
    "max": REDUCTIONS["maximum"], "amax": REDUCTIONS["maximum"],
    "min": REDUCTIONS["minimum"], "amin": REDUCTIONS["minimum"],
    "argmax": "ta.argmax_rows(m) (each column) or ta.argmax_cols(m) (each row)",
    "argmin": "ta.argmin_rows(m) (each column) or ta.argmin_cols(m) (each row)",
    "concatenate": "ta.concat_rows([a, b]) (axis 0) or ta.concat_cols([a, b]) (axis 1)",
    "vstack": "ta.concat_rows([a, b])", "hstack": "ta.concat_cols([a, b])",
    "stack": "ta.concat_rows([a, b]) or ta.concat_cols([a, b])",
    "where": "ta.where(cond, a, b)", "clip": "ta.clip(x, low, high)",
    "dot": "a @ b", "inner": "a @ b", "transpose": "m.T",
    "reshape": "ta.reshape(x, n) (a Vector) or ta.reshape(x, rows, cols) (a Matrix)",
    "ravel": "ta.reshape(m, m.rows * m.cols)",
    "square": UFUNCS["square"], "exp": UFUNCS["exp"], "log": UFUNCS["log"],
}

# The ufuncs that are Python operators, with the verb typedarr's errors use for each.
OPERATORS: dict[str, tuple[Callable[[Any, Any], Any], str]] = {
    "add": (operator.add, "add"), "subtract": (operator.sub, "subtract"),
    "multiply": (operator.mul, "multiply"), "divide": (operator.truediv, "divide"),
    "power": (operator.pow, "raise"), "matmul": (operator.matmul, "multiply"),
    "less": (operator.lt, "compare (<)"), "less_equal": (operator.le, "compare (<=)"),
    "greater": (operator.gt, "compare (>)"), "greater_equal": (operator.ge, "compare (>=)"),
    "equal": (operator.eq, "compare (==)"), "not_equal": (operator.ne, "compare (!=)"),
}

# What `a < x` is from x's side (`x > a`), for the verb of a refusal.
MIRRORED = {"less": "greater", "greater": "less", "less_equal": "greater_equal",
            "greater_equal": "less_equal"}


def ufunc_call(x: Any, ufunc: np.ufunc, method: str, inputs: tuple[Any, ...],
               kwargs: dict[str, Any]) -> Any:
    """What numpy's `ufunc` (called as `method`) gives for the typed array `x` among `inputs`:
    an operator's result, or TypeError (ShapeError for a numpy array operand)."""
    name = ufunc.__name__
    found = OPERATORS.get(name)
    if found is not None and method == "__call__" and len(inputs) == 2 and not kwargs:
        op, verb = found
        if inputs[1] is x:  # Python would have called x's reflected operator: its verb
            verb = OPERATORS[MIRRORED.get(name, name)][1]
        a, b = (i if i is x else _operand(x, verb, i) for i in inputs)
        return op(a, b)
    if method == "reduce" and name in REDUCTIONS:
        raise TypeError(f"np.{name}.reduce does not take a typedarr {x._KIND}: use "
                        f"{REDUCTIONS[name]}")
    spelled = f"np.{name}" + ("" if method == "__call__" else f".{method}")
    if name in UFUNCS and method == "__call__":
        raise TypeError(f"{spelled} does not take a typedarr {x._KIND}: use {UFUNCS[name]}")
    raise TypeError(f"{spelled} does not take a typedarr {x._KIND} (typedarr has no such "
                    f"operation): to compute it in numpy, convert explicitly, "
                    f"{spelled}(np.asarray(x)), and back with {x._KIND}.from_numpy")


def function_call(x: Any, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """numpy's function `func` on arguments holding the typed array `x`: TypeError naming
    typedarr's operation where it has one, else `func` on the values."""
    name = getattr(func, "__name__", "")
    if name in FUNCTIONS and getattr(func, "__module__", "") == "numpy":
        raise TypeError(f"np.{name} does not take a typedarr {x._KIND}: use {FUNCTIONS[name]}")
    return func._implementation(*args, **kwargs)


def _operand(x: Any, verb: str, value: Any) -> Any:
    """An operand of an operator ufunc: a numpy scalar as a Python number, a numpy array
    (0-d too) refused as the operators refuse it, anything else as it is."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        raise ShapeError(f"cannot {verb} {x._describe()} and numpy array (): convert it "
                         f"explicitly with {x._KIND}.from_numpy(a), or write the number, "
                         f"float(a) (numpy hands a scalar on the left of a comparison, "
                         f"np.float32(0) < m, to typedarr as such an array: m > 0.0 is "
                         f"the same test)")
    if isinstance(value, np.ndarray):
        x._refuse_ndarray(verb, value)
    if isinstance(value, np.generic):  # `np.float64(2) * m` is `2.0 * m`
        number: object = value.item()  # (a bool stays a bool, which the operators refuse)
        if isinstance(number, numbers.Real):
            return number
    return value
