"""A big program's first call hands half of its new kernels to a helper process
(`typedarr._fused._precompile`): the results are the same, the handed kernels are loaded
from the disk cache instead of compiled here, one core starts no helper, a failed helper
only costs time, and the helper loads kernel modules only from the trusted directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from typedarr._fused import _cache

ROOT = Path(__file__).resolve().parents[1]

_CHILD = """
import json, os, sys
import numpy as np
import nn
from examples.train import seed000_net
from typedarr import Matrix, _fused
from typedarr._fused import _precompile
if sys.argv[1] == "one-core":
    os.cpu_count = lambda: 1
if sys.argv[1] == "switched-off":
    os.environ["TYPEDARR_COMPILE_HELPER"] = "0"
if sys.argv[1] == "failing":
    _precompile.sys.executable = "/nonexistent/python"
x = Matrix.random_normal(50, 784, seed=1)
t = nn.one_hot(np.arange(50) % 10, 10)
net, opt, pred = nn.compile_step()(seed000_net(batchnorm=True), nn.SGD(lr=0.01), x, t)
eager, _ = nn.pass_(nn.Phase.TRAIN, seed000_net(batchnorm=True), x, t)
stats = _fused.stats()
print(json.dumps({"compiled": stats.compiled, "loaded": stats.loaded,
                  "diff": float(np.abs(np.asarray(pred) - np.asarray(eager)).max())}))
"""


def _first_step(mode: str, cache: Path) -> dict[str, float]:
    env = {**os.environ, "TYPEDARR_CACHE_DIR": str(cache),
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    proc = subprocess.run([sys.executable, "-c", _CHILD, mode], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr
    out: dict[str, float] = json.loads(proc.stdout.splitlines()[-1])
    return out


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="a helper process needs a second core")
def test_the_helper_compiles_half_of_the_new_kernels_and_they_load_here(tmp_path: Path
                                                                         ) -> None:
    got = _first_step("two-cores", tmp_path / "kernels")
    assert got["diff"] < 1e-5
    assert got["loaded"] >= 1  # compiled by the helper, loaded from the disk cache here
    assert got["compiled"] >= 1  # the first half, compiled here


@pytest.mark.parametrize("mode", ["one-core", "switched-off", "failing"])
def test_no_helper_or_a_failed_one_compiles_everything_here(mode: str, tmp_path: Path
                                                            ) -> None:
    got = _first_step(mode, tmp_path / "kernels")
    assert got["diff"] < 1e-5
    assert got["loaded"] == 0 and got["compiled"] >= 2


def test_the_helper_loads_kernels_only_from_the_trusted_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    trusted = tmp_path / "kernels"
    monkeypatch.setenv("TYPEDARR_CACHE_DIR", str(trusted))
    from typedarr._fused import _cachedir

    directory = _cachedir.private_directory(trusted)
    elsewhere = tmp_path / "elsewhere.py"
    elsewhere.write_text("seq = par = None\n")
    with pytest.raises(ValueError, match="is not a kernel module"):
        _cache.kernel_from_file(elsewhere)
    forged = directory / f"{_cachedir.PREFIX}{'0' * 24}.py"
    forged.write_text("seq = par = None\n")  # its name is not the hash of its source
    with pytest.raises(ValueError, match="is not a kernel module"):
        _cache.kernel_from_file(forged)
