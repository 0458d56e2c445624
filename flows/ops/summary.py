"""What `migration-etl run` prints when a refresh ends well: told from the run record the flow
returned, so the terminal says what the record, the Prefect report and the app say."""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape

from flows.ops.output import Output
from flows.results import DbtSummary
from flows.run_record import RunRecord
from flows.settings import Settings


def print_summary(out: Output, record: RunRecord, settings: Settings, record_path: Path, wall: float) -> None:
    if record.status == "unchanged":
        _unchanged(out, record, record_path, wall)
        return
    changed = [f for f in record.changes.files if f.verdict != "same"] if record.changes else []
    for f in changed:
        what = f"{f.edition} {f.kind} ({f.name}): {f.detail}"
        out.say(f"[bold]{f.verdict}:[/] {escape(what)}")
    out.rule(
        f"[bold green]Refresh {record.run_id} succeeded[/] in {wall:.1f} s "
        f"(flow {record.timings.get('total', 0):.1f} s, the rest is start-up)"
    )
    _inputs(out, record)
    _marts(out, record)
    _checks(out, record)
    timings = ", ".join(f"{k} {v:.1f}s" for k, v in record.timings.items() if k != "total")
    out.say(f"Timings: {timings}")
    if record.peak_memory_mb:
        memory = ", ".join(f"{k} {v:,.0f} MB" for k, v in record.peak_memory_mb.items())
        out.say(f"Peak memory: {memory}")
    out.plain(f"Warehouse: {record.warehouse}")
    out.plain(f"Parquet:   {settings.marts_dir}/<mart>.parquet")
    out.plain(f"Run record: {record_path}")
    out.plain(
        "Query it:  "
        f"uv run python -c \"import duckdb; print(duckdb.connect('{record.warehouse}', read_only=True)"
        ".sql('select * from marts.corridors where release = \\'2020\\' and year = 2020 order by rank limit 10'))\""
    )


def _unchanged(out: Output, record: RunRecord, record_path: Path, wall: float) -> None:
    out.rule(
        f"[bold green]Refresh {record.run_id}: unchanged[/] in {wall:.1f} s "
        f"(flow {record.timings.get('total', 0):.1f} s); nothing was rebuilt"
    )
    baseline = record.changes.baseline_run if record.changes else None
    out.say(f"Every source file is the one run {baseline} built from.")
    out.plain(f"Warehouse: {record.warehouse}")
    out.plain(f"Run record: {record_path}")
    out.say("To rebuild anyway: migration-etl run --force")


def _inputs(out: Output, record: RunRecord) -> None:
    parsed: dict[tuple[str, str], str] = {(p.edition, p.kind): p.status for p in record.parse}
    rows = []
    for i in record.inputs:
        status = i.status if i.status == "missing" else parsed.get(i.key, i.status)
        verdict = escape(i.verdict or "")
        rows.append(
            [
                i.edition,
                i.kind.value,
                f"[yellow]{status}[/]" if status == "missing" else status,
                (i.sha256 or "")[:12],
                verdict if i.official or not verdict else f"[yellow]{verdict}[/]",
                escape(i.name),
            ]
        )
    out.table("Inputs", ["edition", "kind", "status", "sha256", "version", "file"], rows)
    for line in record.missing:
        out.say(f"[yellow]missing:[/] {escape(line)}")
    for line in record.repairs:
        out.say(f"[yellow]repaired:[/] {escape(line)}")
    for line in record.warnings:
        out.say(f"[yellow]warning:[/] {escape(line)}")
    for i in record.inputs:
        if i.newly_accepted:
            out.say(
                f"[bold yellow]accepted new version:[/] {i.edition} {i.kind.value} ({escape(i.name)}): "
                f"{i.size or 0:,} B, sha256 {i.sha256}, md5 {i.md5}; record it in the catalogue once reviewed "
                "(migration-etl sources prints the entry)"
            )


def _marts(out: Output, record: RunRecord) -> None:
    rows = [[name, f"{rows:,}"] for name, rows in sorted(record.row_counts.items())]
    out.table("Marts (schema marts)", ["mart", "rows"], rows, right=("rows",))
    for facts in record.releases:
        out.plain(f"Edition {facts.describe()}")


def _checks(out: Output, record: RunRecord) -> None:
    dbt = record.dbt or DbtSummary(success=False)
    out.say(
        f"Checks: {dbt.tests_passed} dbt tests passed (incl. {dbt.unit_tests} unit tests and "
        f"the O-D reconciliation), {dbt.tests_failed} failed; {dbt.models} models built."
    )
    if known := dbt.known_discrepancies:
        kinds = ", ".join(f"{kind}: {n:,}" for kind, n in (known.get("by_kind") or {}).items())
        out.say(
            f"Known discrepancies: {known['listed']:,} listed with both figures and a reason in "
            f"dbt_project/seeds/known_discrepancies.csv ({kinds}), {known['as_listed']:,} found exactly as "
            "listed; the checks fail on any other."
        )
    quality = record.quality
    if quality:
        out.say(
            f"Quality: {quality.passed} of {quality.expectations} expectations passed in {quality.suites} "
            f"Great Expectations suites; Data Docs: {quality.docs}"
        )
