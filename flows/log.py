"""Step announcements: to the Prefect run log (for the UI) and to the `migration_etl` logger,
which the CLI renders as its step-by-step output. Nothing listens to the latter in a deployment."""

from __future__ import annotations

import contextlib
import logging

from prefect.exceptions import MissingContextError
from prefect.logging import get_run_logger

console = logging.getLogger("migration_etl")


def announce(message: str, *, level: int = logging.INFO) -> None:
    console.log(level, message)
    with contextlib.suppress(MissingContextError):
        get_run_logger().log(level, message)
