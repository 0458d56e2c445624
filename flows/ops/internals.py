"""Every reach into Prefect's and dbt's internals, in one place; tests/test_internals.py checks each
against the installed versions, so an upgrade that moves one fails there, by name, not in a refresh.

Each is used because no public API does the job at an acceptable cost:
- Prefect's temporary server. Prefect starts one itself ("ephemeral mode") only once the flow first
  calls the API, and imports its whole server package (1.6 s) into the refresh to do it. Launching
  the same app the same way (Prefect's `SubprocessASGIServer`) as the CLI's first act overlaps the
  server's five-second start with the refresh's own imports.
- Prefect's queues of log lines and events. Its public flush (`APILogHandler.flush()`) waits 5 s at
  most, for the events too; the temporary server must not stop before it has the run's last events
  (prefect_server.py).
- dbt's running queries. dbt's programmatic runner has no way to stop a build: an interrupted or
  timed-out build is stopped by cancelling its adapter's open connections (what dbt's own Ctrl-C
  handler does) and closing the database file dbt-duckdb keeps open for the life of the process.
Great Expectations' caches have their own module (expectations/gx_internals.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from pathlib import Path
from typing import Any, cast

# The app and settings Prefect's SubprocessASGIServer runs an ephemeral server with.
PREFECT_SERVER_APP = "prefect.server.api.server:create_app"
PREFECT_EPHEMERAL_ENV = {
    "PREFECT_UI_ENABLED": "0",
    "PREFECT__SERVER_EPHEMERAL": "1",  # the services an ephemeral server runs, no more
    "PREFECT__SERVER_FINAL": "1",
}


def prefect_server_command(port: int) -> list[str]:
    """The command Prefect's SubprocessASGIServer runs: uvicorn serving Prefect's app factory."""
    import prefect

    app_dir = str(Path(prefect.__file__).parent.parent)
    command = [sys.executable, "-m", "uvicorn", "--app-dir", app_dir, "--factory", PREFECT_SERVER_APP]
    return [*command, "--host", "127.0.0.1", "--port", str(port), "--log-level", "error", "--lifespan", "on"]


def prefect_drain_queues(timeout: float) -> int:
    """Send what Prefect's log and events workers hold, waiting up to `timeout` s in all; returns how
    many of its queue services had not finished by then.

    Prefect keeps every queue service in one registry, so the first `drain_all` stops and waits on all
    of them (the events worker with the log worker) and the second finds none left; a Prefect that kept
    them apart would still have both waited on. Outside an event loop only: inside one, `drain_all`
    returns a coroutine instead of waiting."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass  # no loop: drain_all waits, as needed here
    else:
        raise RuntimeError("prefect_drain_queues waits for Prefect's queues: call it outside an event loop")
    deadline = time.monotonic() + timeout
    left = 0
    for service in (APILogWorker, EventsWorker):
        drained = service.drain_all(timeout=max(0.0, deadline - time.monotonic()))
        _, pending = cast("tuple[set[Any], set[Any]]", drained)
        left += len(pending)
    return left


def dbt_cancel_running_queries() -> None:
    """Cancel the queries dbt's adapters are running (dbt-duckdb interrupts each cursor)."""
    from dbt.adapters.factory import FACTORY

    for adapter in list(FACTORY.adapters.values()):
        with contextlib.suppress(Exception):  # a connection closing under us: the caller tries again
            adapter.cancel_open_connections()  # type: ignore[attr-defined]


def dbt_close_database() -> None:
    """Release the database file dbt-duckdb keeps open for the life of the process. Raises while
    one of dbt's threads still holds a busy cursor (DuckDB refuses to close under it)."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    env = DuckDBConnectionManager._ENV
    if env is not None:
        env.close()
    DuckDBConnectionManager.close_all_connections()  # type: ignore[no-untyped-call]
