"""A tiny generated dataset in MNIST's layout, for the tests of the command lines and the
loader that do not need MNIST's contents (only the accuracy floors and the known statistics
of the real files do; they keep the `mnist_dir` fixture and skip without it).

The four files are written gzipped and raw (`TinyMnist.gz`, `TinyMnist.raw`), with the md5
sums of their uncompressed content. Those sums are trusted only where a test says so:
`trusting` is the known-dataset table with MNIST's sums replaced by them, which `trust` puts
in place for one test (in this process) and `command` for a child process; the real table
is never changed, so the real check stays what it is. Run as a script,
`python tests/_tiny_mnist.py MODULE ARGS...` runs `python -m MODULE ARGS...` in a process
that trusts the sums given in `$TINY_MNIST_MD5` (JSON).
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import os
import runpy
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from examples import datasets
from examples.datasets import FILES, MNIST, TEST_IMAGES, TRAIN_IMAGES, Dataset
from examples.idx import encode_idx
from examples.mnist_arrays import IMAGE_COLS, IMAGE_ROWS, NUM_CLASSES

if TYPE_CHECKING:
    import pytest

ROOT = Path(__file__).resolve().parents[1]
TRAIN, TEST = 1200, 300
"""The split sizes: enough for the tests' `--limit 1000` and a few batches of 100."""
ENV = "TINY_MNIST_MD5"


@dataclasses.dataclass(frozen=True, slots=True)
class TinyMnist:
    """Where the tiny dataset is, gzipped and raw, and the md5 of each uncompressed file."""

    gz: Path
    raw: Path
    md5: Mapping[str, str]


def make(root: Path, seed: int = 0) -> TinyMnist:
    """Write the tiny dataset under `root`: random pixels, labels 0..9."""
    rng = np.random.default_rng(seed)
    raw: dict[str, bytes] = {}
    for stem in FILES:
        n = TRAIN if stem.startswith("train") else TEST
        if stem in (TRAIN_IMAGES, TEST_IMAGES):
            array = rng.integers(0, 256, (n, IMAGE_ROWS, IMAGE_COLS), dtype=np.uint8)
        else:
            array = rng.integers(0, NUM_CLASSES, n, dtype=np.uint8)
        raw[stem] = encode_idx(array)
    tiny = TinyMnist(root / "gz", root / "raw", {
        stem: hashlib.md5(data, usedforsecurity=False).hexdigest() for stem, data in raw.items()})
    tiny.gz.mkdir(parents=True)
    tiny.raw.mkdir(parents=True)
    for stem, data in raw.items():
        (tiny.gz / f"{stem}.gz").write_bytes(gzip.compress(data))
        (tiny.raw / stem).write_bytes(data)
    return tiny


def trusting(md5: Mapping[str, str]) -> Mapping[str, Dataset]:
    """The known-dataset table with MNIST's md5 sums replaced by `md5`, and no mirrors (a
    tiny copy is never downloaded)."""
    return {**datasets.DATASETS, "mnist": dataclasses.replace(MNIST, md5=md5, mirrors=())}


def trust(monkeypatch: pytest.MonkeyPatch, tiny: TinyMnist) -> None:
    """For one test: the command lines (`examples.mnist_data.load_dataset`) accept `tiny`
    as MNIST."""
    monkeypatch.setattr(datasets, "DATASETS", trusting(tiny.md5))


def command(module: str, tiny: TinyMnist, *args: str | Path) -> tuple[list[str], dict[str, str]]:
    """The argv and environment of `python -m module args...` trusting `tiny` as MNIST."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), ENV: json.dumps(dict(tiny.md5))}
    return [sys.executable, __file__, module, *map(str, args)], env


if __name__ == "__main__":
    datasets.DATASETS = trusting(json.loads(os.environ[ENV]))
    del sys.argv[0]  # run_module puts the module's file where this script's name was
    runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
