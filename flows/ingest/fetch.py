"""Fetch each catalogued file from a local mirror or over HTTP into the immutable archive.

A file the source does not have (absent from the mirror, HTTP 404/410) is taken from the archive
when an earlier run stored it, so a file withdrawn upstream never silently empties marts that were
built from it; only a file that was never obtained is reported as missing, and the refresh goes on
with what exists. Every file fetched is judged against the versions the catalogue knows
(flows.ingest.identity) before it is archived. Anything else that goes wrong (refused, unreachable after
retries, too large, not a workbook, an unknown version not accepted) fails the run before anything
is parsed.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from tenacity import (
    RetryCallState,
    RetryError,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from flows.errors import FetchError, UnknownVersion
from flows.ingest.archive import Archived, Incoming, archived_copies, archived_copy, incoming, verified_copy
from flows.ingest.catalogue import Edition, ReleaseFile
from flows.ingest.changes import published_build
from flows.ingest.http import source_client, too_many_redirects
from flows.ingest.identity import (
    ACCEPT_ADVICE,
    CHUNK,
    FileIdentity,
    Verdict,
    find_acceptance,
    judge,
    record_acceptance,
    refusal,
)
from flows.interrupts import stopped
from flows.results import FetchedFile
from flows.run_record import load_records
from flows.settings import Settings

MISSING_STATUSES = {404, 410}
MAX_RETRY_AFTER_SECONDS = 300
# Errors no retry can fix: the URL itself is wrong.
PERMANENT_TRANSPORT_ERRORS = (httpx.UnsupportedProtocol, httpx.LocalProtocolError)


class _Retryable(Exception):
    """An HTTP answer worth asking again for (server error, rate limit)."""

    def __init__(self, status: int, url: str, retry_after: float | None) -> None:
        super().__init__(f"HTTP {status} from {url}")
        self.status = status
        self.retry_after = retry_after


class Deadline:
    """The time one file's fetch may take, start to end, retries included: a server trickling a
    byte a second satisfies every per-read timeout and would hold the run for as long as it likes.
    Checked between chunks, with the refresh's interruption."""

    def __init__(self, name: str, seconds: float) -> None:
        self.name = name
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    def check(self, where: str, received: int) -> None:
        stopped(f"{self.name}: fetch from {where}")
        if time.monotonic() > self.at:
            raise FetchError(
                f"{self.name}: the fetch from {where} did not finish within {self.seconds:g} s "
                f"(MIGRATION_ETL_FETCH_TIMEOUT_SECONDS; {received:,} bytes received); stopped"
            )


def fetch_file(edition: Edition, spec: ReleaseFile, settings: Settings) -> FetchedFile:
    deadline = Deadline(spec.name, settings.fetch_timeout_seconds)
    if settings.source_dir is not None:
        return fetch_from_mirror(edition, spec, settings, deadline)
    return fetch_over_http(edition, spec, settings, deadline)


def fetch_from_mirror(
    edition: Edition, spec: ReleaseFile, settings: Settings, deadline: Deadline | None = None
) -> FetchedFile:
    assert settings.source_dir is not None
    deadline = deadline or Deadline(spec.name, settings.fetch_timeout_seconds)
    source = settings.source_dir.expanduser().resolve() / spec.name
    if not source.is_file():
        return _not_at_source(edition, spec, settings, f"mirror:{source}", f"not in the mirror {source.parent}")
    with incoming(settings.releases_dir, spec.name, settings.http_max_bytes) as inc, open(source, "rb") as fh:
        stat = os.fstat(fh.fileno())  # of the bytes read, not of whatever replaces them later
        while chunk := fh.read(CHUNK):
            inc.write(chunk)
            deadline.check(str(source), inc.size)
        fetched = _admit(inc, edition, spec, settings, f"mirror:{source}")
    return fetched.model_copy(
        update={
            "source_size": stat.st_size,
            "source_mtime_ns": stat.st_mtime_ns,
            "source_ctime_ns": stat.st_ctime_ns,
            "source_inode": stat.st_ino,
        }
    )


def fetch_over_http(
    edition: Edition, spec: ReleaseFile, settings: Settings, deadline: Deadline | None = None
) -> FetchedFile:
    deadline = deadline or Deadline(spec.name, settings.fetch_timeout_seconds)
    if spec.url is None:  # exported by hand from a web page: only a mirror (or the archive) has it
        reason = f"no download address: export it from {spec.download_page} into a mirror (--source-dir)"
        return _not_at_source(edition, spec, settings, str(spec.download_page), reason)
    url = spec.url
    backoff = wait_exponential(multiplier=settings.http_backoff_seconds, max=60)

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        seconds = backoff(state)
        if isinstance(exc, _Retryable) and exc.retry_after is not None:
            seconds = max(seconds, min(exc.retry_after, MAX_RETRY_AFTER_SECONDS))
        return min(seconds, deadline.remaining())  # then the next try finds the deadline passed

    retrying = Retrying(
        stop=stop_after_attempt(settings.http_attempts),
        wait=wait,
        retry=retry_if_exception(
            lambda e: (
                isinstance(e, _Retryable)
                or (isinstance(e, httpx.TransportError) and not isinstance(e, PERMANENT_TRANSPORT_ERRORS))
            )
        ),
        reraise=False,
    )
    with source_client(settings, spec.name, url, edition.allowed_hosts or ()) as client:
        try:
            for attempt in retrying:
                with attempt:
                    deadline.check(url, 0)
                    result = _download_once(client, url, edition, spec, settings, deadline)
        except RetryError as exc:
            last = exc.last_attempt.exception()
            raise FetchError(
                f"{spec.name}: download from {url} failed after {settings.http_attempts} attempts: {_describe(last)}"
            ) from last
        except PERMANENT_TRANSPORT_ERRORS as exc:
            raise FetchError(f"{spec.name}: cannot download from {url}: {_describe(exc)}") from exc
        except httpx.TooManyRedirects:
            raise too_many_redirects(spec.name, url) from None
    return result


def _download_once(
    client: httpx.Client, url: str, edition: Edition, spec: ReleaseFile, settings: Settings, deadline: Deadline
) -> FetchedFile:
    with client.stream("GET", url) as response:
        status = response.status_code
        if status in MISSING_STATUSES:
            return _not_at_source(edition, spec, settings, url, f"HTTP {status} from {url}")
        if status == 429 or status >= 500:
            raise _Retryable(status, url, _retry_after(response.headers.get("retry-after")))
        if status >= 400:
            raise FetchError(
                f"{spec.name}: HTTP {status} {response.reason_phrase} from {url}"
                + (" (the server refused this client)" if status == 403 else "")
            )
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > settings.http_max_bytes:
            raise FetchError(
                f"{spec.name}: {url} announces {int(declared):,} bytes, over the "
                f"{settings.http_max_bytes:,}-byte limit; refused"
            )
        with incoming(settings.releases_dir, spec.name, settings.http_max_bytes) as inc:
            for chunk in response.iter_bytes():  # as they arrive: a trickle still reaches the deadline check
                inc.write(chunk)
                deadline.check(url, inc.size)
            fetched = _admit(inc, edition, spec, settings, url)
        validators = {"etag": response.headers.get("etag"), "last_modified": response.headers.get("last-modified")}
        final = str(response.url)
    return fetched.model_copy(update={"url": final, **validators})


def _admit(inc: Incoming, edition: Edition, spec: ReleaseFile, settings: Settings, origin: str) -> FetchedFile:
    """Judge the downloaded bytes, then archive them: an unknown version is refused before it
    reaches the archive, unless the operator accepts new versions; the acceptance is kept beside
    the bytes, so later runs know it without the flag."""
    inc.check_workbook()
    identity = inc.identity()
    edition_dir = settings.releases_dir / edition.edition
    verdict = judge(spec, identity, find_acceptance(edition_dir, spec.name, identity.sha256))
    newly_accepted = False
    if verdict.refused:
        if not settings.accept_new_versions:
            raise UnknownVersion(
                [refusal(edition, spec, identity, origin)], ACCEPT_ADVICE, [(spec.name, identity.sha256)]
            )
        newly_accepted = True
    archived = inc.finish(edition_dir)
    if newly_accepted:
        accepted = record_acceptance(archived.path, identity, origin)
        verdict = judge(spec, identity, accepted)
    return _fetched(edition, spec, origin, archived, identity, verdict, newly_accepted=newly_accepted)


def _fetched(
    edition: Edition,
    spec: ReleaseFile,
    origin: str,
    archived: Archived,
    identity: FileIdentity,
    verdict: Verdict,
    reason: str | None = None,
    newly_accepted: bool = False,
) -> FetchedFile:
    return FetchedFile(
        edition=edition.edition,
        kind=spec.kind,
        name=spec.name,
        status="fetched",
        origin=origin,
        path=archived.path,
        sha256=identity.sha256,
        md5=identity.md5,
        git_blob=identity.git_blob,
        size=identity.size,
        verdict=verdict.words,
        official=verdict.official,
        matched=verdict.matched,
        notes=verdict.notes,
        sexes=tuple(verdict.version.sexes) if verdict.version is not None else None,
        newly_archived=archived.newly_archived,
        newly_accepted=newly_accepted,
        reason=reason,
        repaired=(
            f"{archived.path}: the archived copy no longer matched its sha256 (damaged); replaced by the same "
            f"version's bytes from {origin}"
            if archived.repaired
            else None
        ),
    )


def _not_at_source(edition: Edition, spec: ReleaseFile, settings: Settings, origin: str, reason: str) -> FetchedFile:
    """An archived copy stands in, judged again (the catalogue may have changed since): the version
    the published warehouse was built from, so that a file withdrawn upstream changes nothing; with
    nothing published, the newest version a successful run used. A version that was archived but
    never got through a run (it failed to parse or to pass the checks) never stands in."""
    edition_dir = settings.releases_dir / edition.edition
    for path in _stand_ins(edition_dir, edition, spec, settings):
        try:
            archived, identity = verified_copy(path)
        except FetchError:
            raise FetchError(
                f"{spec.name}: {reason}, and its archived copy {path} is damaged (its bytes no longer match "
                "their sha256): put the file back in the source to repair the archive"
            ) from None
        verdict = judge(spec, identity, find_acceptance(edition_dir, spec.name, identity.sha256))
        if verdict.refused:
            continue
        stored = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        return _fetched(
            edition,
            spec,
            f"archive:{path}",
            archived,
            identity,
            verdict,
            reason=f"{reason}; using the copy archived on {stored:%Y-%m-%d %H:%M} UTC",
        )
    return FetchedFile(
        edition=edition.edition, kind=spec.kind, name=spec.name, status="missing", origin=origin, reason=reason
    )


def _stand_ins(edition_dir: Path, edition: Edition, spec: ReleaseFile, settings: Settings) -> list[Path]:
    """The archived copies that may stand in for a file the source lacks, in order of preference."""
    key = (edition.edition, spec.kind.value)
    built = published_build(settings)
    if built is not None:
        published = next((i.sha256 for i in built.inputs if i.key == key), None)
        copy = archived_copy(edition_dir, spec.name, published) if published else None
        return [copy] if copy is not None else []
    used = {
        i.sha256 for r in load_records(settings.runs_dir) if r.status == "success" for i in r.inputs if i.key == key
    }
    return [p for p in archived_copies(edition_dir, spec.name) if p.parent.name in used]


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: fall back to the exponential backoff


def _describe(exc: BaseException | None) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({type(exc).__name__})"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"connection cut mid-download ({exc})"
    if isinstance(exc, httpx.TransportError):
        return f"{type(exc).__name__}: {exc}"
    return str(exc)
