"""`migration-etl sources`: what each source holds now, judged against the catalogue and the archive,
without ingesting anything.

An engineer runs it before accepting a new version: a mirror file is read and hashed (size,
SHA-256, MD5, git blob), so its verdict is exact; a file on the UN site is asked with one HEAD
request (conditional on the ETag of the last download), so only its size, ETag and Last-Modified
are known, and the verdict says it rests on the size alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from flows.archive import archived_copies
from flows.catalogue import Catalogue, Edition, ReleaseFile
from flows.identity import ACCEPT_ENV, ACCEPT_FLAG, FileIdentity, find_acceptance, judge
from flows.run_record import load_records
from flows.settings import Settings


@dataclass(frozen=True)
class Archived:
    """The last archived version of a file."""

    sha256: str
    size: int
    archived_at: datetime
    verdict: str


@dataclass(frozen=True)
class SourceAnswer:
    edition: str
    kind: str
    name: str
    ingest: bool
    where: str
    verdict: str  # as a refresh would judge the file now (over HTTP: by size only)
    detail: str  # what the source said: size and hashes, or the HTTP answer
    archive: str  # the file against the last archived version
    identity: FileIdentity | None = None  # known when the bytes were read (mirror)

    @property
    def unknown(self) -> bool:
        return "unknown version" in self.verdict

    def line(self) -> str:
        ingested = "" if self.ingest else " (catalogued only, not ingested)"
        return f"{self.edition} {self.kind} {self.name}{ingested}: {self.verdict}; {self.detail}; {self.archive}"


def ask_all(cat: Catalogue, settings: Settings) -> list[SourceAnswer]:
    etags = _last_validators(settings)
    headers = {"User-Agent": settings.http_user_agent, "Accept": "*/*"}
    timeout = httpx.Timeout(settings.http_timeout_seconds, connect=settings.http_connect_timeout_seconds)
    with httpx.Client(headers=headers, timeout=timeout, follow_redirects=True) as client:
        answers = []
        for edition in cat.editions:
            for spec in edition.files:
                last = _last_archived(settings, edition, spec)
                if settings.source_dir is not None:
                    answers.append(_ask_mirror(settings, edition, spec, last))
                else:
                    answers.append(_ask_http(client, edition, spec, last, etags.get((edition.edition, spec.name))))
    return answers


def _ask_mirror(settings: Settings, edition: Edition, spec: ReleaseFile, last: Archived | None) -> SourceAnswer:
    assert settings.source_dir is not None
    path = settings.source_dir.expanduser().resolve() / spec.name
    where = (edition.edition, spec.kind.value, spec.name, spec.ingest, str(path))
    if not path.is_file():
        return SourceAnswer(*where, "missing at the source", f"not in the mirror {path.parent}", _against(last, None))
    identity = FileIdentity.of(path)
    acceptance = find_acceptance(settings.releases_dir / edition.edition, spec.name, identity.sha256)
    verdict = judge(spec, identity, acceptance)
    words = verdict.words + (f", matched: {verdict.matched}" if verdict.matched else "")
    detail = f"{identity.size:,} B, sha256 {identity.sha256}, md5 {identity.md5}"
    return SourceAnswer(*where, words, detail, _against(last, identity.sha256), identity)


def _ask_http(
    client: httpx.Client,
    edition: Edition,
    spec: ReleaseFile,
    last: Archived | None,
    validators: tuple[str | None, str | None] | None,
) -> SourceAnswer:
    where = (edition.edition, spec.kind.value, spec.name, spec.ingest, spec.url or str(spec.download_page))
    if spec.url is None:
        detail = f"no download address: exported by hand from {spec.download_page}"
        return SourceAnswer(*where, "not asked (exported by hand)", detail, _against(last, None))
    etag, modified = validators or (None, None)
    conditional = {"If-None-Match": etag} if etag else {}
    if modified:
        conditional["If-Modified-Since"] = modified
    try:
        response = client.head(spec.url, headers=conditional)
    except httpx.HTTPError as exc:
        return SourceAnswer(*where, "could not ask", f"{type(exc).__name__}: {exc}", _against(last, None))
    status = response.status_code
    if status == 304 and last is not None:
        return SourceAnswer(*where, last.verdict, "HTTP 304 Not Modified", _against(last, last.sha256))
    if status in (404, 410):
        return SourceAnswer(*where, "missing at the source", f"HTTP {status}", _against(last, None))
    if status >= 400:
        return SourceAnswer(*where, "could not ask", f"HTTP {status} {response.reason_phrase}", _against(last, None))
    length = response.headers.get("content-length")
    size = int(length) if length and length.isdigit() else None
    said = [f"HTTP {status}", f"{size:,} B" if size is not None else "no size given"]
    said += [f"{h} {response.headers[h]}" for h in ("etag", "last-modified") if h in response.headers]
    return SourceAnswer(*where, _by_size(spec, size), ", ".join(said), _against_size(last, size))


def _by_size(spec: ReleaseFile, size: int | None) -> str:
    """Without the bytes, the size is the one identity to compare; it proves nothing, it points."""
    if not spec.versions:
        return "unverified (the catalogue lists no version)"
    if size is None:
        return "not known until downloaded (no size given)"
    same = [v for v in spec.versions if v.size == size]
    if not same:
        return "probably an unknown version (its size matches no known version)"
    best = same[0]
    words = "official" if best.official else best.status.value
    return f"probably {words} (size as '{best.source}'; the bytes decide at the next refresh)"


def _against(last: Archived | None, sha256: str | None) -> str:
    if last is None:
        return "nothing archived yet"
    when = f"archived {last.archived_at:%Y-%m-%d %H:%M} UTC"
    if sha256 is None:
        return f"last archived version: sha256 {last.sha256[:12]} ({last.verdict}, {when})"
    if sha256 == last.sha256:
        return f"the same bytes as the last archived version ({when})"
    return f"differs from the last archived version: sha256 {last.sha256[:12]} ({last.verdict}, {when})"


def _against_size(last: Archived | None, size: int | None) -> str:
    if last is None or size is None or size == last.size:
        return _against(last, None)
    return f"a different size from the last archived version ({last.size:,} B, sha256 {last.sha256[:12]})"


def _last_archived(settings: Settings, edition: Edition, spec: ReleaseFile) -> Archived | None:
    edition_dir = settings.releases_dir / edition.edition
    copies = archived_copies(edition_dir, spec.name)
    if not copies:
        return None
    path = copies[0]
    identity = FileIdentity.of(path)
    verdict = judge(spec, identity, find_acceptance(edition_dir, spec.name, identity.sha256))
    stamp = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    return Archived(identity.sha256, identity.size, stamp, verdict.words)


def _last_validators(settings: Settings) -> dict[tuple[str, str], tuple[str | None, str | None]]:
    """The ETag and Last-Modified each file had when last downloaded, from the run records."""
    found: dict[tuple[str, str], tuple[str | None, str | None]] = {}
    for record in load_records(settings.runs_dir):
        for i in record.inputs:
            if i.get("etag") or i.get("last_modified"):
                found[(i["edition"], i["name"])] = (i.get("etag"), i.get("last_modified"))
    return found


def catalogue_entry(answer: SourceAnswer) -> str:
    """The YAML to add under the file's `versions` once the new version has been reviewed."""
    i = answer.identity
    assert i is not None
    return (
        f"- {{sha256: {i.sha256}, md5: {i.md5}, git_blob: {i.git_blob}, size: {i.size}, "
        f'status: verified, source: "<where it came from, when>"}}'
    )


def advice(answers: list[SourceAnswer]) -> list[str]:
    """What to do about versions the catalogue does not know: accept them, then record them."""
    lines = []
    for a in answers:
        if a.identity is None:
            continue
        if a.unknown:
            lines.append(
                f"{a.edition} {a.kind}: a version the catalogue does not know. If it is a re-published official "
                f"file, accept it: {ACCEPT_FLAG} (a scheduled deployment: {ACCEPT_ENV}); once reviewed, add it "
                f"to the file's versions in the catalogue: {catalogue_entry(a)}"
            )
        elif a.verdict.startswith("accepted new version"):
            lines.append(
                f"{a.edition} {a.kind}: accepted by an operator, not yet in the catalogue; once reviewed, add it "
                f"to the file's versions: {catalogue_entry(a)}"
            )
    return lines
