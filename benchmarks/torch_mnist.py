"""Seed 000's network in PyTorch on the CPU: the yardstick of the epoch benchmark.

The same architecture and training as `examples.train`'s seed-000 experiment, written the way
a PyTorch user would: 784-300-50-10, `Linear(bias=False)` + `BatchNorm1d` before each ReLU (or
biased linear layers without batchnorm), softmax cross-entropy with mean reduction, plain SGD,
float32. PyTorch is a benchmark-only dependency (`pip install 'typedarr[bench]'`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray


def epoch_runner(train_x: NDArray[np.float32], train_y: NDArray[np.int64], *, batchnorm: bool,
                 batch_size: int, lr: float, seed: int) -> Callable[[NDArray[np.int64]], float]:
    """A function training one epoch over the rows in the given order; returns the mean loss.

    Raises ImportError when PyTorch is not installed.
    """
    import torch
    from torch import nn

    torch.manual_seed(seed)

    def block(n_in: int, n_out: int) -> list[Any]:
        if batchnorm:  # PyTorch's momentum 0.1 is the seeds' 0.9
            return [nn.Linear(n_in, n_out, bias=False), nn.BatchNorm1d(n_out, momentum=0.1),
                    nn.ReLU()]
        return [nn.Linear(n_in, n_out), nn.ReLU()]

    model = nn.Sequential(*block(784, 300), *block(300, 50), nn.Linear(50, 10))
    return sgd_epoch_runner(model, train_x, train_y, batch_size=batch_size, lr=lr)


def sgd_epoch_runner(model: Any, x: NDArray[np.float32], y: NDArray[np.int64], *,
                     batch_size: int, lr: float) -> Callable[[NDArray[np.int64]], float]:
    """A function training the PyTorch `model` for one epoch of plain SGD with softmax
    cross-entropy (mean reduction) over the rows of `x` in the given order, the last
    partial batch dropped; returns the mean loss."""
    import torch

    model.train()
    optimiser = torch.optim.SGD(model.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    # copies: PyTorch wants writable arrays, and the MNIST arrays are read-only
    x_all = torch.from_numpy(np.array(x))
    y_all = torch.from_numpy(np.array(y))

    def run(order: NDArray[np.int64]) -> float:
        total, batches = 0.0, 0
        index = torch.from_numpy(order)
        for start in range(0, len(order) - batch_size + 1, batch_size):
            rows = index[start:start + batch_size]
            loss = loss_fn(model(x_all[rows]), y_all[rows])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            total += float(loss.detach())
            batches += 1
        return total / max(batches, 1)

    return run


def version() -> str | None:
    """PyTorch's version and thread count, or None when it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    return f"torch {torch.__version__} ({torch.get_num_threads()} threads)"
