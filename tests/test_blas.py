"""Small matrix products on the main thread run on one BLAS thread, and the libraries'
settings come back."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

import typedarr as ta
from typedarr import _blas


def _blas_threads() -> list[int]:
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def test_inside_one_thread_every_blas_library_has_one_thread_and_after_its_own() -> None:
    _blas._libraries()  # loads SciPy's BLAS, which it limits too, before counting libraries
    with threadpool_limits(2, user_api="blas"):
        before = _blas_threads()
        assert before and max(before) == 2
        with _blas.one_thread():
            assert _blas_threads() == [1] * len(before)
            with _blas.one_thread():  # nested: the outer one restores
                assert _blas_threads() == [1] * len(before)
            assert _blas_threads() == [1] * len(before)
        assert _blas_threads() == before


def test_a_product_on_another_thread_leaves_the_settings_alone(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """threadpoolctl lets one thread set OpenBLAS's limits: the user's main thread."""
    monkeypatch.setattr(_blas, "SERIAL", 1 << 30)
    seen: list[list[int]] = []
    real = np.matmul

    def spy(x: Any, y: Any) -> Any:
        seen.append(_blas_threads())
        return real(x, y)

    monkeypatch.setattr(np, "matmul", spy)
    a = np.ones((3, 3))
    with threadpool_limits(2, user_api="blas"):
        worker = threading.Thread(target=lambda: _blas.matmul(a, a))
        worker.start()
        worker.join()
        assert len(seen) == 1 and max(seen[0]) == 2
        _blas.matmul(a, a)
        assert len(seen) == 2 and max(seen[1]) == 1


@pytest.mark.parametrize("serial", [True, False])
def test_matmul_is_numpys_product_on_one_thread_below_serial(
        serial: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((6, 5)), rng.standard_normal((5, 4))
    monkeypatch.setattr(_blas, "SERIAL", 6 * 5 * 4 + (1 if serial else 0))
    seen: list[list[int]] = []
    real = np.matmul

    def spy(x: Any, y: Any) -> Any:
        seen.append(_blas_threads())
        return real(x, y)

    monkeypatch.setattr(np, "matmul", spy)
    with threadpool_limits(2, user_api="blas"):
        got = np.asarray(ta.Matrix.from_numpy(a) @ ta.Matrix.from_numpy(b))
    np.testing.assert_array_equal(got, real(a, b))
    assert len(seen) == 1 and (max(seen[0]) == 1) == serial
    monkeypatch.undo()
    v = rng.standard_normal(5)
    np.testing.assert_array_equal(_blas.matmul(v, b), v @ b)
    np.testing.assert_array_equal(_blas.matmul(a, v), a @ v)


def test_numbas_blas_library_is_among_those_limited() -> None:
    """numba's `np.dot` calls SciPy's OpenBLAS, a library apart from numpy's."""
    paths = [lib.filepath for lib in _blas._libraries()]
    assert any("scipy" in p for p in paths), paths


@pytest.mark.parametrize("small", [True, False])
def test_a_compiled_program_with_small_products_runs_on_one_blas_thread(
        small: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = _blas.one_thread

    @contextmanager
    def counting() -> Iterator[None]:
        calls.append(1)
        with real():
            yield

    monkeypatch.setattr(_blas, "one_thread", counting)
    monkeypatch.setattr(_blas, "SERIAL", 4 * 3 * 2 + (1 if small else 0))  # read at compile

    @ta.jit
    def step(x: ta.Matrix[Any, Any], w: ta.Matrix[Any, Any]) -> ta.Matrix[Any, Any]:
        return ta.compute(ta.tanh(x @ w) + 1.0)

    x, w = ta.Matrix.ones(4, 3), ta.Matrix.ones(3, 2)
    for _ in range(2):
        np.testing.assert_allclose(np.asarray(step(x, w)), np.tanh(np.full((4, 2), 3.0)) + 1,
                                   rtol=1e-6)
    assert len(calls) == (2 if small else 0)
