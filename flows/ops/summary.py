"""What `migration-etl run` prints when a refresh ends well: told from the run record the flow
returned, so the terminal says what the record, the Prefect report and the app say."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from flows.results import DbtSummary
from flows.run_record import RunRecord
from flows.settings import Settings


def print_summary(console: Console, record: RunRecord, settings: Settings, record_path: Path, wall: float) -> None:
    if record.status == "unchanged":
        _unchanged(console, record, record_path, wall)
        return
    changed = [f for f in record.changes.files if f.verdict != "same"] if record.changes else []
    for f in changed:
        what = f"{f.edition} {f.kind} ({f.name}): {f.detail}"
        console.print(f"[bold]{f.verdict}:[/] {escape(what)}")
    console.rule(
        f"[bold green]Refresh {record.run_id} succeeded[/] in {wall:.1f} s "
        f"(flow {record.timings.get('total', 0):.1f} s, the rest is start-up)"
    )
    _inputs(console, record)
    _marts(console, record)
    _checks(console, record)
    timings = ", ".join(f"{k} {v:.1f}s" for k, v in record.timings.items() if k != "total")
    console.print(f"Timings: {timings}")
    if record.peak_memory_mb:
        memory = ", ".join(f"{k} {v:,.0f} MB" for k, v in record.peak_memory_mb.items())
        console.print(f"Peak memory: {memory}")
    console.print(f"Warehouse: {record.warehouse}")
    console.print(f"Parquet:   {settings.marts_dir}/<mart>.parquet")
    console.print(f"Run record: {record_path}")
    console.print(
        "Query it:  "
        f"uv run python -c \"import duckdb; print(duckdb.connect('{record.warehouse}', read_only=True)"
        ".sql('select * from marts.corridors where release = \\'2020\\' and year = 2020 order by rank limit 10'))\""
    )


def _unchanged(console: Console, record: RunRecord, record_path: Path, wall: float) -> None:
    console.rule(
        f"[bold green]Refresh {record.run_id}: unchanged[/] in {wall:.1f} s "
        f"(flow {record.timings.get('total', 0):.1f} s); nothing was rebuilt"
    )
    baseline = record.changes.baseline_run if record.changes else None
    console.print(f"Every source file is the one run {baseline} built from.")
    console.print(f"Warehouse: {record.warehouse}")
    console.print(f"Run record: {record_path}")
    console.print("To rebuild anyway: migration-etl run --force")


def _inputs(console: Console, record: RunRecord) -> None:
    files = Table(title="Inputs", show_lines=False)
    for col in ("edition", "kind", "status", "sha256", "version"):
        files.add_column(col, no_wrap=True)
    files.add_column("file", overflow="fold")
    parsed: dict[tuple[str, str], str] = {(p.edition, p.kind): p.status for p in record.parse}
    for i in record.inputs:
        status = i.status if i.status == "missing" else parsed.get(i.key, i.status)
        verdict = escape(i.verdict or "")
        files.add_row(
            i.edition,
            i.kind.value,
            f"[yellow]{status}[/]" if status == "missing" else status,
            (i.sha256 or "")[:12],
            verdict if i.official or not verdict else f"[yellow]{verdict}[/]",
            i.name,
        )
    console.print(files)
    for line in record.missing:
        console.print(f"[yellow]missing:[/] {escape(line)}")
    for line in record.repairs:
        console.print(f"[yellow]repaired:[/] {escape(line)}")
    for line in record.warnings:
        console.print(f"[yellow]warning:[/] {escape(line)}")
    for i in record.inputs:
        if i.newly_accepted:
            console.print(
                f"[bold yellow]accepted new version:[/] {i.edition} {i.kind.value} ({escape(i.name)}): "
                f"{i.size or 0:,} B, sha256 {i.sha256}, md5 {i.md5}; record it in the catalogue once reviewed "
                "(migration-etl sources prints the entry)"
            )


def _marts(console: Console, record: RunRecord) -> None:
    marts = Table(title="Marts (schema marts)")
    marts.add_column("mart")
    marts.add_column("rows", justify="right")
    for name, rows in sorted(record.row_counts.items()):
        marts.add_row(name, f"{rows:,}")
    console.print(marts)
    for facts in record.releases:
        console.print(f"Edition {facts.describe()}", soft_wrap=True, highlight=False)


def _checks(console: Console, record: RunRecord) -> None:
    dbt = record.dbt or DbtSummary(success=False)
    console.print(
        f"Checks: {dbt.tests_passed} dbt tests passed (incl. {dbt.unit_tests} unit tests and "
        f"the O-D reconciliation), {dbt.tests_failed} failed; {dbt.models} models built."
    )
    if known := dbt.known_discrepancies:
        kinds = ", ".join(f"{kind}: {n:,}" for kind, n in (known.get("by_kind") or {}).items())
        console.print(
            f"Known discrepancies: {known['listed']:,} listed with both figures and a reason in "
            f"dbt_project/seeds/known_discrepancies.csv ({kinds}), {known['as_listed']:,} found exactly as "
            "listed; the checks fail on any other.",
            soft_wrap=True,
        )
    quality = record.quality
    if quality:
        console.print(
            f"Quality: {quality.passed} of {quality.expectations} expectations passed in {quality.suites} "
            f"Great Expectations suites; Data Docs: {quality.docs}"
        )
