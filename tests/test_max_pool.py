"""Max pooling: `typedarr.max_pool2d` and its adjoint (the reference's definition, the fused
kernels and compiled programs, ties and NaN routed as documented, the float64 gradient
check, PyTorch's values), and `nn.MaxPool2d` in a network (compiled equals eager, its
checkpoint, its errors)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _finite_differences import numeric_gradient
from hypothesis import given, settings
from hypothesis import strategies as st

import nn
import typedarr as ta
from typedarr import Matrix, Tensor4, Vector, _reference

Array = np.ndarray[Any, np.dtype[Any]]


def _t4(a: Array) -> Tensor4[Any, Any, Any, Any]:
    return Tensor4.from_numpy(a, nonfinite="allow")


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 3), c=st.integers(1, 3), h=st.integers(2, 9), w=st.integers(2, 9),
       k=st.integers(1, 4), levels=st.sampled_from([2, 5, 1000]), nan=st.booleans(),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**16))
def test_eager_and_compiled_equal_the_reference_with_ties_and_nan(
        n: int, c: int, h: int, w: int, k: int, levels: int, nan: bool, dtype: Any,
        seed: int) -> None:
    k = min(k, h, w)
    rng = np.random.default_rng(seed)
    x = (rng.integers(0, levels, (n, c, h, w)) - levels // 2).astype(dtype)  # ties, negatives
    if nan:
        x[tuple(rng.integers(0, s) for s in x.shape)] = np.nan
    dy = rng.normal(size=(n, c, h // k, w // k)).astype(dtype)
    want_y, want_dx = _reference.max_pool2d(x, k), _reference.max_pool2d_grad(x, dy, k)
    y, dx = ta.max_pool2d(_t4(x), k), ta.max_pool2d_grad(_t4(x), _t4(dy), k)
    np.testing.assert_array_equal(y.to_numpy(), want_y)
    np.testing.assert_array_equal(dx.to_numpy(), want_dx)
    compiled = ta.jit(lambda a, b: (ta.max_pool2d(a * 1.0, k), ta.max_pool2d_grad(a, b, k)))
    cy, cdx = compiled(_t4(x), _t4(dy))
    np.testing.assert_array_equal(cy.to_numpy(), want_y)
    np.testing.assert_array_equal(cdx.to_numpy(), want_dx)


def test_the_reference_is_the_window_maximum_and_routes_ties_to_the_first() -> None:
    x = np.array([[[[1, 3, 2, 2, 9],
                    [3, 0, 2, 2, 9],
                    [-1, -2, np.nan, 5, 9],
                    [-3, -1, 5, np.nan, 9]]]])
    np.testing.assert_array_equal(_reference.max_pool2d(x, 2)[0, 0],
                                  [[3, 2], [-1, np.nan]])
    dx = _reference.max_pool2d_grad(x, np.array([[[[10.0, 20.0], [30.0, 40.0]]]]), 2)
    np.testing.assert_array_equal(dx[0, 0], [[0, 10, 20, 0, 0],   # 3 ties 3: the first
                                             [0, 0, 0, 0, 0],     # 2 2 2 2: the first
                                             [30, 0, 40, 0, 0],   # the first NaN takes it
                                             [0, 0, 0, 0, 0]])    # the dropped column: 0


@pytest.mark.parametrize("k", [1, 2, 3])
def test_max_pool2d_grad_is_the_finite_difference_gradient(k: int) -> None:
    rng = np.random.default_rng(k)
    x = rng.permutation(2 * 3 * 7 * 6).reshape(2, 3, 7, 6) / 10.0  # distinct: no ties
    r = rng.normal(size=(2, 3, 7 // k, 6 // k))

    def loss(xv: Array) -> float:
        return float((ta.max_pool2d(_t4(xv), k).to_numpy() * r).sum())

    dx = ta.max_pool2d_grad(_t4(x), _t4(r), k).to_numpy()
    np.testing.assert_allclose(dx, numeric_gradient(loss, x, eps=1e-3), atol=1e-8)


def test_max_pool2d_equals_pytorch_forward_and_backward_ties_included() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x = rng.integers(0, 3, (2, 3, 8, 7)).astype(np.float32)
    dy = rng.normal(size=(2, 3, 4, 3)).astype(np.float32)
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.nn.functional.max_pool2d(tx, 2)
    ty.backward(torch.tensor(dy))
    np.testing.assert_array_equal(ta.max_pool2d(_t4(x), 2).to_numpy(), ty.detach().numpy())
    np.testing.assert_array_equal(ta.max_pool2d_grad(_t4(x), _t4(dy), 2).to_numpy(),
                                  tx.grad.numpy())


@pytest.mark.parametrize(("call", "says"), [
    (lambda: ta.max_pool2d(Tensor4.ones(1, 1, 2, 2), 3), "does not fit"),
    (lambda: ta.max_pool2d(Tensor4.ones(1, 1, 2, 2), 0), "k must be an int >= 1"),
    (lambda: ta.max_pool2d(Tensor4.ones(1, 1, 2, 2), True), "k must be an int >= 1"),
    (lambda: ta.max_pool2d_grad(Tensor4.ones(1, 1, 4, 4), Tensor4.ones(1, 1, 3, 3), 2),
     "is not the 2x2 pooling"),
])
def test_bad_windows_and_gradients_are_clear_errors(call: Any, says: str) -> None:
    with pytest.raises((ta.ShapeError, ValueError), match=says):
        call()


def _cnn(seed: int) -> nn.Network:
    w = ta.compute(Tensor4.random_normal(4, 1, 3, 3, seed=seed) * 0.3)
    return [nn.Conv2d(w, Vector.zeros(4)), nn.Activation(nn.Relu), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(ta.compute(Matrix.random_normal(36, 3, seed=seed) * 0.1),
                                    Vector.zeros(3))]


def test_a_cnn_with_max_pooling_trains_compiled_as_eager(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    x = Tensor4.from_numpy(rng.random((8, 1, 8, 8), dtype=np.float32))
    t = nn.one_hot(rng.integers(0, 3, 8), 3)
    step = nn.compile_step()
    compiled, eager = _cnn(0), _cnn(0)
    opt_c, opt_e = nn.SGD(lr=0.1), nn.SGD(lr=0.1)
    for _ in range(3):
        compiled, opt_c, pred_c = step(compiled, opt_c, x, t)
        pred_e, grads = nn.pass_(nn.Phase.TRAIN, eager, x, t)
        eager, opt_e = opt_e.update(eager, grads)
        np.testing.assert_allclose(np.asarray(pred_c), np.asarray(pred_e), rtol=1e-4,
                                   atol=1e-6)
    conv_c, conv_e = compiled[0], eager[0]
    assert isinstance(conv_c, nn.Conv2d) and isinstance(conv_e, nn.Conv2d)
    np.testing.assert_allclose(np.asarray(conv_c.w), np.asarray(conv_e.w), rtol=1e-4,
                               atol=1e-6)
    assert step.traces == 1
    nn.save(compiled, tmp_path / "cnn.safetensors")
    back = nn.load(tmp_path / "cnn.safetensors")
    assert back[2] == nn.MaxPool2d(2)
    assert nn.check_network(back, (1, 8, 8)) == 3  # 4 channels of 6x6 pooled to 3x3, Linear -> 3
    with pytest.raises(nn.NetworkError, match=r"layer 2 \(MaxPool2d 2x2\).*does not fit"):
        nn.check_network(back[:3], (1, 3, 3))


@pytest.mark.parametrize("k", [0, -1, True, 2.0])
def test_max_pool_layers_refuse_bad_windows(k: Any) -> None:
    with pytest.raises(nn.NetworkError, match="MaxPool2d: k must be an int >= 1"):
        nn.MaxPool2d(k)
