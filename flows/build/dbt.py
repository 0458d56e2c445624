"""Run `dbt build` on the run's own build database, in-process with dbt's own runner.

Each run gets a profile written next to its build database (so concurrent data dirs never share a
file), the raw Parquet directory is passed as a dbt var, and the DuckDB connection dbt-duckdb keeps
open in-process is closed afterwards: publish needs the file closed and checkpointed, and a later
run in the same process (tests, a long-lived worker) would otherwise inherit the old lock.
"""

from __future__ import annotations

import contextvars
import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

import yaml

from flows import interrupts
from flows.build.dbt_results import node_artifact, node_logger, run_logger, summarise, with_samples
from flows.errors import BuildError
from flows.ops.internals import dbt_cancel_running_queries, dbt_close_database
from flows.results import DbtSummary
from flows.settings import Settings

PROFILE = "migration_corridors"
MAX_REPORTED = 8
STOP_GRACE_SECONDS = 15.0  # how long a cancelled build may take to stop
logger = logging.getLogger(__name__)


def dbt_target_dir(settings: Settings) -> Path:
    """dbt's target folder: kept between runs, so dbt can parse the project partially."""
    return settings.build_dir / "dbt_target"


def _profiles_dir(build_db: Path) -> Path:
    """Beside the run's build database, so concurrent data dirs never share a profile."""
    return build_db.parent / "profiles"


def run_log_dir(build_db: Path) -> Path:
    """Where the publish step writes the run-log marts' sources (flows.build.run_log)."""
    return build_db.parent / "run_log"


def project_args(settings: Settings, build_db: Path) -> list[str]:
    """What every dbt command of a run shares: the project, the run's profile, the kept target
    folder (partial parsing), the log folder and the vars. The vars are the same for every command
    of a data directory: dbt re-parses the whole project when they change (3.5 s)."""
    variables = {"raw_dir": str(settings.raw_dir), "run_log_dir": str(run_log_dir(build_db))}
    return [
        "--project-dir", str(settings.dbt_project_dir), "--profiles-dir", str(_profiles_dir(build_db)),
        "--target-path", str(dbt_target_dir(settings)), "--log-path", str(settings.build_dir / "dbt_logs"),
        "--vars", json.dumps(variables),
    ]  # fmt: skip


def write_profile(build_db: Path, threads: int, memory_limit: str) -> Path:
    profiles_dir = _profiles_dir(build_db)
    profiles_dir.mkdir(parents=True, exist_ok=True)
    output = {"type": "duckdb", "path": str(build_db), "threads": threads, "settings": {"memory_limit": memory_limit}}
    profile = {PROFILE: {"target": "build", "outputs": {"build": output}}}
    (profiles_dir / "profiles.yml").write_text(yaml.safe_dump(profile), encoding="utf-8")
    return profiles_dir


def run_dbt_build(settings: Settings, build_db: Path) -> DbtSummary:
    """`dbt build` in-process with dbt's own runner, each node's result logged to the Prefect run
    as it finishes and attached as the `dbt-nodes` table artifact.

    Not prefect-dbt's PrefectDbtRunner, which makes every node a Prefect task: measured here it
    cost 10 s of a 15 s step (about 120 ms of API calls and thread set-up per node, for 80 nodes),
    while dbt's own work is 4 s. The per-node record the UI showed is kept as the logs and the
    artifact."""
    from dbt.cli.main import dbtRunner

    write_profile(build_db, settings.dbt_threads, settings.duckdb_memory_limit)
    # dbt's console stays silent: each node's outcome reaches the Prefect run through the callback,
    # a failure the CLI through BuildError (with failing rows), everything else dbt.log; an
    # interrupted build would otherwise print a failure for every query its cancellation ended
    # exposures (the app) have nothing to build: left in, dbt logs each as a NO-OP warning
    args = [
        "build",
        "--exclude",
        "tag:run_log",
        "--exclude-resource-type",
        "exposure",
        *project_args(settings, build_db),
    ]
    args += ["--log-level", "none", "--log-level-file", "info"]
    result = _invoke_with_deadline(dbtRunner(callbacks=[node_logger(run_logger())]), args, settings.dbt_timeout_seconds)
    summary = summarise(result.result, bool(result.success))
    node_artifact(result.result)
    if not summary.success:
        detail = "; ".join(with_samples(build_db, summary.failed_relations, summary.failures[:MAX_REPORTED]))
        detail = detail or str(result.exception or "unknown failure")
        more = f" (+{len(summary.failures) - MAX_REPORTED} more)" if len(summary.failures) > MAX_REPORTED else ""
        raise BuildError(f"dbt build failed: {detail}{more}")
    return summary


def _invoke_with_deadline(runner: Any, args: list[str], seconds: float) -> Any:
    """dbt's result, or a BuildError when it could not start or ran past `seconds`.

    In a thread, so a hung build ends at a deadline (or an interruption) instead of hanging the
    refresh: its running queries are then cancelled, so it stops rather than running on unseen.
    In a copy of this thread's context: the node logs it sends to Prefect must reach the run's API
    (a thread of its own would see no API configured, and Prefect would start a server of its own).
    Waited for on an Event, not Thread.join: a join that Ctrl-C interrupts marks the thread as
    ended while it still runs (CPython's bpo-45274 handling), and its queries would go on unseen."""
    outcome: dict[str, Any] = {}
    done = threading.Event()

    def invoke() -> None:
        try:
            outcome["result"] = runner.invoke(args)
        except BaseException as exc:  # noqa: BLE001 - re-raised below, in the calling thread
            outcome["error"] = exc
        finally:
            done.set()

    context = contextvars.copy_context()
    worker = threading.Thread(target=context.run, args=(invoke,), name="dbt-build", daemon=True)
    worker.start()
    deadline = time.monotonic() + seconds
    try:
        while not done.is_set() and time.monotonic() < deadline:
            done.wait(min(0.5, max(0.0, deadline - time.monotonic())))
            interrupts.check()
    except BaseException:
        _stop(done)
        raise
    if not done.is_set():
        stopped = _stop(done)
        raise BuildError(
            f"dbt build did not finish within {seconds:g} s "
            f"(MIGRATION_ETL_DBT_TIMEOUT_SECONDS); {'stopped' if stopped else 'its queries were cancelled'}, "
            "nothing was published"
        )
    dbt_close_database()
    if "error" in outcome:  # dbt could not start: project, profile or adapter error
        exc = outcome["error"]
        raise BuildError(f"dbt build could not run: {exc}") from exc
    return outcome["result"]


DOCS_FILES = ("index.html", "static_index.html", "manifest.json", "catalog.json")


def generate_docs(settings: Settings, build_db: Path) -> Path:
    """`dbt docs generate` for the analysts: lineage, column docs and the catalogue of the build
    just checked. `--no-compile` reuses the build's manifest, so this only reads the database's
    catalogue; `--static` adds one self-contained page that opens without a server. Plain dbtRunner
    (no Prefect task per node: there are no nodes to run), on the same database path as the build."""
    from dbt.cli.main import dbtRunner

    target_path = dbt_target_dir(settings)
    args = [
        "docs",
        "generate",
        "--no-compile",
        "--static",
        *project_args(settings, build_db),
        "--quiet",
    ]
    try:
        result = dbtRunner().invoke(args)
    finally:
        dbt_close_database()
    missing = [name for name in DOCS_FILES if not (target_path / name).is_file()]
    if not result.success or missing:
        raise BuildError(f"dbt docs generate failed: {result.exception or 'no ' + ', '.join(missing)}")
    return target_path


def _stop(done: threading.Event, seconds: float = STOP_GRACE_SECONDS) -> bool:
    """Cancel dbt's running queries until its thread ends (dbt goes on to the next node after a
    cancelled one, so once is not enough), then close its database; whether both happened within
    `seconds`. A connection left open under a running query aborts the process at exit."""
    deadline = time.monotonic() + seconds
    while not done.is_set() and time.monotonic() < deadline:
        dbt_cancel_running_queries()
        done.wait(0.2)
    while done.is_set():
        try:
            dbt_close_database()
            return True
        except Exception:  # noqa: BLE001 - duckdb's "connection is busy": one of dbt's threads is finishing
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
    logger.warning("dbt did not stop within %.0f s of its queries being cancelled", seconds)
    return False
