"""`typedarr.jit`: a traced function compiled into one kernel gives the eager results, draws
what the eager code draws, and refuses what a compiled program cannot do, saying so."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import typedarr as ta
from typedarr import Matrix, MatrixLike, Vector, VectorLike, _compute
from typedarr._fused import _engine, _split
from typedarr._fused._layout import analyse

Array = np.ndarray[Any, np.dtype[Any]]
Program = Callable[[Matrix, Matrix, Vector, Vector], tuple[Any, ...]]


def _close(got: Any, want: Any, dtype: Any) -> None:
    g, w = np.asarray(got), np.asarray(want)
    assert type(got) is type(want) and g.shape == w.shape and g.dtype == w.dtype
    tol = 2e-4 if np.dtype(dtype) == np.float32 else 1e-10
    with np.errstate(invalid="ignore"):
        ok = (np.abs(g - w) <= tol * (1.0 + np.abs(w))) | (np.isnan(g) & np.isnan(w)) | (g == w)
    assert ok.all(), f"{g} != {w}"


# Random programs -----------------------------------------------------------------------------

MAPS: list[Callable[[MatrixLike[Any, Any]], MatrixLike[Any, Any]]] = [
    ta.exp, ta.tanh, ta.relu, ta.sigmoid, lambda m: m * 0.5 - 1.0, lambda m: 2.0 / (1.0 + m * m),
]


@st.composite
def _programs(draw: st.DrawFn) -> Program:
    """A random program over x (r, c), w (c, k), v (c,), u (r,): maps, zips, broadcasts,
    reductions, products, transposes and several outputs, in a random order."""
    steps = draw(st.lists(st.integers(0, 9), min_size=1, max_size=8))
    maps = draw(st.lists(st.sampled_from(range(len(MAPS))), min_size=8, max_size=8))

    def program(x: Matrix, w: Matrix, v: Vector, u: Vector) -> tuple[Any, ...]:
        m: MatrixLike[Any, Any] = x
        outs: list[Any] = []
        for n, step in enumerate(steps):
            match step:
                case 0:
                    m = MAPS[maps[n]](m)
                case 1:
                    m = m * ta.rows_like(v, m) + ta.cols_like(u, m) if m.shape == x.shape else m
                case 2:
                    outs.append(ta.sum_rows(m))
                case 3:
                    outs.append(ta.sum_cols(m) * 2.0)
                case 4:
                    m = ta.compute(m) @ w if m.shape == x.shape else m
                case 5:
                    m = ta.maximum(m, m.T.T * 0.25)
                case 6:
                    outs.append(ta.compute(m))
                case 7:
                    outs.append(ta.max_cols(m))
                case 8:
                    m = m - ta.cols_like(ta.max_cols(m), m)
                case _:
                    outs.append((x.T @ ta.compute(m)) if m.shape[0] == x.shape[0] else m)
        return (m, *outs)

    return program


@settings(max_examples=25, deadline=None)  # a new structure compiles (about a second)
@given(_programs(), st.sampled_from([np.float32, np.float64]), st.integers(1, 6),
       st.integers(1, 6), st.integers(1, 4), st.integers(0, 2**16))
def test_random_programs_equal_their_eager_results(program: Program, dtype: Any, r: int, c: int,
                                                    k: int, seed: int) -> None:
    rng = np.random.default_rng(seed)

    def arrays() -> tuple[Matrix, Matrix, Vector, Vector]:
        return (Matrix.from_numpy(rng.standard_normal((r, c)).astype(dtype)),
                Matrix.from_numpy(rng.standard_normal((c, k)).astype(dtype)),
                Vector.from_numpy(rng.standard_normal(c).astype(dtype)),
                Vector.from_numpy(rng.standard_normal(r).astype(dtype)))

    compiled = ta.jit(program)
    for _ in range(2):  # the first call traces, the second only runs
        args = arrays()
        got, want = compiled(*args), program(*args)
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            _close(ta.compute(g) if not isinstance(g, (Matrix, Vector)) else g,
                   ta.compute(w) if not isinstance(w, (Matrix, Vector)) else w, dtype)
    assert compiled.traces == 1


@settings(max_examples=10, deadline=None)
@given(_programs(), st.sampled_from([np.float32, np.float64]), st.integers(0, 2**16))
def test_a_program_cut_into_pieces_gives_the_same_results(program: Program, dtype: Any,
                                                         seed: int) -> None:
    """With at most one loop nest per kernel, every stored value crosses from one piece to
    the next: the results are still the eager ones."""
    rng = np.random.default_rng(seed)
    args = (Matrix.from_numpy(rng.standard_normal((5, 3)).astype(dtype)),
            Matrix.from_numpy(rng.standard_normal((3, 2)).astype(dtype)),
            Vector.from_numpy(rng.standard_normal(3).astype(dtype)),
            Vector.from_numpy(rng.standard_normal(5).astype(dtype)))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_split, "MAX_NESTS", 1)
        got = ta.jit(program)(*args)
    for g, w in zip(got, program(*args), strict=True):
        _close(ta.compute(g) if not isinstance(g, (Matrix, Vector)) else g,
               ta.compute(w) if not isinstance(w, (Matrix, Vector)) else w, dtype)


def test_a_big_program_is_several_kernels_and_nests_big_enough_for_threads_are_apart(
        monkeypatch: pytest.MonkeyPatch) -> None:
    kernels: list[tuple[int, bool]] = []  # (loop nests, threaded) of each piece's kernel
    one_kernel = _engine._one_kernel

    def spy(plan: Any, par: bool) -> Any:
        kernels.append((len(analyse(plan.program).materialised), par))
        return one_kernel(plan, par)

    monkeypatch.setattr(_engine, "_one_kernel", spy)
    monkeypatch.setattr(_engine, "PAR_THRESHOLD", 400)
    monkeypatch.setattr(_split, "MAX_NESTS", 3)

    def layers(x: Matrix, w: Matrix, v: Vector) -> tuple[Any, ...]:
        big = ta.compute(ta.tanh(x) * 2.0)  # 25 x 20: the one nest big enough for threads
        h = ta.compute(ta.relu(big @ w + ta.rows_like(v, big @ w)))
        outs: list[Any] = [h]
        for k in range(4):
            h = ta.compute(h - ta.rows_like(ta.mean(h), h) * float(k))
            outs.append(ta.compute(ta.sum_rows(h)))
        return (big, *outs)

    rng = np.random.default_rng(3)
    args = (Matrix.from_numpy(rng.standard_normal((25, 20))),
            Matrix.from_numpy(rng.standard_normal((20, 4))),
            Vector.from_numpy(rng.standard_normal(4)))
    compiled = ta.jit(layers)
    for _ in range(2):
        for g, w in zip(compiled(*args), layers(*args), strict=True):
            _close(g, w, np.float64)
    assert len(kernels) >= 4 and all(nests <= 3 for nests, _ in kernels)
    assert kernels[0] == (1, True) and not any(threaded for _, threaded in kernels[1:])


# Structure and caching -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Params:
    w: Matrix
    b: Vector
    scale: float


def _layer(p: _Params, x: Matrix) -> dict[str, Any]:
    h = ta.compute(ta.relu(x @ p.w + ta.rows_like(p.b, x)) * p.scale)
    return {"h": h, "params": _Params(ta.compute(p.w * 0.5), p.b, p.scale), "n": x.rows}


def test_dataclasses_dicts_and_static_values_pass_through() -> None:
    compiled = ta.jit(_layer)
    p = _Params(Matrix.random_normal(3, 2, seed=1), Vector.random_normal(2, seed=2), 2.0)
    x = Matrix.random_normal(4, 3, seed=3)
    got, want = compiled(p, x), _layer(p, x)
    assert got["n"] == 4 and got["params"].scale == 2.0
    assert got["params"].b is p.b  # returned unchanged: no copy, no kernel output
    _close(got["h"], want["h"], np.float32)
    _close(got["params"].w, want["params"].w, np.float32)
    compiled(p, Matrix.random_normal(4, 3, seed=4))
    assert compiled.traces == 1
    compiled(p, Matrix.random_normal(5, 3, seed=4))  # a new shape
    other = _Params(p.w, p.b, 3.0)  # a new number: a runtime input, not a new structure
    got = compiled(other, x)
    assert compiled.traces == 2 and got["params"].scale == 3.0
    _close(got["h"], _layer(other, x)["h"], np.float32)


def test_dropout_masks_are_drawn_afresh_as_the_eager_code_draws_them() -> None:
    def dropout(x: Matrix, rng: np.random.Generator) -> tuple[Matrix, Matrix]:
        keep = Matrix.random_uniform(x.rows, x.cols, seed=rng) >= 0.5
        noise = Matrix.random_normal(x.rows, x.cols, seed=rng, std=0.1)
        return ta.compute(x * keep), ta.compute(x + noise)

    compiled = ta.jit(dropout)
    x = Matrix.random_normal(6, 5, seed=5)
    eager_rng, compiled_rng = np.random.default_rng(7), np.random.default_rng(7)
    masks = []
    for _ in range(3):
        got, want = compiled(x, compiled_rng), dropout(x, eager_rng)
        for g, w in zip(got, want, strict=True):
            _close(g, w, np.float32)
        masks.append(np.asarray(got[0]) != 0)
    assert not np.array_equal(masks[0], masks[1])  # a new mask at every call
    assert compiled.traces == 1


def test_the_reference_engine_runs_compiled_programs_too(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    monkeypatch.setattr(_compute, "_REGISTRY", (_compute.REFERENCE,))
    p = _Params(Matrix.random_normal(3, 2, seed=1), Vector.random_normal(2, seed=2), 2.0)
    x = Matrix.random_normal(4, 3, seed=3)
    _close(ta.jit(_layer)(p, x)["h"], _layer(p, x)["h"], np.float32)


# What cannot be traced ---------------------------------------------------------------------


def _numpy(x: Matrix) -> Any:
    return np.asarray(x + 1.0)


def _float(x: Matrix) -> Any:
    return ta.sum_all(x * 2.0)


def _branch(x: Matrix) -> Any:
    return x * 2.0 if ta.compute(x) else x


def _index(x: Matrix) -> Any:
    return ta.compute(x * 2.0)[np.array([0])]


def _dot(v: Vector) -> Any:
    return ta.compute(v * 2.0) @ v


def _own_generator(x: Matrix) -> Any:
    return ta.compute(x * Matrix.random_uniform(x.rows, x.cols, seed=np.random.default_rng(0)))


@pytest.mark.parametrize(("fn", "arg", "error", "says"), [
    (_numpy, "m", ta.TraceError, "return it from the function"),
    (_float, "m", ta.TraceError, "cannot be turned into values"),
    (_branch, "m", TypeError, "ambiguous"),
    (_index, "m", ta.TraceError, "cannot be turned into values"),
    (_dot, "v", ta.TraceError, "multiplied into a float"),
    (_own_generator, "m", ta.TraceError, "passed to it as an argument"),
    (lambda x: x, "numpy", ta.TraceError, "Matrix.from_numpy"),
    (lambda x: x, "set", ta.TraceError, "must be hashable"),
])
def test_what_cannot_be_traced_is_a_clear_error(fn: Callable[[Any], Any], arg: str,
                                                error: type[Exception], says: str) -> None:
    given_arg: Any = {"m": Matrix.ones(2, 2), "v": Vector.ones(2), "numpy": np.ones(2),
                       "set": {1.0}}[arg]
    with pytest.raises(error, match=says):
        ta.jit(fn)(given_arg)
    assert not ta.tracing()  # a failed trace leaves no trace behind


def test_a_jit_function_cannot_be_traced_inside_another() -> None:
    inner = ta.jit(lambda x: ta.compute(x * 2.0))
    outer = ta.jit(lambda x: inner(x))
    with pytest.raises(ta.TraceError, match="inside each other"):
        outer(Matrix.ones(2, 2))


def test_vector_programs_and_vector_results() -> None:
    def norms(v: VectorLike[Any], m: Matrix) -> tuple[Vector, Vector]:
        return ta.compute(ta.sqrt(v * v + 1.0)), ta.compute(ta.sum_rows(m * m))

    v, m = Vector.random_normal(5, seed=8), Matrix.random_normal(3, 5, seed=9)
    for g, w in zip(ta.jit(norms)(v, m), norms(v, m), strict=True):
        _close(g, w, np.float32)


def test_a_static_argument_that_keeps_changing_keeps_few_traces_alive() -> None:
    compiled = ta.jit(lambda x, k: ta.compute(x * float(k)))
    x = Matrix.ones(2, 2)
    for k in range(ta.Jitted.MAX_STRUCTURES + 10):
        np.testing.assert_array_equal(np.asarray(compiled(x, k)), np.full((2, 2), k))
    assert compiled.traces == ta.Jitted.MAX_STRUCTURES + 10
    assert len(compiled._compiled) == ta.Jitted.MAX_STRUCTURES


def test_non_array_results_come_back_as_they_are() -> None:
    rng = np.random.default_rng(0)
    out = ta.jit(lambda x, g: (ta.compute(x * 2.0), g, "label", None))(Matrix.ones(1, 2), rng)
    assert out[1] is rng and out[2:] == ("label", None)
