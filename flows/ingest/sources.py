"""`migration-etl sources`: what each source holds now, judged against the catalogue and the archive,
without ingesting anything.

An engineer runs it before accepting a new version: a mirror file is read and hashed (size,
SHA-256, MD5, git blob), so its verdict is exact; a file on the UN site is asked with one HEAD
request (conditional on the ETag of the last download; a server that refuses HEAD gets a GET whose
body is never read), so only its size, ETag and Last-Modified are known, and the verdict says it
rests on the size alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from flows.ingest.archive import archived_copies
from flows.ingest.catalogue import Catalogue, Edition, ReleaseFile
from flows.ingest.identity import ACCEPT_FLAG, FileIdentity, Verdict, find_acceptance, judge
from flows.run_record import load_records
from flows.settings import Settings

HEAD_REFUSED = {405, 501}


@dataclass(frozen=True)
class Archived:
    """The last archived version of a file, judged as a refresh would judge it now."""

    identity: FileIdentity
    archived_at: datetime
    verdict: Verdict


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
    identity: FileIdentity | None = None  # of the bytes the verdict is about, when they were read
    needs_attention: bool = False  # an unknown version, or a source that could not be asked

    def line(self) -> str:
        ingested = "" if self.ingest else " (catalogued only, not ingested)"
        return f"{self.edition} {self.kind} {self.name}{ingested}: {self.verdict}; {self.detail}; {self.archive}"


def ask_all(cat: Catalogue, settings: Settings) -> list[SourceAnswer]:
    validators = _last_validators(settings)
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
                    answers.append(_ask_http(client, edition, spec, last, validators.get((edition.edition, spec.name))))
    return answers


def _ask_mirror(settings: Settings, edition: Edition, spec: ReleaseFile, last: Archived | None) -> SourceAnswer:
    assert settings.source_dir is not None
    path = settings.source_dir.expanduser().resolve() / spec.name
    where = (edition.edition, spec.kind.value, spec.name, spec.ingest, str(path))
    if not path.is_file():
        return SourceAnswer(*where, "missing at the source", f"not in the mirror {path.parent}", _against(last, None))
    identity = FileIdentity.of(path)
    verdict = judge(
        spec, identity, find_acceptance(settings.releases_dir / edition.edition, spec.name, identity.sha256)
    )
    words = verdict.words + (f", matched: {verdict.matched}" if verdict.matched else "")
    detail = f"{identity.size:,} B, sha256 {identity.sha256}, md5 {identity.md5}"
    return SourceAnswer(*where, words, detail, _against(last, identity.sha256), identity, verdict.refused)


def _ask_http(
    client: httpx.Client,
    edition: Edition,
    spec: ReleaseFile,
    last: Archived | None,
    validators: tuple[str | None, str | None, str | None] | None,
) -> SourceAnswer:
    where = (edition.edition, spec.kind.value, spec.name, spec.ingest, spec.url or str(spec.download_page))
    if spec.url is None:
        detail = f"no download address: exported by hand from {spec.download_page}"
        return SourceAnswer(*where, "not asked (exported by hand)", detail, _against(last, None))
    etag, modified, downloaded = validators or (None, None, None)
    conditional = {}
    # conditional on the last download's validators, when that download is the last archived copy
    if last is not None and downloaded == last.identity.sha256:
        conditional = {k: v for k, v in (("If-None-Match", etag), ("If-Modified-Since", modified)) if v}
    try:
        response = client.head(spec.url, headers=conditional)
        if response.status_code in HEAD_REFUSED:
            with client.stream("GET", spec.url, headers=conditional) as streamed:  # the body is never read
                response = streamed
    except httpx.HTTPError as exc:
        return SourceAnswer(*where, "could not ask", f"{type(exc).__name__}: {exc}", _against(last, None), None, True)
    status = response.status_code
    if status == 304 and last is not None:
        words = f"{last.verdict.words} (the last archived copy)"
        return SourceAnswer(*where, words, "HTTP 304 Not Modified", _against(last, last.identity.sha256), last.identity)
    if status in (404, 410):
        return SourceAnswer(*where, "missing at the source", f"HTTP {status}", _against(last, None))
    if status >= 400:
        detail = f"HTTP {status} {response.reason_phrase}"
        return SourceAnswer(*where, "could not ask", detail, _against(last, None), None, True)
    length = response.headers.get("content-length")
    size = int(length) if length and length.isdigit() else None
    said = [f"HTTP {status}", f"{size:,} B" if size is not None else "no size given"]
    said += [f"{h} {response.headers[h]}" for h in ("etag", "last-modified") if h in response.headers]
    verdict, unknown = _by_size(spec, size, last)
    same_as_last = last is not None and size == last.identity.size and last.verdict.kind == "accepted new version"
    return SourceAnswer(
        *where,
        verdict,
        ", ".join(said),
        _against_size(last, size),
        last.identity if same_as_last and last is not None else None,
        unknown,
    )


def _by_size(spec: ReleaseFile, size: int | None, last: Archived | None) -> tuple[str, bool]:
    """Without the bytes, the size is the one identity to compare; it proves nothing, it points."""
    if not spec.versions:
        return "unverified (the catalogue lists no version)", False
    if size is None:
        return "not known until downloaded (no size given)", False
    same = [v for v in spec.versions if v.size == size]
    if same:
        words = "official" if same[0].official else same[0].status.value
        return f"probably {words} (size as '{same[0].source}'; the bytes decide at the next refresh)", False
    if last is not None and last.identity.size == size and last.verdict.kind == "accepted new version":
        return f"probably the accepted new version (size as the copy {last.verdict.matched})", False
    return "probably an unknown version (its size matches no known version)", True


def _against(last: Archived | None, sha256: str | None) -> str:
    if last is None:
        return "nothing archived yet"
    when = f"archived {last.archived_at:%Y-%m-%d %H:%M} UTC"
    if sha256 is None:
        return f"last archived version: sha256 {last.identity.sha256[:12]} ({last.verdict.words}, {when})"
    if sha256 == last.identity.sha256:
        return f"the same bytes as the last archived version ({when})"
    return f"differs from the last archived version: sha256 {last.identity.sha256[:12]} ({last.verdict.words}, {when})"


def _against_size(last: Archived | None, size: int | None) -> str:
    if last is None or size is None:
        return _against(last, None)
    if size == last.identity.size:
        return f"the same size as the last archived version ({_against(last, None).split(': ', 1)[1]})"
    last_size, last_sha = f"{last.identity.size:,} B", last.identity.sha256[:12]
    return f"a different size from the last archived version ({last_size}, sha256 {last_sha})"


def _last_archived(settings: Settings, edition: Edition, spec: ReleaseFile) -> Archived | None:
    edition_dir = settings.releases_dir / edition.edition
    copies = archived_copies(edition_dir, spec.name)
    if not copies:
        return None
    path = copies[0]
    identity = FileIdentity.of(path)
    verdict = judge(spec, identity, find_acceptance(edition_dir, spec.name, identity.sha256))
    stamp = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    return Archived(identity, stamp, verdict)


def _last_validators(settings: Settings) -> dict[tuple[str, str], tuple[str | None, str | None, str | None]]:
    """The ETag and Last-Modified each file had when last downloaded, and the sha256 of what came."""
    found: dict[tuple[str, str], tuple[str | None, str | None, str | None]] = {}
    for record in load_records(settings.runs_dir):
        for i in record.inputs:
            if i.etag or i.last_modified:
                found[(i.edition, i.name)] = (i.etag, i.last_modified, i.sha256)
    return found


def catalogue_entry(identity: FileIdentity) -> str:
    """The YAML to add under the file's `versions` once the new version has been reviewed."""
    return (
        f"- {{sha256: {identity.sha256}, md5: {identity.md5}, git_blob: {identity.git_blob}, "
        f'size: {identity.size}, status: verified, source: "<where it came from, when, how checked>"}}'
    )


def advice(answers: list[SourceAnswer]) -> list[str]:
    """What to do about versions the catalogue does not know: accept them, then record them."""
    lines = []
    for a in answers:
        if a.needs_attention and a.identity is not None:
            lines.append(
                f"{a.edition} {a.kind}: a version the catalogue does not know. If it is a re-published official "
                f"file, run the refresh again with {ACCEPT_FLAG} (a scheduled deployment, once: prefect "
                "deployment run refresh/<deployment> -p accept_new_versions=true); once reviewed, add it "
                f"to the file's versions in the catalogue: {catalogue_entry(a.identity)}"
            )
        elif a.needs_attention and a.verdict.startswith("probably an unknown version"):
            lines.append(
                f"{a.edition} {a.kind}: the site's file has a size no known version has. A refresh will refuse "
                f"it; if it is a re-published official file, run the refresh again with {ACCEPT_FLAG}."
            )
        elif a.identity is not None and a.verdict.startswith("accepted new version"):
            lines.append(
                f"{a.edition} {a.kind}: accepted by an operator, not yet in the catalogue; once reviewed, add it "
                f"to the file's versions: {catalogue_entry(a.identity)}"
            )
    return lines
