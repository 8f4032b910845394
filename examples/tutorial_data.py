"""The data the documentation's tutorials train on: MNIST's first images when a copy is
found, else a generated stand-in of the same shapes, so the site builds everywhere.

MNIST is looked for where the main job looks (`$TYPEDARR_DATA`, else the copy in
`../shared/datasets/mnist` beside the project, else the per-user cache) and never
downloaded: a docs build does not touch the network. The stand-in is ten fixed random
"digit" templates plus noise, learnable like MNIST but much easier, and says so.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from examples.download import MnistNotFound
from examples.mnist_data import load_mnist
from examples.train import Data

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "datasets" / "mnist"
PIXELS = 784


@dataclass(frozen=True, slots=True)
class TutorialData:
    """A training and a test split, and where they came from (printed by the tutorials)."""

    train: Data
    test: Data
    source: str


def tutorial_mnist(train_images: int, test_images: int) -> TutorialData:
    """The first `train_images` and `test_images` of MNIST's splits, or the stand-in.

    >>> d = tutorial_mnist(50, 20)
    >>> d.train.x.shape, d.test.x.shape
    ((50, 784), (20, 784))
    """
    directory = None if os.environ.get("TYPEDARR_DATA") or not SHARED.is_dir() else SHARED
    try:
        m = load_mnist(directory, download=False)
    except MnistNotFound:
        return stand_in(train_images, test_images)
    return TutorialData(Data(m.train_x[:train_images], m.train_y[:train_images]),
                        Data(m.test_x[:test_images], m.test_y[:test_images]),
                        f"MNIST: the first {train_images} training and {test_images} test "
                        f"images")


def stand_in(train_images: int, test_images: int, seed: int = 0) -> TutorialData:
    """Ten random templates in [0, 1] plus noise, labels drawn uniformly: MNIST's shapes.

    >>> stand_in(30, 10).train.y.dtype
    dtype('int64')
    """
    rng = np.random.default_rng(seed)
    templates = rng.random((10, PIXELS), dtype=np.float32)

    def split(n: int) -> Data:
        y = rng.integers(0, 10, size=n).astype(np.int64)
        noise = rng.normal(0.0, 0.3, size=(n, PIXELS)).astype(np.float32)
        return Data(np.clip(templates[y] + noise, 0.0, 1.0).astype(np.float32), y)

    return TutorialData(split(train_images), split(test_images),
                        f"no MNIST copy found: a generated stand-in ({train_images} training "
                        f"and {test_images} test images of ten noisy templates), far easier "
                        f"than MNIST")
