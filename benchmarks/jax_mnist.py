"""Seed 000's network in JAX: its whole training step as one `jax.jit` call (XLA on the CPU),
the best peer on the CPU that issue 19 names, as a contender of the epoch benchmark.

The same training as `benchmarks.numpy_mnist` (the parameters of an `nn` network, batchnorm
with batch statistics and running averages moved by the layer's momentum, ReLU, softmax
cross-entropy on the mean loss, plain SGD), the gradients by `jax.grad`; each step's loss and
accuracy are read back, the bookkeeping typedarr's training loop does too.
`tests/test_benchmarks.py` holds one of its steps to `nn.pass_` and the optimiser's update.
JAX comes from the `bench` extra; `version()` is None without it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

import nn
from benchmarks.numpy_mnist import from_network


def version() -> str | None:
    """JAX's version, or None when it is not installed."""
    try:
        import jax
    except ImportError:
        return None
    return f"JAX {jax.__version__} ({jax.default_backend()})"


def _params(net: nn.Network) -> tuple[list[dict[str, Any]], list[tuple[float, float]]]:
    """The network's arrays as JAX's pytree, and each hidden block's (eps, momentum)."""
    import jax.numpy as jnp

    hidden, w_out, b_out = from_network(net)
    blocks = [{k: jnp.asarray(v) for k, v in (("w", h.w), ("b", h.b), ("gamma", h.gamma),
                                              ("beta", h.beta), ("mu", h.mu), ("var", h.var))
               if v is not None} for h in hidden]
    blocks.append({"w": jnp.asarray(w_out), "b": jnp.asarray(b_out)})
    return blocks, [(h.eps, h.momentum) for h in hidden]


def make_step(settings: list[tuple[float, float]], lr: float) -> Callable[..., Any]:
    """The jitted step `(params, x, labels) -> (params, loss, accuracy)`."""
    import jax
    import jax.numpy as jnp

    def loss_fn(params: list[dict[str, Any]], x: Any, labels: Any) -> Any:
        a, stats = x, list[tuple[Any, Any] | None]()
        for block, (eps, _) in zip(params[:-1], settings, strict=True):
            z = a @ block["w"]
            if "gamma" in block:
                mu, var = z.mean(axis=0), z.var(axis=0)
                z = block["gamma"] * (z - mu) / jnp.sqrt(var + eps) + block["beta"]
                stats.append((mu, var))
            else:
                z = z + block["b"]
                stats.append(None)
            a = jnp.maximum(z, 0)
        logits = a @ params[-1]["w"] + params[-1]["b"]
        logp = jax.nn.log_softmax(logits)
        loss = -jnp.take_along_axis(logp, labels[:, None], axis=1).mean()
        return loss, (stats, (logits.argmax(axis=1) == labels).mean())

    @jax.jit
    def step(params: list[dict[str, Any]], x: Any, labels: Any) -> Any:
        (loss, (stats, accuracy)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
            params, x, labels)
        new = []
        for k, (block, grad) in enumerate(zip(params, grads, strict=True)):
            moved = {name: value - lr * grad[name] for name, value in block.items()
                     if name not in ("mu", "var")}
            if k < len(settings) and stats[k] is not None:
                momentum = settings[k][1]
                mu, var = stats[k]
                moved["mu"] = momentum * block["mu"] + (1 - momentum) * mu
                moved["var"] = momentum * block["var"] + (1 - momentum) * var
            new.append(moved)
        return new, loss, accuracy

    return step


def epoch_runner(net: nn.Network, train_x: NDArray[np.float32], train_y: NDArray[np.int64], *,
                 batch_size: int, lr: float) -> Callable[[NDArray[np.int64]], float]:
    """A function training one epoch over the rows in the given order; the mean loss."""
    params, settings = _params(net)
    step = make_step(settings, lr)
    state = [params]

    def run(order: NDArray[np.int64]) -> float:
        losses = []
        for s in range(0, len(order) - batch_size + 1, batch_size):
            rows = order[s:s + batch_size]
            state[0], loss, accuracy = step(state[0], train_x[rows], train_y[rows])
            losses.append(float(loss))
            float(accuracy)
        return float(np.mean(losses))

    return run
