"""The publish protocol on small hand-made build databases: one atomic switch, old versions kept
for readers, and a failure that leaves the published warehouse exactly as it was."""

from __future__ import annotations

import errno
import os
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

import flows.publish.warehouse
from flows.errors import PublishError
from flows.ingest.changes import baseline
from flows.publish.warehouse import publish
from flows.run_record import RunRecord
from flows.settings import Settings
from tests.conftest import sha256


def build(settings: Settings, run_id: str, value: int) -> tuple[Path, RunRecord]:
    folder = settings.build_dir / f"run-{run_id}"
    folder.mkdir(parents=True)
    db = folder / "warehouse.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.corridors as select ? as migrants", [value])
    record = RunRecord(
        run_id=run_id, started_at=datetime.now(UTC), data_dir=str(settings.root), source="test", catalogue="test"
    )
    record.save(settings.runs_dir)
    return db, record


def read(path: Path) -> int:
    with duckdb.connect(str(path), read_only=True) as con:
        row = con.execute("select migrants from marts.corridors").fetchone()
        assert row is not None
        return int(row[0])


def test_publish_switches_database_and_parquet_together(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    db, record = build(settings, "r1", 1)
    published = publish(settings, db, record)
    assert published.row_counts == {"corridors": 1, "data_quality": 0, "pipeline_runs": 1}
    assert settings.published_dir.is_symlink()
    assert os.readlink(settings.published_dir) == "published-versions/r1"
    assert read(settings.warehouse_path) == 1
    with duckdb.connect() as con:
        parquet = settings.marts_dir / "corridors.parquet"
        assert con.execute(f"select migrants from read_parquet('{parquet}')").fetchone() == (1,)
    assert not db.exists(), "the build database became the published one"


def test_readers_keep_their_version_and_two_versions_are_kept(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    publish(settings, *build(settings, "r1", 1))
    reader = duckdb.connect(str(settings.warehouse_path), read_only=True)
    publish(settings, *build(settings, "r2", 2))
    assert reader.execute("select migrants from marts.corridors").fetchone() == (1,)
    assert read(settings.warehouse_path) == 2
    publish(settings, *build(settings, "r3", 3))
    assert sorted(p.name for p in settings.versions_dir.iterdir()) == ["r2", "r3"]
    assert reader.execute("select migrants from marts.corridors").fetchone() == (1,), "open files outlive removal"
    reader.close()
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        runs = con.execute("select run_id, status from marts.pipeline_runs order by run_id").fetchall()
    assert runs == [("r1", "running"), ("r2", "running"), ("r3", "success")]


def test_a_failed_switch_leaves_the_published_warehouse_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(data_dir=tmp_path)
    publish(settings, *build(settings, "r1", 1))
    before = sha256(settings.warehouse_path)
    parquet_before = sha256(settings.marts_dir / "corridors.parquet")

    def disk_full(link: Path, version_dir: Path) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(link))

    monkeypatch.setattr(flows.publish.warehouse, "_switch", disk_full)
    db, record = build(settings, "r2", 2)
    with pytest.raises(
        PublishError,
        match=r"No space left on device .*; the previously published warehouse is "
        r"unchanged",
    ):
        publish(settings, db, record)
    assert os.readlink(settings.published_dir) == "published-versions/r1"
    assert sha256(settings.warehouse_path) == before
    assert sha256(settings.marts_dir / "corridors.parquet") == parquet_before
    assert [p.name for p in settings.versions_dir.iterdir()] == ["r1"], "nothing half-published is left behind"


def test_publishing_the_same_build_twice_never_removes_the_live_version(tmp_path: Path) -> None:
    """A second attempt at a publish that already switched (a retried task) finds no build and
    stops; the version it published stays published and readable."""
    settings = Settings(data_dir=tmp_path)
    db, record = build(settings, "r1", 1)
    publish(settings, db, record)
    with pytest.raises(PublishError, match="no build database at"):
        publish(settings, db, record)
    assert os.readlink(settings.published_dir) == "published-versions/r1"
    assert read(settings.warehouse_path) == 1


def test_the_change_baseline_is_the_run_that_published_the_live_version(tmp_path: Path) -> None:
    """Change detection compares with the last good run only while `published` still points at the
    version that run published: after a run that published but died before saving its record, or a
    roll-back by hand, there is no baseline and the next run rebuilds."""
    settings = Settings(data_dir=tmp_path)
    assert baseline(settings) is None, "nothing published"
    db, record = build(settings, "r1", 1)
    publish(settings, db, record)
    good = record.model_copy(update={"status": "success", "published_version": "r1"})
    good.save(settings.runs_dir)
    assert baseline(settings) == good
    unchanged = good.model_copy(update={"run_id": "r2", "status": "unchanged", "started_at": datetime.now(UTC)})
    unchanged.save(settings.runs_dir)
    assert baseline(settings) == unchanged
    db, killed = build(settings, "r3", 3)  # published, then killed: its record still says "running"
    publish(settings, db, killed)
    assert baseline(settings) is None
    settings.published_dir.unlink()  # a roll-back by hand to the version r1 published
    settings.published_dir.symlink_to("published-versions/r1")
    assert baseline(settings) == unchanged
