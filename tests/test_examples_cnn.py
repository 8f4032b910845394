"""`python -m examples.cnn` end to end on a small scale: seed 003's CNN learns from 100 steps,
writes its metrics and a checkpoint that loads as the same network, and says in `--help`
how its learning rate relates to seed 003's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nn
from examples.cnn import seed003_net

ROOT = Path(__file__).resolve().parents[1]


def test_cnn_cli_learns_from_a_hundred_steps(mnist_dir: Path, tmp_path: Path) -> None:
    # 100 compiled steps of 16 images (the default; eager steps measured 0.937 test
    # accuracy, and the compiled step is tested equal to them); a network that learns
    # nothing, or whose batchnorm running statistics never move (its test-time batchnorm
    # then divides by the initial variance 1), stays near 0.11.
    metrics, ck = tmp_path / "m.jsonl", tmp_path / "cnn.safetensors"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "examples.cnn", "--limit", "1600", "--batch-size", "16",
         "--data-dir", str(mnist_dir), "--no-download", "--metrics-out",
         str(metrics), "--checkpoint", str(ck)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr
    (line,) = [json.loads(text) for text in metrics.read_text().splitlines()]
    assert line["test_accuracy"] >= 0.85, line
    assert f"test accuracy {line['test_accuracy']:.4f}" in proc.stdout
    # the compile is announced, then timed: never a silent pause
    said = proc.stderr.splitlines()
    assert "compiling the training step (first run only" in said[0], proc.stderr
    assert any(s.startswith("compiled and ran the first step in ") and s.endswith(" s")
               for s in said), proc.stderr
    net = nn.load(ck)
    assert [type(layer) for layer in net] == [type(layer) for layer in seed003_net()]
    assert nn.check_network(net, (1, 28, 28)) == 10


def test_cnn_cli_help_states_seed003s_learning_rate() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "examples.cnn", "--help"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=True)
    text = " ".join(proc.stdout.split())
    assert "0.001 on the loss summed over its batch of 64" in text
    assert "default 0.064" in text
    assert "--eager" in text and "--compiled" not in text  # compiled is the default


def test_seed003_net_without_batchnorm() -> None:
    net = seed003_net(batchnorm=False)
    assert not any(isinstance(layer, nn.Batchnorm1d | nn.Batchnorm2d) for layer in net)
    assert nn.check_network(net, (1, 28, 28)) == 10
