"""The convolution benchmark: typedarr's fused convolution, pooling and adjoints on seed 003's
shapes, against the numpy reference evaluator, generated direct loops and PyTorch.

Run `python -m benchmarks.conv` (about a minute); it prints a Markdown table of median
milliseconds per call at batch 64, float32, the contenders taking turns (see
`benchmarks.fusion.side_by_side`). "direct loops" is the other lowering the fused engine
could generate: a loop nest per output element, samples split over cores, no BLAS. PyTorch
runs where it is installed (it is not a dependency: `pip install torch==2.13.0`).

Run it a second time with `OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1` to
compare the work each contender does, free of thread pools competing: numba's `np.dot` runs
on SciPy's OpenBLAS, a second pool of threads beside numpy's.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numba
import numpy as np

import typedarr as ta
from benchmarks.fusion import Contenders, side_by_side
from typedarr import _reference

Array = np.ndarray[Any, np.dtype[Any]]
# Seed 003's two convolutions: (input, weights); each is followed by a 2x2 average pooling.
SHAPES = [((64, 1, 28, 28), (20, 1, 3, 3)), ((64, 20, 13, 13), (50, 20, 5, 5))]


@numba.njit(parallel=True, nogil=True, cache=True)
def direct_conv_into(out: Array, x: Array, w: Array) -> None:
    """Cross-correlation as straightforward loops, innermost over contiguous output columns."""
    n, c, _, _ = x.shape
    o, _, kh, kw = w.shape
    for b in numba.prange(n):
        for f in range(o):
            plane = np.zeros((out.shape[2], out.shape[3]), out.dtype)
            for ch in range(c):
                for a in range(kh):
                    for d in range(kw):
                        wv = w[f, ch, a, d]
                        for i in range(out.shape[2]):
                            for j in range(out.shape[3]):
                                plane[i, j] += wv * x[b, ch, i + a, j + d]
            out[b, f] = plane


def _torch() -> Any:
    # As typedarr's engine does (before its first kernel), so that PyTorch's OpenMP threads
    # do not spin while the other contenders run in the same process.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", os.cpu_count() or 1)))
    return torch


def contenders(x_shape: tuple[int, ...], w_shape: tuple[int, ...]) -> dict[str, Contenders]:
    """For each operation of one layer, its contenders."""
    rng = np.random.default_rng(0)
    xa = rng.standard_normal(x_shape).astype(np.float32)
    wa = (rng.standard_normal(w_shape) * 0.1).astype(np.float32)
    x, w = ta.Tensor4.from_numpy(xa), ta.Tensor4.from_numpy(wa)
    y = ta.conv2d(x, w)
    dya = rng.standard_normal(y.shape).astype(np.float32)
    dy = ta.Tensor4.from_numpy(dya)
    pooled = ta.avg_pool2d(y, 2)
    dpa = rng.standard_normal(pooled.shape).astype(np.float32)
    dp = ta.Tensor4.from_numpy(dpa)
    out = np.empty(y.shape, np.float32)
    kernel = w_shape[2:]
    ops: dict[str, Contenders] = {
        "conv2d": {
            "typedarr": lambda: ta.conv2d(x, w),
            "numpy reference": lambda: np.ascontiguousarray(_reference.conv2d(xa, wa, 1, 0)),
            "direct loops": lambda: direct_conv_into(out, xa, wa),
        },
        "conv2d_grad_input": {
            "typedarr": lambda: ta.conv2d_grad_input(dy, w, x.shape),
            "numpy reference": lambda: _reference.conv2d_grad_input(dya, wa, x_shape, 1, 0),
        },
        "conv2d_grad_weight": {
            "typedarr": lambda: ta.conv2d_grad_weight(x, dy, kernel),
            "numpy reference": lambda: _reference.conv2d_grad_weight(xa, dya, w_shape, 1, 0),
        },
        "avg_pool2d": {
            "typedarr": lambda: ta.avg_pool2d(y, 2),
            "numpy reference": lambda: _reference.avg_pool2d(np.asarray(y), 2),
        },
        "avg_pool2d_grad": {
            "typedarr": lambda: ta.avg_pool2d_grad(dp, 2, y.shape),
            "numpy reference": lambda: _reference.avg_pool2d_grad(dpa, 2, y.shape),
        },
    }
    torch = _torch()
    if torch is not None:
        _add_torch(torch, ops, xa, wa, dya, np.asarray(y), dpa)
    return ops


def _add_torch(torch: Any, ops: dict[str, Contenders], xa: Array, wa: Array, dya: Array,
               ya: Array, dpa: Array) -> None:
    f = torch.nn.functional
    tx, tw, tdy, ty, tdp = (torch.from_numpy(np.array(a)) for a in (xa, wa, dya, ya, dpa))

    def run(call: Callable[[], object]) -> Callable[[], object]:
        def timed() -> object:
            with torch.no_grad():
                return call()
        return timed

    ops["conv2d"]["PyTorch"] = run(lambda: f.conv2d(tx, tw))
    ops["conv2d_grad_input"]["PyTorch"] = run(
        lambda: torch.nn.grad.conv2d_input(tx.shape, tw, tdy))
    ops["conv2d_grad_weight"]["PyTorch"] = run(
        lambda: torch.nn.grad.conv2d_weight(tx, tw.shape, tdy))
    ops["avg_pool2d"]["PyTorch"] = run(lambda: f.avg_pool2d(ty, 2))
    ops["avg_pool2d_grad"]["PyTorch"] = run(lambda: torch.ops.aten.avg_pool2d_backward(
        tdp, ty, [2, 2], [2, 2], [0, 0], False, True, None))


def main() -> None:
    torch = _torch()
    print(f"{os.cpu_count()} cores; numpy {np.__version__}; numba {numba.__version__}; "
          f"{'torch ' + torch.__version__ if torch else 'PyTorch not installed'}\n")
    names = ["typedarr", "numpy reference", "direct loops", "PyTorch"]
    print("| layer | operation | " + " | ".join(names) + " |")
    print("|---|---|" + "---:|" * len(names))
    for x_shape, w_shape in SHAPES:
        layer = f"x {x_shape}, w {w_shape}"
        for op, runs in contenders(x_shape, w_shape).items():
            times = side_by_side(runs, repeats=30)
            cells = [f"{times[n] * 1e3:.2f}" if n in times else "" for n in names]
            print(f"| {layer} | {op} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
