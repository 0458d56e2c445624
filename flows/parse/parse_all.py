"""Step `parse`: each fetched workbook into canonical raw tables, landed as Parquet in data/raw.

A file whose bytes (sha256) and parser version were landed before is not parsed again; a landed
table whose checksum no longer matches is parsed again from the archived workbook. A missing file
lands empty tables, so the models see the edition without it.
"""

from __future__ import annotations

import logging
import time

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.task_engine import TaskRunTimeoutError

from flows import interrupts
from flows.errors import EtlError, ParseError, StepFailed, transient
from flows.ingest.catalogue import Catalogue, Edition, FileKind
from flows.log import announce
from flows.parse import streaming_parser_for
from flows.parse.landing import (
    land,
    land_catalogue,
    land_missing,
    landed_rows,
    landed_sexes,
    landed_state,
    prune,
    remove_partial_files,
)
from flows.results import FetchedFile, ParseOutcome, ParseStatus
from flows.settings import Settings


@task(
    name="parse",
    task_run_name="parse-{fetched.edition}-{fetched.kind}",
    retries=1,
    retry_condition_fn=transient,
    cache_policy=NO_CACHE,
)
def parse_task(fetched: FetchedFile, edition: Edition, settings: Settings) -> ParseOutcome:
    started = time.perf_counter()
    kind, raw = fetched.kind.value, settings.raw_dir
    repaired: list[str] = []
    status: ParseStatus
    if fetched.status == "missing" or fetched.path is None or fetched.sha256 is None:
        status, rows = "missing", land_missing(raw, kind, fetched.edition)
    else:
        landed, damaged = landed_state(raw, kind, fetched.edition, fetched.sha256)
        if landed:
            status, rows = "unchanged", landed_rows(raw, kind, fetched.edition, fetched.sha256)
        else:
            tables = streaming_parser_for(fetched.kind)(fetched.path, fetched.sha256, edition)
            status, rows = "parsed", land(raw, fetched.edition, tables, fetched.sha256)
        repaired = [f"{d}; parsed again from the archived {fetched.name}" for d in damaged]
    if fetched.kind == FileKind.ORIGIN_DESTINATION and fetched.sha256 is not None and fetched.sexes is not None:
        _check_sexes(fetched, landed_sexes(raw, "od_stock", fetched.edition, fetched.sha256))
    return ParseOutcome(
        edition=fetched.edition,
        kind=kind,
        name=fetched.name,
        sha256=fetched.sha256,
        status=status,
        rows=rows,
        repaired=repaired,
        seconds=round(time.perf_counter() - started, 3),
    )


def _check_sexes(fetched: FetchedFile, landed: set[str]) -> None:
    """A table must give the sexes its catalogued version gives: an official matrix that lost its
    male and female tables is not quietly published as both sexes only (the 2015 and 2017 copies
    here are catalogued with both sexes only). A version the catalogue does not know (unverified,
    accepted) is taken as it comes."""
    expected = set(fetched.sexes or ())
    if landed != expected:
        order = ("total", "male", "female")
        said = ", ".join(s for s in order if s in landed) or "nothing"
        wanted = ", ".join(s for s in order if s in expected)
        raise ParseError(
            fetched.name,
            f"gives {said}, but its version ({fetched.verdict}) gives {wanted}: a table of the workbook is missing",
        )


def parse_all(cat: Catalogue, fetched: list[FetchedFile], settings: Settings) -> list[ParseOutcome]:
    for leftover in remove_partial_files(settings.raw_dir):
        announce(f"parse: removed {leftover}, left half-written by an interrupted run")
    outcomes = []
    for f in fetched:
        interrupts.check()
        try:
            outcome = parse_task.with_options(timeout_seconds=settings.parse_timeout_seconds)(
                f, cat.edition(f.edition), settings
            )
        except (EtlError, TaskRunTimeoutError):
            raise
        except Exception as exc:
            interrupts.check()  # after a signal, whatever broke is the interruption, not a failure
            raise StepFailed("parse", f.name, exc) from exc
        rows = ", ".join(f"{t} {n:,}" for t, n in outcome.rows.items())
        for repair in outcome.repaired:
            announce(f"parse: REPAIRED {repair}", level=logging.WARNING)
        announce(f"parse: {f.edition} {f.kind.value}: {outcome.status} ({rows}) {outcome.seconds:.2f}s")
        outcomes.append(outcome)
    for removed in prune(settings.raw_dir, {e.edition for e in cat.editions}):
        announce(f"parse: removed {removed}, an edition no longer in the catalogue")
    land_catalogue(settings.raw_dir, cat)
    return outcomes
