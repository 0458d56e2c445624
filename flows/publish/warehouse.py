"""Publish a finished build: the only writer of what consumers read.

Readers hold read-only connections to `published/warehouse.duckdb`, and DuckDB lets a file have
one writer or many readers, never both, so nothing ever opens a published file for writing. A
publish assembles a complete new version beside the old ones (`published-versions/<run id>/`: the
database, with the run history added and checkpointed, and the Parquet copies of the marts), then
switches `published` to it with one atomic symlink replacement (`os.replace`). A reader sees the
old version or the new one, never a mix of database and Parquet from different runs; a failure or
a kill at any point before the switch leaves the old version published and untouched. The
previous version is kept after the switch, so a reader half-way through its Parquet files is not
cut off; older ones are removed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from flows.build.dbt import DOCS_FILES
from flows.durable import fsync
from flows.errors import PublishError
from flows.ingest.archive import sha256_of
from flows.results import FetchedFile, Published
from flows.run_record import RunRecord, load_records
from flows.settings import Settings

MARTS_SCHEMA = "marts"
TEST_FAILURES_SCHEMA = "test_failures"
# Build-time schemas, dropped from what is published: staging and intermediate are views over the
# landed Parquet in data/raw, which a later run (even a failed one) rewrites; a published version
# must not change under its readers. It holds the marts, whole tables.
BUILD_ONLY_SCHEMAS = (TEST_FAILURES_SCHEMA, "intermediate", "staging")
PARTIAL_PREFIX = ".partial-"
CHECKSUMS = "checksums.json"
# what `pipeline_runs.input_files` tells of each input (flows.results.FetchedFile)
INPUT_FIELDS = ("edition", "kind", "name", "status", "size", "sha256", "md5", "verdict", "official", "matched")
logger = logging.getLogger(__name__)

PIPELINE_RUNS_DDL = f"""
create or replace table {MARTS_SCHEMA}.pipeline_runs (
    run_id varchar primary key,
    started_at timestamptz,
    finished_at timestamptz,
    status varchar,
    duration_seconds double,
    editions varchar[],
    source varchar,
    input_files json,
    missing_files varchar[],
    warnings varchar[],
    rows_per_table json,
    checks_passed integer,
    checks_failed integer,
    timings json,
    error varchar
)
"""


def publish(settings: Settings, build_db: Path, record: RunRecord, docs_dir: Path | None = None) -> Published:
    """Publish the build, with the dbt docs found in `docs_dir` (dbt's target folder) under `docs/`."""
    partial = settings.versions_dir / f"{PARTIAL_PREFIX}{record.run_id}"
    version_dir = settings.versions_dir / record.run_id
    previous = _published_version(settings.published_dir)
    if not build_db.is_file():
        raise PublishError(f"no build database at {build_db}; nothing to publish")
    try:
        counts, finished = _assemble(settings, build_db, record, partial, version_dir, docs_dir)
        _switch(settings.published_dir, version_dir)
    except (OSError, duckdb.Error, PublishError) as exc:
        shutil.rmtree(partial, ignore_errors=True)
        if _published_version(settings.published_dir) != version_dir.name:
            shutil.rmtree(version_dir, ignore_errors=True)  # complete but never published
        detail = f"{exc.strerror} ({exc.filename})" if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise PublishError(
            f"could not publish to {settings.published_dir}: {detail}; the previously published warehouse is unchanged"
        ) from exc
    record.finished_at = finished
    _remove_old_versions(settings.versions_dir, keep={version_dir.name, previous or version_dir.name})
    return Published(
        warehouse=settings.warehouse_path, marts_dir=settings.marts_dir, version=version_dir.name, row_counts=counts
    )


def _assemble(
    settings: Settings, build_db: Path, record: RunRecord, partial: Path, version_dir: Path, docs_dir: Path | None
) -> tuple[dict[str, int], datetime]:
    """A complete version folder beside the published one; nothing readers see changes."""
    if partial.exists():
        shutil.rmtree(partial)
    (partial / "marts").mkdir(parents=True)
    if docs_dir is not None:
        (partial / "docs").mkdir()
        for name in DOCS_FILES:
            shutil.copyfile(docs_dir / name, partial / "docs" / name)
    finished = datetime.now(UTC)
    with duckdb.connect(str(build_db), config={"memory_limit": settings.duckdb_memory_limit}) as con:
        _write_pipeline_runs(con, settings, record, finished)
        _write_data_quality(con, record)
        _write_known_discrepancies(con, record)  # reads the intermediate schema: before it goes
        for schema in BUILD_ONLY_SCHEMAS:  # dbt's views of failing rows, and the views over data/raw
            con.execute(f"drop schema if exists {schema} cascade")
        marts = [
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = ? and table_type = 'BASE TABLE' order by table_name",
                [MARTS_SCHEMA],
            ).fetchall()
        ]
        counts: dict[str, int] = {}
        for mart in marts:
            row = con.execute(f'select count(*) from {MARTS_SCHEMA}."{mart}"').fetchone()
            counts[mart] = int(row[0]) if row else 0
            target = _sql_literal(partial / "marts" / f"{mart}.parquet")
            con.execute(f"copy {MARTS_SCHEMA}.\"{mart}\" to '{target}' (format parquet, compression zstd)")
        con.execute("checkpoint")
    if build_db.with_name(build_db.name + ".wal").exists():
        raise PublishError(f"{build_db} still has a write-ahead log after checkpoint")
    fsync(build_db)
    os.replace(build_db, partial / "warehouse.duckdb")
    _write_checksums(partial)
    os.replace(partial, version_dir)
    fsync(settings.versions_dir)
    return counts, finished


def _switch(link: Path, version_dir: Path) -> None:
    """Point `published` at the new version in one atomic step."""
    if link.exists() and not link.is_symlink():
        # a plain folder from before versioned publishing: keep it as a version, then link
        os.replace(link, version_dir.parent / f"legacy-{datetime.now(UTC):%Y%m%dT%H%M%S}")
    tmp = link.with_name(f".{link.name}-{version_dir.name}")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    tmp.symlink_to(os.path.relpath(version_dir, link.parent))
    os.replace(tmp, link)
    fsync(link.parent)


def _checked_files(version_dir: Path) -> list[Path]:
    return [version_dir / "warehouse.duckdb", *sorted((version_dir / "marts").glob("*.parquet"))]


def _write_checksums(version_dir: Path) -> None:
    """The sha256 of every published data file, so a later run can tell a damaged version."""
    sums = {str(p.relative_to(version_dir)): sha256_of(p) for p in _checked_files(version_dir)}
    target = version_dir / CHECKSUMS
    target.write_text(json.dumps(sums, indent=2) + "\n", encoding="utf-8")
    fsync(target)


def published_damage(settings: Settings) -> list[str]:
    """What is wrong with the published version's files, against the checksums written when it was
    published (empty: intact, or nothing published). A run that finds damage rebuilds instead of
    reporting "unchanged" over it."""
    link = settings.published_dir
    if not link.is_symlink():
        return []
    version_dir = link.resolve()
    try:
        sums = json.loads((version_dir / CHECKSUMS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return [f"published version {version_dir.name}: its checksums ({CHECKSUMS}) are missing or unreadable"]
    problems = []
    for path in _checked_files(version_dir):
        name = str(path.relative_to(version_dir))
        if name not in sums:
            problems.append(f"published {name}: not in the checksums written when it was published")
        elif sha256_of(path) != sums[name]:
            problems.append(f"published {name}: its bytes no longer match the checksum written when it was published")
    problems += [f"published {name}: missing" for name in sums if not (version_dir / name).is_file()]
    return problems


def _published_version(link: Path) -> str | None:
    return Path(os.readlink(link)).name if link.is_symlink() else None


def _remove_old_versions(versions_dir: Path, keep: set[str]) -> None:
    """Keep the published version and the one published before it (for a quick roll-back); remove
    the rest, including partial or never-published folders that killed runs left behind."""
    for old in versions_dir.iterdir():
        if old.name not in keep and old.is_dir():
            try:
                shutil.rmtree(old)
            except OSError as exc:  # a leftover costs disk, never correctness
                logger.warning("could not remove old published version %s: %s", old, exc)


def _write_pipeline_runs(
    con: duckdb.DuckDBPyConnection, settings: Settings, current: RunRecord, finished: datetime
) -> None:
    history = [r for r in load_records(settings.runs_dir) if r.run_id != current.run_id]
    done = current.model_copy(update={"status": "success", "finished_at": finished})
    con.execute(PIPELINE_RUNS_DDL)
    rows = []
    for r in [*history, done]:
        rows.append(
            (
                r.run_id,
                r.started_at,
                r.finished_at,
                r.status,
                r.duration_seconds,
                r.editions,
                r.source,
                json.dumps([_input_fields(i) for i in r.inputs]),
                r.missing,
                r.warnings,
                json.dumps(r.row_counts),
                r.dbt.tests_passed if r.dbt else None,
                r.dbt.tests_failed if r.dbt else None,
                json.dumps(r.timings),
                r.error.message if r.error else None,
            )
        )
    con.executemany(
        f"insert into {MARTS_SCHEMA}.pipeline_runs values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
    )


def _input_fields(i: FetchedFile) -> dict[str, object]:
    dumped = i.model_dump(mode="json")
    return {k: dumped[k] for k in INPUT_FIELDS}


DATA_QUALITY_DDL = f"""
create or replace table {MARTS_SCHEMA}.data_quality (
    run_id varchar,
    suite varchar,
    expectation varchar,
    "table" varchar,
    "column" varchar,
    release varchar,
    success boolean,
    unexpected_count bigint,
    element_count bigint,
    observed varchar,
    why varchar
)
"""


def _write_data_quality(con: duckdb.DuckDBPyConnection, record: RunRecord) -> None:
    """The quality gate's outcome for the data being published, one row per expectation."""
    con.execute(DATA_QUALITY_DDL)
    rows = [
        (
            record.run_id,
            r["suite"],
            r["expectation"],
            r["table"],
            r["column"],
            r["release"],
            r["success"],
            r["unexpected_count"],
            r["element_count"],
            r["observed"],
            r["why"],
        )
        for r in (record.quality.results if record.quality else [])
    ]
    if rows:
        con.executemany(f"insert into {MARTS_SCHEMA}.data_quality values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def _write_known_discrepancies(con: duckdb.DuckDBPyConnection, record: RunRecord) -> None:
    """The official tables' known discrepancies (dbt_project/seeds/known_discrepancies.csv) found in
    the workbooks this version was built from, each with its reason and figures, as rows of
    data_quality (suite `known_discrepancies`). Only found ones: an entry of the version read that
    is not found has failed the build already (listed_discrepancies_hold)."""
    exists = con.execute(
        "select count(*) from information_schema.tables where table_schema = 'intermediate' "
        "and table_name = 'int_known_discrepancies_observed'"
    ).fetchone()
    if not exists or not exists[0]:
        return  # a build without the reconciliation (none of its editions has an O-D table)
    con.execute(
        f"""
        insert into {MARTS_SCHEMA}.data_quality
        select
            ? as run_id,
            'known_discrepancies' as suite,
            check_name as expectation,
            about as "table",
            case
                when partner_code is not null then concat(location_code, ' from ', partner_code)
                else concat_ws(' ', location_name, '(' || location_code || ')')
            end as "column",
            release,
            observed as success,
            null as unexpected_count,
            null as element_count,
            concat_ws(', ', cast(year as varchar), sex,
                concat(coalesce(cast(reference_value as varchar), 'not available'), ' vs ',
                       coalesce(cast(observed_value as varchar), 'not available'))) as observed,
            concat(reason, ' (', source, ')',
                case when found_sha256 <> file_sha256 then concat(
                    '; listed for the workbook with sha256 ', left(file_sha256, 12),
                    ', found the same in the version read, ', left(found_sha256, 12)) end) as why
        from intermediate.int_known_discrepancies_observed
        where observed
        order by release, check_name, location_code, partner_code, year, sex
        """,
        [record.run_id],
    )


def _sql_literal(path: Path) -> str:
    return str(path).replace("'", "''")
