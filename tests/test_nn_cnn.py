"""Seed 003's convolutional layers in nn: gradients against central finite differences in
float64 (each new layer in both phases, and a whole small CNN), optimisers and running
statistics, `check_network` with images, and checkpoints of convolutional networks.

The finite differences are those of tests/test_nn_gradients.py: `h = 1e-6`, every analytic
gradient within `1e-7 + 1e-6 * |numeric|`. Images are tiny (a few 8x8 samples) so that the
hundreds of passes a check makes stay within CI's time.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nn
from nn._pass import layer_output as _infer
from typedarr import Matrix, Tensor4, Vector, _compute
from typedarr._ir import Node, Structural, postorder

H = 1e-6
ATOL, RTOL = 1e-7, 1e-6
F64 = np.float64

# (layer field, Gradients field) for every learnable parameter of each layer kind
PARAMS: dict[type, list[tuple[str, str]]] = {
    nn.Linear: [("w", "dw"), ("b", "db")],
    nn.Conv2d: [("w", "dw"), ("b", "db")],
    nn.Batchnorm1d: [("gamma", "dgamma"), ("beta", "dbeta")],
    nn.Batchnorm2d: [("gamma", "dgamma"), ("beta", "dbeta")],
}


def rand(*shape: int, seed: int, scale: float = 1.0) -> np.ndarray[Any, Any]:
    return np.random.default_rng(seed).normal(0.0, scale, shape)


def conv(c_in: int, c_out: int, k: int, seed: int) -> nn.Conv2d:
    return nn.Conv2d(Tensor4.from_numpy(rand(c_out, c_in, k, k, seed=seed, scale=0.5)),
                     Vector.from_numpy(rand(c_out, seed=seed + 1, scale=0.3)))


def linear(n_in: int, n_out: int, seed: int) -> nn.Linear:
    return nn.Linear(Matrix.from_numpy(rand(n_in, n_out, seed=seed, scale=0.7)),
                     Vector.from_numpy(rand(n_out, seed=seed + 1, scale=0.3)))


def bn_vectors(n: int, seed: int) -> tuple[Vector, Vector, Vector, Vector]:
    """Non-trivial running statistics and affine parameters, so EVAL checks use them."""
    g = np.random.default_rng(seed)
    return (Vector.from_numpy(g.normal(0, 0.5, n)), Vector.from_numpy(g.uniform(0.5, 2.0, n)),
            Vector.from_numpy(g.uniform(0.5, 1.5, n)), Vector.from_numpy(g.normal(0, 0.3, n)))


def images(n: int, c: int, size: int, classes: int, seed: int) -> tuple[Tensor4, Matrix]:
    labels = np.random.default_rng(seed + 7).integers(0, classes, n)
    return (Tensor4.from_numpy(rand(n, c, size, size, seed=seed)),
            nn.one_hot(labels, classes, dtype=F64))


def with_value(net: list[nn.Layer], i: int, field: str, value: np.ndarray[Any, Any]
               ) -> list[nn.Layer]:
    kinds = {1: Vector, 2: Matrix, 4: Tensor4}
    new = list(net)
    new[i] = replace(net[i], **{field: kinds[value.ndim].from_numpy(value)})  # type: ignore[attr-defined]
    return new


def check_gradients(net: list[nn.Layer], x: Tensor4, target: Matrix, *,
                    phase: nn.Phase = nn.Phase.TRAIN, rng_seed: int | None = None) -> int:
    """Assert every parameter gradient of `net` matches finite differences; count them."""
    def run(candidate: list[nn.Layer]) -> tuple[Matrix, list[nn.Gradients]]:
        rng = None if rng_seed is None else np.random.default_rng(rng_seed)
        return nn.pass_(phase, candidate, x, target, rng=rng)

    def objective(candidate: list[nn.Layer]) -> float:
        return nn.loss(run(candidate)[0], target)

    _, grads = run(net)
    checked = 0
    for i, layer in enumerate(net):
        for field, grad_field in PARAMS.get(type(layer), []):
            analytic = np.asarray(getattr(grads[i], grad_field))
            base = np.asarray(getattr(layer, field)).astype(F64)
            numeric = np.zeros_like(base)
            for k in np.ndindex(base.shape):
                up, down = base.copy(), base.copy()
                up[k] += H
                down[k] -= H
                numeric[k] = (objective(with_value(net, i, field, up))
                              - objective(with_value(net, i, field, down))) / (2 * H)
            np.testing.assert_allclose(analytic, numeric, rtol=RTOL, atol=ATOL,
                                       err_msg=f"layer {i} {type(layer).__name__}.{field}")
            checked += numeric.size
    return checked


def small_cnn(seed: int) -> list[nn.Layer]:
    """Seed 003's network in miniature, for (N, 1, 8, 8) images and 3 classes."""
    return [conv(1, 2, 3, seed), nn.Batchnorm2d(*bn_vectors(2, seed + 2)),
            nn.Activation(nn.Relu), nn.AvgPool2d(2),                      # (2, 3, 3)
            conv(2, 3, 2, seed + 3), nn.Batchnorm2d(*bn_vectors(3, seed + 5)),
            nn.Activation(nn.Relu), nn.AvgPool2d(2),                      # (3, 1, 1)
            nn.Flatten(), linear(3, 4, seed + 6), nn.Batchnorm1d(*bn_vectors(4, seed + 8)),
            nn.Activation(nn.Relu), linear(4, 3, seed + 9)]


@pytest.mark.parametrize("phase", list(nn.Phase), ids=lambda p: p.name)
def test_conv2d(phase: nn.Phase) -> None:
    """Two convolutions: the second's input gradient reaches the first's weights."""
    x, t = images(2, 2, 6, 3, seed=1)
    net: list[nn.Layer] = [conv(2, 3, 3, seed=2), conv(3, 2, 2, seed=4), nn.Flatten(),
                           linear(18, 3, seed=6)]
    assert check_gradients(net, x, t, phase=phase) == (54 + 3) + (24 + 2) + (54 + 3)


@pytest.mark.parametrize("phase", list(nn.Phase), ids=lambda p: p.name)
def test_batchnorm2d(phase: nn.Phase) -> None:
    x, t = images(3, 2, 5, 3, seed=7)
    net: list[nn.Layer] = [conv(2, 2, 2, seed=8), nn.Batchnorm2d(*bn_vectors(2, seed=9)),
                           nn.Flatten(), linear(32, 3, seed=10)]
    assert check_gradients(net, x, t, phase=phase) == (16 + 2) + 4 + (96 + 3)


@pytest.mark.parametrize("k", [2, 3])
def test_avg_pool2d_and_flatten(k: int) -> None:
    """Pooling (a remainder row and column dropped when k = 3) and flattening between a
    convolution and a linear layer: the convolution's gradients pass back through both."""
    x, t = images(2, 1, 8, 3, seed=11)
    side = 7 // k
    net: list[nn.Layer] = [conv(1, 2, 2, seed=12), nn.AvgPool2d(k), nn.Flatten(),
                           linear(2 * side * side, 3, seed=13)]
    assert check_gradients(net, x, t) == (8 + 2) + (2 * side * side * 3 + 3)


@pytest.mark.parametrize("f", list(nn.FActivation), ids=lambda f: f.name)
def test_activation_on_tensor4(f: nn.FActivation) -> None:
    x, t = images(2, 1, 5, 3, seed=14)
    net: list[nn.Layer] = [conv(1, 2, 2, seed=15), nn.Activation(f), nn.Flatten(),
                           linear(32, 3, seed=16)]
    assert check_gradients(net, x, t) == (8 + 2) + (96 + 3)


def test_dropout_on_tensor4_with_a_fixed_mask() -> None:
    x, t = images(2, 1, 5, 3, seed=17)
    net: list[nn.Layer] = [conv(1, 2, 2, seed=18), nn.Dropout(0.4), nn.Flatten(),
                           linear(32, 3, seed=19)]
    assert check_gradients(net, x, t, rng_seed=3) == (8 + 2) + (96 + 3)


def test_dropout_mask_has_the_tensor4_shape() -> None:
    """Dropout right after the input: the prediction is the network's on the masked image."""
    x, t = images(2, 1, 4, 2, seed=20)
    head: list[nn.Layer] = [nn.Flatten(), linear(16, 2, seed=21)]
    pred, _ = nn.pass_(nn.Phase.TRAIN, [nn.Dropout(0.5), *head], x, t,
                       rng=np.random.default_rng(5))
    u = np.asarray(Tensor4.random_uniform(2, 1, 4, 4, seed=np.random.default_rng(5),
                                          dtype=F64))
    masked = Tensor4.from_numpy(np.asarray(x) * (u >= 0.5) * 2.0)
    np.testing.assert_allclose(np.asarray(pred), np.asarray(nn.forward(head, masked)),
                               rtol=1e-12)


@pytest.mark.parametrize("phase", list(nn.Phase), ids=lambda p: p.name)
def test_whole_cnn(phase: nn.Phase) -> None:
    """conv, BN2, relu, pool, conv, BN2, relu, pool, flatten, linear, BN1, relu, linear."""
    x, t = images(3, 1, 8, 3, seed=22)
    checked = check_gradients(small_cnn(seed=23), x, t, phase=phase)
    assert checked == (18 + 2) + 4 + (24 + 3) + 6 + (12 + 4) + 8 + (12 + 3)


def test_forward_is_the_eval_pass() -> None:
    x, t = images(3, 1, 8, 3, seed=24)
    net = small_cnn(seed=25)
    pred, _ = nn.pass_(nn.Phase.EVAL, net, x, t)
    np.testing.assert_allclose(np.asarray(nn.forward(net, x)), np.asarray(pred), rtol=1e-12)


def test_batchnorm2d_normalises_each_channel_in_training() -> None:
    """Seed 003's 2x2x2x2 sanity input: the statistics are per channel over samples, rows and
    columns (channel 0 holds 0..3 and 8..11), and normalising with them gives each channel
    mean 0 and variance 1."""
    x = Tensor4.from_numpy(np.arange(16, dtype=F64).reshape(2, 2, 2, 2))
    bn2 = nn.Batchnorm2d.init(2, dtype=F64)
    _, grads = nn.pass_(nn.Phase.TRAIN, [bn2, nn.Flatten(), linear(8, 2, seed=26)], x,
                        nn.one_hot([0, 1], 2, dtype=F64))
    g = grads[0]
    assert isinstance(g, nn.BN2)
    np.testing.assert_allclose(np.asarray(g.batch_mu), [5.5, 9.5])
    np.testing.assert_allclose(np.asarray(g.batch_var), [17.25, 17.25])
    normalised = nn.Batchnorm2d(g.batch_mu, g.batch_var, bn2.gamma, bn2.beta, eps=1e-12)
    out = np.asarray(_infer(0, normalised, x))  # the layer's own output, before any softmax
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), [0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(out.var(axis=(0, 2, 3)), [1.0, 1.0], rtol=1e-9)


@pytest.mark.parametrize("opt", [nn.SGD(lr=0.1), nn.SGD(lr=0.1, momentum=0.9),
                                 nn.Adam(lr=0.01), nn.RMSprop(lr=0.01)],
                         ids=["sgd", "momentum", "adam", "rmsprop"])
def test_optimisers_update_conv_and_batchnorm2d(opt: Any) -> None:
    x, t = images(3, 1, 8, 3, seed=27)
    net = small_cnn(seed=28)
    _, grads = nn.pass_(nn.Phase.TRAIN, net, x, t)
    new, opt2 = opt.update(net, grads)
    new, _ = opt2.update(new, grads)  # a second step uses the moments of the first
    for i in (0, 1, 4, 5):
        assert type(new[i]) is type(net[i])
        # a convolution's bias before batchnorm gets no gradient in training (the batch
        # mean removes it), so only its weights must move
        for field in ("w",) if i in (0, 4) else ("gamma", "beta"):
            before, after = np.asarray(getattr(net[i], field)), np.asarray(getattr(new[i], field))
            assert after.shape == before.shape and after.dtype == before.dtype
            assert not np.allclose(after, before), f"layer {i} {field} did not move"
    if isinstance(opt, nn.SGD) and opt.momentum == 0.0:
        g0, c0, c2 = grads[0], net[0], new[0]
        assert isinstance(g0, nn.Conv2dGradients)
        assert isinstance(c0, nn.Conv2d) and isinstance(c2, nn.Conv2d)
        want = np.asarray(c0.w) - 0.2 * np.asarray(g0.dw)  # two steps of lr 0.1
        np.testing.assert_allclose(np.asarray(c2.w), want, rtol=1e-12)


def test_running_statistics_of_batchnorm2d() -> None:
    x, t = images(3, 1, 8, 3, seed=29)
    net = small_cnn(seed=30)
    _, grads = nn.pass_(nn.Phase.TRAIN, net, x, t)
    for moved in (nn.update_batch_statistics(net, grads), nn.SGD(lr=0.1).update(net, grads)[0]):
        old, new, g = net[1], moved[1], grads[1]
        assert isinstance(old, nn.Batchnorm2d) and isinstance(new, nn.Batchnorm2d)
        assert isinstance(g, nn.BN2)
        for running, batch in (("mu", "batch_mu"), ("var", "batch_var")):
            want = 0.9 * np.asarray(getattr(old, running)) + 0.1 * np.asarray(getattr(g, batch))
            np.testing.assert_allclose(np.asarray(getattr(new, running)), want, rtol=1e-12)


def test_check_network_with_images() -> None:
    net = small_cnn(seed=31)
    assert nn.check_network(net, (1, 8, 8)) == 3
    assert nn.check_network(net[:8], (1, 8, 8)) == (3, 1, 1)
    with pytest.raises(nn.NetworkError, match=r"layer 0 \(Conv2d 1->2 3x3\): expects images "
                                              r"of 1 channels"):
        nn.check_network(net, (2, 8, 8))
    with pytest.raises(nn.NetworkError, match=r"layer 9 \(Linear 3->4\): expects 3 input "
                                              r"features, got 12"):
        nn.check_network(net, (1, 12, 12))
    with pytest.raises(nn.NetworkError, match="expects images"):
        nn.check_network(net, 64)
    with pytest.raises(nn.NetworkError, match="window does not fit"):
        nn.check_network([nn.AvgPool2d(3)], (1, 2, 2))


def test_wrong_rank_names_the_layer() -> None:
    x, t = images(2, 1, 8, 3, seed=32)
    with pytest.raises(nn.NetworkError, match=r"layer 0 \(Linear 64->3\).*nn.Flatten"):
        nn.pass_(nn.Phase.TRAIN, [linear(64, 3, seed=33)], x, t)
    with pytest.raises(nn.NetworkError, match=r"layer 0 \(Conv2d.*takes a Tensor4"):
        nn.forward([conv(1, 2, 3, seed=34)], Matrix.zeros(2, 64))
    with pytest.raises(nn.NetworkError, match="the output: takes a Matrix"):
        nn.forward([conv(1, 2, 3, seed=34)], x)
    with pytest.raises(nn.NetworkError, match=r"Conv2d 2->3.*channels"):
        nn.pass_(nn.Phase.TRAIN, [conv(2, 3, 3, seed=35)], x, t)


def test_layer_checks() -> None:
    with pytest.raises(nn.NetworkError, match="output channels"):
        nn.Conv2d(Tensor4.zeros(3, 1, 2, 2), Vector.zeros(2))
    with pytest.raises(nn.NetworkError, match="k must be an int"):
        nn.AvgPool2d(0)
    with pytest.raises(nn.NetworkError, match="same size"):
        nn.Batchnorm2d(Vector.zeros(2), Vector.ones(2), Vector.ones(3), Vector.zeros(2))
    with pytest.raises(TypeError, match=r"Conv2d\.w must be a manifest typedarr Tensor4"):
        nn.Conv2d(Matrix.zeros(2, 2), Vector.zeros(2))  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["net.safetensors", "net.npz"])
def test_save_and_load_a_cnn(tmp_path: Path, name: str) -> None:
    net = [*small_cnn(seed=36)[:11], nn.Dropout(0.25), *small_cnn(seed=36)[11:]]
    nn.save(net, tmp_path / name)
    loaded = nn.load(tmp_path / name)
    assert [repr(layer) for layer in loaded] == [repr(layer) for layer in net]
    x, _ = images(3, 1, 8, 3, seed=37)
    np.testing.assert_array_equal(np.asarray(nn.forward(loaded, x)),
                                  np.asarray(nn.forward(net, x)))


def test_load_refuses_a_cnn_whose_channels_do_not_chain(tmp_path: Path) -> None:
    net = small_cnn(seed=38)
    net[5] = nn.Batchnorm2d.init(4, dtype=F64)
    nn.save(net, tmp_path / "bad.safetensors")
    with pytest.raises(nn.CheckpointError, match=r"layer 5 \(Batchnorm2d 4\): expects images "
                                                 r"of 4 channels"):
        nn.load(tmp_path / "bad.safetensors")


def test_compiled_step_equals_the_eager_step(monkeypatch: pytest.MonkeyPatch) -> None:
    """`nn.compile_step` traces the whole CNN (convolutions, pooling, per-channel batchnorm,
    flatten, dropout) and its optimiser's update into one program: three steps of it give
    the eager steps' networks and predictions. One case only: compiling a CNN's step is slow
    (the other optimisers' updates are the same elementwise rules as for dense layers).
    Flatten and its gradient are the program's two reshapes; its convolutions are the
    network's two."""
    traced: list[tuple[Node, ...]] = []
    compile_program = _compute.compile_program

    def spy(roots: tuple[Node, ...], inputs: tuple[Node, ...], strategy: Any) -> Any:
        traced.append(roots)
        return compile_program(roots, inputs, strategy)

    monkeypatch.setattr(_compute, "compile_program", spy)
    step = nn.compile_step()
    opt: Any = nn.Adam(lr=0.01)
    layers = small_cnn(seed=39)
    net_c = net_e = [*layers[:9], nn.Dropout(0.2), *layers[9:]]
    opt_c = opt_e = opt
    rng_c, rng_e = np.random.default_rng(4), np.random.default_rng(4)
    for k in range(3):
        x, t = images(4, 1, 8, 3, seed=40 + k)
        net_c, opt_c, pred_c = step(net_c, opt_c, x, t, rng=rng_c)
        pred_e, grads = nn.pass_(nn.Phase.TRAIN, net_e, x, t, rng=rng_e)
        net_e, opt_e = opt_e.update(net_e, grads)
        np.testing.assert_allclose(np.asarray(pred_c), np.asarray(pred_e), rtol=1e-9, atol=1e-12)
        for i, (a, b) in enumerate(zip(net_c, net_e, strict=True)):
            assert type(a) is type(b)
            for field in ("w", "b", "mu", "var", "gamma", "beta"):
                if hasattr(b, field):
                    np.testing.assert_allclose(np.asarray(getattr(a, field)),
                                               np.asarray(getattr(b, field)), rtol=1e-9,
                                               atol=1e-12, err_msg=f"step {k} layer {i} {field}")
    assert traced  # Adam's step count is static: a trace per step
    for roots in traced:
        ops = [n.op for n in postorder(roots)]
        assert ops.count(Structural.RESHAPE) == 2 and ops.count(Structural.CONV2D) == 2
