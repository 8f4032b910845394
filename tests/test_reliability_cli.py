"""The MNIST command line refuses every mistake it can see in one line on stderr, with exit
status 2, before training starts: flag values, outputs it cannot write, damaged data files,
a batch larger than the data, and a `--resume` checkpoint that is not the network the flags
describe. Each case runs the CLI as a user would, in a subprocess, on the tiny generated
dataset (`tests/_tiny_mnist.py`, trusted as MNIST in that subprocess only), so these tests
run without the MNIST files.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from _tiny_mnist import TRAIN, TinyMnist, command

import nn
from examples.datasets import FILES
from examples.idx import encode_idx
from examples.train import seed000_net

ROOT = Path(__file__).resolve().parents[1]
PROG = "python -m examples.mnist: error: "


def run_cli(*args: str | Path, timeout: float = 300, tiny: TinyMnist | None = None
            ) -> subprocess.CompletedProcess[str]:
    """`python -m examples.mnist args...`; with `tiny`, in a process trusting it as MNIST."""
    argv, env = [sys.executable, "-m", "examples.mnist", *map(str, args)], {
        **os.environ, "PYTHONPATH": str(ROOT)}
    if tiny is not None:
        argv, env = command("examples.mnist", tiny, *args)
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def assert_refused(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    """Exit status 2, one line on stderr naming `needles`, nothing started (stdout empty)."""
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(PROG), proc.stderr[-2000:]
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    assert proc.stdout == ""  # the banner that training prints first never came
    return lines[0]


# --- flag values ------------------------------------------------------------------------------


@pytest.mark.parametrize(("flags", "needle"), [
    (["--lr", "-1"], "--lr: must be a finite number above 0, got -1"),
    (["--lr", "0"], "--lr: must be a finite number above 0"),
    (["--lr", "nan"], "--lr: must be a finite number above 0, got nan"),
    (["--lr", "inf"], "--lr: must be a finite number above 0, got inf"),
    (["--lr", "fast"], "--lr: invalid number: 'fast'"),
    (["--epochs", "0"], "--epochs: must be a positive integer, got 0"),
    (["--epochs", "1.5"], "--epochs: invalid integer: '1.5'"),
    (["--batch-size", "-5"], "--batch-size: must be a positive integer, got -5"),
    (["--limit", "0"], "--limit: must be a positive integer, got 0"),
    (["--seed", "-1"], "--seed: must be a non-negative integer, got -1"),
    (["--dropout", "1"], "--dropout: must be in [0, 1), got 1"),
    (["--dropout", "-0.1"], "--dropout: must be in [0, 1), got -0.1"),
    (["--optimizer", "lbfgs"], "--optimizer: invalid choice: 'lbfgs'"),
    (["--init", "zeros"], "--init: invalid choice: 'zeros'"),
])
def test_bad_flag_values_are_one_line(flags: list[str], needle: str) -> None:
    assert_refused(run_cli(*flags), needle)


def test_init_with_resume_is_refused(tmp_path: Path) -> None:
    assert_refused(run_cli("--resume", tmp_path / "net.safetensors", "--init", "he"),
                   "--init has no effect with --resume")


# --- outputs are checked before anything else ------------------------------------------------


def unwritable_directory(tmp_path: Path) -> Path:
    """A directory this process cannot create files in: root ignores permission bits, and
    sysfs refuses new files even to root."""
    if os.geteuid() == 0:
        return Path("/sys")
    directory = tmp_path / "read-only"
    directory.mkdir(mode=0o555)
    return directory


@pytest.mark.parametrize("flag", ["--checkpoint", "--metrics-out", "--plot"])
@pytest.mark.parametrize("where", ["missing-dir", "parent-is-a-file", "is-a-directory",
                                   "unwritable", "fifo"])
def test_outputs_that_cannot_be_written_are_refused_up_front(
        tiny_mnist: TinyMnist, tmp_path: Path, flag: str, where: str) -> None:
    (tmp_path / "file").write_text("")
    (tmp_path / "dir.png").mkdir()
    os.mkfifo(tmp_path / "fifo.png")
    path, needle = {
        "missing-dir": (tmp_path / "no" / "such" / "out.png", "does not exist"),
        "parent-is-a-file": (tmp_path / "file" / "out.png", "Not a directory"),
        "is-a-directory": (tmp_path / "dir.png", "is a directory"),
        "unwritable": (unwritable_directory(tmp_path) / "out.png", "cannot write in"),
        "fifo": (tmp_path / "fifo.png", "not a regular file"),
    }[where]
    start = time.perf_counter()
    proc = run_cli("--data-dir", tiny_mnist.gz, "--no-download", "--epochs", "1", "--limit",
                   "200", flag, path, tiny=tiny_mnist)
    assert_refused(proc, f"{flag} {path}", needle)
    assert time.perf_counter() - start < 60


def test_a_plot_format_matplotlib_cannot_write_is_refused(tmp_path: Path) -> None:
    assert_refused(run_cli("--plot", tmp_path / "acc.docx"), "matplotlib cannot write .docx")


def test_two_outputs_naming_one_file_are_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert_refused(run_cli("--checkpoint", out, "--metrics-out", out), "name the same file")
    ck = tmp_path / "net.safetensors"
    nn.save(seed000_net(batchnorm=True), ck)
    assert_refused(run_cli("--resume", ck, "--metrics-out", ck),
                   "--metrics-out would overwrite the --resume checkpoint")
    assert len(nn.load(ck)) == 8  # untouched


# --- data files ------------------------------------------------------------------------------


def data_dir_with(tmp_path: Path, tiny: TinyMnist, stem: str, content: bytes) -> Path:
    """The tiny dataset (linked), with one file replaced by `content`."""
    directory = tmp_path / "data"
    directory.mkdir()
    for name in FILES:
        (directory / f"{name}.gz").symlink_to(tiny.gz / f"{name}.gz")
    (directory / f"{stem}.gz").unlink()
    (directory / f"{stem}.gz").write_bytes(content)
    return directory


def labels_header(count: int) -> bytes:
    return bytes([0, 0, 8, 1]) + count.to_bytes(4, "big")


DAMAGED = {
    "garbage": (b"garbage", "bad magic number"),
    "truncated-gzip": (gzip.compress(labels_header(10000) + bytes(10000))[:-30], "corrupt gzip"),
    "short-data": (gzip.compress(labels_header(10000) + bytes(9000)), "truncated"),
    "trailing-data": (gzip.compress(labels_header(10000) + bytes(10100)), "100 trailing bytes"),
    "huge-count": (gzip.compress(labels_header(4_000_000_000) + bytes(1 << 20)),
                   "expected (n) with n at most 10000"),
    "an-images-file": (gzip.compress(encode_idx(np.zeros((3, 28, 28), np.uint8))),
                       "expected (n) with n at most 10000"),
    "wrong-content": (gzip.compress(encode_idx(np.zeros(10000, np.uint8))), "md5"),
    "rank-65": (gzip.compress(bytes([0, 0, 8, 65]) + (1).to_bytes(4, "big") * 65 + b"\1"),
                "rank 65 in the header"),
}


@pytest.mark.parametrize("case", sorted(DAMAGED))
def test_a_damaged_data_file_is_one_line(tiny_mnist: TinyMnist, tmp_path: Path,
                                         case: str) -> None:
    content, needle = DAMAGED[case]
    data = data_dir_with(tmp_path, tiny_mnist, "t10k-labels-idx1-ubyte", content)
    line = assert_refused(run_cli("--data-dir", data, "--no-download", "--limit", "100",
                                  tiny=tiny_mnist), "cannot read MNIST", needle)
    assert "t10k-labels-idx1-ubyte.gz" in line


def test_an_unreadable_data_file_is_one_line(tiny_mnist: TinyMnist, tmp_path: Path) -> None:
    """A file that cannot be read (permission bits do not stop root, so: a regular file
    whose every read fails, a process's own memory at address 0)."""
    data = data_dir_with(tmp_path, tiny_mnist, "train-labels-idx1-ubyte", b"")
    (data / "train-labels-idx1-ubyte.gz").unlink()
    (data / "train-labels-idx1-ubyte.gz").symlink_to("/proc/self/mem")
    proc = run_cli("--data-dir", data, "--no-download", "--limit", "100", tiny=tiny_mnist)
    assert_refused(proc, "cannot read MNIST", "train-labels-idx1-ubyte.gz")


# --- the data and the batch ------------------------------------------------------------------


@pytest.mark.parametrize(("flags", "needle"), [
    (["--limit", "50", "--batch-size", "100"], "--batch-size 100 is more than the 50 training"),
    (["--batch-size", f"{TRAIN + 1}"],
     f"--batch-size {TRAIN + 1} is more than the {TRAIN} training images"),
    (["--limit", f"{TRAIN + 1}"], f"--limit {TRAIN + 1} is more than the {TRAIN} training images"),
    (["--limit", "10", "--batch-size", "1"], "batchnorm needs at least 2 rows per batch"),
])
@pytest.mark.parametrize("form", ["gz", "raw"])
def test_a_batch_the_data_cannot_fill_is_refused(tiny_mnist: TinyMnist, flags: list[str],
                                                 needle: str, form: str) -> None:
    data = tiny_mnist.gz if form == "gz" else tiny_mnist.raw
    assert_refused(run_cli("--data-dir", data, "--no-download", *flags, tiny=tiny_mnist), needle)


# --- resuming --------------------------------------------------------------------------------


def other_nets() -> dict[str, tuple[nn.Network, list[str], str]]:
    """Checkpoints that are not what the default flags (or the flags given) build."""
    small = nn.mlp(784, 10, [100], [nn.Relu, nn.Identity], seed=0)
    five = nn.mlp(784, 5, [300, 50], [nn.Relu, nn.Relu, nn.Identity], seed=0)
    f64 = nn.mlp(784, 10, [300, 50], [nn.Relu, nn.Relu, nn.Identity], num_bn_layers=2,
                 bias_before_bn=False, seed=0, dtype=np.float64)  # seed000_net in float64
    return {
        "fewer-layers": (small, [], "holds another network"),
        "five-classes": (five, ["--no-batchnorm"], "Linear(50->5, float32) where the flags "
                         "build Linear(50->10, float32)"),
        "float64": (f64, [], "float64) where the flags build LinearNoBias(784->300, float32)"),
        "no-batchnorm": (seed000_net(batchnorm=False), [], "add --no-batchnorm"),
        "batchnorm": (seed000_net(batchnorm=True), ["--no-batchnorm"],
                      "leave out --no-batchnorm"),
        "dropout": (seed000_net(batchnorm=True, dropout=0.2), [], "pass --dropout 0.2"),
        "other-dropout": (seed000_net(batchnorm=True, dropout=0.2), ["--dropout", "0.3"],
                          "pass --dropout 0.2"),
        "no-dropout": (seed000_net(batchnorm=True), ["--dropout", "0.3"],
                       "leave out --dropout"),
    }


@pytest.mark.parametrize("case", sorted(other_nets()))
def test_resuming_another_network_is_refused(tiny_mnist: TinyMnist, tmp_path: Path,
                                             case: str) -> None:
    net, flags, needle = other_nets()[case]
    ck = tmp_path / "net.safetensors"
    nn.save(net, ck)
    proc = run_cli("--data-dir", tiny_mnist.gz, "--no-download", "--limit", "200", "--epochs",
                   "1", "--resume", ck, *flags, tiny=tiny_mnist)
    assert_refused(proc, f"--resume {ck} holds another network", needle)


@pytest.mark.parametrize(("content", "needle"), [
    (b"", "truncated or corrupt"),
    (b"PK\x03\x04 not a zip", "truncated or corrupt"),
    (None, "no checkpoint at"),
])
def test_a_damaged_or_missing_checkpoint_is_one_line(tmp_path: Path, content: bytes | None,
                                                     needle: str) -> None:
    ck = tmp_path / "net.safetensors"
    if content is not None:
        ck.write_bytes(content)
    assert_refused(run_cli("--resume", ck), "--resume: ", needle)


@pytest.mark.parametrize("form", ["gz", "raw"])
def test_resuming_the_network_the_flags_describe_trains(tiny_mnist: TinyMnist,
                                                        tmp_path: Path, form: str) -> None:
    ck = tmp_path / "net.npz"
    nn.save(seed000_net(batchnorm=False, dropout=0.2, seed=3), ck)
    data = tiny_mnist.gz if form == "gz" else tiny_mnist.raw
    proc = run_cli("--data-dir", data, "--no-download", "--limit", "200", "--epochs", "1",
                   "--resume", ck, "--no-batchnorm", "--dropout", "0.2", "--checkpoint", ck,
                   tiny=tiny_mnist)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "test accuracy" in proc.stdout
    assert repr(nn.load(ck)) == repr(seed000_net(batchnorm=False, dropout=0.2))


def test_another_dataset_is_looked_for_under_its_own_name(tmp_path: Path) -> None:
    proc = run_cli("--dataset", "fashion-mnist", "--no-download", "--data-dir", tmp_path,
                   "--epochs", "1")
    assert proc.returncode == 2 and not proc.stdout
    assert "fashion-mnist not found" in proc.stderr
    assert "fashion-mnist.s3-website" in proc.stderr  # its own mirrors, not MNIST's
    refused = run_cli("--dataset", "cifar10", "--epochs", "1")
    assert refused.returncode == 2 and "invalid choice" in refused.stderr


# --- every command line that loads data names itself and the dataset asked for --------------

DATA_CLIS = {
    "examples.mnist": ["--no-download", "--epochs", "1"],
    "examples.cnn": ["--no-download", "--epochs", "1"],
    "examples.reproduce": ["--quick", "--no-download", "--only", "000"],
    "benchmarks.epoch": ["--rounds", "1"],
    "benchmarks.cnn_epoch": ["--rounds", "1", "--limit", "64", "--no-torch"],
}


@pytest.mark.parametrize("module", sorted(DATA_CLIS))
def test_a_wrong_copy_is_refused_naming_the_program_and_the_dataset(
        tiny_mnist: TinyMnist, module: str) -> None:
    """The tiny dataset is well-formed IDX but not MNIST: the real check refuses it."""
    proc = subprocess.run(
        [sys.executable, "-m", module, "--data-dir", str(tiny_mnist.gz), *DATA_CLIS[module]],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
        timeout=300, check=False)
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    (line,) = proc.stderr.splitlines()
    assert line.startswith(f"python -m {module}: error: cannot read MNIST: "), line
    assert "md5 of the uncompressed data" in line and str(tiny_mnist.gz) in line
    assert "Traceback" not in proc.stderr and "epoch" not in proc.stdout


@pytest.mark.parametrize("module", ["examples.mnist", "examples.cnn"])
def test_a_wrong_copy_of_another_dataset_names_it(tiny_mnist: TinyMnist, module: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", module, "--dataset", "fashion-mnist", "--data-dir",
         str(tiny_mnist.raw), "--no-download"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
        timeout=300, check=False)
    assert proc.returncode == 2 and proc.stdout == "", proc.stderr[-2000:]
    (line,) = proc.stderr.splitlines()
    assert line.startswith(f"python -m {module}: error: cannot read fashion-mnist: "), line
    assert "md5 of the uncompressed data" in line


@pytest.mark.parametrize("module", ["examples.mnist", "examples.cnn"])
def test_every_refusal_names_the_program_that_ran(tiny_mnist: TinyMnist, module: str) -> None:
    """The CNN CLI shares the MNIST CLI's checks: their messages name the CNN CLI."""
    argv, env = command(module, tiny_mnist, "--data-dir", tiny_mnist.gz, "--no-download",
                        "--limit", f"{TRAIN + 1}")
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 2 and proc.stdout == "", proc.stderr[-2000:]
    assert proc.stderr == (f"python -m {module}: error: --limit {TRAIN + 1} is more than the "
                           f"{TRAIN} training images\n")
