"""The `refresh` flow: detect -> fetch -> parse -> dbt build -> quality -> docs -> publish.

Each step is one call to a stage (flows/ingest, flows/parse, flows/build, flows/publish) that
returns a typed result; the recorder (flows.recorder) keeps each in the run record. A failure at
any step stops the run before publish: readers keep the last good warehouse, the run record and
the Prefect run say which step broke and why. Unchanged inputs (same sha256, same parser version)
are not parsed again, and a run that finds nothing changed stops after `detect`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow

from flows import interrupts
from flows.build.quality import check_quality
from flows.build.transform import document, new_build_db, transform
from flows.ingest.changes import compare_bytes
from flows.ingest.detect import detect
from flows.ingest.fetch_all import fetch_all, require_buildable
from flows.ops.lock import refresh_lock
from flows.parse.parse_all import parse_all
from flows.publish.publish_build import publish_build
from flows.recorder import Recorder
from flows.run_record import new_run_id
from flows.settings import Settings, SettingsError, load_settings


@flow(name="refresh", log_prints=False)
def refresh(
    source_dir: str | None = None,
    data_dir: str | None = None,
    catalogue: str | None = None,
    run_id: str | None = None,
    force: bool = False,
    accept_new_versions: bool = False,
) -> dict[str, Any]:
    """Refresh the warehouse from the catalogued releases; returns the run record. Does nothing
    beyond asking the sources when no file changed since the published build, unless `force`.
    A file that matches no version the catalogue knows is refused unless `accept_new_versions`
    (or MIGRATION_ETL_ACCEPT_NEW_VERSIONS) says to accept it."""
    settings, refused = _settings(source_dir, data_dir, catalogue, accept_new_versions)
    with refresh_lock(settings.root), interrupts.watching(), Recorder(settings, run_id or new_run_id(), force) as run:
        if refused is not None:
            raise refused
        with run.step("detect"):
            detected = run.detected(detect(settings, force, run.deadline("detect")))
        with run.step("fetch"):
            fetched = run.fetched(fetch_all(detected.catalogue, settings))
            require_buildable(detected.catalogue, fetched)
            run.compared(detected, compare_bytes(detected.base, detected.fingerprint, fetched.files))
        with run.step("parse"):
            run.parsed(parse_all(detected.catalogue, fetched.files, settings))
        with run.step("dbt"):
            build_db = new_build_db(settings)
            run.built(transform(settings, build_db))
        with run.step("quality"):
            run.checked(check_quality(settings, build_db, detected.catalogue, run.run_id, run.deadline("quality")))
        with run.step("docs"):
            docs_dir = document(settings, build_db, run.deadline("docs"))
        with run.step("publish"):
            run.published(publish_build(settings, build_db, run.record, docs_dir, run.deadline("publish")))
    return run.record.model_dump(mode="json")


def _settings(
    source_dir: str | None, data_dir: str | None, catalogue: str | None, accept_new_versions: bool
) -> tuple[Settings, SettingsError | None]:
    """The run's settings; settings that cannot be used are returned as the refusal to record, with
    the data directory and webhook that were usable (no data directory: nothing to record in)."""
    overrides: dict[str, Any] = {}
    if accept_new_versions:
        overrides["accept_new_versions"] = True
    for name, value in (("source_dir", source_dir), ("data_dir", data_dir), ("catalogue", catalogue)):
        if value is not None:
            overrides[name] = Path(value)
    try:
        return load_settings(**overrides), None
    except SettingsError as exc:
        if exc.fallback is None:
            raise
        return exc.fallback, exc
