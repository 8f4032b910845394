"""Every way to obtain a typed array keeps it immutable: constructors, copies, pickle (refused),
views, `to_numpy` (a copy), computed, compiled and Dask results, for each kind.

numpy lets `flags.writeable = True` be set again on an array that owns its memory; typed
arrays hold views of a read-only buffer instead, so the flag cannot come back on, on the
values `np.asarray` gives or on any view of them.
"""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable
from typing import Any

import dask.array as da
import numpy as np
import pytest

import nn
import typedarr as ta
from typedarr import Matrix, Tensor4, Vector, _buffers

Array = np.ndarray[Any, np.dtype[Any]]


def _values(shape: tuple[int, ...]) -> Array:
    return np.random.default_rng(len(shape)).standard_normal(shape).astype(np.float32)


KINDS: dict[str, Callable[[], Any]] = {
    "Matrix": lambda: Matrix.from_numpy(_values((4, 3))),
    "Vector": lambda: Vector.from_numpy(_values((5,))),
    "Tensor4": lambda: Tensor4.from_numpy(_values((2, 3, 4, 4))),
}
ROUTES: dict[str, Callable[[Any], Any]] = {
    "itself": lambda x: x,
    "copy.copy": copy.copy,
    "copy.deepcopy": copy.deepcopy,
    "deepcopy in a layer": lambda x: copy.deepcopy({"p": [x]})["p"][0],
    "computed": lambda x: ta.compute(x * 2.0),
    "computed with another": lambda x: ta.compute(x + 1.0, x * 3.0)[1],
    "delayed": lambda x: x * 2.0,
    "astype": lambda x: ta.compute(x.astype(np.float64)),
    "compiled": lambda x: ta.jit(lambda y: ta.compute(ta.relu(y)))(x),
    "compiled input returned": lambda x: ta.jit(lambda y: (y, ta.compute(y * 1.0)))(x)[0],
    "selected": lambda x: x[1:3] if not isinstance(x, Vector) else x[np.array([0, 2])],
    "a row": lambda x: x[1] if isinstance(x, Matrix) else x[0:1],
    "Dask": lambda x: _on_dask(x),
}


def _on_dask(x: Any) -> Any:
    kind = type(x)
    if kind is Tensor4:
        return ta.compute(ta.flatten(x) * 1.0)  # no chunked Tensor4: its Matrix instead
    blocks = da.from_array(np.asarray(x), chunks=2)
    return ta.compute(kind.from_dask(blocks) * 2.0)


def _refuses_writes(values: Array) -> None:
    assert not values.flags.writeable
    with pytest.raises(ValueError, match="WRITEABLE"):
        values.flags.writeable = True
    with pytest.raises(ValueError, match="read-only"):
        values[(0,) * values.ndim] = 7.0


def _views(values: Array) -> list[Array]:
    return [values, values.T, values[1:], values.reshape(-1), values.view(),
            np.asarray(values), values[..., ::-1]]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("kind", KINDS)
def test_every_route_to_a_typed_array_keeps_it_read_only(kind: str, route: str) -> None:
    x = KINDS[kind]()
    before = np.array(np.asarray(x))
    got = ROUTES[route](x)
    for values in _views(np.asarray(got)):
        _refuses_writes(values)
    np.testing.assert_array_equal(np.asarray(x), before)


@pytest.mark.parametrize("kind", KINDS)
def test_copies_are_the_array_itself_and_pickle_is_refused(kind: str) -> None:
    x = KINDS[kind]()
    assert copy.copy(x) is x and copy.deepcopy(x) is x
    for value in (x, x * 2.0):
        with pytest.raises(TypeError, match=r"not pickled.*from_numpy"):
            pickle.dumps(value)


def test_a_layer_copies_with_its_arrays_read_only_and_does_not_pickle() -> None:
    layer = nn.Linear(Matrix.ones(3, 2), Vector.zeros(2))
    for copied in (copy.copy(layer), copy.deepcopy(layer)):
        _refuses_writes(np.asarray(copied.w))
    with pytest.raises(TypeError, match=r"nn\.save"):
        pickle.dumps([layer])


@pytest.mark.parametrize("kind", KINDS)
def test_to_numpy_is_a_copy_that_writes_never_reach(kind: str) -> None:
    x = KINDS[kind]()
    before = np.array(np.asarray(x))
    out = x.to_numpy()
    out[...] = 99.0
    np.testing.assert_array_equal(np.asarray(x), before)
    copied = np.array(x, copy=True)
    copied[...] = 98.0
    np.testing.assert_array_equal(np.asarray(x), before)


@pytest.mark.parametrize("make", [
    lambda: Matrix.zeros(2, 3), lambda: Matrix.ones(2, 3), lambda: Matrix.replicate(2, 3, 1.5),
    lambda: Matrix.random_normal(2, 3, seed=0), lambda: Matrix.random_uniform(2, 3, seed=0),
    lambda: Matrix.from_list([[1, 2]]), lambda: Vector.from_list([1, 2]),
    lambda: Tensor4.from_list([[[[1.0]]]]), lambda: Matrix.ones(2, 3).T,
    lambda: ta.concat_rows([Matrix.ones(1, 2), Matrix.zeros(1, 2)]),
    lambda: ta.unflatten(Matrix.ones(2, 4), 1, 2, 2), lambda: Matrix.ones(2, 3) @ Matrix.ones(3, 2),
    lambda: ta.compute(ta.sum_rows(Matrix.ones(2, 3))),
    lambda: Matrix.zeros(0, 3), lambda: ta.compute(Vector.zeros(0) + 1.0),
])
def test_every_constructor_gives_read_only_values(make: Callable[[], Any]) -> None:
    values = np.asarray(make())
    assert not values.flags.writeable
    with pytest.raises(ValueError, match="WRITEABLE"):
        values.flags.writeable = True


def test_from_numpy_copies_so_the_source_can_change() -> None:
    a = _values((3, 2))
    m = Matrix.from_numpy(a)
    a[...] = 0.0
    assert np.asarray(m).any()


def test_a_large_result_from_the_buffer_pool_is_read_only_and_its_memory_recycled() -> None:
    x = Matrix.ones(1024, 512)  # 2 MiB: carved from a pool block
    first = ta.compute(x * 2.0)
    _refuses_writes(np.asarray(first))
    kept = _buffers.kept()
    del first
    second = ta.compute(x * 3.0)
    assert _buffers.kept() == kept  # the freed block came back: nothing new kept
    assert float(np.asarray(second)[0, 0]) == 3.0


@pytest.mark.parametrize("kind", ["Matrix", "Vector"])
def test_values_handed_to_dask_never_write_back(kind: str) -> None:
    x = KINDS[kind]()
    before = np.array(np.asarray(x))
    out = np.asarray(x.to_dask().compute())
    if out.flags.writeable:  # Dask's own copy: writing it must not reach x
        out[...] = 5.0
    else:
        _refuses_writes(out)
    np.testing.assert_array_equal(np.asarray(x), before)
