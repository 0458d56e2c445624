"""Step `dbt`: the landed tables through dbt (staging -> intermediate -> marts, with tests) into a
fresh build database; and step `docs`: dbt docs of that build.

The build database is never the published one: publish moves it into a new version only after the
quality gate passed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from flows.build.dbt import generate_docs, run_dbt_build
from flows.build.facts import known_discrepancies, release_facts
from flows.log import announce
from flows.results import DbtSummary, ReleaseFacts
from flows.settings import Settings

BUILD_FOLDER = "current"  # data/build/current/warehouse.duckdb: the run being built


@task(name="dbt-build", cache_policy=NO_CACHE)  # its own deadline: Settings.dbt_timeout_seconds
def dbt_build_task(settings: Settings, build_db: Path) -> DbtSummary:
    return run_dbt_build(settings, build_db)


@task(name="dbt-docs", cache_policy=NO_CACHE)
def dbt_docs_task(settings: Settings, build_db: Path) -> Path:
    return generate_docs(settings, build_db)


def new_build_db(settings: Settings) -> Path:
    """A fresh build folder for this run; what an earlier (failed or killed) run left is removed.

    Always the same path: dbt's partial parsing keys on the profile, the database path included,
    and a path per run made every build re-parse the whole project (3.5 s)."""
    run_dir = settings.build_dir / BUILD_FOLDER
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    return run_dir / "warehouse.duckdb"


def transform(settings: Settings, build_db: Path) -> tuple[DbtSummary, list[ReleaseFacts]]:
    """dbt build, then what the build says of each edition and of the listed discrepancies."""
    announce("dbt build: staging -> intermediate -> marts, with tests")
    summary = dbt_build_task(settings, build_db)
    summary.known_discrepancies = known_discrepancies(build_db, settings.duckdb_memory_limit)
    announce(
        f"dbt build: {summary.models} models, {summary.tests_passed} tests passed "
        f"({summary.unit_tests} unit tests), {summary.tests_failed} failed"
    )
    return summary, release_facts(build_db, settings.duckdb_memory_limit)


def document(settings: Settings, build_db: Path, deadline: float) -> Path:
    docs_dir = dbt_docs_task.with_options(timeout_seconds=deadline)(settings, build_db)
    announce("docs: dbt docs generated (lineage, column docs, the app as an exposure)")
    return docs_dir
