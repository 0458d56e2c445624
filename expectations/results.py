"""What the gate found: one result per expectation (and edition), merged over the chunks it was
checked in, with sample rows for a failure."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SAMPLE_ROWS = 5


@dataclass
class CheckResult:
    """One expectation's outcome on one table (and edition, for raw tables)."""

    suite: str
    expectation: str
    table: str
    column: str | None
    release: str | None
    success: bool
    unexpected_count: int | None
    element_count: int | None
    observed: str | None
    why: str | None = None
    samples: list[dict[str, Any]] = field(default_factory=list)

    def describe(self) -> str:
        where = f"{self.table}.{self.column}" if self.column else self.table
        scope = f" [release {self.release}]" if self.release else ""
        if self.unexpected_count:
            what = f"{self.unexpected_count:,} of {self.element_count:,} rows unexpected"
        else:
            what = f"observed {self.observed}"
        sample = f"; e.g. {self.samples[0]}" if self.samples else ""
        return f"{self.suite}{scope}: {self.expectation} on {where}: {what}{sample}"


@dataclass
class QualityReport:
    results: list[CheckResult]
    docs_index: Path | None
    seconds: float

    @property
    def failures(self) -> list[CheckResult]:
        return [r for r in self.results if not r.success]


def merge(parts: list[list[CheckResult]]) -> list[CheckResult]:
    """One result per expectation from its results on each chunk: failed if any chunk failed,
    counts summed, samples from the first chunks that have them."""
    if len(parts) == 1:
        return parts[0]
    merged = []
    for same in zip(*parts, strict=True):
        first = same[0]
        failed = [r for r in same if not r.success]
        counted = [r.unexpected_count for r in same if r.unexpected_count is not None]
        elements = [r.element_count for r in same if r.element_count is not None]
        observed = [r.observed for r in same if r.observed is not None]
        if first.expectation == "expect_table_row_count_to_be_between" and all(o.isdigit() for o in observed):
            total_observed: str | None = str(sum(int(o) for o in observed))
        else:
            total_observed = (failed[0] if failed else first).observed
        merged.append(
            CheckResult(
                suite=first.suite,
                expectation=first.expectation,
                table=first.table,
                column=first.column,
                release=first.release,
                success=not failed,
                unexpected_count=sum(counted) if counted else None,
                element_count=sum(elements) if elements else None,
                observed=total_observed,
                why=first.why,
                samples=[s for r in same for s in r.samples][:SAMPLE_ROWS],
            )
        )
    return merged


def checks_of(spec: dict[str, Any], outcome: Any, release: str | None) -> list[CheckResult]:
    table = spec["meta"]["table"]
    checks = []
    for r in outcome.results:
        config = r.expectation_config
        kwargs = config.kwargs
        column = kwargs.get("column") or (",".join(kwargs["column_list"]) if "column_list" in kwargs else None)
        result = r.result or {}
        samples = [_plain(s) for s in (result.get("partial_unexpected_index_list") or [])[:SAMPLE_ROWS]]
        if not samples and result.get("partial_unexpected_list"):
            samples = [{"value": _plain(v)} for v in result["partial_unexpected_list"][:SAMPLE_ROWS]]
        observed = result.get("observed_value")
        if r.exception_info and r.exception_info.get("raised_exception"):
            observed = f"error: {r.exception_info.get('exception_message')}"
        checks.append(
            CheckResult(
                suite=spec["name"],
                expectation=config.type,
                table=table,
                column=column,
                release=release,
                success=bool(r.success),
                unexpected_count=result.get("unexpected_count"),
                element_count=result.get("element_count"),
                observed=None if observed is None else str(_plain(observed)),
                why=(config.meta or {}).get("why"),
                samples=samples,
            )
        )
    return checks


def _plain(value: Any) -> Any:
    """numpy and pandas scalars to plain JSON values."""
    return json.loads(json.dumps(value, default=lambda v: v.item() if hasattr(v, "item") else str(v)))
