"""Change detection on generated releases, through real Prefect runs: an unchanged source costs one
question per file, a copied mirror is judged by its bytes, a corrected file and a new edition are
each ingested and named in the run record, and each flow run's name says what it did."""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path
from typing import Any
from uuid import UUID

import duckdb
import pytest
from prefect.client.orchestration import get_client

from flows.refresh import refresh
from tests.conftest import write_catalogue
from tests.workbooks import YEARS, make_world, official_names, write_edition

pytestmark = pytest.mark.slow
Release = tuple[Path, Path, Path, dict[str, Any]]


@pytest.fixture(scope="module")
def first(prefect_server: str, tmp_path_factory: pytest.TempPathFactory) -> Release:
    """Editions 2020 and 2024 refreshed once; 2015's files wait in the folder, not yet catalogued."""
    folder = tmp_path_factory.mktemp("changes-release")
    for edition in ("2015", "2020", "2024"):
        write_edition(make_world(edition), folder, totals=edition != "2015")
    catalogue = write_catalogue(folder / "catalogue.yaml", {ed: official_names(ed) for ed in ("2020", "2024")}, YEARS)
    data = tmp_path_factory.mktemp("changes") / "data"
    record = refresh(source_dir=str(folder), data_dir=str(data), catalogue=str(catalogue))
    assert record["status"] == "success"
    return folder, catalogue, data, record


def copied(folder: Path, to: Path) -> Path:
    """The same bytes with new modification times, as a re-synced mirror has."""
    shutil.copytree(folder, to, copy_function=shutil.copyfile)
    return to


def run_name(record: dict[str, Any]) -> str:
    with get_client(sync_client=True) as client:
        return client.read_flow_run(UUID(record["flow_run_id"])).name


def published_version(data: Path) -> str:
    return os.readlink(data / "published")


def test_an_unchanged_source_is_asked_and_nothing_else(first: Release) -> None:
    folder, catalogue, data, before = first
    version = published_version(data)
    record = refresh(source_dir=str(folder), data_dir=str(data), catalogue=str(catalogue))
    assert record["status"] == "unchanged"
    assert set(record["timings"]) == {"detect", "total"}, "no fetch, parse, dbt build, checks or publish"
    assert {f["detail"] for f in record["changes"]["files"]} == {"size and modification time as before"}
    assert record["changes"]["baseline_run"] == before["run_id"] and not record["changes"]["rebuild"]
    assert [i["sha256"] for i in record["inputs"]] == [i["sha256"] for i in before["inputs"]]
    assert published_version(data) == version
    assert run_name(record) == "refresh-2020-2024-unchanged"
    assert run_name(before) == "refresh-2020-2024-changed"


def test_a_copied_mirror_is_judged_by_its_bytes(first: Release, tmp_path: Path) -> None:
    folder, catalogue, data, _ = first
    version = published_version(data)
    mirror = copied(folder, tmp_path / "mirror")
    record = refresh(source_dir=str(mirror), data_dir=str(data), catalogue=str(catalogue))
    assert record["status"] == "unchanged"
    assert set(record["timings"]) == {"detect", "fetch", "total"}, "fetched and hashed, nothing parsed or built"
    assert all(f["verdict"] == "same" and f["detail"].endswith(" as before") for f in record["changes"]["files"])
    assert published_version(data) == version
    # the next run remembers the new modification times and asks only
    again = refresh(source_dir=str(mirror), data_dir=str(data), catalogue=str(catalogue))
    assert again["status"] == "unchanged" and set(again["timings"]) == {"detect", "total"}


def test_a_corrected_file_is_ingested_and_named(first: Release, tmp_path: Path) -> None:
    """New bytes (the same cells in a re-written zip) are a new version of the 2020 edition: archived
    beside the old one, parsed, built and published; the record names the file."""
    folder, catalogue, data, before = first
    mirror = copied(folder, tmp_path / "mirror")
    name = official_names("2020")["destination"]
    rezip(mirror / name)
    record = refresh(source_dir=str(mirror), data_dir=str(data), catalogue=str(catalogue))
    assert record["status"] == "success"
    old = next(i["sha256"] for i in before["inputs"] if i["name"] == name)
    new = next(i["sha256"] for i in record["inputs"] if i["name"] == name)
    assert record["changes"]["reasons"] == [f"2020 destination ({name}): changed, sha256 {old[:12]} -> {new[:12]}"]
    parsed = {(p["edition"], p["kind"]): p["status"] for p in record["parse"]}
    assert parsed[("2020", "destination")] == "parsed" and parsed[("2024", "destination")] == "unchanged"
    assert sorted(p.name for p in (data / "releases" / "2020").iterdir()) == sorted({old, new} | other_2020(before))
    assert published_version(data).endswith(record["run_id"])
    assert run_name(record) == "refresh-2020-changed"


def test_a_new_edition_in_the_catalogue_is_ingested(first: Release, tmp_path: Path) -> None:
    folder, _, data, _ = first
    editions = {ed: official_names(ed) for ed in ("2015", "2020", "2024")}
    editions["2015"] = {**editions["2015"], "destination": None, "origin": None}  # 2015: the O-D table only
    catalogue = write_catalogue(tmp_path / "catalogue.yaml", editions, YEARS)
    record = refresh(source_dir=str(folder), data_dir=str(data), catalogue=str(catalogue))
    assert record["status"] == "success"
    new = sorted(f["name"] for f in record["changes"]["files"] if f["verdict"] == "new")
    assert new == sorted(official_names("2015")[k] for k in ("origin_destination", "classification"))
    with duckdb.connect(str(data / "published" / "warehouse.duckdb"), read_only=True) as con:
        releases = con.execute("select distinct release from marts.country_balance order by 1").fetchall()
    assert releases == [("2015",), ("2020",), ("2024",)]
    name = run_name(record)  # the order of tests decides whether 2020 differs from its baseline too
    assert name.startswith("refresh-") and "-2015-" in f"{name[7:]}" and name.endswith("-changed"), name


def rezip(path: Path) -> None:
    """Different bytes, identical content: the workbook re-written with a zip comment."""
    with zipfile.ZipFile(path) as src:
        members = [(info, src.read(info)) for info in src.infolist()]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        dst.comment = b"re-issued"
        for info, data in members:
            dst.writestr(info, data)


def other_2020(record: dict[str, Any]) -> set[str]:
    return {i["sha256"] for i in record["inputs"] if i["edition"] == "2020" and i["sha256"]}
