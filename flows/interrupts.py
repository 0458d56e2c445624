"""Ctrl-C and SIGTERM end a refresh within seconds, with one line and nothing published.

The command line turns both signals into `Interrupted` in the main thread, wherever the refresh
is: the run record is closed as interrupted and the published warehouse is never touched (it only
changes by one atomic rename at the very end). Work running in other threads (downloads, dbt)
cannot be interrupted by a signal, so it looks at `STOP` between chunks, or is cancelled by whoever
waits for it. A second signal ends the process at once.

Inside a flow run Prefect turns SIGTERM into its own TerminationSignal (how a deployment's run is
cancelled); `signal_name` treats both the same.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

STOP = threading.Event()  # set on any interruption: threads still working give up
_SIGNALLED = threading.Event()  # a signal reached the CLI's handler (a second one ends the process)
_LAST: list[int] = []  # the signal that set STOP
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """The refresh was asked to stop by a signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


Handlers = dict[int, Any]


def install() -> Handlers:
    """Turn SIGINT and SIGTERM into Interrupted in the main thread (the CLI calls this first);
    returns the handlers it replaced, for `restore`."""
    STOP.clear()
    _SIGNALLED.clear()
    _LAST.clear()
    if threading.current_thread() is not threading.main_thread():
        return {}  # signals reach the main thread only; a refresh run elsewhere keeps the defaults

    def handler(signum: int, frame: FrameType | None) -> None:
        if _SIGNALLED.is_set():  # asked twice: no more waiting
            os._exit(128 + signum)
        _SIGNALLED.set()
        note(signum)
        raise Interrupted(signum)

    return {int(signum): signal.signal(signum, handler) for signum in SIGNALS}


def note(signum: int) -> None:
    _LAST[:] = [signum]
    STOP.set()


@contextlib.contextmanager
def watching() -> Iterator[None]:
    """While a refresh runs: whoever else handles SIGINT and SIGTERM (the CLI, Prefect's flow
    engine, which turns SIGTERM into a cancellation), STOP is set first. An exception raised by a
    signal handler is lost when it lands in a finalizer ("Exception ignored in: ..."), and the run
    went on to publish; `check` at every safe point ends it anyway."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def chained(previous: Any) -> Any:
        def handler(signum: int, frame: FrameType | None) -> None:
            note(signum)
            if callable(previous):
                previous(signum, frame)
            else:
                raise Interrupted(signum)

        return handler

    replaced: Handlers = {int(signum): signal.getsignal(signum) for signum in SIGNALS}
    for signum, previous in replaced.items():
        signal.signal(signum, chained(previous))
    try:
        yield
    finally:
        restore(replaced)


def check() -> None:
    """At a safe point of the main thread: end the run if a signal asked it to stop."""
    if STOP.is_set():
        raise Interrupted(_LAST[0] if _LAST else int(signal.SIGINT))


def signalled() -> int | None:
    """The signal that asked the refresh to stop, if one did: whatever a step raised afterwards
    (a library torn down mid-call says "Task run is not set") is that interruption, not a failure."""
    return (_LAST[0] if _LAST else int(signal.SIGINT)) if STOP.is_set() else None


def restore(previous: Handlers) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)


def signal_of(exc: BaseException) -> int | None:
    """The signal an exception stands for (None: not an interruption)."""
    from prefect.exceptions import TerminationSignal

    if isinstance(exc, Interrupted):
        return exc.signum
    if isinstance(exc, TerminationSignal):
        return int(exc.signal)
    if isinstance(exc, KeyboardInterrupt):
        return int(signal.SIGINT)
    return None


def signal_name(signum: int) -> str:
    return signal.Signals(signum).name


def stopped(what: str) -> None:
    """For work in another thread, between two chunks: give up if the refresh was interrupted."""
    if STOP.is_set():
        raise InterruptedError(f"{what}: stopped, the refresh was interrupted")
