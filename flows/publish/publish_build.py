"""Step `publish`: the checked build becomes the published version (flows.publish.warehouse)."""

from __future__ import annotations

import shutil
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from flows.log import announce
from flows.publish.warehouse import publish
from flows.results import Published
from flows.run_record import RunRecord
from flows.settings import Settings


@task(name="publish", cache_policy=NO_CACHE)  # never retried: the build was moved into it
def publish_task(settings: Settings, build_db: Path, record: RunRecord, docs_dir: Path) -> Published:
    return publish(settings, build_db, record, docs_dir)


def publish_build(settings: Settings, build_db: Path, record: RunRecord, docs_dir: Path, deadline: float) -> Published:
    published = publish_task.with_options(timeout_seconds=deadline)(settings, build_db, record, docs_dir)
    shutil.rmtree(build_db.parent, ignore_errors=True)
    announce(
        f"published version {published.version}: {published.warehouse}, "
        f"{len(published.row_counts)} marts as Parquet, dbt docs in {settings.published_dir / 'docs'}"
    )
    return published
