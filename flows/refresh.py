"""The `refresh` flow: fetch -> parse -> dbt build -> publish, one Prefect task per step.

A failure at any step stops the run before publish: readers keep the last good warehouse, the
run record and the Prefect run say which step broke and why. Unchanged inputs (same sha256, same
parser version) are not parsed again.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.task_engine import TaskRunTimeoutError

from expectations.gate import QualityFailed, QualityReport, run_quality_gate
from flows import interrupts
from flows.alerts import alert_on_failure, notify_accepted
from flows.archive import remove_stale_incoming
from flows.build_facts import known_discrepancies, release_facts
from flows.catalogue import Catalogue, Edition, FileKind, load_catalogue
from flows.changes import ChangeReport, ask_sources, baseline, build_fingerprint, compare_bytes, published_build
from flows.dbt_build import DbtSummary, generate_docs, run_dbt_build
from flows.errors import EtlError, FetchError, ParseError, StepFailed, StepTimeout, UnknownVersion, bounded
from flows.fetch import FetchedFile, fetch_file
from flows.interrupts import STOP, signal_name, signal_of
from flows.landing import (
    land,
    land_catalogue,
    land_missing,
    landed_rows,
    landed_sexes,
    landed_state,
    prune,
    remove_partial_files,
)
from flows.lock import refresh_lock
from flows.parsers import streaming_parser_for
from flows.publish import Published, publish, published_damage
from flows.report import publish_artifacts
from flows.run_record import RunRecord, new_run_id
from flows.settings import Settings, SettingsError, load_settings
from flows.steps import announce

BUILD_FOLDER = "current"  # data/build/current/warehouse.duckdb: the run being built
TRANSIENT_ERRNOS = {errno.EAGAIN, errno.EINTR, errno.EIO, errno.EBUSY, errno.ESTALE, errno.ECONNRESET, errno.ETIMEDOUT}


def _transient(task: Any, task_run: Any, state: Any) -> bool:
    """Retry only what another try can fix: an interrupted or flaky read or write. A wrong file, a
    failed test, a full disk, a refused permission or a timeout fails the same way again, and
    says so at once."""
    try:
        state.result()
    except TimeoutError:
        return False
    except OSError as exc:
        return exc.errno in TRANSIENT_ERRNOS
    except BaseException:  # noqa: BLE001 - anything else is not worth a second try
        return False
    return False


@task(name="detect-changes", retries=2, retry_delay_seconds=5, retry_condition_fn=_transient, cache_policy=NO_CACHE)
def detect_task(cat: Catalogue, settings: Settings, base: RunRecord | None, fingerprint: str) -> ChangeReport:
    return ask_sources(cat, settings, base, fingerprint)


@task(
    name="fetch",
    task_run_name="fetch-{edition.edition}-{kind}",
    retries=1,
    retry_delay_seconds=10,
    retry_condition_fn=_transient,
    cache_policy=NO_CACHE,  # no Prefect timeout: it runs in a worker thread; the download keeps its own deadline
)
def fetch_task(edition: Edition, kind: str, settings: Settings) -> FetchedFile:
    spec = edition.file(FileKind(kind))
    assert spec is not None
    return fetch_file(edition, spec, settings)


@task(
    name="parse",
    task_run_name="parse-{fetched.edition}-{fetched.kind}",
    retries=1,
    retry_condition_fn=_transient,
    cache_policy=NO_CACHE,
)
def parse_task(fetched: FetchedFile, edition: Edition, settings: Settings) -> dict[str, Any]:
    kind = fetched.kind.value
    outcome: dict[str, Any] = {"edition": fetched.edition, "kind": kind, "name": fetched.name, "sha256": fetched.sha256}
    started = time.perf_counter()
    if fetched.status == "missing" or fetched.path is None or fetched.sha256 is None:
        outcome.update(status="missing", rows=land_missing(settings.raw_dir, kind, fetched.edition))
    else:
        landed, damaged = landed_state(settings.raw_dir, kind, fetched.edition, fetched.sha256)
        if landed:
            outcome.update(
                status="unchanged", rows=landed_rows(settings.raw_dir, kind, fetched.edition, fetched.sha256)
            )
        else:
            tables = streaming_parser_for(fetched.kind)(fetched.path, fetched.sha256, edition)
            outcome.update(status="parsed", rows=land(settings.raw_dir, fetched.edition, tables, fetched.sha256))
        if damaged:
            outcome["repaired"] = [f"{d}; parsed again from the archived {fetched.name}" for d in damaged]
    if fetched.kind == FileKind.ORIGIN_DESTINATION and fetched.sha256 is not None and fetched.sexes is not None:
        _check_sexes(fetched, landed_sexes(settings.raw_dir, "od_stock", fetched.edition, fetched.sha256))
    outcome["seconds"] = round(time.perf_counter() - started, 3)
    return outcome


def _check_sexes(fetched: FetchedFile, landed: set[str]) -> None:
    """A table must give the sexes its catalogued version gives: an official matrix that lost its
    male and female tables is not quietly published as both sexes only (the 2015 and 2017 copies
    here are catalogued with both sexes only). A version the catalogue does not know (unverified,
    accepted) is taken as it comes."""
    expected = set(fetched.sexes or ())
    if landed != expected:
        order = ("total", "male", "female")
        said = ", ".join(s for s in order if s in landed) or "nothing"
        wanted = ", ".join(s for s in order if s in expected)
        raise ParseError(
            fetched.name,
            f"gives {said}, but its version ({fetched.verdict}) gives {wanted}: a table of the workbook is missing",
        )


@task(name="dbt-build", cache_policy=NO_CACHE)  # its own deadline: Settings.dbt_timeout_seconds
def dbt_build_task(settings: Settings, build_db: Path) -> DbtSummary:
    return run_dbt_build(settings, build_db)


@task(name="dbt-docs", cache_policy=NO_CACHE)
def dbt_docs_task(settings: Settings, build_db: Path) -> Path:
    return generate_docs(settings, build_db)


@task(name="quality", cache_policy=NO_CACHE)
def quality_task(settings: Settings, build_db: Path, catalogue: Catalogue, run_id: str) -> QualityReport:
    built = published_build(settings)
    previous = (built.quality or {}).get("results", []) if built is not None else []
    return run_quality_gate(build_db, settings.quality_dir, catalogue, run_id, settings.duckdb_memory_limit, previous)


@task(name="publish", cache_policy=NO_CACHE)  # never retried: the build was moved into it
def publish_task(settings: Settings, build_db: Path, record: RunRecord, docs_dir: Path) -> Published:
    return publish(settings, build_db, record, docs_dir)


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
    overrides: dict[str, Any] = {}
    if accept_new_versions:
        overrides["accept_new_versions"] = True
    if source_dir is not None:
        overrides["source_dir"] = Path(source_dir)
    if data_dir is not None:
        overrides["data_dir"] = Path(data_dir)
    if catalogue is not None:
        overrides["catalogue"] = Path(catalogue)
    refused: SettingsError | None = None
    try:
        settings = load_settings(**overrides)
    except SettingsError as exc:
        if exc.fallback is None:  # no data directory to record the refusal in
            raise
        settings, refused = exc.fallback, exc
    with refresh_lock(settings.root), interrupts.watching():
        record = run_refresh(settings, run_id or new_run_id(), force=force, refused=refused)
    return record.model_dump(mode="json")


def reset_peak_memory() -> None:
    """Start a new high-water mark of this process's resident memory (Linux: writing 5 to
    /proc/self/clear_refs resets VmHWM), so each step's peak is its own, not the run's so far."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def peak_memory_mb() -> float | None:
    """Peak resident memory since the last reset, in MB (None where /proc is not available)."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


# The setting that bounds each step's task (fetch keeps its own deadline per download, dbt its own).
DEADLINES = {
    "detect": "detect_timeout_seconds",
    "parse": "parse_timeout_seconds",
    "quality": "quality_timeout_seconds",
    "docs": "docs_timeout_seconds",
    "publish": "publish_timeout_seconds",
}


class _Steps:
    """Times each step into the run record, remembers which one is running, and turns a task that
    ran past its step's deadline into one message naming the step and the setting."""

    def __init__(self, record: RunRecord, settings: Settings) -> None:
        self.record = record
        self.settings = settings
        self.current = "refresh"

    def deadline(self, step: str) -> float:
        return float(getattr(self.settings, DEADLINES[step]))

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        interrupts.check()
        self.current = "dbt build" if name == "dbt" else name  # as its errors name it (BuildError.step)
        reset_peak_memory()
        started = time.perf_counter()
        try:
            yield
            interrupts.check()
        except TaskRunTimeoutError:
            field = DEADLINES[name]
            raise StepTimeout(name, self.deadline(name), f"MIGRATION_ETL_{field.upper()}") from None
        except EtlError:
            raise
        except Exception as exc:
            interrupts.check()  # after a signal, whatever broke is the interruption, not a failure
            raise StepFailed(self.current, None, exc) from exc
        finally:
            self.record.timings[name] = round(time.perf_counter() - started, 3)
            peak = peak_memory_mb()
            if peak is not None:
                self.record.peak_memory_mb[name] = peak


def run_refresh(settings: Settings, run_id: str, force: bool = False, refused: EtlError | None = None) -> RunRecord:
    """The refresh itself. `refused`: settings that could not be used (the run is recorded as
    failed at that step, and alerted, with the data directory and webhook that were usable)."""
    started = time.perf_counter()
    record = RunRecord(
        run_id=run_id,
        flow_run_id=flow_run.get_id(),
        started_at=datetime.now(UTC),
        data_dir=str(settings.root),
        source=f"mirror:{settings.source_dir.expanduser().resolve()}" if settings.source_dir else "http",
        catalogue=str(settings.catalogue),
        forced=force,
    )
    try:
        record.save(settings.runs_dir)
    except OSError as exc:  # nothing has run yet: say so plainly (a full disk, a read-only data dir)
        raise StepFailed("start", f"saving the run record in {settings.runs_dir}", exc) from exc
    step = _Steps(record, settings)
    base: RunRecord | None = None
    try:
        if refused is not None:
            raise refused
        with step("detect"):
            cat = load_catalogue(settings.catalogue)
            record.editions = [e.edition for e in cat.editions]
            base = baseline(settings)
            record.build_fingerprint = build_fingerprint(settings, settings.catalogue)
            asked = detect_task.with_options(timeout_seconds=step.deadline("detect"))(
                cat, settings, base, record.build_fingerprint
            )
            record.changes = asked.as_record()
            damaged = published_damage(settings) if base is not None else []
            for problem in damaged:
                announce(f"detect: DAMAGED {problem}; rebuilding", level=logging.WARNING)
            record.repairs += [f"{problem}; rebuilt" for problem in damaged]
            rebuild = force or bool(damaged)
            if base is not None and not asked.changed and not rebuild:
                _finish_unchanged(record, base, "every source answered that its file is the same")
                return record
            why = _why(asked, force) if asked.changed or force else "nothing changed; rebuilding the damaged version"
            announce(f"detect: {why}")
        with step("fetch"):
            fetched = _fetch_all(cat, settings)
            record.inputs = [f.as_record() for f in fetched]
            record.missing = [
                f"{f.edition} {f.kind.value} ({f.name}): {f.reason}" for f in fetched if f.status == "missing"
            ]
            record.warnings = [
                f"{f.edition} {f.kind.value} ({f.name}): {text}" for f in fetched for text in _identity_warnings(f)
            ]
            record.repairs += [f.repaired for f in fetched if f.repaired]
            _check_editions_usable(cat, fetched)
            checked = compare_bytes(base, record.build_fingerprint, record.inputs)
            record.changes = checked.as_record()
            if base is not None and not checked.changed and not rebuild:
                _finish_unchanged(record, base, "the sources' metadata moved but every file's bytes are the same")
                return record
            how = "forced" if force else "repair" if damaged else "changed"
            _name_run(f"refresh-{_changed_editions(checked, cat)}-{how}")
        with step("parse"):
            record.parse = _parse_all(cat, fetched, settings)
            record.repairs += [r for outcome in record.parse for r in outcome.get("repaired", [])]
        with step("dbt"):
            build_db = _new_build_db(settings)
            announce("dbt build: staging -> intermediate -> marts, with tests")
            summary = dbt_build_task(settings, build_db)
            record.dbt = summary.as_record()
            record.releases = [f.as_record() for f in release_facts(build_db, settings.duckdb_memory_limit)]
            record.dbt["known_discrepancies"] = known_discrepancies(build_db, settings.duckdb_memory_limit)
            announce(
                f"dbt build: {summary.models} models, {summary.tests_passed} tests passed "
                f"({summary.unit_tests} unit tests), {summary.tests_failed} failed"
            )
        with step("quality"):
            announce("quality: Great Expectations suites on the raw tables and the marts")
            try:
                report = quality_task.with_options(timeout_seconds=step.deadline("quality"))(
                    settings, build_db, cat, run_id
                )
            except QualityFailed as exc:
                record.quality = exc.report.as_record()
                for failure in exc.report.failures:
                    announce(f"quality: FAILED {failure.describe()}", level=logging.ERROR)
                raise
            record.quality = report.as_record()
            announce(
                f"quality: {record.quality['passed']} of {record.quality['expectations']} expectations passed "
                f"in {record.quality['suites']} suites; Data Docs {report.docs_index}"
            )
        with step("docs"):
            docs_dir = dbt_docs_task.with_options(timeout_seconds=step.deadline("docs"))(settings, build_db)
            announce("docs: dbt docs generated (lineage, column docs, the app as an exposure)")
        with step("publish"):
            published = publish_task.with_options(timeout_seconds=step.deadline("publish"))(
                settings, build_db, record, docs_dir
            )
            record.row_counts = published.row_counts
            record.warehouse = str(published.warehouse)
            record.published_version = published.version
            shutil.rmtree(build_db.parent, ignore_errors=True)
            announce(
                f"published version {published.version}: {published.warehouse}, "
                f"{len(published.row_counts)} marts as Parquet, dbt docs in {settings.published_dir / 'docs'}"
            )
        record.status = "success"
    except BaseException as exc:  # also a cancel, Ctrl-C or SIGTERM: the record must not stay "running"
        signum = signal_of(exc) or interrupts.signalled()
        where = exc.step if isinstance(exc, EtlError) else step.current
        if signum is not None:
            STOP.set()  # threads still working (downloads) give up at their next chunk
            record.status = "interrupted"
            message = f"interrupted by {signal_name(signum)} at step {where}; nothing was published"
            record.error = {"step": where, "type": "Interrupted", "message": message}
            _name_run(f"refresh-interrupted-at-{where}")
            if signal_of(exc) is None:  # something broke as the signal tore the step down: the signal is the news
                raise interrupts.Interrupted(signum) from exc
        else:
            record.status = "failed"
            record.error = {
                "step": where,
                "type": type(exc).__name__,
                "message": bounded(str(exc)) or type(exc).__name__,
            }
            _name_run(f"refresh-failed-at-{where}")
        raise
    finally:
        record.finished_at = record.finished_at or datetime.now(UTC)
        record.timings["total"] = round(time.perf_counter() - started, 3)
        _save(record, settings)
        interrupted = record.error is not None and record.error["type"] == "Interrupted"
        if record.error is not None and not interrupted:  # an operator's interruption is not alerted
            record.alert = alert_on_failure(record, settings)  # after the save: a slow webhook loses nothing
            _save(record, settings)
        elif record.status == "success" and (announce_files := _first_published_acceptances(record, base)):
            record.notice = notify_accepted(record, settings, announce_files)
            _save(record, settings)
        if not interrupted:
            publish_artifacts(record)
    return record


def _save(record: RunRecord, settings: Settings) -> None:
    """Save the record; a failure to save (a full disk) is logged, never raised over the run's own
    outcome, which would hide the error that ended the run behind the one that recorded it."""
    try:
        record.save(settings.runs_dir)
    except OSError as exc:
        announce(f"could not save the run record in {settings.runs_dir}: {exc.strerror or exc}", level=logging.ERROR)


def _first_published_acceptances(record: RunRecord, base: RunRecord | None) -> list[dict[str, Any]]:
    """Accepted versions this run published and the warehouse it replaced did not hold: announced
    once, by the run that first publishes them, even when the run that accepted them failed."""
    before = {i.get("sha256") for i in base.inputs} if base is not None else set()
    return [i for i in record.inputs if i.get("verdict") == "accepted new version" and i.get("sha256") not in before]


def _finish_unchanged(record: RunRecord, base: RunRecord, how: str) -> None:
    """Nothing to rebuild: the published warehouse already reflects these inputs."""
    record.status = "unchanged"
    if not record.inputs:
        record.inputs, record.missing, record.warnings = base.inputs, base.missing, base.warnings
    record.warehouse = base.warehouse
    record.row_counts = base.row_counts
    record.published_version = base.published_version
    announce(f"detect: unchanged since run {base.run_id} ({how}); nothing rebuilt, the published warehouse stays")
    _name_run(f"refresh-{'-'.join(record.editions)}-unchanged")


def _why(report: ChangeReport, force: bool) -> str:
    if force:
        return "--force: rebuilding" + ("" if report.changed else " although nothing changed")
    files = {f.describe() for f in report.files}
    reasons = [r for r in report.reasons if r not in files]
    reasons += [f.describe() for f in report.files if f.verdict in ("new", "changed", "removed")]
    unsure = [f.name for f in report.files if f.verdict == "unknown"]
    if unsure:
        reasons.append(
            f"{len(unsure)} file(s) to compare by sha256 ({', '.join(unsure[:3])}{', ...' if len(unsure) > 3 else ''})"
        )
    return "; ".join(reasons)


def _changed_editions(report: ChangeReport, cat: Catalogue) -> str:
    editions = sorted({f.edition for f in report.files if f.verdict != "same"}, reverse=True)
    return "-".join(editions or [e.edition for e in cat.editions])


def _name_run(name: str) -> None:
    """Say in the flow run's name what the run did, for whoever scans the Prefect UI's run list."""
    run_id = flow_run.get_id()
    if run_id is None:
        return
    from uuid import UUID

    from prefect.client.orchestration import get_client

    try:
        with get_client(sync_client=True) as client:
            client.update_flow_run(UUID(str(run_id)), name=name)
    except Exception as exc:  # noqa: BLE001 - a name is never worth failing a run for
        logging.getLogger(__name__).warning("could not rename flow run %s: %s", run_id, exc)


def _fetch_all(cat: Catalogue, settings: Settings) -> list[FetchedFile]:
    remove_stale_incoming(settings.releases_dir)
    where = f"mirror {settings.source_dir}" if settings.source_dir else "the UN DESA site"
    announce(
        f"fetch: {sum(len(e.ingested) for e in cat.editions)} files of editions "
        f"{', '.join(e.edition for e in cat.editions)} from {where}"
    )
    futures = [
        (spec.name, fetch_task.submit(edition, spec.kind.value, settings))
        for edition in cat.editions
        for spec in edition.ingested
    ]
    results, refused = [], []
    for name, future in futures:  # every file is fetched and judged, so a refusal names them all
        try:
            results.append(future.result())
        except UnknownVersion as exc:
            refused.append(exc)
        except EtlError:
            raise
        except Exception as exc:
            interrupts.check()  # after a signal, whatever broke is the interruption, not a failure
            raise StepFailed("fetch", name, exc) from exc
    if refused:
        texts: dict[tuple[str, str], str] = {}  # a file several editions list (the classification) once
        for refusal in refused:
            for key, text in zip(refusal.files, refusal.refusals, strict=True):
                texts.setdefault(key, text)
        raise UnknownVersion(list(texts.values()), refused[0].advice, list(texts))
    for f in results:
        if f.status == "missing":
            announce(f"fetch: {f.edition} {f.kind.value}: MISSING, {f.reason}; going on without it")
        else:
            verdict = f.verdict if f.official else (f.verdict or "").upper()
            matched = f", matched: {f.matched}" if f.matched else ""
            new = "archived" if f.newly_archived else "already archived"
            if f.repaired:
                announce(f"fetch: REPAIRED {f.repaired}", level=logging.WARNING)
            stand_in = f" ({f.reason})" if f.reason else ""
            sha = (f.sha256 or "")[:12]
            announce(f"fetch: {f.edition} {f.kind.value}: sha256 {sha}, {verdict}{matched}, {new}{stand_in}")
    return results


def _identity_warnings(f: FetchedFile) -> list[str]:
    """What a reader must know about a file that is not plainly the official one."""
    if f.status == "missing":
        return []
    notes = [f.reason] if f.reason else []
    if not f.official:
        notes.append(f"{f.verdict}" + (f", matched: {f.matched}" if f.matched else ""))
    return notes + list(f.notes)


def _check_editions_usable(cat: Catalogue, fetched: list[FetchedFile]) -> None:
    """An edition needs its classification and, for each side, a totals workbook or the O-D table."""
    have = {(f.edition, f.kind) for f in fetched if f.status == "fetched"}
    for edition in cat.editions:

        def has(kind: FileKind, ed: str = edition.edition) -> bool:
            return (ed, kind) in have

        problems = []
        if not has(FileKind.CLASSIFICATION):
            problems.append("no classification file")
        if not (has(FileKind.DESTINATION) or has(FileKind.ORIGIN_DESTINATION)):
            problems.append("neither a destination nor an origin-destination workbook (no immigrant totals)")
        if not (has(FileKind.ORIGIN) or has(FileKind.ORIGIN_DESTINATION)):
            problems.append("neither an origin nor an origin-destination workbook (no emigrant totals)")
        if problems:
            missing = [f.name for f in fetched if f.edition == edition.edition and f.status == "missing"]
            raise FetchError(
                f"edition {edition.edition} cannot be built: {'; '.join(problems)} (missing: {', '.join(missing)})"
            )


def _parse_all(cat: Catalogue, fetched: list[FetchedFile], settings: Settings) -> list[dict[str, Any]]:
    for leftover in remove_partial_files(settings.raw_dir):
        announce(f"parse: removed {leftover}, left half-written by an interrupted run")
    outcomes = []
    for f in fetched:
        interrupts.check()
        try:
            outcome = parse_task.with_options(timeout_seconds=settings.parse_timeout_seconds)(
                f, cat.edition(f.edition), settings
            )
        except (EtlError, TaskRunTimeoutError):
            raise
        except Exception as exc:
            interrupts.check()  # after a signal, whatever broke is the interruption, not a failure
            raise StepFailed("parse", f.name, exc) from exc
        rows = ", ".join(f"{t} {n:,}" for t, n in outcome["rows"].items())
        for repair in outcome.get("repaired", []):
            announce(f"parse: REPAIRED {repair}", level=logging.WARNING)
        announce(f"parse: {f.edition} {f.kind.value}: {outcome['status']} ({rows}) {outcome['seconds']:.2f}s")
        outcomes.append(outcome)
    for removed in prune(settings.raw_dir, {e.edition for e in cat.editions}):
        announce(f"parse: removed {removed}, an edition no longer in the catalogue")
    land_catalogue(settings.raw_dir, cat)
    return outcomes


def _new_build_db(settings: Settings) -> Path:
    """A fresh build folder for this run; leftovers of earlier (failed or killed) runs are removed.

    Always the same path: dbt's partial parsing keys on the profile, the database path included,
    and a path per run made every build re-parse the whole project (3.5 s)."""
    settings.build_dir.mkdir(parents=True, exist_ok=True)
    for old in settings.build_dir.iterdir():
        if old.is_dir() and (old.name.startswith("run-") or old.name == BUILD_FOLDER):
            shutil.rmtree(old, ignore_errors=True)
    run_dir = settings.build_dir / BUILD_FOLDER
    run_dir.mkdir()
    return run_dir / "warehouse.duckdb"
