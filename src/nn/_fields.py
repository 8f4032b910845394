"""What a layer kind declares about its fields, and the walks derived from that declaration.

A layer kind is a frozen dataclass whose fields say, once, what each of them is:

```
w: Matrix[In, Out] = field(metadata=parameter("weight", transposed=True))  # learnt
var: Vector[F] = field(metadata=running("running_var", NON_NEGATIVE))  # a running statistic
eps: float = field(default=1e-5, metadata=setting(POSITIVE))  # a number setting
stride: int = field(default=1, metadata=added())         # a setting older files lack
f: FActivation = field(metadata=choice("activation"))    # a setting from an Enum
```

Its annotation says how the field is stored (a Matrix, Vector or Tensor4 array; a number; an
Enum's value as text); the metadata says its role and the values it may hold: every element
of an array field in its range (finite for parameters, by default for running statistics
too), a number setting in its range. `check_declared` checks all of it where a layer is made,
by its constructor, by an optimiser's update and by `nn.load` alike.

A `parameter` `x` has the gradient field `dx` in the layer's `Gradients` record (named by
the layer's `gradients` class variable) and is stepped by the optimiser; a `running`
statistic `x` is moved towards the record's `batch_x` by
`running = momentum * running + (1 - momentum) * batch`, with the layer's `momentum`
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

import numpy as np

from typedarr import FINITE, Matrix, Range, Tensor4, Vector, real, tracing

from ._errors import NetworkError

_ROLE, _TORCH, _TRANSPOSED, _WHAT = "nn.role", "nn.torch", "nn.transposed", "nn.what"
_WITHIN, _ADDED = "nn.within", "nn.added"
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
    return {_ROLE: Role.PARAMETER, _TORCH: torch, _TRANSPOSED: transposed, _WITHIN: FINITE}


def running(torch: str, within: Range = FINITE) -> Mapping[str, Any]:
    """The metadata of a running statistic, named `torch` in PyTorch's `state_dict`, each of
    whose elements lies `within` (the layer needs a `momentum` setting)."""
    return {_ROLE: Role.RUNNING, _TORCH: torch, _TRANSPOSED: False, _WITHIN: within}


def setting(within: Range) -> Mapping[str, Any]:
    """The metadata of a number setting that must lie `within` (kept as a Python float)."""
    return {_WITHIN: within}


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
    choice, None otherwise; `integral` says a number setting is an int; `within` is where an
    array's elements or a number setting must lie (None: the kind checks it itself);
    `optional` that a checkpoint may lack it (`added`).
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
    within: Range | None
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
                        f.metadata.get(_WITHIN), f.metadata.get(_ADDED, False)))
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


def check_declared(layer: object) -> None:
    """Check every declared field of `layer` where it is made: arrays of their kind and one
    dtype, not empty, every element within the field's range; number settings within theirs
    (stored as Python floats; a traced number stays traced). A traced layer (inside
    `typedarr.jit`) has no values yet: its arrays are checked for kind only.

    Raises TypeError for a field of the wrong type, NetworkError naming the field, the value
    and its place for one out of range.
    """
    check_arrays(layer)
    check_dtype(layer)
    owner = type(layer).__name__
    for s in specs(type(layer)):
        if s.within is None:
            continue
        value = getattr(layer, s.name)
        if not s.rank:
            # runtime=True: a traced number (a jit argument) stays one, as check_fields keeps it
            object.__setattr__(layer, s.name, real(f"{owner}: {s.name}", value, s.within,
                                                   NetworkError, runtime=True))
        elif not tracing():
            _check_values(f"{owner}: {s.name}", np.asarray(value), s.within)


def _check_values(what: str, values: np.ndarray[Any, Any], within: Range) -> None:
    if values.size == 0:
        raise NetworkError(f"{what} {values.shape} has an empty dimension")
    with np.errstate(over="ignore", invalid="ignore"):
        if within is FINITE:  # one summing pass: NaN and infinity make the sum non-finite
            if np.isfinite(np.add.reduce(values, axis=None)):
                return
        elif float(values.min()) in within and float(values.max()) in within:
            return  # a range is an interval: its ends bound every element
        inside = np.isfinite(values) & (values >= within.low if within.low_closed
                                        else values > within.low)
        inside &= values <= within.high if within.high_closed else values < within.high
    if inside.all():
        return  # the sum overflowed, the values are fine
    at = tuple(int(k) for k in np.argwhere(~inside)[0])
    where = (f"row {at[0]}, column {at[1]}" if len(at) == 2 else
             f"index {at[0]}" if len(at) == 1 else f"index {at}")
    hint = ("" if np.isfinite(values[at]) else
            " (a diverged training? try a lower learning rate)")
    raise NetworkError(f"{what} holds {values[at]} at {where}, but must be {within.words}{hint}")
