"""Computation strategies, as in massiv: `Seq` runs on one core, `Par` on all of them.

The strategy is a field of every array; an operation on two arrays runs `Par` when either
operand is `Par` (massiv's `Comp` combines the same way). Tiny arrays run sequentially
whatever the strategy, since starting threads costs more than it gives there.
"""

from enum import Enum


class Strategy(Enum):
    """How `compute` may spend cores on an array."""

    SEQ = "Seq"
    PAR = "Par"

    def __repr__(self) -> str:
        return self.value


Seq = Strategy.SEQ
"""massiv's `Seq`: `compute` runs the kernel on the calling thread."""
Par = Strategy.PAR
"""massiv's `Par`: `compute` may run a large kernel on every core (the default)."""

_default = Par  # one store sets it: no lock needed


def default_strategy() -> Strategy:
    """The strategy given to arrays created without one (initially `Par`).

    >>> default_strategy()
    Par
    """
    return _default


def set_default_strategy(strategy: Strategy) -> None:
    """Set the strategy given to arrays created from now on.

    >>> import typedarr as ta
    >>> ta.set_default_strategy(ta.Seq); ta.Vector.zeros(2).strategy
    Seq
    >>> ta.set_default_strategy(ta.Par)
    """
    global _default
    _default = check_strategy(strategy)


def check_strategy(strategy: object) -> Strategy:
    """`strategy` itself, if it is `Seq` or `Par` (a string such as "Par" is refused)."""
    if not isinstance(strategy, Strategy):
        raise TypeError(f"a strategy is typedarr.Seq or typedarr.Par, got {strategy!r}")
    return strategy


def strategy_or_default(strategy: Strategy | None) -> Strategy:
    """`strategy`, checked, or the default strategy when it is None."""
    return default_strategy() if strategy is None else check_strategy(strategy)


def combine(a: Strategy, b: Strategy) -> Strategy:
    """The strategy of an array computed from operands with strategies `a` and `b`."""
    return Par if Par in (a, b) else Seq
