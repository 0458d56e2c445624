"""Publish a finished build: the only writer of what consumers read.

Readers hold read-only connections to `published/warehouse.duckdb`, and DuckDB lets a file have
one writer or many readers, never both, so nothing ever opens a published file for writing. A
publish assembles a complete new version beside the old ones (`published-versions/<run id>/`: the
database, with the run-log marts built (flows.build.run_log) and checkpointed, and the Parquet copies
of the marts), then
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
from flows.build.run_log import build_run_log
from flows.durable import fsync
from flows.errors import PublishError
from flows.ingest.archive import sha256_of
from flows.results import Published
from flows.run_record import RunRecord
from flows.settings import Settings

MARTS_SCHEMA = "marts"
TEST_FAILURES_SCHEMA = "test_failures"
# Build-time schemas, dropped from what is published: staging and intermediate are views over the
# landed Parquet in data/raw, which a later run (even a failed one) rewrites; a published version
# must not change under its readers. It holds the marts, whole tables.
BUILD_ONLY_SCHEMAS = (TEST_FAILURES_SCHEMA, "intermediate", "staging")
PARTIAL_PREFIX = ".partial-"
CHECKSUMS = "checksums.json"
logger = logging.getLogger(__name__)


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
    build_run_log(settings, build_db, record, finished)  # reads the intermediate schema: before it goes
    with duckdb.connect(str(build_db), config={"memory_limit": settings.duckdb_memory_limit}) as con:
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
        # a plain folder where the link belongs: a data dir copied without its symlinks (cp -rL,
        # shutil.copytree) holds the version's files there. Kept as a version, then linked.
        os.replace(link, version_dir.parent / f"copied-{datetime.now(UTC):%Y%m%dT%H%M%S}")
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


def _sql_literal(path: Path) -> str:
    return str(path).replace("'", "''")
