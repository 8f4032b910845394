"""The IDX reader and MNIST's images and labels read with it (`examples.mnist_arrays`): the
real MNIST files, a round-trip law, and one test per malformed file."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import struct
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.typing import NDArray

from examples.idx import (
    Expected,
    IdxError,
    decompress,
    digest_uncompressed,
    encode_idx,
    parse_idx,
    read_idx,
    read_idx_bytes,
)
from examples.mnist_arrays import load_images, load_labels, load_split

# Written out here rather than imported, so a typo in the module's table cannot agree with itself.
SHARED_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}


def idx_file(tmp_path: Path, data: bytes, name: str = "data.idx", *, gz: bool = False) -> Path:
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def images(n: int, rows: int = 28, cols: int = 28) -> NDArray[np.uint8]:
    return np.arange(n * rows * cols, dtype=np.uint64).reshape(n, rows, cols).astype(np.uint8)


# --- the real files ---------------------------------------------------------------------------


@pytest.mark.parametrize("stem", sorted(SHARED_MD5))
def test_shared_files_have_the_published_md5(mnist_dir: Path, stem: str) -> None:
    raw = read_idx_bytes(mnist_dir / f"{stem}.gz")
    assert hashlib.md5(raw, usedforsecurity=False).hexdigest() == SHARED_MD5[stem]


def test_shared_test_split_loads_as_float_pixels_and_int_labels(mnist_dir: Path) -> None:
    x, y = load_split(mnist_dir / "t10k-images-idx3-ubyte.gz",
                      mnist_dir / "t10k-labels-idx1-ubyte.gz")
    assert x.shape == (10000, 784) and x.dtype == np.float32
    assert y.shape == (10000,) and y.dtype == np.int64
    assert x.min() == 0.0 and x.max() == 1.0
    assert y[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]  # the well-known first test digits
    assert np.bincount(y, minlength=10).min() >= 800


def test_shared_labels_read_raw_are_uint8_rank_1(mnist_dir: Path) -> None:
    raw = read_idx(mnist_dir / "train-labels-idx1-ubyte.gz")
    assert raw.dtype == np.uint8 and raw.shape == (60000,)
    assert not raw.flags.writeable  # a view of the file's bytes, not a copy


# --- round trip and format detection ----------------------------------------------------------


@given(hnp.arrays(np.uint8, hnp.array_shapes(min_dims=1, max_dims=4, max_side=5)), st.booleans())
def test_encode_then_parse_is_identity(array: NDArray[np.uint8], gz: bool) -> None:
    data = encode_idx(array)
    assert np.array_equal(parse_idx(decompress(gzip.compress(data) if gz else data)), array)


def test_gzip_is_detected_by_content_not_suffix(tmp_path: Path) -> None:
    array = images(2)
    gz_named_raw = idx_file(tmp_path, encode_idx(array), "raw.gz")
    raw_named_gz = idx_file(tmp_path, encode_idx(array), "gz.idx", gz=True)
    assert np.array_equal(read_idx(gz_named_raw), array)
    assert np.array_equal(read_idx(raw_named_gz), array)


def test_images_are_scaled_exactly_to_unit_interval(tmp_path: Path) -> None:
    array = images(3)
    x = load_images(idx_file(tmp_path, encode_idx(array), gz=True))
    assert x.shape == (3, 784) and x.dtype == np.float32
    np.testing.assert_array_equal(x, array.reshape(3, 784).astype(np.float32) / np.float32(255))


# --- malformed files: one test each -----------------------------------------------------------


def test_truncated_payload_names_expected_and_actual_bytes(tmp_path: Path) -> None:
    path = idx_file(tmp_path, encode_idx(images(5))[:-10])
    with pytest.raises(IdxError, match=r"truncated.*expected 3920 bytes.*has 3910") as e:
        read_idx(path)
    assert str(path) in str(e.value)


def test_trailing_bytes_are_an_error(tmp_path: Path) -> None:
    with pytest.raises(IdxError, match=r"3 trailing bytes.*expected 3920"):
        read_idx(idx_file(tmp_path, encode_idx(images(5)) + b"abc", gz=True))


@pytest.mark.parametrize("magic", [b"\x01\x00\x08\x01", b"\x00\x01\x08\x01", b"PK\x03\x04"])
def test_bad_magic_is_rejected(tmp_path: Path, magic: bytes) -> None:
    with pytest.raises(IdxError, match="bad magic number"):
        read_idx(idx_file(tmp_path, magic + b"\x00\x00\x00\x01\x07"))


@pytest.mark.parametrize(("code", "name"), [(0x09, "signed byte"), (0x0D, "float"), (0x42, "not")])
def test_type_codes_other_than_unsigned_byte_are_rejected(
    tmp_path: Path, code: int, name: str
) -> None:
    data = bytes([0, 0, code, 1, 0, 0, 0, 1, 7])
    with pytest.raises(IdxError, match=f"type code 0x{code:02x} \\({name}.*only 0x08"):
        read_idx(idx_file(tmp_path, data))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "too short"),
        (b"\x00\x00\x08", "too short"),
        (bytes([0, 0, 8, 0, 7]), "rank 0"),
        (bytes([0, 0, 8, 3, 0, 0, 0, 1, 0, 0]), "rank 3 needs 16 bytes"),
    ],
)
def test_short_header_and_rank_zero_are_rejected(tmp_path: Path, data: bytes, message: str) -> None:
    with pytest.raises(IdxError, match=message):
        read_idx(idx_file(tmp_path, data))


def test_images_need_rank_3(tmp_path: Path) -> None:
    path = idx_file(tmp_path, encode_idx(np.zeros(784, dtype=np.uint8)))
    with pytest.raises(IdxError, match=r"shape \(n, 28, 28\).*rank 1.*labels file"):
        load_images(path)


def test_images_need_28_by_28(tmp_path: Path) -> None:
    with pytest.raises(IdxError, match=r"got shape \(4, 14, 56\)"):
        load_images(idx_file(tmp_path, encode_idx(images(4, 14, 56))))


def test_labels_need_rank_1(tmp_path: Path) -> None:
    with pytest.raises(IdxError, match=r"labels must have rank 1.*\(2, 28, 28\)"):
        load_labels(idx_file(tmp_path, encode_idx(images(2))))


def test_label_out_of_range_names_value_and_position(tmp_path: Path) -> None:
    labels = np.array([3, 9, 0, 10, 255, 1], dtype=np.uint8)
    with pytest.raises(IdxError, match=r"label 10 at position 3 is outside 0..9 \(2 labels"):
        load_labels(idx_file(tmp_path, encode_idx(labels)))


def test_labels_load_as_int64(tmp_path: Path) -> None:
    y = load_labels(idx_file(tmp_path, encode_idx(np.arange(10, dtype=np.uint8)), gz=True))
    assert y.dtype == np.int64 and y.tolist() == list(range(10))


@pytest.mark.parametrize(
    "corrupt",
    [
        pytest.param(lambda g: g[:-8], id="truncated"),
        pytest.param(lambda g: g[:12] + bytes([g[12] ^ 0xFF]) + g[13:], id="flipped-byte"),
        pytest.param(lambda g: g[:-8] + bytes([g[-8] ^ 1]) + g[-7:], id="bad-crc"),
        pytest.param(lambda g: b"\x1f\x8b" + b"garbage" * 4, id="garbage"),
        pytest.param(lambda g: g + b"junk", id="junk-after-stream"),
    ],
)
def test_corrupt_gzip_names_the_file(tmp_path: Path, corrupt: Callable[[bytes], bytes]) -> None:
    good = gzip.compress(encode_idx(images(2)))
    path = tmp_path / "bad.gz"
    path.write_bytes(corrupt(good))
    with pytest.raises(IdxError, match="corrupt gzip") as e:
        read_idx(path)
    assert str(path) in str(e.value)


def test_split_counts_must_agree(tmp_path: Path) -> None:
    x = idx_file(tmp_path, encode_idx(images(5)), "x.idx")
    y = idx_file(tmp_path, encode_idx(np.zeros(4, dtype=np.uint8)), "y.idx")
    with pytest.raises(IdxError, match="5 images but 4 labels"):
        load_split(x, y)


def test_encode_refuses_other_dtypes_and_rank_0() -> None:
    with pytest.raises(IdxError, match="uint8"):
        encode_idx(np.zeros(3, dtype=np.int16))
    with pytest.raises(IdxError, match="rank 0"):
        encode_idx(np.array(3, dtype=np.uint8))


# --- what a small file may cost: headers are believed only within bounds ----------------------

MB = 1 << 20


def gzip_bomb(prefix: bytes, zeros: int) -> bytes:
    """A valid gzip file of `prefix` then `zeros` zero bytes (whole MiBs), about zeros/1000
    long: after a full flush, deflate turns equal input into equal output, so one compressed
    MiB of zeros is repeated."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = c.compress(prefix) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(bytes(MB)) + c.flush(zlib.Z_FULL_FLUSH)
    crc, chunk = zlib.crc32(prefix), bytes(MB)
    for _ in range(zeros // MB):
        crc = zlib.crc32(chunk, crc)
    size = (len(prefix) + zeros) & 0xFFFFFFFF
    return (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + head + block * (zeros // MB)
            + c.flush() + struct.pack("<II", crc, size))


def idx_header(*dims: int) -> bytes:
    return bytes([0, 0, 8, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims)


@contextlib.contextmanager
def cheaply(max_bytes: int) -> Iterator[None]:
    """The block ends within a few seconds, allocating at most `max_bytes` at its peak
    (tracemalloc sees numpy's and zlib's buffers)."""
    start = time.perf_counter()
    tracemalloc.start()
    try:
        yield
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < max_bytes, f"peak {peak / MB:.1f} MiB"
    assert time.perf_counter() - start < 10.0


def test_the_bomb_helper_makes_valid_gzip() -> None:
    data = gzip_bomb(idx_header(3), 2 * MB)
    assert gzip.decompress(data) == idx_header(3) + bytes(2 * MB)


@pytest.fixture(scope="module")
def huge_count_bomb() -> bytes:
    """3 MB of gzip: a header declaring 4 billion images, then 3 GB of zeros."""
    return gzip_bomb(idx_header(4_000_000_000, 28, 28), 3000 * MB)


def test_a_header_declaring_more_than_the_limit_is_refused_before_reading(
    tmp_path: Path, huge_count_bomb: bytes
) -> None:
    path = idx_file(tmp_path, huge_count_bomb, "bomb.gz")
    assert path.stat().st_size < 4 * MB
    with cheaply(4 * MB), pytest.raises(IdxError, match=r"declares shape \(4000000000, 28, 28\)"
                                        r", 3136000000000 bytes of data: more than the limit"):
        read_idx(path)
    with cheaply(4 * MB), pytest.raises(IdxError, match=r"expected \(n, 28, 28\) with n at most "
                                        r"60000"):
        read_idx(path, expected=Expected(60000, (28, 28)))


def test_a_plausible_header_with_gigabytes_after_it_is_refused_after_the_data(
    tmp_path: Path,
) -> None:
    """60000 images as declared, then 2 GB more: the data is read, the rest only probed."""
    payload = 60000 * 28 * 28
    path = idx_file(tmp_path, gzip_bomb(idx_header(60000, 28, 28) + bytes(payload), 2000 * MB),
                    "long.gz")
    with cheaply(payload + 8 * MB), pytest.raises(IdxError, match=r"at least \d+ trailing bytes"):
        read_idx(path, expected=Expected(60000, (28, 28)))


def test_a_short_stream_after_a_plausible_header_is_truncated(tmp_path: Path) -> None:
    path = idx_file(tmp_path, encode_idx(images(3))[:100], gz=True)
    with pytest.raises(IdxError, match=r"truncated: header says shape \(3, 28, 28\)"):
        read_idx(path, expected=Expected(60000, (28, 28)))


@pytest.mark.parametrize(("dims", "message"), [
    ((60001, 28, 28), "n at most 60000"),
    ((10, 28, 27), r"\(10, 28, 27\), expected \(n, 28, 28\)"),
    ((10, 784), "expected \\(n, 28, 28\\)"),
    ((10,), "expected \\(n, 28, 28\\)"),
])
def test_expected_shapes_are_checked_from_the_header(
    tmp_path: Path, dims: tuple[int, ...], message: str
) -> None:
    path = idx_file(tmp_path, idx_header(*dims))  # no data at all: the header decides
    with pytest.raises(IdxError, match=message):
        read_idx(path, expected=Expected(60000, (28, 28)))


def test_decompress_and_read_idx_bytes_stop_at_their_bound(
    tmp_path: Path, huge_count_bomb: bytes
) -> None:
    with cheaply(8 * MB), pytest.raises(IdxError, match="more than 1048576 bytes once gunzipped"):
        decompress(huge_count_bomb, max_bytes=MB)
    path = idx_file(tmp_path, huge_count_bomb, "bomb.gz")
    with cheaply(8 * MB), pytest.raises(IdxError, match="more than 1048576 bytes"):
        read_idx_bytes(path, max_bytes=MB)


def test_the_digest_sees_exactly_the_uncompressed_file(tmp_path: Path) -> None:
    data = encode_idx(images(4))
    digest = hashlib.md5(usedforsecurity=False)
    read_idx(idx_file(tmp_path, data, gz=True), digest=digest)
    assert digest.hexdigest() == hashlib.md5(data, usedforsecurity=False).hexdigest()


# --- every header field a lying file can set: IdxError naming the file, from every reader -----

BIG = 2**32 - 1  # the largest dimension a header can declare
LYING_HEADERS: dict[str, tuple[bytes, str]] = {
    "rank-0": (bytes([0, 0, 8, 0]) + bytes(8), "rank 0"),
    "rank-65": (bytes([0, 0, 8, 65]) + (1).to_bytes(4, "big") * 65 + b"\x07",
                "rank 65 in the header: numpy arrays have at most"),
    "rank-255": (bytes([0, 0, 8, 255]) + (1).to_bytes(4, "big") * 255 + b"\x07", "rank 255"),
    "rank-65-truncated": (bytes([0, 0, 8, 65]) + bytes(8), "rank 65"),
    "truncated-header": (bytes([0, 0, 8, 3, 0, 0, 0, 1, 0, 0]), "rank 3 needs 16 bytes"),
    "short-magic": (b"\x00\x00\x08", "too short"),
    "dimension-0": (idx_header(0, 28, 28), r"shape \(0, 28, 28\): a dimension of 0"),
    "dimension-0-beside-huge": (idx_header(BIG, BIG, BIG, 0), "a dimension of 0"),
    "product-beyond-numpy": (idx_header(BIG, BIG, BIG) + bytes(10),
                             "more than a numpy array can hold"),
    "truncated-payload": (idx_header(3, 28, 28) + bytes(100), "truncated"),
    "trailing-bytes": (idx_header(2) + bytes(5), "3 trailing bytes"),
}


def _readers(path: Path) -> dict[str, Callable[[], object]]:
    """Every public way to read `path` (`max_bytes` lifted so the header alone decides)."""
    return {
        "parse_idx": lambda: parse_idx(path.read_bytes() if path.suffix != ".gz"
                                       else gzip.decompress(path.read_bytes()), str(path)),
        "read_idx": lambda: read_idx(path, max_bytes=1 << 100),
        "load_images": lambda: load_images(path),
        "load_labels": lambda: load_labels(path),
        "load_split": lambda: load_split(path, path),
    }


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
@pytest.mark.parametrize("reader", ["parse_idx", "read_idx", "load_images", "load_labels",
                                    "load_split"])
@pytest.mark.parametrize("case", sorted(LYING_HEADERS))
def test_a_lying_header_is_an_idx_error_naming_the_file(
    tmp_path: Path, case: str, reader: str, gz: bool
) -> None:
    data, message = LYING_HEADERS[case]
    path = idx_file(tmp_path, data, "lying.gz" if gz else "lying.idx", gz=gz)
    with pytest.raises(IdxError, match=message) as e:
        _readers(path)[reader]()
    assert str(path) in str(e.value)


@pytest.mark.parametrize(("array", "reader", "message"), [
    (images(2), "load_labels", r"labels must have rank 1.*\(2, 28, 28\)"),
    (np.zeros((2, 3), np.uint8), "load_labels", r"labels must have rank 1.*rank 2"),
    (np.zeros(5, np.uint8), "load_images", r"images must have shape.*rank 1"),
    (np.zeros((2, 784), np.uint8), "load_images", r"images must have shape.*rank 2"),
    (np.zeros((1, 1, 28, 28), np.uint8), "load_images", r"images must have shape.*rank 4"),
    (np.zeros((2, 784), np.uint8), "load_split", r"images must have shape.*rank 2"),
])
def test_a_rank_that_does_not_fit_images_or_labels_names_the_file(
    tmp_path: Path, array: NDArray[np.uint8], reader: str, message: str
) -> None:
    path = idx_file(tmp_path, encode_idx(array), gz=True)
    with pytest.raises(IdxError, match=message) as e:
        _readers(path)[reader]()
    assert str(path) in str(e.value)


def test_encode_refuses_a_dimension_of_0() -> None:
    with pytest.raises(IdxError, match="a dimension of 0"):
        encode_idx(np.zeros((0, 28, 28), dtype=np.uint8))


def test_digest_uncompressed_streams_within_its_bound(tmp_path: Path,
                                                     huge_count_bomb: bytes) -> None:
    data = encode_idx(images(40))
    digest = hashlib.md5(usedforsecurity=False)
    digest_uncompressed(idx_file(tmp_path, data, "x.gz", gz=True), digest)
    assert digest.hexdigest() == hashlib.md5(data, usedforsecurity=False).hexdigest()
    digest = hashlib.md5(usedforsecurity=False)
    digest_uncompressed(idx_file(tmp_path, b"not idx at all"), digest)  # any content
    assert digest.hexdigest() == hashlib.md5(b"not idx at all", usedforsecurity=False).hexdigest()
    path = idx_file(tmp_path, huge_count_bomb, "bomb.gz")
    with cheaply(8 * MB), pytest.raises(IdxError, match=f"{path}: more than 104857600 bytes"):
        digest_uncompressed(path, hashlib.md5(usedforsecurity=False), max_bytes=100 * MB)
    path = idx_file(tmp_path, gzip.compress(data)[:-8], "cut.gz")
    with pytest.raises(IdxError, match=f"{path}: corrupt gzip"):
        digest_uncompressed(path, hashlib.md5(usedforsecurity=False))
