"""Step announcements: to the Prefect run log (for the UI) and to the `migration_etl` logger,
which the CLI renders as its step-by-step output (flows/ops/output.py). Nothing listens to the
latter in a deployment.

Each announcement carries the run id and the step it belongs to, so a log shipper reading the
CLI's JSON lines can group them; one refresh runs per process (the lock sees to it), so the
refresh's place is kept here, set by the Recorder."""

from __future__ import annotations

import contextlib
import logging

from prefect.exceptions import MissingContextError
from prefect.logging import get_run_logger

console = logging.getLogger("migration_etl")
_place: dict[str, str | None] = {"run_id": None, "step": None}


def at(run_id: str | None, step: str | None) -> None:
    """Where the refresh is: later announcements carry this run id and step (None: no refresh)."""
    _place.update(run_id=run_id, step=step)


def where() -> dict[str, str | None]:
    """The run id and step announcements carry now."""
    return dict(_place)


def announce(message: str, *, level: int = logging.INFO) -> None:
    console.log(level, message, extra=dict(_place))
    with contextlib.suppress(MissingContextError):
        get_run_logger().log(level, message)
