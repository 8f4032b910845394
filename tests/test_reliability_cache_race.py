"""Concurrent writers of one kernel's numba cache: the index never sends a signature to code
compiled for another (issue 18 §1).

numba reads a variant's index, adds an entry and writes it back; two processes saving
different signatures of one kernel (a C-ordered and an F-ordered input: the same typedarr
key) could interleave so that the index names one signature's data file while it holds the
other's code. The unit cases drive two writers through exactly that interleaving, step by
step at numba's file operations (threads waiting on a schedule, not on luck): without the
lock the crossing happens and the key digest catches it; with the lock it cannot happen. The
end-to-end cases run real processes on one kernel directory.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import io
import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np
import pytest

from typedarr._fused import _numbacache

# How long a writer waits for a step the schedule puts before its own. A writer that the lock
# holds back never takes that step, so the wait ends by this timeout; it never decides a
# result (an unlocked writer takes its steps at once).
_PATIENCE_S = 1.0

# Writer A saves "C", writer B saves "F"; between A reading the index and writing its data
# file, B reads the same index, writes it with its own entry under the same data name, and
# writes its data file: the index ends up naming B's entry, the data file holding A's code.
CROSSING = ["A:index read", "B:index read", "A:index written", "B:index written",
            "B:data written", "A:data written"]


@dataclasses.dataclass
class Schedule:
    """Steps of several writers, each taken only after those listed before it (or after
    `_PATIENCE_S`), and the order in which they were really taken."""

    plan: list[str]
    taken: list[str] = dataclasses.field(default_factory=list)
    changed: threading.Condition = dataclasses.field(default_factory=threading.Condition)

    def step(self, name: str, action: Callable[[], Any]) -> Any:
        before = self.plan[:self.plan.index(name)]
        with self.changed:
            self.changed.wait_for(lambda: all(s in self.taken for s in before), _PATIENCE_S)
        result = action()
        with self.changed:
            self.taken.append(name)
            self.changed.notify_all()
        return result


def _files(directory: Path) -> Any:
    return _numbacache._Files(cache_path=str(directory), filename_base="kernel-1.py311",
                              source_stamp=(1.0, 100))


def _writer(directory: Path, who: str, schedule: Schedule) -> Any:
    """A `_Files` whose index and data operations are steps of `schedule`."""
    files = _files(directory)
    read, write, open_for_write = files._load_index, files._save_index, files._open_for_write

    @contextlib.contextmanager
    def open_step(path: str) -> Iterator[IO[bytes]]:
        if not path.endswith(".nbc"):  # the index: written within its own step
            with open_for_write(path) as f:
                yield f
            return
        buffer = io.BytesIO()
        yield buffer  # what the writer writes, published by its step

        def publish() -> None:
            with open_for_write(path) as f:
                f.write(buffer.getvalue())

        schedule.step(f"{who}:data written", publish)

    files._load_index = lambda: schedule.step(f"{who}:index read", read)
    files._save_index = lambda o: schedule.step(f"{who}:index written", lambda: write(o))
    files._open_for_write = open_step
    return files


KEYS = {"A": (("array(float64, 2d, C)",), "target"), "B": (("array(float64, 2d, F)",), "target")}
CODE = {"A": "code compiled for C-ordered input", "B": "code compiled for F-ordered input"}


def _race(directory: Path) -> list[str]:
    """Writers A and B save their entries at once, stepping as CROSSING says if they can."""
    schedule = Schedule(CROSSING)
    writers = {who: _writer(directory, who, schedule) for who in "AB"}
    failures: list[BaseException] = []

    def save(who: str) -> None:
        try:
            writers[who].save(KEYS[who], CODE[who])
        except BaseException as err:  # reported by the test, not lost in the thread
            failures.append(err)

    threads = [threading.Thread(target=save, args=(who,)) for who in "AB"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures and not any(t.is_alive() for t in threads)
    return schedule.taken


def test_unlocked_writers_cross_the_entries_and_the_key_digest_refuses_the_crossed_code(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_numbacache, "_locked", lambda path, exclusive: contextlib.nullcontext())
    assert _race(tmp_path) == CROSSING
    fresh = _files(tmp_path)
    # What numba's own reader makes of these files: B's signature gets A's code.
    assert _numbacache.caching.IndexDataCacheFile.load(fresh, KEYS["B"]) == CODE["A"]
    with pytest.raises(_numbacache.DamagedFile, match="another signature"):
        fresh.load(KEYS["B"])
    assert fresh.load(KEYS["A"]) is None  # A's entry was lost, not misdirected


def test_locked_writers_take_turns_and_both_entries_survive(tmp_path: Path) -> None:
    taken = _race(tmp_path)
    first, second = taken[0][0], "AB".replace(taken[0][0], "")
    steps = ["index read", "index written", "data written"]
    assert taken == [f"{first}:{s}" for s in steps] + [f"{second}:{s}" for s in steps]
    fresh = _files(tmp_path)
    for who in "AB":
        assert fresh.load(KEYS[who]) == CODE[who]


def _lock_is_free(files: Any, operation: int) -> bool:
    fd = os.open(files.lock_path, os.O_RDWR)
    try:
        fcntl.flock(fd, operation | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def test_a_writer_excludes_everyone_and_a_reader_excludes_writers_only(tmp_path: Path) -> None:
    files = _files(tmp_path)
    seen: dict[str, tuple[bool, bool]] = {}
    read = files._load_index

    def probe(during: str) -> Any:
        seen[during] = (_lock_is_free(files, fcntl.LOCK_SH), _lock_is_free(files, fcntl.LOCK_EX))
        return read()

    files._load_index = lambda: probe("save")
    files.save(KEYS["A"], CODE["A"])
    files._load_index = lambda: probe("load")
    assert files.load(KEYS["A"]) == CODE["A"]
    assert seen == {"save": (False, False), "load": (True, False)}
    assert _lock_is_free(files, fcntl.LOCK_EX)  # released after each


def test_a_data_file_moved_to_another_signature_is_damaged(tmp_path: Path) -> None:
    files = _files(tmp_path)
    files.save(KEYS["A"], CODE["A"])
    files.save(KEYS["B"], CODE["B"])
    index = files._load_index()
    data_a, data_b = (tmp_path / index[KEYS[who]] for who in "AB")
    data_b.write_bytes(data_a.read_bytes())  # an intact file, its digest matching
    assert files.load(KEYS["A"]) == CODE["A"]
    with pytest.raises(_numbacache.DamagedFile, match="another signature"):
        files.load(KEYS["B"])


def test_where_no_lock_can_be_taken_entries_are_still_written_read_and_tied(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_locks(fd: int, operation: int) -> None:
        raise OSError(37, "No locks available")  # ENOLCK: some network file systems

    monkeypatch.setattr(fcntl, "flock", no_locks)
    files = _files(tmp_path)
    files.save(KEYS["A"], CODE["A"])
    files.save(KEYS["B"], CODE["B"])
    assert [files.load(KEYS[who]) for who in "AB"] == [CODE["A"], CODE["B"]]
    index = files._load_index()
    (tmp_path / index[KEYS["B"]]).write_bytes((tmp_path / index[KEYS["A"]]).read_bytes())
    with pytest.raises(_numbacache.DamagedFile, match="another signature"):
        files.load(KEYS["B"])


# End to end --------------------------------------------------------------------------------

_CHILD = textwrap.dedent("""
    import dataclasses, json, os, sys, time, warnings
    import numpy as np
    import typedarr as ta
    from typedarr._fused import _cache
    a = np.random.default_rng(0).normal(size=(50, 40))
    layouts = {"C": ta.Matrix.from_numpy(a), "F": ta.Matrix.from_numpy(a.T.copy()).T}
    if len(sys.argv) > 2:  # start together with the other writers
        while not os.path.exists(sys.argv[2]):
            time.sleep(0.001)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        values = {}
        for layout in sys.argv[1]:
            m = layouts[layout]
            assert np.asarray(m).flags[layout + "_CONTIGUOUS"]
            got = ta.sum_cols(ta.exp(m * 0.5) - m * 1.25).with_strategy(ta.Seq).compute()
            values[layout] = np.asarray(got).tolist()
    print(json.dumps({"values": values,
                      "warnings": [f"{w.category.__name__}: {w.message}" for w in caught],
                      **dataclasses.asdict(_cache.stats())}))
""")


def _env(cache: Path) -> dict[str, str]:
    return {**os.environ, "TYPEDARR_CACHE_DIR": str(cache), "TYPEDARR_ENGINE": "fused",
            "PYTHONPATH": os.pathsep.join(sys.path)}


def _check(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    a = np.random.default_rng(0).normal(size=(50, 40))
    for got in result["values"].values():
        np.testing.assert_allclose(got, np.sum(np.exp(a * 0.5) - a * 1.25, axis=1),
                                   rtol=1e-12)
    return result


def _child(cache: Path, layouts: str) -> dict[str, Any]:
    return _check(subprocess.run([sys.executable, "-c", _CHILD, layouts], env=_env(cache),
                                 text=True, capture_output=True, timeout=300))


def test_a_crossed_index_left_by_racing_processes_never_runs_the_other_layouts_code(
        tmp_path: Path) -> None:
    directory = tmp_path / "kernels"
    _child(directory, "F")
    index = next((directory / "__pycache__").glob("*.nbi"))
    f_index = index.read_bytes()  # names the F-ordered signature's data file 1
    for path in (directory / "__pycache__").glob("*.nb?"):
        path.unlink()
    _child(directory, "C")  # data file 1 now holds the C-ordered code
    index.write_bytes(f_index)  # the state the crossing race leaves: each file intact
    assert [p.name[-5:] for p in sorted((directory / "__pycache__").glob("*.nbc"))] == [
        "1.nbc"]
    repaired = _child(directory, "F")
    assert repaired["compiled"] == 1 and repaired["loaded"] == 0
    assert len(repaired["warnings"]) == 1 and "another signature" in repaired["warnings"][0]
    healthy = _child(directory, "CF")
    assert healthy["warnings"] == []
    assert healthy["compiled"] == 1 and healthy["loaded"] == 1  # C was discarded with F


def test_processes_compiling_both_layouts_at_once_keep_both_entries(tmp_path: Path) -> None:
    directory = tmp_path / "kernels"
    start = tmp_path / "start"
    for _ in range(2):
        shutil.rmtree(directory, ignore_errors=True)
        racers = [subprocess.Popen([sys.executable, "-c", _CHILD, layouts, str(start)],
                                   env=_env(directory), text=True, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE) for layouts in ("C", "F", "FC")]
        start.touch()
        for racer in racers:
            out, err = racer.communicate(timeout=300)
            result = _check(subprocess.CompletedProcess(racer.args, racer.returncode, out, err))
            assert result["warnings"] == []
        start.unlink()
        after = _child(directory, "CF")
        assert after["compiled"] == 0 and after["loaded"] == 2 and after["warnings"] == []

