"""Server-side render time of every app page, cold and on a warm cache, on a published warehouse.

Figures, not assertions: the app's target is under 300 ms per page on a warm cache with the real
mirror's warehouse. Each page is run by Streamlit's own AppTest (the page script, its queries and
its charts' specs, everything but the browser); "cold" is the first run after the caches were
cleared, "warm" the median and the worst of the reruns that follow.

    uv run python -m bench.app_pages [--data-dir data] [--reruns 20]
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from flows.settings import PROJECT_DIR, disable_telemetry

APP = str(PROJECT_DIR / "app" / "streamlit_app.py")
PAGES = ["overview", "corridors", "country", "compare", "balance_map", "revisions", "quality"]
TARGET_MS = 300.0


@dataclass(frozen=True)
class PageTime:
    page: str
    cold_ms: float
    warm_median_ms: float
    warm_max_ms: float


def run(data_dir: Path, reruns: int = 20) -> list[PageTime]:
    """Render every page once cold and `reruns` times warm against the warehouse published in `data_dir`."""
    os.environ["MIGRATION_ETL_DATA_DIR"] = str(data_dir.resolve())
    disable_telemetry()
    import logging

    import streamlit as st

    # AppTest runs pages without Streamlit's server runtime, by design: its "No runtime found" and
    # "missing ScriptRunContext" warnings on every run say only that, so the bench does not print them
    for name in ("caching.cache_data_api", "scriptrunner_utils.script_run_context"):
        logging.getLogger(f"streamlit.runtime.{name}").disabled = True
    from streamlit.testing.v1 import AppTest

    from app.warehouse import published

    if published() is None:
        raise FileNotFoundError(f"nothing published under {data_dir}: run `make refresh` first")
    AppTest.from_file(APP, default_timeout=60).run()  # imports (pandas, altair, plotly) paid once, not by a page
    times = []
    for name in PAGES:
        st.cache_data.clear()
        at = AppTest.from_file(APP, default_timeout=60)
        if name != "overview":
            at.switch_page(f"views/{name}.py")
        cold = _timed(at.run)
        if at.exception:
            raise RuntimeError(f"page {name} raised: {[e.message for e in at.exception]}")
        warm = [_timed(at.run) for _ in range(reruns)]
        times.append(PageTime(name, cold, statistics.median(warm), max(warm)))
    return times


def _timed(call: Callable[[], Any]) -> float:
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000


def main(
    data_dir: Annotated[Path, typer.Option(help="Data directory with a published warehouse.")] = PROJECT_DIR / "data",
    reruns: Annotated[int, typer.Option(min=3, help="Warm reruns per page.")] = 20,
) -> None:
    try:
        times = run(data_dir, reruns)
    except (FileNotFoundError, RuntimeError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from error
    typer.echo(f"{'page':<12} {'cold ms':>8} {'warm median':>12} {'warm max':>9}  under {TARGET_MS:.0f} ms")
    for t in times:
        ok = "yes" if t.warm_median_ms < TARGET_MS else "NO"
        typer.echo(f"{t.page:<12} {t.cold_ms:>8.0f} {t.warm_median_ms:>12.0f} {t.warm_max_ms:>9.0f}  {ok}")
    under = sum(t.warm_median_ms < TARGET_MS for t in times)
    typer.echo(f"{under} of {len(times)} pages under {TARGET_MS:.0f} ms (median of {reruns} warm reruns)")


if __name__ == "__main__":
    typer.run(main)
