"""The compiler's own edges: a function that calls itself while traced is a `TraceError`
(not a wait on its own lock, while other threads still wait for the trace), and `Seq` inputs
get the sequential kernel as eager `compute` gives them."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest

import typedarr as ta
from typedarr import Matrix, Vector, _compute


def _in_thread(fn: Any, timeout: float = 20.0) -> Any:
    """`fn()`'s result or exception, from a thread that must end within `timeout` (a
    deadlock fails the test instead of hanging the suite)."""
    out: list[Any] = []

    def run() -> None:
        try:
            out.append(fn())
        except BaseException as e:  # handed back to the test
            out.append(e)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout)
    assert not worker.is_alive(), "deadlocked"
    return out[0]


def test_a_function_that_calls_itself_while_traced_is_a_trace_error() -> None:
    @ta.jit
    def down(x: Matrix, n: int) -> Any:
        return ta.compute(x * 2.0) if n == 0 else down(x, n - 1)

    got = _in_thread(lambda: down(Matrix.ones(2, 2), 2))
    assert isinstance(got, ta.TraceError) and "called itself" in str(got)
    assert not ta.tracing()
    assert down._tracer is None  # the next call traces normally
    np.testing.assert_array_equal(np.asarray(down(Matrix.ones(2, 2), 0)), np.full((2, 2), 2))


def test_a_function_that_calls_itself_through_a_helper_is_a_trace_error() -> None:
    def helper(x: Matrix) -> Any:
        return twice(x)

    @ta.jit
    def twice(x: Matrix) -> Any:
        return helper(x) if x.shape[0] > 1 else ta.compute(x * 2.0)

    got = _in_thread(lambda: twice(Matrix.ones(3, 2)))
    assert isinstance(got, ta.TraceError) and "called itself" in str(got)


def test_other_threads_wait_for_a_trace_and_reuse_it() -> None:
    started, go = threading.Event(), threading.Event()

    @ta.jit
    def slow(x: Matrix) -> Any:
        started.set()
        assert go.wait(60)
        return ta.compute(x + 1.0)

    first = threading.Thread(target=lambda: results.append(slow(Matrix.ones(2, 2))))
    results: list[Any] = []
    first.start()
    assert started.wait(60)
    second = threading.Thread(target=lambda: results.append(slow(Matrix.ones(2, 2))))
    second.start()
    second.join(0.5)
    assert second.is_alive()  # waiting for the first thread's trace, not refused
    go.set()
    first.join(60)
    second.join(60)
    assert len(results) == 2 and slow.traces == 1
    for r in results:
        np.testing.assert_array_equal(np.asarray(r), np.full((2, 2), 2))


@pytest.mark.parametrize(("strategies", "want"), [
    ((ta.Seq, ta.Seq), ta.Seq), ((ta.Seq, ta.Par), ta.Par), ((ta.Par, ta.Par), ta.Par)])
def test_jit_compiles_the_strategy_eager_compute_uses(
        monkeypatch: pytest.MonkeyPatch, strategies: tuple[ta.Strategy, ta.Strategy],
        want: ta.Strategy) -> None:
    asked: list[ta.Strategy] = []
    compile_program = _compute.compile_program

    def spy(roots: Any, inputs: Any, strategy: ta.Strategy) -> Any:
        asked.append(strategy)
        return compile_program(roots, inputs, strategy)

    monkeypatch.setattr(_compute, "compile_program", spy)
    x = Matrix.random_normal(300, 200, seed=1).with_strategy(strategies[0])
    b = Vector.random_normal(200, seed=2).with_strategy(strategies[1])

    def affine(x: Matrix, b: Vector) -> Any:
        return ta.compute(ta.relu(x + ta.rows_like(b, x)))

    got = ta.jit(affine)(x, b)
    eager = affine(x, b)
    assert asked == [want]
    assert got.strategy is eager.strategy is want
    np.testing.assert_array_equal(np.asarray(got), np.asarray(eager))


def test_seq_inputs_run_the_sequential_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    """Large enough for threads, all-Seq inputs still get the kernel's `seq` variant."""
    from typedarr._fused import _engine

    used: list[bool] = []
    one_kernel = _engine._one_kernel

    def spy(plan: Any, par: bool) -> Any:
        used.append(par)
        return one_kernel(plan, par)

    monkeypatch.setattr(_engine, "_one_kernel", spy)
    monkeypatch.setattr(_engine, "PAR_THRESHOLD", 400)
    x = Matrix.random_normal(30, 20, seed=3)
    step = ta.jit(lambda x: ta.compute(x * 2.0 + 1.0))
    step(x.with_strategy(ta.Seq))
    step(x.with_strategy(ta.Par))
    assert used == [False, True]
