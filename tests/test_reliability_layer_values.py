"""Values a type must not hold: masked arrays refused by every constructor, every declared
field of every layer kind checked where the layer is made (its constructor, an optimiser's
update, `nn.load`), and numbers read from text parsed strictly.

The layer cases are derived from the declarations (`nn._fields.specs`), so a new kind or
field is covered without a line here.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import pytest

import nn
import typedarr as ta
from nn import _checkpoint, _safetensors
from nn._fields import Role, specs
from nn._layers import KINDS
from typedarr import NON_NEGATIVE, Matrix, Tensor4, Vector

F32 = np.float32
SHAPES = {1: (3,), 2: (3, 2), 4: (2, 1, 2, 2)}
FROM_NUMPY: dict[int, Any] = {1: Vector.from_numpy, 2: Matrix.from_numpy, 4: Tensor4.from_numpy}


def examples() -> list[nn.Layer]:
    g = np.random.default_rng(0)

    def arr(rank: int, shape: tuple[int, ...] | None = None) -> Any:
        return FROM_NUMPY[rank](g.uniform(0.5, 1.5, size=shape or SHAPES[rank]).astype(F32))

    return [nn.Linear(arr(2), arr(1, (2,))), nn.LinearNoBias(arr(2)),
            nn.Batchnorm1d(arr(1), arr(1), arr(1), arr(1)), nn.Activation(nn.Tanh),
            nn.Dropout(0.5), nn.Conv2d(arr(4), arr(1, (2,))), nn.AvgPool2d(2), nn.MaxPool2d(2),
            nn.Batchnorm2d(arr(1), arr(1), arr(1), arr(1)), nn.Flatten()]


def _fields(layer: nn.Layer) -> dict[str, Any]:
    return {s.name: getattr(layer, s.name) for s in specs(type(layer))}


def _bad_arrays() -> list[tuple[nn.Layer, str, float]]:
    """(layer, array field, a value no element of it may hold), from the declarations."""
    out = []
    for layer in examples():
        for s in specs(type(layer)):
            if s.rank and s.within is not None:
                bad = [math.nan, math.inf, -math.inf]
                if s.within is NON_NEGATIVE:
                    bad.append(-0.5)
                out += [(layer, s.name, b) for b in bad]
    return out


def _bad_settings() -> list[tuple[nn.Layer, str, float]]:
    out = []
    for layer in examples():
        for s in specs(type(layer)):
            if not s.rank and s.within is not None:
                w = s.within
                bad = [math.nan, math.inf, -math.inf]
                bad += [w.low] if not w.low_closed and math.isfinite(w.low) else []
                bad += [w.high] if not w.high_closed and math.isfinite(w.high) else []
                bad += [w.low - 1.0] if math.isfinite(w.low) else []
                bad += [w.high + 1.0] if math.isfinite(w.high) else []
                out += [(layer, s.name, b) for b in bad]
    return out


def _with_element(x: Any, value: float) -> Any:
    values = np.array(np.asarray(x))
    values.flat[values.size // 2] = value
    return type(x).from_numpy(values, nonfinite="allow")


def test_every_array_and_number_setting_is_declared_with_its_range() -> None:
    assert {type(la).__name__ for la in examples()} == set(KINDS)  # a new kind joins here
    for layer in examples():
        for s in specs(type(layer)):
            assert s.within is not None or s.choices is not None or s.integral, s.name
    assert {s.name: s.within for s in specs(nn.Batchnorm1d)}["var"] is NON_NEGATIVE


@pytest.mark.parametrize(("layer", "name", "bad"), _bad_arrays())
def test_an_array_element_outside_its_range_is_refused_where_the_layer_is_made(
        layer: nn.Layer, name: str, bad: float) -> None:
    fields = _fields(layer) | {name: _with_element(getattr(layer, name), bad)}
    with pytest.raises(nn.NetworkError, match=f"{type(layer).__name__}: {name} holds "
                                              f"{bad} at .*but must be"):
        type(layer)(**fields)


@pytest.mark.parametrize(("layer", "name", "bad"), _bad_settings())
def test_a_setting_outside_its_range_is_refused(layer: nn.Layer, name: str,
                                                bad: float) -> None:
    with pytest.raises(nn.NetworkError, match=f"{type(layer).__name__}: {name} must be"):
        type(layer)(**(_fields(layer) | {name: bad}))


@pytest.mark.parametrize("layer", [la for la in examples() if any(s.rank for s in specs(type(la)))],
                         ids=lambda la: type(la).__name__)
def test_an_empty_array_is_refused(layer: nn.Layer) -> None:
    name = next(s.name for s in specs(type(layer)) if s.rank)
    empty = type(getattr(layer, name)).zeros(*([0] * len(getattr(layer, name).shape)))
    with pytest.raises(nn.NetworkError, match="empty dimension"):
        type(layer)(**(_fields(layer) | {name: empty}))


def test_a_huge_but_finite_weight_passes_although_its_sum_overflows() -> None:
    w = Matrix.replicate(3, 2, 3e38)
    assert np.isfinite(np.asarray(nn.Linear(w, Vector.zeros(2)).w)).all()


def _checkpoint_bytes(net: list[nn.Layer], change: dict[str, Any]) -> bytes:
    fields = _checkpoint._encode(net) | change
    tensors = {k: v for k, v in fields.items() if isinstance(v, np.ndarray)}
    metadata = _checkpoint._metadata([type(la).__name__ for la in net], fields)
    metadata |= {k: v for k, v in change.items() if isinstance(v, str)}
    f = io.BytesIO()
    _safetensors.write(f, tensors, metadata)
    return f.getvalue()


@pytest.mark.parametrize(("layer", "name", "bad"), _bad_arrays())
def test_nn_load_refuses_what_the_constructor_refuses(tmp_path: Path, layer: nn.Layer,
                                                      name: str, bad: float) -> None:
    values = np.array(np.asarray(getattr(layer, name)))
    values.flat[0] = bad
    for suffix in (".safetensors", ".npz"):
        path = tmp_path / f"net{suffix}"
        if suffix == ".npz":
            nn.save([layer], path)
            with np.load(path) as archive:
                members = dict(archive)
            np.savez(path, allow_pickle=False, **(members | {f"layer0.{name}": values}))
        else:
            path.write_bytes(_checkpoint_bytes([layer], {f"layer0.{name}": values}))
        with pytest.raises(nn.CheckpointError, match=f"layer 0: {type(layer).__name__}: "
                                                     f"{name} holds"):
            nn.load(path)


@pytest.mark.parametrize("text", ["1_0", " 0.5", "0.5 ", "\u0661", "0\u0665", "nan", "NaN",
                                  "inf", "-inf", "0x1p-3", "1e", ".5", "+0.5", "0.5\n", ""])
def test_metadata_numbers_are_parsed_strictly(tmp_path: Path, text: str) -> None:
    path = tmp_path / "net.safetensors"
    path.write_bytes(_checkpoint_bytes([nn.Dropout(0.5)], {"layer0.p": text}))
    with pytest.raises(nn.CheckpointError, match="not a number written as nn writes one"):
        nn.load(path)


@pytest.mark.parametrize(("text", "want"), [("0.25", 0.25), ("1e-05", 1e-5), ("0", 0.0)])
def test_metadata_numbers_nn_writes_still_load(tmp_path: Path, text: str, want: float) -> None:
    path = tmp_path / "net.safetensors"
    path.write_bytes(_checkpoint_bytes([nn.Dropout(0.5)], {"layer0.p": text}))
    loaded = nn.load(path)[0]
    assert isinstance(loaded, nn.Dropout) and loaded.p == want


def test_an_update_that_gives_a_nan_weight_names_the_layer() -> None:
    net: nn.Network = [nn.Activation(nn.Relu), nn.Linear(Matrix.ones(3, 2), Vector.zeros(2))]
    dw = Matrix.from_numpy(np.full((3, 2), np.nan, F32), nonfinite="allow")
    grads: list[Any] = [nn.NoGrad(), nn.LinearGradients(dw, Vector.zeros(2))]
    with pytest.raises(nn.NetworkError, match=r"layer 1 \(Linear 3->2\) after the update: "
                                              r"Linear: w holds nan.*diverged"):
        nn.SGD(lr=0.1).update(net, grads)


def test_moving_running_statistics_to_a_negative_variance_is_refused() -> None:
    bn = nn.Batchnorm1d.init(2)
    batch = nn.Batchnorm1dGradients(Vector.zeros(2), Vector.from_list([1.0, -20.0]),
                                    Vector.zeros(2), Vector.zeros(2))
    with pytest.raises(nn.NetworkError, match=r"layer 0 \(Batchnorm1d 2\) after the update: "
                                              r"Batchnorm1d: var holds -1.1.* at index 1, but "
                                              r"must be non-negative"):
        nn.update_batch_statistics([bn], [batch])


def test_compiled_steps_still_train_a_batchnorm_network() -> None:
    """Inside a trace the layer checks see no values, and still check kinds."""
    net = nn.mlp(4, 3, [5], [nn.Relu, nn.Identity], num_bn_layers=1, seed=0)
    x, t = Matrix.random_normal(8, 4, seed=1), nn.one_hot([0, 1, 2, 0, 1, 2, 0, 1], 3)
    new, _, _ = nn.compile_step()(net, nn.SGD(lr=0.1), x, t)
    assert all(np.isfinite(np.asarray(a)).all() for la in new for a in _fields(la).values()
               if isinstance(a, Matrix | Vector))
    assert any(s.role is Role.RUNNING for la in new for s in specs(type(la)))


MASKED = np.ma.array(np.array([[1.0, np.nan], [2.0, 3.0]], F32),
                     mask=np.array([[0, 1], [0, 0]], bool))


@pytest.mark.parametrize("make", [
    lambda: Matrix.from_numpy(MASKED),
    lambda: Matrix.from_numpy(MASKED, nonfinite="allow"),
    lambda: Vector.from_numpy(MASKED[0]),
    lambda: Tensor4.from_numpy(MASKED.reshape(1, 1, 2, 2)),
    lambda: Matrix.from_list(MASKED),  # type: ignore[arg-type]  # untyped callers
    lambda: Matrix.from_list([MASKED[0], [2.0, 3.0]]),
    lambda: Vector.from_list([1.0, np.ma.masked]),  # type: ignore[list-item]
    lambda: Matrix.from_numpy(np.ma.array(np.ones((2, 2), F32))),  # nothing masked, still
    lambda: Matrix.from_dask(da.ma.masked_invalid(da.from_array(np.asarray(MASKED.data)))),
], ids=["matrix", "allow", "vector", "tensor4", "list", "list of rows", "masked constant",
        "no mask set", "dask"])
def test_a_masked_array_is_refused_by_every_constructor(make: Any) -> None:
    with pytest.raises(TypeError, match=r"masked (dask )?array: its mask would be dropped"):
        make()


@pytest.mark.parametrize("text", ["1_0", " 1", "1 ", "\u0661", "nan", "inf", "1.5.1", "", "0x10"])
def test_numbers_from_text_are_ascii_digits_only(text: str) -> None:
    assert ta.parse_number(text) is None
    assert ta.parse_integer(text) is None


@pytest.mark.parametrize(("text", "want"), [("0.1", 0.1), ("-2", -2.0), ("1e-3", 1e-3),
                                            (".5", 0.5), ("3.", 3.0), ("+4", 4.0)])
def test_ordinary_numbers_from_text_parse(text: str, want: float) -> None:
    assert ta.parse_number(text) == want


def test_cli_flags_and_the_cache_size_parse_strictly(monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse

    from examples import mnist, scale
    from typedarr._fused import _cachedir

    for parse, text in ((mnist._float, "1_0"), (mnist._int, "1_0"), (mnist._int, "\u0661"),
                        (mnist._float, " 0.1"), (mnist._float, "NaN"), (scale._integer, " 3")):
        with pytest.raises(argparse.ArgumentTypeError, match="invalid"):
            parse(text)
    with pytest.raises(argparse.ArgumentTypeError, match="finite number above 0, got nan"):
        mnist._positive_float("nan")
    assert mnist._float("0.05") == 0.05 and mnist._int("12") == 12
    monkeypatch.setenv("TYPEDARR_CACHE_MAX_MB", "1_0")
    with pytest.raises(ValueError, match="TYPEDARR_CACHE_MAX_MB"):
        _cachedir.max_bytes()
    monkeypatch.setenv("TYPEDARR_CACHE_MAX_MB", "1.5")
    assert _cachedir.max_bytes() == int(1.5 * 2**20)
