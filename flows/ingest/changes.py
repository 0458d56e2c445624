"""Did anything change since the published warehouse was built? Asked cheaply, answered by bytes.

A scheduled refresh mostly finds nothing new, so it should cost seconds, not a rebuild. The
baseline is the last run that ended with a published warehouse matching its inputs (status
"success", or "unchanged" after one). Two questions, cheapest first:

1. Before fetching, each source is asked whether its file changed: a mirror file by its size and
   modification time (no hashing), an HTTP file by a conditional request (ETag / Last-Modified,
   answered 304 without a body). When every file answers "same" and the build's own inputs (the
   catalogue, the parsers, the dbt project, the suites) are the same, the run stops there.
2. Otherwise the files are fetched and hashed. A source whose metadata moved but whose bytes did
   not (a copied mirror, a re-uploaded file) still ends "unchanged"; any sha256 that differs from
   the baseline's is a new version of its edition, and the run rebuilds and names the file.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import httpx

from flows.ingest.catalogue import Catalogue, Edition, ReleaseFile
from flows.ingest.http import RedirectRefused, source_client
from flows.results import ChangeReport, ChangeVerdict, FetchedFile, FileChange
from flows.run_record import RunRecord, load_records
from flows.settings import PROJECT_DIR, Settings

# Besides the release files, what the published result depends on (see build_fingerprint).
CODE_DIRS = ["flows", "expectations"]
SKIP_DIRS = {"__pycache__", "target", "logs", "dbt_packages", ".mypy_cache"}
SKIP_SUFFIXES = {".pyc", ".msgpack"}
BUILD_CHANGED = "the catalogue, the pipeline's code or the dbt project changed since the baseline"


def baseline(settings: Settings) -> RunRecord | None:
    """The latest run whose inputs the published warehouse reflects: the newest success or
    unchanged record, and only if the version it published (or found) is the one `published`
    points at now. A run that published but died before saving its record, or a hand roll-back,
    leaves no baseline, and the next run rebuilds."""
    link = settings.published_dir
    if not link.is_symlink() or not settings.warehouse_path.is_file():
        return None
    current = Path(os.readlink(link)).name
    for record in reversed(load_records(settings.runs_dir)):
        if record.status in ("success", "unchanged"):
            return record if record.published_version == current else None
    return None


def published_build(settings: Settings) -> RunRecord | None:
    """The run that built the version `published` points at (its checks' results are the
    yardstick for this build's), if its record is still there."""
    link = settings.published_dir
    if not link.is_symlink():
        return None
    current = Path(os.readlink(link)).name
    return next(
        (
            r
            for r in reversed(load_records(settings.runs_dir))
            if r.status == "success" and r.published_version == current
        ),
        None,
    )


def build_fingerprint(settings: Settings, catalogue_path: Path) -> str:
    """One hash of everything besides the release files that shapes what is published: the
    catalogue, the pipeline's code (parsers, publish, the quality gate and its suites) and the dbt
    project. A deployed change to any of them rebuilds even when no workbook changed."""
    h = hashlib.sha256(catalogue_path.read_bytes())
    roots = [*(PROJECT_DIR / name for name in CODE_DIRS), settings.dbt_project_dir]
    for root in roots:
        for path in sorted(root.rglob("*")):
            parts = set(path.relative_to(root).parts)
            if path.is_file() and not parts & SKIP_DIRS and path.suffix not in SKIP_SUFFIXES:
                h.update(f"\n{root.name}/{path.relative_to(root)}\n".encode())
                h.update(path.read_bytes())
    return h.hexdigest()


def ask_sources(cat: Catalogue, settings: Settings, base: RunRecord | None, fingerprint: str) -> ChangeReport:
    """Step 1: the cheap question, without reading any file's bytes."""
    report = _against(base, fingerprint)
    if base is None:
        return report
    before = {i.key: i for i in base.inputs}
    for edition in cat.editions:
        for spec in edition.ingested:
            report.add(_ask(edition, spec, before.get((edition.edition, spec.kind.value)), settings))
    _add_removed(report, before, {(e.edition, f.kind.value) for e in cat.editions for f in e.ingested})
    return report


def compare_bytes(base: RunRecord | None, fingerprint: str, inputs: list[FetchedFile]) -> ChangeReport:
    """Step 2, after the fetch: the verdict by sha256. Metadata that moved over identical bytes is
    not a change; different bytes are, whatever the metadata said."""
    report = _against(base, fingerprint)
    if base is None:
        return report
    before = {i.key: i for i in base.inputs}
    for i in inputs:
        old, sha = before.get(i.key), i.sha256
        if old is None:
            verdict: ChangeVerdict = "new"
            detail = f"sha256 {sha[:12]}" if sha else "missing at the source"
        elif old.sha256 == sha:
            verdict, detail = "same", f"sha256 {sha[:12]} as before" if sha else "still missing"
        else:
            verdict, detail = "changed", f"sha256 {_short(old.sha256)} -> {_short(sha)}"
        report.add(_change((*i.key, i.name), verdict, detail))
    _add_removed(report, before, {i.key for i in inputs})
    return report


def _against(base: RunRecord | None, fingerprint: str) -> ChangeReport:
    report = ChangeReport(baseline_run=base.run_id if base else None, build_fingerprint=fingerprint)
    if base is None:
        report.reasons.append("no baseline: nothing is published, or not the version the last good run recorded")
    elif base.build_fingerprint != fingerprint:
        report.reasons.append(BUILD_CHANGED)
    return report


Inputs = dict[tuple[str, str], FetchedFile]  # (edition, kind) -> the baseline's input


def _add_removed(report: ChangeReport, before: Inputs, now: set[tuple[str, str]]) -> None:
    for (edition, kind), old in sorted(before.items()):
        if (edition, kind) not in now:
            report.add(_change((edition, kind, old.name), "removed", "no longer in the catalogue"))


def _change(where: tuple[str, str, str], verdict: ChangeVerdict, detail: str) -> FileChange:
    edition, kind, name = where
    return FileChange(edition=edition, kind=kind, name=name, verdict=verdict, detail=detail)


def _short(sha: str | None) -> str:
    return sha[:12] if sha else "missing"


def _ask(edition: Edition, spec: ReleaseFile, old: FetchedFile | None, settings: Settings) -> FileChange:
    where = (edition.edition, spec.kind.value, spec.name)
    if old is None:
        return _change(where, "new", "not in the baseline")
    if settings.source_dir is not None:
        return _ask_mirror(settings.source_dir.expanduser().resolve() / spec.name, old, where)
    if spec.url is None:
        return _change(where, "same", "exported by hand; not asked over HTTP")
    with source_client(settings, spec.name, spec.url, edition.allowed_hosts or ()) as client:
        return _ask_http(client, spec.url, old, where)


IDENTITY = ("source_size", "source_mtime_ns", "source_ctime_ns", "source_inode")


def _identity(stat: os.stat_result) -> dict[str, int]:
    """What a mirror file's stat says about its bytes without reading them. The change time and
    inode catch a file copied in with its old modification time kept (cp -p, rsync -t)."""
    return dict(zip(IDENTITY, (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino), strict=True))


def _ask_mirror(path: Path, old: FetchedFile, where: tuple[str, str, str]) -> FileChange:
    try:
        stat = path.stat()
    except FileNotFoundError:
        if old.status == "missing" or old.origin.startswith("archive:"):
            return _change(where, "same", "still not in the mirror")
        return _change(where, "unknown", "no longer in the mirror")
    if old.status == "missing":
        return _change(where, "new", "now in the mirror")
    if _identity(stat) == {k: getattr(old, k) for k in IDENTITY}:
        return _change(where, "same", "size, times and inode as before")
    return _change(where, "unknown", "size, times or inode differ; the bytes decide")


def _ask_http(client: httpx.Client, url: str, old: FetchedFile, where: tuple[str, str, str]) -> FileChange:
    headers = {}
    if old.etag:
        headers["If-None-Match"] = old.etag
    if old.last_modified:
        headers["If-Modified-Since"] = old.last_modified
    if not headers:
        return _change(where, "unknown", "the server gave no ETag or Last-Modified last time")
    try:
        with client.stream("GET", url, headers=headers) as response:  # the body is never read
            status = response.status_code
    except (httpx.HTTPError, RedirectRefused) as exc:
        return _change(where, "unknown", f"could not ask {url} ({type(exc).__name__}); the fetch decides")
    if status == 304:
        return _change(where, "same", "HTTP 304 Not Modified")
    return _change(where, "unknown", f"HTTP {status} to a conditional request")
