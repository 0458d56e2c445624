"""The quality gate: every suite in `suites/`, run on DataFrames read from the build database,
after dbt build and before publish.

Great Expectations cannot validate DuckDB through SQLAlchemy, so each suite names the table (or a
query) whose rows it checks; the gate reads them into pandas and validates them there. Raw-table
suites run once per edition with that edition's parameters (reference years, the classification's
country codes, the row counts the catalogue expects). Each run validates in an ephemeral Great
Expectations context, writes its Data Docs site to `<data dir>/quality/docs/`, and returns one
row per expectation for the run record and the `data_quality` mart.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from expectations.chunks import Chunk, chunks
from expectations.gx_internals import forget_batches
from expectations.results import SAMPLE_ROWS, CheckResult, QualityReport, checks_of, merge

SUITES_DIR = Path(__file__).resolve().parent / "suites"
DOCS_SITE = "quality_docs"
# Rows per validated DataFrame at most (where a table has years to split by): about 300 MB of
# pandas for the widest table, whatever the edition's size.
CHUNK_ROWS = 1_000_000
# The share of an edition's figures that may be null (not available, or lost on the way): at most
# half, and at most this much more than in the run that built the published warehouse, so a table
# that was complete and comes back mostly empty fails however its values were lost.
MAX_NULL_SHARE = 0.5
NULL_SHARE_GROWTH = 0.10
FILLED_CHECK = "expect_column_values_to_not_be_null"
FIGURE_COLUMNS = ("migrants", "population")
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EditionShape:
    """What the gate needs to know of an edition (from the release catalogue, which the pipeline
    reads): its reference years and the bounds of its expected sizes. The gate takes these plain
    figures so that it never imports the pipeline that calls it."""

    years: list[int]
    expected_locations: tuple[int, int]
    expected_od_rows: tuple[int, int]


def load_suites() -> list[dict[str, Any]]:
    """Each suite's JSON, with the query it validates from the `.sql` file beside it, if it has one
    (otherwise it validates its `table` as it is)."""
    suites = []
    for path in sorted(SUITES_DIR.glob("*.json")):
        suite = json.loads(path.read_text(encoding="utf-8"))
        sql = path.with_suffix(".sql")
        if sql.is_file():
            suite["meta"]["query"] = sql.read_text(encoding="utf-8")
        suites.append(suite)
    return suites


def run_quality_gate(
    build_db: Path,
    quality_dir: Path,
    editions: Mapping[str, EditionShape],
    run_id: str,
    memory_limit: str,
    previous: Sequence[Mapping[str, Any]] = (),
    check_stop: Callable[[], None] = lambda: None,
) -> QualityReport:
    """Validate the build; raise QualityFailed naming each failed expectation, its table, column
    and sample rows. Data Docs are built whether or not the gate passes. `previous` are the
    results of the run that built the published warehouse (its record's quality results): the
    share of null figures each edition had then bounds the share now. `check_stop` is called
    between validations, and raises to stop the gate (the pipeline's interruption check)."""
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier

    started = time.perf_counter()
    context = _context(quality_dir)
    run = _Run(
        context,
        context.data_sources.add_or_update_pandas("build"),
        RunIdentifier(run_name=run_id, run_time=datetime.now(UTC)),
    )
    results: list[CheckResult] = []
    with duckdb.connect(str(build_db), read_only=True, config={"memory_limit": memory_limit}) as con:
        classification = _country_codes(con)
        for spec in load_suites():
            suite = context.suites.add_or_update(gx.ExpectationSuite(**spec))
            meta = spec["meta"]
            per_release: dict[str | None, list[list[CheckResult]]] = {}
            source = meta.get("query") or f"select * from {meta['table']}"
            for chunk in chunks(con, source, meta.get("per_release"), CHUNK_ROWS):
                check_stop()
                params: dict[str, Any] = {}
                if chunk.release is not None:
                    edition = editions[chunk.release]
                    params = {
                        "years": edition.years,
                        "country_codes": classification.get(chunk.release, []),
                        **_row_bounds(meta.get("row_bounds"), edition, len(chunk.years or edition.years), chunk.sexes),
                        "min_filled": _min_filled(previous, spec["name"], chunk.release),
                    }
                per_release.setdefault(chunk.release, []).append(run.validate(spec, suite, chunk, params))
            for parts in per_release.values():
                results += merge(parts)
    docs = _build_docs(context, quality_dir)
    report = QualityReport(results, docs, time.perf_counter() - started)
    if report.failures:
        shown = "; ".join(r.describe() for r in report.failures[:3])
        more = f" (+{len(report.failures) - 3} more)" if len(report.failures) > 3 else ""
        raise QualityFailed(
            f"quality gate: {len(report.failures)} of {len(results)} expectations failed: {shown}{more}"
            + (f". Data Docs: {docs}" if docs else ""),
            report,
        )
    return report


@dataclass(frozen=True)
class _Run:
    """One gate run's Great Expectations context, pandas data source and run id."""

    context: Any
    source: Any
    gx_run: Any

    def validate(self, spec: dict[str, Any], suite: Any, chunk: Chunk, params: dict[str, Any]) -> list[CheckResult]:
        """One suite on one chunk, with its edition's parameters; its batch is forgotten after."""
        ids = [c for c in spec["meta"].get("id_columns", []) if c in chunk.frame.columns]
        result_format = {
            "result_format": "SUMMARY",
            "partial_unexpected_count": SAMPLE_ROWS,
            "unexpected_index_column_names": ids,
        }
        definition = _definition(self.context, self.source, suite, spec["name"] + chunk.suffix)
        outcome = definition.run(
            batch_parameters={"dataframe": chunk.frame},
            expectation_parameters=params,
            result_format=result_format,
            run_id=self.gx_run,
        )
        forget_batches(definition)
        return checks_of(spec, outcome, chunk.release)


def _min_filled(previous: Sequence[Mapping[str, Any]], suite: str, release: str) -> float:
    """The least share of non-null figures an edition's raw table may have: at most
    MAX_NULL_SHARE null, and at most NULL_SHARE_GROWTH more than in the previous build."""
    allowed = MAX_NULL_SHARE
    for result in previous:
        if (result.get("suite"), result.get("release"), result.get("expectation")) != (suite, release, FILLED_CHECK):
            continue
        nulls, rows = result.get("unexpected_count"), result.get("element_count")
        if result.get("column") in FIGURE_COLUMNS and isinstance(nulls, int) and isinstance(rows, int) and rows:
            allowed = min(MAX_NULL_SHARE, nulls / rows + NULL_SHARE_GROWTH)
    return round(1 - allowed, 6)


class QualityFailed(Exception):
    """A failed gate, carrying the full report for the run record and the data_quality mart."""

    def __init__(self, message: str, report: QualityReport) -> None:
        super().__init__(message)
        self.report = report


def _definition(context: Any, source: Any, suite: Any, asset_name: str) -> Any:
    """A validation definition on its own DataFrame asset: the asset's name is what Data Docs show
    as the batch, so each edition's validation of a raw table is its own page, not an overwrite."""
    import great_expectations as gx

    asset = source.get_asset(asset_name) if asset_name in source.get_asset_names() else None
    asset = asset or source.add_dataframe_asset(asset_name)
    batches = asset.batch_definitions
    batch = batches[0] if batches else asset.add_batch_definition_whole_dataframe("build")
    return context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=asset_name, data=batch, suite=suite)
    )


def _context(quality_dir: Path) -> Any:
    """An ephemeral context: suites, assets and validation definitions live in memory for the run.

    A file context rewrote great_expectations.yml on every asset and definition it added or
    updated (52 writes a run, 2 s of YAML); nothing in it needs keeping, since the suites are the
    JSON files in `suites/` and each run's results go to the run record and the Data Docs site,
    which is still written to `<quality_dir>/docs`."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    from expectations.offline_docs import site_config

    quality_dir.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="ephemeral")
    context.add_data_docs_site(site_name=DOCS_SITE, site_config=site_config((quality_dir / "docs").resolve()))  # type: ignore[arg-type]
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return context


def _build_docs(context: Any, quality_dir: Path) -> Path | None:
    try:
        context.build_data_docs(site_names=[DOCS_SITE])
    except Exception as exc:  # noqa: BLE001 - the docs are a view of the results, never a reason to fail
        logger.warning("could not build the Data Docs: %s", exc)
        return None
    index = quality_dir / "docs" / "index.html"
    return index if index.is_file() else None


def _country_codes(con: duckdb.DuckDBPyConnection) -> dict[str, list[int]]:
    rows = con.execute(
        "select release, list(location_code order by location_code) from staging.stg_undesa__locations "
        "where is_country group by release"
    ).fetchall()
    return {str(release): list(codes) for release, codes in rows}


def _row_bounds(kind: str | None, edition: EditionShape, years: int, sexes: int) -> dict[str, int]:
    """Row-count bounds for a raw table (or the given number of its years), from the edition's
    expected sizes in the catalogue, per year and per sex the table holds (the 2015 and 2017
    origin-destination copies hold both sexes only)."""
    if kind is None:
        return {}
    per_year_and_sex = years * sexes
    low, high = {
        "locations": edition.expected_locations,
        "od_rows": edition.expected_od_rows,
        "classification": edition.expected_locations,
    }[kind]
    scale = 1 if kind == "classification" else per_year_and_sex
    return {"min_rows": low * scale, "max_rows": high * scale}
