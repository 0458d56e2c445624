"""File identity: what the catalogue knows of each version of a file, the verdict on a fetched file,
and what `migration-etl sources` says of the real mirror, file by file, as SOURCES.md does."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from flows.errors import CatalogueError
from flows.ingest.catalogue import Catalogue, FileKind, ReleaseFile, load_catalogue
from flows.ingest.identity import Acceptance, FileIdentity, judge
from flows.ingest.sources import ask_all
from flows.ops.cli import app
from flows.settings import DEFAULT_CATALOGUE, Settings
from tests.conftest import MIRROR_VERDICTS

BYTES = b"PK\x03\x04 a workbook's bytes"
SHA = hashlib.sha256(BYTES).hexdigest()
MD5 = hashlib.md5(BYTES, usedforsecurity=False).hexdigest()
BLOB = hashlib.sha1(b"blob %d\0" % len(BYTES) + BYTES, usedforsecurity=False).hexdigest()
OTHER_SHA, OTHER_MD5 = "ab" * 32, "cd" * 16


def identity(tmp_path: Path, data: bytes = BYTES) -> FileIdentity:
    path = tmp_path / "f.xlsx"
    path.write_bytes(data)
    return FileIdentity.of(path)


def spec(*versions: dict[str, Any], **extra: Any) -> ReleaseFile:
    return ReleaseFile.model_validate({"kind": "destination", "name": "f.xlsx", "versions": list(versions), **extra})


def test_identities_of_a_file(tmp_path: Path) -> None:
    got = identity(tmp_path)
    assert (got.size, got.sha256, got.md5, got.git_blob) == (len(BYTES), SHA, MD5, BLOB)


@pytest.mark.parametrize(
    ("versions", "words", "matched"),
    [
        (
            [{"sha256": SHA, "status": "verified", "source": "a copy hashed here"}],
            "official",
            "sha256 of 'a copy hashed here'",
        ),
        (
            [
                {"sha256": OTHER_SHA, "status": "verified", "source": "another save"},
                {"md5": MD5, "size": len(BYTES), "status": "third-party", "source": "owid/etl download, 2024-07-16"},
            ],
            "official (matches owid/etl download, 2024-07-16)",
            "md5 + size of 'owid/etl download, 2024-07-16'",
        ),
        (
            [{"git_blob": BLOB, "status": "third-party", "source": "a repository"}],
            "official (matches a repository)",
            "git blob of 'a repository'",
        ),
        (
            [{"sha256": SHA, "status": "reconstruction", "source": "a stand-in"}],
            "reconstruction",
            "sha256 of 'a stand-in'",
        ),
        (
            [{"sha256": SHA, "status": "re-saved copy", "source": "a user's save"}],
            "re-saved copy",
            "sha256 of 'a user's save'",
        ),
        ([{"sha256": OTHER_SHA, "status": "verified", "source": "a save"}], "unknown version", None),
        # an MD5 recorded with another size is not these bytes
        ([{"md5": MD5, "size": len(BYTES) + 1, "status": "third-party", "source": "a save"}], "unknown version", None),
        ([], "unverified", None),
    ],
    ids=[
        "verified",
        "third-party md5+size",
        "git blob",
        "reconstruction",
        "re-saved",
        "unknown",
        "md5 wrong size",
        "nothing listed",
    ],
)
def test_verdicts(tmp_path: Path, versions: list[dict[str, Any]], words: str, matched: str | None) -> None:
    verdict = judge(spec(*versions), identity(tmp_path))
    assert (verdict.words, verdict.matched) == (words, matched)
    assert verdict.official == words.startswith("official")
    assert verdict.refused == (words == "unknown version")


def test_the_best_record_wins_and_a_wrong_unchecked_figure_is_named(tmp_path: Path) -> None:
    """The 2024 O-D case: an MD5 and size from an actual download beside a SHA-256 nobody checked.
    A file matching the download is official, and the unchecked figure is flagged as wrong."""
    listed = spec(
        {"md5": MD5, "size": len(BYTES), "status": "third-party", "source": "owid/etl download, 2025-03-12"},
        {"sha256": OTHER_SHA, "size": len(BYTES), "status": "unchecked", "source": "a note"},
        {"git_blob": BLOB, "status": "third-party", "source": "a repository"},
    )
    verdict = judge(listed, identity(tmp_path))
    assert verdict.words == "official (matches owid/etl download, 2025-03-12)"
    assert verdict.notes == (
        f"the unchecked record 'a note' (sha256 {OTHER_SHA[:12]}) does not describe these official bytes: "
        "correct it in the catalogue",
    )
    both = spec(
        {"sha256": SHA, "status": "unchecked", "source": "a note"},
        {"sha256": SHA, "md5": MD5, "status": "verified", "source": "hashed here"},
    )
    assert judge(both, identity(tmp_path)).words == "official", "verified is preferred over any record"


def test_an_accepted_version_is_remembered(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    listed = spec({"sha256": OTHER_SHA, "status": "verified", "source": "a save"})
    accepted = Acceptance(datetime(2026, 11, 29, 9, 0, tzinfo=UTC), SHA, MD5, len(BYTES))
    verdict = judge(listed, identity(tmp_path), accepted)
    assert (verdict.words, verdict.matched) == (
        "accepted new version",
        "an operator's acceptance of 2026-11-29 09:00 UTC",
    )
    assert not verdict.refused and not verdict.official
    # a version the catalogue knows is judged by the catalogue, acceptance or not
    assert judge(
        spec({"sha256": SHA, "status": "verified", "source": "hashed here"}), identity(tmp_path), accepted
    ).official


def test_the_sha256_shorthand_is_one_verified_version() -> None:
    pinned = spec(sha256=SHA.upper())
    assert [(v.sha256, v.status.value, v.source) for v in pinned.versions] == [
        (SHA, "verified", "pinned in the catalogue")
    ]


def catalogue_with(tmp_path: Path, versions: list[dict[str, Any]]) -> Path:
    doc = yaml.safe_load(DEFAULT_CATALOGUE.read_text())
    doc["editions"][1]["files"][1]["versions"] = versions  # edition 2020's destination workbook
    path = tmp_path / "catalogue.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.mark.parametrize(
    ("versions", "problem"),
    [
        (
            [
                {"sha256": SHA, "md5": MD5, "size": 551_092, "status": "verified", "source": "mirror copy"},
                {"md5": MD5, "size": 551_154, "status": "third-party", "source": "owid/etl download"},
            ],
            "edition 2020: undesa_pd_2020_ims_stock_by_sex_and_destination.xlsx: 'owid/etl download' (third-party) "
            "disagrees with 'mirror copy' (verified): same md5 but size 551154 vs 551092",
        ),
        (
            [
                {"sha256": SHA, "git_blob": BLOB, "status": "verified", "source": "mirror copy"},
                {"git_blob": BLOB, "sha256": OTHER_SHA, "status": "third-party", "source": "a repository"},
            ],
            "'a repository' (third-party) disagrees with 'mirror copy' (verified): same git_blob but sha256",
        ),
        (
            [
                {"sha256": SHA, "status": "verified", "source": "mirror copy"},
                {"sha256": SHA, "status": "reconstruction", "source": "a stand-in"},
            ],
            "the same sha256 is listed as verified ('mirror copy') and as reconstruction ('a stand-in')",
        ),
        ([{"size": 5, "status": "third-party", "source": "a size"}], "a size alone identifies nothing"),
        ([{"md5": MD5, "status": "verified", "source": "no sha"}], "a verified version gives the sha256 computed here"),
        ([{"md5": "xyz", "status": "third-party", "source": "bad"}], "md5 must be 32 hexadecimal characters"),
        ([{"md5": MD5, "status": "official", "source": "bad"}], "status: Input should be 'verified', 'third-party'"),
        (
            [{"md5": MD5, "status": "third-party", "source": "a record", "sha-256": SHA}],
            "versions[0], sha-256: unknown key (misspelt?)",
        ),
    ],
    ids=[
        "md5 vs size",
        "blob vs sha256",
        "official and not",
        "size only",
        "verified without sha256",
        "bad hex",
        "bad status",
        "unknown key",
    ],
)
def test_a_catalogue_whose_records_disagree_is_refused_at_load(
    tmp_path: Path, versions: list[dict[str, Any]], problem: str
) -> None:
    with pytest.raises(CatalogueError, match="invalid release catalogue: ") as caught:
        load_catalogue(catalogue_with(tmp_path, versions))
    assert problem in str(caught.value)


def test_every_download_record_of_sources_md_is_in_the_catalogue(mirror: Path) -> None:
    """SOURCES.md 1d: the size and MD5 of each file as un.org served it to a third party."""
    text = (mirror.parent / "SOURCES.md").read_text(encoding="utf-8")
    section = text[text.index("## 1d.") : text.index("## 0.")]
    rows = re.findall(r"^\| `([^`]+)` \| \**([\d,]+)\** \| `([0-9a-f]{32})` \|", section, flags=re.M)
    assert len(rows) == 7
    cat = load_catalogue(DEFAULT_CATALOGUE)
    files = {f.name: f for e in cat.editions for f in e.files}
    for name, size, md5 in rows:
        records = [(v.md5, v.size, v.status.value) for v in files[name].versions if v.md5 == md5]
        assert (md5, int(size.replace(",", "")), "third-party") in records, name


def test_each_mirror_file_has_the_verdict_sources_md_gives_it(mirror: Path, tmp_path: Path) -> None:
    """Original bytes are official (the 2020 destination workbook is the later of two genuine
    saves); the origin-destination workbook is the layout reconstruction; 2024's is absent."""
    settings = Settings(data_dir=tmp_path / "data", source_dir=mirror)
    answers = {(a.edition, a.kind): a for a in ask_all(load_catalogue(DEFAULT_CATALOGUE), settings)}
    verdicts = {key: a.verdict.split(", matched")[0] for key, a in answers.items()}
    missing = {("2024", "origin_destination"), ("2020", "destination_by_age")}
    assert verdicts == {**MIRROR_VERDICTS, **dict.fromkeys(missing, "missing at the source")}
    assert answers[("2020", "destination")].identity == FileIdentity(
        551_092,
        "c2bae98812a1f68b1d7f57a8d3d11903b85522d664f319dfe87daa30f653fd5b",
        "f0aabd36fb100065ca65fb99889dfcb4",
        "82931dfbafcf8aa097d9faddc0f93ded6e8d9ffe",
    )
    assert answers[("2020", "origin_destination")].verdict == (
        "reconstruction, matched: sha256 of 'layout reconstruction of the mirror, official values (SOURCES.md 1b)'"
    )
    assert all(a.archive == "nothing archived yet" for a in answers.values())


def test_the_sources_command_on_the_mirror(mirror: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["sources", "--source-dir", str(mirror), "--data-dir", str(tmp_path / "data")], env={"COLUMNS": "80"}
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 1 + 19, "a heading, then one line per catalogued file, never wrapped"
    assert lines[1].startswith(
        "2024 origin_destination undesa_pd_2024_ims_stock_by_sex_destination_and_origin.xlsx: missing at the source; "
    )
    assert (
        "2020 destination undesa_pd_2020_ims_stock_by_sex_and_destination.xlsx: official, matched: sha256 of "
        "'mirror copy, save of 2021-01-25, as in guyabel/stepladderChapter'; 551,092 B, sha256 "
        "c2bae98812a1f68b1d7f57a8d3d11903b85522d664f319dfe87daa30f653fd5b, md5 f0aabd36fb100065ca65fb99889dfcb4; "
        "nothing archived yet"
    ) in lines
    assert any(
        line.startswith(
            "2020 destination_by_age undesa_pd_2020_ims_stock_by_age_sex_and_destination.xlsx (catalogued only, "
            "not ingested): missing at the source"
        )
        for line in lines
    )
    assert any(
        line.startswith("2017 destination UN_MigrantStockTotal_2017.xlsx: re-saved copy, matched: ") for line in lines
    )


def test_files_catalogued_for_identity_only_are_never_fetched() -> None:
    cat = Catalogue.model_validate(yaml.safe_load(DEFAULT_CATALOGUE.read_text()))
    ingested = {f.kind.value for e in cat.editions for f in e.ingested}
    assert "destination_by_age" not in ingested
    doc = yaml.safe_load(DEFAULT_CATALOGUE.read_text())
    doc["editions"][1]["files"][-1]["ingest"] = True
    with pytest.raises(ValueError, match="no parser reads destination_by_age files; give it ingest: false"):
        Catalogue.model_validate(doc)


def test_a_pinned_sha256_listed_as_not_official_is_refused_at_load() -> None:
    with pytest.raises(ValueError, match="is pinned \\(a verified version\\) and listed as reconstruction in versions"):
        spec({"sha256": SHA, "status": "reconstruction", "source": "a stand-in"}, sha256=SHA)


def test_one_hash_never_identifies_two_files(tmp_path: Path) -> None:
    doc = yaml.safe_load(DEFAULT_CATALOGUE.read_text())
    origin = doc["editions"][1]["files"][2]  # 2020's origin workbook takes the destination workbook's identity
    origin["versions"] = [{"md5": "f0aabd36fb100065ca65fb99889dfcb4", "status": "third-party", "source": "a slip"}]
    path = tmp_path / "catalogue.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    with pytest.raises(
        CatalogueError, match="md5 f0aabd36fb100065ca65fb99889dfcb4 of undesa_pd_2020_ims_stock_by_sex_and_origin"
    ):
        load_catalogue(path)


def test_a_damaged_acceptance_record_is_an_error_not_a_decision(tmp_path: Path) -> None:
    from flows.errors import FetchError
    from flows.ingest.identity import acceptance_path, find_acceptance, record_acceptance

    archived = tmp_path / SHA / "f.xlsx"
    archived.parent.mkdir()
    archived.write_bytes(BYTES)
    record_acceptance(archived, identity(tmp_path), "mirror:/somewhere/f.xlsx")
    assert find_acceptance(tmp_path, "f.xlsx", SHA) is not None
    marker = acceptance_path(archived)
    assert not marker.stat().st_mode & 0o222, "the record of a decision is read-only"
    marker.chmod(0o644)
    marker.write_text(json.dumps({"sha256": SHA}))
    with pytest.raises(FetchError, match=r"f\.xlsx\.accepted\.json: the record of an operator's acceptance is damaged"):
        find_acceptance(tmp_path, "f.xlsx", SHA)


def test_an_accepted_version_is_announced_by_the_run_that_first_publishes_it() -> None:
    """The run that accepted a version may fail (another file broke); the notice then goes with the
    first run that publishes it, and never again."""
    from datetime import UTC, datetime

    from flows.recorder import first_published_acceptances as _first_published_acceptances
    from flows.results import FetchedFile
    from flows.run_record import RunRecord

    def record(*inputs: FetchedFile) -> RunRecord:
        return RunRecord(
            run_id="r", started_at=datetime.now(UTC), data_dir="d", source="s", catalogue="c", inputs=list(inputs)
        )

    def file(name: str, sha256: str, verdict: str | None = None) -> FetchedFile:
        kind = FileKind.ORIGIN if name == "f.xlsx" else FileKind.DESTINATION
        return FetchedFile(
            edition="2020", kind=kind, name=name, status="fetched", origin="o", sha256=sha256, verdict=verdict
        )

    accepted = file("f.xlsx", SHA, "accepted new version")
    official = file("g.xlsx", OTHER_SHA, "official")
    published_before = record(file("f.xlsx", "old"), official)
    assert _first_published_acceptances(record(accepted, official), published_before) == [accepted]
    assert _first_published_acceptances(record(accepted, official), record(accepted, official)) == []
    assert _first_published_acceptances(record(accepted), None) == [accepted]
