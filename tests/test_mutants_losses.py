"""Tests that kill mutants of `nn/_losses.py` which the rest of the suite let live
(scripts/mutation.sh): a loss's errors say which loss and why."""

from __future__ import annotations

import numpy as np
import pytest

import nn
from typedarr import Matrix


@pytest.mark.parametrize(("loss_fn", "name"), [(nn.cross_entropy, "cross_entropy"),
                                               (nn.binary_cross_entropy, "binary_cross_entropy")])
def test_a_non_finite_loss_names_its_function(loss_fn: object, name: str) -> None:
    pred = Matrix.from_numpy(np.array([[np.nan, 0.5]], np.float32), nonfinite="allow")
    assert callable(loss_fn)
    with pytest.raises(nn.NetworkError, match=f"^{name} is not finite"):
        loss_fn(pred, Matrix.from_list([[1.0, 0.0]]))


@pytest.mark.parametrize("loss_fn", [nn.cross_entropy, nn.binary_cross_entropy])
def test_the_loss_of_no_rows_is_refused(loss_fn: object) -> None:
    assert callable(loss_fn)
    with pytest.raises(nn.NetworkError, match=r"^the loss of a batch with no rows is undefined$"):
        loss_fn(Matrix.zeros(0, 2), Matrix.zeros(0, 2))
