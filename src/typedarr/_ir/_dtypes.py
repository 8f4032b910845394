"""The dtypes typedarr holds: one record per dtype, the one table of the float32/float64 rule.

A `Float` names its numpy dtype and how generated kernel source spells it (its scalar type,
and the suffix of the kernel's typed constants `one_f`, `zero_d`). Records are compared by
identity (there are exactly two) and pickle as a look-up of their dtype, so a Dask task's
recipe carries the same two records to a worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True, slots=True, eq=False)
class Float:
    """One dtype typedarr holds: `dtype`, and in kernel source its `scalar` type and the
    `suffix` of its typed constants."""

    dtype: np.dtype[Any]
    scalar: str
    suffix: str

    def __reduce__(self) -> tuple[Any, ...]:
        return float_of, (self.dtype,)


FLOAT32 = Float(np.dtype(np.float32), "np.float32", "f")
FLOAT64 = Float(np.dtype(np.float64), "np.float64", "d")
FLOATS: tuple[Float, ...] = (FLOAT32, FLOAT64)
FLOAT_DTYPES: tuple[np.dtype[Any], ...] = tuple(f.dtype for f in FLOATS)
"""The dtypes typedarr holds (`check_dtype` applies the rule with them)."""

_BY_DTYPE: dict[np.dtype[Any], Float] = {f.dtype: f for f in FLOATS}


def float_of(dtype: np.dtype[Any]) -> Float | None:
    """The record of `dtype`, or None for a dtype typedarr does not hold."""
    return _BY_DTYPE.get(dtype)
