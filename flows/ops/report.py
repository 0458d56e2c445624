"""What a run did, told from its run record: one line for `migration-etl status`, and the Prefect
artifacts (a markdown report and a table of row counts) that the UI shows on the flow run.

Everything here reads the record only, so the same words appear in the terminal, the Prefect UI
and the alert, and `status` works without a Prefect server.
"""

from __future__ import annotations

import contextlib
import logging

from flows.ingest.changes import BUILD_CHANGED
from flows.run_record import RunRecord

logger = logging.getLogger(__name__)


def what_changed(record: RunRecord) -> str:
    """One line: why the run rebuilt, or that it did not."""
    changes = record.changes
    if record.status == "running":
        return "still running (or killed)"
    if not changes:
        return "-"
    if record.status == "unchanged":
        return f"nothing since {changes.baseline_run}"
    if changes.baseline_run is None:
        return "first build"
    moved = ("new", "changed", "removed")
    changed = [f"{f.edition} {f.kind} {f.verdict}" for f in changes.files if f.verdict in moved]
    if unsure := sum(f.verdict == "unknown" for f in changes.files):
        changed.append(f"{unsure} file(s) with a new size or time, not yet compared by sha256")
    changed += [f"accepted new version of {i.edition} {i.kind.value}" for i in record.inputs if i.newly_accepted]
    if BUILD_CHANGED in changes.reasons:
        changed.insert(0, "build inputs changed")
    if record.forced:
        changed.insert(0, "forced")
    if record.repairs:
        changed.append(f"{len(record.repairs)} damaged file(s) repaired")
    return ", ".join(changed) or "-"


def markdown(record: RunRecord) -> str:
    duration = f"{record.duration_seconds:.1f} s" if record.duration_seconds is not None else "-"
    lines = [
        f"# Refresh {record.run_id}: {record.status}",
        "",
        f"- **What changed**: {what_changed(record)}",
        f"- **Editions**: {', '.join(record.editions) or '-'}",
        f"- **Duration**: {duration}",
        f"- **Data directory**: `{record.data_dir}`",
    ]
    if record.warehouse:
        lines.append(f"- **Warehouse**: `{record.warehouse}`")
    if record.error:
        lines += ["", "## Error", "", f"Step **{record.error.step}**: {record.error.message}"]
    if record.inputs:
        lines += [
            "",
            "## Inputs",
            "",
            "| edition | kind | file | status | sha256 | version | identity matched |",
            "|---" * 7 + "|",
        ]
        lines += [
            f"| {i.edition} | {i.kind.value} | {i.name} | {i.status} | `{(i.sha256 or '')[:12]}` "
            f"| {i.verdict or ''} | {i.matched or ''} |"
            for i in record.inputs
        ]
    if record.warnings:
        lines += ["", "## Warnings", ""] + [f"- {w}" for w in record.warnings]
    if record.repairs:
        lines += ["", "## Repaired", ""] + [f"- {r}" for r in record.repairs]
    changed = [f for f in record.changes.files if f.verdict != "same"] if record.changes else []
    if changed:
        lines += ["", "## Changes", ""]
        lines += [f"- {f.edition} {f.kind} ({f.name}): {f.detail}" for f in changed]
    if record.row_counts:
        lines += ["", "## Rows per mart", "", "| mart | rows |", "|---|---:|"]
        lines += [f"| {mart} | {rows:,} |" for mart, rows in sorted(record.row_counts.items())]
    if record.dbt or record.quality:
        lines += ["", "## Checks", ""]
        if dbt := record.dbt:
            lines.append(f"- dbt: {dbt.tests_passed} tests passed, {dbt.tests_failed} failed")
        if q := record.quality:
            passed = f"{q.passed} of {q.expectations}"
            lines.append(f"- Great Expectations: {passed} expectations passed in {q.suites} suites")
    if record.timings:
        lines += ["", "## Seconds per step", "", "| step | seconds |", "|---|---:|"]
        lines += [f"| {step} | {seconds:.1f} |" for step, seconds in record.timings.items()]
    return "\n".join(lines) + "\n"


def publish_artifacts(record: RunRecord) -> None:
    """Attach the report and the row counts to the current flow run (no-op outside one)."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact
    from prefect.exceptions import MissingContextError

    try:
        with contextlib.suppress(MissingContextError):
            create_markdown_artifact(
                markdown=markdown(record), key="refresh-report", description=f"Refresh {record.run_id}: {record.status}"
            )
            if record.row_counts:
                create_table_artifact(
                    table=[{"mart": m, "rows": n} for m, n in sorted(record.row_counts.items())],
                    key="row-counts",
                    description=f"Rows per mart in the warehouse published after run {record.run_id}",
                )
    except Exception as exc:  # noqa: BLE001 - a report is never worth failing a run for
        logger.warning("could not create the run's artifacts: %s", exc)
