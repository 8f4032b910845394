"""Static typing from a user's own project, after installing this one as a user does.

For each install mode, `pip install .` and `pip install -e .` (the README's), a fresh venv is
made (`python -m venv`, no system site-packages) and the project is installed into it from
a copy of the checkout, offline: `--no-index --no-deps --no-build-isolation`. The venv reuses
the test interpreter's dependencies (numpy, setuptools, pip, mypy, pyright, ...) through one
`.pth` line naming a folder of links to them, a folder that leaves out this project's own
packages and its editable-install entries, so `typedarr` and `nn` can only come from the
fresh install. A small user project in a temporary folder outside the checkout is then
type-checked as its owner would, from its own folder with the venv first on PATH and no
configuration: `mypy --strict` and pyright in strict mode (`# pyright: strict`). The
correct module must be clean, the module with planted dimension bugs must fail exactly on
its marked lines (markers as in tests/typing_snippets.py), and nothing else may be
reported: no unresolved import, no error from the library itself.

Also: a script run from the folder that holds the clone (a folder named `typedarr`, as
`git clone` names it) imports the installed package, never the clone folder as a namespace
package (the src/ layout's promise).

These tests are slow (a venv, a pip install and both checkers per mode, about 20 s each) and
run with the rest of the suite (`bash scripts/test.sh`, the README's test command).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import pytest
from typing_snippets import ERROR, PYRIGHT_OFFLINE, PYRIGHT_ONLINE, Run, mismatches

ROOT = Path(__file__).resolve().parent.parent
OURS = ("typedarr", "nn", "__editable__.typedarr", "__editable___typedarr")
"""Names in site-packages that belong to this project (packages, metadata, editable hooks)."""

GOOD = '''\
# pyright: strict
"""A user's model with named dimensions."""

import numpy as np

import nn
import typedarr as ta
from typedarr import Matrix, Vector


class Batch: ...
class In: ...
class Hidden: ...
class Out: ...


def layer(x: Matrix[Batch, In], w: Matrix[In, Hidden], b: Vector[Hidden]
          ) -> Matrix[Batch, Hidden]:
    return ta.compute(x @ w + ta.rows_like(b, x))


def network(w1: Matrix[In, Hidden], w2: Matrix[Hidden, Out], b2: Vector[Out]) -> nn.Network:
    return (nn.Chain[In]().then(nn.LinearNoBias(w1)).then(nn.Activation(nn.Relu))
            .then(nn.Linear(w2, b2)).network)


x: Matrix[Batch, In] = Matrix.from_numpy(np.ones((4, 3), np.float32))
net = network(nn.he_normal(3, 5, seed=0), nn.he_normal(5, 2, seed=1), nn.zero_bias(2, seed=0))
print(nn.forward(net, x).shape)
'''

BAD = '''\
# pyright: strict
"""The same model with dimension bugs planted: each marked line is one."""

import nn
import typedarr as ta
from typedarr import Matrix, Vector


class Batch: ...
class In: ...
class Hidden: ...
class Out: ...


def product(x: Matrix[Batch, In], w: Matrix[Hidden, Out], b: Vector[Hidden]
            ) -> Matrix[Batch, Hidden]:
    return ta.compute(x @ w + ta.rows_like(b, x))  # E: operator, arg-type | reportOperatorIssue


def bias(x: Matrix[Batch, In], w: Matrix[In, Hidden], b: Vector[Out]) -> Matrix[Batch, Hidden]:
    return ta.compute(x @ w + ta.rows_like(b, x))  # E: arg-type | reportOperatorIssue


def chain(w2: Matrix[Hidden, Out]) -> nn.Network:
    return nn.Chain[In]().then(nn.LinearNoBias(w2)).network  # E: arg-type | reportCallIssue, reportArgumentType


def linear(w1: Matrix[In, Hidden], b2: Vector[Out]) -> nn.Linear[In, Hidden]:
    return nn.Linear(w1, b2)  # E: arg-type | reportArgumentType
'''  # noqa: E501 (a marker stays on its line)

SCRIPT = '''\
import typedarr
from typedarr import Matrix

print(typedarr.__file__)
print(Matrix.zeros(2, 3).shape)
'''


@dataclass(frozen=True)
class Installed:
    """A fresh venv with the project installed in one mode, and the user's folders."""

    mode: str
    python: Path
    clone: Path  # the copy of the checkout it was installed from, a folder named typedarr
    project: Path  # the user's project, outside the clone
    env: dict[str, str]

    def run(self, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.python), *args], cwd=cwd, env=self.env,
                              capture_output=True, text=True, timeout=600, check=False)


def _copy_checkout(to: Path) -> None:
    """What a clone holds that the build reads: the metadata and the sources."""
    to.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, to / name)
    shutil.copytree(ROOT / "src", to / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))


def _dependencies(to: Path) -> Path:
    """A folder of links to this interpreter's installed packages, without this project's."""
    to.mkdir()
    sites = dict.fromkeys(Path(sysconfig.get_paths()[k]) for k in ("purelib", "platlib"))
    for site in sites:
        for entry in site.iterdir():
            if entry.name.startswith(OURS) or entry.suffix == ".pth" or \
                    entry.name == "__pycache__" or (to / entry.name).exists():
                continue
            (to / entry.name).symlink_to(entry)
    return to


def _environment(venv: Path) -> dict[str, str]:
    """A user's shell with the venv activated: nothing of the test run's paths or pip
    configuration (the machine's may name indexes; the install must not need one)."""
    drop = {"PYTHONPATH", "PYTHONHOME", "MYPYPATH", "VIRTUAL_ENV", "PIP_CONFIG_FILE",
            *PYRIGHT_ONLINE}
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("PIP_")}
    return env | PYRIGHT_OFFLINE | {
        "PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", "VIRTUAL_ENV": str(venv),
        "PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


@pytest.fixture(scope="module", params=["regular", "editable"])
def installed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
              ) -> Installed:
    base = tmp_path_factory.mktemp(f"user-{request.param}")
    clone = base / "parent" / "typedarr"
    _copy_checkout(clone)
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=120)
    python = venv / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()"
                           "['purelib'])"], capture_output=True, text=True, check=True)
    Path(site.stdout.strip(), "_test_dependencies.pth").write_text(
        f"{_dependencies(base / 'dependencies')}\n")
    project = base / "project"
    project.mkdir()
    (project / "good.py").write_text(GOOD)
    (project / "bad.py").write_text(BAD)
    done = Installed(request.param, python, clone, project, _environment(venv))
    editable = ["-e"] if request.param == "editable" else []
    pip = done.run("-m", "pip", "install", "--no-index", "--no-deps", "--no-build-isolation",
                   *editable, str(clone), cwd=base)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    return done


def test_the_fresh_venv_imports_the_install_and_nothing_else(installed: Installed) -> None:
    where = installed.run("-c", "import typedarr, nn; print(typedarr.__file__); "
                          "print(nn.__file__)", cwd=installed.project)
    assert where.returncode == 0, where.stderr
    typedarr_file, nn_file = where.stdout.splitlines()
    home = installed.clone / "src" if installed.mode == "editable" else installed.python.parents[1]
    for file in (typedarr_file, nn_file):
        assert Path(file).is_relative_to(home), (installed.mode, file)
    assert not Path(typedarr_file).is_relative_to(ROOT)
    config = (installed.python.parents[1] / "pyvenv.cfg").read_text()
    assert "include-system-site-packages = false" in config, config


def _mypy(installed: Installed) -> Run:
    done = installed.run("-m", "mypy", "--strict", "--cache-dir", str(installed.project.parent
                                                                        / "mypy-cache"),
                         "--show-error-codes", "--no-error-summary", "--no-pretty",
                         "--no-color-output", "good.py", "bad.py", cwd=installed.project)
    run = Run("mypy", done.stdout + done.stderr, done.returncode, done.stderr, 0.0)
    for line in done.stdout.splitlines():
        if found := ERROR.match(line):
            run.add(installed.project / found["path"], int(found["line"]),
                    found["code"] or "?", line)
        elif line.strip():
            run.add(installed.project / "<mypy>", 0, "note", line)  # any other output counts
    return run


def _pyright(installed: Installed) -> Run:
    done = installed.run("-m", "pyright", "--outputjson", "good.py", "bad.py",
                         cwd=installed.project)
    run = Run("pyright", done.stdout + done.stderr, done.returncode, done.stderr, 0.0)
    report = json.loads(done.stdout)
    assert report["summary"]["filesAnalyzed"] == 2, done.stdout
    for d in report["generalDiagnostics"]:
        line = d["range"]["start"]["line"] + 1
        rule = d.get("rule", f"pyright-{d['severity']}")
        run.add(Path(d["file"]), line, rule, f"{d['file']}:{line}: {d['message']}  [{rule}]")
    return run


@pytest.mark.parametrize("checker", ["mypy", "pyright"])
def test_both_checkers_pass_the_good_module_and_flag_exactly_the_planted_bugs(
        installed: Installed, checker: str) -> None:
    run = _mypy(installed) if checker == "mypy" else _pyright(installed)
    good, bad = installed.project / "good.py", installed.project / "bad.py"
    assert run.status == 1, run.report  # errors found (bad.py), and the checker did not crash
    assert not run.stray([good, bad]), f"{installed.mode}: reported elsewhere:\n{run.report}"
    assert not run.lines(good), f"{installed.mode}: {run.messages_of(good)}"
    problems = mismatches(run, bad)
    assert not problems, f"{installed.mode}, {checker}:\n" + "\n".join(problems)


def test_a_script_run_beside_the_clone_imports_the_installed_package(installed: Installed
                                                                     ) -> None:
    parent = installed.clone.parent  # holds the clone, a folder named typedarr
    (parent / "script.py").write_text(SCRIPT)
    for args in (["script.py"], ["-c", SCRIPT]):  # sys.path[0] is the parent either way
        done = installed.run(*args, cwd=parent)
        assert done.returncode == 0, done.stderr
        file, shape = done.stdout.splitlines()
        assert file != "None" and Path(file).name == "__init__.py", file  # not a namespace
        assert Path(file).parent != installed.clone and shape == "(2, 3)"
