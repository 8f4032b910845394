"""Shared test setup: hypothesis profiles, a private kernel cache for the whole session, the
doctest namespace (the `>>>` examples in typedarr and nn run with the public names in
scope), where the MNIST copy for tests is, and a tiny generated dataset in its layout.

Hypothesis draws fresh examples on every run, CI included (never derandomized: a fixed seed
explores nothing new), prints the blob that reproduces a failure, and keeps failures in
`.hypothesis/examples` (git-ignored) so a local rerun tries them first. `CI=true` selects
the `ci` profile, anything else `dev`; `HYPOTHESIS_PROFILE` names one explicitly (the
`mutation` profile is scripts/mutation.sh's).
"""

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

import typedarr

if TYPE_CHECKING:
    from _tiny_mnist import TinyMnist

ROOT = Path(__file__).resolve().parent


def in_ci() -> bool:
    """Whether this run is CI's (`CI` set, as CI services do, and not to a false value)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


# Built on hypothesis's own defaults, not on whatever profile it loaded by itself (with CI
# set it loads a derandomized one). deadline=None: a first example may compile a numba
# kernel (about a second), later ones not; too_slow off: the machines are shared, so how
# long drawing an example takes is noise.
_COMMON: dict[str, Any] = {
    "parent": settings.get_profile("default"),
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow],
    "print_blob": True,
}
_DATABASE = DirectoryBasedExampleDatabase(ROOT / ".hypothesis" / "examples")
settings.register_profile("dev", max_examples=50, derandomize=False, database=_DATABASE,
                          **_COMMON)
settings.register_profile("ci", max_examples=100, derandomize=False, database=_DATABASE,
                          **_COMMON)
# scripts/mutation.sh runs the tests once per mutant: the same few examples every time, so
# whether a mutant is killed does not depend on the draw.
settings.register_profile("mutation", max_examples=20, derandomize=True, database=None,
                          **_COMMON)
settings.load_profile(os.environ.get(
    "HYPOTHESIS_PROFILE", "ci" if in_ci() else "dev"))


def pytest_configure(config: pytest.Config) -> None:
    """Every kernel the tests compile goes to a fresh private directory, never the user's
    cache: set before any test computes (the cache reads the variable when it writes), and
    removed at the end. A test that needs its own directory sets its own.

    `TYPEDARR_TEST_CACHE_DIR` names a directory to use instead, kept: scripts/mutation.sh
    runs the tests once per mutant and would otherwise compile every kernel every time.
    """
    kept = os.environ.get("TYPEDARR_TEST_CACHE_DIR")
    kernels = kept or tempfile.mkdtemp(prefix="typedarr-test-kernels-")  # mode 0700
    before = os.environ.get("TYPEDARR_CACHE_DIR")
    os.environ["TYPEDARR_CACHE_DIR"] = kernels

    def restore() -> None:
        if before is None:
            os.environ.pop("TYPEDARR_CACHE_DIR", None)
        else:
            os.environ["TYPEDARR_CACHE_DIR"] = before
        if not kept:
            shutil.rmtree(kernels, ignore_errors=True)

    config.add_cleanup(restore)


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace: dict[str, Any]) -> None:
    doctest_namespace["np"] = np
    doctest_namespace["ta"] = typedarr
    for name in typedarr.__all__:
        doctest_namespace[name] = getattr(typedarr, name)


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The MNIST files tests read: `$TYPEDARR_TEST_MNIST`, else `../shared/datasets/mnist`
    beside the project. Absent, the tests that need it skip, except under CI, where a
    missing copy is a failure rather than a silently smaller test run."""
    env = os.environ.get("TYPEDARR_TEST_MNIST")
    default = Path(__file__).resolve().parent.parent / "shared" / "datasets" / "mnist"
    directory = Path(env) if env else default
    if not (directory / "train-images-idx3-ubyte.gz").is_file():
        message = f"no MNIST copy at {directory} (set TYPEDARR_TEST_MNIST)"
        if env or in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return directory


@pytest.fixture(scope="session")
def tiny_mnist(tmp_path_factory: pytest.TempPathFactory) -> "TinyMnist":
    """A tiny generated dataset in MNIST's layout (tests/_tiny_mnist.py), gzipped and raw:
    for the tests of the command lines and the loader, which run everywhere."""
    from _tiny_mnist import make  # tests/ is on sys.path once a test module there is imported

    return make(tmp_path_factory.mktemp("tiny-mnist"))
