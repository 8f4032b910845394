"""PyTorch in and out (nn.from_state_dict, nn.to_state_dict, nn.save_torch), against PyTorch.

The same network is built in PyTorch and in nn; weights move one way or the other (as a
`state_dict` mapping, or through a safetensors file) and both give the same predictions in
evaluation (batchnorm on its running statistics) within 1e-5 in float32. Each mismatch
between a state_dict and its template is refused naming the first one.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import safetensors.torch
import torch
from test_nn_fields import examples

import nn
from typedarr import Matrix, Tensor4, Vector

Array = np.ndarray[Any, Any]
TORCH = torch.nn


def _dense_torch() -> TORCH.Sequential:
    return TORCH.Sequential(TORCH.Linear(6, 5, bias=False), TORCH.BatchNorm1d(5), TORCH.Tanh(),
                            TORCH.Dropout(0.5), TORCH.Linear(5, 4), TORCH.ReLU(),
                            TORCH.Linear(4, 3))


def _dense_nn(g: np.random.Generator) -> list[nn.Layer]:
    def m(r: int, c: int) -> Matrix:
        return Matrix.from_numpy(g.normal(size=(r, c)).astype(np.float32))

    def v(n: int, low: float = -1.0) -> Vector:
        return Vector.from_numpy(g.uniform(low, 2.0, size=n).astype(np.float32))

    return [nn.LinearNoBias(m(6, 5)), nn.Batchnorm1d(v(5), v(5, 0.5), v(5), v(5)),
            nn.Activation(nn.Tanh), nn.Dropout(0.5), nn.Linear(m(5, 4), v(4)),
            nn.Activation(nn.Relu), nn.Linear(m(4, 3), v(3))]


def _conv_torch() -> TORCH.Sequential:
    return TORCH.Sequential(TORCH.Conv2d(2, 4, 3), TORCH.BatchNorm2d(4), TORCH.ReLU(),
                            TORCH.AvgPool2d(2), TORCH.Flatten(), TORCH.Linear(4 * 3 * 3, 3))


def _conv_nn(g: np.random.Generator) -> list[nn.Layer]:
    def v(n: int, low: float = -1.0) -> Vector:
        return Vector.from_numpy(g.uniform(low, 2.0, size=n).astype(np.float32))

    w = Tensor4.from_numpy(g.normal(size=(4, 2, 3, 3)).astype(np.float32))
    dense = Matrix.from_numpy(g.normal(size=(36, 3)).astype(np.float32))
    return [nn.Conv2d(w, v(4)), nn.Batchnorm2d(v(4), v(4, 0.5), v(4), v(4)),
            nn.Activation(nn.Relu), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(dense, v(3))]


def _strided_torch() -> TORCH.Sequential:
    return TORCH.Sequential(TORCH.Conv2d(2, 4, 3, stride=2, padding=1), TORCH.BatchNorm2d(4),
                            TORCH.ReLU(), TORCH.Conv2d(4, 3, 2, padding=2), TORCH.AvgPool2d(2),
                            TORCH.Flatten(), TORCH.Linear(3 * 4 * 4, 3))


def _strided_nn(g: np.random.Generator) -> list[nn.Layer]:
    def t(*shape: int) -> Tensor4:
        return Tensor4.from_numpy(g.normal(size=shape).astype(np.float32))

    def v(n: int, low: float = -1.0) -> Vector:
        return Vector.from_numpy(g.uniform(low, 2.0, size=n).astype(np.float32))

    dense = Matrix.from_numpy(g.normal(size=(48, 3)).astype(np.float32))
    return [nn.Conv2d(t(4, 2, 3, 3), v(4), stride=2, padding=1),       # 9x9 -> 5x5
            nn.Batchnorm2d(v(4), v(4, 0.5), v(4), v(4)), nn.Activation(nn.Relu),
            nn.Conv2d(t(3, 4, 2, 2), v(3), padding=2), nn.AvgPool2d(2),  # 8x8 -> 4x4
            nn.Flatten(), nn.Linear(dense, v(3))]


NETS: dict[str, tuple[Callable[[], TORCH.Sequential],
                      Callable[[np.random.Generator], list[nn.Layer]], tuple[int, ...]]] = {
    "dense": (_dense_torch, _dense_nn, (9, 6)),
    "conv": (_conv_torch, _conv_nn, (5, 2, 8, 8)),
    "strided conv": (_strided_torch, _strided_nn, (5, 2, 9, 9)),
}


def _randomised(model: TORCH.Module, seed: int) -> TORCH.Module:
    """`model` in evaluation, every parameter and running statistic drawn at random."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if name.endswith("running_var"):
                t.uniform_(0.5, 2.0)
            elif t.is_floating_point():
                t.normal_()
    return model.eval()


def _zeros_like(net: list[nn.Layer]) -> list[nn.Layer]:
    """A template: `net`'s kinds and settings, every array zero."""
    return nn.from_state_dict(net, {k: np.zeros_like(a) for k, a in nn.to_state_dict(net).items()})


def _predictions(model: TORCH.Module, net: list[nn.Layer], shape: tuple[int, ...]
                 ) -> tuple[Array, Array]:
    x = np.random.default_rng(7).normal(size=shape).astype(np.float32)
    with torch.no_grad():
        theirs = torch.softmax(model(torch.from_numpy(x)), dim=1).numpy()
    kind = Tensor4 if len(shape) == 4 else Matrix
    return theirs, np.asarray(nn.forward(net, kind.from_numpy(x)))


@pytest.mark.parametrize("name", NETS)
@pytest.mark.parametrize("via", ["mapping", "file"])
def test_pytorch_weights_loaded_into_nn_predict_what_pytorch_does(name: str, via: str,
                                                                  tmp_path: Path) -> None:
    make_torch, make_nn, shape = NETS[name]
    model = _randomised(make_torch(), 0)
    template = _zeros_like(make_nn(np.random.default_rng(0)))
    state: Any = model.state_dict()
    if via == "file":
        state = tmp_path / "model.safetensors"
        safetensors.torch.save_file(model.state_dict(), str(state))  # I64 counters included
    net = nn.from_state_dict(template, state)
    theirs, ours = _predictions(model, net, shape)
    assert np.abs(theirs - ours).max() < 1e-5
    assert not any(a.any() for a in nn.to_state_dict(template).values())  # template untouched


@pytest.mark.parametrize("name", NETS)
@pytest.mark.parametrize("via", ["mapping", "file"])
def test_nn_weights_loaded_into_pytorch_predict_what_nn_does(name: str, via: str,
                                                             tmp_path: Path) -> None:
    make_torch, make_nn, shape = NETS[name]
    net = make_nn(np.random.default_rng(1))
    model = make_torch()
    if via == "file":
        nn.save_torch(net, tmp_path / "net.safetensors")
        state = safetensors.torch.load_file(str(tmp_path / "net.safetensors"))
    else:
        state = {k: torch.from_numpy(a) for k, a in nn.to_state_dict(net).items()}
    model.load_state_dict(state, strict=True)  # every name PyTorch has, and no other
    theirs, ours = _predictions(model.eval(), net, shape)
    assert np.abs(theirs - ours).max() < 1e-5


@pytest.mark.parametrize("layer", examples(), ids=lambda layer: type(layer).__name__)
def test_every_layer_kind_goes_to_a_state_dict_and_back_unchanged(layer: nn.Layer) -> None:
    state = nn.to_state_dict([layer])
    back = nn.from_state_dict(_zeros_like([layer]), state)[0]
    assert type(back) is type(layer) and repr(back) == repr(layer)
    assert {k: v.tobytes() for k, v in nn.to_state_dict([back]).items()} == {
        k: v.tobytes() for k, v in state.items()}


def test_module_names_of_ones_own_model_are_given_with_names() -> None:
    class Model(TORCH.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1 = TORCH.Linear(6, 5, bias=False)
            self.bn1 = TORCH.BatchNorm1d(5)
            self.fc2 = TORCH.Linear(5, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y: torch.Tensor = self.fc2(torch.tanh(self.bn1(self.fc1(x))))
            return y

    model = _randomised(Model(), 3)
    last = nn.Linear(Matrix.zeros(5, 3), Vector.zeros(3))
    template = _zeros_like([*_dense_nn(np.random.default_rng(0))[:3], last])
    names = ["fc1", "bn1", "tanh", "fc2"]
    with pytest.raises(nn.CheckpointError, match=r"no '0.weight'.*'fc1.weight': pass names="):
        nn.from_state_dict(template, model.state_dict())
    net = nn.from_state_dict(template, model.state_dict(), names=names)
    theirs, ours = _predictions(model, net, (4, 6))
    assert np.abs(theirs - ours).max() < 1e-5
    assert set(nn.to_state_dict(net, names=names)) == set(model.state_dict()) - {
        "bn1.num_batches_tracked"}


def _state() -> dict[str, Array]:
    return nn.to_state_dict(_dense_nn(np.random.default_rng(2)))


MISMATCHES: dict[str, tuple[dict[str, Array], str]] = {
    "missing": ({k: v for k, v in _state().items() if k != "4.bias"},
                r"layer 4 \(Linear 5->4\): the state_dict has no '4.bias' \(its b\)"),
    "not transposed": ({**_state(), "0.weight": _state()["0.weight"].T.copy()},
                       r"'0.weight' has shape \(6, 5\), expected \(5, 6\) \(PyTorch's layout: "
                       r"nn's w \(6, 5\) transposed\)"),
    "wrong size": ({**_state(), "1.running_var": np.ones(4, np.float32)},
                   r"layer 1 \(Batchnorm1d 5\): '1.running_var' has shape \(4,\), expected "
                   r"\(5,\)"),
    "float64": ({**_state(), "6.bias": np.zeros(3)},
                r"'6.bias' is float64, the template is float32 \(convert"),
    "bias of a LinearNoBias": ({**_state(), "0.bias": np.zeros(5, np.float32)},
                               r"layer 0 \(LinearNoBias 6->5\) takes 0.weight, but the "
                               r"state_dict has '0.bias'"),
    "array of an activation": ({**_state(), "2.weight": np.zeros(5, np.float32)},
                               r"layer 2 \(Activation Tanh\) takes nothing, but the state_dict "
                               r"has '2.weight'"),
    "counter of a Linear": ({**_state(), "4.num_batches_tracked": np.array(3)},
                            r"has '4.num_batches_tracked'"),
    "stray": ({**_state(), "classifier.weight": np.zeros(3, np.float32)},
              r"'classifier.weight', which no layer takes"),
}


@pytest.mark.parametrize("case", MISMATCHES)
def test_a_state_dict_that_does_not_fit_the_template_names_the_first_mismatch(case: str
                                                                             ) -> None:
    state, message = MISMATCHES[case]
    with pytest.raises(nn.CheckpointError, match=message):
        nn.from_state_dict(_dense_nn(np.random.default_rng(0)), state)


def test_the_counter_of_a_batchnorm_layer_is_read_past() -> None:
    state = {**_state(), "1.num_batches_tracked": np.array(12)}
    net = nn.from_state_dict(_dense_nn(np.random.default_rng(0)), state)
    assert nn.to_state_dict(net).keys() == _state().keys()


def test_names_must_fit_the_template() -> None:
    net = _dense_nn(np.random.default_rng(0))
    with pytest.raises(nn.NetworkError, match="one non-empty module name per layer"):
        nn.from_state_dict(net, _state(), names=["0"])
    with pytest.raises(nn.NetworkError, match="distinct"):
        nn.to_state_dict(net, names=["a"] * len(net))
    with pytest.raises(nn.NetworkError, match="layer 1 is not a layer"):
        nn.to_state_dict([net[0], torch.nn.ReLU()])  # type: ignore[list-item]


def test_a_pytorch_file_is_refused_by_load_naming_from_state_dict(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    safetensors.torch.save_file(_randomised(_conv_torch(), 0).state_dict(), str(path))
    with pytest.raises(nn.CheckpointError, match=r"not an nn checkpoint.*nn.from_state_dict"):
        nn.load(path)
    nn.save_torch(_conv_nn(np.random.default_rng(0)), path)
    with pytest.raises(nn.CheckpointError, match=r"format is 'pt'.*nn.from_state_dict"):
        nn.load(path)


def test_a_file_that_is_not_safetensors_is_a_checkpoint_error(tmp_path: Path) -> None:
    net = _dense_nn(np.random.default_rng(0))
    with pytest.raises(nn.CheckpointError, match="no checkpoint at"):
        nn.from_state_dict(net, tmp_path / "absent.safetensors")
    (tmp_path / "junk").write_bytes(b"\x10" + bytes(7) + b"[1, 2]" + bytes(10))
    with pytest.raises(nn.CheckpointError, match=r"junk: the header is not a JSON object"):
        nn.from_state_dict(net, tmp_path / "junk")


def test_the_docs_round_trip_runs_and_agrees(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                             ) -> None:
    from test_examples import docs_block

    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {}
    exec(compile(docs_block("guide/checkpoints.md", "nn.from_state_dict"), "checkpoints.md",
                 "exec"), namespace)
    theirs, ours = _predictions(_randomised(namespace["model"], 5), nn.from_state_dict(
        namespace["template"], namespace["model"].state_dict()), (3, 1, 28, 28))
    assert np.abs(theirs - ours).max() < 1e-5
