"""Find MNIST (or Fashion-MNIST, or Kuzushiji-MNIST) on disk, or fetch it from a public
mirror, and load it as checked arrays.

Where the files are looked for: the `--data-dir` argument, else the `TYPEDARR_DATA`
environment variable, else a per-user cache (`$XDG_CACHE_HOME/typedarr/mnist`, by default
`~/.cache/typedarr/mnist`). Absent files are downloaded (`examples.download`). Each file is
checked against its md5 (`examples.checksums`), streamed as it is read: MNIST's and
Fashion-MNIST's of the uncompressed content, so a copy gzipped by another compressor, or
not gzipped, is accepted when its content is right; KMNIST's of its published `.gz` files,
so an uncompressed KMNIST file is checked structurally (header, sizes, label range) only.
A header declaring more than the published dataset holds is refused before anything is
allocated (`examples.datasets.EXPECTED`).

Command lines load through `load_dataset` (or `load_for_cli`), whose errors name the
dataset asked for; each CLI puts its own name before them.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from examples import datasets
from examples.checksums import Check, MnistChecksumError, check_md5, file_md5
from examples.datasets import (
    ENV_VAR,
    EXPECTED,
    FILES,
    MNIST,
    TEST_IMAGES,
    TEST_LABELS,
    TRAIN_IMAGES,
    TRAIN_LABELS,
    Dataset,
)
from examples.download import DEFAULT_TIMEOUT, MnistNotFound, fetch, not_found_message
from examples.idx import IdxError, read_idx
from examples.mnist_arrays import check_counts, to_images, to_labels


# eq=False: the fields are arrays, whose == is elementwise, so generated equality would raise.
@dataclass(frozen=True, slots=True, eq=False)
class Mnist:
    """The MNIST splits: images `(n, 784)` float32 in [0, 1], labels `(n,)` int64 in 0..9.

    The arrays are read-only, as typedarr's are: index with a permutation to shuffle.
    """

    train_x: NDArray[np.float32]
    train_y: NDArray[np.int64]
    test_x: NDArray[np.float32]
    test_y: NDArray[np.int64]


def resolve_data_dir(data_dir: Path | None, dataset: Dataset = MNIST) -> Path:
    """The directory to look for `dataset` in: `data_dir`, else (MNIST only)
    `$TYPEDARR_DATA`, else the per-user cache.

    The cache follows the XDG base-directory spec: `$XDG_CACHE_HOME/typedarr/<name>` when
    that variable holds an absolute path, else `~/.cache/typedarr/<name>`.

    >>> resolve_data_dir(Path("/data/mnist")).as_posix()
    '/data/mnist'
    """
    if data_dir is not None:
        return data_dir.expanduser()
    if dataset.name == "mnist" and (env := os.environ.get(ENV_VAR)):
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME", "")
    # The spec says a relative value is invalid and must be ignored.
    base = Path(cache) if os.path.isabs(cache) else Path.home() / ".cache"
    return base / "typedarr" / dataset.name


def find_file(directory: Path, stem: str) -> Path | None:
    """The gzipped (`stem.gz`) or else raw (`stem`) file in `directory`, or None if neither."""
    for path in (directory / f"{stem}.gz", directory / stem):
        if path.is_file():
            return path
    return None


def load_mnist(
    data_dir: Path | None = None,
    *,
    dataset: Dataset = MNIST,
    download: bool = True,
    verify_md5: bool = True,
    mirrors: Sequence[str] | None = None,
    md5: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Mnist:
    """Load `dataset` from `resolve_data_dir(data_dir, dataset)`, downloading absent files.

    Args:
        data_dir: where the files are (see `resolve_data_dir` for the default).
        dataset: MNIST (the default), FASHION_MNIST or KMNIST (`DATASETS` by name).
        download: fetch absent files from `mirrors`; if False, absent files raise at once.
        verify_md5: check each file (and each download) against `md5`.
        mirrors: base URLs tried in order (default: the dataset's); a file's URL is
            mirror + `<name>.gz`.
        md5: expected md5 per file name without `.gz` (default: the dataset's; tests inject
            small synthetic files).
        timeout: seconds a connection may stall before the next mirror is tried.

    Raises:
        MnistNotFound: files are absent and download is off or every mirror failed.
        MnistChecksumError: a file on disk has the wrong md5 (delete it to fetch it again).
        IdxError: a file is malformed, or a split's images and labels counts differ.
    """
    mirrors = dataset.mirrors if mirrors is None else tuple(mirrors)
    directory = resolve_data_dir(data_dir, dataset)
    missing = [stem for stem in FILES if find_file(directory, stem) is None]
    if missing and not download:
        raise MnistNotFound(not_found_message(dataset, directory, missing, mirrors,
                                               failures=None))
    sums = dataset.md5 if md5 is None else md5
    expected: Mapping[str, str | None] = sums if verify_md5 else dict.fromkeys(FILES)
    check = Check(expected, dataset.compressed_md5)
    for stem in missing:
        fetch(dataset, directory, stem, mirrors, check, timeout, missing)
    train_x, train_y = _load_split(directory, TRAIN_IMAGES, TRAIN_LABELS, check)
    test_x, test_y = _load_split(directory, TEST_IMAGES, TEST_LABELS, check)
    return Mnist(train_x, train_y, test_x, test_y)


def _load_split(
    directory: Path, images: str, labels: str, check: Check
) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """One split's images and labels, checked against each other and made read-only."""
    x = to_images(*_load_file(directory, images, check))
    y = to_labels(*_load_file(directory, labels, check))
    check_counts(x, y, f"{directory}: {images} and {labels}")
    x.flags.writeable = False
    y.flags.writeable = False
    return x, y


def _load_file(directory: Path, stem: str, check: Check) -> tuple[NDArray[np.uint8], str]:
    """A file's array and its name for messages; inflated once for both md5 and parsing."""
    path = find_file(directory, stem)
    if path is None:  # only if the file vanished between the download and here
        raise MnistNotFound(f"{directory / stem}.gz disappeared while loading the data")
    digest: Any = hashlib.md5(usedforsecurity=False)
    try:
        array = read_idx(path, expected=EXPECTED[stem], digest=digest)
        if check.compressed:  # the published sum is the .gz file's: a raw file has none
            digest = file_md5(path) if path.suffix == ".gz" else None
    except OSError as e:  # a read error carries no file name: give it one
        raise OSError(e.errno, f"cannot read {path}: {e.strerror or e}") from e
    expected = check.md5[stem]
    if expected is not None and digest is not None:
        check_md5(digest.hexdigest(), expected, f"{path} (delete it to download it again)",
                   check.compressed)
    return array, str(path)




class DataError(Exception):
    """The files of the dataset a command line asked for are there but cannot be read: the
    message names the dataset and the file and says what is wrong (one line)."""


def load_dataset(name: str, data_dir: Path | None, *, download: bool = True) -> Mnist:
    """`load_mnist` of the dataset `name` (a key of `DATASETS`, as `--dataset` gives it), for
    a command line.

    Raises:
        DataError: a file is damaged, has the wrong md5 or cannot be read.
        MnistNotFound: files are absent and cannot be downloaded (several lines).
    """
    dataset = datasets.DATASETS[name]  # looked up now: tests substitute the table
    try:
        return load_mnist(data_dir, dataset=dataset, download=download)
    except (IdxError, MnistChecksumError, OSError) as e:
        raise DataError(f"cannot read {dataset.label}: {e}") from e


def load_for_cli(prog: str, name: str, data_dir: Path | None, *,
                 download: bool = True) -> Mnist:
    """`load_dataset` for a command line that stops at the first error: what is wrong goes
    to stderr after `prog: error:`, and the process exits with status 2."""
    try:
        return load_dataset(name, data_dir, download=download)
    except (DataError, MnistNotFound) as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        raise SystemExit(2) from e
