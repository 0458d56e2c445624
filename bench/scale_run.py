"""Scaling: the same refresh on a synthetic edition at 1x, 10x and 100x the rows of Rev.2020
(bench/synthetic.py), against one running Prefect server, from an empty data dir each time.

Per factor: the parsed rows, each step's time and peak memory (the run record's, measured in the
refresh process), parse and transform rates in rows/s, and dbt's model SQL apart from its
start-up. Growth is read against 1x: time per row should not rise, and peak memory should stay
flat where the work streams (parse) or is bounded by a limit (DuckDB, the quality gate's chunks).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench import synthetic
from bench.refresh import RefreshTime, run_cli

FACTORS = (1, 10, 100)
STEPS = ("parse", "dbt", "quality", "docs", "publish")


@dataclass
class ScaleRun:
    factor: float
    od_rows: int  # origin-destination rows of the workbook
    raw_rows: int  # long rows landed, every raw table
    wall_s: float
    peak_rss_mb: float
    steps_s: dict[str, float] = field(default_factory=dict)
    peak_memory_mb: dict[str, float] = field(default_factory=dict)
    parse_rows_per_s: float = 0.0
    transform_rows_per_s: float = 0.0
    dbt_models_s: float | None = None
    dbt_elapsed_s: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def run(work: Path, cache: Path, api_url: str, factors: tuple[float, ...] = FACTORS) -> list[ScaleRun]:
    env = {**os.environ, "COLUMNS": "200", "PREFECT_API_URL": api_url}
    env["MIGRATION_ETL_HTTP_MAX_BYTES"] = str(4 * 1024**3)  # the 100x workbook is 238 MB
    runs = []
    for factor in factors:
        catalogue = synthetic.generate(cache, factor)
        data = work / f"scale-{factor:g}x"
        shutil.rmtree(data, ignore_errors=True)
        t: RefreshTime = run_cli(f"{factor:g}x", catalogue.parent, data, env, "--catalogue", str(catalogue))
        raw_rows = sum(t.rows.values())
        runs.append(
            ScaleRun(
                factor=factor,
                od_rows=synthetic.od_rows(catalogue),
                raw_rows=raw_rows,
                wall_s=t.wall_s,
                peak_rss_mb=t.peak_rss_mb,
                steps_s={s: t.steps_s[s] for s in STEPS if s in t.steps_s},
                peak_memory_mb={s: t.peak_memory_mb[s] for s in STEPS if s in t.peak_memory_mb},
                parse_rows_per_s=round(raw_rows / max(t.steps_s.get("parse", 0.0), 1e-9)),
                transform_rows_per_s=round(raw_rows / max(t.steps_s.get("dbt", 0.0), 1e-9)),
                dbt_models_s=t.dbt_models_s,
                dbt_elapsed_s=t.dbt_elapsed_s,
            )
        )
        shutil.rmtree(data, ignore_errors=True)  # 100x leaves about 2 GB
    return runs
