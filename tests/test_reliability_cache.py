"""The kernel cache under attack and under damage: what it trusts, what it repairs, its bounds.

Each end-to-end case runs a fresh Python process (the in-memory kernel table would otherwise
answer before the disk is read), with its own kernel directory in TYPEDARR_CACHE_DIR.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from typedarr._fused import _cachedir

NOBODY = 65534

_CHILD = textwrap.dedent("""
    import dataclasses, json, sys, warnings
    import numpy as np
    import typedarr as ta
    from typedarr._fused import _cache
    if len(sys.argv) > 1:
        _cache.MAX_KERNELS_IN_MEMORY = int(sys.argv[1])
    x = ta.Matrix.random_normal(50, 40, seed=0, dtype=np.float64)
    structures = [lambda: ta.sum_cols(ta.exp(x * 0.5) - x * 1.25),
                  lambda: ta.sqrt(abs(x)) * 0.75 + x,
                  lambda: ta.sum_rows(ta.tanh(x) * x)]
    plan = [int(i) for i in (sys.argv[2] if len(sys.argv) > 2 else "0")]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        values = [np.asarray(structures[i]().with_strategy(ta.Seq).compute()).tolist()
                  for i in plan]
    print(json.dumps({"values": values, "table": len(_cache._kernels),
                      "warnings": [f"{w.category.__name__}: {w.message}" for w in caught],
                      **dataclasses.asdict(_cache.stats())}))
""")


def _want(i: int) -> Any:
    rng_x = np.asarray(_matrix())
    return [np.sum(np.exp(rng_x * 0.5) - rng_x * 1.25, axis=1),
            np.sqrt(np.abs(rng_x)) * 0.75 + rng_x,
            np.sum(np.tanh(rng_x) * rng_x, axis=0)][i]


def _matrix() -> Any:
    import typedarr as ta
    return ta.Matrix.random_normal(50, 40, seed=0, dtype=np.float64)


def run_child(cache: Path | str, *, plan: str = "0", table: int = 256,
              env: dict[str, str] | None = None) -> dict[str, Any]:
    """Compute the structures `plan` names in a new process; check their values."""
    full_env = {**os.environ, "TYPEDARR_CACHE_DIR": str(cache), "TYPEDARR_ENGINE": "fused",
                "PYTHONPATH": os.pathsep.join(sys.path), **(env or {})}
    done = subprocess.run([sys.executable, "-c", _CHILD, str(table), plan], env=full_env,
                          text=True, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    for i, got in zip(plan, result["values"], strict=True):
        np.testing.assert_allclose(got, _want(int(i)), rtol=1e-12)
    return result


def _private(path: Path) -> Path:
    path.mkdir(mode=0o700)
    return path


def _tree(path: Path) -> list[tuple[str, int]]:
    return sorted((str(p.relative_to(path)), p.lstat().st_size) for p in path.rglob("*"))


# What the cache trusts ---------------------------------------------------------------------

# A pickle (protocol 0, written by hand) whose loading creates the file MARKER.
def _payload(marker: Path) -> bytes:
    return f"cbuiltins\nexec\n(S'open({str(marker)!r}, \"w\").close()'\ntR.".encode()


def _plant(directory: Path, marker: Path) -> int:
    """Replace numba's files in `directory` by payloads that pass the digest check."""
    payload = _payload(marker)
    planted = 0
    for path in (directory / "__pycache__").iterdir():
        path.write_bytes(payload + hashlib.sha256(payload).digest())
        planted += 1
    return planted


def _compiled_and_planted(tmp_path: Path) -> tuple[Path, Path]:
    """A kernel directory as a first process leaves it, its numba files then replaced by
    payloads; and the marker a payload would create."""
    directory = tmp_path / "kernels"
    run_child(directory)
    marker = tmp_path / "payload-ran"
    assert _plant(directory, marker) >= 2  # index and data of the variant that ran
    return directory, marker


def test_the_planted_payload_runs_where_the_cache_trusts_the_directory(tmp_path: Path) -> None:
    """The control for the refusals below: the payload is live, and the trusted directory's
    owner is the one who can plant it."""
    directory, marker = _compiled_and_planted(tmp_path)
    run_child(directory)
    assert marker.exists()


def _foreign_owner(directory: Path) -> None:
    for path in [directory, *directory.rglob("*")]:
        os.chown(path, NOBODY, NOBODY, follow_symlinks=False)


def _world_writable(directory: Path) -> None:
    directory.chmod(0o777)


def _group_writable_pycache(directory: Path) -> None:
    (directory / "__pycache__").chmod(0o770)


def _foreign_pycache(directory: Path) -> None:
    _foreign_owner(directory / "__pycache__")


def _open_parent(directory: Path) -> None:
    directory.parent.chmod(0o777)  # not sticky: anyone may rename `directory` away


REFUSALS: dict[str, Callable[[Path], None]] = {
    "another user owns it": _foreign_owner,
    "others can write it": _world_writable,
    "its __pycache__ is group-writable": _group_writable_pycache,
    "another user owns its __pycache__": _foreign_pycache,
    "others can write its parent": _open_parent,
}


@pytest.mark.parametrize("case", REFUSALS)
def test_a_directory_others_control_is_refused_and_its_payload_never_runs(
        case: str, tmp_path: Path) -> None:
    if os.geteuid() != 0 and "owns" in case:
        pytest.skip("needs root to give a directory away; see the test below for non-root")
    directory, marker = _compiled_and_planted(tmp_path)
    REFUSALS[case](directory)
    before = _tree(directory)
    result = run_child(directory)
    assert not marker.exists()
    assert len(result["warnings"]) == 1
    assert result["warnings"][0].startswith("KernelCacheWarning: typedarr does not trust")
    assert result["compiled"] == 1 and result["loaded"] == 0
    assert _tree(directory) == before  # nothing read into it, nothing written


def test_a_directory_another_user_owns_is_refused(tmp_path: Path) -> None:
    """As root: a directory given to `nobody`; otherwise a directory root owns (`/`)."""
    if os.geteuid() == 0:
        foreign = _private(tmp_path / "foreign")
        os.chown(foreign, NOBODY, NOBODY)
    else:
        foreign = Path("/")
    before = _tree(foreign) if foreign != Path("/") else sorted(os.listdir("/"))
    result = run_child(foreign)
    assert [w.split(":")[0] for w in result["warnings"]] == ["KernelCacheWarning"]
    assert "owned by another user" in result["warnings"][0]
    assert (_tree(foreign) if foreign != Path("/") else sorted(os.listdir("/"))) == before


def test_a_symlinked_directory_is_refused_and_its_payload_never_runs(tmp_path: Path) -> None:
    directory, marker = _compiled_and_planted(tmp_path)
    link = tmp_path / "link"
    link.symlink_to(directory)
    result = run_child(link)
    assert not marker.exists()
    assert "is a symbolic link" in result["warnings"][0] and len(result["warnings"]) == 1


def test_an_unusable_directory_costs_the_disk_cache_not_the_compute(tmp_path: Path) -> None:
    """No shared fallback: nothing is written under the temporary directory instead."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    temporary = _private(tmp_path / "tmp")
    result = run_child(blocker / "kernels", plan="01", env={"TMPDIR": str(temporary)})
    assert len(result["warnings"]) == 1  # one warning for two kernels
    assert result["warnings"][0].startswith("KernelCacheWarning: typedarr cannot keep kernels")
    assert result["compiled"] == 2
    assert list(temporary.iterdir()) == []


def test_directories_are_created_private_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        found = _cachedir.private_directory(tmp_path / "a" / "b" / "kernels")
    finally:
        os.umask(old)
    for level in ["a", "a/b", "a/b/kernels", "a/b/kernels/__pycache__"]:
        assert stat.S_IMODE((tmp_path / level).stat().st_mode) == 0o700
    assert found == tmp_path / "a" / "b" / "kernels"


def test_sticky_shared_parents_and_own_links_on_the_way_are_trusted(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)  # like /tmp: only an entry's owner may rename it
    real = _private(shared / "mine")
    (tmp_path / "via").symlink_to(real)
    assert _cachedir.private_directory(tmp_path / "via" / "kernels") == real / "kernels"


def test_a_link_on_the_way_that_another_user_owns_is_refused(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to create a link another user owns")
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    real = _private(tmp_path / "real")
    link = shared / "link"
    link.symlink_to(real)
    os.chown(link, NOBODY, NOBODY, follow_symlinks=False)
    with pytest.raises(_cachedir.Refused, match="symbolic link owned by another user"):
        _cachedir.private_directory(link / "kernels")


# Damage ------------------------------------------------------------------------------------


def _flip_middle_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x20
    path.write_bytes(bytes(data))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])


def _garbage(path: Path) -> None:
    path.write_bytes(os.urandom(200))


def _empty(path: Path) -> None:
    path.write_bytes(b"")


DAMAGE: dict[str, tuple[str, Callable[[Path], None]]] = {
    "a flipped byte in the module": (".py", _flip_middle_byte),
    "a truncated index": (".nbi", _truncate),
    "a garbage index": (".nbi", _garbage),
    "an empty index": (".nbi", _empty),
    "a truncated data file": (".nbc", _truncate),
    "a flipped byte in the data file": (".nbc", _flip_middle_byte),
    "a garbage data file": (".nbc", _garbage),
}


@pytest.mark.parametrize("case", DAMAGE)
def test_a_damaged_entry_is_detected_recompiled_and_replaced(case: str, tmp_path: Path) -> None:
    directory = tmp_path / "kernels"
    run_child(directory)
    suffix, damage = DAMAGE[case]
    [target] = [p for p in directory.rglob("*") if p.name.endswith(suffix)]
    damage(target)
    repaired = run_child(directory)
    assert len(repaired["warnings"]) == 1 and "KernelCacheWarning" in repaired["warnings"][0]
    healthy = run_child(directory)
    assert healthy["warnings"] == []
    assert healthy["compiled"] == 0 and healthy["loaded"] == 1
    assert not list(directory.rglob(".*.tmp"))


# Bounds ------------------------------------------------------------------------------------


def _fake_kernel(directory: Path, name: str, used: float, size: int) -> None:
    module = directory / f"{_cachedir.PREFIX}{name}.py"
    module.write_bytes(b"#" * size)
    for numba_file in [f"{module.stem}.seq_kernel-9.py311.nbi",
                       f"{module.stem}.seq_kernel-9.py311.1.nbc"]:
        (directory / "__pycache__" / numba_file).write_bytes(b"x" * size)
    os.utime(module, (used, used))


def test_eviction_removes_the_least_recently_used_kernels_with_their_numba_files(
        tmp_path: Path) -> None:
    directory = _cachedir.private_directory(tmp_path / "kernels")
    now = time.time()
    for name, age in [("old", 300), ("older", 400), ("recent", 10), ("new", 500)]:
        _fake_kernel(directory, name, now - age, 1000)
    orphan = directory / "__pycache__" / f"{_cachedir.PREFIX}gone.seq_kernel-9.py311.nbi"
    orphan.write_bytes(b"x")
    stale = directory / f".{_cachedir.PREFIX}dead.py.abc.tmp"
    fresh = directory / f".{_cachedir.PREFIX}busy.py.abc.tmp"
    for temporary, age in [(stale, 7200), (fresh, 0)]:
        temporary.write_bytes(b"x")
        os.utime(temporary, (now - age, now - age))
    _cachedir.evict(directory, 6000, keep=f"{_cachedir.PREFIX}new")
    left = {p.name.split(".")[0].removeprefix(_cachedir.PREFIX)
            for p in directory.rglob(f"{_cachedir.PREFIX}*")}
    assert left == {"recent", "new"}  # "new" is the oldest but was just written
    assert len(list((directory / "__pycache__").iterdir())) == 4
    assert not stale.exists() and fresh.exists()


def test_the_directory_bound_holds_end_to_end(tmp_path: Path) -> None:
    directory = tmp_path / "kernels"
    run_child(directory, plan="012", env={"TYPEDARR_CACHE_MAX_MB": "0"})
    modules = list(directory.glob("*.py"))
    assert len(modules) == 1  # only the newest survives a zero bound
    assert {p.name.split(".")[0] for p in (directory / "__pycache__").iterdir()} == {
        modules[0].stem}


def test_using_a_kernel_marks_it_recently_used_and_keeps_its_stamp(tmp_path: Path) -> None:
    directory = tmp_path / "kernels"
    run_child(directory)
    [module] = directory.glob("*.py")
    os.utime(module, ns=(10**15, module.stat().st_mtime_ns))
    mtime = module.stat().st_mtime_ns
    assert run_child(directory)["loaded"] == 1
    assert module.stat().st_atime > time.time() - 600 and module.stat().st_mtime_ns == mtime


@pytest.mark.parametrize("value", ["-1", "lots", "nan", "inf"])
def test_the_bound_setting_is_checked(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TYPEDARR_CACHE_MAX_MB", value)
    with pytest.raises(ValueError, match="TYPEDARR_CACHE_MAX_MB"):
        _cachedir.max_bytes()


def test_the_bound_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TYPEDARR_CACHE_MAX_MB", "1.5")
    assert _cachedir.max_bytes() == 3 * 2**19
    monkeypatch.delenv("TYPEDARR_CACHE_MAX_MB")
    assert _cachedir.max_bytes() == _cachedir.DEFAULT_MAX_MB * 2**20


def test_the_table_in_memory_is_bounded_and_evicted_kernels_come_back_from_disk(
        tmp_path: Path) -> None:
    result = run_child(tmp_path / "kernels", table=2, plan="0120")
    assert result["table"] == 2
    assert result["structures"] == 4  # the first structure, made again after its eviction
    assert result["compiled"] == 3 and result["loaded"] == 1
