"""Tests that kill mutants of `typedarr/_reduce.py` and `_broadcast.py` which the rest of the
suite let live (scripts/mutation.sh): a refused call says which function refused it and
what it got (the error tables elsewhere check only the exception's type), and a maximum
keeps its operand's strategy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import typedarr as ta
from typedarr import Matrix, ShapeError, Vector

# mean and var of a Vector are its statistics (floats), so they are not among these
REDUCTIONS: list[Callable[[Any], Any]] = [
    ta.sum_rows, ta.sum_cols, ta.max_rows, ta.max_cols, ta.min_rows, ta.min_cols,
    ta.argmax_rows, ta.argmax_cols, ta.argmin_rows, ta.argmin_cols]


@pytest.mark.parametrize("reduce", REDUCTIONS, ids=lambda f: f.__name__)
def test_a_reduction_of_a_vector_names_itself_and_what_it_got(reduce: Callable[[Any], Any]
                                                             ) -> None:
    with pytest.raises(ShapeError, match=f"^{reduce.__name__} reduces a Matrix, got Vector"):
        reduce(Vector.zeros(2))


@pytest.mark.parametrize("reduce", [ta.mean, ta.var, ta.max_rows, ta.min_rows],
                         ids=lambda f: f.__name__)
def test_a_reduction_of_no_rows_names_itself(reduce: Callable[[Any], Any]) -> None:
    with pytest.raises(ShapeError, match=f"^{reduce.__name__} of a Matrix with no rows"):
        reduce(Matrix.zeros(0, 3))


def test_max_cols_of_no_columns_names_itself() -> None:
    with pytest.raises(ShapeError, match=r"^max_cols of a Matrix with no columns is undefined$"):
        ta.max_cols(Matrix.zeros(3, 0))


@pytest.mark.parametrize("reduce", [ta.max_rows, ta.max_cols], ids=lambda f: f.__name__)
@pytest.mark.parametrize("strategy", [ta.Seq, ta.Par], ids=str)
def test_a_maximum_keeps_the_strategy(reduce: Callable[[Any], Any], strategy: ta.Strategy
                                      ) -> None:
    assert reduce(Matrix.ones(2, 3).with_strategy(strategy)).strategy is strategy


def test_the_broadcasts_name_themselves_and_what_they_got() -> None:
    with pytest.raises(ShapeError, match=r"^rows_like\(v, m\) takes a Vector and a Matrix, "
                                         r"got Matrix and Matrix$"):
        ta.rows_like(Matrix.ones(2, 2), Matrix.ones(2, 2))  # type: ignore[arg-type]
    with pytest.raises(ShapeError, match=r"^cols_like\(v, m\) takes a Vector and a Matrix, "
                                         r"got Vector and Vector$"):
        ta.cols_like(Vector.ones(2), Vector.ones(2))  # type: ignore[arg-type]


def test_sum_all_names_what_it_got() -> None:
    with pytest.raises(TypeError, match=r"^sum_all takes a Matrix or Vector, got ndarray"):
        ta.sum_all(np.zeros(2))  # type: ignore[arg-type]


def test_br_names_what_it_got() -> None:
    with pytest.raises(ShapeError, match=r"^br repeats a Vector, got Matrix"):
        ta.br(2, Matrix.zeros(2, 2))  # type: ignore[arg-type]
    with pytest.raises(ShapeError, match=r"^br: the row count must be a non-negative int, got -1"):
        ta.br(-1, Vector.zeros(2))
