"""Locating, loading and downloading MNIST, against the shared copy and local HTTP mirrors.

Downloads are tested against `ThreadingHTTPServer`s on 127.0.0.1 serving small synthetic
files (the md5 table is injected), never the internet.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import hashlib
import io
import os
import socket
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pytest
from numpy.typing import NDArray

import examples.datasets as datasets
import examples.download as download
from examples.checksums import MnistChecksumError
from examples.datasets import FILES, MIRRORS
from examples.download import MnistNotFound
from examples.idx import IdxError, encode_idx
from examples.mnist_data import Mnist, load_mnist, resolve_data_dir

if TYPE_CHECKING:
    from _tiny_mnist import TinyMnist

SIZES = {
    "train-images-idx3-ubyte": (6, 28, 28),
    "train-labels-idx1-ubyte": (6,),
    "t10k-images-idx3-ubyte": (4, 28, 28),
    "t10k-labels-idx1-ubyte": (4,),
}


# --- synthetic MNIST and the files it is written as -------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Synthetic:
    """A tiny MNIST: raw IDX bytes per file name (no `.gz`) and their md5 table."""

    raw: dict[str, bytes]
    md5: dict[str, str]

    def array(self, stem: str) -> NDArray[np.uint8]:
        shape = SIZES[stem]
        return np.frombuffer(self.raw[stem], np.uint8, offset=4 + 4 * len(shape)).reshape(shape)

    def write(self, directory: Path, stems: tuple[str, ...] = FILES, *, gz: bool = True) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        for stem in stems:
            if gz:
                (directory / f"{stem}.gz").write_bytes(gzip.compress(self.raw[stem]))
            else:
                (directory / stem).write_bytes(self.raw[stem])


@pytest.fixture(scope="module")
def synthetic() -> Synthetic:
    rng = np.random.default_rng(0)
    arrays = {
        stem: rng.integers(0, 10 if len(shape) == 1 else 256, shape, dtype=np.uint8)
        for stem, shape in SIZES.items()
    }
    raw = {stem: encode_idx(a) for stem, a in arrays.items()}
    md5 = {stem: hashlib.md5(r, usedforsecurity=False).hexdigest() for stem, r in raw.items()}
    return Synthetic(raw, md5)


def listing(directory: Path) -> list[str]:
    """Every name in `directory`, hidden temporary files included."""
    return sorted(os.listdir(directory)) if directory.exists() else []


def assert_loaded(mnist: Mnist, synthetic: Synthetic) -> None:
    expected_x = synthetic.array("train-images-idx3-ubyte").reshape(6, 784) / np.float32(255)
    np.testing.assert_array_equal(mnist.train_x, expected_x)
    assert mnist.train_y.tolist() == synthetic.array("train-labels-idx1-ubyte").tolist()
    assert mnist.test_x.shape == (4, 784) and mnist.test_y.shape == (4,)


# --- local HTTP mirrors -----------------------------------------------------------------------


class MirrorServer(ThreadingHTTPServer):
    """A static file server that records the paths asked for, and can cut bodies short or
    send one without end (announcing a length, or none)."""

    daemon_threads = True
    requests: list[str]
    truncate_bodies: bool
    endless: Literal["", "announced", "unannounced"]


class MirrorHandler(SimpleHTTPRequestHandler):
    server: MirrorServer

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        if self.server.endless:
            self.send_response(200)
            if self.server.endless == "announced":
                self.send_header("Content-Length", str(1 << 40))
            self.end_headers()
            with contextlib.suppress(OSError):  # the client hangs up: that is the point
                while True:
                    self.wfile.write(bytes(1 << 16))
            return None
        if not self.server.truncate_bodies:
            return super().do_GET()
        body = Path(self.directory, self.path.lstrip("/")).read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body) + 100))  # promise more than is sent
        self.end_headers()
        self.wfile.write(body[: len(body) // 2])
        return None

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the tests assert on `requests` instead."""


Serve = Callable[..., tuple[str, MirrorServer]]


@pytest.fixture
def serve() -> Iterator[Serve]:
    """Start mirrors serving a directory; returns its base URL and the server; stops them all."""
    running: list[tuple[MirrorServer, threading.Thread]] = []

    def start(root: Path, *, truncate: bool = False,
              endless: Literal["", "announced", "unannounced"] = "") -> tuple[str, MirrorServer]:
        root.mkdir(parents=True, exist_ok=True)
        server = MirrorServer(("127.0.0.1", 0), partial(MirrorHandler, directory=str(root)))
        server.requests, server.truncate_bodies, server.endless = [], truncate, endless
        thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
        thread.start()
        running.append((server, thread))
        return f"http://127.0.0.1:{server.server_port}/", server

    yield start
    for server, thread in running:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def closed_url() -> str:
    """A URL on a port nothing listens on: connecting is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


@pytest.fixture
def stalled_url() -> Iterator[str]:
    """A URL whose server completes the TCP handshake and then never answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield f"http://127.0.0.1:{s.getsockname()[1]}/"


# --- the shared copy --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_mnist(mnist_dir: Path) -> Mnist:
    return load_mnist(mnist_dir, download=False, verify_md5=True)


def test_shared_mnist_has_the_known_shapes_and_ranges(shared_mnist: Mnist) -> None:
    m = shared_mnist
    assert m.train_x.shape == (60000, 784) and m.test_x.shape == (10000, 784)
    assert m.train_x.dtype == m.test_x.dtype == np.float32
    assert m.train_y.dtype == m.test_y.dtype == np.int64
    assert m.train_x.min() == 0.0 and m.train_x.max() == 1.0
    # The mean and std every MNIST normalisation uses (0.1307, 0.3081).
    assert abs(float(m.train_x.mean()) - 0.1307) < 1e-3
    assert abs(float(m.train_x.std()) - 0.3081) < 1e-3
    assert m.train_y[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]


def test_shared_mnist_label_histogram_is_plausible(shared_mnist: Mnist) -> None:
    train, test = np.bincount(shared_mnist.train_y), np.bincount(shared_mnist.test_y)
    assert train.size == test.size == 10
    assert train.min() > 5000 and train.max() < 7000
    assert test.min() > 800 and test.max() < 1200
    assert train[1] == 6742 and test[1] == 1135  # "1" is the most frequent digit in both


@pytest.mark.parametrize("form", ["gz", "raw"])
def test_mnist_is_a_frozen_value_of_read_only_arrays(tiny_mnist: TinyMnist, form: str) -> None:
    loaded = load_mnist(tiny_mnist.gz if form == "gz" else tiny_mnist.raw, download=False,
                        md5=tiny_mnist.md5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        loaded.train_x = loaded.test_x  # type: ignore[misc]
    for array in (loaded.train_x, loaded.test_x):
        with pytest.raises(ValueError, match="read-only"):
            array[0, 0] = 0.5
    for labels in (loaded.train_y, loaded.test_y):
        with pytest.raises(ValueError, match="read-only"):
            labels[0] = 3


# --- locating and loading local files ---------------------------------------------------------


def test_data_dir_argument_wins_over_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TYPEDARR_DATA", str(tmp_path / "env"))
    assert resolve_data_dir(tmp_path / "arg") == tmp_path / "arg"
    assert resolve_data_dir(None) == tmp_path / "env"


def test_cache_dir_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("TYPEDARR_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert resolve_data_dir(None) == tmp_path / "xdg" / "typedarr" / "mnist"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/is/ignored")
    assert resolve_data_dir(None) == tmp_path / "home" / ".cache" / "typedarr" / "mnist"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert resolve_data_dir(None) == tmp_path / "home" / ".cache" / "typedarr" / "mnist"


def test_loads_from_env_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, synthetic: Synthetic
) -> None:
    synthetic.write(tmp_path)
    monkeypatch.setenv("TYPEDARR_DATA", str(tmp_path))
    assert_loaded(load_mnist(download=False, md5=synthetic.md5), synthetic)


def test_uncompressed_files_are_accepted(tmp_path: Path, synthetic: Synthetic) -> None:
    synthetic.write(tmp_path, gz=False)
    assert_loaded(load_mnist(tmp_path, download=False, md5=synthetic.md5), synthetic)


def test_wrong_md5_on_disk_is_an_error_unless_unchecked(
    tmp_path: Path, synthetic: Synthetic
) -> None:
    synthetic.write(tmp_path)
    md5 = {**synthetic.md5, "t10k-labels-idx1-ubyte": "0" * 32}
    with pytest.raises(MnistChecksumError, match=r"t10k-labels-idx1-ubyte\.gz.*expected 0{32}"):
        load_mnist(tmp_path, download=False, md5=md5)
    assert_loaded(load_mnist(tmp_path, download=False, md5=md5, verify_md5=False), synthetic)


def test_missing_files_without_download_raise_without_network(
    tmp_path: Path, synthetic: Synthetic, serve: Serve
) -> None:
    url, server = serve(tmp_path / "mirror")
    synthetic.write(tmp_path / "data", FILES[:3])
    with pytest.raises(MnistNotFound, match="download=False") as e:
        load_mnist(tmp_path / "data", download=False, mirrors=[url], md5=synthetic.md5)
    assert f"{tmp_path / 'data'} lacks t10k-labels-idx1-ubyte.gz\n" in str(e.value)
    assert server.requests == []


# --- downloading ------------------------------------------------------------------------------


def test_download_places_verified_files_atomically(
    tmp_path: Path, synthetic: Synthetic, serve: Serve
) -> None:
    synthetic.write(tmp_path / "mirror")
    url, server = serve(tmp_path / "mirror")
    data = tmp_path / "not" / "yet" / "there"
    assert_loaded(load_mnist(data, mirrors=[url], md5=synthetic.md5), synthetic)
    assert listing(data) == sorted(f"{stem}.gz" for stem in FILES)  # no temporary files left
    for stem in FILES:
        assert gzip.decompress((data / f"{stem}.gz").read_bytes()) == synthetic.raw[stem]
    assert sorted(server.requests) == sorted(f"/{stem}.gz" for stem in FILES)


def test_only_absent_files_are_downloaded(
    tmp_path: Path, synthetic: Synthetic, serve: Serve
) -> None:
    synthetic.write(tmp_path / "mirror")
    url, server = serve(tmp_path / "mirror")
    synthetic.write(tmp_path / "data", FILES[1:])
    assert_loaded(load_mnist(tmp_path / "data", mirrors=[url], md5=synthetic.md5), synthetic)
    assert server.requests == [f"/{FILES[0]}.gz"]


CORRUPTIONS: dict[str, Callable[[bytes], bytes]] = {
    "wrong-content": lambda raw: gzip.compress(raw[:-1] + bytes([raw[-1] ^ 1])),
    "truncated-gzip": lambda raw: gzip.compress(raw)[:-20],
    "html-error-page": lambda raw: b"<html><body>Access denied</body></html>",
    "wrong-size": lambda raw: gzip.compress(raw + b"\0"),
}


@pytest.mark.parametrize("kind", sorted(CORRUPTIONS))
def test_corrupt_mirror_is_rejected_and_next_used(
    tmp_path: Path, synthetic: Synthetic, serve: Serve, kind: str
) -> None:
    bad_root, good_root = tmp_path / "bad", tmp_path / "good"
    bad_root.mkdir()
    for stem in FILES:
        (bad_root / f"{stem}.gz").write_bytes(CORRUPTIONS[kind](synthetic.raw[stem]))
    synthetic.write(good_root)
    (bad_url, bad), (good_url, good) = serve(bad_root), serve(good_root)
    data = tmp_path / "data"
    assert_loaded(load_mnist(data, mirrors=[bad_url, good_url], md5=synthetic.md5), synthetic)
    assert len(bad.requests) == len(good.requests) == 4
    for stem in FILES:
        assert gzip.decompress((data / f"{stem}.gz").read_bytes()) == synthetic.raw[stem]
    assert len(listing(data)) == 4


def test_404_and_dropped_connections_fall_through(
    tmp_path: Path, synthetic: Synthetic, serve: Serve
) -> None:
    synthetic.write(tmp_path / "good")
    empty_url, empty = serve(tmp_path / "empty")
    dropping_url, dropping = serve(tmp_path / "good", truncate=True)
    good_url, _ = serve(tmp_path / "good")
    mirrors = [empty_url, dropping_url, good_url]
    assert_loaded(load_mnist(tmp_path / "data", mirrors=mirrors, md5=synthetic.md5), synthetic)
    assert len(empty.requests) == len(dropping.requests) == 4
    assert len(listing(tmp_path / "data")) == 4


def test_stalled_mirror_times_out_and_falls_through(
    tmp_path: Path, synthetic: Synthetic, serve: Serve, stalled_url: str
) -> None:
    synthetic.write(tmp_path / "good")
    synthetic.write(tmp_path / "data", FILES[1:])
    good_url, _ = serve(tmp_path / "good")
    mnist = load_mnist(
        tmp_path / "data", mirrors=[stalled_url, good_url], md5=synthetic.md5, timeout=0.2
    )
    assert_loaded(mnist, synthetic)


def test_all_mirrors_failing_raises_a_helpful_error(
    tmp_path: Path, synthetic: Synthetic, serve: Serve, closed_url: str
) -> None:
    bad_root = tmp_path / "bad"
    bad_root.mkdir()
    (bad_root / f"{FILES[0]}.gz").write_bytes(gzip.compress(b"not idx"))
    bad_url, _ = serve(bad_root)
    synthetic.write(tmp_path / "good")
    dropping_url, _ = serve(tmp_path / "good", truncate=True)
    data = tmp_path / "data"
    with pytest.raises(MnistNotFound) as e:
        load_mnist(data, mirrors=[closed_url, dropping_url, bad_url], md5=synthetic.md5)
    message = str(e.value)
    for needle in [str(data), "--data-dir", "TYPEDARR_DATA", *(f"{s}.gz" for s in FILES)]:
        assert needle in message
    assert f"{closed_url}{FILES[0]}.gz: <urlopen error" in message
    assert f"{dropping_url}{FILES[0]}.gz: connection closed after" in message
    assert f"{bad_url}{FILES[0]}.gz: " in message and "md5" in message
    assert listing(data) == []  # the rejected download left nothing behind


def test_default_mirrors_are_named_in_the_error(tmp_path: Path) -> None:
    with pytest.raises(MnistNotFound) as e:
        load_mnist(tmp_path, download=False)
    assert all(mirror in str(e.value) for mirror in MIRRORS)


def test_interrupted_download_leaves_no_partial_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, synthetic: Synthetic, serve: Serve
) -> None:
    synthetic.write(tmp_path / "mirror")
    url, _ = serve(tmp_path / "mirror")

    def interrupt(path: Path, *args: Any) -> None:  # Ctrl-C while the download is checked
        assert path.name.endswith(".part") and path.stat().st_size > 0  # the body was written
        raise KeyboardInterrupt

    monkeypatch.setattr(download, "_verify", interrupt)
    with pytest.raises(KeyboardInterrupt):
        load_mnist(tmp_path / "data", mirrors=[url], md5=synthetic.md5)
    assert listing(tmp_path / "data") == []


# --- what a small or endless file may cost ---------------------------------------------------


def idx_header(*dims: int) -> bytes:
    return bytes([0, 0, 8, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims)


def test_a_file_declaring_more_than_mnist_holds_is_refused_from_its_header(
    tmp_path: Path, synthetic: Synthetic
) -> None:
    """4 billion labels declared in a 10 kB file: refused before anything is allocated."""
    synthetic.write(tmp_path)
    bomb = gzip.compress(idx_header(4_000_000_000) + bytes(10 << 20))
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(bomb)
    tracemalloc.start()
    try:
        with pytest.raises(IdxError, match=r"declares shape \(4000000000,\), expected \(n\) "
                           r"with n at most 10000"):
            load_mnist(tmp_path, download=False, verify_md5=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20


def test_a_mirror_serving_a_bomb_is_refused_within_bounds(
    tmp_path: Path, synthetic: Synthetic, serve: Serve
) -> None:
    """A valid labels header, then 100 MB of zeros in 100 kB of gzip: the check inflates
    no more than the largest labels file could be, and the next mirror is used."""
    bad_root = tmp_path / "bad"
    bad_root.mkdir()
    stem = "t10k-labels-idx1-ubyte"
    (bad_root / f"{stem}.gz").write_bytes(gzip.compress(idx_header(4) + bytes(100 << 20)))
    synthetic.write(tmp_path / "good")
    synthetic.write(tmp_path / "data", FILES[:3])
    (bad_url, bad), (good_url, _) = serve(bad_root), serve(tmp_path / "good")
    tracemalloc.start()
    try:
        mnist = load_mnist(tmp_path / "data", mirrors=[bad_url, good_url], md5=synthetic.md5)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert_loaded(mnist, synthetic)
    assert bad.requests == [f"/{stem}.gz"]
    assert peak < 16 << 20


@pytest.mark.parametrize("endless", ["announced", "unannounced"])
def test_an_endless_download_is_cut_off(
    tmp_path: Path,
    synthetic: Synthetic,
    serve: Serve,
    endless: Literal["announced", "unannounced"],
) -> None:
    """The test labels (10008 bytes) compress to at most 11132: a body past that is not it."""
    synthetic.write(tmp_path / "good")
    synthetic.write(tmp_path / "data", FILES[:3])
    endless_url, _ = serve(tmp_path / "x", endless=endless)
    good_url, _ = serve(tmp_path / "good")
    assert_loaded(load_mnist(tmp_path / "data", mirrors=[endless_url, good_url],
                             md5=synthetic.md5), synthetic)
    synthetic.write(tmp_path / "partial", FILES[:3])
    with pytest.raises(MnistNotFound, match=r"t10k-labels-idx1-ubyte.gz: .*more than (the )?"
                       r"11132 (bytes sent|this file can take)"):
        load_mnist(tmp_path / "partial", mirrors=[endless_url], md5=synthetic.md5)
    assert listing(tmp_path / "partial") == sorted(f"{stem}.gz" for stem in FILES[:3])


# --- Fashion-MNIST and KMNIST: the same layout, their own mirrors and .gz checksums -------------


def test_the_datasets_have_their_own_mirrors_checksums_and_caches(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    names = sorted(datasets.DATASETS)
    assert names == ["fashion-mnist", "kmnist", "mnist"]
    sets = [datasets.DATASETS[n] for n in names]
    assert len({d.mirrors for d in sets}) == 3
    assert len({tuple(d.md5.values()) for d in sets}) == 3
    assert all(set(d.md5) == set(FILES) for d in sets)
    monkeypatch.setenv("TYPEDARR_DATA", str(tmp_path / "env"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    # $TYPEDARR_DATA names the MNIST copy: another dataset never looks there
    assert resolve_data_dir(None, datasets.FASHION_MNIST) == tmp_path / "xdg" / "typedarr" \
        / "fashion-mnist"
    assert resolve_data_dir(None) == tmp_path / "env"


def _gz_dataset(synthetic: Synthetic, mirror: Path, url: str) -> datasets.Dataset:
    """A dataset published as the files in `mirror`, checked by their .gz md5 sums."""
    sums = {stem: hashlib.md5((mirror / f"{stem}.gz").read_bytes(),
                              usedforsecurity=False).hexdigest() for stem in FILES}
    return datasets.Dataset("fashion-mnist", (url,), sums, compressed_md5=True)


def test_a_gz_checksummed_dataset_downloads_and_verifies_its_files(
    tmp_path: Path, synthetic: Synthetic, serve: Serve
) -> None:
    synthetic.write(tmp_path / "mirror")
    url, _ = serve(tmp_path / "mirror")
    dataset = _gz_dataset(synthetic, tmp_path / "mirror", url)
    assert_loaded(load_mnist(tmp_path / "data", dataset=dataset), synthetic)
    assert_loaded(load_mnist(tmp_path / "data", dataset=dataset, download=False), synthetic)
    # a .gz on disk with other bytes (recompressed: same content) fails the published sum
    stem = FILES[0]
    (tmp_path / "data" / f"{stem}.gz").write_bytes(gzip.compress(synthetic.raw[stem], 1))
    with pytest.raises(MnistChecksumError, match=r"md5 of the \.gz file"):
        load_mnist(tmp_path / "data", dataset=dataset, download=False)


def test_a_mirror_serving_other_gz_bytes_is_rejected(
    tmp_path: Path, synthetic: Synthetic, serve: Serve
) -> None:
    synthetic.write(tmp_path / "mirror")
    url, _ = serve(tmp_path / "mirror")
    sums = dict(_gz_dataset(synthetic, tmp_path / "mirror", url).md5, **{FILES[1]: "0" * 32})
    dataset = datasets.Dataset("kmnist", (url,), sums, compressed_md5=True)
    with pytest.raises(MnistNotFound, match=r"md5 of the \.gz file"):
        load_mnist(tmp_path / "data", dataset=dataset)
    assert not (tmp_path / "data" / f"{FILES[1]}.gz").exists()


def test_uncompressed_files_of_a_gz_checksummed_dataset_are_checked_structurally(
    tmp_path: Path, synthetic: Synthetic
) -> None:
    synthetic.write(tmp_path, gz=False)
    dataset = datasets.Dataset("kmnist", (), {stem: "0" * 32 for stem in FILES},
                                 compressed_md5=True)
    assert_loaded(load_mnist(tmp_path, dataset=dataset, download=False), synthetic)
    (tmp_path / FILES[1]).write_bytes(synthetic.raw[FILES[1]][:-1])  # one label short
    with pytest.raises(IdxError):
        load_mnist(tmp_path, dataset=dataset, download=False)


# --- any correct copy, gzipped by any compressor or not, is accepted; a wrong one refused -----

# DESIGN.md §6, written out here so that a typo in the module's table cannot agree with itself.
UNCOMPRESSED_MD5 = {
    "mnist": {
        "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
        "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
        "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
        "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
        "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
        "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
        "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
    },
}


@pytest.mark.parametrize("name", sorted(UNCOMPRESSED_MD5))
def test_mnist_and_fashion_mnist_are_checked_by_their_uncompressed_md5(name: str) -> None:
    dataset = datasets.DATASETS[name]
    assert dict(dataset.md5) == UNCOMPRESSED_MD5[name] and not dataset.compressed_md5


def _recompressed(raw: bytes, how: str) -> bytes:
    """`raw` as another compressor would write it: other levels, a file name and a time in
    the gzip header (as gzip(1) writes them), or no gzip at all."""
    match how:
        case "level-1":
            return gzip.compress(raw, 1)
        case "named":
            buffer = io.BytesIO()
            with gzip.GzipFile("train-images-idx3-ubyte", "wb", 6, buffer, mtime=1e9) as f:
                f.write(raw)
            return buffer.getvalue()
        case _:
            assert how == "raw"
            return raw


@pytest.mark.parametrize("how", ["level-1", "named", "raw"])
def test_a_correct_copy_compressed_otherwise_is_accepted(
        tmp_path: Path, synthetic: Synthetic, how: str) -> None:
    dataset = datasets.Dataset("fashion-mnist", (), synthetic.md5)
    for stem in FILES:
        name = stem if how == "raw" else f"{stem}.gz"
        (tmp_path / name).write_bytes(_recompressed(synthetic.raw[stem], how))
        assert hashlib.md5((tmp_path / name).read_bytes(), usedforsecurity=False).hexdigest() \
            != hashlib.md5(gzip.compress(synthetic.raw[stem]), usedforsecurity=False).hexdigest()
    assert_loaded(load_mnist(tmp_path, dataset=dataset, download=False), synthetic)


@pytest.mark.parametrize("how", ["level-1", "named", "raw"])
def test_a_wrong_copy_is_refused_however_it_is_compressed(
        tmp_path: Path, synthetic: Synthetic, how: str) -> None:
    dataset = datasets.Dataset("fashion-mnist", (), synthetic.md5)
    stem = "t10k-images-idx3-ubyte"
    for other in FILES:
        raw = synthetic.raw[other]
        if other == stem:  # one pixel off: well-formed, the wrong content
            raw = raw[:-1] + bytes([raw[-1] ^ 1])
        (tmp_path / (other if how == "raw" else f"{other}.gz")).write_bytes(
            _recompressed(raw, how))
    with pytest.raises(MnistChecksumError, match=rf"{stem}.*md5 of the uncompressed data is "
                       rf"[0-9a-f]{{32}}, expected {synthetic.md5[stem]}"):
        load_mnist(tmp_path, dataset=dataset, download=False)


def test_a_download_is_checked_by_its_content_in_bounded_memory(
        tmp_path: Path, synthetic: Synthetic, serve: Serve) -> None:
    """A mirror serving the right content compressed otherwise is accepted; the md5 of the
    content is taken while inflating, never holding more than a chunk of it."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for stem in FILES:
        (mirror / f"{stem}.gz").write_bytes(_recompressed(synthetic.raw[stem], "named"))
    url, _ = serve(mirror)
    dataset = datasets.Dataset("fashion-mnist", (url,), synthetic.md5)
    assert_loaded(load_mnist(tmp_path / "data", dataset=dataset), synthetic)
