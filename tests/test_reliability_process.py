"""Processes and signals around the fused engine: fork, spawn and threads after a parallel
kernel, and Ctrl-C during a long compute or a first compile.

Everything runs in a child process, so that a crash or a hang is this test's failure and not
the end of the test session.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _ctrl_c import python

import typedarr as ta

_FORKING = textwrap.dedent("""
    import json, multiprocessing, os, sys, threading
    import numba
    import numpy as np
    import typedarr as ta
    from typedarr._fused import _engine
    _engine.PAR_THRESHOLD = 0  # the parallel variant even at this size

    def work(seed):
        x = ta.Matrix.random_normal(300, 200, seed=seed, dtype=np.float64).with_strategy(ta.Par)
        return np.asarray(ta.compute(ta.sum_rows(ta.tanh(x) * 2.0 + x))).tolist()

    if __name__ == "__main__":
        how = sys.argv[1]
        want = work(0)  # the parent runs a parallel kernel before anything else
        if how == "os.fork":
            pid = os.fork()
            if pid == 0:
                os._exit(0 if work(0) == want else 3)
            got = [want] if os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0 else []
        elif how == "threads":
            got = [None] * 4
            def run(i):
                got[i] = work(0)
            threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        else:
            with multiprocessing.get_context(how).Pool(2) as pool:
                got = pool.map(work, [0, 0, 0])
        print(json.dumps({"layer": numba.threading_layer(), "want": want, "got": got}))
""")


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_THREADING_LAYER"}
    return {**env, "TYPEDARR_CACHE_DIR": str(tmp_path / "kernels"), "TYPEDARR_ENGINE": "fused",
            "PYTHONPATH": os.pathsep.join(sys.path), **extra}


def _forking_child(tmp_path: Path, how: str, **env: str) -> dict[str, Any]:
    script = tmp_path / "forking.py"
    script.write_text(_FORKING)
    done = subprocess.run([sys.executable, str(script), how], env=_env(tmp_path, **env),
                          text=True, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize("how", ["os.fork", "fork", "forkserver", "spawn", "threads"])
def test_after_a_parallel_kernel_children_and_threads_compute(how: str, tmp_path: Path) -> None:
    result = _forking_child(tmp_path, how)
    assert result["layer"] == "workqueue"
    assert result["got"] and all(got == result["want"] for got in result["got"])
    data = np.asarray(ta.Matrix.random_normal(300, 200, seed=0, dtype=np.float64))
    np.testing.assert_allclose(result["want"], (np.tanh(data) * 2.0 + data).sum(0), rtol=1e-12)


def test_a_threading_layer_the_user_chose_is_kept(tmp_path: Path) -> None:
    result = _forking_child(tmp_path, "threads", NUMBA_THREADING_LAYER="omp")
    assert result["layer"] == "omp"


_INTERRUPTED = textwrap.dedent("""
    import json, sys, threading, time
    import numpy as np
    import typedarr as ta
    from typedarr._fused import _engine
    strategy = ta.Par if sys.argv[1] == "par" else ta.Seq

    # Long enough that the kernel is still running well after Ctrl-C, even under Par on an
    # idle machine (about a second and a half of work per core there).
    steps = 60

    def chain(x):
        for _ in range(steps):
            x = ta.tanh(x) * 1.0001 + 0.5
        return x

    small = ta.Matrix.random_normal(64, 64, seed=1).with_strategy(strategy)
    if sys.argv[2] == "compiled":
        saved, _engine.PAR_THRESHOLD = _engine.PAR_THRESHOLD, 0
        ta.compute(chain(small))  # compiled now: what follows is the kernel's own time
        _engine.PAR_THRESHOLD = saved
        data = ta.Matrix.random_normal(2048, 2048, seed=2).with_strategy(strategy)
    else:
        data = small  # a first compile: that is what takes time
    print("start", flush=True)
    start = time.perf_counter()
    try:
        ta.compute(chain(data))
        print("finished", flush=True)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
    for thread in threading.enumerate():  # the abandoned kernel runs to its end
        if thread.name == "typedarr-kernel":
            thread.join()
    ran = time.perf_counter() - start
    got = np.asarray(ta.compute(chain(small)))
    want = np.asarray(small)
    for _ in range(steps):
        want = np.tanh(want) * np.float32(1.0001) + np.float32(0.5)
    print(json.dumps({"ran": ran, "error": float(np.abs(got - want).max())}), flush=True)
""")


def _interrupt(tmp_path: Path, strategy: str, what: str, after: float) -> tuple[float, Any]:
    """Start the child, send SIGINT `after` seconds into its compute; return the latency
    of the KeyboardInterrupt and the child's report."""
    with subprocess.Popen(python("-c", _INTERRUPTED, strategy, what),
                          env=_env(tmp_path), text=True, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) as child:
        try:
            assert child.stdout is not None
            assert child.stdout.readline() == "start\n"
            time.sleep(after)
            sent = time.perf_counter()
            child.send_signal(signal.SIGINT)
            said = child.stdout.readline()
            latency = time.perf_counter() - sent
            out, err = child.communicate(timeout=300)
        finally:
            child.kill()
    assert said == "interrupted\n", err
    assert child.returncode == 0, err
    return latency, json.loads(out)


@pytest.mark.parametrize("strategy", ["seq", "par"])
def test_ctrl_c_interrupts_a_long_compute_within_a_second(strategy: str, tmp_path: Path) -> None:
    latency, report = _interrupt(tmp_path, strategy, "compiled", 0.3)
    assert latency < 1.0
    assert report["ran"] > latency + 1.0  # the kernel went on well after Ctrl-C returned
    assert report["error"] < 1e-5  # and the next compute is right


def test_ctrl_c_during_a_first_compile_leaves_a_working_kernel(tmp_path: Path) -> None:
    latency, report = _interrupt(tmp_path, "seq", "fresh", 0.1)
    assert latency < 1.0
    assert report["error"] < 1e-5


_DURING_IMPORT = textwrap.dedent("""
    import importlib.abc, os, signal, sys
    import numpy as np
    import typedarr as ta

    class InterruptAt(importlib.abc.MetaPathFinder):
        \"\"\"Ctrl-C the moment numba starts importing `sys.argv[1]`.\"\"\"
        def find_spec(self, name, path=None, target=None):
            if name == sys.argv[1]:
                sys.meta_path.remove(self)
                os.kill(os.getpid(), signal.SIGINT)
            return None

    x = ta.Matrix.random_normal(5, 4, seed=3)
    assert "numba" not in sys.modules
    sys.meta_path.insert(0, InterruptAt())
    try:
        ta.compute(ta.exp(x) * 2.0)
        print("finished")
    except KeyboardInterrupt:
        print("interrupted")
    got = np.asarray(ta.compute(ta.exp(x) * 2.0))
    assert np.allclose(got, np.exp(np.asarray(x)) * 2.0)
""")


@pytest.mark.parametrize("module", ["llvmlite.binding", "numba.core.types.misc",
                                    "numba.core.typing.templates", "numba.np.ufunc"])
def test_ctrl_c_while_the_engine_loads_leaves_it_loadable(module: str, tmp_path: Path) -> None:
    done = subprocess.run(python("-c", _DURING_IMPORT, module),
                          env=_env(tmp_path), text=True, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "interrupted\n"


_DURING_LOAD = textwrap.dedent("""
    import os, signal, sys
    import numpy as np
    import typedarr as ta
    from typedarr._fused import _cache, _cachedir, _numbacache
    owner, name = {"generate": (_cache, "generate"), "evict": (_cachedir, "evict"),
                   "enable": (_numbacache, "enable")}[sys.argv[1]]
    original = getattr(owner, name)

    def interrupted(*args, **kwargs):
        setattr(owner, name, original)
        result = original(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C just as this step ends
        return result

    setattr(owner, name, interrupted)
    x = ta.Matrix.random_normal(5, 4, seed=4)
    try:
        ta.compute(ta.exp(x) * 3.0)
        print("finished")
    except KeyboardInterrupt:
        print("interrupted", len(_cache._kernels))
    got = np.asarray(ta.compute(ta.exp(x) * 3.0))
    assert np.allclose(got, np.exp(np.asarray(x)) * 3.0)
""")


@pytest.mark.parametrize("step", ["generate", "evict", "enable"])
def test_ctrl_c_while_a_kernel_is_made_leaves_no_half_made_kernel(step: str,
                                                                   tmp_path: Path) -> None:
    done = subprocess.run(python("-c", _DURING_LOAD, step), env=_env(tmp_path),
                          text=True, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "interrupted 0\n"
