"""The examples end to end: the MNIST CLI, a training smoke run with an accuracy floor,
Ctrl-C with a checkpoint, the reproductions script on a small scale, and their helpers."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _ctrl_c import python
from _tiny_mnist import TinyMnist, command, trust

import nn
from examples import cnn, reproduce
from examples import mnist as cli
from examples.breast_cancer import load_breast_cancer
from examples.mnist_data import load_mnist
from examples.readme_section import read_section, replace_section, split_blocks
from examples.train import Data, State, seed000_net, train

ROOT = Path(__file__).resolve().parents[1]
PNG = b"\x89PNG\r\n\x1a\n"


def test_training_smoke_run_clears_an_accuracy_floor(mnist_dir: Path) -> None:
    # 400 steps of seed 000's network on 10,000 images: the correct gradients measured
    # 0.938 test accuracy; batchnorm passing no gradient back measured 0.58, batchnorm's dx
    # without its mean terms 0.44, and a net that learns nothing stays at 0.11. Subtler
    # mistakes (a flipped dgamma reached 0.933) are the finite-difference checks' job.
    m = load_mnist(mnist_dir, download=False)
    state = State(seed000_net(batchnorm=True, seed=0), nn.SGD(lr=0.01))
    _, history = train(state, Data(m.train_x, m.train_y).head(10_000),
                       Data(m.test_x, m.test_y), epochs=4, batch_size=100, seed=0)
    accuracies = [h.test_accuracy for h in history]
    assert accuracies[-1] >= 0.90, accuracies
    assert history[-1].train_loss < history[0].train_loss


def test_cli_writes_metrics_plot_and_checkpoint(
        tiny_mnist: TinyMnist, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    trust(monkeypatch, tiny_mnist)
    metrics, plot, ck = tmp_path / "m.jsonl", tmp_path / "acc.png", tmp_path / "net.safetensors"
    status = cli.main(["--epochs", "2", "--limit", "1000", "--data-dir", str(tiny_mnist.gz),
                       "--no-download", "--metrics-out", str(metrics), "--plot", str(plot),
                       "--checkpoint", str(ck), "--optimizer", "adam", "--lr", "1e-3"])
    assert status == 0
    lines = [json.loads(line) for line in metrics.read_text().splitlines()]
    assert [r["epoch"] for r in lines] == [1, 2]
    assert set(lines[0]) == {"epoch", "train_loss", "train_accuracy", "test_loss",
                             "test_accuracy", "seconds", "train_seconds"}
    assert all(0.0 <= r["test_accuracy"] <= 1.0 and r["seconds"] > 0 for r in lines)
    assert all(0 < r["train_seconds"] < r["seconds"] for r in lines)  # evaluation takes time
    assert ck.read_bytes()[8:9] == b"{"  # safetensors, the default format
    assert plot.read_bytes().startswith(PNG)
    net = nn.load(ck)
    assert nn.check_network(net, 784) == 10
    out = capsys.readouterr().out
    assert "epoch   2" in out and f"test accuracy {lines[-1]['test_accuracy']:.4f}" in out


def test_cli_resumes_from_a_checkpoint(tiny_mnist: TinyMnist, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    trust(monkeypatch, tiny_mnist)
    ck = tmp_path / "net.npz"
    args = ["--epochs", "1", "--limit", "500", "--data-dir", str(tiny_mnist.raw),
            "--no-download"]
    assert cli.main([*args, "--checkpoint", str(ck)]) == 0
    first = np.asarray(nn.load(ck)[0].w)  # type: ignore[union-attr]
    assert cli.main([*args, "--resume", str(ck), "--checkpoint", str(ck)]) == 0
    assert not np.array_equal(first, np.asarray(nn.load(ck)[0].w))  # type: ignore[union-attr]


def test_cli_without_data_says_what_to_do(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--data-dir", str(tmp_path), "--no-download"]) == 2
    err = capsys.readouterr().err
    assert str(tmp_path) in err and "train-images-idx3-ubyte" in err


def test_cli_refuses_bad_flags(capsys: pytest.CaptureFixture[str]) -> None:
    for bad in (["--epochs", "0"], ["--optimizer", "lbfgs"], ["--init", "zeros"]):
        with pytest.raises(SystemExit) as stop:
            cli.parse_args(bad)
        assert stop.value.code == 2
    assert "invalid" in capsys.readouterr().err


def test_ctrl_c_stops_cleanly_after_saving_a_checkpoint(tiny_mnist: TinyMnist, tmp_path: Path
                                                        ) -> None:
    ck = tmp_path / "net.npz"
    argv, env = command("examples.mnist", tiny_mnist, "--epochs", "1000", "--limit", "1000",
                        "--data-dir", tiny_mnist.gz, "--no-download", "--checkpoint", ck)
    # Started as an interactive shell would (SIGINT at its default): see tests/_ctrl_c.py.
    proc = subprocess.Popen(python(*argv[1:]), cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not ck.exists():  # the first epoch's checkpoint: training is under way
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no checkpoint after 120 s"
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted" in err and str(ck) in err
    assert "Traceback" not in err
    assert nn.check_network(nn.load(ck), 784) == 10


def test_a_child_gets_ctrl_c_even_where_the_test_run_ignores_and_blocks_it() -> None:
    # A suite started in the background (`pytest ... &`) has SIGINT ignored, and a plain
    # child inherits that; made here on purpose, briefly, to check what `python` gives.
    probe = ("import signal; print(signal.getsignal(signal.SIGINT) is "
             "signal.default_int_handler, signal.SIGINT in signal.pthread_sigmask("
             "signal.SIG_BLOCK, []))")
    handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGINT])
    try:
        plain, ours = (subprocess.run(argv, text=True, capture_output=True,
                                      timeout=60).stdout
                       for argv in ([sys.executable, "-c", probe], python("-c", probe)))
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        signal.signal(signal.SIGINT, handler)
    assert plain == "False True\n"  # what the Ctrl-C tests' children got in such a run
    assert ours == "True False\n"


def test_reproduce_quick_writes_its_table_and_figures(
        tiny_mnist: TinyMnist, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    trust(monkeypatch, tiny_mnist)
    readme = tmp_path / "README.md"
    readme.write_text("# x\n<!-- results:begin -->\nold\n<!-- results:end -->\ntail\n")
    status = reproduce.main(["--quick", "--data-dir", str(tiny_mnist.gz), "--no-download",
                             "--readme", str(readme), "--figures", str(tmp_path / "fig")])
    assert status == 0
    text = readme.read_text()
    assert "old" not in text and text.endswith("<!-- results:end -->\ntail\n")
    for row in ("| batchnorm |", "| bad init, no batchnorm |", "| Xavier/2, neither |",
                "**Seed 002**", "| 2 |", "**Seed 003**", "| no batchnorm |"):
        assert row in text, row
    blocks = split_blocks(read_section(readme, "results"), "results")
    assert list(blocks) == list(reproduce.SEEDS)  # one block per seed, in the seeds' order
    stamp = "Produced by `python -m examples.reproduce --quick` on "
    assert all(stamp in block for block in blocks.values())
    # seed 003 trains as examples.cnn does by default, eager or compiled
    steps = "eager steps" if cnn.parse_args([]).eager else "compiled steps"
    assert steps in blocks["003"]
    for name in ("seed000_batchnorm.png", "seed003_loss.png", "seed004_loss.png",
                 "seed004_error.png"):
        assert (tmp_path / "fig" / name).read_bytes().startswith(PNG)


def test_the_results_page_has_one_results_section() -> None:
    assert reproduce.PAGE == ROOT / "docs" / "guide" / "experiments.md"
    text = reproduce.PAGE.read_text()
    assert text.count("<!-- results:begin -->") == 1 and text.count("<!-- results:end -->") == 1
    # one block per seed and nothing else, so that `--only` can rewrite any of them
    blocks = split_blocks(read_section(reproduce.PAGE, "results"), "results")
    assert list(blocks) == list(reproduce.SEEDS)
    assert all("Produced by `python -m examples.reproduce" in b for b in blocks.values())


def test_replace_section_refuses_missing_or_repeated_markers(tmp_path: Path) -> None:
    p = tmp_path / "R.md"
    for text in ("no markers", "<!-- s:end -->\n<!-- s:begin -->",
                 "<!-- s:begin -->\n<!-- s:end -->\n<!-- s:begin -->\n<!-- s:end -->"):
        p.write_text(text)
        with pytest.raises(ValueError, match="s:begin"):
            replace_section(p, "s", "body")
        assert p.read_text() == text


def test_breast_cancer_split_is_stratified_standardised_and_seeded() -> None:
    a, b = load_breast_cancer(seed=3), load_breast_cancer(seed=3)
    assert a.train_x.shape == (456, 30) and a.test_x.shape == (113, 30)
    np.testing.assert_array_equal(a.test_x, b.test_x)
    assert abs(a.train_y.mean() - a.test_y.mean()) < 0.01  # both about 0.63 benign
    np.testing.assert_allclose(a.train_x.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(a.train_x.std(axis=0), 1.0, atol=1e-4)
    assert not np.allclose(a.test_x.mean(axis=0), 0.0, atol=1e-3)  # test stats not used
    assert not a.train_x.flags.writeable
    c = load_breast_cancer(seed=4)
    assert not np.array_equal(a.test_y, c.test_y) or not np.array_equal(a.test_x, c.test_x)


def test_the_tour_runs_and_shows_the_refusals(capsys: pytest.CaptureFixture[str]) -> None:
    from examples import tour

    tour.main()
    out = capsys.readouterr().out
    assert "Matrix U" in out and "Matrix D" in out  # manifest and delayed reprs
    assert out.count("ShapeError: cannot") >= 3
    assert "Indices U Par (Sz1 3)\n[ 1, 0, 2 ]" in out  # argmax_cols, ties to the first
    assert "TypeError: np.exp does not take a typedarr Matrix: use ta.exp(x)" in out


def docs_block(page: str, containing: str) -> str:
    """The one plain Python block (```python, not executed by the docs build) of the
    documentation page `page` (under docs/) that contains `containing`."""
    text = (ROOT / "docs" / page).read_text()
    blocks = [b.split("\n```", 1)[0] for b in text.split("```python\n")[1:]]
    (block,) = [b for b in blocks if containing in b]
    return block


def test_the_docs_chain_example_runs() -> None:
    namespace: dict[str, Any] = {}
    exec(compile(docs_block("guide/nn.md", "nn.Chain[In]()"), "nn.md", "exec"), namespace)
    assert nn.check_network(namespace["net"], 784) == 10


def test_the_docs_nn_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    code = docs_block("guide/nn.md", "nn.save(net, \"net.safetensors\")")
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "nn.md", "exec"), {})  # the guide's own example
    loss, accuracy = capsys.readouterr().out.split()
    assert float(loss) > 0 and 0 <= float(accuracy) <= 1
    assert (tmp_path / "net.safetensors").is_file()
