"""Fetching an MNIST-layout file from a public mirror, verified before it is published.

A missing file is downloaded with `urllib` (no extra dependency; `tqdm` draws a bar when
installed), checked against its md5, and only then published in place atomically
(`typedarr._atomic`), so an interrupted or corrupt download never leaves a file that a later
run would trust. Offline, `MnistNotFound` says exactly which files to put where.

A download longer than the largest valid file compressed is cut off, and checking a download
inflates it only up to the size of the largest valid file, so a small `.gz` that inflates to
gigabytes costs neither memory nor disk.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, Protocol

from examples.checksums import Check, check_md5, file_md5
from examples.datasets import ENV_VAR, EXPECTED, FILES, Dataset, max_bytes
from examples.idx import digest_uncompressed, read_idx
from typedarr._atomic import atomic_writer

DEFAULT_TIMEOUT = 30.0
_CHUNK = 1 << 16


class MnistNotFound(RuntimeError):
    """Raised when MNIST files are absent and cannot be downloaded; says how to provide them."""


def fetch(
    dataset: Dataset,
    directory: Path,
    stem: str,
    mirrors: Sequence[str],
    check: Check,
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
    raise MnistNotFound(not_found_message(dataset, directory, missing, mirrors, failures))


def _url(mirror: str, stem: str) -> str:
    return f"{mirror.rstrip('/')}/{stem}.gz"


def _download(url: str, dest: Path, check: Check, timeout: float) -> None:
    """Fetch `url` into a scratch file beside `dest`, verify it, then publish it as `dest`.

    `dest` is either absent or complete and verified: nothing is published before the check.
    """
    stem = dest.name.removesuffix(".gz")
    # gzip never grows data by more than a small fraction: more than this is not the file
    limit = max_bytes(stem) * 101 // 100 + 1024
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


def _verify(part: Path, stem: str, check: Check, url: str) -> None:
    """A downloaded file is the one expected: its md5 first (of whatever it holds, IDX or
    not), then its IDX header and size.

    Both inflate it in chunks, bounded by the largest file `stem` could be.
    """
    expected = check.md5[stem]
    if expected is not None:
        if check.compressed:
            digest = file_md5(part)
        else:
            digest = hashlib.md5(usedforsecurity=False)
            digest_uncompressed(part, digest, max_bytes=max_bytes(stem))
        check_md5(digest.hexdigest(), expected, url, check.compressed)
    # also without an md5: well-formed, and no bigger than the file can be (`fetch` puts
    # the URL before the message, which names the scratch file)
    read_idx(part, expected=EXPECTED[stem])


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



def not_found_message(
    dataset: Dataset, directory: Path, missing: Sequence[str], mirrors: Sequence[str],
    failures: list[str] | None
) -> str:
    """What is missing, why it was not downloaded, and the ways to provide it."""
    lacking = ", ".join(f"{s}.gz" for s in missing)
    lines = [f"{dataset.label} not found: {directory} lacks {lacking}"]
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
