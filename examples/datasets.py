"""The MNIST-layout datasets this project knows: their file names, mirrors, checksums and
the most each file may hold.

MNIST, Fashion-MNIST and Kuzushiji-MNIST share the IDX layout and the file names; each has
its own mirrors and checksums (`DATASETS`). MNIST's md5 sums are of the uncompressed files
(DESIGN.md §6); Fashion-MNIST and KMNIST publish the md5 sums of their `.gz` files.

What a file may cost is known in advance: each MNIST file holds at most 60,000 (training) or
10,000 (test) items of 28x28 pixels or one label (`EXPECTED`, `max_bytes`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from examples.idx import IMAGE_COLS, IMAGE_ROWS, Expected

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
    when `compressed_md5`, of the published `.gz` file.
    """

    name: str
    mirrors: tuple[str, ...]
    md5: Mapping[str, str]
    compressed_md5: bool = False


MNIST = Dataset("mnist", MIRRORS, MD5)
FASHION_MNIST = Dataset(
    "fashion-mnist",
    ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
     "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"),
    MappingProxyType({
        TRAIN_IMAGES: "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        TRAIN_LABELS: "25c81989df183df01b3e8a0aad5dffbe",
        TEST_IMAGES: "bef4ecab320f06d8554ea6380940ec79",
        TEST_LABELS: "bb300cfdad3c16e7a12a480ee83cd310",
    }),
    compressed_md5=True,
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
    compressed_md5=True,
)
DATASETS: Mapping[str, Dataset] = MappingProxyType(
    {d.name: d for d in (MNIST, FASHION_MNIST, KMNIST)})

ENV_VAR = "TYPEDARR_DATA"
"""The environment variable naming the directory of the MNIST copy."""


def max_bytes(stem: str) -> int:
    """The size of the largest file named `stem` that could be valid, uncompressed."""
    spec = EXPECTED[stem]
    return 4 + 4 * (1 + len(spec.item)) + spec.max_count * math.prod(spec.item)
