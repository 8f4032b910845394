"""Values that cannot train, or cannot be an array, are refused where they are made (issue 8,
section 6): one test per forbidden value, and the legitimate edge values that must still work.

Forbidden numbers raise the package's ValueError (nn's NetworkError, typedarr's ShapeError
for sizes) naming the argument and its value; values of the wrong type (a bool where a
number is expected, a string) raise TypeError. numpy scalars are accepted wherever Python
numbers are, and this file passes them without `type: ignore`, so mypy checks that the
signatures accept them too.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import nn
import typedarr as ta
from examples.train import OPTIMIZERS
from typedarr import DTypeError, Matrix, ShapeError, Vector

NAN, INF = math.nan, math.inf
Make = Callable[[], object]


def bad(value: object) -> Any:
    """`value`, hidden from mypy: the calls below pass what the signatures forbid on purpose."""
    return value


def _bn(**kwargs: Any) -> nn.Batchnorm1d:
    return nn.Batchnorm1d.init(3, **kwargs)


# (what is made, the field, a forbidden value, the error)
HYPER: list[tuple[str, Make, str, object, type[Exception]]] = []


def _case(label: str, make: Callable[[Any], object], field: str, value: object) -> None:
    error = TypeError if isinstance(value, bool | str) or value is None else nn.NetworkError
    HYPER.append((label, lambda: make(value), field, value, error))


for value in (-1.0, 0.0, NAN, INF, -INF, True, "0.1", None):
    _case("SGD", lambda v: nn.SGD(lr=v), "lr", value)
    _case("Adam", lambda v: nn.Adam(lr=v), "lr", value)
    _case("RMSprop", lambda v: nn.RMSprop(lr=v), "lr", value)
for value in (-0.1, 1.0, 5.0, NAN, INF, True):
    _case("SGD", lambda v: nn.SGD(lr=0.1, momentum=v), "momentum", value)
    _case("Adam", lambda v: nn.Adam(beta1=v), "beta1", value)
    _case("Adam", lambda v: nn.Adam(beta2=v), "beta2", value)
    _case("RMSprop", lambda v: nn.RMSprop(decay=v), "decay", value)
    _case("Dropout", lambda v: nn.Dropout(v), "p", value)
for value in (0.0, -1e-8, NAN, INF, False):
    _case("Adam", lambda v: nn.Adam(eps=v), "eps", value)
    _case("RMSprop", lambda v: nn.RMSprop(eps=v), "eps", value)
    _case("Batchnorm1d", lambda v: _bn(eps=v), "eps", value)
for value in (-1e-4, NAN, INF, True):
    _case("SGD", lambda v: nn.SGD(lr=0.1, weight_decay=v), "weight_decay", value)
    _case("Adam", lambda v: nn.Adam(weight_decay=v), "weight_decay", value)
    _case("RMSprop", lambda v: nn.RMSprop(weight_decay=v), "weight_decay", value)
for value in (-0.1, 1.5, NAN, INF, True):
    _case("Batchnorm1d", lambda v: _bn(momentum=v), "momentum", value)


@pytest.mark.parametrize(("make", "field", "bad", "error"), [h[1:] for h in HYPER],
                         ids=[f"{h[0]}-{h[2]}={h[3]!r}" for h in HYPER])
def test_hyper_parameter_refused(make: Make, field: str, bad: object,
                                 error: type[Exception]) -> None:
    with pytest.raises(error, match=field) as caught:
        make()
    if error is nn.NetworkError:  # the range is named, and the value given
        assert "must be" in str(caught.value) and str(float(bad)) in str(caught.value)  # type: ignore[arg-type]


@pytest.mark.parametrize(("make", "error"), [
    (lambda: nn.Adam(t=-1), nn.NetworkError),
    (lambda: nn.Adam(t=1.5), nn.NetworkError),  # type: ignore[arg-type]
    (lambda: nn.Adam(t=True), nn.NetworkError),
    (lambda: nn.SGD(lr=0.1, velocity=[]), TypeError),  # type: ignore[arg-type]
    (lambda: nn.Adam(moments=None), TypeError),  # type: ignore[arg-type]
    (lambda: nn.RMSprop(cache="x"), TypeError),  # type: ignore[arg-type]
], ids=["t-negative", "t-float", "t-bool", "velocity-list", "moments-none", "cache-str"])
def test_optimiser_state_refused(make: Make, error: type[Exception]) -> None:
    with pytest.raises(error):
        make()


def test_sgd_lr_negative_no_longer_trains_uphill() -> None:
    """The issue's case: each of these used to be accepted and train wrongly a step later."""
    for make in (lambda: nn.SGD(lr=-1), lambda: nn.SGD(lr=NAN), lambda: nn.Adam(beta1=1.0),
                 lambda: nn.SGD(lr=0.1, momentum=5), lambda: nn.Adam(eps=INF)):
        with pytest.raises(nn.NetworkError):
            make()


# --- initialisers and mlp ---------------------------------------------------------------

INITS = [nn.small_normal, nn.standard_normal, nn.xavier_normal, nn.he_normal]


@pytest.mark.parametrize("init", INITS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("fan", [0, -1, 2.0, True, "3"], ids=repr)
def test_initialiser_refuses_fan(init: nn.WeightInit, fan: Any) -> None:
    with pytest.raises(nn.NetworkError, match="fan_in must be a positive int"):
        init(fan, 3, seed=0)
    with pytest.raises(nn.NetworkError, match="fan_out must be a positive int"):
        init(3, fan, seed=0)


@pytest.mark.parametrize("bias", [nn.zero_bias, nn.small_normal_bias], ids=lambda f: f.__name__)
@pytest.mark.parametrize(("n", "seed", "error"), [
    (0, 0, nn.NetworkError), (True, 0, nn.NetworkError), (2.0, 0, nn.NetworkError),
    (3, -1, ValueError), (3, 1.5, TypeError), (3, True, TypeError), (3, None, TypeError),
], ids=["n=0", "n=True", "n=2.0", "seed=-1", "seed=1.5", "seed=True", "seed=None"])
def test_bias_initialiser_refuses(bias: nn.BiasInit, n: Any, seed: Any,
                                  error: type[Exception]) -> None:
    with pytest.raises(error):
        bias(n, seed=seed)


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"hiddens": [True]}, nn.NetworkError, "sizes must be positive"),
    ({"hiddens": [4.0]}, nn.NetworkError, "sizes must be positive"),
    ({"hiddens": [-4]}, nn.NetworkError, "sizes must be positive"),
    ({"num_bn_layers": True}, nn.NetworkError, "num_bn_layers"),
    ({"num_bn_layers": -1}, nn.NetworkError, "num_bn_layers"),
    ({"num_bn_layers": 1.0}, nn.NetworkError, "num_bn_layers"),
    ({"dropout": NAN}, nn.NetworkError, "dropout must be in"),
    ({"dropout": -0.5}, nn.NetworkError, "dropout must be in"),
    ({"dropout": True}, TypeError, "dropout"),
    ({"activations": ["relu", nn.Identity]}, TypeError, r"nn\.Relu"),
    ({"weight_init": "he"}, TypeError, "weight_init"),
    ({"bias_init": None}, TypeError, "bias_init"),
    ({"bias_before_bn": "no"}, TypeError, "bias_before_bn"),
    ({"seed": -1}, ValueError, "seed"),
    ({"seed": 0.5}, TypeError, "seed"),
    ({"dtype": np.int32}, DTypeError, "float32 or float64"),
    ({"dtype": None}, DTypeError, "None"),
])
def test_mlp_refuses(kwargs: dict[str, object], error: type[Exception], message: str) -> None:
    args: dict[str, object] = {"hiddens": [4], "activations": [nn.Relu, nn.Identity],
                               "seed": 0}
    args.update(kwargs)
    with pytest.raises(error, match=message):
        nn.mlp(3, 2, **args)  # type: ignore[arg-type]


# --- targets where they enter a loss -------------------------------------------------

CE, BCE = nn.SoftmaxCrossEntropy(), nn.SigmoidBinaryCrossEntropy()
BAD_CE = {
    "negative": [[1.5, -0.5, 0.0]],
    "sums-to-half": [[0.25, 0.25, 0.0]],
    "sums-to-two": [[1.0, 1.0, 0.0]],
    "zero-row": [[0.0, 0.0, 0.0]],
    "all-ones": [[1.0, 1.0, 1.0]],
    "nan": [[NAN, 0.5, 0.5]],
    "inf": [[INF, 0.0, 0.0]],
}
BAD_BCE = {"above-one": [[1.5]], "negative": [[-0.1]], "nan": [[NAN]], "two": [[2.0]]}


def _target(rows: list[list[float]], dtype: Any = np.float32) -> Matrix:
    return Matrix.from_numpy(np.array(rows, dtype), nonfinite="allow")


def _logits(rows: int, cols: int) -> Matrix:
    return Matrix.from_numpy(np.linspace(-1, 1, rows * cols, dtype=np.float32).reshape(rows,
                                                                                      cols))


def _through_pass(loss: nn.Loss, logits: Matrix, target: Matrix) -> None:
    """`target` entering a loss as training feeds it: `pass_` calls the output at its end."""
    nn.pass_(nn.Phase.TRAIN, [nn.Activation(nn.Identity)], logits, target, loss=loss)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rows", BAD_CE.values(), ids=BAD_CE.keys())
def test_cross_entropy_refuses_a_target_that_is_not_a_distribution(
        rows: list[list[float]], dtype: Any) -> None:
    t = _target([[0.0, 1.0, 0.0], *rows], dtype)
    pred = Matrix.replicate(2, 3, 1 / 3, dtype=dtype)
    computes: list[Callable[[], float]] = [lambda: nn.cross_entropy(pred, t),
                                           lambda: nn.loss(pred, t, CE)]
    for compute in computes:
        with pytest.raises(nn.NetworkError, match="row 1") as caught:
            compute()
        assert "distribution" in str(caught.value)
    with pytest.raises(nn.NetworkError, match="row 1"):  # NaN: pass_'s own finiteness check
        _through_pass(CE, _logits(2, 3).astype(dtype).compute(), t)


@pytest.mark.parametrize("rows", BAD_BCE.values(), ids=BAD_BCE.keys())
def test_binary_cross_entropy_refuses_a_target_outside_0_1(rows: list[list[float]]) -> None:
    t = _target([[1.0], *rows])
    pred = Matrix.replicate(2, 1, 0.5)
    computes: list[Callable[[], float]] = [lambda: nn.binary_cross_entropy(pred, t),
                                           lambda: nn.loss(pred, t, BCE)]
    for compute in computes:
        with pytest.raises(nn.NetworkError, match=r"row 1.*\[0, 1\]"):
            compute()
    with pytest.raises(nn.NetworkError, match="row 1"):
        _through_pass(BCE, _logits(2, 1), t)


def test_training_refuses_a_negative_target_before_any_update() -> None:
    """The issue's case: a target with negative entries gave a negative loss and trained."""
    net = nn.mlp(3, 3, [4], [nn.Relu, nn.Identity], seed=0)
    x = Matrix.random_normal(5, 3, seed=1)
    t = Matrix.from_numpy(np.tile(np.array([2.0, -0.5, -0.5], np.float32), (5, 1)))
    with pytest.raises(nn.NetworkError, match=r"holds -0\.5 at row 0, column 1"):
        nn.pass_(nn.Phase.TRAIN, net, x, t)


@pytest.mark.parametrize("loss", [nn.SoftmaxCrossEntropy, "softmax", None])
def test_a_loss_that_is_not_a_loss_value_is_refused(loss: Any) -> None:
    net = [nn.Activation(nn.Identity)]
    with pytest.raises(TypeError, match=r"SoftmaxCrossEntropy\(\)"):
        nn.pass_(nn.Phase.TRAIN, net, _logits(2, 2), nn.one_hot([0, 1], 2), loss=loss)
    with pytest.raises(TypeError, match=r"SoftmaxCrossEntropy\(\)"):
        nn.forward(net, _logits(2, 2), loss=loss)


@pytest.mark.parametrize("phase", ["train", None, True])
def test_a_phase_that_is_not_a_phase_is_refused(phase: Any) -> None:
    with pytest.raises(TypeError, match=r"Phase\.TRAIN"):
        nn.pass_(phase, [nn.Activation(nn.Identity)], _logits(2, 2), nn.one_hot([0, 1], 2))


def _soft(classes: int, rows: int, dtype: Any) -> np.ndarray[Any, Any]:
    """Probabilities as a teacher network gives them: a softmax, in `dtype`."""
    z = np.random.default_rng(classes).normal(0, 3, (rows, classes)).astype(dtype)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return np.asarray(e / e.sum(axis=1, keepdims=True), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("classes", [2, 10, 1000])
def test_soft_labels_are_targets(classes: int, dtype: Any) -> None:
    one_hot = np.eye(classes, dtype=dtype)[np.arange(7) % classes]
    smoothed = one_hot * 0.9 + 0.1 / classes
    # label smoothing done in float32 and converted: float32's rounding, in a float64 target
    smoothed32 = (np.eye(classes, dtype=np.float32)[np.arange(7) % classes] * np.float32(0.9)
                  + np.float32(0.1 / classes)).astype(dtype)
    for t in (one_hot, smoothed, smoothed32, _soft(classes, 7, dtype)):
        target = Matrix.from_numpy(t.astype(dtype))
        pred = Matrix.from_numpy(_soft(classes, 7, dtype))
        assert math.isfinite(nn.cross_entropy(pred, target))
        _through_pass(CE, Matrix.from_numpy(np.log(_soft(classes, 7, dtype))), target)


def test_soft_binary_targets_and_empty_batches_are_targets() -> None:
    t = Matrix.from_list([[0.0], [0.3], [1.0]])
    assert math.isfinite(nn.binary_cross_entropy(Matrix.replicate(3, 1, 0.5), t))
    _through_pass(BCE, _logits(3, 1), t)
    nn.cross_entropy(Matrix.zeros(1, 0), Matrix.zeros(1, 0))  # no classes: nothing to refuse


# --- typedarr's constructors ------------------------------------------------------------

SIZE_MAKERS: dict[str, Callable[[Any], object]] = {
    "Matrix.zeros-rows": lambda n: Matrix.zeros(n, 2),
    "Matrix.ones-cols": lambda n: Matrix.ones(2, n),
    "Matrix.replicate": lambda n: Matrix.replicate(n, 2, 1.0),
    "Matrix.random_normal": lambda n: Matrix.random_normal(2, n, seed=0),
    "Matrix.random_uniform": lambda n: Matrix.random_uniform(n, 2, seed=0),
    "Vector.zeros": lambda n: Vector.zeros(n),
    "Vector.ones": lambda n: Vector.ones(n),
    "Vector.replicate": lambda n: Vector.replicate(n, 1.0),
    "Vector.random_normal": lambda n: Vector.random_normal(n, seed=0),
    "Vector.random_uniform": lambda n: Vector.random_uniform(n, seed=0),
    "br": lambda n: ta.br(n, Vector.ones(2)),
    "Batchnorm1d.init": lambda n: nn.Batchnorm1d.init(n),
    "one_hot": lambda n: nn.one_hot([0], n),
}


@pytest.mark.parametrize("make", SIZE_MAKERS.values(), ids=SIZE_MAKERS.keys())
@pytest.mark.parametrize("bad", [-1, True, False, 2.0, "2", None, np.bool_(True)], ids=repr)
def test_sizes_refused(make: Callable[[Any], object], bad: Any) -> None:
    with pytest.raises((ShapeError, nn.NetworkError), match="int"):
        make(bad)


@pytest.mark.parametrize("make", SIZE_MAKERS.values(), ids=SIZE_MAKERS.keys())
@pytest.mark.parametrize("n", [np.int64(3), np.int32(3), np.uint8(3), np.intp(3)], ids=repr)
def test_numpy_integer_sizes_accepted(make: Callable[[Any], object], n: Any) -> None:
    make(n)


def test_numpy_integers_type_check_where_python_ints_do() -> None:
    n = np.int64(3)
    assert Matrix.zeros(n, np.int32(2)).shape == (3, 2)
    assert type(Matrix.zeros(n, 2).shape[0]) is int
    assert Vector.random_uniform(n, seed=np.int64(1)).shape == (3,)
    assert ta.br(n, Vector.ones(2)).shape == (3, 2)
    assert Matrix.ones(4, 2)[n].shape == (2,)
    assert Vector.ones(4)[n] == 1.0
    assert nn.Batchnorm1d.init(n).size == 3
    assert nn.one_hot(np.array([2]), n).shape == (1, 3)
    assert nn.he_normal(n, np.int64(2), seed=0).shape == (3, 2)
    assert nn.zero_bias(n, seed=0).shape == (3,)
    net = nn.mlp(n, np.int64(2), [np.int64(4), 5], [nn.Relu, nn.Relu, nn.Identity],
                 num_bn_layers=np.int64(1), seed=np.int64(0))
    assert nn.check_network(net, 3) == 2


CORE_REFUSED: dict[str, tuple[Make, type[Exception]]] = {
    "Vector.random_normal(3, seed=-1)":
        (lambda: Vector.random_normal(3, seed=-1), ValueError),
    "Vector.random_normal(3, seed=True)":
        (lambda: Vector.random_normal(3, seed=True), TypeError),
    "Vector.random_normal(3, seed=0, std=-1.0)":
        (lambda: Vector.random_normal(3, seed=0, std=-1.0), ValueError),
    "Vector.random_normal(3, seed=0, std=NAN)":
        (lambda: Vector.random_normal(3, seed=0, std=NAN), ValueError),
    "Vector.random_normal(3, seed=0, std=INF)":
        (lambda: Vector.random_normal(3, seed=0, std=INF), ValueError),
    "Vector.random_normal(3, seed=0, mean=NAN)":
        (lambda: Vector.random_normal(3, seed=0, mean=NAN), ValueError),
    "Vector.random_normal(3, seed=0, mean=INF)":
        (lambda: Vector.random_normal(3, seed=0, mean=INF), ValueError),
    "Vector.random_normal(3, seed=0, mean=True)":
        (lambda: Vector.random_normal(3, seed=0, mean=True), TypeError),
    "Vector.random_normal(3, seed=0, mean=1e39)":
        (lambda: Vector.random_normal(3, seed=0, mean=1e39), ValueError),  # beyond float32
    "Vector.random_normal(1000, seed=0, std=3e38)":
        (lambda: Vector.random_normal(1000, seed=0, std=3e38), ValueError),  # values overflow
    "Vector.random_uniform(3, seed=0, low=2.0, high=1.0)":
        (lambda: Vector.random_uniform(3, seed=0, low=2.0, high=1.0), ValueError),
    "Vector.random_uniform(3, seed=0, low=NAN)":
        (lambda: Vector.random_uniform(3, seed=0, low=NAN), ValueError),
    "Vector.random_uniform(3, seed=0, high=INF)":
        (lambda: Vector.random_uniform(3, seed=0, high=INF), ValueError),
    "Vector.random_uniform(3, seed=0, low=1.0, high=1.0 + 1e-12)":
        (lambda: Vector.random_uniform(3, seed=0, low=1.0, high=1.0 + 1e-12), ValueError),
    "Vector.random_uniform(3, seed=0, low=-3e38, high=3e38)":
        (lambda: Vector.random_uniform(3, seed=0, low=-3e38, high=3e38), ValueError),
    "Vector.random_uniform(3, seed=0, high='1')":
        (lambda: Vector.random_uniform(3, seed=0, high=bad("1")), TypeError),
    "Vector.replicate(3, True)":
        (lambda: Vector.replicate(3, True), TypeError),
    "Vector.replicate(3, '1')":
        (lambda: Vector.replicate(3, bad("1")), TypeError),
    "Vector.replicate(3, 1e39)":
        (lambda: Vector.replicate(3, 1e39), ValueError),  # would be inf in float32
    "Vector.zeros(3, dtype=None)":
        (lambda: Vector.zeros(3, dtype=None), DTypeError),
    "Vector.zeros(3, dtype=np.int64)":
        (lambda: Vector.zeros(3, dtype=np.int64), DTypeError),
    "Vector.zeros(3, dtype='float16')":
        (lambda: Vector.zeros(3, dtype="float16"), DTypeError),
    "Vector.zeros(3).astype(None)":
        (lambda: Vector.zeros(3).astype(None), DTypeError),
    "Vector.from_numpy(np.zeros(3), strategy='Par')":
        (lambda: Vector.from_numpy(np.zeros(3), strategy=bad("Par")), TypeError),
    "Vector.from_list([1.0], strategy=1)":
        (lambda: Vector.from_list([1.0], strategy=bad(1)), TypeError),
    "Vector.zeros(3).with_strategy('Seq')":
        (lambda: Vector.zeros(3).with_strategy(bad("Seq")), TypeError),
    "ta.set_default_strategy('Par')":
        (lambda: ta.set_default_strategy(bad("Par")), TypeError),
    "Vector.from_numpy(np.zeros(3), nonfinite='yes')":
        (lambda: Vector.from_numpy(np.zeros(3), nonfinite=bad("yes")), ValueError),
    "Vector.from_list([True, False])":
        (lambda: Vector.from_list([True, False]), TypeError),
    "Vector.from_list([1.0, True])":
        (lambda: Vector.from_list([1.0, True]), TypeError),
    "Matrix.from_list([[1.0, 2.0], [False, 1.0]])":
        (lambda: Matrix.from_list([[1.0, 2.0], [False, 1.0]]), TypeError),
    "Vector.from_list(['1', '2'])":
        (lambda: Vector.from_list(bad(["1", "2"])), TypeError),
    "Vector.from_list([1.0, None])":
        (lambda: Vector.from_list(bad([1.0, None])), TypeError),
    "Vector.from_list([1j])":
        (lambda: Vector.from_list(bad([1j])), TypeError),
    "Vector.from_list([1e39])":
        (lambda: Vector.from_list([1e39]), ValueError),
    "Vector.from_list([NAN])":
        (lambda: Vector.from_list([NAN]), ValueError),
    "Matrix.from_list([[1.0, 2.0], [3.0]])":
        (lambda: Matrix.from_list([[1.0, 2.0], [3.0]]), ShapeError),
    "Vector.ones(2) + True":
        (lambda: Vector.ones(2) + True, TypeError),
    "Vector.ones(2) * np.bool_(True)":
        (lambda: Vector.ones(2) * bad(np.bool_(True)), TypeError),
    "Vector.ones(3)[1.0]":
        (lambda: Vector.ones(3)[bad(1.0)], TypeError),
    "Vector.ones(3)[[0, True]]":
        (lambda: Vector.ones(3)[[0, True]], TypeError),
    "Vector.ones(3)[[0.0, 1.0]]":
        (lambda: Vector.ones(3)[bad([0.0, 1.0])], TypeError),
    "Matrix.ones(3, 2)[np.array([0, 3])]":
        (lambda: Matrix.ones(3, 2)[np.array([0, 3])], IndexError),
    "Matrix.ones(3, 2)[np.array([-4], np.int8)]":
        (lambda: Matrix.ones(3, 2)[np.array([-4], np.int8)], IndexError),
    "Matrix.ones(3, 2)[np.array([[0]])]":
        (lambda: Matrix.ones(3, 2)[np.array([[0]])], TypeError),
    "maximum(v, 'x')":
        (lambda: ta.maximum(Vector.ones(2), bad("x")), TypeError),
    "minimum(v, None)":
        (lambda: ta.minimum(Vector.ones(2), bad(None)), TypeError),
    "maximum(v, True)":
        (lambda: ta.maximum(Vector.ones(2), True), TypeError),
    "Matrix.ones(3, 2)[None]":
        (lambda: Matrix.ones(3, 2)[bad(None)], TypeError),
}


@pytest.mark.parametrize(("make", "error"), CORE_REFUSED.values(), ids=CORE_REFUSED.keys())
def test_core_option_refused(make: Make, error: type[Exception]) -> None:
    with pytest.raises(error):
        make()


def test_core_legitimate_edge_values() -> None:
    assert np.isnan(np.asarray(Vector.replicate(2, NAN))).all()  # a NaN fill is what was asked
    assert np.asarray(Vector.replicate(2, -INF)).max() == -INF
    assert np.asarray(Vector.replicate(2, np.float32(0.5))).max() == 0.5
    assert np.asarray(Vector.random_normal(4, seed=0, std=0.0, mean=np.float32(2))).max() == 2
    x = np.asarray(Vector.random_uniform(100, seed=0, low=np.float64(-1), high=np.int64(1)))
    assert x.min() >= -1 and x.max() < 1
    assert Vector.from_list([np.float32(1.5), np.int64(2), 3]).shape == (3,)
    assert Vector.from_list([]).shape == (0,)
    assert Matrix.zeros(0, 0).shape == (0, 0)
    assert ta.br(0, Vector.ones(2)).shape == (0, 2)
    assert Vector.from_numpy(np.zeros(2), strategy=ta.Seq).strategy is ta.Seq
    assert Vector.ones(3)[np.array([2, 0], np.uint8)].shape == (2,)
    assert Vector.ones(3)[range(3)].shape == (3,)
    assert Vector.zeros(2, dtype="float64").dtype == np.float64


# --- legitimate hyper-parameters ---------------------------------------------------------

def _step(opt: nn.Optimizer) -> np.ndarray[Any, Any]:
    net: list[nn.Layer] = [nn.LinearNoBias(Matrix.ones(2, 2))]
    grads: list[nn.Gradients] = [nn.LinearNoBiasGradients(Matrix.from_list([[1.0, -2.0],
                                                                             [0.5, 0.0]]))]
    for _ in range(3):
        net, opt = opt.update(net, grads)
    layer = net[0]
    assert isinstance(layer, nn.LinearNoBias)
    return np.asarray(layer.w)


def test_numpy_scalars_are_hyper_parameters() -> None:
    # Runtime accepts numpy scalars; the fields are annotated `float` (what they hold after
    # the check), so mypy asks for float(x) and the values are passed untyped here.
    f32: Callable[[float], Any] = np.float32
    lr = f32(0.1)
    opt = nn.SGD(lr=lr, momentum=np.float64(0.9), weight_decay=bad(np.int64(0)))
    assert type(opt.lr) is float and type(opt.momentum) is float
    np.testing.assert_array_equal(_step(opt), _step(nn.SGD(lr=float(lr), momentum=0.9)))
    adam = nn.Adam(lr=f32(0.01), beta1=f32(0.5), eps=np.float64(1e-6), t=bad(np.int64(0)))
    assert type(adam.t) is int and type(adam.beta1) is float
    assert nn.Dropout(f32(0.5)).p == 0.5
    bn = nn.Batchnorm1d.init(2, eps=f32(1e-3), momentum=bad(np.int64(1)))
    assert type(bn.eps) is float and type(bn.momentum) is float
    assert nn.mlp(2, 2, [3], [nn.Relu, nn.Identity], seed=0, dropout=np.float32(0.5))[2] == \
        nn.Dropout(0.5)


def test_edge_hyper_parameters_still_train() -> None:
    for opt in (nn.SGD(lr=0.1, momentum=0.0), nn.SGD(lr=1e-30), nn.SGD(lr=0.1, momentum=0.999),
                nn.Adam(beta1=0.0, beta2=0.0), nn.Adam(lr=1, weight_decay=0.0),
                nn.RMSprop(decay=0.0), nn.RMSprop(eps=1e-30), nn.SGD(lr=1)):
        assert np.isfinite(_step(opt)).all()
    for momentum in (0, 0.0, 1.0):
        nn.Batchnorm1d.init(2, momentum=momentum)
    assert nn.Dropout(0).p == 0.0
    net = nn.mlp(3, 2, [4], [nn.Relu, nn.Identity], seed=0, dropout=0.0)
    assert not any(isinstance(layer, nn.Dropout) for layer in net)
    x, t = Matrix.random_normal(4, 3, seed=0), nn.one_hot([0, 1, 1, 0], 2)
    _, grads = nn.pass_(nn.Phase.TRAIN, [*net[:2], nn.Dropout(0.0), *net[2:]], x, t)
    assert len(grads) == len(net) + 1


def test_the_examples_settings_are_accepted() -> None:
    """Every optimiser and network the examples build, with the values they pass."""
    for name, make in OPTIMIZERS.items():
        for lr in (0.01, 1e-2, 0.5, 0.008):
            assert make(lr).lr == lr, name
    nn.SGD(lr=0.008, momentum=0.9)
    nn.mlp(784, 10, [256, 256], [nn.Relu, nn.Relu, nn.Identity], weight_init=nn.he_normal,
           seed=0, dropout=0.5)
    nn.mlp(30, 1, [20, 10], [nn.Tanh, nn.Tanh, nn.Identity], num_bn_layers=2,
           weight_init=nn.standard_normal, seed=0, bias_before_bn=False)
    nn.mlp(784, 10, [64, 32], [nn.Sigmoid, nn.Sigmoid, nn.Identity], num_bn_layers=1,
           weight_init=nn.xavier_normal, seed=0)
