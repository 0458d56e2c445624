"""Step `detect`: has anything changed since the published warehouse was built?

Asked cheaply (flows.ingest.changes): each source's metadata, the build's own fingerprint, and the
published version's checksums. A scheduled run that finds nothing new stops here in seconds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from prefect import task
from prefect.cache_policies import NO_CACHE

from flows.errors import transient
from flows.ingest.archive import archive_damage
from flows.ingest.catalogue import Catalogue, load_catalogue
from flows.ingest.changes import ask_sources, baseline, build_fingerprint
from flows.log import announce
from flows.publish.warehouse import published_damage
from flows.results import ChangeReport
from flows.run_record import RunRecord
from flows.settings import Settings


@dataclass(frozen=True)
class Detected:
    catalogue: Catalogue
    base: RunRecord | None  # the run whose inputs the published warehouse reflects
    fingerprint: str  # flows.ingest.changes.build_fingerprint
    changes: ChangeReport
    damaged: list[str]  # what is wrong with the published version's files and its inputs' archived copies
    forced: bool

    @property
    def rebuild(self) -> bool:
        """Rebuild whatever the sources say: forced, or the published version is damaged."""
        return self.forced or bool(self.damaged)

    @property
    def how(self) -> str:
        """Why this run builds, as the flow run's name says it."""
        return "forced" if self.forced else "repair" if self.damaged else "changed"

    def unchanged(self, changes: ChangeReport) -> bool:
        """Nothing to rebuild: the published warehouse already reflects these inputs."""
        return self.base is not None and not changes.changed and not self.rebuild


@task(name="detect-changes", retries=2, retry_delay_seconds=5, retry_condition_fn=transient, cache_policy=NO_CACHE)
def detect_task(cat: Catalogue, settings: Settings, base: RunRecord | None, fingerprint: str) -> ChangeReport:
    return ask_sources(cat, settings, base, fingerprint)


def detect(settings: Settings, force: bool, deadline: float) -> Detected:
    cat = load_catalogue(settings.catalogue)
    base = baseline(settings)
    fingerprint = build_fingerprint(settings, settings.catalogue)
    changes = detect_task.with_options(timeout_seconds=deadline)(cat, settings, base, fingerprint)
    damaged = [*published_damage(settings), *archive_damage(base.inputs)] if base is not None else []
    for problem in damaged:
        announce(f"detect: DAMAGED {problem}; rebuilding", level=logging.WARNING)
    detected = Detected(cat, base, fingerprint, changes, damaged, force)
    if not detected.unchanged(changes):
        announce(f"detect: {_why(detected)}")
    return detected


def _why(detected: Detected) -> str:
    report = detected.changes
    if detected.forced:
        return "--force: rebuilding" + ("" if report.changed else " although nothing changed")
    if not report.changed:
        return "nothing changed; rebuilding the damaged version"
    files = {f.describe() for f in report.files}
    reasons = [r for r in report.reasons if r not in files]
    reasons += [f.describe() for f in report.files if f.verdict in ("new", "changed", "removed")]
    unsure = [f.name for f in report.files if f.verdict == "unknown"]
    if unsure:
        reasons.append(
            f"{len(unsure)} file(s) to compare by sha256 ({', '.join(unsure[:3])}{', ...' if len(unsure) > 3 else ''})"
        )
    return "; ".join(reasons)
