"""The MNIST-layout datasets this project knows: their file names, mirrors, checksums and
the most each file may hold.

MNIST, Fashion-MNIST and Kuzushiji-MNIST share the IDX layout and the file names; each has
its own mirrors and checksums (`DATASETS`). MNIST's and Fashion-MNIST's md5 sums are of the
uncompressed files (DESIGN.md §6), so any correct copy is accepted, gzipped by any
compressor or not. KMNIST's are the published md5 sums of its `.gz` files: the sums of its
uncompressed files are published nowhere this project could check them against, so only
its published `.gz` files can be verified (an uncompressed copy is checked structurally).

What a file may cost is known in advance: each MNIST file holds at most 60,000 (training) or
10,000 (test) items of 28x28 pixels or one label (`EXPECTED`, `max_bytes`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from examples.idx import Expected
from examples.mnist_arrays import IMAGE_COLS, IMAGE_ROWS

TRAIN_IMAGES = "train-images-idx3-ubyte"
TRAIN_LABELS = "train-labels-idx1-ubyte"
TEST_IMAGES = "t10k-images-idx3-ubyte"
TEST_LABELS = "t10k-labels-idx1-ubyte"
FILES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)

# md5 of the *uncompressed* IDX files (DESIGN.md §6): gzip output differs between
# compressors and levels, the data inside does not.
MD5: Mapping[str, str] = MappingProxyType(
    {
        TRAIN_IMAGES: "6bbc9ace898e44ae57da46a324031adb",
        TRAIN_LABELS: "a25bea736e30d166cdddb491f175f624",
        TEST_IMAGES: "2646ac647ad5339dbf082846283269ea",
        TEST_LABELS: "27ae3e4e09519cfbb04c329615203637",
    }
)

# Tried in order; the URL of a file is mirror + file name. yann.lecun.com is left out: it
# has answered 403 to scripts for years.
MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
TRAIN_COUNT, TEST_COUNT = 60000, 10000
IMAGE = (IMAGE_ROWS, IMAGE_COLS)
EXPECTED: Mapping[str, Expected] = MappingProxyType(
    {
        TRAIN_IMAGES: Expected(TRAIN_COUNT, IMAGE),
        TRAIN_LABELS: Expected(TRAIN_COUNT),
        TEST_IMAGES: Expected(TEST_COUNT, IMAGE),
        TEST_LABELS: Expected(TEST_COUNT),
    }
)
"""The most each file may declare: its size in the published MNIST."""

@dataclass(frozen=True, slots=True)
class Dataset:
    """An MNIST-layout dataset: its name, where to fetch it and how to check its files.

    `md5` maps each file name (without `.gz`) to its md5: of the uncompressed content, or,
    when `compressed_md5`, of the published `.gz` file. `title` is how messages name it
    (default: `name`).
    """

    name: str
    mirrors: tuple[str, ...]
    md5: Mapping[str, str]
    compressed_md5: bool = False
    title: str = ""

    @property
    def label(self) -> str:
        """The name messages use: "MNIST", and the others as `--dataset` names them."""
        return self.title or self.name


MNIST = Dataset("mnist", MIRRORS, MD5, title="MNIST")
FASHION_MNIST = Dataset(
    "fashion-mnist",
    ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
     "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"),
    # Of the uncompressed files (DESIGN.md §6, from Debian's dataset-fashion-mnist, whose .gz
    # files differ from the published ones byte for byte and not in content). The published
    # .gz sums were 8d4fb7e6…, 25c81989…, bef4ecab…, bb300cfd…
    MappingProxyType({
        TRAIN_IMAGES: "f4a8712d7a061bf5bd6d2ca38dc4d50a",
        TRAIN_LABELS: "9018921c3c673c538a1fc5bad174d6f9",
        TEST_IMAGES: "8181f5470baa50b63fa0f6fddb340f0a",
        TEST_LABELS: "15d484375f8d13e6eb1aabb0c3f46965",
    }),
)
KMNIST = Dataset(
    "kmnist",
    ("http://codh.rois.ac.jp/kmnist/dataset/kmnist/",),
    MappingProxyType({
        TRAIN_IMAGES: "bdb82020997e1d708af4cf47b453dcf7",
        TRAIN_LABELS: "e144d726b3acfaa3e44228e80efcd344",
        TEST_IMAGES: "5c965bf0a639b31b8f53240b1b52f4d7",
        TEST_LABELS: "7320c461ea6c1c855c0b718fb2a4b134",
    }),
    compressed_md5=True,  # the uncompressed files' sums are not published: see above
)
DATASETS: Mapping[str, Dataset] = MappingProxyType(
    {d.name: d for d in (MNIST, FASHION_MNIST, KMNIST)})

ENV_VAR = "TYPEDARR_DATA"
"""The environment variable naming the directory of the MNIST copy."""


def max_bytes(stem: str) -> int:
    """The size of the largest file named `stem` that could be valid, uncompressed."""
    spec = EXPECTED[stem]
    return 4 + 4 * (1 + len(spec.item)) + spec.max_count * math.prod(spec.item)
