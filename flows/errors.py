"""Errors that end a refresh with a message an engineer can act on.

Each carries the step that failed and says which file (and sheet, row, column) was at fault, so the
CLI, the run record and the Prefect run all show the same one-line cause.
"""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

MAX_MESSAGE_CHARS = 2_000  # a message quotes at most this much (a 5 MB cell once made a 5 MB alert)


def bounded(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """A message cut to a readable length, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit:,} more characters)"


def quoted(value: object, limit: int = 200) -> str:
    """A cell's value as a message quotes it: its repr, cut to `limit` characters."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[: limit - 1]}… ({len(str(value)):,} characters)"


class EtlError(Exception):
    """A refresh failure with a specific, user-facing message."""

    step = "refresh"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class CatalogueError(EtlError):
    step = "catalogue"


class FetchError(EtlError):
    step = "fetch"


class ChecksumMismatch(FetchError):
    pass


class UnknownVersion(ChecksumMismatch):
    """Files that match none of the versions the catalogue knows: refused until accepted. The
    message names every refused file, then says once how to accept them."""

    def __init__(self, refusals: list[str], advice: str, files: list[tuple[str, str]] | None = None) -> None:
        self.refusals = refusals
        self.advice = advice
        self.files = files or []  # (name, sha256) of each refusal: one file listed by several editions is one
        if len(refusals) == 1:
            text = f"{refusals[0]} {advice}"
        else:
            listed = " ".join(f"[{n}] {r}" for n, r in enumerate(refusals, 1))
            text = f"{len(refusals)} files match no version the catalogue knows: {listed} {advice}"
        super().__init__(text)


class ParseError(EtlError):
    """A workbook that does not have the layout or content the parser expects."""

    step = "parse"

    def __init__(
        self,
        file: str | Path,
        problem: str,
        *,
        sheet: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.file = Path(file).name
        self.sheet = sheet
        self.row = row
        self.column = column
        self.problem = problem
        where = [self.file]
        if sheet is not None:
            where.append(f"sheet '{sheet}'")
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column}")
        super().__init__(f"{', '.join(where)}: {problem}")


class BuildError(EtlError):
    step = "dbt build"


class PublishError(EtlError):
    step = "publish"


class RefreshLocked(EtlError):
    step = "lock"


class StepTimeout(EtlError):
    """A step that ran past its deadline (a `MIGRATION_ETL_*_TIMEOUT_SECONDS` setting)."""

    def __init__(self, step: str, seconds: float, setting: str) -> None:
        self.step = step
        super().__init__(f"{step} did not finish within {seconds:g} s ({setting}); stopped, nothing was published")


class StepFailed(EtlError):
    """What no parser or check anticipated (a full disk, a value a library refused), said with the
    step and the file it was working on, never as a bare exception."""

    def __init__(self, step: str, subject: str | None, exc: BaseException) -> None:
        self.step = step
        super().__init__(f"{subject + ': ' if subject else ''}{describe(exc)}")


def describe(exc: BaseException) -> str:
    """One line for an unexpected exception: an OS error by its cause and the path it was about."""
    if isinstance(exc, OSError) and exc.strerror:
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{exc.strerror.lower()}{where} [{type(exc).__name__}, errno {exc.errno}]"
    return bounded(f"{type(exc).__name__}: {exc}", 500)


TRANSIENT_ERRNOS = {errno.EAGAIN, errno.EINTR, errno.EIO, errno.EBUSY, errno.ESTALE, errno.ECONNRESET, errno.ETIMEDOUT}


def transient(task: object, task_run: object, state: Any) -> bool:
    """A Prefect task's retry condition: retry only what another try can fix, an interrupted or
    flaky read or write. A wrong file, a failed test, a full disk, a refused permission or a
    timeout fails the same way again, and says so at once."""
    try:
        state.result()
    except TimeoutError:
        return False
    except OSError as exc:
        return exc.errno in TRANSIENT_ERRNOS
    except BaseException:  # noqa: BLE001 - anything else is not worth a second try
        return False
    return False
