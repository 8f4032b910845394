"""Seed 003's CNN in PyTorch on the CPU: the yardstick of the CNN epoch benchmark.

`twin(net)` builds the PyTorch network with the layers and the very weights of an `nn`
network (seed 003's: `examples.cnn.seed003_net`), written the way a PyTorch user would:
`Conv2d`, `BatchNorm2d`, `ReLU`, `AvgPool2d`, `Flatten`, `Linear`, `BatchNorm1d`; the
runner trains it with softmax cross-entropy (mean reduction) and plain SGD, float32, so
that both take the same steps from the same start. One difference that leaves the steps
alone: PyTorch's running variance is the unbiased batch variance, nn's the biased one (as
seed 003's). PyTorch is a benchmark-only dependency (`pip install 'typedarr[bench]'`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

import nn
from benchmarks.torch_mnist import sgd_epoch_runner


def twin(net: nn.Network) -> Any:
    """A `torch.nn.Sequential` with the layers and parameters of `net`, in training mode.

    Raises ImportError when PyTorch is not installed, ValueError for a layer it has no
    twin for.
    """
    import torch

    layers = [_layer(layer) for layer in net]
    model = torch.nn.Sequential(*layers)
    model.train()
    return model


def _layer(layer: nn.Layer) -> Any:
    import torch
    from torch import nn as tnn

    def tensor(a: object) -> Any:
        return torch.from_numpy(np.array(a, np.float32))

    match layer:
        case nn.Conv2d(w, b):
            o, c, kh, kw = w.shape
            conv: Any = tnn.Conv2d(c, o, (kh, kw))  # its bias is Optional to mypy
            conv.weight.data, conv.bias.data = tensor(w), tensor(b)
            return conv
        case nn.Linear(w, b):
            linear = tnn.Linear(w.rows, w.cols)
            linear.weight.data, linear.bias.data = tensor(w).T.contiguous(), tensor(b)
            return linear
        case nn.Batchnorm1d() | nn.Batchnorm2d():
            kind = tnn.BatchNorm2d if isinstance(layer, nn.Batchnorm2d) else tnn.BatchNorm1d
            # PyTorch's momentum weighs the batch, nn's (the seeds') the running value
            bn: Any = kind(layer.size, eps=layer.eps, momentum=1.0 - layer.momentum)
            bn.weight.data, bn.bias.data = tensor(layer.gamma), tensor(layer.beta)
            bn.running_mean.data, bn.running_var.data = tensor(layer.mu), tensor(layer.var)
            return bn
        case nn.Activation(nn.Relu):
            return tnn.ReLU()
        case nn.AvgPool2d(k):
            return tnn.AvgPool2d(k)
        case nn.Flatten():
            return tnn.Flatten()
    raise ValueError(f"no PyTorch twin for {layer!r}")


def epoch_runner(net: nn.Network, images: NDArray[np.float32], labels: NDArray[np.int64], *,
                 batch_size: int, lr: float) -> Callable[[NDArray[np.int64]], float]:
    """A function training `twin(net)` for one epoch over the `(N, C, H, W)` images in the
    given order (the last partial batch dropped, as `examples.train` does); returns the
    mean loss.

    Raises ImportError when PyTorch is not installed.
    """
    return sgd_epoch_runner(twin(net), images, labels, batch_size=batch_size, lr=lr)
