"""`nn.compile_step`: the compiled training step computes what `pass_` + `update` compute,
step after step, draws the same dropout masks, and reports a diverged network as the eager
step does, naming the layer."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import nn
from examples.train import State, train_epoch
from typedarr import Matrix

RTOL = {np.float32: 2e-4, np.float64: 1e-9}


def _net(dtype: Any, *, bn: int, dropout: float = 0.0) -> nn.Network:
    return nn.mlp(12, 4, [9, 7], [nn.Relu, nn.Tanh, nn.Identity], num_bn_layers=bn, seed=3,
                  dropout=dropout, dtype=dtype)


def _batch(dtype: Any, seed: int, rows: int = 16) -> tuple[Matrix, Matrix]:
    rng = np.random.default_rng(seed)
    x = Matrix.from_numpy(rng.standard_normal((rows, 12)).astype(dtype))
    return x, nn.one_hot(rng.integers(0, 4, size=rows), 4, dtype=dtype)


def _assert_same_network(a: nn.Network, b: nn.Network, rtol: float) -> None:
    assert [type(la) for la in a] == [type(lb) for lb in b]
    for la, lb in zip(a, b, strict=True):
        for field in ("w", "b", "mu", "var", "gamma", "beta"):
            if hasattr(la, field):
                np.testing.assert_allclose(np.asarray(getattr(la, field)),
                                           np.asarray(getattr(lb, field)), rtol=rtol, atol=rtol)


# Each case compiles a whole step (several seconds): every optimiser once, both dtypes.
@pytest.mark.parametrize(("opt", "bn", "dropout", "dtype"), [
    (nn.SGD(lr=0.05), 2, 0.0, np.float32),
    (nn.SGD(lr=0.05, momentum=0.9), 1, 0.3, np.float64),
    (nn.Adam(lr=0.01), 2, 0.0, np.float64),
    (nn.RMSprop(lr=0.01), 0, 0.2, np.float32),
])
def test_compiled_steps_equal_eager_steps(opt: Any, bn: int, dropout: float, dtype: Any
                                          ) -> None:
    step = nn.compile_step()
    eager_net = compiled_net = _net(dtype, bn=bn, dropout=dropout)
    eager_opt = compiled_opt = opt
    eager_rng, compiled_rng = np.random.default_rng(5), np.random.default_rng(5)
    for k in range(5):
        x, t = _batch(dtype, k)
        pred, grads = nn.pass_(nn.Phase.TRAIN, eager_net, x, t, rng=eager_rng)
        eager_net, eager_opt = eager_opt.update(eager_net, grads)
        compiled_net, compiled_opt, compiled_pred = step(compiled_net, compiled_opt, x, t,
                                                         rng=compiled_rng)
        np.testing.assert_allclose(np.asarray(compiled_pred), np.asarray(pred),
                                   rtol=RTOL[dtype], atol=RTOL[dtype])
        assert nn.loss(compiled_pred, t) == pytest.approx(nn.loss(pred, t), rel=RTOL[dtype])
    _assert_same_network(compiled_net, eager_net, 10 * RTOL[dtype])
    assert type(compiled_opt) is type(eager_opt)


def test_binary_cross_entropy_steps_compile_too() -> None:
    loss = nn.SigmoidBinaryCrossEntropy()
    net = nn.mlp(5, 1, [4], [nn.Tanh, nn.Identity], num_bn_layers=1, seed=1, dtype=np.float64)
    rng = np.random.default_rng(2)
    x = Matrix.from_numpy(rng.standard_normal((8, 5)))
    t = Matrix.from_numpy(rng.integers(0, 2, size=(8, 1)).astype(np.float64))
    new_net, _, pred = nn.compile_step(loss)(net, nn.SGD(lr=0.1), x, t)
    want, grads = nn.pass_(nn.Phase.TRAIN, net, x, t, loss=loss)
    np.testing.assert_allclose(np.asarray(pred), np.asarray(want), rtol=1e-12)
    _assert_same_network(new_net, nn.SGD(lr=0.1).update(net, grads)[0], 1e-12)


def test_a_diverged_step_names_the_layer_as_the_eager_step_does() -> None:
    step = nn.compile_step()
    x, t = _batch(np.float32, 0)
    bad = Matrix.from_numpy(np.where(np.arange(16 * 12).reshape(16, 12) == 5, np.nan,
                                     np.asarray(x)).astype(np.float32), nonfinite="allow")
    with pytest.raises(nn.NetworkError, match="input x"):
        step(_net(np.float32, bn=0), nn.SGD(lr=0.1), bad, t)
    net: nn.Network = [nn.Linear(Matrix.from_numpy(np.full((12, 4), 3e38, np.float32)),
                                 nn.zero_bias(4, seed=0))]
    with pytest.raises(nn.NetworkError, match="layer 0"):
        step(net, nn.SGD(lr=0.1), x, t)


def test_a_target_that_is_not_a_distribution_is_refused_before_the_call() -> None:
    x, t = _batch(np.float32, 1)
    with pytest.raises(nn.NetworkError, match="target"):
        nn.compile_step()(_net(np.float32, bn=0), nn.SGD(lr=0.1), x, t * 2.0)


def test_the_training_loop_gives_the_same_losses_compiled_and_eager() -> None:
    rng = np.random.default_rng(9)
    x = Matrix.from_numpy(rng.standard_normal((64, 12)).astype(np.float32))
    t = nn.one_hot(rng.integers(0, 4, size=64), 4)
    results = []
    for eager in (True, False):
        state = State(_net(np.float32, bn=2, dropout=0.1), nn.SGD(lr=0.05))
        _, loss, acc = train_epoch(state, x, t, batch_size=16, rng=np.random.default_rng(4),
                                   eager=eager)
        results.append((loss, acc))
    assert results[1][0] == pytest.approx(results[0][0], rel=1e-4)
    assert results[1][1] == results[0][1]
