"""`uv run python -m bench` (also `make bench`): where a refresh's time goes, and how fast the app
reads, measured in one run on this machine. Prints tables and writes bench/results.json.

    uv run python -m bench [--source-dir ../shared/data/undesa/mirror] [--work /tmp/bench] [--scale 1,10,100]

The scaling run writes synthetic editions once into data/bench/synthetic/ (100x: 238 MB, about
three minutes) and reuses them after.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from flows.settings import PROJECT_DIR, disable_telemetry

RESULTS = PROJECT_DIR / "bench" / "results.json"
MIRROR = PROJECT_DIR.parent / "shared" / "data" / "undesa" / "mirror"


def main(
    source_dir: Annotated[Path, typer.Option(help="Mirror of the release files.")] = MIRROR,
    work: Annotated[Path | None, typer.Option(help="Scratch folder for the data dirs (default: a temp dir).")] = None,
    reruns: Annotated[int, typer.Option(help="Warm reruns per app page.")] = 20,
    scale: Annotated[str, typer.Option(help="Factors of the scaling run, comma-separated ('' to skip).")] = "1,10,100",
) -> None:
    disable_telemetry()
    from bench import app_pages, app_queries, baselines, refresh, scale_run

    scratch = Path(tempfile.mkdtemp(prefix="bench-")) if work is None else work
    if scratch.exists() and any(scratch.iterdir()):
        raise typer.BadParameter(f"{scratch} is not empty", param_hint="--work")
    results: dict[str, Any] = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
    }
    factors = tuple(float(f) for f in scale.split(",") if f.strip())
    try:
        with refresh.prefect_server() as url:
            typer.echo("refresh: full and unchanged, temporary and running Prefect server (about 3 minutes)")
            refreshes = refresh.run(source_dir.resolve(), scratch, url)
            results["refresh"] = [r.as_dict() for r in refreshes]
            _print_refreshes(refreshes)
            if factors:
                typer.echo(
                    f"\nscale: synthetic editions at {', '.join(f'{f:g}x' for f in factors)} the rows of Rev.2020"
                )
                runs = scale_run.run(scratch, PROJECT_DIR / "data" / "bench" / "synthetic", url, factors)
                results["scale"] = [r.as_dict() for r in runs]
                _print_scale(runs)
        typer.echo("\nyardsticks: the naive analyst's script and the floor, on the same five Table 1 sheets")
        naive, floor = baselines.naive(source_dir), baselines.floor(source_dir)
        results["baselines"] = [naive.as_dict(), floor.as_dict()]
        # the yardsticks read the two newest editions' Table 1 sheets: compare them with the refresh of those
        two = next(r for r in refreshes if r.scenario.startswith("full, two editions"))
        results["comparison"] = _print_baselines(two, naive, floor)
        data = scratch / "running"
        results["dbt"] = _print_dbt(refreshes)
        pages = app_pages.run(data, reruns)
        results["app_pages"] = [p.__dict__ for p in pages]
        queries = app_queries.run(data)
        results["app_queries"] = [q.as_dict() for q in queries]
        _print_app(pages, queries)
    finally:
        if work is None:
            shutil.rmtree(scratch, ignore_errors=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    typer.echo(f"written: {RESULTS}")


def _print_scale(runs: list[Any]) -> None:
    steps = ["parse", "dbt", "quality", "docs", "publish"]
    typer.echo(
        f"{'factor':>7}{'O-D rows':>10}{'raw rows':>12}{'wall s':>8}{'RSS MB':>8}  "
        + "".join(f"{s + ' s':>10}" for s in steps)
        + f"{'parse r/s':>11}{'dbt r/s':>10}"
    )
    for r in runs:
        cells = "".join(f"{r.steps_s.get(s, 0):>10.1f}" for s in steps)
        typer.echo(
            f"{r.factor:>6g}x{r.od_rows:>10,}{r.raw_rows:>12,}{r.wall_s:>8.1f}{r.peak_rss_mb:>8.0f}  {cells}"
            f"{r.parse_rows_per_s:>11,.0f}{r.transform_rows_per_s:>10,.0f}"
        )
    for r in runs:
        peaks = "".join(f"{r.peak_memory_mb.get(s, 0):>10.0f}" for s in steps)
        typer.echo(f"{r.factor:>6g}x{'peak MB in the step':>38}  {peaks}")
    base = runs[0]
    for r in runs[1:]:
        rows = r.raw_rows / base.raw_rows
        time = (r.steps_s.get("parse", 0) + r.steps_s.get("dbt", 0) + r.steps_s.get("quality", 0)) / max(
            1e-9, base.steps_s.get("parse", 0) + base.steps_s.get("dbt", 0) + base.steps_s.get("quality", 0)
        )
        typer.echo(f"{r.factor:g}x: {rows:.1f}x the rows in {time:.1f}x the time (parse+dbt+quality), "
                   f"{r.wall_s / base.wall_s:.1f}x wall; peak RSS {r.peak_rss_mb / 1024:.2f} GiB")  # fmt: skip


def _print_dbt(times: list[Any]) -> dict[str, Any]:
    """dbt's own SQL against its start-up and parse, per full run."""
    out = {}
    typer.echo(f"\n{'dbt step':<36}{'step s':>8}{'startup+parse':>14}{'nodes s':>9}{'models SQL s':>13}")
    for t in times:
        if t.dbt_elapsed_s is None:
            continue
        step = t.steps_s.get("dbt", 0.0)
        startup = round(step - t.dbt_elapsed_s, 2)
        out[t.scenario] = {"step_s": step, "startup_parse_s": startup, "nodes_s": t.dbt_elapsed_s,
                           "models_sql_s": t.dbt_models_s}  # fmt: skip
        typer.echo(f"{t.scenario:<36}{step:>8.1f}{startup:>14.1f}{t.dbt_elapsed_s:>9.1f}{t.dbt_models_s or 0:>13.2f}")
    return out


def _print_refreshes(times: list[Any]) -> None:
    steps = ["detect", "fetch", "parse", "dbt", "quality", "docs", "publish"]
    typer.echo(f"\n{'scenario':<36}{'status':>10}{'wall s':>8}{'flow s':>8}{'outside':>8}{'RSS MB':>8}  " + "".join(
        f"{s:>8}" for s in steps) + f"{'dbt sql':>8}")  # fmt: skip
    for t in times:
        cells = "".join(f"{t.steps_s[s]:>8.1f}" if s in t.steps_s else f"{'-':>8}" for s in steps)
        sql = f"{t.dbt_sql_s:>8.1f}" if t.dbt_sql_s is not None else f"{'-':>8}"
        typer.echo(
            f"{t.scenario:<36}{t.status:>10}{t.wall_s:>8.1f}{t.flow_s:>8.1f}{t.outside_flow_s:>8.1f}"
            f"{t.peak_rss_mb:>8.0f}  {cells}{sql}"
        )


def _print_baselines(full: Any, naive: Any, floor: Any) -> dict[str, float]:
    ours_parse = full.steps_s.get("parse", 0.0)
    ours = ours_parse + full.steps_s.get("dbt", 0.0)
    typer.echo(f"{'':<38}{'read s':>8}{'transform s':>12}{'total s':>9}  checks")
    typer.echo(f"{naive.name:<38}{naive.read_s:>8.2f}{naive.transform_s:>12.2f}{naive.total_s:>9.2f}  none")
    typer.echo(f"{floor.name:<38}{floor.read_s:>8.2f}{floor.transform_s:>12.2f}{floor.total_s:>9.2f}  none")
    typer.echo(
        f"{'ours, 2 editions (parse + dbt steps)':<38}{ours_parse:>8.2f}{full.steps_s.get('dbt', 0.0):>12.2f}"
        f"{ours:>9.2f}  dbt tests, layout checks, lineage"
    )
    comparison = {
        "ours_parse_plus_transform_s": round(ours, 2),
        "ours_over_naive": round(ours / naive.total_s, 2),
        "naive_read_over_floor_read": round(naive.read_s / floor.read_s, 1),
        "refresh_wall_over_floor": round(full.wall_s / floor.total_s, 1),
        "refresh_flow_over_floor": round(full.flow_s / floor.total_s, 1),
    }
    typer.echo(
        f"ours / naive: {comparison['ours_over_naive']}x; naive read / calamine read: "
        f"{comparison['naive_read_over_floor_read']}x; full refresh = {comparison['refresh_wall_over_floor']}x the "
        f"floor (wall), {comparison['refresh_flow_over_floor']}x (flow)"
    )
    return comparison


def _print_app(pages: list[Any], queries: list[Any]) -> None:
    by_page = {q.page: q for q in queries}
    typer.echo(f"\n{'page':<12}{'cold ms':>8}{'warm ms':>8}{'queries':>8}{'q p50':>8}{'q p95':>8}{'page p95':>9}")
    for p in pages:
        q = by_page[p.page]
        typer.echo(
            f"{p.page:<12}{p.cold_ms:>8.0f}{p.warm_median_ms:>8.0f}{q.queries:>8}{q.query_p50_ms:>8.1f}"
            f"{q.query_p95_ms:>8.1f}{q.page_total_p95_ms:>9.1f}"
        )


if __name__ == "__main__":
    typer.run(main)
