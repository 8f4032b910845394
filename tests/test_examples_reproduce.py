"""`python -m examples.reproduce --only`: one seed's experiment rerun alone rewrites that seed's
block of the README's results and keeps every other block byte for byte; a README whose
section cannot be kept that way is refused before any training. Also the helpers the seed
003 experiment adds: the per-step loss hook of the shared loop, seed 003's moving loss, and
the blocks of a section."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from _tiny_mnist import TinyMnist

import nn
from examples import reproduce
from examples.readme_section import join_blocks, read_section, split_blocks
from examples.reproduce_report import moving_average, results
from examples.train import Data, State, seed000_net, train

KEPT = {"000": "**Seed 000** kept\n\n| a | b |\n|---|---:|\n| x | 0.1 |",
        "001": "**Seed 001** kept too",
        "004": "![seed 004](docs/figures/seed004_loss.png)\n\nProduced by hand."}


def _readme(path: Path, blocks: dict[str, str]) -> Path:
    path.write_text(f"# head\n\n<!-- results:begin -->\n{join_blocks('results', blocks)}\n"
                    f"<!-- results:end -->\n\ntail\n")
    return path


def test_only_inserts_then_rewrites_its_block_and_keeps_the_others(tmp_path: Path) -> None:
    readme = _readme(tmp_path / "README.md", KEPT)
    before = readme.read_text()
    args = ["--quick", "--only", "002", "--readme", str(readme), "--figures",
            str(tmp_path / "fig")]
    for _ in range(2):  # first inserted between 001 and 004, then replaced in place
        assert reproduce.main(args) == 0
        text = readme.read_text()
        blocks = split_blocks(read_section(readme, "results"), "results")
        assert list(blocks) == ["000", "001", "002", "004"]
        assert {k: blocks[k] for k in KEPT} == KEPT
        for key, block in KEPT.items():  # the very text, markers included
            assert join_blocks("results", {key: block}) in text
        assert blocks["002"].startswith("**Seed 002**")
        assert re.search(r"\n\nProduced by `python -m examples\.reproduce --quick --only 002` "
                         r"on \d{4}-\d{2}-\d{2}\.$", blocks["002"]), blocks["002"]
        assert text.startswith("# head\n\n<!-- results:begin -->\n")
        assert text.endswith("<!-- results:end -->\n\ntail\n")
    assert text != before and text.count("**Seed 002**") == 1
    assert not (tmp_path / "fig").exists()  # seed 002 has no figure; no other seed ran


def test_only_refuses_a_section_it_would_lose_text_of_before_training(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    readme = tmp_path / "README.md"
    legacy = "<!-- results:begin -->\nProduced by hand.\n\n| a |\n<!-- results:end -->\n"
    for text in (legacy, "no section here\n"):
        readme.write_text(text)
        # the data directory is empty: reaching the training would fail differently
        with pytest.raises(SystemExit) as stop:
            reproduce.main(["--only", "000", "--readme", str(readme), "--data-dir",
                            str(tmp_path), "--no-download"])
        assert stop.value.code == 2
        assert readme.read_text() == text
    err = capsys.readouterr().err
    assert "outside its blocks" in err and "results:begin" in err


def test_only_takes_commas_and_repeats_and_refuses_unknown_seeds(
        capsys: pytest.CaptureFixture[str]) -> None:
    parse = reproduce._seeds
    assert parse("003") == ["003"] and parse("004, 000") == ["004", "000"]
    for bad in ("005", "3", "", "003,x"):
        with pytest.raises(SystemExit) as stop:
            reproduce.main(["--quick", "--only", "002", "--only", bad])
        assert stop.value.code == 2
    assert "choose among 000, 001, 002, 003, 004" in capsys.readouterr().err


def test_results_orders_blocks_by_seed_and_replaces_only_the_new_ones() -> None:
    old = join_blocks("results", {"004": "four", "000": "zero"})
    merged = split_blocks(results({"003": "three", "000": "new zero"}, old), "results")
    assert list(merged.items()) == [("000", "new zero"), ("003", "three"), ("004", "four")]
    assert results({"001": "one"}, None) == join_blocks("results", {"001": "one"})


def test_split_blocks_refuses_text_outside_blocks_and_repeated_keys() -> None:
    one = join_blocks("r", {"1": "one"})
    # another section's block is text outside this one's blocks
    for body in (one + "\nloose", "loose\n" + one, join_blocks("q", {"1": "x"})):
        with pytest.raises(ValueError, match="outside its blocks"):
            split_blocks(body, "r")
    with pytest.raises(ValueError, match="'1' twice"):
        split_blocks(one + "\n\n" + one, "r")
    assert split_blocks("", "r") == {}


def test_on_loss_sees_every_step_of_the_shared_loop(tiny_mnist: TinyMnist) -> None:
    from examples.mnist_data import load_mnist

    m = load_mnist(tiny_mnist.gz, download=False, md5=tiny_mnist.md5)
    losses: list[float] = []
    state = State(seed000_net(batchnorm=True, seed=0), nn.SGD(lr=0.01))
    _, history = train(state, Data(m.train_x, m.train_y).head(550),
                       Data(m.test_x, m.test_y).head(200), epochs=2, batch_size=100, seed=0,
                       eager=True, on_loss=losses.append)
    assert len(losses) == 10  # 5 full batches of 100 per epoch, the partial one dropped
    for epoch, chunk in zip(history, (losses[:5], losses[5:]), strict=True):
        assert epoch.train_loss == pytest.approx(float(np.mean(chunk)), rel=1e-12)
    assert all(np.isfinite(losses)) and len(set(losses)) == 10


def test_moving_average_is_seed003s_moving_loss() -> None:
    values = [2.0, 1.0, 3.0]
    expected = [2.0, 0.99 * 2.0 + 0.01 * 1.0]
    expected.append(0.99 * expected[-1] + 0.01 * 3.0)
    assert moving_average(values) == pytest.approx(expected, rel=1e-15)
    assert moving_average([]) == []
