"""Runtime scalars in `typedarr.jit`: a number argument is an input of the compiled program,
not part of its structure, unless the traced code reads its value (specialised) or it is
marked static; optimisers and schedules trace once; a new batch size reuses the kernels."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import nn
import typedarr as ta
from typedarr import Matrix, Vector, _compute, _fused


def _close(got: Any, want: Any, rtol: float = 1e-5) -> None:
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=rtol, atol=1e-6)


def test_a_new_number_is_no_new_trace_and_gives_the_eager_values() -> None:
    def f(x: Matrix, lr: float, t: int) -> tuple[Matrix, int, float]:
        return ta.compute(x * lr + x / (1.0 - 0.9 ** t) - t), t + 1, lr * 2

    compiled = ta.jit(f)
    x = Matrix.random_normal(5, 7, seed=0)
    for t, lr in ((1, 0.5), (2, 0.25), (7, -3.0), (30, 1e-8)):
        got, want = compiled(x, lr, t), f(x, lr, t)
        _close(got[0], want[0])
        assert got[1:] == want[1:] and type(got[1]) is int and type(got[2]) is float
    assert compiled.traces == 1


def test_numbers_inside_containers_and_dataclasses_are_runtime_too() -> None:
    @dataclasses.dataclass(frozen=True)
    class Opt:
        lr: float
        betas: tuple[float, float]

    def f(x: Matrix, opt: Opt, extra: dict[str, float]) -> Matrix:
        return ta.compute(x * opt.lr + x * opt.betas[1] - extra["shift"])

    compiled = ta.jit(f)
    x = Matrix.random_normal(3, 4, seed=1)
    for k in range(4):
        args = (x, Opt(0.1 * k, (0.9, 0.99 - k / 10)), {"shift": float(k)})
        _close(compiled(*args), f(*args))
    assert compiled.traces == 1


def test_a_numpy_scalar_keeps_its_dtype_and_a_different_dtype_is_a_new_structure() -> None:
    compiled = ta.jit(lambda x, s: (ta.compute(x * s), s))
    x = Matrix.ones(2, 2, dtype=np.float64)
    out, s = compiled(x, np.float32(0.1))
    assert type(s) is np.float32 and s == np.float32(0.1)
    _close(out, np.full((2, 2), float(np.float32(0.1))))
    compiled(x, np.float32(0.2))
    assert compiled.traces == 1
    compiled(x, 0.2)  # a Python float: float64, another structure
    assert compiled.traces == 2


def test_a_value_the_traced_code_reads_specialises_the_compiled_function() -> None:
    def f(x: Matrix, k: int, scale: float) -> Matrix:
        if k > 2:  # reads k: specialised on it
            return ta.compute(x * scale)
        return ta.compute(x + float(k) * scale)  # float(k) reads it too; scale stays runtime

    compiled = ta.jit(f)
    x = Matrix.random_normal(2, 3, seed=2)
    for k, scale in ((1, 1.0), (1, 2.0), (3, 2.0), (5, 4.0), (1, 3.0), (3, 1.0)):
        _close(compiled(x, k, scale), f(x, k, scale))
    assert compiled.traces == 3  # k = 1, 3 and 5; a new scale is no new trace
    for k, scale in ((1, 7.0), (3, 7.0), (5, 7.0)):
        _close(compiled(x, k, scale), f(x, k, scale))
    assert compiled.traces == 3


def test_sizes_and_exponents_are_structure() -> None:
    def pooled(x: ta.Tensor4[Any, Any, Any, Any], k: int, p: float) -> Any:
        return ta.compute(ta.avg_pool2d(x, k) ** p)

    compiled = ta.jit(pooled)
    x = ta.Tensor4.random_normal(1, 2, 4, 4, seed=3)
    for k, p in ((2, 2.0), (4, 2.0), (2, 0.5), (2, 3.0)):
        got, want = compiled(x, k, p), pooled(x, k, p)
        # the exponent is structure: x ** 2 is a square in both, bit for bit
        np.testing.assert_array_equal(np.isnan(np.asarray(got)), np.isnan(np.asarray(want)))
        _close(got, want)
    assert compiled.traces == 4


def test_static_by_name_position_and_field_metadata() -> None:
    @dataclasses.dataclass(frozen=True)
    class Cfg:
        scale: float = dataclasses.field(metadata={"static": True})
        shift: float = 0.0

    def f(x: Matrix, a: float, cfg: Cfg) -> Matrix:
        return ta.compute(x * a * cfg.scale + cfg.shift)

    x = Matrix.ones(2, 2)
    for static in (("a",), (1,)):
        compiled = ta.jit(f, static=static)
        for a in (1.0, 2.0, 2.0):
            _close(compiled(x, a, Cfg(1.0)), f(x, a, Cfg(1.0)))
        assert compiled.traces == 2
    plain = ta.jit(f)
    for scale, shift in ((1.0, 0.0), (1.0, 5.0), (3.0, 5.0)):
        _close(plain(x, 1.0, Cfg(scale, shift)), f(x, 1.0, Cfg(scale, shift)))
    assert plain.traces == 2  # the static field's new value, not the runtime shift
    decorated = ta.jit(static=("a",))(f)
    decorated(x, 1.0, Cfg(1.0))
    assert decorated.traces == 1
    with pytest.raises(TypeError, match="no argument"):
        ta.jit(f, static=("b",))


def test_bools_are_structure_not_numbers() -> None:
    compiled = ta.jit(lambda x, flag: ta.compute(x * 2.0 if flag else x * 3.0))
    x = Matrix.ones(1, 1)
    assert np.asarray(compiled(x, True))[0, 0] == 2.0
    assert np.asarray(compiled(x, False))[0, 0] == 3.0
    assert compiled.traces == 2


def test_the_reference_engine_computes_scalar_programs(monkeypatch: pytest.MonkeyPatch
                                                       ) -> None:
    monkeypatch.setattr(_compute, "_REGISTRY", (_compute.REFERENCE,))
    compiled = ta.jit(lambda v, a: ta.compute(ta.exp(v * a) / (1.0 + a)))
    v = Vector.random_normal(6, seed=4)
    for a in (0.5, -1.5):
        _close(compiled(v, a), np.exp(np.asarray(v) * a) / (1.0 + a))
    assert compiled.traces == 1


def test_identical_scalar_values_are_one_kernel_input() -> None:
    def f(x: Matrix, y: Matrix, b: float) -> tuple[Matrix, Matrix]:
        return ta.compute(x * (1.0 - b)), ta.compute(y * (1.0 - b))

    compiled = ta.jit(f)
    compiled(Matrix.ones(2, 2), Matrix.ones(3, 3), 0.25)
    (entry,) = compiled._compiled.values()
    assert entry.nscalars == 1


OPTIMISERS: dict[str, Callable[[], nn.Optimizer]] = {
    "sgd": lambda: nn.SGD(lr=0.05),
    "momentum": lambda: nn.SGD(lr=0.05, momentum=0.9),
    "adam": lambda: nn.Adam(lr=1e-2),
    "rmsprop": lambda: nn.RMSprop(lr=1e-2),
}


@pytest.mark.parametrize("name", sorted(OPTIMISERS))
def test_every_optimiser_with_a_schedule_traces_once_and_equals_eager(name: str) -> None:
    rng = np.random.default_rng(5)
    x = Matrix.from_numpy(rng.random((16, 6), dtype=np.float32))
    t = nn.one_hot(rng.integers(0, 3, 16), 3)
    start = nn.mlp(6, 3, [5], [nn.Relu, nn.Identity], num_bn_layers=1, seed=0)
    step = nn.compile_step()
    net_c, opt_c = list(start), OPTIMISERS[name]()
    net_e, opt_e = list(start), OPTIMISERS[name]()
    for k in range(12):
        lr = 0.05 * 0.9 ** k
        net_c, opt_c, _ = step(net_c, dataclasses.replace(opt_c, lr=lr), x, t)
        _, grads = nn.pass_(nn.Phase.TRAIN, net_e, x, t)
        net_e, opt_e = dataclasses.replace(opt_e, lr=lr).update(net_e, grads)
    assert step.traces == 1
    assert type(opt_c) is type(opt_e)
    if isinstance(opt_c, nn.Adam) and isinstance(opt_e, nn.Adam):
        assert opt_c.t == opt_e.t == 12 and type(opt_c.t) is int
    for a, b in zip(net_c, net_e, strict=True):
        for f in dataclasses.fields(a):
            va, vb = getattr(a, f.name), getattr(b, f.name)
            if isinstance(va, ta.Matrix | ta.Vector):
                _close(va, vb, rtol=1e-4)
            else:
                assert va == vb


def test_a_new_batch_size_retraces_and_reuses_the_compiled_kernels() -> None:
    rng = np.random.default_rng(6)
    net = nn.mlp(6, 3, [5], [nn.Relu, nn.Identity], seed=0)
    step, opt = nn.compile_step(), nn.Adam(lr=1e-2)
    for rows in (20, 20, 7):  # a ragged last batch
        x = Matrix.from_numpy(rng.random((rows, 6), dtype=np.float32))
        before = _fused.stats()
        net, opt, _ = step(net, opt, x, nn.one_hot(rng.integers(0, 3, rows), 3))
        after = _fused.stats()
    assert step.traces == 2
    assert after.structures == before.structures  # the same kernels, other sizes
    assert after.compiled == before.compiled


def test_the_docs_example_of_runtime_numbers_runs() -> None:
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "guide" / "jit.md").read_text()
    (block,) = [b for b in re.findall(r"```python\n(.*?)```", text, re.S)
                if "scaled.traces == 1" in b]
    exec(compile(block, "jit.md", "exec"), {"ta": ta, "Matrix": Matrix})
