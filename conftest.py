"""Shared fixtures: the doctest namespace (the `>>>` examples in typedarr and nn run with the
public names in scope) and where the MNIST copy for tests is."""

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import typedarr


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
        if env or os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return directory
