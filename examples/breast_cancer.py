"""Seed 002's data: the Wisconsin breast-cancer table, split and standardised.

The table (569 samples, 30 features, label 1 = benign) is the copy scikit-learn ships in its
package (`sklearn.datasets.load_breast_cancer` reads a CSV inside the wheel), so nothing is
downloaded. The split is stratified and seeded; features are standardised with the training
split's statistics only, so no test information leaks into training.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

G = TypeVar("G", bound=np.generic)


@dataclass(frozen=True, slots=True)
class BreastCancer:
    """Standardised float32 features and 0/1 labels, each split read-only."""

    train_x: NDArray[np.float32]
    train_y: NDArray[np.int64]
    test_x: NDArray[np.float32]
    test_y: NDArray[np.int64]


def load_breast_cancer(*, test_fraction: float = 0.2, seed: int = 0) -> BreastCancer:
    """The table split as seed 002 does (`test_size=0.2`), stratified by label and seeded.

    Raises ImportError with the install command when scikit-learn is missing.
    """
    try:
        from sklearn.datasets import load_breast_cancer as sklearn_load
    except ImportError as err:
        raise ImportError("the breast-cancer data comes from scikit-learn: "
                          "pip install 'typedarr[examples]'") from err
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    table = sklearn_load()
    x = np.asarray(table.data, dtype=np.float64)
    y = np.asarray(table.target, dtype=np.int64)
    rng = np.random.default_rng(seed)
    test = np.zeros(len(y), dtype=bool)
    for label in (0, 1):  # stratified: each class keeps its share in both splits
        members = np.flatnonzero(y == label)
        test[rng.choice(members, size=round(test_fraction * len(members)), replace=False)] = True
    mu = x[~test].mean(axis=0)
    sd = x[~test].std(axis=0)
    z = ((x - mu) / sd).astype(np.float32)
    return BreastCancer(_frozen(z[~test]), _frozen(y[~test]), _frozen(z[test]), _frozen(y[test]))


def _frozen(a: NDArray[G]) -> NDArray[G]:
    a = np.ascontiguousarray(a)
    a.flags.writeable = False
    return a
