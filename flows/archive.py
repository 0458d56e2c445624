"""Immutable archive of every file ever fetched, addressed by its SHA-256.

`releases/<edition>/<sha256>/<official name>`: a corrected file gets a new folder beside the old
one, never an overwrite, so any published number can be traced to the exact bytes it came from.
Bytes are streamed into a temporary file in the same folder tree, checked, then renamed into place,
so a crash or a failed check never leaves a partial or unverified file in the archive.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from flows.durable import fsync
from flows.errors import ChecksumMismatch, FetchError

CHUNK = 1 << 20
ZIP_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class Archived:
    path: Path
    sha256: str
    size: int
    newly_archived: bool


class Incoming:
    """A temporary file being written into the archive tree, hashed as it is written."""

    def __init__(self, releases_dir: Path, name: str, max_bytes: int) -> None:
        releases_dir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.max_bytes = max_bytes
        self.path = releases_dir / f".incoming-{uuid.uuid4().hex}-{name}"
        self._hash = hashlib.sha256()
        self.size = 0
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
        self._hash.update(chunk)
        self._fh.write(chunk)

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def check(self, expected_sha256: str | None) -> None:
        if self.name.lower().endswith((".xlsx", ".xlsm")) and not self._head.startswith(ZIP_MAGIC):
            preview = self._head.decode("latin-1", errors="replace").strip()
            kind = "an HTML page" if preview.lstrip().lower().startswith(("<!doc", "<html")) else "not a zip"
            raise FetchError(f"{self.name}: not an Excel workbook ({kind}; first bytes {preview!r}); refused")
        if expected_sha256 is not None and self.sha256 != expected_sha256:
            raise ChecksumMismatch(
                f"{self.name}: sha256 {self.sha256} does not match the catalogue's {expected_sha256}; "
                "the file was not archived"
            )

    def finish(self, edition_dir: Path) -> Archived:
        """Move the checked file to its content address (no-op if those bytes are already there)."""
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        final_dir = edition_dir / self.sha256
        final = final_dir / self.name
        if final.exists():
            self.path.unlink()
            if sha256_of(final) != self.sha256:
                raise FetchError(f"{final}: the archived copy no longer matches its sha256; the archive is damaged")
            return Archived(final, self.sha256, self.size, newly_archived=False)
        final_dir.mkdir(parents=True, exist_ok=True)
        os.replace(self.path, final)
        final.chmod(0o444)
        fsync(final_dir)
        return Archived(final, self.sha256, self.size, newly_archived=True)

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


def git_blob_of(path: Path) -> str:
    """The id git gives the file's bytes, for files whose only published reference is a git blob."""
    h = hashlib.sha1(f"blob {path.stat().st_size}\0".encode(), usedforsecurity=False)
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def find_archived(edition_dir: Path, name: str, sha256: str | None = None) -> Archived | None:
    """The archived copy of a file: the one with the given sha256, else the most recently archived."""
    if not edition_dir.is_dir():
        return None
    copies = [p for p in edition_dir.glob(f"*/{name}") if sha256 is None or p.parent.name == sha256]
    if not copies:
        return None
    newest = max(copies, key=lambda p: p.stat().st_mtime)
    digest = sha256_of(newest)
    if digest != newest.parent.name:
        raise FetchError(f"{newest}: the archived copy no longer matches its sha256; the archive is damaged")
    return Archived(newest, digest, newest.stat().st_size, newly_archived=False)


def remove_stale_incoming(releases_dir: Path) -> None:
    """Delete temporary files left by a run that was killed mid-download."""
    if releases_dir.exists():
        for leftover in releases_dir.glob(".incoming-*"):
            leftover.unlink(missing_ok=True)
