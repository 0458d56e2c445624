"""What a dbt build's result says, told to people: one log line per node on the Prefect run, a
table of every node as the run's artifact, and the summary the run record keeps, each failure with
its first failing row (naming the file, sheet, row and column where the data carries them)."""

from __future__ import annotations

import contextlib
import contextvars
import logging
from pathlib import Path
from typing import Any

import duckdb

from flows.results import DbtSummary

logger = logging.getLogger(__name__)


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


def with_samples(build_db: Path, relations: dict[str, str], failures: list[str]) -> list[str]:
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


def run_logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    """The Prefect run's logger (so node results show in the UI), or this module's outside a run."""
    from prefect.exceptions import MissingContextError
    from prefect.logging import get_run_logger

    try:
        return get_run_logger()
    except MissingContextError:
        return logger


def node_logger(run_logger: logging.Logger | logging.LoggerAdapter[logging.Logger]) -> Any:
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


def node_artifact(result: Any) -> None:
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
