"""Step `fetch`: every catalogued file, fetched (in parallel) and judged, into the archive.

Every file is fetched and judged before any refusal is raised, so one message names every file
whose version the catalogue does not know. An edition that lacks what it cannot be built without
fails here, before anything is parsed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from prefect import task
from prefect.cache_policies import NO_CACHE

from flows import interrupts
from flows.errors import EtlError, FetchError, StepFailed, UnknownVersion, transient
from flows.ingest.archive import remove_stale_incoming
from flows.ingest.catalogue import Catalogue, Edition, FileKind
from flows.ingest.fetch import fetch_file
from flows.log import announce
from flows.results import FetchedFile
from flows.settings import Settings


@dataclass(frozen=True)
class Fetched:
    files: list[FetchedFile]

    @property
    def missing(self) -> list[str]:
        return [f"{f.label}: {f.reason}" for f in self.files if f.status == "missing"]

    @property
    def warnings(self) -> list[str]:
        """What a reader must know about each file that is not plainly the official one."""
        return [f"{f.label}: {text}" for f in self.files for text in _identity_warnings(f)]

    @property
    def repairs(self) -> list[str]:
        return [f.repaired for f in self.files if f.repaired]


@task(
    name="fetch",
    task_run_name="fetch-{edition.edition}-{kind}",
    retries=1,
    retry_delay_seconds=10,
    retry_condition_fn=transient,
    cache_policy=NO_CACHE,  # no Prefect timeout: it runs in a worker thread; the download keeps its own deadline
)
def fetch_task(edition: Edition, kind: str, settings: Settings) -> FetchedFile:
    spec = edition.file(FileKind(kind))
    assert spec is not None
    return fetch_file(edition, spec, settings)


def fetch_all(cat: Catalogue, settings: Settings) -> Fetched:
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
        _announce(f)
    return Fetched(results)


def _announce(f: FetchedFile) -> None:
    if f.status == "missing":
        announce(f"fetch: {f.edition} {f.kind.value}: MISSING, {f.reason}; going on without it")
        return
    verdict = f.verdict if f.official else (f.verdict or "").upper()
    matched = f", matched: {f.matched}" if f.matched else ""
    new = "archived" if f.newly_archived else "already archived"
    if f.repaired:
        announce(f"fetch: REPAIRED {f.repaired}", level=logging.WARNING)
    stand_in = f" ({f.reason})" if f.reason else ""
    sha = (f.sha256 or "")[:12]
    announce(f"fetch: {f.edition} {f.kind.value}: sha256 {sha}, {verdict}{matched}, {new}{stand_in}")


def _identity_warnings(f: FetchedFile) -> list[str]:
    if f.status == "missing":
        return []
    notes = [f.reason] if f.reason else []
    if not f.official:
        notes.append(f"{f.verdict}" + (f", matched: {f.matched}" if f.matched else ""))
    return notes + list(f.notes)


def require_buildable(cat: Catalogue, fetched: Fetched) -> None:
    """An edition needs its classification and, for each side, a totals workbook or the O-D table.
    Checked after the fetch is recorded, so the record of a run that stops here lists the files."""
    have = {(f.edition, f.kind) for f in fetched.files if f.status == "fetched"}
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
            missing = [f.name for f in fetched.files if f.edition == edition.edition and f.status == "missing"]
            raise FetchError(
                f"edition {edition.edition} cannot be built: {'; '.join(problems)} (missing: {', '.join(missing)})"
            )
