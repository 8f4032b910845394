"""Child processes that Ctrl-C reaches, however the test run itself was started.

A process keeps ignored and blocked signals across `exec`: a suite started in the background
by a non-interactive shell (`pytest ... &`, `nohup`, some CI runners) has SIGINT ignored, and
so has every child it starts; that child's Python then installs no KeyboardInterrupt handler
and a SIGINT sent to it does nothing (seen as `test_ctrl_c_stops_cleanly_after_saving_a_
checkpoint` timing out in some full-suite runs). `python(...)` starts the child as an
interactive shell would: SIGINT at its default action and unblocked, then the interpreter
`exec`ed in the same process (same pid), which installs its own handler as usual.
"""

from __future__ import annotations

import sys

_BOOT = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
         "signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT]); "
         "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])")


def python(*args: str) -> list[str]:
    """The command line of `python *args` in a process where SIGINT raises KeyboardInterrupt."""
    return [sys.executable, "-c", _BOOT, *args]
