"""`nn.Conv2d`'s stride and padding: gradients against central finite differences in float64
(tests/_finite_differences.py), the layer's sizes and checks, checkpoints (old files without
the two settings included), the compiled step, and PyTorch's `Conv2d(stride=, padding=)` as
the oracle of the forward values.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from _finite_differences import numeric_gradient

import nn
from nn._pass import layer_output
from typedarr import Matrix, Tensor4, Vector

F64 = np.float64
ATOL, RTOL = 1e-7, 1e-6
Array = np.ndarray[Any, Any]
# (stride, padding, image side): remainders a stride leaves (7 with stride 2 and a 2x2
# kernel), padding wider than the kernel's reach (2 with a 2x2 kernel), both at once
STEPS = [(2, 0, 7), (1, 1, 5), (2, 1, 6), (3, 2, 7), (1, 2, 4)]


def _conv(c_in: int, c_out: int, k: int, seed: int, **steps: int) -> nn.Conv2d:
    g = np.random.default_rng(seed)
    return nn.Conv2d(Tensor4.from_numpy(g.normal(0, 0.5, (c_out, c_in, k, k))),
                     Vector.from_numpy(g.normal(0, 0.3, c_out)), **steps)


def _net(stride: int, padding: int, side: int) -> list[nn.Layer]:
    """Two convolutions (the second's input gradient reaches the first), flatten, linear."""
    first = _conv(2, 3, 2, 1, stride=stride, padding=padding)
    second = _conv(3, 2, 2, 2, stride=stride, padding=padding)
    size = nn.check_network([first, second, nn.Flatten()], (2, side, side))
    assert isinstance(size, int)
    w = np.random.default_rng(3).normal(0, 0.7, (size, 3))
    dense = nn.Linear(Matrix.from_numpy(w), Vector.zeros(3, dtype=F64))
    return [first, second, nn.Flatten(), dense]


@pytest.mark.parametrize(("stride", "padding", "side"), STEPS)
def test_gradients_of_strided_padded_convolutions_are_the_finite_differences(
        stride: int, padding: int, side: int) -> None:
    g = np.random.default_rng(4)
    x = Tensor4.from_numpy(g.normal(size=(2, 2, side, side)))
    target = nn.one_hot(g.integers(0, 3, 2), 3, dtype=F64)
    net = _net(stride, padding, side)
    _, grads = nn.pass_(nn.Phase.TRAIN, net, x, target)
    for i in (0, 1):
        for field, grad in (("w", "dw"), ("b", "db")):
            kind = Tensor4 if field == "w" else Vector

            def loss(a: Array, i: int = i, field: str = field, kind: Any = kind) -> float:
                new = list(net)
                new[i] = replace(net[i], **{field: kind.from_numpy(a)})
                return nn.loss(nn.pass_(nn.Phase.TRAIN, new, x, target)[0], target)

            numeric = numeric_gradient(loss, np.asarray(getattr(net[i], field)))
            np.testing.assert_allclose(np.asarray(getattr(grads[i], grad)), numeric,
                                       rtol=RTOL, atol=ATOL, err_msg=f"layer {i} {field}")


@pytest.mark.parametrize(("stride", "padding", "side"), STEPS)
def test_the_output_is_pytorch_s_conv2d_with_the_same_stride_and_padding(
        stride: int, padding: int, side: int) -> None:
    layer = _conv(2, 3, 2, 5, stride=stride, padding=padding)
    x = np.random.default_rng(6).normal(size=(2, 2, side, side))
    ours = np.asarray(layer_output(0, layer, Tensor4.from_numpy(x)))
    theirs = torch.nn.functional.conv2d(
        torch.tensor(x), torch.tensor(np.asarray(layer.w)), torch.tensor(np.asarray(layer.b)),
        stride=stride, padding=padding).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)
    assert nn.check_network([layer], (2, side, side)) == theirs.shape[1:]


def test_the_layer_shows_and_checks_its_steps() -> None:
    w, b = Tensor4.zeros(4, 2, 3, 3), Vector.zeros(4)
    assert repr(nn.Conv2d(w, b)) == "Conv2d(2->4, 3x3, float32)"
    assert repr(nn.Conv2d(w, b, stride=2)) == "Conv2d(2->4, 3x3, stride=2, float32)"
    assert repr(nn.Conv2d(w, b, padding=1)) == "Conv2d(2->4, 3x3, padding=1, float32)"
    assert nn.Conv2d(w, b, stride=2, padding=1).label == "Conv2d 2->4 3x3 stride=2 padding=1"
    for bad in ({"stride": 0}, {"stride": 1.0}, {"stride": True}, {"padding": -1},
                {"padding": 0.5}):
        name, value = next(iter(bad.items()))
        least = 1 if name == "stride" else 0
        with pytest.raises(nn.NetworkError, match=rf"Conv2d: {name} must be an int >= "
                                                  rf"{least}, got {value!r}"):
            nn.Conv2d(w, b, **bad)
    padded = nn.Conv2d(w, b, padding=1)
    assert nn.check_network([padded], (2, 1, 1)) == (4, 1, 1)  # 3x3 fits a padded 1x1
    with pytest.raises(nn.NetworkError, match=r"at least 3x3 \(padded by 1\), got images of 2 "
                                              r"channels of 1x0"):
        nn.check_network([padded], (2, 1, 0))


@pytest.mark.parametrize("name", ["net.safetensors", "net.npz"])
def test_checkpoints_keep_stride_and_padding(tmp_path: Path, name: str) -> None:
    net = _net(2, 1, 6)
    nn.save(net, tmp_path / name)
    loaded = nn.load(tmp_path / name)
    assert [repr(layer) for layer in loaded] == [repr(layer) for layer in net]
    x = Tensor4.from_numpy(np.random.default_rng(7).normal(size=(2, 2, 6, 6)))
    np.testing.assert_array_equal(np.asarray(nn.forward(loaded, x)),
                                  np.asarray(nn.forward(net, x)))


def test_a_checkpoint_written_before_stride_and_padding_loads_with_the_defaults(
        tmp_path: Path) -> None:
    import safetensors.numpy

    path = tmp_path / "old.safetensors"
    g = np.random.default_rng(8)
    safetensors.numpy.save_file(
        {"layer0.w": g.normal(size=(3, 2, 2, 2)), "layer0.b": g.normal(size=3)}, str(path),
        metadata={"format": "typedarr.nn", "version": "2", "kinds": '["Conv2d"]'})
    (layer,) = nn.load(path)
    assert isinstance(layer, nn.Conv2d) and (layer.stride, layer.padding) == (1, 0)
    metadata = {"format": "typedarr.nn", "version": "2", "kinds": '["Conv2d"]',
                "layer0.stride": "1.5"}
    safetensors.numpy.save_file({"layer0.w": g.normal(size=(3, 2, 2, 2)),
                                 "layer0.b": g.normal(size=3)}, str(path), metadata=metadata)
    with pytest.raises(nn.CheckpointError, match="stride must be an int"):
        nn.load(path)


def test_the_compiled_step_of_a_strided_padded_network_equals_the_eager_step() -> None:
    step = nn.compile_step()
    opt: Any = nn.SGD(lr=0.1)
    net_c = net_e = _net(2, 1, 6)
    opt_c = opt_e = opt
    g = np.random.default_rng(9)
    for _ in range(2):
        x = Tensor4.from_numpy(g.normal(size=(3, 2, 6, 6)))
        t = nn.one_hot(g.integers(0, 3, 3), 3, dtype=F64)
        net_c, opt_c, pred_c = step(net_c, opt_c, x, t)
        pred_e, grads = nn.pass_(nn.Phase.TRAIN, net_e, x, t)
        net_e, opt_e = opt_e.update(net_e, grads)
        np.testing.assert_allclose(np.asarray(pred_c), np.asarray(pred_e), rtol=1e-9)
    for a, b in zip(net_c[:2], net_e[:2], strict=True):
        assert isinstance(a, nn.Conv2d) and isinstance(b, nn.Conv2d)
        assert (a.stride, a.padding) == (b.stride, b.padding) == (2, 1)
        np.testing.assert_allclose(np.asarray(a.w), np.asarray(b.w), rtol=1e-9)
