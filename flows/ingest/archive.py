"""Immutable archive of every file ever fetched, addressed by its SHA-256.

`releases/<edition>/<sha256>/<official name>`: a corrected file gets a new folder beside the old
one, never an overwrite, so any published number can be traced to the exact bytes it came from.
Bytes are streamed into a temporary file in the same folder tree, judged (flows.ingest.identity), then
renamed into place, so a crash or a refusal never leaves a partial or refused file in the archive.
An operator's acceptance of a version the catalogue did not know lies beside its bytes
(`<name>.accepted.json`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from flows.durable import fsync
from flows.errors import FetchError
from flows.ingest.identity import CHUNK, FileIdentity

if TYPE_CHECKING:
    from flows.results import FetchedFile

ZIP_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class Archived:
    path: Path
    sha256: str
    size: int
    newly_archived: bool
    repaired: bool = False  # the archived copy was damaged and these (good) bytes replaced it


class Incoming:
    """A temporary file being written into the archive tree, hashed as it is written."""

    def __init__(self, releases_dir: Path, name: str, max_bytes: int) -> None:
        releases_dir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.max_bytes = max_bytes
        self.path = releases_dir / f".incoming-{uuid.uuid4().hex}-{name}"
        self.size = 0
        self._identity: FileIdentity | None = None
        self._head = b""
        self._fh: BinaryIO = open(self.path, "wb")  # noqa: SIM115 - closed in finish/discard

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise FetchError(
                f"{self.name}: larger than the {self.max_bytes:,}-byte limit (MIGRATION_ETL_HTTP_MAX_BYTES); refused"
            )
        if len(self._head) < 16:
            self._head += chunk[: 16 - len(self._head)]
        self._fh.write(chunk)

    def check_workbook(self) -> None:
        """A login page or an error page saved under the workbook's name is not a version of it."""
        if self.name.lower().endswith((".xlsx", ".xlsm")) and not self._head.startswith(ZIP_MAGIC):
            preview = self._head.decode("latin-1", errors="replace").strip()
            kind = "an HTML page" if preview.lstrip().lower().startswith(("<!doc", "<html")) else "not a zip"
            raise FetchError(f"{self.name}: not an Excel workbook ({kind}; first bytes {preview!r}); refused")

    def identity(self) -> FileIdentity:
        """The complete file's identities (written to disk first, so a crash cannot lose them)."""
        if self._identity is None:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
            self._identity = FileIdentity.of(self.path)
        return self._identity

    def finish(self, edition_dir: Path) -> Archived:
        """Move the judged file to its content address (no-op if those bytes are already there)."""
        sha256 = self.identity().sha256
        final_dir = edition_dir / sha256
        final = final_dir / self.name
        if final.exists():
            if sha256_of(final) == sha256:
                self.path.unlink()
                return Archived(final, sha256, self.size, newly_archived=False)
            # damaged since it was archived: the bytes just fetched are the ones its address names
            os.replace(self.path, final)
            final.chmod(0o444)
            fsync(final_dir)
            return Archived(final, sha256, self.size, newly_archived=False, repaired=True)
        final_dir.mkdir(parents=True, exist_ok=True)
        os.replace(self.path, final)
        final.chmod(0o444)
        fsync(final_dir)
        return Archived(final, sha256, self.size, newly_archived=True)

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            self._fh.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


@contextlib.contextmanager
def incoming(releases_dir: Path, name: str, max_bytes: int) -> Iterator[Incoming]:
    """Yield an Incoming file; it is deleted unless `finish` moved it into the archive."""
    inc = Incoming(releases_dir, name, max_bytes)
    try:
        yield inc
    finally:
        if inc.path.exists():
            inc.discard()


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def archived_copies(edition_dir: Path, name: str) -> list[Path]:
    """Every archived version of a file, the most recently archived first."""
    if not edition_dir.is_dir():
        return []
    return sorted(edition_dir.glob(f"*/{name}"), key=lambda p: p.stat().st_mtime, reverse=True)


def archived_copy(edition_dir: Path, name: str, sha256: str) -> Path | None:
    path = edition_dir / sha256 / name
    return path if path.is_file() else None


def verified_copy(path: Path) -> tuple[Archived, FileIdentity]:
    """An archived copy, after checking that its bytes are still those of its folder's sha256."""
    identity = FileIdentity.of(path)
    if identity.sha256 != path.parent.name:
        raise FetchError(f"{path}: the archived copy no longer matches its sha256; the archive is damaged")
    return Archived(path, identity.sha256, identity.size, newly_archived=False), identity


def archive_damage(inputs: Iterable[FetchedFile]) -> list[str]:
    """What is wrong with the archived copies of a build's inputs: each must still hold the bytes of
    its sha256. A copy found damaged (by a run that then failed) is repaired by the next run that
    fetches the file, so a run must not call itself unchanged over it. Hashes every input: about
    20 ms for the five editions here."""
    problems = []
    for i in inputs:
        if i.path is None or i.sha256 is None:
            continue
        if not i.path.is_file():
            problems.append(f"archived {i.label}: missing ({i.path})")
        elif sha256_of(i.path) != i.sha256:
            problems.append(f"archived {i.label}: its bytes no longer match their sha256 ({i.path})")
    return problems


def remove_stale_incoming(releases_dir: Path) -> None:
    """Delete temporary files left by a run that was killed mid-download."""
    if releases_dir.exists():
        for leftover in releases_dir.glob(".incoming-*"):
            leftover.unlink(missing_ok=True)
