"""How long a compiled training step's first call takes: cold (nothing cached) and from the
kernel disk cache (a new process, the kernels compiled by an earlier one).

Run `python -m benchmarks.first_call`. Each measurement is a fresh Python process timing
`nn.compile_step()`'s first call on seed 000's network (batchnorm, batch 100) after its
imports, so it counts tracing, code generation, compiling or loading, and the call.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

_CHILD = """
import time
import numpy as np
import nn
from examples.train import seed000_net
from typedarr import Matrix
x = Matrix.random_normal(100, 784, seed=1)
t = nn.one_hot(np.arange(100) % 10, 10)
net = seed000_net(batchnorm=True)
step = nn.compile_step()
start = time.perf_counter()
step(net, nn.SGD(lr=0.01), x, t)
first = time.perf_counter() - start
start = time.perf_counter()
step(net, nn.SGD(lr=0.01), x, t)
print(first, time.perf_counter() - start)
"""


def first_call(cache_dir: str) -> tuple[float, float]:
    """(first call, second call) seconds in a new process using `cache_dir` for kernels."""
    env = {**os.environ, "TYPEDARR_CACHE_DIR": cache_dir}
    out = subprocess.run([sys.executable, "-c", _CHILD], env=env, check=True,
                         capture_output=True, text=True).stdout.split()
    return float(out[0]), float(out[1])


def main() -> None:
    """Measure and print the table."""
    with tempfile.TemporaryDirectory() as d:
        cold, _ = first_call(d)
        warm, second = first_call(d)
    print("| compiled step (seed 000, batchnorm, batch 100) | seconds |")
    print("|---|---:|")
    print(f"| first call, nothing cached | {cold:.2f} |")
    print(f"| first call in a new process, kernels on disk | {warm:.2f} |")
    print(f"| a later call | {second * 1000:.1f} ms |")


if __name__ == "__main__":
    main()
