"""Each parser on generated workbooks in both layouts, and on the real release files."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pyarrow as pa
import pytest
from openpyxl import load_workbook

from flows.errors import ParseError
from flows.ingest.catalogue import Edition, FileKind, load_catalogue
from flows.parse import parser_for
from flows.settings import DEFAULT_CATALOGUE
from tests.workbooks import (
    OTHER,
    WORLD,
    find_cell,
    insert_rows,
    make_world,
    set_cell,
    write_classification,
    write_destination,
    write_origin,
    write_origin_destination,
)

SHA = "ab" * 32


def edition(ed: str) -> Edition:
    return load_catalogue(DEFAULT_CATALOGUE).edition(ed)


def rows(table: pa.Table, **where: object) -> list[dict[str, object]]:
    return [r for r in table.to_pylist() if all(r[k] == v for k, v in where.items())]


def value(table: pa.Table, column: str = "migrants", **where: object) -> object:
    found = rows(table, **where)
    assert len(found) == 1, (where, len(found))
    return found[0][column]


@pytest.fixture(params=["2020", "2024"])
def layout(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# --- destination / origin / population ---------------------------------------------------------


def test_destination_reads_totals_names_and_metadata(tmp_path: Path, layout: str) -> None:
    world = make_world(layout)
    path = write_destination(world, tmp_path / "dest.xlsx")
    out = parser_for(FileKind.DESTINATION)(path, SHA, edition(layout))
    totals = out["destination_totals"]
    last = world.years[-1]
    # countries and the WORLD aggregate, every year and sex
    assert value(totals, release=layout, location_code=840, year=last, sex="total") == world.immigrants(
        840, last, "total"
    )
    assert value(totals, location_code=840, year=1990, sex="female") == world.immigrants(840, 1990, "female")
    world_total = sum(world.immigrants(c.code, last, "total") for c in world.countries)
    assert value(totals, location_code=WORLD, year=last, sex="total") == world_total
    # names lose their indentation and footnote marks; each edition keeps its own spelling
    assert value(totals, "location_name", location_code=840, year=last, sex="total") == "United States of America"
    expected_turkey = "Turkey" if layout == "2020" else "Türkiye"
    assert value(totals, "location_name", location_code=792, year=last, sex="total") == expected_turkey
    assert value(totals, "notes", location_code=840, year=last, sex="total") == "7"
    assert value(totals, "data_type", location_code=398, year=last, sex="total") == "B R"
    # a region listed twice with the same figures is kept once
    assert len(rows(totals, location_code=1829, year=last, sex="total")) == 1
    assert {r["sex"] for r in totals.to_pylist()} == {"total", "male", "female"}
    assert sorted({r["year"] for r in totals.to_pylist()}) == world.years


def test_every_value_traces_to_its_cell(tmp_path: Path, layout: str) -> None:
    world = make_world(layout)
    path = write_destination(world, tmp_path / "dest.xlsx")
    totals = parser_for(FileKind.DESTINATION)(path, SHA, edition(layout))["destination_totals"]
    sheet = load_workbook(path)["Table 1"]
    for r in rows(totals, location_code=398):
        cell = sheet[f"{r['source_column']}{r['source_row']}"]
        assert cell.value == r["migrants"], r
    assert {r["source_sha256"] for r in totals.to_pylist()} == {SHA}


def test_population_is_aligned_with_table_1_and_converted_to_persons(tmp_path: Path, layout: str) -> None:
    """Rev.2024's Table 2 has data types where its header says "Location code": rows are matched
    to Table 1 by position and name, never by that column."""
    world = make_world(layout)
    path = write_destination(world, tmp_path / "dest.xlsx")
    population = parser_for(FileKind.DESTINATION)(path, SHA, edition(layout))["population"]
    year = world.years[-1]
    male, female = world.population[398][year]
    assert value(population, "population", location_code=398, year=year, sex="total") == round(
        round(male + female, 3) * 1000
    )
    assert value(population, "population", location_code=398, year=year, sex="male") == round(round(male, 3) * 1000)
    assert value(population, "location_name", location_code=792, year=year, sex="total") in ("Turkey", "Türkiye")


def test_heading_rows_are_passed_over(tmp_path: Path, layout: str) -> None:
    world = make_world(layout)
    plain = parser_for(FileKind.DESTINATION)(write_destination(world, tmp_path / "a.xlsx"), SHA, edition(layout))
    headed = parser_for(FileKind.DESTINATION)(
        write_destination(world, tmp_path / "b.xlsx", headings=True), SHA, edition(layout)
    )
    for table in ("destination_totals", "population"):
        before = plain[table].drop_columns(["source_row", "source_file"])
        after = headed[table].drop_columns(["source_row", "source_file"])
        assert before.equals(after), table


def test_population_rows_that_do_not_match_table_1_are_refused(tmp_path: Path) -> None:
    world = make_world("2024")
    path = write_destination(world, tmp_path / "dest.xlsx")
    coordinate = find_cell(path, "Table 2", lambda v: isinstance(v, str) and v.strip() == "Mexico")
    set_cell(path, "Table 2", coordinate, "Atlantis")
    with pytest.raises(ParseError, match=r"dest\.xlsx, sheet 'Table 2', row \d+, column B.*'Atlantis' does not match"):
        parser_for(FileKind.DESTINATION)(path, SHA, edition("2024"))


def test_origin_keeps_other_and_aggregates(tmp_path: Path, layout: str) -> None:
    world = make_world(layout)
    path = write_origin(world, tmp_path / "origin.xlsx")
    totals = parser_for(FileKind.ORIGIN)(path, SHA, edition(layout))["origin_totals"]
    year = world.years[-1]
    assert value(totals, location_code=OTHER, year=year, sex="total") == world.emigrants(OTHER, year, "total")
    assert value(totals, location_code=398, year=year, sex="male") == world.emigrants(398, year, "male")
    assert value(totals, "location_name", location_code=OTHER, year=year, sex="total") == "OTHER"


# --- origin-destination ------------------------------------------------------------------------


def test_origin_destination_both_layouts(tmp_path: Path, layout: str) -> None:
    world = make_world(layout)
    path = write_origin_destination(world, tmp_path / "od.xlsx")
    od = parser_for(FileKind.ORIGIN_DESTINATION)(path, SHA, edition(layout))["od_stock"]
    year = world.years[-1]
    assert value(od, destination_code=840, origin_code=484, year=year, sex="total") == world.stock(
        840, 484, year, "total"
    )
    assert value(od, destination_code=643, origin_code=398, year=1990, sex="female") == world.stock(
        643, 398, 1990, "female"
    )
    assert value(od, destination_code=398, origin_code=OTHER, year=year, sex="male") == world.stock(
        398, OTHER, year, "male"
    )
    # the WORLD origin row is each destination's total; aggregate destinations are kept as published
    assert value(od, destination_code=840, origin_code=WORLD, year=year, sex="total") == world.immigrants(
        840, year, "total"
    )
    assert rows(od, destination_code=WORLD, origin_code=WORLD, year=year, sex="total")
    assert value(od, "origin_name", destination_code=792, origin_code=840, year=year, sex="total") == (
        "United States of America"
    )
    assert value(od, "destination_name", destination_code=792, origin_code=840, year=year, sex="total") == (
        "Turkey" if layout == "2020" else "Türkiye"
    )


def test_od_layout_is_found_by_labels_not_positions(tmp_path: Path) -> None:
    """The same world written in both layouts parses to the same stocks."""
    world = make_world("2020")
    a = parser_for(FileKind.ORIGIN_DESTINATION)(
        write_origin_destination(world, tmp_path / "a.xlsx", "2020"), SHA, edition("2020")
    )["od_stock"]
    b = parser_for(FileKind.ORIGIN_DESTINATION)(
        write_origin_destination(world, tmp_path / "b.xlsx", "2024"), SHA, edition("2020")
    )["od_stock"]
    key = ("destination_code", "origin_code", "year", "sex", "migrants")
    assert sorted(tuple(r[k] for k in key) for r in a.to_pylist()) == sorted(
        tuple(r[k] for k in key) for r in b.to_pylist()
    )


def test_empty_cells_and_placeholders_are_flagged(tmp_path: Path) -> None:
    world = make_world("2020")
    path = write_origin_destination(world, tmp_path / "od.xlsx")
    placeholder = find_cell(path, "Table 1", lambda v: v == world.stock(398, 643, 2005, "total"))
    set_cell(path, "Table 1", placeholder, "..")
    empty = find_cell(path, "Table 1", lambda v: v == world.stock(792, 840, 1995, "male"))
    set_cell(path, "Table 1", empty, None)
    od = parser_for(FileKind.ORIGIN_DESTINATION)(path, SHA, edition("2020"))["od_stock"]
    hit = rows(od, destination_code=398, origin_code=643, year=2005, sex="total")[0]
    assert hit["migrants"] is None and hit["value_flag"] == ".."
    hit = rows(od, destination_code=792, origin_code=840, year=1995, sex="male")[0]
    assert hit["migrants"] is None and hit["value_flag"] == "empty"
    assert value(od, destination_code=792, origin_code=840, year=1995, sex="female") == world.stock(
        792, 840, 1995, "female"
    )


def test_region_aggregates_as_origins_are_kept_as_published(tmp_path: Path) -> None:
    world = make_world("2024")
    path = write_origin_destination(world, tmp_path / "od.xlsx", region_origins=True)
    od = parser_for(FileKind.ORIGIN_DESTINATION)(path, SHA, edition("2024"))["od_stock"]
    # Europe and Northern America (1829) = Russia + USA as origins of Mexico's immigrants
    expected = world.stock(484, 643, 2024, "total") + world.stock(484, 840, 2024, "total")
    assert value(od, destination_code=484, origin_code=1829, year=2024, sex="total") == expected


def test_block_titles_decide_which_block_is_which_sex(tmp_path: Path) -> None:
    world = make_world("2024")
    path = write_origin_destination(world, tmp_path / "od.xlsx", block_titles=("female", "both sexes", "male"))
    od = parser_for(FileKind.ORIGIN_DESTINATION)(path, SHA, edition("2024"))["od_stock"]
    for sex in ("total", "male", "female"):
        assert value(od, destination_code=840, origin_code=484, year=2024, sex=sex) == world.stock(840, 484, 2024, sex)


def test_a_title_over_the_first_block_only_is_not_a_block_title(tmp_path: Path) -> None:
    world = make_world("2024")
    path = write_origin_destination(world, tmp_path / "od.xlsx")  # no block titles: published order
    set_cell(path, "Table 1", "H9", "Stocks for females and males, both sexes combined first")
    od = parser_for(FileKind.ORIGIN_DESTINATION)(path, SHA, edition("2024"))["od_stock"]
    assert value(od, destination_code=840, origin_code=484, year=2024, sex="female") == world.stock(
        840, 484, 2024, "female"
    )


def test_block_titles_that_do_not_name_each_sex_once(tmp_path: Path) -> None:
    world = make_world("2024")
    path = write_origin_destination(world, tmp_path / "od.xlsx", block_titles=("both sexes", "male", "female"))
    set_cell(
        path,
        "Table 1",
        find_cell(path, "Table 1", lambda v: v == "International migrant stock (female)"),
        "International migrant stock (male)",
    )
    with pytest.raises(
        ParseError,
        match=r"row 8, column H: the block titles .* do not name both sexes, males and "
        r"females once each",
    ):
        parser_for(FileKind.ORIGIN_DESTINATION)(path, SHA, edition("2024"))


def test_destination_placeholders(tmp_path: Path) -> None:
    world = make_world("2020")
    world.not_available.add((792, 1990))
    path = write_destination(world, tmp_path / "dest.xlsx")
    totals = parser_for(FileKind.DESTINATION)(path, SHA, edition("2020"))["destination_totals"]
    hit = rows(totals, location_code=792, year=1990, sex="total")[0]
    assert hit["migrants"] is None and hit["value_flag"] == ".."


def test_header_found_by_content_when_rows_move(tmp_path: Path, layout: str) -> None:
    world = make_world(layout)
    path = write_origin_destination(world, tmp_path / "od.xlsx")
    before = parser_for(FileKind.ORIGIN_DESTINATION)(path, SHA, edition(layout))["od_stock"]
    insert_rows(path, "Table 1", 3, 4)
    after = parser_for(FileKind.ORIGIN_DESTINATION)(path, SHA, edition(layout))["od_stock"]
    assert before.column("migrants").to_pylist() == after.column("migrants").to_pylist()
    assert [r + 4 for r in before.column("source_row").to_pylist()] == after.column("source_row").to_pylist()


# --- classification ----------------------------------------------------------------------------


def test_classification(tmp_path: Path) -> None:
    path = write_classification(tmp_path / "cls.xlsx")
    locations = parser_for(FileKind.CLASSIFICATION)(path, SHA, edition("2020"))["locations"]
    kaz = rows(locations, location_code=398)[0]
    assert kaz["iso3"] == "KAZ"
    assert kaz["sdg_region_name"] == "Central and Southern Asia"
    assert kaz["income_group_name"] == "Upper-middle-income Countries"
    assert kaz["location_type"] == "Country/Area"
    usa = rows(locations, location_code=840)[0]
    assert usa["income_group_name"] == "High-income Countries"
    assert usa["location_name"] == "United States of America"
    region = rows(locations, location_code=1829)[0]
    assert region["iso3"] is None  # a cell of spaces is no code


# --- what the parsers refuse, with the file, sheet, row and column named -------------------------


def test_text_in_a_number_cell(tmp_path: Path) -> None:
    world = make_world("2020")
    path = write_destination(world, tmp_path / "dest.xlsx")
    coordinate = find_cell(path, "Table 1", lambda v: v == world.immigrants(484, 2010, "male"))
    set_cell(path, "Table 1", coordinate, "12 thousand")
    column = "".join(ch for ch in coordinate if ch.isalpha())
    row = "".join(ch for ch in coordinate if ch.isdigit())
    with pytest.raises(ParseError) as info:
        parser_for(FileKind.DESTINATION)(path, SHA, edition("2020"))
    message = str(info.value)
    assert message.startswith(f"dest.xlsx, sheet 'Table 1', row {row}, column {column} (2010, males)")
    assert "'12 thousand'" in message


def test_a_negative_count(tmp_path: Path) -> None:
    world = make_world("2024")
    path = write_origin(world, tmp_path / "origin.xlsx")
    coordinate = find_cell(path, "Table 1", lambda v: v == world.emigrants(643, 2024, "female"))
    set_cell(path, "Table 1", coordinate, -5)
    with pytest.raises(
        ParseError,
        match=rf"origin\.xlsx, sheet 'Table 1', row \d+, column {coordinate.rstrip('0123456789')} "
        r"\(2024, females\): negative value -5",
    ):
        parser_for(FileKind.ORIGIN)(path, SHA, edition("2024"))


def test_a_relabelled_year_column(tmp_path: Path) -> None:
    world = make_world("2020")
    path = write_origin_destination(world, tmp_path / "od.xlsx")
    set_cell(path, "Table 1", "M11", 2016)  # the both-sexes 2015 column
    with pytest.raises(
        ParseError,
        match=r"od\.xlsx, sheet 'Table 1', row 11, column H: the both sexes block's year "
        r"columns are .*missing \[2015\], unexpected \[2016\]",
    ):
        parser_for(FileKind.ORIGIN_DESTINATION)(path, SHA, edition("2020"))


def test_a_missing_year_column(tmp_path: Path) -> None:
    world = make_world("2024")
    path = write_destination(world, tmp_path / "dest.xlsx")
    wb = load_workbook(path)
    wb["Table 1"].delete_cols(17)  # one of the males' year columns
    wb.save(path)
    with pytest.raises(ParseError, match=r"the males block's year columns .*missing \["):
        parser_for(FileKind.DESTINATION)(path, SHA, edition("2024"))


def test_years_of_another_edition(tmp_path: Path) -> None:
    path = write_destination(make_world("2024"), tmp_path / "dest.xlsx")
    with pytest.raises(ParseError, match=r"unexpected \[2024\]"):
        parser_for(FileKind.DESTINATION)(path, SHA, edition("2020"))


def test_a_missing_sheet(tmp_path: Path) -> None:
    path = write_origin(make_world("2020"), tmp_path / "origin.xlsx")
    wb = load_workbook(path)
    del wb["Table 1"]
    wb.save(path)
    with pytest.raises(
        ParseError, match=r"origin\.xlsx: no sheet 'Table 1' \(the workbook has: Table of contents, Notes\)"
    ):
        parser_for(FileKind.ORIGIN)(path, SHA, edition("2020"))


def test_no_header_row(tmp_path: Path) -> None:
    path = write_origin(make_world("2020"), tmp_path / "origin.xlsx")
    set_cell(path, "Table 1", "D10", "Place number")
    with pytest.raises(ParseError, match=r"sheet 'Table 1': no header row found in the first 40 rows"):
        parser_for(FileKind.ORIGIN)(path, SHA, edition("2020"))


def test_a_truncated_workbook(tmp_path: Path) -> None:
    path = write_origin(make_world("2020"), tmp_path / "origin.xlsx")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ParseError, match=r"origin\.xlsx: not a readable xlsx workbook: truncated"):
        parser_for(FileKind.ORIGIN)(path, SHA, edition("2020"))


def test_an_html_page_saved_as_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "origin.xlsx"
    path.write_text("<!DOCTYPE html><html><body>Access denied</body></html>")
    with pytest.raises(ParseError, match=r"origin\.xlsx: not a readable xlsx workbook: an HTML page"):
        parser_for(FileKind.ORIGIN)(path, SHA, edition("2020"))


def test_a_zip_bomb_is_refused_before_inflating(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xlsx"
    with (
        zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf,
        zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member,
    ):
        chunk = b"0" * (1 << 20)
        for _ in range(600):  # 600 MiB of zeros, a few hundred KiB compressed
            member.write(chunk)
    assert path.stat().st_size < 5 * 1024 * 1024
    with pytest.raises(ParseError, match=r"bomb\.xlsx: declares 629,145,600 bytes uncompressed.*zip bomb"):
        parser_for(FileKind.ORIGIN)(path, SHA, edition("2020"))


def test_a_duplicated_country_row(tmp_path: Path) -> None:
    world = make_world("2020")
    path = write_origin(world, tmp_path / "origin.xlsx")
    wb = load_workbook(path)
    ws = wb["Table 1"]
    source = next(r for r in range(11, ws.max_row + 1) if ws.cell(r, 4).value == 643)
    target = ws.max_row + 1
    for col in range(1, ws.max_column + 1):
        ws.cell(target, col, ws.cell(source, col).value)
    wb.save(path)
    with pytest.raises(
        ParseError,
        match=rf"row {target}, column D: location code 643 \(Russian Federation\) is listed "
        rf"again \(first on row {source}\)",
    ):
        parser_for(FileKind.ORIGIN)(path, SHA, edition("2020"))


# --- the real release files ----------------------------------------------------------------------


@pytest.mark.real_data
def test_real_destination_workbooks(mirror: Path) -> None:
    cat = load_catalogue(DEFAULT_CATALOGUE)
    d20 = parser_for(FileKind.DESTINATION)(
        mirror / "undesa_pd_2020_ims_stock_by_sex_and_destination.xlsx", SHA, cat.edition("2020")
    )
    totals = d20["destination_totals"]
    assert value(totals, location_code=900, year=2020, sex="total") == 280_598_105
    assert value(totals, location_code=900, year=2020, sex="male") == 145_655_844
    assert value(totals, location_code=900, year=2020, sex="female") == 134_942_261
    assert value(totals, location_code=398, year=2020, sex="total") == 3_732_073
    assert len({r["location_code"] for r in totals.to_pylist() if r["location_code"] < 900}) == 235
    d24 = parser_for(FileKind.DESTINATION)(
        mirror / "undesa_pd_2024_ims_stock_by_sex_and_destination.xlsx", SHA, cat.edition("2024")
    )
    assert value(d24["destination_totals"], location_code=900, year=2024, sex="total") == 304_021_813
    assert value(d24["destination_totals"], location_code=900, year=2020, sex="total") == 275_284_032
    assert value(d24["destination_totals"], location_code=398, year=2024, sex="total") == 2_089_797
    assert value(d24["destination_totals"], "location_name", location_code=792, year=2024, sex="total") == "Türkiye"
    # Table 2 of Rev.2024 has no location codes: they come from Table 1, row by row
    assert value(d24["population"], "population", location_code=900, year=2024, sex="total") == 8_161_972_572
    assert d24["population"].num_rows == d24["destination_totals"].num_rows


@pytest.mark.real_data
def test_real_origin_workbooks(mirror: Path) -> None:
    cat = load_catalogue(DEFAULT_CATALOGUE)
    o20 = parser_for(FileKind.ORIGIN)(
        mirror / "undesa_pd_2020_ims_stock_by_sex_and_origin.xlsx", SHA, cat.edition("2020")
    )
    assert value(o20["origin_totals"], location_code=398, year=2020, sex="total") == 4_203_899
    o24 = parser_for(FileKind.ORIGIN)(
        mirror / "undesa_pd_2024_ims_stock_by_sex_and_origin.xlsx", SHA, cat.edition("2024")
    )
    assert value(o24["origin_totals"], location_code=398, year=2024, sex="total") == 2_796_572
    assert value(o24["origin_totals"], location_code=900, year=2024, sex="total") == 304_021_813


@pytest.mark.real_data
def test_real_origin_destination_workbook(mirror: Path) -> None:
    cat = load_catalogue(DEFAULT_CATALOGUE)
    od = parser_for(FileKind.ORIGIN_DESTINATION)(
        mirror / "undesa_pd_2020_ims_stock_by_sex_destination_and_origin.xlsx", SHA, cat.edition("2020")
    )["od_stock"]
    # 20,509 data rows, minus the 216 of the aggregate destination listed twice (927), x 7 years x 3 sexes
    assert od.num_rows == (20_509 - 216) * 21
    assert value(od, destination_code=840, origin_code=484, year=2020, sex="total") == 10_853_105
    assert value(od, destination_code=643, origin_code=398, year=2020, sex="total") == 2_558_907
    assert value(od, destination_code=398, origin_code=2003, year=2020, sex="total") == 272_543


@pytest.mark.real_data
def test_real_classification(mirror: Path) -> None:
    loc = parser_for(FileKind.CLASSIFICATION)(
        mirror / "aggregates_correspondence_table_2020_1.xlsx", SHA, load_catalogue(DEFAULT_CATALOGUE).edition("2020")
    )
    countries = [r for r in loc["locations"].to_pylist() if r["location_code"] < 900]
    assert len(countries) == 235
    assert all(r["iso3"] and len(r["iso3"]) == 3 for r in countries)
    assert all(r["sdg_region_name"] for r in countries)
    assert {r["iso3"] for r in countries if r["location_code"] == 830} == {"CHI"}


@pytest.mark.real_data
def test_real_workbook_truncated(mirror: Path, tmp_path: Path) -> None:
    path = tmp_path / "undesa_pd_2020_ims_stock_by_sex_and_origin.xlsx"
    shutil.copyfile(mirror / path.name, path)
    path.write_bytes(path.read_bytes()[:100_000])
    with pytest.raises(ParseError, match=r"undesa_pd_2020_ims_stock_by_sex_and_origin\.xlsx: not a readable xlsx"):
        parser_for(FileKind.ORIGIN)(path, SHA, edition("2020"))


# --- streaming: the origin-destination table lands in batches ------------------------------------


def test_a_streamed_od_table_lands_in_row_groups_and_a_late_error_keeps_the_old_partition(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The refresh lands the O-D table batch by batch (one Parquet row group each). A bad cell on the
    last row raises only once the stream reaches it: by then batches were written, yet the
    half-written file is removed and the partition still holds the previous landing."""
    import pyarrow.parquet as pq

    import flows.parse.origin_destination as od_parser
    from flows.parse import streaming_parser_for
    from flows.parse.landing import land, partition_dir

    monkeypatch.setattr(od_parser, "BATCH_ROWS", 50)
    world = make_world("2020")
    path = write_origin_destination(world, tmp_path / "od.xlsx", "2020")
    raw = tmp_path / "raw"
    counts = land(raw, "2020", streaming_parser_for(FileKind.ORIGIN_DESTINATION)(path, SHA, edition("2020")), SHA)
    part = partition_dir(raw, "od_stock", "2020")
    (landed,) = part.glob("*.parquet")
    whole = parser_for(FileKind.ORIGIN_DESTINATION)(path, SHA, edition("2020"))["od_stock"]
    assert counts == {"od_stock": whole.num_rows} and pq.read_table(landed).equals(whole)
    # a batch closes at the first O-D row past 50 long rows (21 cells a row): 11 row groups of 672 rows
    assert pq.ParquetFile(landed).metadata.num_row_groups == -(-whole.num_rows // 63) == 11

    ws = load_workbook(path)["Table 1"]
    last = ws.max_row
    ws.cell(row=last, column=10, value="n/a")
    ws.parent.save(path)
    with pytest.raises(ParseError, match=rf"od\.xlsx, sheet 'Table 1', row {last}, column J.*'n/a'"):
        land(
            raw, "2020", streaming_parser_for(FileKind.ORIGIN_DESTINATION)(path, "cd" * 32, edition("2020")), "cd" * 32
        )
    assert list(part.glob("*.parquet")) == [landed], "no half-written file left, the previous landing kept"
    assert {p.name for p in part.iterdir()} == {landed.name, f".{landed.name}.sha256"}, "nor its checksum"
