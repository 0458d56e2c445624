"""The older editions' workbooks (Rev.2015 to Rev.2019) on generated files: the totals workbook
with its two-row header, the origin-destination matrix stacked by year with a sheet per sex, and
the matrix with one sheet per year and sex; and the real mirror's three matrices."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from openpyxl import load_workbook

from flows.errors import ParseError
from flows.ingest.catalogue import Edition, FileKind, load_catalogue
from flows.parse import parser_for
from flows.settings import DEFAULT_CATALOGUE
from tests.workbooks import (
    OTHER_NORTH,
    OTHER_SOUTH,
    WORLD,
    YEARS,
    _other_split,
    find_cell,
    make_world,
    set_cell,
    write_od_per_sheet,
    write_od_stacked,
    write_totals_legacy,
)

SHA = "cd" * 32


def edition(ed: str) -> Edition:
    return load_catalogue(DEFAULT_CATALOGUE).edition(ed)


def od(path: Path, ed: str) -> pa.Table:
    table: pa.Table = parser_for(FileKind.ORIGIN_DESTINATION)(path, SHA, edition(ed))["od_stock"]
    return table


def cell(table: pa.Table, **where: object) -> dict[str, object]:
    found = [r for r in table.to_pylist() if all(r[k] == v for k, v in where.items())]
    assert len(found) == 1, (where, len(found))
    return found[0]


@pytest.mark.parametrize("other_order", [("Other South", "Other North"), ("Other North", "Other South")])
def test_stacked_matrix_all_three_sexes(tmp_path: Path, other_order: tuple[str, str]) -> None:
    """Rev.2019's layout: the unknown origins are mapped by name whatever their order, Total is the
    destination's total (origin WORLD), the WORLD row each origin's emigrant total, blank cells are
    not landed and heading rows are passed over."""
    world = make_world("2019")
    path = write_od_stacked(world, tmp_path / "od.xlsx", other_order=other_order)
    table = od(path, "2019")
    assert set(table.column("sex").to_pylist()) == {"total", "male", "female"}
    assert set(table.column("year").to_pylist()) == set(YEARS["2019"])
    north, south = _other_split(world, 398, 2015, "male")
    assert cell(table, destination_code=398, origin_code=OTHER_NORTH, year=2015, sex="male")["migrants"] == north
    assert cell(table, destination_code=398, origin_code=OTHER_SOUTH, year=2015, sex="male")["migrants"] == south
    total = cell(table, destination_code=840, origin_code=WORLD, year=2019, sex="female")
    assert total["migrants"] == world.immigrants(840, 2019, "female") and total["source_sheet"] == "Table 3"
    assert cell(table, destination_code=WORLD, origin_code=398, year=1990, sex="total")["migrants"] == (
        world.emigrants(398, 1990, "total")
    )
    kaz_rus = cell(table, destination_code=643, origin_code=398, year=2019, sex="total")
    assert kaz_rus["migrants"] == world.stock(643, 398, 2019, "total") and kaz_rus["origin_name"] == "Kazakhstan"
    assert not [r for r in table.to_pylist() if {r["destination_code"], r["origin_code"]} == {484, 398}], (
        "a blank cell (no corridor between Mexico and Kazakhstan) is not landed"
    )
    assert (kaz_rus["source_file"], kaz_rus["source_sha256"]) == ("od.xlsx", SHA)


def test_stacked_matrix_with_both_sexes_only_and_dotted_empty_cells(tmp_path: Path) -> None:
    """Rev.2017's copy: Table 1 only, and '..' in every cell without a figure (the catalogue's
    none_marker), read as no migrants listed; the Total column keeps its '..' as not available."""
    world = make_world("2017")
    path = write_od_stacked(world, tmp_path / "od.xlsx", sexes=("total",), empty="..")
    wb = load_workbook(path)
    kazakhstan = next(
        r for r in wb["Table 1"].iter_rows(min_row=17) if r[0].value == 1990 and r[2].value.strip() == "Kazakhstan"
    )
    kazakhstan[6].value = ".."  # its Total, column G
    wb.save(path)
    table = od(path, "2017")
    assert set(table.column("sex").to_pylist()) == {"total"}
    assert set(table.column("value_flag").to_pylist()) == {None, ".."}
    assert cell(table, destination_code=398, origin_code=WORLD, year=1990, sex="total")["value_flag"] == ".."
    assert not [r for r in table.to_pylist() if {r["destination_code"], r["origin_code"]} == {484, 398}]


def test_per_sheet_matrix_reads_year_and_sex_from_each_title(tmp_path: Path) -> None:
    world = make_world("2015")
    path = write_od_per_sheet(world, tmp_path / "od.xlsx", sexes=("total", "male", "female"))
    table = od(path, "2015")
    got = cell(table, destination_code=643, origin_code=398, year=2000, sex="female")
    assert got["migrants"] == world.stock(643, 398, 2000, "female")
    assert got["source_sheet"] == "Table 9", "2000 is the third year: tables 7, 8, 9"
    both_only = od(write_od_per_sheet(world, tmp_path / "both.xlsx"), "2015")
    assert set(both_only.column("sex").to_pylist()) == {"total"}


def test_a_sheet_title_naming_an_unexpected_year(tmp_path: Path) -> None:
    path = write_od_per_sheet(make_world("2015"), tmp_path / "od.xlsx")
    title = find_cell(path, "Table 16", lambda v: isinstance(v, str) and v.startswith("Table 16."))
    set_cell(path, "Table 16", title, "Table 16. Total migrant stock at mid-year by origin and destination, 2016")
    with pytest.raises(
        ParseError,
        match=r"od\.xlsx, sheet 'Table 16', row 10: the title names 2016, not one of the edition's reference years",
    ):
        od(path, "2015")


def test_a_sheet_title_that_disagrees_with_the_contents(tmp_path: Path) -> None:
    path = write_od_per_sheet(make_world("2015"), tmp_path / "od.xlsx")
    listed = find_cell(
        path, "CONTENTS", lambda v: isinstance(v, str) and v.startswith("Total migrant stock") and "1995" in v
    )
    set_cell(path, "CONTENTS", listed, "Male migrant stock at mid-year by origin and destination, 1995")
    expected = (
        r"sheet 'CONTENTS', row \d+: lists Table 4 as 'Male migrant stock .*, 1995', but the sheet's own title "
        r"\(row 10\) says both sexes, 1995"
    )
    with pytest.raises(ParseError, match=expected):
        od(path, "2015")


def test_an_origin_name_with_no_code(tmp_path: Path) -> None:
    path = write_od_stacked(make_world("2019"), tmp_path / "od.xlsx")
    where = find_cell(path, "Table 2", lambda v: v == "Kazakhstan")
    set_cell(path, "Table 2", where, "Kazakstan")
    column = "".join(ch for ch in where if ch.isalpha())
    with pytest.raises(
        ParseError,
        match=rf"od\.xlsx, sheet 'Table 2', row 16, column {column}: origin 'Kazakstan' matches no country among "
        r"the table's destination rows, so it has no location code",
    ):
        od(path, "2019")


def test_a_matrix_without_its_both_sexes_table(tmp_path: Path) -> None:
    path = write_od_stacked(make_world("2019"), tmp_path / "od.xlsx")
    wb = load_workbook(path)
    del wb["Table 1"]
    wb.save(path)
    with pytest.raises(ParseError, match=r"od\.xlsx: no both-sexes table \(only Table 2, Table 3\)"):
        od(path, "2019")


def test_a_stacked_matrix_missing_a_year(tmp_path: Path) -> None:
    world = make_world("2019")
    path = write_od_stacked(world, tmp_path / "od.xlsx", sexes=("total",))
    wb = load_workbook(path)
    ws = wb["Table 1"]
    for row in ws.iter_rows(min_row=17):
        if row[0].value == 2019:
            row[0].value = 2018
    wb.save(path)
    with pytest.raises(ParseError, match=r"sheet 'Table 1', row \d+, column A: year 2018 is not one of the edition's"):
        od(path, "2019")


@pytest.mark.parametrize("code_label", ["Code", "Country code"])
def test_totals_workbook_with_a_two_row_header(tmp_path: Path, code_label: str) -> None:
    world = make_world("2019")
    path = write_totals_legacy(world, tmp_path / "totals.xlsx", code_label)
    tables = parser_for(FileKind.DESTINATION)(path, SHA, edition("2019"))
    totals, population = tables["destination_totals"], tables["population"]
    assert cell(totals, location_code=398, year=2019, sex="male")["migrants"] == world.immigrants(398, 2019, "male")
    assert not [r for r in totals.to_pylist() if r["location_name"] == "UN development groups"], "a heading"
    expected = round(world.population[398][2015][1] * 1000)
    assert abs(cell(population, location_code=398, year=2015, sex="female")["population"] - expected) <= 1


# --- the real files ---------------------------------------------------------------------------------


@pytest.mark.real_data
@pytest.mark.parametrize(
    ("ed", "sexes", "rows", "mex_usa_2015"),
    [("2019", {"total", "male", "female"}, 477_343, 11_643_298), ("2017", {"total"}, 123_634, 12_275_876),
     ("2015", {"total"}, 116_702, 12_050_031)],
)  # fmt: skip
def test_real_matrices(mirror: Path, ed: str, sexes: set[str], rows: int, mex_usa_2015: int) -> None:
    table = od(mirror / f"UN_MigrantStockByOriginAndDestination_{ed}.xlsx", ed)
    assert table.num_rows == rows
    assert set(table.column("sex").to_pylist()) == sexes
    assert cell(table, origin_code=484, destination_code=840, year=2015, sex="total")["migrants"] == mex_usa_2015
    assert cell(table, origin_code=398, destination_code=643, year=2015, sex="total")["migrants"] == 2_560_269
    world = cell(table, origin_code=WORLD, destination_code=WORLD, year=edition(ed).years[-1], sex="total")
    assert world["migrants"] == {"2019": 271_642_105, "2017": 257_715_425, "2015": 243_700_236}[ed]


def test_a_destination_listed_twice_in_a_year(tmp_path: Path) -> None:
    path = write_od_stacked(make_world("2019"), tmp_path / "od.xlsx", sexes=("total",))
    wb = load_workbook(path)
    ws = wb["Table 1"]
    kazakhstan = next(
        r for r in ws.iter_rows(min_row=17) if r[0].value == 1995 and str(r[2].value).strip() == "Kazakhstan"
    )
    russia = next(
        r for r in ws.iter_rows(min_row=17) if r[0].value == 1995 and str(r[2].value).strip() == "Russian Federation"
    )
    for source, target in zip(kazakhstan, russia, strict=True):
        if source.column > 1:
            target.value = source.value
    wb.save(path)
    with pytest.raises(ParseError, match=r"column E: destination 398 \(Kazakhstan\) is listed again for 1995"):
        od(path, "2019")


def test_a_row_with_figures_but_no_code(tmp_path: Path) -> None:
    path = write_od_stacked(make_world("2019"), tmp_path / "od.xlsx", sexes=("total",))
    wb = load_workbook(path)
    ws = wb["Table 1"]
    kazakhstan = next(
        r for r in ws.iter_rows(min_row=17) if r[0].value == 2000 and str(r[2].value).strip() == "Kazakhstan"
    )
    kazakhstan[4].value = None
    wb.save(path)
    with pytest.raises(ParseError, match=rf"row {kazakhstan[0].row}, column E: row has numbers but no location code"):
        od(path, "2019")


def test_a_stacked_matrix_without_a_year_block(tmp_path: Path) -> None:
    world = make_world("2019")
    path = write_od_stacked(world, tmp_path / "od.xlsx", sexes=("total",))
    wb = load_workbook(path)
    ws = wb["Table 1"]
    doomed = [r[0].row for r in ws.iter_rows(min_row=17) if r[0].value == 2010]
    ws.delete_rows(doomed[0], len(doomed))
    wb.save(path)
    with pytest.raises(ParseError, match=r"od\.xlsx, sheet 'Table 1': no rows for the reference years \[2010\]"):
        od(path, "2019")


def test_a_sheet_whose_title_names_another_table(tmp_path: Path) -> None:
    path = write_od_per_sheet(make_world("2015"), tmp_path / "od.xlsx")
    title = find_cell(path, "Table 4", lambda v: isinstance(v, str) and v.startswith("Table 4."))
    set_cell(path, "Table 4", title, "Table 7. Total migrant stock at mid-year by origin and destination, 1995")
    with pytest.raises(ParseError, match=r"sheet 'Table 4', row 10: the sheet's title names Table 7"):
        od(path, "2015")
