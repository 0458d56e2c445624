"""What each stage hands the next, typed: the run record keeps these models as they are.

One module, so that the record (flows.run_record) and the stages that produce its parts import
the shapes without importing each other. Each model serialises to the run record's JSON, which
old records on disk also validate into (their keys are the same), so a data directory written by
an earlier version still has a baseline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, computed_field

from flows.ingest.catalogue import FileKind

SEX_WORDS = {"total": "both sexes", "male": "males", "female": "females"}


class FetchedFile(BaseModel):
    """What the run knows about one catalogued file after the fetch step (`inputs` in the record)."""

    model_config = ConfigDict(frozen=True, serialize_by_alias=True)

    edition: str
    kind: FileKind
    name: str
    status: Literal["fetched", "missing"]
    origin: str
    url: str | None = None  # where the bytes came from, after any redirect the catalogue allows
    sha256: str | None = None
    md5: str | None = None
    git_blob: str | None = None
    size: int | None = None
    verdict: str | None = None  # flows.ingest.identity.Verdict.words: official, reconstruction, unknown version, ...
    official: bool = False
    matched: str | None = None  # which catalogued identity it matched
    notes: tuple[str, ...] = ()  # what else the identity check found
    path: Path | None = Field(
        default=None, serialization_alias="archived_path", validation_alias=AliasChoices("path", "archived_path")
    )
    # what the matched catalogued version's tables give, if one matched (for the parse step only)
    sexes: tuple[str, ...] | None = Field(default=None, exclude=True)
    newly_archived: bool = False
    newly_accepted: bool = False  # an unknown version accepted by this run (--accept-new-versions)
    reason: str | None = None  # why it is missing, or why an archived copy stands in
    repaired: str | None = None  # a damaged archived copy replaced by these bytes
    # what the source said about the file, for the next run's cheap change check (flows.ingest.changes)
    source_size: int | None = None
    source_mtime_ns: int | None = None
    source_ctime_ns: int | None = None
    source_inode: int | None = None
    etag: str | None = None
    last_modified: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return self.edition, self.kind.value

    @property
    def label(self) -> str:
        """`2020 origin_destination (UN_MigrantStockByOriginAndDestination_2020.xlsx)`"""
        return f"{self.edition} {self.kind.value} ({self.name})"


ChangeVerdict = Literal["same", "changed", "new", "removed", "unknown"]


class FileChange(BaseModel):
    model_config = ConfigDict(frozen=True)

    edition: str
    kind: str
    name: str
    verdict: ChangeVerdict
    detail: str

    def describe(self) -> str:
        return f"{self.edition} {self.kind} ({self.name}): {self.verdict}, {self.detail}"


class ChangeReport(BaseModel):
    """What the run found against its baseline, and whether it must rebuild."""

    baseline_run: str | None
    build_fingerprint: str
    reasons: list[str] = Field(default_factory=list)  # why a rebuild is needed; empty = unchanged
    files: list[FileChange] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def rebuild(self) -> bool:
        return bool(self.reasons)

    @property
    def changed(self) -> bool:
        return self.rebuild

    def add(self, change: FileChange) -> None:
        self.files.append(change)
        if change.verdict != "same":
            self.reasons.append(change.describe())


ParseStatus = Literal["parsed", "unchanged", "missing"]


class ParseOutcome(BaseModel):
    """One file's parse: landed now, found already landed, or missing (empty tables landed)."""

    edition: str
    kind: str
    name: str
    sha256: str | None
    status: ParseStatus
    rows: dict[str, int]
    repaired: list[str] = Field(default_factory=list)  # damaged landed tables, parsed again
    seconds: float = 0.0


class DbtSummary(BaseModel):
    """`dbt build`'s outcome, from dbt's own result object; plus, once the build passed, how the
    listed discrepancies of the official tables stand in it (flows.build.facts)."""

    success: bool
    models: int = 0
    tests_passed: int = 0
    tests_failed: int = 0
    unit_tests: int = 0
    skipped: int = 0
    failures: list[str] = Field(default_factory=list)
    # each failure's relation holding its failing rows (read for samples; not kept in the record)
    failed_relations: dict[str, str] = Field(default_factory=dict, exclude=True)
    sql_seconds: float = 0.0  # every node's execution time, summed (threads overlap)
    model_seconds: float = 0.0  # the models' alone: the transformation's own SQL
    elapsed_seconds: float = 0.0  # dbt's wall time for the nodes; the step's rest is start-up and parse
    known_discrepancies: dict[str, Any] | None = None


class ReleaseFacts(BaseModel):
    """What a finished build says about one edition: its sexes, its corridors, its totals' source."""

    model_config = ConfigDict(frozen=True)

    release: str
    has_corridors: bool
    corridor_sexes: list[str]
    totals_sexes: list[str]
    emigrants_source: str | None

    def describe(self) -> str:
        """`2017: corridors for both sexes only; totals for both sexes, males, females; ...`"""
        parts = [
            f"corridors for {_sexes(self.corridor_sexes)}" if self.has_corridors else "no corridors (no O-D table)",
            f"totals for {_sexes(self.totals_sexes)}" if self.totals_sexes else "no totals workbook",
        ]
        if self.emigrants_source == "od_world_row":
            parts.append("emigrants from the O-D table's WORLD row")
        return f"{self.release}: " + "; ".join(parts)


def _sexes(sexes: list[str]) -> str:
    if sexes == ["total"]:
        return "both sexes only"
    return ", ".join(SEX_WORDS.get(s, s) for s in sexes)


class QualitySummary(BaseModel):
    """The quality gate's outcome as the record keeps it: counts, the first failures with their
    sample rows, and every expectation's result (the `data_quality` mart's rows)."""

    suites: int
    expectations: int
    passed: int
    failed: int
    seconds: float
    docs: str | None
    failures: list[dict[str, Any]] = Field(default_factory=list)
    results: list[dict[str, Any]] = Field(default_factory=list)


class Published(BaseModel):
    """The version a run published: its folder, its warehouse, the rows of each mart."""

    version: str
    warehouse: Path
    marts_dir: Path
    row_counts: dict[str, int]


class RunError(BaseModel):
    """Where and why a run ended without publishing."""

    step: str
    type: str
    message: str
