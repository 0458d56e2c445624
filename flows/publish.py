"""Publish a finished build: the only writer of `<data dir>/published/`.

Readers hold read-only connections to `published/warehouse.duckdb`, and DuckDB lets a file have
one writer or many readers, never both, so nothing ever opens the published file for writing.
The build database is completed elsewhere (run history added, checkpointed, closed), then moved
over the published file with one atomic rename: a reader sees the old warehouse or the new one,
never half of each, and a failure at any point before the rename leaves the old one untouched.
The Parquet copies of the marts are written to a new folder and switched in with an atomic
symlink swap, so they too change all at once.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from flows.durable import fsync
from flows.errors import PublishError
from flows.run_record import RunRecord, load_records
from flows.settings import Settings

MARTS_SCHEMA = "marts"
VERSIONED_PREFIX = ".marts-"

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
    rows_per_table json,
    checks_passed integer,
    checks_failed integer,
    timings json,
    error varchar
)
"""


@dataclass(frozen=True)
class Published:
    warehouse: Path
    marts_dir: Path
    row_counts: dict[str, int]


def publish(settings: Settings, build_db: Path, record: RunRecord) -> Published:
    try:
        return _publish(settings, build_db, record)
    except PublishError:
        raise
    except OSError as exc:
        raise PublishError(
            f"could not publish to {settings.published_dir}: {exc.strerror or exc} "
            f"({exc.filename or ''}); the previously published warehouse is unchanged"
        ) from exc
    except duckdb.Error as exc:
        raise PublishError(f"could not finish the build database {build_db}: {exc}") from exc


def _publish(settings: Settings, build_db: Path, record: RunRecord) -> Published:
    settings.published_dir.mkdir(parents=True, exist_ok=True)
    stage = settings.published_dir / f"{VERSIONED_PREFIX}{record.run_id}"
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir()
    finished = datetime.now(UTC)
    with duckdb.connect(str(build_db)) as con:
        _write_pipeline_runs(con, settings, record, finished)
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
            con.execute(
                f"copy (select * from {MARTS_SCHEMA}.\"{mart}\") to '{_sql_literal(stage / (mart + '.parquet'))}' "
                "(format parquet, compression zstd)"
            )
        con.execute("checkpoint")
    if build_db.with_name(build_db.name + ".wal").exists():
        raise PublishError(f"{build_db} still has a write-ahead log after checkpoint; not publishing it")
    fsync(build_db)
    os.replace(build_db, settings.warehouse_path)
    fsync(settings.published_dir)
    _swap_marts_link(settings.marts_dir, stage)
    _remove_old_versions(settings.published_dir, keep=stage.name)
    record.finished_at = finished
    return Published(settings.warehouse_path, settings.marts_dir, counts)


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
                json.dumps(
                    [
                        {k: i.get(k) for k in ("edition", "kind", "name", "status", "sha256", "size", "checksum")}
                        for i in r.inputs
                    ]
                ),
                r.missing,
                json.dumps(r.row_counts),
                r.dbt.get("tests_passed"),
                r.dbt.get("tests_failed"),
                json.dumps(r.timings),
                (r.error or {}).get("message"),
            )
        )
    con.executemany(f"insert into {MARTS_SCHEMA}.pipeline_runs values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def _sql_literal(path: Path) -> str:
    return str(path).replace("'", "''")


def _swap_marts_link(link: Path, target: Path) -> None:
    if link.exists() and not link.is_symlink():
        shutil.rmtree(link)  # a plain folder from an older layout
    tmp = link.with_name(f".{link.name}-link-{target.name}")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    tmp.symlink_to(target.name)
    os.replace(tmp, link)
    fsync(link.parent)


def _remove_old_versions(published_dir: Path, keep: str) -> None:
    for old in published_dir.glob(f"{VERSIONED_PREFIX}*"):
        if old.name != keep and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
