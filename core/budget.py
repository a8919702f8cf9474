"""A wall-clock budget for one piece of per-document work (extracting a page, one step on a batch).

    with time_limit(seconds):       # raises DocumentTimeout in this thread when the budget runs out
        text = extract(html)

SIGALRM-based: the handler raises in the main thread at the next bytecode boundary, and Python's own regex
engine checks for signals while it backtracks, so a catastrophic pattern is stopped too. Code inside a C
extension that never returns to Python (an HTML parser on a pathological page) is stopped only when it
returns; those cases are bounded where they are known (pipeline/read/extract.py caps HTML depth). Outside the main
thread, or where SIGALRM does not exist, the budget is not enforced (the work simply runs).
The handler is installed once per process and raises only while a budget is armed; arming costs two
`setitimer` calls (~2 µs). Work that belongs to no document -- loading a model on first use in a worker,
seconds when several workers load at once -- runs inside `paused()`, so it never counts against the document
that happened to need the model first (core/models.py).
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator


class DocumentTimeout(Exception):
    """The budget of `time_limit` ran out."""


_armed = False
_installed = False


def _on_alarm(signum, frame) -> None:
    if _armed:
        raise DocumentTimeout()


def _can_arm() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    global _armed, _installed
    if not seconds or _armed or not _can_arm():  # nested budgets: the outer one stays in force
        yield
        return
    if not _installed or signal.getsignal(signal.SIGALRM) is not _on_alarm:
        signal.signal(signal.SIGALRM, _on_alarm)
        _installed = True
    _armed = True
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        _armed = False  # first: an alarm that fires now no longer raises
        signal.setitimer(signal.ITIMER_REAL, 0)


@contextmanager
def paused() -> Iterator[None]:
    """Stop the running budget's clock for the block, then give it back what was left of it."""
    global _armed
    if not _armed or not _can_arm():
        yield
        return
    left, _ = signal.setitimer(signal.ITIMER_REAL, 0)
    _armed = False
    try:
        yield
    finally:
        _armed = True
        signal.setitimer(signal.ITIMER_REAL, max(left, 1e-3))
