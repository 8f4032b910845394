"""What a layer kind declares about its fields, and the walks derived from that declaration.

A layer kind is a frozen dataclass whose fields say, once, what each of them is:

```
w: Matrix[In, Out] = field(metadata=parameter("weight", transposed=True))  # learnt
mu: Vector[F] = field(metadata=running("running_mean"))  # a running statistic
eps: float = 1e-5                                        # a setting (no metadata)
stride: int = field(default=1, metadata=added())         # a setting older files lack
f: FActivation = field(metadata=choice("activation"))    # a setting from an Enum
```

Its annotation says how the field is stored (a Matrix, Vector or Tensor4 array; a number; an
Enum's value as text); the metadata says its role. A `parameter` `x` has the gradient field
`dx` in the layer's `Gradients` record (named by the layer's `gradients` class variable) and
is stepped by the optimiser; a `running` statistic `x` is moved towards the record's `batch_x`
by `running = momentum * running + (1 - momentum) * batch`, with the layer's `momentum`
setting. Both carry their name in PyTorch's `state_dict` (`weight`, `bias`, `running_mean`,
`running_var`) and whether PyTorch stores the array transposed (a `Linear`'s `w` is
`(in, out)` here and `(out, in)` there). Settings are numbers or choices kept in checkpoints.

`specs(kind)` reads the declaration once per kind; the optimisers' update, the checkpoint's
layout, the layers' own argument checks and the gradient records' handling are walks over it,
so none of them lists the layer kinds.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from dataclasses import dataclass, fields
from enum import Enum
from typing import Any

from typedarr import Matrix, Tensor4, Vector

from ._errors import NetworkError

_ROLE, _TORCH, _TRANSPOSED, _WHAT = "nn.role", "nn.torch", "nn.transposed", "nn.what"
_ADDED = "nn.added"
_RANKS: dict[type, int] = {Vector: 1, Matrix: 2, Tensor4: 4}
_SPECS: dict[type, tuple[Spec, ...]] = {}  # read once per kind
MOMENTUM: str = "momentum"  # the setting that moves a layer's running statistics


class Role(Enum):
    """What a field of a layer is to training."""

    PARAMETER = "parameter"  # learnt: the optimiser steps it with its gradient `d<name>`
    RUNNING = "running"  # a running statistic, moved towards the batch's `batch_<name>`
    SETTING = "setting"  # a number or a choice, fixed when the layer is made


def parameter(torch: str, *, transposed: bool = False) -> Mapping[str, Any]:
    """The metadata of a learnable array, named `torch` in PyTorch's `state_dict`."""
    return {_ROLE: Role.PARAMETER, _TORCH: torch, _TRANSPOSED: transposed}


def running(torch: str) -> Mapping[str, Any]:
    """The metadata of a running statistic, named `torch` in PyTorch's `state_dict` (the
    layer needs a `momentum` setting)."""
    return {_ROLE: Role.RUNNING, _TORCH: torch, _TRANSPOSED: False}


def choice(what: str) -> Mapping[str, Any]:
    """The metadata of a setting whose type is an Enum; `what` names it in errors
    (`unknown activation`)."""
    return {_WHAT: what}


def added() -> Mapping[str, Any]:
    """The metadata of a setting added to a layer kind after files of it were written: a
    checkpoint without it loads with the field's default."""
    return {_ADDED: True}


@dataclass(frozen=True, slots=True)
class Spec:
    """One declared field of a layer kind.

    `rank` is the array's rank (1, 2 or 4), or 0 for a setting; `choices` is the Enum of a
    choice, None otherwise; `integral` says a number setting is an int; `optional` that a
    checkpoint may lack it (`added`).
    """

    name: str
    role: Role
    rank: int
    array: type | None  # Vector, Matrix or Tensor4 for an array field
    choices: type[Enum] | None
    integral: bool
    what: str
    torch: str | None
    transposed: bool
    optional: bool = False

    @property
    def gradient(self) -> str:
        """The field of the layer's Gradients record that belongs to this field."""
        return ("d" if self.role is Role.PARAMETER else "batch_") + self.name


def specs(kind: type) -> tuple[Spec, ...]:
    """The declared fields of the layer class `kind`, in declaration order."""
    if kind not in _SPECS:
        _SPECS[kind] = _read(kind)
    return _SPECS[kind]


def _read(kind: type) -> tuple[Spec, ...]:
    hints = typing.get_type_hints(kind)
    out = []
    for f in fields(kind):
        hint = hints[f.name]
        origin = typing.get_origin(hint) or hint
        role = f.metadata.get(_ROLE, Role.SETTING)
        rank = _RANKS.get(origin, 0)
        if (role is Role.SETTING) == (rank != 0):
            raise TypeError(f"{kind.__name__}.{f.name}: arrays are parameters or running "
                            f"statistics, settings are numbers or choices")
        choices = origin if isinstance(origin, type) and issubclass(origin, Enum) else None
        out.append(Spec(f.name, role, rank, origin if rank else None, choices,
                        origin is int, f.metadata.get(_WHAT, f.name),
                        f.metadata.get(_TORCH), f.metadata.get(_TRANSPOSED, False),
                        f.metadata.get(_ADDED, False)))
    if any(s.role is Role.RUNNING for s in out) and MOMENTUM not in {s.name for s in out}:
        raise TypeError(f"{kind.__name__}: a layer with running statistics needs a momentum")
    return tuple(out)


def arrays(layer: object, role: Role | None = None) -> dict[str, Any]:
    """The layer's array fields (of `role`, or all), by name."""
    return {s.name: getattr(layer, s.name) for s in specs(type(layer))
            if s.rank and (role is None or s.role is role)}


def momentum(layer: object) -> float:
    """The setting that moves the layer's running statistics."""
    value: float = getattr(layer, MOMENTUM)
    return value


def check_arrays(layer: object) -> None:
    """Raise TypeError unless each array field is a manifest array of its declared kind."""
    for s in specs(type(layer)):
        value = getattr(layer, s.name)
        if s.array is not None and not isinstance(value, s.array):
            kind = s.array.__name__
            raise TypeError(f"{type(layer).__name__}.{s.name} must be a manifest typedarr "
                            f"{kind}, got {type(value).__name__} (compute a delayed array "
                            f"first; convert numpy with {kind}.from_numpy)")


def check_dtype(layer: object) -> None:
    """Raise NetworkError unless the layer's arrays share one dtype."""
    dtypes = {a.dtype for a in arrays(layer).values()}
    if len(dtypes) > 1:
        raise NetworkError(f"{type(layer).__name__}: parameters mix dtypes "
                           f"{sorted(map(str, dtypes))}; convert with .astype")
