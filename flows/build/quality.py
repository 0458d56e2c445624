"""Step `quality`: the Great Expectations gate (expectations/) on the build, before publish.

The one door between the pipeline and the gate: the flow hands it plain figures from the catalogue
(each edition's years and expected sizes) and its interruption check, and takes back its report.
The gate never imports the pipeline.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from expectations import gate
from expectations.results import QualityReport
from flows import interrupts
from flows.errors import EtlError
from flows.ingest.catalogue import Catalogue
from flows.ingest.changes import published_build
from flows.log import announce
from flows.results import QualitySummary
from flows.settings import Settings

RECORDED_FAILURES = 20  # failures kept with their sample rows in the record (all are in `results`)


class QualityFailed(EtlError, gate.QualityFailed):
    """The gate failed: the run stops before publish, its record keeps the summary."""

    step = "quality"

    def __init__(self, message: str, summary: QualitySummary) -> None:
        Exception.__init__(self, message)
        self.message = message
        self.summary = summary


def summarise(report: QualityReport) -> QualitySummary:
    return QualitySummary(
        suites=len({r.suite for r in report.results}),
        expectations=len(report.results),
        passed=sum(r.success for r in report.results),
        failed=len(report.failures),
        seconds=round(report.seconds, 3),
        docs=str(report.docs_index) if report.docs_index else None,
        failures=[asdict(r) for r in report.failures[:RECORDED_FAILURES]],
        results=[{k: v for k, v in asdict(r).items() if k != "samples"} for r in report.results],
    )


@task(name="quality", cache_policy=NO_CACHE)
def quality_task(settings: Settings, build_db: Path, catalogue: Catalogue, run_id: str) -> QualitySummary:
    built = published_build(settings)
    previous = built.quality.results if built is not None and built.quality is not None else []
    editions = {
        e.edition: gate.EditionShape(e.years, e.expected_locations, e.expected_od_rows) for e in catalogue.editions
    }
    try:
        report = gate.run_quality_gate(
            build_db, settings.quality_dir, editions, run_id, settings.duckdb_memory_limit, previous, interrupts.check
        )
    except gate.QualityFailed as exc:
        summary = summarise(exc.report)
        for failure in exc.report.failures:
            announce(f"quality: FAILED {failure.describe()}", level=logging.ERROR)
        raise QualityFailed(str(exc), summary) from None
    return summarise(report)


def check_quality(
    settings: Settings, build_db: Path, catalogue: Catalogue, run_id: str, deadline: float
) -> QualitySummary:
    announce("quality: Great Expectations suites on the raw tables and the marts")
    summary = quality_task.with_options(timeout_seconds=deadline)(settings, build_db, catalogue, run_id)
    announce(
        f"quality: {summary.passed} of {summary.expectations} expectations passed "
        f"in {summary.suites} suites; Data Docs {summary.docs}"
    )
    return summary
