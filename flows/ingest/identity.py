"""Which version of a file is this? A fetched file judged against every version the catalogue knows.

UN DESA re-saves and re-publishes files under the same name, and what is known of each version
comes from different places: a SHA-256 computed here from a copy, an MD5 and size in someone's
download log, a git blob in a repository. So a file is not "the right checksum or refused": it is
`official` (it matches a version verified here), `official (matches <source>)` (a third party's
record of an official download), a known stand-in (`reconstruction`, `re-saved copy`: ingested
and always marked), `unverified` (nothing is known of that file), or an `unknown version`, which
is refused until an operator accepts it; an accepted version is remembered in the archive beside
its bytes, so the decision is made once.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from flows.ingest.catalogue import Edition, KnownVersion, ReleaseFile, VersionStatus

CHUNK = 1 << 20
ACCEPT_FLAG = "--accept-new-versions"
ACCEPTED_SUFFIX = ".accepted.json"

VerdictKind = Literal[
    "official", "reconstruction", "re-saved copy", "unverified", "unknown version", "accepted new version"
]
# the order in which matching versions are preferred, when several describe the same bytes
PREFERENCE = [
    VersionStatus.VERIFIED,
    VersionStatus.THIRD_PARTY,
    VersionStatus.UNCHECKED,
    VersionStatus.RECONSTRUCTION,
    VersionStatus.RESAVED,
]


@dataclass(frozen=True)
class FileIdentity:
    """Every identity people record for a file's bytes."""

    size: int
    sha256: str
    md5: str
    git_blob: str

    @classmethod
    def of(cls, path: Path) -> FileIdentity:
        """One read for all three hashes (a git blob hashes a header with the size first)."""
        size = path.stat().st_size
        sha256 = hashlib.sha256()
        md5 = hashlib.md5(usedforsecurity=False)
        blob = hashlib.sha1(f"blob {size}\0".encode(), usedforsecurity=False)
        with open(path, "rb") as fh:
            while chunk := fh.read(CHUNK):
                sha256.update(chunk)
                md5.update(chunk)
                blob.update(chunk)
        return cls(size, sha256.hexdigest(), md5.hexdigest(), blob.hexdigest())

    def matches(self, version: KnownVersion) -> bool:
        same_hashes = all(getattr(self, name) == value for name, value in version.hashes.items())
        return same_hashes and version.size in (None, self.size)

    def describe(self) -> str:
        return f"{self.size:,} B, SHA-256 {self.sha256}, MD5 {self.md5}"


@dataclass(frozen=True)
class Acceptance:
    """An operator's decision to use a version the catalogue did not know, kept beside its bytes."""

    accepted_at: datetime
    sha256: str
    md5: str
    size: int


@dataclass(frozen=True)
class Verdict:
    kind: VerdictKind
    version: KnownVersion | None = None  # the catalogued version it matched
    matched: str | None = None  # which identity matched, in words
    notes: tuple[str, ...] = ()

    @property
    def words(self) -> str:
        """What the run record, the CLI, the Prefect report and the app say."""
        if self.kind == "official" and self.version and self.version.status != VersionStatus.VERIFIED:
            return f"official (matches {self.version.source})"
        return self.kind

    @property
    def official(self) -> bool:
        return self.kind == "official"

    @property
    def refused(self) -> bool:
        return self.kind == "unknown version"


def judge(spec: ReleaseFile, identity: FileIdentity, accepted: Acceptance | None = None) -> Verdict:
    if not spec.versions:
        return Verdict("unverified", notes=("the catalogue lists no version of this file",))
    matching = sorted((v for v in spec.versions if identity.matches(v)), key=lambda v: PREFERENCE.index(v.status))
    if not matching:
        if accepted is not None:
            when = f"{accepted.accepted_at:%Y-%m-%d %H:%M} UTC"
            return Verdict("accepted new version", matched=f"an operator's acceptance of {when}")
        return Verdict("unknown version")
    best = matching[0]
    matched = f"{_strongest(best)} of '{best.source}'"
    if not best.official:
        return Verdict(best.status.value, best, matched)  # type: ignore[arg-type]
    wrong = [v for v in spec.versions if v.status == VersionStatus.UNCHECKED and not identity.matches(v)]
    notes = tuple(
        f"the unchecked record '{v.source}' ({', '.join(f'{k} {x[:12]}' for k, x in v.hashes.items())}) does not "
        "describe these official bytes: correct it in the catalogue"
        for v in wrong
    )
    return Verdict("official", best, matched, notes)


def _strongest(version: KnownVersion) -> str:
    """The identity that decided the match: a SHA-256 or a git blob alone is proof; an MD5 is
    given with the size it was recorded with."""
    if version.sha256:
        return "sha256"
    if version.git_blob:
        return "git blob"
    return "md5 + size" if version.size else "md5"


def refusal(edition: Edition, spec: ReleaseFile, identity: FileIdentity, origin: str) -> str:
    """Why an unknown version was refused and what is known instead (ACCEPT_ADVICE says how to
    accept it; the fetch step adds it once, however many files it refused)."""
    if len(spec.versions) == 1 and spec.versions[0].sha256:
        first = f"{spec.name}: sha256 {identity.sha256} does not match the catalogue's {spec.versions[0].sha256}"
    elif len(spec.versions) == 1:
        first = f"{spec.name}: sha256 {identity.sha256} does not match the one version the catalogue knows"
    else:
        count = len(spec.versions)
        first = f"{spec.name}: sha256 {identity.sha256} matches none of the {count} versions the catalogue knows"
    known = "; ".join(f"({n}) {v.describe()}" for n, v in enumerate(spec.versions, 1))
    return (
        f"{first}; the file was not archived. It is an unknown version of edition {edition.edition}'s "
        f"{spec.kind.value} file, from {origin}: {identity.describe()}. Known versions: {known}."
    )


ACCEPT_ADVICE = (
    "If UN DESA re-published the file, compare it first (migration-etl sources), then run the same command "
    "again with --accept-new-versions (a scheduled deployment, once: prefect deployment run "
    "refresh/<deployment> -p accept_new_versions=true; MIGRATION_ETL_ACCEPT_NEW_VERSIONS=true would accept "
    "every unknown version from then on). An accepted file is archived beside the old version, checked like "
    "any file and published as 'accepted new version'."
)


def acceptance_path(archived: Path) -> Path:
    return archived.with_name(archived.name + ACCEPTED_SUFFIX)


def record_acceptance(archived: Path, identity: FileIdentity, origin: str) -> Acceptance:
    """Written durably and read-only beside the bytes: the record of a decision. To take it back,
    delete the file (and the version's folder): the next run refuses those bytes again."""
    from flows.durable import fsync

    accepted = Acceptance(datetime.now(UTC), identity.sha256, identity.md5, identity.size)
    target = acceptance_path(archived)
    tmp = target.with_name(f".{target.name}.tmp")
    doc = {
        "name": archived.name,
        "accepted_at": accepted.accepted_at.isoformat(),
        "origin": origin,
        "sha256": identity.sha256,
        "md5": identity.md5,
        "size": identity.size,
        "git_blob": identity.git_blob,
    }
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(doc, indent=2))
        fh.flush()
        os.fsync(fh.fileno())
    tmp.chmod(0o444)
    os.replace(tmp, target)
    fsync(target.parent)
    return accepted


def find_acceptance(edition_dir: Path, name: str, sha256: str) -> Acceptance | None:
    """The operator's acceptance of these bytes, if one was recorded (its sha256 must agree). A
    damaged record is an error, not a silent refusal or acceptance."""
    path = acceptance_path(edition_dir / sha256 / name)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        doc = json.loads(text)
        if doc["sha256"] != sha256:
            raise ValueError(f"it names sha256 {doc['sha256']}")
        return Acceptance(datetime.fromisoformat(doc["accepted_at"]), doc["sha256"], doc["md5"], int(doc["size"]))
    except (ValueError, KeyError, TypeError) as exc:
        from flows.errors import FetchError

        raise FetchError(
            f"{path}: the record of an operator's acceptance is damaged ({type(exc).__name__}: {exc}); delete it "
            "to decide again (the next run then refuses those bytes until they are accepted)"
        ) from exc
