"""Fetch each catalogued file from a local mirror or over HTTP into the immutable archive.

A file an edition does not have (absent from the mirror, or HTTP 404/410) is reported as missing
rather than failing the run: the refresh goes on with what exists and the run record says what was
missing. Anything else that goes wrong (refused, unreachable after retries, too large, not a
workbook, wrong checksum) fails the run before anything is parsed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx
from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from flows.archive import CHUNK, Archived, incoming
from flows.catalogue import Edition, FileKind, ReleaseFile
from flows.errors import FetchError
from flows.settings import Settings

MISSING_STATUSES = {404, 410}


@dataclass(frozen=True)
class FetchedFile:
    """What the run knows about one catalogued file after the fetch step."""

    edition: str
    kind: FileKind
    name: str
    status: Literal["fetched", "missing"]
    origin: str
    path: Path | None = None
    sha256: str | None = None
    size: int | None = None
    checksum: Literal["verified", "unverified"] | None = None
    newly_archived: bool = False
    reason: str | None = None

    def as_record(self) -> dict[str, object]:
        return {
            "edition": self.edition,
            "kind": self.kind.value,
            "name": self.name,
            "status": self.status,
            "origin": self.origin,
            "sha256": self.sha256,
            "size": self.size,
            "checksum": self.checksum,
            "archived_path": str(self.path) if self.path else None,
            "newly_archived": self.newly_archived,
            "reason": self.reason,
        }


class _Retryable(Exception):
    """An HTTP answer worth asking again for (server error, rate limit)."""

    def __init__(self, status: int, url: str) -> None:
        super().__init__(f"HTTP {status} from {url}")
        self.status = status


def fetch_file(edition: Edition, spec: ReleaseFile, settings: Settings) -> FetchedFile:
    if settings.source_dir is not None:
        return fetch_from_mirror(edition, spec, settings)
    return fetch_over_http(edition, spec, settings)


def fetch_from_mirror(edition: Edition, spec: ReleaseFile, settings: Settings) -> FetchedFile:
    assert settings.source_dir is not None
    source = settings.source_dir.expanduser().resolve() / spec.name
    origin = f"mirror:{source}"
    if not source.is_file():
        return _missing(edition, spec, origin, f"not in the mirror {source.parent}")
    with incoming(settings.releases_dir, spec.name, settings.http_max_bytes) as inc, open(source, "rb") as fh:
        while chunk := fh.read(CHUNK):
            inc.write(chunk)
        inc.check(spec.sha256)
        archived = inc.finish(settings.releases_dir / edition.edition)
    return _fetched(edition, spec, origin, archived)


def fetch_over_http(edition: Edition, spec: ReleaseFile, settings: Settings) -> FetchedFile:
    assert spec.url is not None
    url = spec.url
    timeout = httpx.Timeout(settings.http_timeout_seconds, connect=settings.http_connect_timeout_seconds)
    headers = {"User-Agent": settings.http_user_agent, "Accept": "*/*"}
    retrying = Retrying(
        stop=stop_after_attempt(settings.http_attempts),
        wait=wait_exponential(multiplier=settings.http_backoff_seconds, max=60),
        retry=retry_if_exception(lambda e: isinstance(e, (_Retryable, httpx.TransportError))),
        reraise=False,
    )
    with httpx.Client(headers=headers, timeout=timeout, follow_redirects=True) as client:
        try:
            for attempt in retrying:
                with attempt:
                    result = _download_once(client, url, edition, spec, settings)
        except RetryError as exc:
            last = exc.last_attempt.exception()
            raise FetchError(
                f"{spec.name}: download from {url} failed after {settings.http_attempts} attempts: {_describe(last)}"
            ) from last
    return result


def _download_once(
    client: httpx.Client, url: str, edition: Edition, spec: ReleaseFile, settings: Settings
) -> FetchedFile:
    with client.stream("GET", url) as response:
        status = response.status_code
        if status in MISSING_STATUSES:
            return _missing(edition, spec, url, f"HTTP {status} from {url}")
        if status == 429 or status >= 500:
            raise _Retryable(status, url)
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
            for chunk in response.iter_bytes(CHUNK):
                inc.write(chunk)
            inc.check(spec.sha256)
            archived = inc.finish(settings.releases_dir / edition.edition)
    return _fetched(edition, spec, url, archived)


def _fetched(edition: Edition, spec: ReleaseFile, origin: str, archived: Archived) -> FetchedFile:
    return FetchedFile(
        edition=edition.edition,
        kind=spec.kind,
        name=spec.name,
        status="fetched",
        origin=origin,
        path=archived.path,
        sha256=archived.sha256,
        size=archived.size,
        checksum="verified" if spec.sha256 else "unverified",
        newly_archived=archived.newly_archived,
    )


def _missing(edition: Edition, spec: ReleaseFile, origin: str, reason: str) -> FetchedFile:
    return FetchedFile(
        edition=edition.edition, kind=spec.kind, name=spec.name, status="missing", origin=origin, reason=reason
    )


def _describe(exc: BaseException | None) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({type(exc).__name__})"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"connection cut mid-download ({exc})"
    if isinstance(exc, httpx.TransportError):
        return f"{type(exc).__name__}: {exc}"
    return str(exc)
