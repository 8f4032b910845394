"""The fusion benchmark: typedarr's fused kernels against numpy, numexpr and hand-written numba.

Run `python -m benchmarks.fusion` (about two minutes); it prints the Markdown section the
benchmarks page (docs/guide/benchmarks.md) shows. Every table row is measured side by side:
the contenders run in turns, one call each per round, so a noisy neighbour slows them all
alike, and the median is reported.
Every contender returns a freshly allocated result, as `compute` does, except
"numpy with out=" (its point is the reused buffer) and the one row marked "out reused".
"""

from __future__ import annotations

import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from typing import Any

import numba
import numexpr
import numpy as np

import typedarr as ta
from typedarr import _compute, _fused
from typedarr._fused import _engine

Array = np.ndarray[Any, np.dtype[Any]]
Contenders = dict[str, Callable[[], object]]


def side_by_side(contenders: Contenders, repeats: int) -> dict[str, float]:
    """Median seconds per call of each contender, measured in alternating rounds."""
    for run in contenders.values():
        run()  # warm up: compile, fault in pages
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, run in contenders.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


@numba.njit(parallel=True)
def numba_affine_into(out: Array, x: Array, g: Array, mu: Array, ivar: Array, b: Array) -> None:
    for i in numba.prange(x.shape[0]):
        for j in range(x.shape[1]):
            out[i, j] = g[j] * (x[i, j] - mu[j]) * ivar[j] + b[j]


def data(rows: int, cols: int) -> tuple[ta.Matrix, list[ta.Vector]]:
    x = ta.Matrix.random_normal(rows, cols, seed=0)
    return x, [ta.Vector.random_normal(cols, seed=s) for s in (1, 2, 3, 4)]


def affine_contenders(rows: int, cols: int) -> Contenders:
    x, (g, mu, ivar, b) = data(rows, cols)
    xs, gs, mus, ivs, bs = (np.asarray(a) for a in (x, g, mu, ivar, b))
    buffer = np.empty_like(xs)

    def typedarr() -> object:
        r = ta.rows_like
        return ta.compute(r(g, x) * (x - r(mu, x)) * r(ivar, x) + r(b, x))

    def numpy_out() -> object:
        np.subtract(xs, mus, out=buffer)
        np.multiply(buffer, gs, out=buffer)
        np.multiply(buffer, ivs, out=buffer)
        return np.add(buffer, bs, out=buffer)

    return {
        "typedarr (Par)": typedarr,
        "numpy eager": lambda: gs * (xs - mus) * ivs + bs,
        "numpy with out=": numpy_out,
        "numexpr": lambda: numexpr.evaluate("g * (x - mu) * ivar + b", local_dict={
            "g": gs, "x": xs, "mu": mus, "ivar": ivs, "b": bs}),
        # numpy allocates the result, as for typedarr: numpy asks for transparent huge
        # pages, where an np.empty_like inside the numba function faults in 4 KiB pages
        # and measured 2.5 times slower here.
        "numba prange, hand-written": lambda: numba_affine_into(
            np.empty_like(xs), xs, gs, mus, ivs, bs),
        "numba prange, out reused": lambda: numba_affine_into(buffer, xs, gs, mus, ivs, bs),
    }


def variance_contenders(rows: int, cols: int) -> Contenders:
    x, (_, mu, _, _) = data(rows, cols)
    xs, mus = np.asarray(x), np.asarray(mu)
    return {
        "typedarr": lambda: ta.compute(ta.sum_rows((x - ta.rows_like(mu, x)) ** 2)),
        "numpy eager": lambda: ((xs - mus) ** 2).sum(0),
    }


_CHILD = textwrap.dedent("""
    import json, time
    start = time.perf_counter()
    import numpy as np
    import typedarr as ta
    imported = time.perf_counter()
    x = ta.Matrix.random_normal(4096, 4096, seed=0)
    v = [ta.Vector.random_normal(4096, seed=s) for s in (1, 2, 3)]
    d = ta.sqrt(abs(x * ta.rows_like(v[0], x) - ta.rows_like(v[1], x))) + ta.rows_like(v[2], x)
    begin = time.perf_counter()
    import numba
    numba_imported = time.perf_counter()
    ta.compute(d)
    first = time.perf_counter()
    ta.compute(ta.sum_rows((x - ta.rows_like(v[0], x)) ** 2))
    second = time.perf_counter()
    print(json.dumps({"import": imported - start, "numba": numba_imported - begin,
                      "first": first - begin, "second": second - first}))
""")


def compile_costs() -> dict[str, float]:
    """First-result times of a structure never compiled before, then from the disk cache."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "TYPEDARR_CACHE_DIR": cache}

        def child() -> dict[str, float]:
            done = subprocess.run([sys.executable, "-c", _CHILD], env=env, check=True,
                                  capture_output=True, text=True)
            result: dict[str, float] = json.loads(done.stdout)
            return result

        cold = child()
        warm = [child() for _ in range(3)]
    def median(key: str) -> float:
        return statistics.median(w[key] for w in warm)

    return {"new process, compile (numba's start-up included)": cold["first"],
            "same process, another new structure": _compile_in_this_process(),
            "new process, disk cache: first result after `import typedarr`": median("first"),
            "&nbsp;&nbsp;of which `import numba`": median("numba"),
            "&nbsp;&nbsp;a second structure from disk, same process": median("second"),
            "(`import typedarr` itself)": median("import")}


def _compile_in_this_process() -> float:
    x, (g, mu, _, _) = data(4096, 4096)
    with tempfile.TemporaryDirectory() as cache:
        os.environ["TYPEDARR_CACHE_DIR"] = cache
        try:
            start = time.perf_counter()
            ta.compute(ta.tanh(x * ta.rows_like(g, x)) - ta.rows_like(mu * 0.25, x))
            return time.perf_counter() - start
        finally:
            del os.environ["TYPEDARR_CACHE_DIR"]


def threshold_sweep() -> list[tuple[int, float, float]]:
    """Seq and Par kernel times of the affine expression at growing sizes."""
    rows = []
    for n in (64, 128, 256, 362, 512, 724, 1024, 1448, 2048):
        x, (g, mu, ivar, b) = data(n, n)
        r = ta.rows_like
        node = (r(g, x) * (x - r(mu, x)) * r(ivar, x) + r(b, x))._node
        saved, _engine.PAR_THRESHOLD = _engine.PAR_THRESHOLD, 0
        try:
            t = side_by_side({"seq": functools.partial(_compute.evaluate, node, ta.Seq),
                              "par": functools.partial(_compute.evaluate, node, ta.Par)},
                             repeats=300 if n < 512 else 60)
        finally:
            _engine.PAR_THRESHOLD = saved
        rows.append((n * n, t["seq"], t["par"]))
    return rows


def table(title: str, times: dict[str, float], base: str, unit: float, unit_name: str
          ) -> list[str]:
    lines = [f"| {title} | median ({unit_name}) | typedarr speed-up |", "|---|---:|---:|"]
    ours = times[base]
    for name, t in times.items():
        ratio = "" if name == base else f"{t / ours:.2f}x"
        lines.append(f"| {name} | {t / unit:.3g} | {ratio} |")
    return lines


def main() -> None:
    print(f"numba {numba.__version__} ({numba.get_num_threads()} threads), numpy "
          f"{np.__version__}, numexpr {numexpr.__version__}; {os.cpu_count()} cores\n")
    affine = side_by_side(affine_contenders(4096, 4096), repeats=15)
    print("\n".join(table("1. `g*(x-mu)*ivar + b`, 4096x4096 float32", affine,
                          "typedarr (Par)", 1e-3, "ms")), "\n")
    variance = side_by_side(variance_contenders(4096, 4096), repeats=15)
    print("\n".join(table("2. `sum_rows((x - rows_like(mu, x))**2)`, 4096x4096", variance,
                          "typedarr", 1e-3, "ms")), "\n")
    small = side_by_side(variance_contenders(100, 300), repeats=3000)
    print("\n".join(table("3. the same, 100x300 (an MNIST batch)", small, "typedarr", 1e-6,
                          "µs")), "\n")
    print("| 4. compile cost (first result of a new structure) | seconds |\n|---|---:|")
    for name, t in compile_costs().items():
        print(f"| {name} | {t:.3f} |")
    print("\n| Par threshold sweep: elements | Seq (µs) | Par (µs) | Par speed-up |")
    print("|---:|---:|---:|---:|")
    for elements, seq, par in threshold_sweep():
        print(f"| {elements} | {seq * 1e6:.1f} | {par * 1e6:.1f} | {seq / par:.2f}x |")
    print(f"\nPAR_THRESHOLD = {_engine.PAR_THRESHOLD} elements; kernels compiled "
          f"{_fused.stats()}")


if __name__ == "__main__":
    main()
