"""The run-log marts (dbt_project/models/run_log): `pipeline_runs` and `data_quality`.

dbt builds them at publish, from sources the publish step writes beside the build database: the
run records of the data directory (this run's as it will be published) and the quality gate's
results. They cannot be built with the other marts: the gate checks those first.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from flows.build.dbt import project_args, run_log_dir, write_profile
from flows.build.dbt_results import summarise
from flows.errors import PublishError
from flows.ops.internals import dbt_close_database
from flows.run_record import RunRecord, load_records
from flows.settings import Settings

# what `pipeline_runs` reads of each record (dbt_project/models/run_log/_run_log__sources.yml)
RECORD_FIELDS = {
    "run_id", "started_at", "finished_at", "status", "editions", "source", "inputs", "missing", "warnings",
    "row_counts", "dbt", "timings", "error",
}  # fmt: skip


def build_run_log(settings: Settings, build_db: Path, current: RunRecord, finished: datetime) -> None:
    """Write the sources, then `dbt build --select tag:run_log` (the two models and their tests).
    `--no-write-json`: dbt's run_results.json stays the main build's."""
    from dbt.cli.main import dbtRunner

    folder = run_log_dir(build_db)
    folder.mkdir(parents=True, exist_ok=True)
    history = [r for r in load_records(settings.runs_dir) if r.run_id != current.run_id]
    done = current.model_copy(update={"status": "success", "finished_at": finished})
    runs = [{**r.model_dump(mode="json", include=RECORD_FIELDS), "publishing": r is done} for r in [*history, done]]
    (folder / "runs.json").write_text(json.dumps(runs), encoding="utf-8")
    results = current.quality.results if current.quality is not None else []
    quality = [{"run_id": current.run_id, **r} for r in results]
    (folder / "quality_results.json").write_text(json.dumps(quality), encoding="utf-8")
    write_profile(build_db, settings.dbt_threads, settings.duckdb_memory_limit)
    args = ["build", "--select", "tag:run_log", "--no-write-json", *project_args(settings, build_db)]
    try:
        result = dbtRunner().invoke([*args, "--log-level", "none", "--log-level-file", "info"])
    finally:
        dbt_close_database()
    summary = summarise(result.result, bool(result.success))
    if not summary.success:
        detail = "; ".join(summary.failures) or str(result.exception or "unknown failure")
        raise PublishError(f"the run-log marts (pipeline_runs, data_quality) could not be built: {detail}")
