"""typedarr on a `dask.distributed` cluster of two worker processes (started here, on this
machine only): results equal the in-memory engine's, kernels are compiled or loaded by the
workers through the kernel cache, and a worker killed in the middle of a compute costs time,
not the result.

The cluster is made as a user makes one (`Client(LocalCluster(...))`, the default scheduler
while it lives): typedarr finds it through Dask, never by being told.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import pytest
from distributed import Client, LocalCluster

import typedarr as ta

RTOL = 1e-4  # float32, sums added in another order across blocks (see test_dask)


@pytest.fixture(scope="module")
def kernels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("worker-kernels")


@pytest.fixture(scope="module")
def client(kernels: Path) -> Iterator[Client]:
    """Two single-threaded worker processes whose kernel cache is a fresh directory."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TYPEDARR_CACHE_DIR", str(kernels))  # this process's kernels too
        cluster = LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                               dashboard_address=None, host="127.0.0.1",
                               env={"TYPEDARR_CACHE_DIR": str(kernels)})
        with cluster, Client(cluster) as c:
            yield c


def assert_close(got: Any, want: Any) -> None:
    want = np.asarray(want)
    scale = float(np.max(np.abs(want), initial=1.0))
    np.testing.assert_allclose(np.asarray(got), want, rtol=RTOL, atol=RTOL * scale)


def test_results_equal_in_memory_on_the_cluster(client: Client, kernels: Path) -> None:
    x = np.random.default_rng(0).standard_normal((203, 9)).astype(np.float32)
    u = ta.Vector.from_numpy(np.linspace(-1, 1, 9).astype(np.float32))
    for chunks in ((50, 9), (17, 4)):
        xc = ta.Matrix.from_dask(da.from_array(x, chunks=chunks))
        mu, var, scaled = ta.compute(ta.mean(xc), ta.var(xc),
                                     ta.sum_cols(xc * ta.rows_like(u, xc)))
        assert_close(mu.to_numpy(), x.mean(0))
        assert_close(var.to_numpy(), x.var(0))
        assert_close(scaled.to_numpy(), x @ u.to_numpy())
        assert_close((xc.T @ xc).to_numpy(), x.T @ x)

    def kernel_stats() -> Any:
        from typedarr import _fused

        return _fused.stats()

    stats = client.run(kernel_stats)
    assert sum(s.structures for s in stats.values()) > 0  # the workers ran the kernels
    assert any(p.suffix == ".py" for p in kernels.iterdir())  # through the kernel cache


def test_a_worker_killed_mid_compute_gives_the_right_result(client: Client) -> None:
    x = np.random.default_rng(1).standard_normal((160, 6)).astype(np.float32)

    def slow(block: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        time.sleep(0.15)
        return block

    source = da.from_array(x, chunks=(10, 6)).map_blocks(slow, dtype=np.float32)
    xc = ta.Matrix.from_dask(source)
    before = client.run(os.getpid)
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(ta.compute, ta.mean(xc), ta.var(xc))
        deadline = time.monotonic() + 30
        while not any(client.processing().values()):
            assert time.monotonic() < deadline and not future.done()
            time.sleep(0.05)
        time.sleep(0.3)  # some blocks done, others running
        assert not future.done()
        os.kill(next(iter(before.values())), signal.SIGKILL)
        mu, var = future.result(timeout=120)
    assert_close(mu.to_numpy(), x.mean(0))
    assert_close(var.to_numpy(), x.var(0))
    client.wait_for_workers(2, timeout=60)
    after = client.run(os.getpid)
    assert set(after.values()) != set(before.values())  # a worker really was replaced
