"""Latency of each app page's queries on the published warehouse, as the app runs them.

The queries are the ones each page really sends, by the name they have in `app/queries.py`: every
page is rendered once through AppTest with `app.warehouse.query` wrapped to note the named query
that called it, its SQL and parameters. Each noted query is then run
`repeats` times the way the app runs it uncached (open the file read-only, execute, fetch into
pandas, close): p50 and p95 per query, and per page the p95 of its queries' total.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import duckdb

from bench.app_pages import APP, PAGES


@dataclass(frozen=True)
class PageQueries:
    page: str
    queries: int
    query_p50_ms: float
    query_p95_ms: float
    page_total_p95_ms: float
    slowest_query: str  # its name in app/queries.py
    slowest_sql: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def run(data_dir: Path, repeats: int = 30) -> list[PageQueries]:
    os.environ["MIGRATION_ETL_DATA_DIR"] = str(data_dir.resolve())
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    import app.warehouse as warehouse

    current = warehouse.published()
    if current is None:
        raise FileNotFoundError(f"nothing published under {data_dir}")
    original = warehouse.query
    results = []
    for name in PAGES:
        noted: list[tuple[str, str, tuple[Any, ...]]] = []

        def noting(sql: str, *params: Any, _noted: list[tuple[str, str, tuple[Any, ...]]] = noted) -> Any:
            named = sys._getframe(2).f_code.co_name  # the query in app/queries.py, which calls through its _q
            _noted.append((named, sql, params))
            return original(sql, *params)

        warehouse.query = noting
        try:
            st.cache_data.clear()
            at = AppTest.from_file(APP, default_timeout=60)
            if name != "overview":
                at.switch_page(f"views/{name}.py")
            at.run()
        finally:
            warehouse.query = original
        per_query = {q: [_timed(str(current.warehouse), *q[1:]) for _ in range(repeats)] for q in dict.fromkeys(noted)}
        singles = [t for times in per_query.values() for t in times]
        totals = [sum(times[i] for times in per_query.values()) for i in range(repeats)]
        slowest = max(per_query, key=lambda q: statistics.median(per_query[q]))
        results.append(
            PageQueries(
                page=name,
                queries=len(per_query),
                query_p50_ms=round(statistics.median(singles), 1),
                query_p95_ms=round(_p95(singles), 1),
                page_total_p95_ms=round(_p95(totals), 1),
                slowest_query=slowest[0],
                slowest_sql=" ".join(slowest[1].split())[:120],
            )
        )
    return results


def _timed(warehouse: str, sql: str, params: tuple[Any, ...]) -> float:
    start = time.perf_counter()
    with duckdb.connect(warehouse, read_only=True) as con:
        con.execute(sql, list(params)).df()
    return (time.perf_counter() - start) * 1000


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1] if len(values) > 1 else values[0]
