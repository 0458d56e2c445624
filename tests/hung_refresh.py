"""`migration-etl run` with one step that never ends, for the tests that interrupt a refresh or let
a step's deadline fire: `python -m tests.hung_refresh STEP run --data-dir ...`.

The step's work is replaced by Python that never returns (short sleeps in a loop, as a parse stuck
in a pathological sheet or a check stuck in a query would be), after a line on stderr saying it
is hung, so a test knows when to send its signal. dbt is hung for real instead (a slow model in a
copy of the project): its work runs in a thread Python cannot interrupt.
"""

from __future__ import annotations

import importlib
import sys
import time
from typing import Any

# the function each step's task calls first, in the module whose name for it the task looks up
TARGETS = {
    "detect": ("flows.ingest.detect", "ask_sources"),
    "parse": ("flows.parse.parse_all", "landed_state"),
    "quality": ("expectations.gate", "run_quality_gate"),
    "docs": ("flows.build.transform", "generate_docs"),
    "publish": ("flows.publish.publish_build", "publish"),
}
HUNG = "HUNG at step "


def hang(step: str) -> Any:
    def forever(*args: object, **kwargs: object) -> Any:
        print(f"{HUNG}{step}", file=sys.stderr, flush=True)
        while True:
            time.sleep(0.05)

    return forever


def main() -> None:
    step, *cli_args = sys.argv[1:]
    if step in TARGETS:
        module, name = TARGETS[step]
        setattr(importlib.import_module(module), name, hang(step))
    from flows.ops.cli import app

    sys.argv = ["migration-etl", *cli_args]
    app()


if __name__ == "__main__":
    main()
