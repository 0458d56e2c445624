"""The recorder: the one owner of a run's record (flows.run_record), from its start to its alert.

It saves the record when the run starts (a killed run leaves one that says "running"), times each
step and its peak memory, takes each stage's typed result as it comes, turns whatever ends the run
(a failure, a step past its deadline, a signal) into the record's status and error, then saves it,
alerts on a failure, announces newly accepted versions, and attaches the Prefect report.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from prefect.runtime import flow_run
from prefect.task_engine import TaskRunTimeoutError

from flows import interrupts, log
from flows.build.quality import QualityFailed
from flows.errors import EtlError, StepFailed, StepTimeout, bounded
from flows.ingest.detect import Detected
from flows.ingest.fetch_all import Fetched
from flows.interrupts import STOP, signal_name, signal_of
from flows.log import announce
from flows.ops.alerts import alert_on_failure, notify_accepted
from flows.ops.report import publish_artifacts
from flows.results import (
    ChangeReport,
    DbtSummary,
    FetchedFile,
    ParseOutcome,
    Published,
    QualitySummary,
    ReleaseFacts,
    RunError,
)
from flows.run_record import RunRecord
from flows.settings import Settings

# The setting that bounds each step's task (fetch keeps its own deadline per download, dbt its own).
DEADLINES = {
    "detect": "detect_timeout_seconds",
    "parse": "parse_timeout_seconds",
    "quality": "quality_timeout_seconds",
    "docs": "docs_timeout_seconds",
    "publish": "publish_timeout_seconds",
}


class _Unchanged(Exception):
    pass


class Recorder:
    def __init__(self, settings: Settings, run_id: str, force: bool) -> None:
        self.settings = settings
        self.current = "refresh"  # the step running, as its errors name it
        self.base: RunRecord | None = None
        self._started = time.perf_counter()
        self.record = RunRecord(
            run_id=run_id,
            flow_run_id=flow_run.get_id(),
            started_at=datetime.now(UTC),
            data_dir=str(settings.root),
            source=f"mirror:{settings.source_dir.expanduser().resolve()}" if settings.source_dir else "http",
            catalogue=str(settings.catalogue),
            forced=force,
        )

    @property
    def run_id(self) -> str:
        return self.record.run_id

    def __enter__(self) -> Recorder:
        log.at(self.run_id, "start")
        try:
            self.record.save(self.settings.runs_dir)
        except OSError as exc:  # nothing has run yet: say so plainly (a full disk, a read-only data dir)
            raise StepFailed("start", f"saving the run record in {self.settings.runs_dir}", exc) from exc
        return self

    def deadline(self, step: str) -> float:
        return float(getattr(self.settings, DEADLINES[step]))

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Time the step into the record, with its peak memory; a task past its deadline becomes
        one message naming the step and the setting."""
        interrupts.check()
        self.current = "dbt build" if name == "dbt" else name  # as its errors name it (BuildError.step)
        log.at(self.run_id, self.current)
        reset_peak_memory()
        started = time.perf_counter()
        try:
            yield
            interrupts.check()
        except TaskRunTimeoutError:
            field = DEADLINES[name]
            raise StepTimeout(name, self.deadline(name), f"MIGRATION_ETL_{field.upper()}") from None
        except (EtlError, _Unchanged):
            raise
        except Exception as exc:
            interrupts.check()  # after a signal, whatever broke is the interruption, not a failure
            raise StepFailed(self.current, None, exc) from exc
        finally:
            self.record.timings[name] = round(time.perf_counter() - started, 3)
            peak = peak_memory_mb()
            if peak is not None:
                self.record.peak_memory_mb[name] = peak

    # -- each stage's result, kept as it is --------------------------------------------------

    def detected(self, detected: Detected) -> Detected:
        self.base = detected.base
        self.record.editions = [e.edition for e in detected.catalogue.editions]
        self.record.build_fingerprint = detected.fingerprint
        self.record.changes = _with_rebuild_reasons(detected.changes, detected)
        self.record.repairs += [f"{problem}; rebuilt" for problem in detected.damaged]
        if detected.unchanged(detected.changes):
            self.finish_unchanged("every source answered that its file is the same")
        return detected

    def fetched(self, fetched: Fetched) -> Fetched:
        self.record.inputs = list(fetched.files)
        self.record.missing = fetched.missing
        self.record.warnings = fetched.warnings
        self.record.repairs += fetched.repairs
        return fetched

    def compared(self, detected: Detected, changes: ChangeReport) -> None:
        self.record.changes = _with_rebuild_reasons(changes, detected)
        if detected.unchanged(changes):
            self.finish_unchanged("the sources' metadata moved but every file's bytes are the same")
        editions = sorted({f.edition for f in changes.files if f.verdict != "same"}, reverse=True)
        name_run(f"refresh-{'-'.join(editions or self.record.editions)}-{detected.how}")

    def parsed(self, outcomes: list[ParseOutcome]) -> None:
        self.record.parse = outcomes
        self.record.repairs += [r for outcome in outcomes for r in outcome.repaired]

    def built(self, built: tuple[DbtSummary, list[ReleaseFacts]]) -> None:
        self.record.dbt, self.record.releases = built

    def checked(self, quality: QualitySummary) -> None:
        self.record.quality = quality

    def published(self, published: Published) -> None:
        self.record.row_counts = published.row_counts
        self.record.warehouse = str(published.warehouse)
        self.record.published_version = published.version

    def finish_unchanged(self, how: str) -> None:
        """Nothing to rebuild: the published warehouse already reflects these inputs. Ends the
        flow's body (the recorder's `with` block), which then saves the record."""
        base, record = self.base, self.record
        assert base is not None
        record.status = "unchanged"
        if not record.inputs:
            record.inputs, record.missing, record.warnings = base.inputs, base.missing, base.warnings
        record.warehouse = base.warehouse
        record.row_counts = base.row_counts
        record.published_version = base.published_version
        announce(f"detect: unchanged since run {base.run_id} ({how}); nothing rebuilt, the published warehouse stays")
        name_run(f"refresh-{'-'.join(record.editions)}-unchanged")
        raise _Unchanged

    # -- the end of the run ------------------------------------------------------------------

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> bool:
        try:
            if exc is None:
                self.record.status = "success"
            elif not isinstance(exc, _Unchanged):
                self._ended_by(exc)
        finally:
            self._close()
        return isinstance(exc, _Unchanged)

    def _ended_by(self, exc: BaseException) -> None:
        """Also a cancel, Ctrl-C or SIGTERM: the record must not stay "running"."""
        record = self.record
        if isinstance(exc, QualityFailed):
            record.quality = exc.summary
        signum = signal_of(exc) or interrupts.signalled()
        where = exc.step if isinstance(exc, EtlError) else self.current
        if signum is not None:
            STOP.set()  # threads still working (downloads) give up at their next chunk
            record.status = "interrupted"
            message = f"interrupted by {signal_name(signum)} at step {where}; nothing was published"
            record.error = RunError(step=where, type="Interrupted", message=message)
            name_run(f"refresh-interrupted-at-{where}")
            if signal_of(exc) is None:  # something broke as the signal tore the step down: the signal is the news
                raise interrupts.Interrupted(signum) from exc
        else:
            record.status = "failed"
            message = bounded(str(exc)) or type(exc).__name__
            record.error = RunError(step=where, type=type(exc).__name__, message=message)
            name_run(f"refresh-failed-at-{where}")

    def _close(self) -> None:
        record, settings = self.record, self.settings
        record.finished_at = record.finished_at or datetime.now(UTC)
        record.timings["total"] = round(time.perf_counter() - self._started, 3)
        self._save()
        interrupted = record.error is not None and record.error.type == "Interrupted"
        if record.error is not None and not interrupted:  # an operator's interruption is not alerted
            record.alert = alert_on_failure(record, settings)  # after the save: a slow webhook loses nothing
            self._save()
        elif record.status == "success" and (accepted := first_published_acceptances(record, self.base)):
            record.notice = notify_accepted(record, settings, accepted)
            self._save()
        if not interrupted:
            publish_artifacts(record)

    def _save(self) -> None:
        """A failure to save (a full disk) is logged, never raised over the run's own outcome,
        which would hide the error that ended the run behind the one that recorded it."""
        try:
            self.record.save(self.settings.runs_dir)
        except OSError as exc:
            where = self.settings.runs_dir
            announce(f"could not save the run record in {where}: {exc.strerror or exc}", level=logging.ERROR)


FORCED = "--force: rebuilt whatever the sources said"


def _with_rebuild_reasons(changes: ChangeReport, detected: Detected) -> ChangeReport:
    """The record's copy of the changes, saying why the run rebuilds when the files did not: a
    forced run, or damage found in the published version or the archive (its `rebuild` is then
    true, as the run's own behaviour is)."""
    extra = [FORCED] if detected.forced else []
    extra += [f"damaged: {problem}" for problem in detected.damaged]
    if not extra:
        return changes
    return changes.model_copy(update={"reasons": [*changes.reasons, *(r for r in extra if r not in changes.reasons)]})


def first_published_acceptances(record: RunRecord, base: RunRecord | None) -> list[FetchedFile]:
    """Accepted versions this run published and the warehouse it replaced did not hold: announced
    once, by the run that first publishes them, even when the run that accepted them failed."""
    before = {i.sha256 for i in base.inputs} if base is not None else set()
    return [i for i in record.inputs if i.verdict == "accepted new version" and i.sha256 not in before]


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


def name_run(name: str) -> None:
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
