"""Run `dbt build` on the run's own build database, in-process with dbt's own runner.

Each run gets a profile written next to its build database (so concurrent data dirs never share a
file), the raw Parquet directory is passed as a dbt var, and the DuckDB connection dbt-duckdb keeps
open in-process is closed afterwards: publish needs the file closed and checkpointed, and a later
run in the same process (tests, a long-lived worker) would otherwise inherit the old lock.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

import duckdb
import yaml

from flows import interrupts
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
    args = ["build", "--exclude", "tag:run_log", *project_args(settings, build_db)]
    args += ["--log-level", "none", "--log-level-file", "info"]
    run_logger = _run_logger()
    runner = dbtRunner(callbacks=[_node_logger(run_logger)])
    outcome: dict[str, Any] = {}

    done = threading.Event()

    def invoke() -> None:
        try:
            outcome["result"] = runner.invoke(args)
        except BaseException as exc:  # noqa: BLE001 - re-raised below, in the calling thread
            outcome["error"] = exc
        finally:
            done.set()

    # A thread, so a hung build ends at a deadline (or an interruption) instead of hanging the
    # refresh: its running queries are then cancelled, so it stops rather than running on unseen.
    # In a copy of this thread's context: the node logs it sends to Prefect must reach the run's API
    # (a thread of its own would see no API configured, and Prefect would start a server of its own).
    # Waited for on an Event, not Thread.join: a join that Ctrl-C interrupts marks the thread as
    # ended while it still runs (CPython's bpo-45274 handling), and its queries would go on unseen.
    context = contextvars.copy_context()
    worker = threading.Thread(target=context.run, args=(invoke,), name="dbt-build", daemon=True)
    worker.start()
    deadline = time.monotonic() + settings.dbt_timeout_seconds
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
            f"dbt build did not finish within {settings.dbt_timeout_seconds:g} s "
            f"(MIGRATION_ETL_DBT_TIMEOUT_SECONDS); {'stopped' if stopped else 'its queries were cancelled'}, "
            "nothing was published"
        )
    dbt_close_database()
    if "error" in outcome:  # dbt could not start: project, profile or adapter error
        exc = outcome["error"]
        raise BuildError(f"dbt build could not run: {exc}") from exc
    result = outcome["result"]
    summary = summarise(result.result, bool(result.success))
    _node_artifact(result.result)
    if not summary.success:
        detail = "; ".join(_with_samples(build_db, summary.failed_relations, summary.failures[:MAX_REPORTED]))
        detail = detail or str(result.exception or "unknown failure")
        more = f" (+{len(summary.failures) - MAX_REPORTED} more)" if len(summary.failures) > MAX_REPORTED else ""
        raise BuildError(f"dbt build failed: {detail}{more}")
    return summary


def _run_logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    """The Prefect run's logger (so node results show in the UI), or this module's outside a run."""
    from prefect.exceptions import MissingContextError
    from prefect.logging import get_run_logger

    try:
        return get_run_logger()
    except MissingContextError:
        return logger


def _node_logger(run_logger: logging.Logger | logging.LoggerAdapter[logging.Logger]) -> Any:
    """A dbt callback: one log line per finished node, at warning level when it did not pass.

    dbt calls it from its own worker threads, which do not carry the run's context: each line is
    logged in a copy of the context the callback was made in, so it reaches the run's Prefect API
    (without it Prefect, seeing no API configured there, started a server of its own)."""
    context = contextvars.copy_context()

    def on_event(event: Any) -> None:
        if event.info.name != "NodeFinished":
            return
        node, result = event.data.node_info, event.data.run_result
        status = result.status or node.node_status
        level = logging.INFO if status in ("success", "pass") else logging.WARNING
        message = f": {result.message}" if result.message and status not in ("success", "pass") else ""
        context.copy().run(
            run_logger.log,
            level,
            "dbt %s %s: %s in %.2fs%s",
            node.resource_type,
            node.node_name,
            status,
            result.execution_time,
            message,
        )

    return on_event


def _node_artifact(result: Any) -> None:
    """Every node's status and time as a table on the flow run (no-op outside a Prefect run)."""
    from prefect.artifacts import create_table_artifact
    from prefect.exceptions import MissingContextError

    if result is None:
        return
    rows = [
        {
            "node": f"{r.node.resource_type} {r.node.name}",
            "status": _status(r),
            "seconds": round(float(r.execution_time or 0.0), 3),
            "failures": r.failures,
        }
        for r in result.results
    ]
    with contextlib.suppress(MissingContextError):
        create_table_artifact(key="dbt-nodes", table=rows, description="dbt build: every node's status and seconds")


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


def _with_samples(build_db: Path, relations: dict[str, str], failures: list[str]) -> list[str]:
    """Each failure with its first failing row, read from the view dbt stored it in, so the
    message names the file, sheet, row and column where the data carries them."""
    if not relations:
        return failures
    described = []
    try:
        con = duckdb.connect(str(build_db), read_only=True)
    except duckdb.Error:
        return failures
    with con:
        for failure in failures:
            relation = relations.get(failure)
            if relation is None:
                described.append(failure)
                continue
            try:
                cursor = con.execute(f"select * from {relation} limit 1")
                names = [d[0] for d in cursor.description or []]
                row = cursor.fetchone()
            except duckdb.Error:
                row = None
            described.append(f"{failure}, e.g. {describe_row(dict(zip(names, row, strict=True)))}" if row else failure)
    return described


def describe_row(row: dict[str, Any]) -> str:
    """A failing row as 'file, sheet 'S', row N, column C: key=value, ...'."""
    where = []
    if row.get("source_file"):
        where.append(str(row["source_file"]))
    if row.get("source_sheet"):
        where.append(f"sheet '{row['source_sheet']}'")
    if row.get("source_row") is not None:
        where.append(f"row {row['source_row']}")
    if row.get("source_column"):
        where.append(f"column {row['source_column']}")
    skip = {"source_file", "source_sheet", "source_row", "source_column", "source_sha256"}
    fields = ", ".join(
        f"{k}={v}" for k, v in row.items() if k not in skip and v is not None and not k.endswith("_is_null")
    )
    return f"{', '.join(where)}: {fields}" if where else fields


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


def summarise(result: Any, success: bool) -> DbtSummary:
    """The build's outcome from dbt's own result object (a RunExecutionResult, or None when dbt
    could not start): counts by node type and status, and each failure in one line."""
    summary = DbtSummary(success=success)
    if result is None:
        return summary
    summary.elapsed_seconds = float(result.elapsed_time or 0.0)
    for node_result in result.results:
        kind, name = node_result.node.resource_type, node_result.node.name
        status = _status(node_result)
        seconds = float(node_result.execution_time or 0.0)
        summary.sql_seconds += seconds
        if kind == "model":
            summary.model_seconds += seconds
        if status == "skipped":
            summary.skipped += 1
        if kind == "model" and status == "success":
            summary.models += 1
        elif kind in ("test", "unit_test"):
            if kind == "unit_test":
                summary.unit_tests += 1
            if status == "pass":
                summary.tests_passed += 1
            elif status in ("fail", "error", "warn"):
                summary.tests_failed += 1
        if status in ("fail", "error"):
            failures = node_result.failures
            plural = "s" if failures != 1 else ""
            what = f"{failures} failing row{plural}" if failures else (node_result.message or status)
            summary.failures.append(f"{kind} {name}: {what}")
            relation = getattr(node_result.node, "relation_name", None)
            if relation:
                summary.failed_relations[summary.failures[-1]] = relation
    summary.success = success and not summary.failures
    return summary


def _status(node_result: Any) -> str:
    return str(getattr(node_result.status, "value", node_result.status))
