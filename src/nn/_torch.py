"""PyTorch in and out: an nn network from a PyTorch `state_dict`, and a network as one.

PyTorch stores a model's arrays by name, `{module}.{array}`: in a `torch.nn.Sequential` the
module is its index (`0.weight`, `0.bias`, `1.running_mean`), in a model of its own the
attribute's name (`fc1.weight`). nn's layer `i` is PyTorch's module `i` of a `Sequential` that
mirrors the nn list one to one (`nn.Linear` <-> `torch.nn.Linear`, `nn.LinearNoBias` <->
`torch.nn.Linear(bias=False)`, `nn.Batchnorm1d`/`2d` <-> `BatchNorm1d`/`2d`, `nn.Conv2d` <->
`Conv2d`, `nn.Activation(nn.Relu)` <-> `ReLU`, `nn.AvgPool2d(k)` <-> `AvgPool2d(k)`,
`nn.Dropout` <-> `Dropout`, `nn.Flatten` <-> `Flatten`); `names=` gives other module names.

Which array is which comes from each layer kind's declaration (`nn._fields`): every array
field carries its PyTorch name (`weight`, `bias`, `running_mean`, `running_var`) and whether
PyTorch stores it transposed (a Linear's `w` is `(in, out)` here, `weight` `(out, in)` there).
No layer kind is listed here, so a new kind's declaration is its mapping. PyTorch's
`num_batches_tracked` counter of a layer with running statistics is accepted and ignored (nn
keeps no count; PyTorch fills it in when it is absent), and not written.

What a state_dict does not hold comes from the template: the layer kinds, activations,
kernel strides and paddings, pooling windows, `eps` and `momentum` (note: nn's `momentum` is
PyTorch's `1 - momentum`, 0.9 for PyTorch's 0.1). Every array must have the template's dtype:
converting is the caller's explicit step (`.float()` in PyTorch, or a float64 template).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from typedarr import Matrix, Tensor4, Vector, atomic_writer

from . import _safetensors
from ._checkpoint import StrPath, _open
from ._errors import CheckpointError, NetworkError
from ._fields import Role, Spec, specs
from ._layers import Layer, Network, describe, is_layer

Array = np.ndarray[Any, Any]
COUNTER = "num_batches_tracked"
"""PyTorch's count of the batches a batchnorm layer has seen: read past, never written."""
_FROM_NUMPY: Mapping[int, Callable[..., Any]] = {
    1: Vector.from_numpy, 2: Matrix.from_numpy, 4: Tensor4.from_numpy}


def from_state_dict(template: Sequence[Layer], state_dict: Mapping[str, Any] | StrPath, *,
                    names: Sequence[str] | None = None) -> Network:
    """`template` with its arrays replaced by those of a PyTorch `state_dict`.

    `state_dict` is a mapping of names to arrays (numpy arrays, or anything `np.asarray`
    reads, such as a CPU torch tensor: `model.state_dict()` itself), or the path of a
    safetensors file PyTorch wrote (`safetensors.torch.save_file(model.state_dict(), path)`).
    Layer `i`'s arrays are read from `{names[i]}.{weight|bias|...}`; `names` defaults to
    `"0", "1", ...`, the module names of a `torch.nn.Sequential` mirroring the template.

    Raises CheckpointError naming the first mismatch in layer order: a missing name, a
    name the template's layer does not take (or under a layer that takes no arrays), an
    array of another shape (PyTorch's, so transposed for a Linear's weight) or dtype, or
    a name no layer takes; NetworkError for a template entry that is not a layer.

    >>> import nn
    >>> state = {"0.weight": np.ones((2, 3), np.float32), "0.bias": np.zeros(2, np.float32)}
    >>> net = nn.from_state_dict([nn.Linear(Matrix.zeros(3, 2), Vector.zeros(2))], state)
    >>> net[0].w.shape
    (3, 2)
    """
    net, modules = _template(template, names)
    if isinstance(state_dict, Mapping):
        return _fill(net, modules, list(state_dict), lambda key: np.asarray(state_dict[key]))
    with _open(state_dict) as (f, size):
        try:
            header = _safetensors.read_header(f, size)
            return _fill(net, modules, list(header.tensors),
                         lambda key: _safetensors.read_tensor(f, header.tensors[key]))
        except CheckpointError as e:
            raise CheckpointError(f"{os.fspath(state_dict)}: {e}") from e
        except OSError as e:
            raise CheckpointError(f"cannot read {os.fspath(state_dict)}: {e}") from e


def to_state_dict(net: Sequence[Layer], *, names: Sequence[str] | None = None
                  ) -> dict[str, Array]:
    """`net`'s arrays by their PyTorch names, in PyTorch's layouts (copies).

    `torch.nn.Sequential(...).load_state_dict({k: torch.from_numpy(v) for k, v in
    nn.to_state_dict(net).items()})` loads them into the mirroring PyTorch model.

    >>> import nn
    >>> state = nn.to_state_dict([nn.Linear(Matrix.zeros(3, 2), Vector.zeros(2))])
    >>> {k: v.shape for k, v in state.items()}
    {'0.weight': (2, 3), '0.bias': (2,)}
    """
    net, modules = _template(net, names)
    out: dict[str, Array] = {}
    for layer, module in zip(net, modules, strict=True):
        for s in _arrays(layer):
            a = np.asarray(getattr(layer, s.name))
            out[f"{module}.{s.torch}"] = np.ascontiguousarray(a.T if s.transposed else a.copy())
    return out


def save_torch(net: Sequence[Layer], path: StrPath, *, names: Sequence[str] | None = None
               ) -> None:
    """Write `to_state_dict(net)` to `path` as safetensors, atomically, for PyTorch:
    `model.load_state_dict(safetensors.torch.load_file(path))`.

    Raises CheckpointError if the file cannot be written (a previous file is left as it was).

    >>> import pathlib, tempfile
    >>> import nn
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "model.safetensors"
    >>> nn.save_torch([nn.Linear(Matrix.ones(3, 2), Vector.zeros(2))], path)
    >>> back = nn.from_state_dict([nn.Linear(Matrix.zeros(3, 2), Vector.zeros(2))], path)
    >>> float(back[0].w.to_numpy().sum())  # read back as PyTorch would write it
    6.0
    """
    tensors = to_state_dict(net, names=names)
    try:
        with atomic_writer(path) as f:
            _safetensors.write(f, tensors, {"format": "pt"})  # what Hugging Face files say
    except OSError as e:
        raise CheckpointError(f"cannot write {os.fspath(path)}: {e}") from e


def _template(template: Sequence[Layer], names: Sequence[str] | None
              ) -> tuple[list[Layer], list[str]]:
    """The template's layers and each one's module name, checked."""
    net = list(template)
    for i, layer in enumerate(net):
        if not is_layer(layer):
            raise NetworkError(f"layer {i} is not a layer: {layer!r:.80}")
    modules = [str(i) for i in range(len(net))] if names is None else list(names)
    if len(modules) != len(net) or not all(isinstance(m, str) and m for m in modules):
        raise NetworkError(f"names must be one non-empty module name per layer ({len(net)}), "
                           f"got {names!r:.200}")
    if len(set(modules)) != len(modules):
        raise NetworkError(f"names must be distinct, got {modules!r:.200}")
    return net, modules


def _arrays(layer: Layer) -> Iterator[Spec]:
    return (s for s in specs(type(layer)) if s.rank)


def _fill(net: list[Layer], modules: list[str], keys: list[str],
          read: Callable[[str], Array]) -> Network:
    """Each layer with the arrays its module's names hold, after checking each name."""
    present, out = set(keys), []
    prefixes = tuple(m + "." for m in modules)
    stray = [k for k in keys if not k.startswith(prefixes)]
    hint = (f"; it has {stray[0]!r}: pass names= for modules not named 0, 1, ..." if stray
            else "")
    for i, (layer, module) in enumerate(zip(net, modules, strict=True)):
        takes: dict[str, Spec | None] = {f"{module}.{s.torch}": s for s in _arrays(layer)}
        if any(s is not None and s.role is Role.RUNNING for s in takes.values()):
            takes[f"{module}.{COUNTER}"] = None  # read past
        if extra := [k for k in keys if k.startswith(module + ".") and k not in takes]:
            wanted = ", ".join(k for k, s in takes.items() if s is not None) or "nothing"
            raise CheckpointError(f"{describe(i, layer)} takes {wanted}, but the state_dict "
                                  f"has {extra[0]!r} (does the template mirror the PyTorch "
                                  f"model module by module?)")
        values = {}
        for key, s in takes.items():
            if s is not None:
                if key not in present:
                    raise CheckpointError(f"{describe(i, layer)}: the state_dict has no "
                                          f"{key!r} (its {s.name}){hint}")
                values[s.name] = _array(i, layer, s, key, read(key))
        out.append(replace(layer, **values) if values else layer)
    if stray:
        raise CheckpointError(f"the state_dict has {stray[0]!r}, which no layer takes: its "
                              f"module is none of the template's {modules!r:.200} (pass "
                              f"names= for modules not named 0, 1, ...)")
    return out


def _array(i: int, layer: Layer, s: Spec, key: str, a: Array) -> Any:
    """The array of field `s` from PyTorch's `a`, once its shape and dtype are the template's."""
    ours = np.asarray(getattr(layer, s.name))
    want = ours.shape[::-1] if s.transposed else ours.shape
    if a.shape != want:
        how = f" (PyTorch's layout: nn's {s.name} {ours.shape} transposed)" if s.transposed else ""
        raise CheckpointError(f"{describe(i, layer)}: {key!r} has shape {a.shape}, expected "
                              f"{want}{how}")
    if a.dtype != ours.dtype:
        raise CheckpointError(f"{describe(i, layer)}: {key!r} is {a.dtype}, the template is "
                              f"{ours.dtype} (convert the tensors, e.g. .float(), or build the "
                              f"template in {a.dtype})")
    return _FROM_NUMPY[s.rank](a.T if s.transposed else a, nonfinite="allow")
