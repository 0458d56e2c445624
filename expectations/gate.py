"""The quality gate: every suite in `suites/`, run on DataFrames read from the build database,
after dbt build and before publish.

Great Expectations cannot validate DuckDB through SQLAlchemy, so each suite names the table (or a
query) whose rows it checks; the gate reads them into pandas and validates them there. Raw-table
suites run once per edition with that edition's parameters (reference years, the classification's
country codes, the row counts the catalogue expects). Results go to a Great Expectations file
context under `<data dir>/quality/`, whose Data Docs site is rebuilt every run, and come back as
one row per expectation for the run record and the `data_quality` mart.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from flows.catalogue import Catalogue
from flows.errors import EtlError

SUITES_DIR = Path(__file__).resolve().parent / "suites"
DOCS_SITE = "quality_docs"
SAMPLE_ROWS = 5
SEXES = 3
logger = logging.getLogger(__name__)


class QualityError(EtlError):
    step = "quality"


@dataclass
class CheckResult:
    """One expectation's outcome on one table (and edition, for raw tables)."""

    suite: str
    expectation: str
    table: str
    column: str | None
    release: str | None
    success: bool
    unexpected_count: int | None
    element_count: int | None
    observed: str | None
    why: str | None = None
    samples: list[dict[str, Any]] = field(default_factory=list)

    def describe(self) -> str:
        where = f"{self.table}.{self.column}" if self.column else self.table
        scope = f" [release {self.release}]" if self.release else ""
        if self.unexpected_count:
            what = f"{self.unexpected_count:,} of {self.element_count:,} rows unexpected"
        else:
            what = f"observed {self.observed}"
        sample = f"; e.g. {self.samples[0]}" if self.samples else ""
        return f"{self.suite}{scope}: {self.expectation} on {where}: {what}{sample}"


@dataclass
class QualityReport:
    results: list[CheckResult]
    docs_index: Path | None
    seconds: float

    @property
    def failures(self) -> list[CheckResult]:
        return [r for r in self.results if not r.success]

    def as_record(self) -> dict[str, Any]:
        return {
            "suites": len({r.suite for r in self.results}),
            "expectations": len(self.results),
            "passed": sum(r.success for r in self.results),
            "failed": len(self.failures),
            "seconds": round(self.seconds, 3),
            "docs": str(self.docs_index) if self.docs_index else None,
            "failures": [asdict(r) for r in self.failures[:20]],
            "results": [{k: v for k, v in asdict(r).items() if k != "samples"} for r in self.results],
        }


def load_suites() -> list[dict[str, Any]]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(SUITES_DIR.glob("*.json"))]


def run_quality_gate(build_db: Path, quality_dir: Path, catalogue: Catalogue, run_id: str) -> QualityReport:
    """Validate the build; raise QualityError naming each failed expectation, its table, column
    and sample rows. Data Docs are built whether or not the gate passes."""
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier

    started = time.perf_counter()
    context = _context(quality_dir)
    source = context.data_sources.add_or_update_pandas("build")
    gx_run = RunIdentifier(run_name=run_id, run_time=datetime.now(UTC))
    results: list[CheckResult] = []
    with duckdb.connect(str(build_db), read_only=True) as con:
        classification = _country_codes(con)
        for spec in load_suites():
            meta = spec["meta"]
            frame = con.execute(meta.get("query") or f"select * from {meta['table']}").df()
            suite = context.suites.add_or_update(gx.ExpectationSuite(**spec))
            ids = [c for c in meta.get("id_columns", []) if c in frame.columns]
            result_format = {
                "result_format": "SUMMARY",
                "partial_unexpected_count": SAMPLE_ROWS,
                "unexpected_index_column_names": ids,
            }
            if meta.get("per_release"):
                for release, part in frame.groupby("release", sort=True):
                    edition = catalogue.edition(str(release))
                    params = {
                        "years": edition.years,
                        "country_codes": classification.get(str(release), []),
                        **_row_bounds(meta.get("row_bounds"), edition),
                    }
                    definition = _definition(context, source, suite, f"{spec['name']}_release_{release}")
                    outcome = definition.run(
                        batch_parameters={"dataframe": part.reset_index(drop=True)},
                        expectation_parameters=params,
                        result_format=result_format,
                        run_id=gx_run,
                    )
                    results += _checks(spec, outcome, str(release))
            else:
                definition = _definition(context, source, suite, spec["name"])
                outcome = definition.run(
                    batch_parameters={"dataframe": frame}, result_format=result_format, run_id=gx_run
                )
                results += _checks(spec, outcome, None)
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


class QualityFailed(QualityError):
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
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    from expectations.offline_docs import site_config

    quality_dir.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="file", project_root_dir=str(quality_dir))
    site = site_config((quality_dir / "docs").resolve())
    if DOCS_SITE not in context.list_data_docs_sites():
        context.add_data_docs_site(site_name=DOCS_SITE, site_config=site)  # type: ignore[arg-type]
    elif context.list_data_docs_sites()[DOCS_SITE] != site:
        context.update_data_docs_site(site_name=DOCS_SITE, site_config=site)  # type: ignore[arg-type]
    bars: Any = context.variables.progress_bars  # a config object when new, a dict when read back from disk
    shown = bars is None or (bars.get("globally", True) if isinstance(bars, dict) else bars.globally)
    if shown:
        context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        context.variables.save()
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


def _row_bounds(kind: str | None, edition: Any) -> dict[str, int]:
    """Row-count bounds for a raw table, from the edition's expected sizes in the catalogue."""
    if kind is None:
        return {}
    per_year_and_sex = len(edition.years) * SEXES
    low, high = {
        "locations": edition.expected_locations,
        "od_rows": edition.expected_od_rows,
        "classification": edition.expected_locations,
    }[kind]
    scale = 1 if kind == "classification" else per_year_and_sex
    return {"min_rows": low * scale, "max_rows": high * scale}


def _checks(spec: dict[str, Any], outcome: Any, release: str | None) -> list[CheckResult]:
    table = spec["meta"]["table"]
    checks = []
    for r in outcome.results:
        config = r.expectation_config
        kwargs = config.kwargs
        column = kwargs.get("column") or (",".join(kwargs["column_list"]) if "column_list" in kwargs else None)
        result = r.result or {}
        samples = [_plain(s) for s in (result.get("partial_unexpected_index_list") or [])[:SAMPLE_ROWS]]
        if not samples and result.get("partial_unexpected_list"):
            samples = [{"value": _plain(v)} for v in result["partial_unexpected_list"][:SAMPLE_ROWS]]
        observed = result.get("observed_value")
        if r.exception_info and r.exception_info.get("raised_exception"):
            observed = f"error: {r.exception_info.get('exception_message')}"
        checks.append(
            CheckResult(
                suite=spec["name"],
                expectation=config.type,
                table=table,
                column=column,
                release=release,
                success=bool(r.success),
                unexpected_count=result.get("unexpected_count"),
                element_count=result.get("element_count"),
                observed=None if observed is None else str(_plain(observed)),
                why=(config.meta or {}).get("why"),
                samples=samples,
            )
        )
    return checks


def _plain(value: Any) -> Any:
    """numpy and pandas scalars to plain JSON values."""
    return json.loads(json.dumps(value, default=lambda v: v.item() if hasattr(v, "item") else str(v)))
