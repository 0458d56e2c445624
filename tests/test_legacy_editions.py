"""The older editions end to end on generated releases, through a real Prefect flow run and dbt:
Rev.2019's stacked matrix with three sexes (Other South before Other North), Rev.2017's with both
sexes only and '..' in every empty cell (Other North first), Rev.2015's sheet per year, beside a
Rev.2020 edition. The files reconcile by construction, so the marts can be checked against the
generated world; then one figure of a totals workbook is changed and the reconciliation names it."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from flows.errors import BuildError
from flows.refresh import refresh
from flows.settings import PROJECT_DIR
from tests.conftest import sha256
from tests.workbooks import (
    OTHER_NORTH,
    YEARS,
    World,
    cell_value,
    legacy_names,
    locate,
    make_world,
    official_names,
    set_cell,
    write_edition,
    write_legacy_edition,
)

Release = tuple[Path, Path, Path, dict[str, World], dict[str, Any]]


def catalogue(folder: Path) -> Path:
    def edition(ed: str, names: dict[str, str], none_marker: str | None = None) -> dict[str, Any]:
        files: list[dict[str, Any]] = [{"kind": kind, "name": name} for kind, name in names.items()]
        for f in files:
            if f["kind"] == "origin_destination" and none_marker:
                f["none_marker"] = none_marker
        return {
            "edition": ed,
            "title": f"Synthetic edition {ed}",
            "citation": f"Synthetic citation {ed}.",
            "licence": "CC BY 3.0 IGO",
            "years": YEARS[ed],
            "files": files,
            "expected_locations": [8, 14],
            "expected_od_rows": [20, 80],
        }

    doc = {
        "base_url": "http://127.0.0.1:9/unused/",
        "editions": [
            edition("2020", official_names("2020")),
            edition("2019", legacy_names("2019")),
            edition("2017", legacy_names("2017"), none_marker=".."),
            edition("2015", legacy_names("2015")),
        ],
    }
    path = folder / "catalogue.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def release(prefect_server: str, tmp_path_factory: pytest.TempPathFactory) -> Release:
    folder = tmp_path_factory.mktemp("legacy-release")
    worlds = {ed: make_world(ed) for ed in ("2020", "2019", "2017", "2015")}
    write_edition(worlds["2020"], folder)
    write_legacy_edition(worlds["2019"], folder, layout="stacked", other_order=("Other South", "Other North"))
    write_legacy_edition(
        worlds["2017"],
        folder,
        layout="stacked",
        sexes=("total",),
        other_order=("Other North", "Other South"),
        empty="..",
    )
    write_legacy_edition(worlds["2015"], folder, layout="per_sheet", sexes=("total",), code_label="Country code")
    cat = catalogue(folder)
    data = tmp_path_factory.mktemp("legacy") / "data"
    record = refresh(source_dir=str(folder), data_dir=str(data), catalogue=str(cat))
    return folder, cat, data, worlds, record


def query(data: Path, sql: str, *params: object) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(data / "published" / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def test_every_edition_is_published_with_what_it_holds(release: Release) -> None:
    _, _, data, _, record = release
    assert record["status"] == "success" and record["dbt"]["tests_failed"] == 0
    facts = {r["release"]: (r["has_corridors"], r["corridor_sexes"], r["emigrants_source"]) for r in record["releases"]}
    assert facts == {
        "2020": (True, ["total", "male", "female"], "origin_workbook"),
        "2019": (True, ["total", "male", "female"], "od_world_row"),
        "2017": (True, ["total"], "od_world_row"),
        "2015": (True, ["total"], "od_world_row"),
    }
    assert query(data, "select release, citation from marts.releases where release = '2017'") == [
        ("2017", "Synthetic citation 2017.")
    ]


@pytest.mark.parametrize("ed", ["2019", "2017", "2015"])
def test_the_marts_hold_the_generated_figures(release: Release, ed: str) -> None:
    _, _, data, worlds, _ = release
    world, year = worlds[ed], YEARS[ed][-1]
    (top,) = query(
        data,
        "select origin_code, destination_code, migrants, migrants_male from marts.corridors "
        "where release = ? and year = ? and rank = 1",
        ed,
        year,
    )
    sexes = ed == "2019"
    assert top == (
        484,
        840,
        world.stock(840, 484, year, "total"),
        world.stock(840, 484, year, "male") if sexes else None,
    )
    (kaz,) = query(
        data,
        "select immigrants, emigrants, emigrants_male, immigrants_source, emigrants_source, source "
        "from marts.country_balance where release = ? and year = ? and country_code = 398",
        ed,
        year,
    )
    assert kaz == (
        world.immigrants(398, year, "total"),
        world.emigrants(398, year, "total"),
        world.emigrants(398, year, "male") if sexes else None,
        "destination_workbook",
        "od_world_row",
        "official_totals",
    )
    partners = query(
        data,
        "select partner_name, partner_is_country from marts.country_partners "
        "where release = ? and year = ? and country_code = 398 and direction = 'from' and partner_code = ?",
        ed,
        year,
        OTHER_NORTH,
    )
    assert partners == [("Other North (origin unknown)", False)]


def test_corridor_revisions_across_the_layouts(release: Release) -> None:
    _, _, data, worlds, _ = release
    rows = query(
        data,
        "select release_from, release_to, value_from, value_to, is_consecutive from marts.corridor_revisions "
        "where origin_code = 398 and destination_code = 643 and year = 2015 order by release_from, release_to",
    )
    stock = {ed: worlds[ed].stock(643, 398, 2015, "total") for ed in ("2015", "2017", "2019", "2020")}
    assert rows == [
        ("2015", "2017", stock["2015"], stock["2017"], True),
        ("2015", "2019", stock["2015"], stock["2019"], False),
        ("2015", "2020", stock["2015"], stock["2020"], False),
        ("2017", "2019", stock["2017"], stock["2019"], True),
        ("2017", "2020", stock["2017"], stock["2020"], False),
        ("2019", "2020", stock["2019"], stock["2020"], True),
    ]


def test_a_new_discrepancy_fails_the_run_naming_its_cell(release: Release, tmp_path: Path) -> None:
    folder, cat, data, worlds, _ = release
    broken = tmp_path / "release"
    shutil.copytree(folder, broken)
    totals = broken / legacy_names("2019")["destination"]
    cell = locate(totals, "Table 1", "Mexico", 2015)
    set_cell(totals, "Table 1", cell, worlds["2019"].immigrants(484, 2015, "total") + 7)
    before = (data / "published").readlink()
    with pytest.raises(BuildError) as failed:
        refresh(source_dir=str(broken), data_dir=str(data), catalogue=str(cat))
    row = "".join(ch for ch in cell if ch.isdigit())
    assert (
        f"test od_sums_match_destination_totals: 1 failing row, e.g. {totals.name}, sheet 'Table 1', row {row}, "
        f"column {cell.rstrip('0123456789')}: release=2019, year=2015, sex=total, country_code=484, "
        f"official_total={worlds['2019'].immigrants(484, 2015, 'total') + 7}, "
        f"od_sum={worlds['2019'].immigrants(484, 2015, 'total')}, difference=-7"
    ) in str(failed.value)
    assert (data / "published").readlink() == before


def test_a_listed_discrepancy_is_accepted_only_with_its_figures(
    release: Release, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One figure raised by 7 in a totals workbook (Mexico's female immigrants in 2015) disagrees
    with the origin-destination table's and with the workbook's own total: two discrepancies.
    Listed in a copy of the dbt project's seed, each with its file's sha256 and both figures, the
    run publishes them in data_quality with their reason. Raised once more, the run names the new
    figure; put back, it names the listing that no longer holds."""
    folder, cat, data, worlds, _ = release
    broken = tmp_path / "release"
    shutil.copytree(folder, broken)
    totals = broken / legacy_names("2019")["destination"]
    female_cell = locate(totals, "Table 1", "Mexico", 2015, block=2)
    female, total = (worlds["2019"].immigrants(484, 2015, sex) for sex in ("female", "total"))
    assert cell_value(totals, "Table 1", female_cell) == female
    set_cell(totals, "Table 1", female_cell, female + 7)

    project = tmp_path / "dbt_project"
    shutil.copytree(PROJECT_DIR / "dbt_project", project, ignore=shutil.ignore_patterns("target", "logs"))
    od_sha = sha256(broken / legacy_names("2019")["origin_destination"])
    with open(project / "seeds" / "known_discrepancies.csv", "a", encoding="utf-8") as seed:
        seed.write(f"2019,od_sums_match_destination_totals,{od_sha},484,,2015,female,{female + 7},{female},a_test\n")
        totals_sha = sha256(totals)
        seed.write(f"2019,destination_totals_sexes_add_up,{totals_sha},484,,2015,total,{total},{total + 7},a_test\n")
    with open(project / "seeds" / "known_discrepancy_reasons.csv", "a", encoding="utf-8") as reasons:
        reasons.write("a_test,official tables,A discrepancy this test made.,tests/test_legacy_editions.py\n")
    monkeypatch.setenv("MIGRATION_ETL_DBT_PROJECT_DIR", str(project))

    record = refresh(source_dir=str(broken), data_dir=str(data), catalogue=str(cat))
    assert record["status"] == "success"
    assert record["dbt"]["known_discrepancies"] == {"listed": 2, "as_listed": 2, "by_kind": {"official tables": 2}}
    published = query(
        data,
        'select release, "column", success, observed, why from marts.data_quality'
        " where suite = 'known_discrepancies' order by all",
    )
    why = "A discrepancy this test made. (tests/test_legacy_editions.py)"
    assert published == [
        ("2019", "Mexico (484)", True, f"2015, female, {female + 7} vs {female}", why),
        ("2019", "Mexico (484)", True, f"2015, total, {total} vs {total + 7}", why),
    ]

    set_cell(totals, "Table 1", female_cell, female + 8)
    with pytest.raises(BuildError) as failed:
        refresh(source_dir=str(broken), data_dir=str(data), catalogue=str(cat))
    message = str(failed.value)
    assert (
        f"test od_sums_match_destination_totals: 1 failing row, e.g. {totals.name}, sheet 'Table 1', row 27, column Y:"
        f" release=2019, year=2015, sex=female, country_code=484, official_total={female + 8}, od_sum={female}"
    ) in message

    set_cell(totals, "Table 1", female_cell, female)
    with pytest.raises(BuildError) as failed:
        refresh(source_dir=str(broken), data_dir=str(data), catalogue=str(cat))
    # The sexes entry names the totals workbook as it was (another sha256): a listing of a file
    # version not in use is not checked. The O-D entry names the workbook in use, and no longer holds.
    assert str(failed.value) == (
        "dbt build failed: test listed_discrepancies_hold: 1 failing row, e.g. release=2019,"
        " check_name=od_sums_match_destination_totals, location_code=484, year=2015, sex=female,"
        f" reference_value={female + 7}, observed_value={female}, reason_id=a_test"
    )
