"""A layer kind's declared fields (nn._fields) and the walks derived from them: the checkpoint
layout they give is the one nn has always written, each gradient record has the fields the
declaration names, PyTorch's names and layouts are the ones its modules use, a declaration
that breaks the rules is refused, and inference runs no backward half."""

from __future__ import annotations

import typing
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pytest

import nn
import typedarr as ta
from nn import _batchnorm, _batchnorm2d
from nn._fields import Role, parameter, running, specs
from nn._layers import KINDS
from nn._update import zero_moments, zeros_like
from typedarr import Matrix, Tensor4, Vector

F64 = np.float64
# The layout every checkpoint so far was written in (the SCHEMA nn._checkpoint used to spell
# out): field names in file order, and how each is stored. Conv2d's stride and padding came
# later, declared `added`: a file without them loads (tests/test_nn_conv_steps.py).
LAYOUT = {
    "Linear": [("w", 2), ("b", 1)],
    "LinearNoBias": [("w", 2)],
    "Batchnorm1d": [("mu", 1), ("var", 1), ("gamma", 1), ("beta", 1), ("eps", 0),
                    ("momentum", 0)],
    "Activation": [("f", 0)],
    "Dropout": [("p", 0)],
    "Conv2d": [("w", 4), ("b", 1), ("stride", 0), ("padding", 0)],  # the two settings added
                                                                    # later: optional in files
    "AvgPool2d": [("k", 0)],
    "MaxPool2d": [("k", 0)],
    "Batchnorm2d": [("mu", 1), ("var", 1), ("gamma", 1), ("beta", 1), ("eps", 0),
                    ("momentum", 0)],
    "Flatten": [],
}


def examples() -> list[nn.Layer]:
    g = np.random.default_rng(0)
    return [nn.Linear(Matrix.from_numpy(g.normal(size=(3, 2))),
                      Vector.from_numpy(g.normal(size=2))),
            nn.LinearNoBias(Matrix.from_numpy(g.normal(size=(3, 2)))),
            nn.Batchnorm1d.init(3, dtype=F64), nn.Activation(nn.Tanh), nn.Dropout(0.5),
            nn.Conv2d(Tensor4.from_numpy(g.normal(size=(4, 2, 3, 3))),
                      Vector.from_numpy(g.normal(size=4)), stride=2, padding=1),
            nn.AvgPool2d(2), nn.MaxPool2d(2), nn.Batchnorm2d.init(4, dtype=F64), nn.Flatten()]


def test_every_kind_of_layer_is_covered() -> None:
    assert set(KINDS) == set(LAYOUT) == {type(layer).__name__ for layer in examples()}


@pytest.mark.parametrize("kind", sorted(LAYOUT))
def test_the_declared_fields_give_the_checkpoint_layout_nn_always_wrote(kind: str) -> None:
    assert [(s.name, s.rank) for s in specs(KINDS[kind])] == LAYOUT[kind]


@pytest.mark.parametrize("layer", examples(), ids=lambda layer: type(layer).__name__)
def test_each_gradient_record_has_the_fields_the_declaration_names(layer: nn.Layer) -> None:
    declared = [s.gradient for s in specs(type(layer)) if s.role is not Role.SETTING]
    record = layer.gradients
    assert sorted(f.name for f in fields(record)) == sorted(declared)
    hints = typing.get_type_hints(record)
    for s in specs(type(layer)):
        if s.role is not Role.SETTING:  # a gradient has its parameter's kind of array
            assert typing.get_origin(hints[s.gradient]) is s.array, (record, s.name)


@pytest.mark.parametrize("layer", examples(), ids=lambda layer: type(layer).__name__)
def test_moments_start_as_zeros_of_each_gradient_s_shape(layer: nn.Layer) -> None:
    g = np.random.default_rng(1)
    x: Matrix | Tensor4 = Matrix.from_numpy(g.normal(size=(2, 3)))
    net: list[nn.Layer] = [layer]
    if isinstance(layer, nn.Conv2d | nn.AvgPool2d | nn.MaxPool2d | nn.Batchnorm2d | nn.Flatten):
        channels = 2 if isinstance(layer, nn.Conv2d) else 4
        x = Tensor4.from_numpy(g.normal(size=(2, channels, 4, 4)))
        net = [layer] if isinstance(layer, nn.Flatten) else [layer, nn.Flatten()]
    out = nn.forward(net, x)
    _, grads = nn.pass_(nn.Phase.TRAIN, net, x, Matrix.from_numpy(np.full(out.shape, 1 / out.cols)),
                        rng=np.random.default_rng(2))
    zero = zeros_like(grads[0])
    ((started,),) = zero_moments([layer], 1)  # the same, made from the layer itself
    assert type(zero) is type(grads[0]) is type(started) is layer.gradients
    for f in fields(zero):
        got, like = np.asarray(getattr(zero, f.name)), np.asarray(getattr(grads[0], f.name))
        assert got.shape == like.shape and not got.any()
        made = np.asarray(getattr(started, f.name))
        assert made.shape == like.shape and made.dtype == like.dtype and not made.any()


def test_pytorch_names_and_layouts_are_those_of_its_modules() -> None:
    torch = pytest.importorskip("torch")
    twins = {nn.Linear: torch.nn.Linear(3, 2), nn.LinearNoBias: torch.nn.Linear(3, 2, bias=False),
             nn.Batchnorm1d: torch.nn.BatchNorm1d(3), nn.Conv2d: torch.nn.Conv2d(2, 4, 3),
             nn.Batchnorm2d: torch.nn.BatchNorm2d(4)}
    for layer in examples():
        arrays = [s for s in specs(type(layer)) if s.role is not Role.SETTING]
        if not arrays:
            assert type(layer) not in twins
            continue
        state = twins[type(layer)].state_dict()
        assert {s.torch for s in arrays} == set(state) - {"num_batches_tracked"}
        for s in arrays:
            ours = np.asarray(getattr(layer, s.name))
            assert (ours.T if s.transposed else ours).shape == tuple(state[s.torch].shape)


def test_a_declaration_that_breaks_the_rules_is_refused() -> None:
    @dataclass(frozen=True)
    class Unmarked:
        w: Matrix[Any, Any]  # an array that is neither a parameter nor a running statistic

    @dataclass(frozen=True)
    class NotAnArray:
        eps: float = field(metadata=parameter("weight"))

    @dataclass(frozen=True)
    class NoMomentum:
        mu: Vector[Any] = field(metadata=running("running_mean"))

    for kind, words in ((Unmarked, "arrays are parameters"), (NotAnArray, "arrays are"),
                        (NoMomentum, "needs a momentum")):
        with pytest.raises(TypeError, match=words):
            specs(kind)


def test_inference_runs_no_backward_half(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("forward computed a gradient")

    for module in (_batchnorm, _batchnorm2d):
        monkeypatch.setattr(module, "backward_eval", refuse)
        monkeypatch.setattr(module, "backward", refuse)
    monkeypatch.setattr(ta, "conv2d_grad_input", refuse)  # what _pass calls
    monkeypatch.setattr(ta, "avg_pool2d_grad", refuse)
    monkeypatch.setattr(ta, "max_pool2d_grad", refuse)
    layers = examples()
    dense = nn.Linear(Matrix.ones(4, 3, dtype=F64), Vector.zeros(3, dtype=F64))
    for pool in (layers[6], layers[7]):  # AvgPool2d, MaxPool2d
        cnn = [layers[5], layers[8], layers[3], pool, layers[9], dense, layers[2], layers[4],
               nn.Activation(nn.Relu), nn.LinearNoBias(Matrix.ones(3, 2, dtype=F64))]
        x = Tensor4.from_numpy(np.random.default_rng(3).normal(size=(5, 2, 5, 5)))
        pred = nn.forward(cnn, x)
        assert pred.shape == (5, 2)
        np.testing.assert_allclose(np.asarray(pred).sum(axis=1), 1.0, rtol=1e-6)
