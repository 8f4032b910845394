"""A tour of typedarr: seed 000's GHCi session redone in Python, then a batchnorm step.

Run with `python -m examples.tour`. Every step prints what it computed, so the output is the
documentation: delayed arrays show their expression, manifest ones their values, and the
mistakes numpy would have broadcast silently show the error typedarr raises instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

import typedarr as ta
from typedarr import Matrix, Vector


class Batch:
    """Phantom dimension: rows of a mini-batch."""


class Feature:
    """Phantom dimension: input features."""


def show(title: str, value: object) -> None:
    print(f"\n>>> {title}\n{value}")


def ghci_session() -> None:
    """`br`, `compute`, `rows_like`, `cols_like` and the sums, as in seed 000."""
    a = Vector.from_list([1, 2, 3, 4])
    show("a = Vector.from_list([1, 2, 3, 4])", a)
    b = ta.br(3, a)
    show("b = br(3, a)            # delayed: nothing computed yet", b)
    show("compute(b)", ta.compute(b))
    m = Matrix.from_list([[1, 2], [3, 4], [5, 6]])
    show("m", m)
    show("compute(sum_rows(m))    # the sum of each column", ta.compute(ta.sum_rows(m)))
    show("compute(sum_cols(m))    # the sum of each row", ta.compute(ta.sum_cols(m)))
    show("compute(cols_like(sum_cols(m), m))",
         ta.compute(ta.cols_like(ta.sum_cols(m), m)))


def softmax(x: Matrix[Batch, Any]) -> Matrix[Batch, Any]:
    """Seed 000's softmax, with the log-sum-exp shift that keeps exp from overflowing."""
    shift = ta.max_cols(x)
    e = ta.compute(ta.exp(x - ta.cols_like(shift, x)))
    return ta.compute(e / ta.cols_like(ta.compute(ta.sum_cols(e)), e))


def batchnorm(x: Matrix[Batch, Feature], gamma: Vector[Feature], beta: Vector[Feature]
              ) -> Matrix[Batch, Feature]:
    """Training-mode batchnorm forward: every broadcast explicit, one fused compute."""
    mu = ta.compute(ta.mean(x))
    ivar = ta.compute(1.0 / ta.sqrt(ta.var(x) + 1e-5))

    def b(v: ta.VectorLike[Feature]) -> ta.DMatrix[Batch, Feature]:
        return ta.rows_like(v, x)  # seed 000's `b = br (rows inp)`

    return ta.compute(b(gamma) * (x - b(mu)) * b(ivar) + b(beta))


def numpy_habits() -> None:
    """What a numpy user does daily: argmax, accuracy, a column, a mask, and numpy's own
    functions pointing at typedarr's."""
    scores = Matrix.from_list([[0.1, 0.7, 0.2], [0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])
    pred = ta.argmax_cols(scores)
    show("pred = argmax_cols(scores)   # the class of each row; a tie takes the first", pred)
    show("mean(pred == [1, 1, 2])      # accuracy", ta.mean(pred == [1, 1, 2]))
    show("scores[:, 1]                 # a column", scores[:, 1])
    show("compute(where(scores > 0.3, scores, 0.0))",
         ta.compute(ta.where(scores > 0.3, scores, 0.0)))
    try:
        np.exp(scores)
    except TypeError as e:
        print(f"\n>>> np.exp(scores)\nTypeError: {e}")


def refusals() -> None:
    """What numpy would broadcast silently, typedarr refuses with a hint."""
    m = Matrix.zeros(100, 300)
    attempts: dict[str, Callable[[], object]] = {
        # mypy rejects this line too: the ignore lets the tour show the runtime error.
        "Matrix (100, 300) + Vector (300,)": lambda: m + Vector.zeros(300),  # type: ignore[operator]
        "Matrix (3, 1) + Matrix (3, 4)": lambda: Matrix.zeros(3, 1) + Matrix.zeros(3, 4),
        "Matrix (3, 4) @ Matrix (3, 4)": lambda: Matrix.zeros(3, 4) @ Matrix.zeros(3, 4),
        "numpy array + Matrix": lambda: np.zeros((100, 300)) + m,
    }
    for title, attempt in attempts.items():
        try:
            attempt()
        except (ta.ShapeError, ta.DTypeError) as e:
            print(f"\n>>> {title}\n{type(e).__name__}: {e}")


def main() -> None:
    ghci_session()
    x: Matrix[Batch, Feature] = Matrix.random_normal(100, 300, seed=0, mean=42.0, std=10.0)
    start = time.perf_counter()
    y = batchnorm(x, Vector.ones(300), Vector.zeros(300))
    seconds = time.perf_counter() - start
    y_np = y.to_numpy()
    show("batchnorm of a (100, 300) batch with mean 42 and std 10",
         f"output column means in [{y_np.mean(0).min():.2e}, {y_np.mean(0).max():.2e}], "
         f"stds in [{y_np.std(0).min():.4f}, {y_np.std(0).max():.4f}] ({seconds * 1e3:.1f} ms)")
    p = softmax(Matrix.from_list([[1000, 1001, 1002], [0, 0, 0]]))
    show("softmax([[1000, 1001, 1002], [0, 0, 0]])  # no overflow", p)
    numpy_habits()
    refusals()


if __name__ == "__main__":
    main()
