"""Every mistake nn knows of raises a clear error, and one about a layer names it.

A layer is named by index and kind, `layer 2 (Linear 5->3)`, the way a reader finds it in
the network's list; each test asserts that name (and the cause) appears in the message.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import nn
from typedarr import DTypeError, Matrix, ShapeError, Vector


def names(text: str) -> str:
    return re.escape(text)


def small_net() -> list[nn.Layer]:
    return [nn.Linear(Matrix.ones(4, 5), Vector.zeros(5)), nn.Batchnorm1d.init(5),
            nn.Activation(nn.Relu), nn.Linear(Matrix.ones(5, 3), Vector.zeros(3))]


def batch(rows: int = 6, cols: int = 4) -> tuple[Matrix, Matrix]:
    x = np.random.default_rng(0).normal(size=(rows, cols)).astype(np.float32)
    return Matrix.from_numpy(x), nn.one_hot(np.arange(rows) % 3, 3)


def test_training_batchnorm_on_one_row_names_the_layer() -> None:
    x, t = batch(rows=1)
    with pytest.raises(nn.NetworkError, match=names("layer 1 (Batchnorm1d 5)") + ".*2 rows"):
        nn.pass_(nn.Phase.TRAIN, small_net(), x, t)
    pred, _ = nn.pass_(nn.Phase.EVAL, small_net(), x, t)  # evaluation of one row is fine
    assert pred.shape == (1, 3)


@pytest.mark.parametrize("where", ["x", "target"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_data(where: str, bad: float) -> None:
    x, t = batch()
    values = np.asarray(x if where == "x" else t).copy()
    values[2, 1] = bad
    broken = Matrix.from_numpy(values, nonfinite="allow")
    x, t = (broken, t) if where == "x" else (x, broken)
    what = "the input x" if where == "x" else "the target"
    with pytest.raises(nn.NetworkError, match=names(f"{what} holds {bad} at row 2, column 1")):
        nn.pass_(nn.Phase.TRAIN, small_net(), x, t)


def test_non_finite_input_to_forward() -> None:
    x = Matrix.from_numpy(np.array([[1.0, np.nan, 0.0, 0.0]], np.float32), nonfinite="allow")
    with pytest.raises(nn.NetworkError, match="the input x holds nan"):
        nn.forward(small_net(), x)


@pytest.mark.parametrize("phase", list(nn.Phase), ids=lambda p: p.name)
def test_diverged_weights_name_the_layer(phase: nn.Phase) -> None:
    """Overflowing weights (a diverged training) are blamed on the first layer that overflows."""
    net = small_net()
    net[3] = nn.Linear(Matrix.replicate(5, 3, 3e38), Vector.zeros(3))
    x, t = batch()
    with pytest.raises(nn.NetworkError, match=names("output of layer 3 (Linear 5->3)")):
        nn.pass_(phase, net, x, t)
    with pytest.raises(nn.NetworkError, match=names("layer 3 (Linear 5->3)")):
        nn.forward(net, x)


def test_nan_weights_are_refused_where_the_layer_is_made() -> None:
    w = np.ones((4, 5), np.float32)
    w[0, 3] = np.nan
    with pytest.raises(nn.NetworkError, match=names("Linear: w holds nan at row 0, column 3")
                       + ".*diverged"):
        nn.Linear(Matrix.from_numpy(w, nonfinite="allow"), Vector.zeros(5))


@pytest.mark.parametrize("loss_fn", [nn.cross_entropy, nn.binary_cross_entropy])
def test_non_finite_loss(loss_fn: object) -> None:
    pred = Matrix.from_numpy(np.array([[np.nan, 0.5]], np.float32), nonfinite="allow")
    assert callable(loss_fn)
    with pytest.raises(nn.NetworkError, match="not finite"):
        loss_fn(pred, Matrix.from_list([[1.0, 0.0]]))


@pytest.mark.parametrize(("labels", "message"), [
    ([0, 1, 3], "label 3 at index 2 is out of range for 3 classes"),
    ([-1, 0], "label -1 at index 0 is out of range"),
    (np.array([0.0, 1.0]), "labels must be a 1-d array of integers"),
    (np.array([[0, 1]]), "labels must be a 1-d array of integers"),
])
def test_one_hot_labels(labels: object, message: str) -> None:
    with pytest.raises(nn.NetworkError, match=names(message)):
        nn.one_hot(labels, 3)  # type: ignore[arg-type]


@pytest.mark.parametrize(("labels", "message"), [
    ([0, 1, 2], "label 2 at index 2 is not 0 or 1 (for classes 0 .. k-1, use one_hot"),
    (np.array([1, -1]), "label -1 at index 1 is not 0 or 1"),
    (np.array([True, False]), "labels must be a 1-d array of integers, got bool"),
    (np.array([0.0, 1.0]), "labels must be a 1-d array of integers"),
    (np.array([[0, 1]]), "labels must be a 1-d array of integers"),
])
def test_binary_targets_refuse_labels_other_than_0_and_1(labels: object, message: str
                                                        ) -> None:
    with pytest.raises(nn.NetworkError, match=names(message)):
        nn.binary_targets(labels)  # type: ignore[arg-type]


def test_binary_targets_are_the_column_a_sigmoid_output_learns() -> None:
    labels = np.array([1, 0, 0, 1, 1], dtype=np.uint8)
    t = nn.binary_targets(labels, dtype=np.float64)
    assert t.shape == (5, 1) and np.asarray(t).dtype == np.float64
    np.testing.assert_array_equal(np.asarray(t)[:, 0], labels)
    assert nn.binary_targets([]).shape == (0, 1)
    loss = nn.SigmoidBinaryCrossEntropy()
    x = Matrix.from_numpy(np.random.default_rng(0).normal(size=(5, 3)))
    net: list[nn.Layer] = [nn.Linear(Matrix.ones(3, 1, dtype=np.float64),
                                     Vector.zeros(1, dtype=np.float64))]
    pred, _ = nn.pass_(nn.Phase.TRAIN, net, x, t, loss=loss)  # the target a sigmoid takes
    assert nn.accuracy(pred, t) == nn.accuracy(pred, labels.astype(np.intp))


def test_one_hot_classes() -> None:
    with pytest.raises(nn.NetworkError, match="classes must be a positive int"):
        nn.one_hot([0], 0)


def test_check_network_names_the_layer_that_does_not_chain() -> None:
    net = small_net()
    net[3] = nn.Linear(Matrix.ones(6, 3), Vector.zeros(3))
    with pytest.raises(nn.NetworkError, match=names(
            "layer 3 (Linear 6->3): expects 6 input features, got 5 (what layer 2 "
            "(Activation Relu) gives)")):
        nn.check_network(net, 4)
    with pytest.raises(nn.NetworkError, match=names("layer 0 (Linear 4->5): expects 4 input "
                                                    "features, got 7 (the network input)")):
        nn.check_network(small_net(), 7)
    assert nn.check_network(small_net(), 4) == 3


def test_check_network_batchnorm_size_and_dtype() -> None:
    net = small_net()
    net[1] = nn.Batchnorm1d.init(6)
    with pytest.raises(nn.NetworkError, match=names("layer 1 (Batchnorm1d 6): expects 6")):
        nn.check_network(net, 4)
    net = small_net()
    net[3] = nn.Linear(Matrix.ones(5, 3, dtype=np.float64), Vector.zeros(3, dtype=np.float64))
    with pytest.raises(nn.NetworkError, match=names("layer 3 (Linear 5->3): parameters are "
                                                    "float64")):
        nn.check_network(net, 4)


def test_check_network_refuses_what_is_not_a_layer() -> None:
    with pytest.raises(nn.NetworkError, match="layer 1 is not a layer"):
        nn.check_network([nn.Activation(nn.Relu), Matrix.ones(2, 2)], 2)  # type: ignore[list-item]


@pytest.mark.parametrize(("index", "replacement", "blamed"), [
    (3, nn.Linear(Matrix.ones(6, 3), Vector.zeros(3)), "layer 3 (Linear 6->3)"),
    (1, nn.Batchnorm1d.init(4), "layer 1 (Batchnorm1d 4)"),
    (0, nn.LinearNoBias(Matrix.ones(3, 5)), "layer 0 (LinearNoBias 3->5)"),
])
def test_pass_names_the_layer_whose_sizes_do_not_fit(index: int, replacement: nn.Layer,
                                                     blamed: str) -> None:
    net = small_net()
    net[index] = replacement
    x, t = batch()
    for phase in nn.Phase:
        with pytest.raises(nn.NetworkError, match=names(blamed)) as caught:
            nn.pass_(phase, net, x, t)
        assert isinstance(caught.value.__cause__, ShapeError)
    with pytest.raises(nn.NetworkError, match=names(blamed)):
        nn.forward(net, x)


def test_pass_names_the_layer_with_another_dtype() -> None:
    net = small_net()
    x, t = batch()
    with pytest.raises(nn.NetworkError, match=names("layer 0 (Linear 4->5)")) as caught:
        nn.pass_(nn.Phase.TRAIN, net, Matrix.from_numpy(np.asarray(x).astype(np.float64)), t)
    assert isinstance(caught.value.__cause__, DTypeError)


def test_pass_names_the_output_when_the_target_does_not_fit() -> None:
    x, _ = batch()
    with pytest.raises(nn.NetworkError, match=names(
            "output (SoftmaxCrossEntropy): the target has shape (6, 4) but the network gives "
            "(6, 3)")):
        nn.pass_(nn.Phase.TRAIN, small_net(), x, nn.one_hot(np.arange(6) % 4, 4))


def test_pass_refuses_what_is_not_a_layer_or_data() -> None:
    x, t = batch()
    with pytest.raises(nn.NetworkError, match="layer 0 is not a layer"):
        nn.pass_(nn.Phase.TRAIN, [np.eye(4)], x, t)  # type: ignore[list-item]
    with pytest.raises(TypeError, match=r"Matrix\.from_numpy"):
        nn.pass_(nn.Phase.TRAIN, small_net(), np.asarray(x), t)  # type: ignore[arg-type]
    with pytest.raises(nn.NetworkError, match="x has no rows"):
        nn.pass_(nn.Phase.TRAIN, small_net(), Matrix.zeros(0, 4), Matrix.zeros(0, 3))


def test_dropout_needs_a_generator_in_training() -> None:
    net: list[nn.Layer] = [*small_net()[:3], nn.Dropout(0.5), small_net()[3]]
    x, t = batch()
    with pytest.raises(nn.NetworkError, match=names("layer 3 (Dropout p=0.5)") + ".*rng="):
        nn.pass_(nn.Phase.TRAIN, net, x, t)
    with pytest.raises(TypeError, match=r"numpy\.random\.Generator"):
        nn.pass_(nn.Phase.TRAIN, net, x, t, rng=7)  # type: ignore[arg-type]
    nn.pass_(nn.Phase.EVAL, net, x, t)  # no randomness needed
    nn.pass_(nn.Phase.TRAIN, [*net[:3], nn.Dropout(0.0), net[4]], x, t)


def test_layers_refuse_bad_parameters() -> None:
    with pytest.raises(nn.NetworkError, match="b has 4 elements but w has 3 columns"):
        nn.Linear(Matrix.ones(2, 3), Vector.zeros(4))
    with pytest.raises(TypeError, match=r"Linear.w must be a manifest typedarr Matrix"):
        nn.Linear(np.ones((2, 3)), Vector.zeros(3))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="compute a delayed array first"):
        nn.LinearNoBias(Matrix.ones(2, 3) * 2.0)  # type: ignore[arg-type]
    with pytest.raises(nn.NetworkError, match="mix dtypes"):
        nn.Linear(Matrix.ones(2, 3), Vector.zeros(3, dtype=np.float64))
    with pytest.raises(nn.NetworkError, match="same size, got 2, 2, 3 and 2"):
        nn.Batchnorm1d(Vector.zeros(2), Vector.ones(2), Vector.ones(3), Vector.zeros(2))
    with pytest.raises(nn.NetworkError, match="eps must be positive"):
        nn.Batchnorm1d.init(2, eps=0.0)
    with pytest.raises(nn.NetworkError, match="momentum must be in"):
        nn.Batchnorm1d.init(2, momentum=1.5)
    with pytest.raises(nn.NetworkError, match=r"p must be in \[0, 1\)"):
        nn.Dropout(1.0)
    with pytest.raises(TypeError, match=r"nn\.Relu"):
        nn.Activation("relu")  # type: ignore[arg-type]


def test_update_refuses_gradients_of_another_network() -> None:
    net = small_net()
    grads: list[nn.Gradients] = [nn.NoGrad()] * 4
    with pytest.raises(nn.NetworkError, match=names("layer 0 (Linear 4->5): got NoGrad, "
                                                    "expected LinearGradients")):
        nn.SGD(lr=0.1).update(net, grads)
    with pytest.raises(nn.NetworkError, match="3 gradients for a network of 4 layers"):
        nn.Adam().update(net, grads[:3])
    x, t = batch()
    _, good = nn.pass_(nn.Phase.TRAIN, net, x, t)
    _, opt = nn.Adam().update(net, good)
    with pytest.raises(nn.NetworkError, match="moments for 4 layers, the network has 3"):
        opt.update(net[:3], good[:3])


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"hiddens": [0]}, "sizes must be positive"),
    ({"activations": [nn.Relu]}, "2 linear layers need 2 activations"),
    ({"num_bn_layers": 3}, "num_bn_layers must be in 0 .. 2"),
    ({"dropout": 1.0}, "dropout must be in"),
])
def test_mlp_arguments(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"hiddens": [4], "activations": [nn.Relu, nn.Identity]}
    args.update(kwargs)
    with pytest.raises(nn.NetworkError, match=names(message)):
        nn.mlp(3, 2, seed=0, **args)  # type: ignore[arg-type]
