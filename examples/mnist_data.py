"""Find MNIST (or Fashion-MNIST, or Kuzushiji-MNIST) on disk, or fetch it from a public
mirror, and load it as checked arrays.

The three datasets share the IDX layout and the file names; each has its own mirrors and
checksums (`DATASETS`). MNIST's md5 sums are of the uncompressed files (DESIGN.md §6);
Fashion-MNIST and KMNIST publish the md5 sums of their `.gz` files, which are checked on
every download and on `.gz` files found on disk; an uncompressed file a user provides for
them is checked structurally (header, sizes, label range) only.

Where the files are looked for: the `--data-dir` argument, else the `TYPEDARR_DATA`
environment variable, else a per-user cache (`$XDG_CACHE_HOME/typedarr/mnist`, by default
`~/.cache/typedarr/mnist`). A missing file is downloaded with `urllib` (no extra dependency;
`tqdm` draws a bar when installed), checked against the md5 of its uncompressed content, and
only then published in place atomically (`typedarr._atomic`), so an interrupted or corrupt
download never leaves a file that a later run would trust. Offline, `MnistNotFound` says
exactly which files to put where.

What a file may cost is known in advance: each MNIST file holds at most 60,000 (training) or
10,000 (test) items of 28x28 pixels or one label. A header declaring more is refused before
anything is allocated, a download longer than such a file compressed is cut off, and
checking a download inflates it only up to the size of the largest valid file, so a small
`.gz` that inflates to gigabytes costs neither memory nor disk.
"""

from __future__ import annotations

import hashlib
import http.client
import math
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import IO, Any, Protocol

import numpy as np
from numpy.typing import NDArray

from examples.idx import (
    IMAGE_COLS,
    IMAGE_ROWS,
    Expected,
    check_counts,
    parse_idx,
    read_idx,
    read_idx_bytes,
    to_images,
    to_labels,
)
from typedarr._atomic import atomic_writer

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
DEFAULT_TIMEOUT = 30.0
_CHUNK = 1 << 16


class MnistNotFound(RuntimeError):
    """Raised when MNIST files are absent and cannot be downloaded; says how to provide them."""


class MnistChecksumError(ValueError):
    """Raised when a file's uncompressed content does not have the expected md5."""


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
        raise MnistNotFound(_not_found_message(dataset, directory, missing, mirrors,
                                               failures=None))
    sums = dataset.md5 if md5 is None else md5
    expected: Mapping[str, str | None] = sums if verify_md5 else dict.fromkeys(FILES)
    check = _Check(expected, dataset.compressed_md5)
    for stem in missing:
        _fetch(dataset, directory, stem, mirrors, check, timeout, missing)
    train_x, train_y = _load_split(directory, TRAIN_IMAGES, TRAIN_LABELS, check)
    test_x, test_y = _load_split(directory, TEST_IMAGES, TEST_LABELS, check)
    return Mnist(train_x, train_y, test_x, test_y)


@dataclass(frozen=True, slots=True)
class _Check:
    """The md5 each file must have (None: unchecked), and whether it is the `.gz` file's."""

    md5: Mapping[str, str | None]
    compressed: bool


def _load_split(
    directory: Path, images: str, labels: str, check: _Check
) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """One split's images and labels, checked against each other and made read-only."""
    x = to_images(*_load_file(directory, images, check))
    y = to_labels(*_load_file(directory, labels, check))
    check_counts(x, y, f"{directory}: {images} and {labels}")
    x.flags.writeable = False
    y.flags.writeable = False
    return x, y


def _load_file(directory: Path, stem: str, check: _Check) -> tuple[NDArray[np.uint8], str]:
    """A file's array and its name for messages; inflated once for both md5 and parsing."""
    path = find_file(directory, stem)
    if path is None:  # only if the file vanished between the download and here
        raise MnistNotFound(f"{directory / stem}.gz disappeared while loading the data")
    digest: Any = hashlib.md5(usedforsecurity=False)
    try:
        array = read_idx(path, expected=EXPECTED[stem], digest=digest)
        if check.compressed:  # the published sum is the .gz file's: a raw file has none
            digest = _file_md5(path) if path.suffix == ".gz" else None
    except OSError as e:  # a read error carries no file name: give it one
        raise OSError(e.errno, f"cannot read {path}: {e.strerror or e}") from e
    expected = check.md5[stem]
    if expected is not None and digest is not None:
        _check_md5(digest.hexdigest(), expected, f"{path} (delete it to download it again)",
                   check.compressed)
    return array, str(path)


def _file_md5(path: Path) -> Any:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest


def _check_md5(actual: str, expected: str, source: str, compressed: bool = False) -> None:
    if actual != expected:
        what = "the .gz file" if compressed else "the uncompressed data"
        raise MnistChecksumError(f"{source}: md5 of {what} is {actual}, expected {expected}")


def _max_bytes(stem: str) -> int:
    """The size of the largest file named `stem` that could be valid, uncompressed."""
    spec = EXPECTED[stem]
    return 4 + 4 * (1 + len(spec.item)) + spec.max_count * math.prod(spec.item)


def _fetch(
    dataset: Dataset,
    directory: Path,
    stem: str,
    mirrors: Sequence[str],
    check: _Check,
    timeout: float,
    missing: Sequence[str],
) -> None:
    """Download `stem.gz` from the first mirror that delivers a valid file, else raise."""
    directory.mkdir(parents=True, exist_ok=True)
    failures: list[str] = []
    for mirror in mirrors:
        url = _url(mirror, stem)
        try:
            _download(url, directory / f"{stem}.gz", check, timeout)
            return
        # Any network, HTTP or content failure means: try the next mirror.
        except (OSError, ValueError, http.client.HTTPException) as e:
            failures.append(f"{url}: {e}")
    raise MnistNotFound(_not_found_message(dataset, directory, missing, mirrors, failures))


def _url(mirror: str, stem: str) -> str:
    return f"{mirror.rstrip('/')}/{stem}.gz"


def _download(url: str, dest: Path, check: _Check, timeout: float) -> None:
    """Fetch `url` into a scratch file beside `dest`, verify it, then publish it as `dest`.

    `dest` is either absent or complete and verified: nothing is published before the check.
    """
    stem = dest.name.removesuffix(".gz")
    # gzip never grows data by more than a small fraction: more than this is not the file
    limit = _max_bytes(stem) * 101 // 100 + 1024
    fd, name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    part = Path(name)
    try:
        with os.fdopen(fd, "w+b") as scratch:
            _stream(url, scratch, dest.name, timeout, limit)
            scratch.flush()
            _verify(part, stem, check, url)
            scratch.seek(0)
            with atomic_writer(dest) as out:
                shutil.copyfileobj(scratch, out)
    finally:  # Ctrl-C included: never leave a partial file behind
        part.unlink(missing_ok=True)


def _verify(part: Path, stem: str, check: _Check, url: str) -> None:
    """A downloaded file is the one expected: its md5 first, then its IDX header and size.

    Inflating it is bounded by the largest file `stem` could be.
    """
    expected = check.md5[stem]
    if expected is not None and check.compressed:
        _check_md5(_file_md5(part).hexdigest(), expected, url, compressed=True)
    raw = read_idx_bytes(part, max_bytes=_max_bytes(stem))
    if expected is not None and not check.compressed:
        _check_md5(hashlib.md5(raw, usedforsecurity=False).hexdigest(), expected, url)
    EXPECTED[stem].check(parse_idx(raw, url).shape, url)  # also without an md5: well-formed


def _stream(url: str, out: IO[bytes], name: str, timeout: float, limit: int) -> None:
    """Copy the body at `url` into `out` in chunks, with a progress bar; check its length,
    and stop at `limit` bytes."""
    try:
        response = urllib.request.urlopen(url, timeout=timeout)
    except urllib.error.HTTPError as e:
        e.close()  # an HTTPError holds the open response; close it before passing it on
        raise
    with response:
        length = response.headers.get("Content-Length")
        total = int(length) if length is not None else None
        if total is not None and total > limit:
            raise OSError(f"the server announces {total} bytes, more than the {limit} this "
                          f"file can take")
        written = 0
        with _progress(total, name) as bar:
            while chunk := response.read(_CHUNK):
                written += len(chunk)
                if written > limit:
                    raise OSError(f"more than {limit} bytes sent: not this file")
                out.write(chunk)
                bar.update(len(chunk))
    if total is not None and written != total:
        raise OSError(f"connection closed after {written} of {total} bytes")


class _Bar(Protocol):
    def __enter__(self) -> _Bar: ...
    def __exit__(self, *exc: object) -> None: ...
    def update(self, n: int) -> Any: ...


class _NoBar:
    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n: int) -> None:
        return None


def _progress(total: int | None, name: str) -> _Bar:
    try:
        from tqdm import tqdm  # type: ignore[import-untyped]
    except ImportError:  # tqdm is the `examples` extra: downloading works without a bar
        return _NoBar()
    # disable=None: no bar when stderr is not a terminal, so logs stay free of \r noise.
    bar: _Bar = tqdm(total=total, desc=name, unit="B", unit_scale=True, disable=None)
    return bar


def _not_found_message(
    dataset: Dataset, directory: Path, missing: Sequence[str], mirrors: Sequence[str],
    failures: list[str] | None
) -> str:
    """What is missing, why it was not downloaded, and the ways to provide it."""
    name = "MNIST" if dataset.name == "mnist" else dataset.name
    lines = [f"{name} not found: {directory} lacks " + ", ".join(f"{s}.gz" for s in missing)]
    if failures is None:
        lines.append("Downloading was turned off (download=False).")
    else:
        lines.append("Downloading failed from every mirror:")
        lines += [f"  {failure}" for failure in failures] or ["  (no mirrors given)"]
    lines += [
        "To fix it, either:",
        f"  - download these files into {directory} (gzipped or not):",
        "      " + "  ".join(f"{s}.gz" for s in FILES),
        "    from a mirror (URL = mirror + file name): "
        + "  ".join(mirrors or dataset.mirrors),
        f"  - or point --data-dir DIR or the {ENV_VAR} environment variable at a directory",
        "    that holds them.",
    ]
    return "\n".join(lines)
