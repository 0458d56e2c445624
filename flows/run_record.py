"""The run record: one JSON file per refresh under `<data dir>/runs/`, whatever its outcome.

It is what an engineer reads after the fact (inputs with checksums, what was missing, rows per
table, checks, timings, the error) and the source of the `pipeline_runs` mart. It is written when
the run starts and rewritten when it ends, each time atomically, so a killed run leaves a record
that still says "running".
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from flows.results import ChangeReport, DbtSummary, FetchedFile, ParseOutcome, QualitySummary, ReleaseFacts, RunError

# "unchanged": nothing changed since the published warehouse was built, so nothing was rebuilt;
# "interrupted": stopped by a signal (Ctrl-C, SIGTERM, a cancelled deployment run)
Status = Literal["running", "success", "unchanged", "failed", "interrupted"]


def new_run_id(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


class RunRecord(BaseModel):
    run_id: str
    flow_run_id: str | None = None
    started_at: datetime
    finished_at: datetime | None = None
    status: Status = "running"
    data_dir: str
    source: str
    catalogue: str
    forced: bool = False
    build_fingerprint: str | None = None  # see flows.ingest.changes.build_fingerprint
    changes: ChangeReport | None = None
    editions: list[str] = Field(default_factory=list)
    releases: list[ReleaseFacts] = Field(default_factory=list)
    inputs: list[FetchedFile] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    # damaged state found and rebuilt from what was still good (the archive, the source)
    repairs: list[str] = Field(default_factory=list)
    parse: list[ParseOutcome] = Field(default_factory=list)
    dbt: DbtSummary | None = None
    quality: QualitySummary | None = None
    row_counts: dict[str, int] = Field(default_factory=dict)
    timings: dict[str, float] = Field(default_factory=dict)
    # peak resident memory of the refresh process during each step, MB (dbt and GX run in-process)
    peak_memory_mb: dict[str, float] = Field(default_factory=dict)
    warehouse: str | None = None
    published_version: str | None = None  # the version this run published, or found still current
    error: RunError | None = None
    alert: dict[str, Any] | None = None  # the failure alert: sent or why not (flows.ops.alerts)
    notice: dict[str, Any] | None = None  # the notice of newly accepted versions, likewise

    @field_validator("changes", "dbt", "quality", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        """Records of earlier versions wrote `{}` for a step that did not run."""
        return None if value == {} else value

    def path(self, runs_dir: Path) -> Path:
        return runs_dir / f"{self.run_id}.json"

    def save(self, runs_dir: Path) -> Path:
        runs_dir.mkdir(parents=True, exist_ok=True)
        target = self.path(runs_dir)
        tmp = target.with_suffix(".json.tmp")
        tmp.write_text(self.model_dump_json(indent=2), encoding="utf-8")
        os.replace(tmp, target)
        return target

    @property
    def duration_seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


def load_records(runs_dir: Path) -> list[RunRecord]:
    """All readable run records, oldest first; an unreadable file is skipped, not fatal."""
    records = []
    if runs_dir.is_dir():
        for path in sorted(runs_dir.glob("*.json")):
            try:
                records.append(RunRecord.model_validate(json.loads(path.read_text(encoding="utf-8"))))
            except (ValueError, OSError):
                continue
    return sorted(records, key=lambda r: r.started_at)
