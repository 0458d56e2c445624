"""One refresh at a time per data directory.

Two refreshes writing the same raw tables and publishing over each other could interleave; an
advisory lock on `<data dir>/.refresh.lock` makes the second one stop at once with a clear message.
The kernel drops the lock when the holder dies, even by `kill -9`, so there is nothing to clean up.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from flows.errors import RefreshLocked


@contextlib.contextmanager
def refresh_lock(data_dir: Path) -> Iterator[None]:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / ".refresh.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "unknown process"
            raise RefreshLocked(
                f"another refresh is already running on {data_dir} ({holder}); wait for it to finish, then run again"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}, started {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
