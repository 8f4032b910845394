"""Every forbidden combination raises, one test per combination (array-api-strict style).

typedarr never broadcasts: an elementwise operation between two arrays needs the same kind
(Matrix with Matrix, Vector with Vector) and exactly the same shape, size-1 axes included,
and numpy arrays are refused on either side. Each operator x each mismatched pair of
Matrix / DMatrix / Vector / DVector / ndarray is its own test id, and each must raise
`ShapeError` naming the operation and both shapes.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import typedarr as ta
from typedarr import DMatrix, DTypeError, DVector, Matrix, ShapeError, Vector


@dataclass(frozen=True)
class Operand:
    """A way to build one operand, with the kind and shape an error message must name."""

    name: str
    family: str  # "Matrix", "Vector" or "ndarray": Matrix and DMatrix combine, as do Vectors
    shape: tuple[int, ...]
    make: Callable[[], Any]

    @property
    def typed(self) -> bool:
        return self.family != "ndarray"


def _matrix(r: int, c: int) -> Operand:
    return Operand(f"Matrix{r}x{c}", "Matrix", (r, c), lambda: Matrix.zeros(r, c))


def _dmatrix(r: int, c: int) -> Operand:
    return Operand(f"DMatrix{r}x{c}", "Matrix", (r, c), lambda: Matrix.ones(r, c) * 2.0)


def _vector(n: int) -> Operand:
    return Operand(f"Vector{n}", "Vector", (n,), lambda: Vector.zeros(n))


def _dvector(n: int) -> Operand:
    return Operand(f"DVector{n}", "Vector", (n,), lambda: Vector.ones(n) * 2.0)


def _ndarray(*shape: int) -> Operand:
    name = "ndarray" + ("x".join(map(str, shape)) if shape else "0d")
    return Operand(name, "ndarray", shape, lambda: np.zeros(shape, np.float32))


TYPED = [
    _matrix(3, 4), _dmatrix(3, 4), _matrix(4, 3), _dmatrix(4, 3), _matrix(3, 1), _matrix(1, 4),
    _matrix(1, 1), _matrix(3, 5), _vector(4), _dvector(4), _vector(3), _vector(1),
]
NDARRAYS = [_ndarray(3, 4), _ndarray(4), _ndarray(1), _ndarray()]


def _fits(a: Operand, b: Operand) -> bool:
    return a.typed and b.typed and a.family == b.family and a.shape == b.shape


MISMATCHED = [
    (a, b) for a in TYPED + NDARRAYS for b in TYPED + NDARRAYS
    if (a.typed or b.typed) and not _fits(a, b)
]

# The operators on two arrays, and the verb each message must use. A comparison with an
# ndarray on the left is handed by Python to our mirrored comparison, hence `MIRROR`.
OPERATORS: dict[str, tuple[Callable[[Any, Any], Any], str]] = {
    "add": (operator.add, "add"),
    "sub": (operator.sub, "subtract"),
    "mul": (operator.mul, "multiply"),
    "truediv": (operator.truediv, "divide"),
    "lt": (operator.lt, "compare (<)"),
    "le": (operator.le, "compare (<=)"),
    "gt": (operator.gt, "compare (>)"),
    "ge": (operator.ge, "compare (>=)"),
    "eq": (operator.eq, "compare (==)"),
    "ne": (operator.ne, "compare (!=)"),
}
MIRROR = {"lt": "gt", "le": "ge", "gt": "lt", "ge": "le", "eq": "eq", "ne": "ne"}

# Functions of two or three arrays: their first argument must be a typed array.
FUNCTIONS: dict[str, tuple[Callable[[Any, Any], Any], str]] = {
    "maximum": (ta.maximum, "take the maximum of"),
    "minimum": (ta.minimum, "take the minimum of"),
    "where_a": (lambda c, a: ta.where(c, a, 0.0), "select (where) from"),
    "where_b": (lambda c, b: ta.where(c, 1.0, b), "select (where) from"),
}


def _assert_names_both(err: pytest.ExceptionInfo[ShapeError], a: Operand, b: Operand) -> str:
    msg = str(err.value)
    sa, sb = str(a.shape), str(b.shape)
    if sa == sb:
        assert msg.count(sa) >= 2, msg
    else:
        assert sa in msg and sb in msg, msg
    for side in (a, b):
        if not side.typed:
            assert "numpy array" in msg and "from_numpy" in msg, msg
    return msg


@pytest.mark.parametrize("op_name", OPERATORS)
@pytest.mark.parametrize(("a", "b"), MISMATCHED, ids=[f"{a.name}-{b.name}" for a, b in MISMATCHED])
def test_operator_refuses_mismatch(op_name: str, a: Operand, b: Operand) -> None:
    op, verb = OPERATORS[op_name]
    with pytest.raises(ShapeError) as err:
        op(a.make(), b.make())
    msg = _assert_names_both(err, a, b)
    if not a.typed:  # Python handed the operation to b's reflected operator
        verb = OPERATORS[MIRROR.get(op_name, op_name)][1]
    assert f"cannot {verb} " in msg, msg


FUNCTION_PAIRS = [(a, b) for a, b in MISMATCHED if a.typed]


@pytest.mark.parametrize("fn_name", FUNCTIONS)
@pytest.mark.parametrize(("a", "b"), FUNCTION_PAIRS,
                         ids=[f"{a.name}-{b.name}" for a, b in FUNCTION_PAIRS])
def test_function_refuses_mismatch(fn_name: str, a: Operand, b: Operand) -> None:
    fn, verb = FUNCTIONS[fn_name]
    with pytest.raises(ShapeError) as err:
        fn(a.make(), b.make())
    msg = _assert_names_both(err, a, b)
    assert f"cannot {verb} " in msg, msg


POW_PAIRS = [(a, b) for a, b in MISMATCHED if not (a.typed and b.typed)]


@pytest.mark.parametrize(("a", "b"), POW_PAIRS, ids=[f"{a.name}-{b.name}" for a, b in POW_PAIRS])
def test_pow_refuses_ndarray(a: Operand, b: Operand) -> None:
    with pytest.raises(ShapeError) as err:
        a.make() ** b.make()
    _assert_names_both(err, a, b)


@pytest.mark.parametrize("x", [t for t in TYPED if t.shape in ((3, 4), (4,))], ids=lambda o: o.name)
def test_pow_takes_no_array_exponent(x: Operand) -> None:
    with pytest.raises(TypeError, match=r"\*\* takes a Python number"):
        x.make() ** x.make()


# -- the cases the design names, with the explicit helper the message must suggest ---------


def test_matrix_plus_vector_suggests_rows_like() -> None:
    with pytest.raises(ShapeError) as err:
        Matrix.zeros(100, 300) + Vector.zeros(300)  # type: ignore[operator]
    msg = str(err.value)
    assert "add" in msg and "(100, 300)" in msg and "(300,)" in msg
    assert "rows_like(v, m)" in msg


def test_vector_plus_matrix_by_rows_suggests_cols_like() -> None:
    with pytest.raises(ShapeError, match=r"cols_like\(v, m\)") as err:
        Vector.zeros(100) + Matrix.zeros(100, 300)  # type: ignore[operator]
    assert "(100,)" in str(err.value) and "(100, 300)" in str(err.value)


def test_size_one_axis_does_not_broadcast() -> None:
    with pytest.raises(ShapeError) as err:
        Matrix.zeros(3, 1) + Matrix.zeros(3, 4)
    msg = str(err.value)
    assert "(3, 1)" in msg and "(3, 4)" in msg and "size-1" in msg
    assert "rows_like" in msg and "cols_like" in msg and "br" in msg


def test_one_by_one_matrix_does_not_broadcast() -> None:
    with pytest.raises(ShapeError, match="size-1"):
        Matrix.ones(1, 1) * Matrix.ones(2, 2)


def test_transposed_shapes_suggest_transpose() -> None:
    with pytest.raises(ShapeError, match=r"\.T") as err:
        Matrix.zeros(3, 4) - Matrix.zeros(4, 3)
    assert "(3, 4)" in str(err.value) and "(4, 3)" in str(err.value)


def test_square_matmul_of_wrong_orientation_suggests_transpose() -> None:
    with pytest.raises(ShapeError) as err:
        Matrix.zeros(3, 4) @ Matrix.zeros(3, 4)
    msg = str(err.value)
    assert "multiply" in msg and msg.count("(3, 4)") == 2 and "b.T" in msg


def test_ndarray_plus_matrix_raises() -> None:
    with pytest.raises(ShapeError, match="from_numpy"):
        np.zeros((3, 4), np.float32) + Matrix.zeros(3, 4)


def test_matrix_plus_ndarray_raises() -> None:
    with pytest.raises(ShapeError, match="from_numpy"):
        Matrix.zeros(3, 4) + np.zeros((3, 4), np.float32)


def test_shape_error_is_a_value_error_and_dtype_error_a_type_error() -> None:
    assert issubclass(ShapeError, ValueError)
    assert issubclass(DTypeError, TypeError)


# -- matrix products -----------------------------------------------------------------------

MATMUL_MISMATCHES: list[tuple[str, Callable[[], Any], Callable[[], Any]]] = [
    ("Matrix3x4@Matrix3x4", lambda: Matrix.zeros(3, 4), lambda: Matrix.zeros(3, 4)),
    ("Matrix3x4@Matrix5x2", lambda: Matrix.zeros(3, 4), lambda: Matrix.zeros(5, 2)),
    ("DMatrix3x4@Matrix3x4", lambda: Matrix.zeros(3, 4) + 1.0, lambda: Matrix.zeros(3, 4)),
    ("Matrix3x4@DMatrix3x4", lambda: Matrix.zeros(3, 4), lambda: Matrix.zeros(3, 4) + 1.0),
    ("Matrix3x1@Matrix3x4", lambda: Matrix.zeros(3, 1), lambda: Matrix.zeros(3, 4)),
    ("Matrix3x4@Vector3", lambda: Matrix.zeros(3, 4), lambda: Vector.zeros(3)),
    ("Matrix3x4@DVector5", lambda: Matrix.zeros(3, 4), lambda: Vector.zeros(5) + 1.0),
    ("Vector4@Matrix3x4", lambda: Vector.zeros(4), lambda: Matrix.zeros(3, 4)),
    ("DVector3@Matrix4x3", lambda: Vector.zeros(3) + 1.0, lambda: Matrix.zeros(4, 3)),
    ("Vector3@Vector4", lambda: Vector.zeros(3), lambda: Vector.zeros(4)),
    ("DVector1@Vector4", lambda: Vector.zeros(1) + 1.0, lambda: Vector.zeros(4)),
]


@pytest.mark.parametrize(("a", "b"), [m[1:] for m in MATMUL_MISMATCHES],
                         ids=[m[0] for m in MATMUL_MISMATCHES])
def test_matmul_refuses_inner_size_mismatch(a: Callable[[], Any], b: Callable[[], Any]) -> None:
    x, y = a(), b()
    with pytest.raises(ShapeError) as err:
        x @ y
    msg = str(err.value)
    assert "multiply" in msg and str(x.shape) in msg and str(y.shape) in msg


MATMUL_NDARRAY: list[tuple[str, Callable[[], Any], Callable[[], Any]]] = [
    ("Matrix@ndarray", lambda: Matrix.zeros(3, 4), lambda: np.zeros((4, 2), np.float32)),
    ("ndarray@Matrix", lambda: np.zeros((2, 3), np.float32), lambda: Matrix.zeros(3, 4)),
    ("Vector@ndarray", lambda: Vector.zeros(3), lambda: np.zeros(3, np.float32)),
    ("ndarray@Vector", lambda: np.zeros((2, 3), np.float32), lambda: Vector.zeros(3)),
    ("DMatrix@ndarray", lambda: Matrix.zeros(3, 4) + 1.0, lambda: np.zeros((4, 2), np.float32)),
]


@pytest.mark.parametrize(("a", "b"), [m[1:] for m in MATMUL_NDARRAY],
                         ids=[m[0] for m in MATMUL_NDARRAY])
def test_matmul_refuses_ndarray_with_shape_error(a: Callable[[], Any], b: Callable[[], Any]
                                                 ) -> None:
    # Every elementwise operator (and **) refuses an ndarray with a ShapeError that points to
    # from_numpy (DESIGN §2); `@` must not be the one operator that answers with numpy's
    # "operand does not support ufuncs" TypeError instead.
    with pytest.raises(ShapeError, match="from_numpy"):
        a() @ b()


# -- mixing float32 and float64 is an error, never a promotion -----------------------------

DTYPE_OPS: dict[str, Callable[[Any, Any], Any]] = {
    **{name: op for name, (op, _) in OPERATORS.items()},
    **{name: fn for name, (fn, _) in FUNCTIONS.items()},
    "matmul": operator.matmul,
}
DTYPE_KINDS: dict[str, Callable[[Any], Any]] = {
    "Matrix": lambda dt: Matrix.ones(2, 2, dtype=dt),
    "DMatrix": lambda dt: Matrix.ones(2, 2, dtype=dt) * 2.0,
    "Vector": lambda dt: Vector.ones(2, dtype=dt),
    "DVector": lambda dt: Vector.ones(2, dtype=dt) * 2.0,
}


@pytest.mark.parametrize("order", ["f32-f64", "f64-f32"])
@pytest.mark.parametrize("kind", DTYPE_KINDS)
@pytest.mark.parametrize("op_name", DTYPE_OPS)
def test_mixing_float32_and_float64_raises(op_name: str, kind: str, order: str) -> None:
    dts = [np.float32, np.float64] if order == "f32-f64" else [np.float64, np.float32]
    a, b = (DTYPE_KINDS[kind](dt) for dt in dts)
    with pytest.raises(DTypeError) as err:
        DTYPE_OPS[op_name](a, b)
    assert "float32" in str(err.value) and "float64" in str(err.value)


def test_concat_rows_refuses_mixed_dtypes() -> None:
    with pytest.raises(DTypeError):
        ta.concat_rows([Matrix.zeros(1, 2), Matrix.zeros(1, 2, dtype=np.float64)])


# -- helpers and reductions refuse the wrong kind ------------------------------------------

HELPER_MISUSE: list[tuple[str, Callable[[], Any]]] = [
    ("rows_like(m, v)", lambda: ta.rows_like(Matrix.zeros(2, 2), Vector.zeros(2))),  # type: ignore[arg-type]
    ("cols_like(v, v)", lambda: ta.cols_like(Vector.zeros(2), Vector.zeros(2))),  # type: ignore[arg-type]
    ("rows_like(v, ndarray)", lambda: ta.rows_like(Vector.zeros(2), np.zeros((2, 2)))),  # type: ignore[arg-type]
    ("br(n, m)", lambda: ta.br(2, Matrix.zeros(2, 2))),  # type: ignore[arg-type]
    ("br(n, ndarray)", lambda: ta.br(2, np.zeros(2))),  # type: ignore[arg-type]
    ("br(-1, v)", lambda: ta.br(-1, Vector.zeros(2))),
    ("br(True, v)", lambda: ta.br(True, Vector.zeros(2))),
    ("sum_rows(v)", lambda: ta.sum_rows(Vector.zeros(2))),  # type: ignore[arg-type]
    ("sum_cols(v)", lambda: ta.sum_cols(Vector.zeros(2))),  # type: ignore[arg-type]
    ("sum_rows(ndarray)", lambda: ta.sum_rows(np.zeros((2, 2)))),  # type: ignore[arg-type]
    ("mean of an empty Vector", lambda: ta.mean(Vector.zeros(0))),
    ("var of an empty Vector", lambda: ta.var(Vector.zeros(0))),
    ("mean_all of nothing", lambda: ta.mean_all(Matrix.zeros(3, 0))),
    ("min_rows(v)", lambda: ta.min_rows(Vector.zeros(2))),  # type: ignore[arg-type]
    ("min_cols(v)", lambda: ta.min_cols(Vector.zeros(2))),  # type: ignore[arg-type]
    ("min_rows of no rows", lambda: ta.min_rows(Matrix.zeros(0, 3))),
    ("min_cols of no cols", lambda: ta.min_cols(Matrix.zeros(3, 0))),
    ("argmax_rows(v)", lambda: ta.argmax_rows(Vector.zeros(2))),  # type: ignore[arg-type]
    ("argmin_cols(ndarray)", lambda: ta.argmin_cols(np.zeros((2, 2)))),  # type: ignore[arg-type]
    ("argmax_rows of no rows", lambda: ta.argmax_rows(Matrix.zeros(0, 3))),
    ("argmax_cols of no cols", lambda: ta.argmax_cols(Matrix.zeros(3, 0))),
    ("argmin_rows of no rows", lambda: ta.argmin_rows(Matrix.zeros(0, 3))),
    ("argmin_cols of no cols", lambda: ta.argmin_cols(Matrix.zeros(3, 0))),
    ("concat_cols([])", lambda: ta.concat_cols([])),
    ("concat_cols(m)", lambda: ta.concat_cols(Matrix.zeros(2, 2))),  # type: ignore[arg-type]
    ("concat_cols rows differ", lambda: ta.concat_cols([Matrix.zeros(1, 2), Matrix.zeros(2, 2)])),
    ("concat_cols([m, v])",
     lambda: ta.concat_cols([Matrix.zeros(1, 2), Vector.zeros(2)])),  # type: ignore[list-item]
    ("reshape to too few", lambda: ta.reshape(Matrix.zeros(2, 3), 5)),
    ("reshape to too many", lambda: ta.reshape(Vector.zeros(6), 4, 2)),
    ("reshape with two -1", lambda: ta.reshape(Vector.zeros(6), -1, -1)),
    ("reshape with -1 that cannot fit", lambda: ta.reshape(Vector.zeros(6), -1, 4)),
    ("reshape to a negative size", lambda: ta.reshape(Vector.zeros(6), -2, -3)),
    ("reshape to a float size", lambda: ta.reshape(Vector.zeros(6), 6.0)),  # type: ignore[call-overload]
    ("reshape to a bool size", lambda: ta.reshape(Vector.zeros(1), True)),
    ("reshape to three sizes", lambda: ta.reshape(Vector.zeros(1), 1, 1, 1)),  # type: ignore[call-overload]
    ("reshape a Tensor4", lambda: ta.reshape(ta.Tensor4.zeros(1, 1, 1, 1), 1)),  # type: ignore[call-overload]
    ("max_rows(v)", lambda: ta.max_rows(Vector.zeros(2))),  # type: ignore[arg-type]
    ("max_cols(v)", lambda: ta.max_cols(Vector.zeros(2))),  # type: ignore[arg-type]
    ("mean of no rows", lambda: ta.mean(Matrix.zeros(0, 3))),
    ("var of no rows", lambda: ta.var(Matrix.zeros(0, 3))),
    ("max_rows of no rows", lambda: ta.max_rows(Matrix.zeros(0, 3))),
    ("max_cols of no cols", lambda: ta.max_cols(Matrix.zeros(3, 0))),
    ("concat_rows([])", lambda: ta.concat_rows([])),
    ("concat_rows cols differ", lambda: ta.concat_rows([Matrix.zeros(1, 2), Matrix.zeros(1, 3)])),
    ("concat_rows([m, v])",
     lambda: ta.concat_rows([Matrix.zeros(1, 2), Vector.zeros(2)])),  # type: ignore[list-item]
]


@pytest.mark.parametrize("call", [h[1] for h in HELPER_MISUSE], ids=[h[0] for h in HELPER_MISUSE])
def test_helper_refuses_wrong_kind_or_size(call: Callable[[], Any]) -> None:
    with pytest.raises(ShapeError):
        call()


def test_delayed_kinds_are_distinct_classes() -> None:
    # The tables above rely on DMatrix/DVector operands really being delayed.
    assert isinstance(Matrix.ones(1, 1) * 2.0, DMatrix)
    assert isinstance(Vector.ones(1) * 2.0, DVector)


_NUMPY: Any = np.ones(2)  # untyped callers: what mypy would refuse


@pytest.mark.parametrize("call", [
    lambda: ta.exp(_NUMPY), lambda: ta.log(_NUMPY), lambda: ta.sqrt(_NUMPY),
    lambda: ta.tanh(_NUMPY), lambda: ta.sigmoid(_NUMPY), lambda: ta.relu(_NUMPY),
    lambda: ta.maximum(_NUMPY, 0.0), lambda: ta.minimum(_NUMPY, 0.0),
    lambda: ta.clip(_NUMPY, 0.0, 1.0), lambda: ta.where(_NUMPY, 1.0, 0.0),
])
def test_elementwise_functions_of_numpy_arrays_say_how_to_convert(call: Any) -> None:
    with pytest.raises(TypeError, match=r"takes a typed array .*got ndarray: convert a numpy "
                                        r"array with Matrix.from_numpy"):
        call()


def test_elementwise_functions_of_python_numbers_point_at_math() -> None:
    with pytest.raises(TypeError, match=r"ta.exp takes a typed array .*use math.exp"):
        ta.exp(1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"ta.relu .*works on arrays only"):
        ta.relu(1.0)  # type: ignore[arg-type]
