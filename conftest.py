"""Doctest namespace: the `>>>` examples in typedarr and nn run with the public names in scope."""

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
