"""The fused engine's kernel cache: one kernel per structure whatever the sizes and scalars,
kernels loaded from disk by a second process, concurrent compiles, what a process compiles
(only the sequential variant for small arrays), and the engine chosen by default.

Counts of kernels made in a process depend on everything that ran in it before, so these
tests run their computations in a fresh process with an empty kernel directory: they hold
whatever order the tests run in.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
from _reference_bounds import assert_matches_reference

import typedarr as ta
from typedarr import _compute, _fused
from typedarr._ir import Node


def _fresh_process(source: str, cache: Path, **env: str) -> Any:
    """What `source`, run in a new interpreter with an empty kernel directory `cache`,
    prints as JSON on its last line (`env` adds to, or with "" removes from, the
    environment)."""
    child_env = {**os.environ, "TYPEDARR_CACHE_DIR": str(cache), **env}
    child_env = {k: v for k, v in child_env.items() if v}
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(source)], env=child_env,
                          text=True, capture_output=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


_SIZES_AND_SCALARS = [(3, 4, 2.5), (17, 2, -1.0), (0, 5, 3.0), (6, 1, 0.25)]


def _one_structure(rows: int, cols: int, c: float) -> Node:
    x = ta.Matrix.random_normal(rows, cols, seed=rows, dtype=np.float64)
    return ta.sum_cols(ta.tanh(x) * c - abs(x))._node


def test_one_kernel_serves_every_size_and_scalar(tmp_path: Path) -> None:
    counts = _fresh_process(f"""
        import dataclasses, json
        import numpy as np
        import typedarr as ta
        from typedarr import _compute, _fused
        counts = []
        for rows, cols, c in {_SIZES_AND_SCALARS!r}:
            x = ta.Matrix.random_normal(rows, cols, seed=rows, dtype=np.float64)
            _compute.evaluate(ta.sum_cols(ta.tanh(x) * c - abs(x))._node, ta.Seq)
            counts.append(dataclasses.asdict(_fused.stats()))
        print(json.dumps(counts))
    """, tmp_path, TYPEDARR_ENGINE="fused")
    assert counts[0] == {"structures": 1, "compiled": 1, "loaded": 0}
    assert counts == [counts[0]] * len(_SIZES_AND_SCALARS)  # no other kernel, no recompile
    for rows, cols, c in _SIZES_AND_SCALARS:  # and every one of them computes the right values
        node = _one_structure(rows, cols, c)
        assert_matches_reference(_compute.evaluate(node, ta.Seq), node)


_CHILD = textwrap.dedent("""
    import dataclasses, json, sys
    import numpy as np
    import typedarr as ta
    from typedarr import _fused
    x = ta.Matrix.random_normal(50, 40, seed=0, dtype=np.float64)
    mu = ta.Vector.random_normal(40, seed=1, dtype=np.float64)
    d = ta.sum_cols(ta.maximum(x - ta.rows_like(mu, x), 0.125) * 1.75)
    values = np.asarray(d.with_strategy(ta.Seq).compute()).tolist()
    print(json.dumps({"values": values, **dataclasses.asdict(_fused.stats())}))
""")


def _child(cache: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "TYPEDARR_CACHE_DIR": str(cache), "TYPEDARR_ENGINE": "fused"}
    return subprocess.Popen([sys.executable, "-c", _CHILD], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _result(child: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err
    result: dict[str, Any] = json.loads(out)
    return result


def test_a_second_process_loads_the_kernel_from_disk(tmp_path: Path) -> None:
    first = _result(_child(tmp_path))
    second = _result(_child(tmp_path))
    assert first["compiled"] == 1 and first["loaded"] == 0
    assert second["compiled"] == 0 and second["loaded"] == 1
    assert first["values"] == second["values"]
    assert len(list(tmp_path.glob("typedarr_kernel_*.py"))) == 1


def test_two_processes_compiling_the_same_kernel_both_succeed(tmp_path: Path) -> None:
    children = [_child(tmp_path), _child(tmp_path)]
    results = [_result(child) for child in children]
    assert results[0]["values"] == results[1]["values"]
    assert len(list(tmp_path.glob("typedarr_kernel_*.py"))) == 1
    assert not list(tmp_path.glob(".*.tmp"))


def test_small_arrays_run_sequentially_under_par(tmp_path: Path) -> None:
    x = ta.Matrix.random_normal(3, 4, seed=10).with_strategy(ta.Par)
    d = ta.sqrt(abs(x)) * 1.5 + x
    assert_matches_reference(_compute.evaluate(d._node, ta.Par), d._node)
    ran = _fresh_process("""
        import json
        import typedarr as ta
        from typedarr import _compute, _fused
        from typedarr._fused._plan import make_plan
        x = ta.Matrix.random_normal(3, 4, seed=10).with_strategy(ta.Par)
        d = ta.sqrt(abs(x)) * 1.5 + x
        _compute.evaluate(d._node, ta.Par)
        kernel = _fused._cache.kernel_for(make_plan((d._node,)).program)
        print(json.dumps([len(kernel.seq.signatures), len(kernel.par.signatures)]))
    """, tmp_path, TYPEDARR_ENGINE="fused")
    assert ran == [1, 0]  # the sequential variant ran, the parallel one never compiled


def test_compute_uses_the_fused_engine_by_default(tmp_path: Path) -> None:
    made = _fresh_process("""
        import json
        import numpy as np
        import typedarr as ta
        from typedarr import _compute, _fused
        x = ta.Matrix.random_normal(2, 3, seed=12, dtype=np.float64)
        ta.compute(ta.relu(x) * ta.sigmoid(x) - 0.5)
        fused = isinstance(_compute.current_engine(), _fused.FusedEngine)
        print(json.dumps([fused, _fused.stats().structures]))
    """, tmp_path, TYPEDARR_ENGINE="")  # unset: the default
    assert made == [True, 1]


def test_stats_are_plain_values() -> None:
    stats = _fused.stats()
    assert dataclasses.asdict(stats).keys() == {"structures", "compiled", "loaded"}
