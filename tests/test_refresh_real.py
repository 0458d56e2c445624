"""The real release files, end to end through the CLI as an engineer runs it: the figures of
SOURCES.md, an unchanged re-run with a reader holding the warehouse open, and a failed run that
leaves the published warehouse byte-identical."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.conftest import MIRROR_VERDICTS, cli, copy_mirror, free_port, local_page, rezip, sha256, wait_for_http

pytestmark = pytest.mark.real_data


@pytest.fixture(scope="module")
def data(mirror_published: Path) -> Path:
    return mirror_published


def query(data: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(data / "published" / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_cli_reports_steps_missing_file_and_summary(data: Path) -> None:
    out = (data / "first-run.txt").read_text()
    assert "2024 origin_destination: MISSING" in out
    assert "undesa_pd_2024_ims_stock_by_sex_destination_and_origin.xlsx" in out
    assert "parse: 2020 origin_destination: parsed (od_stock 426,153)" in out
    assert "succeeded" in out and "corridors" in out and "country_balance" in out
    assert f"Warehouse: {data.resolve() / 'published' / 'warehouse.duckdb'}" in out
    assert "failed; " in out and " 0 failed" in out
    assert (
        "Known discrepancies: 1,736 listed with both figures and a reason in dbt_project/seeds/known_discrepancies.csv"
        " (official tables: 80, mirror reconstruction: 59, unverified source: 1,597), 1,736 found exactly as listed;"
        " the checks fail on any other."
    ) in " ".join(out.split())


def test_piped_output_is_one_line_per_message(data: Path) -> None:
    """The README's refresh, piped to a file as CI logs it: no line from uv compiling bytecode, no
    ERROR, each input a whole line with its whole file name, and the printed query on one line that
    runs as pasted."""
    out = (data / "first-run.txt").read_text()
    lines = out.splitlines()
    assert lines[0].startswith("$ ") and "/uv run --frozen migration-etl run" in lines[0], (
        "the README's command (CI has uv)"
    )
    assert "Bytecode compiled" not in out and [line for line in lines if "ERROR" in line or "Traceback" in line] == []
    inputs = [line for line in lines if line.startswith("Inputs: ")]
    assert len(inputs) == 18 and all(re.search(r" file=\S+\.(xlsx|csv)$", line) for line in inputs), inputs
    assert (
        'Inputs: edition=2017 kind=destination status=parsed sha256=a54de9ad75e7 version="re-saved copy" '
        "file=UN_MigrantStockTotal_2017.xlsx"
    ) in lines
    assert "Marts (schema marts): mart=corridors rows=291,981" in lines
    (query,) = [line.removeprefix("Query it:  ") for line in lines if line.startswith("Query it:")]
    assert query.startswith("uv run python -c ") and query.endswith("limit 10'))\"")
    code = shlex.split(query)[-1]
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert ran.returncode == 0 and "release" in ran.stdout, ran.stderr


def test_each_input_has_the_verdict_sources_md_gives_it(data: Path) -> None:
    """The refresh's own record of the mirror: original bytes are official, the 2020 O-D workbook
    is the layout reconstruction (ingested and marked), and the CLI and the warehouse say so."""
    first = min((data / "runs").glob("*.json"))
    record = json.loads(first.read_text())
    verdicts = {(i["edition"], i["kind"]): i.get("verdict") for i in record["inputs"]}
    assert verdicts == {**MIRROR_VERDICTS, ("2024", "origin_destination"): None}  # None: missing
    assert record["warnings"] == [
        "2020 origin_destination (undesa_pd_2020_ims_stock_by_sex_destination_and_origin.xlsx): reconstruction, "
        "matched: sha256 of 'layout reconstruction of the mirror, official values (SOURCES.md 1b)'",
        "2019 origin_destination (UN_MigrantStockByOriginAndDestination_2019.xlsx): reconstruction, "
        "matched: sha256 of 'layout reconstruction of the mirror, official values (SOURCES.md 1c)'",
        "2017 origin_destination (UN_MigrantStockByOriginAndDestination_2017.xlsx): reconstruction, "
        "matched: sha256 of 'layout reconstruction of the mirror, both sexes only (SOURCES.md 1c)'",
        "2017 destination (UN_MigrantStockTotal_2017.xlsx): re-saved copy, matched: sha256 of 're-saved by a "
        "user in Mac Excel, 2019-02-09 (Sadikshya101/THA2); values look original'",
        "2015 origin_destination (UN_MigrantStockByOriginAndDestination_2015.xlsx): reconstruction, "
        "matched: sha256 of 'layout reconstruction of the mirror, both sexes only (SOURCES.md 1c)'",
    ]
    out = " ".join((data / "first-run.txt").read_text().split())
    assert "fetch: 2020 origin_destination: sha256 8a8b7f4e6c81, RECONSTRUCTION, matched: sha256 of" in out
    assert "fetch: 2020 destination: sha256 c2bae98812a1, official, matched: sha256 of 'mirror copy, save of" in out


def test_every_mart_is_published(data: Path) -> None:
    tables = {
        t for (t,) in query(data, "select table_name from information_schema.tables where table_schema = 'marts'")
    }
    assert tables >= {
        "corridors",
        "corridor_pairs",
        "country_balance",
        "country_partners",
        "region_flows",
        "release_revisions",
        "pipeline_runs",
    }
    for table in tables:
        assert (data / "published" / "marts" / f"{table}.parquet").is_file()


def test_every_mart_and_column_carries_its_description(data: Path) -> None:
    """The dbt yml's descriptions are DuckDB comments in the published warehouse, so an analyst's
    SQL client shows them; every mart and column is documented."""
    tables = query(data, "select table_name, comment from duckdb_tables() where schema_name = 'marts'")
    assert len(tables) >= 11 and [t for t, comment in tables if not comment] == []
    columns = query(data, "select table_name, column_name, comment from duckdb_columns() where schema_name = 'marts'")
    assert len(columns) > 150 and [(t, c) for t, c, comment in columns if not comment] == []
    (said,) = query(
        data,
        "select comment from duckdb_columns() where schema_name = 'marts' and table_name = 'corridors' "
        "and column_name = 'asymmetry_index'",
    )
    assert said[0] == "(migrants - reverse_migrants) / (migrants + reverse_migrants); 1 = one-way, 0 = balanced."


def test_one_unit_convention_across_marts(data: Path) -> None:
    """A percentage is 0-100 in a column named `*_pct` (its comment says so); no mart column holds a
    share or a rate under another name, and the percentages are on the 0-100 scale, not fractions."""
    columns = query(data, "select table_name, column_name, comment from duckdb_columns() where schema_name = 'marts'")
    ratios = [
        (t, c) for t, c, _ in columns if any(word in c for word in ("share", "rate", "pct", "percent", "fraction"))
    ]
    assert ratios and [(t, c) for t, c in ratios if not c.endswith("_pct") and "_pct_" not in c] == []
    assert [(t, c) for t, c, said in columns if "pct" in c and "percentage" not in said.lower()] == []
    (largest_share, share_sum) = query(
        data,
        "select max(share_pct), max(total) from (select max(share_pct) as share_pct, sum(share_pct) as total "
        "from marts.country_partners group by release, year, country_code, direction)",
    )[0]
    assert 50 < largest_share <= 100 and 99.99 < share_sum < 100.0001


def test_top_corridors_2020(data: Path) -> None:
    top = query(
        data,
        "select origin_iso3, destination_iso3, migrants, rank from marts.corridors "
        "where release = '2020' and year = 2020 order by rank limit 20",
    )
    assert top[0] == ("MEX", "USA", 10_853_105, 1)
    assert top[7] == ("KAZ", "RUS", 2_558_907, 8)
    assert top[10] == ("RUS", "KAZ", 2_476_018, 11)
    assert [t[2] for t in top[:5]] == [10_853_105, 3_792_505, 3_471_300, 3_330_586, 3_268_263]
    assert top[19] == ("VEN", "COL", 1_780_486, 20)


def test_kazakhstan_balance_and_revision(data: Path) -> None:
    rows = {
        (r[0], r[1]): r[2:]
        for r in query(
            data, "select release, year, immigrants, emigrants, source from marts.country_balance where iso3 = 'KAZ'"
        )
    }
    assert rows[("2020", 2020)] == (3_732_073, 4_203_899, "official_totals")
    assert rows[("2024", 2020)] == (1_990_268, 3_029_566, "official_totals")
    assert rows[("2024", 2024)] == (2_089_797, 2_796_572, "official_totals")
    (pct,) = query(
        data,
        "select revision_pct from marts.release_revisions where country_code = 398 and year = 2020 "
        "and measure = 'immigrants' and release_from = '2020' and release_to = '2024'",
    )[0]
    assert pct == pytest.approx(-46.67, abs=0.01)


def test_2024_edition_without_corridor_file(data: Path) -> None:
    (countries, years) = query(
        data,
        "select count(distinct country_code), count(distinct year) from marts.country_balance where release = '2024'",
    )[0]
    assert (countries, years) == (235, 8)
    assert (
        query(
            data,
            "select count(*) from marts.country_balance where release = '2024' and year = 2024 "
            "and immigrants is not null",
        )[0][0]
        == 233
    )  # Saint Barthélemy and Saint Martin have no figure
    assert query(data, "select count(*) from marts.corridors where release = '2024'") == [(0,)]
    (missing,) = query(data, "select missing_files from marts.pipeline_runs")[0]
    assert len(missing) == 1 and "2024 origin_destination" in missing[0]


def test_world_totals_and_reconciliation(data: Path) -> None:
    (world,) = query(data, "select sum(migrants) from marts.region_flows where release = '2020' and year = 2020")[0]
    assert world == 280_598_105
    record = json.loads(max((data / "runs").glob("*.json")).read_text())
    assert record["dbt"]["tests_failed"] == 0
    results = json.loads((data / "build" / "dbt_target" / "run_results.json").read_text())["results"]
    reconciliation = {
        r["unique_id"].split(".")[2]: r["status"]
        for r in results
        if r["unique_id"].startswith("test.") and ".od_" in r["unique_id"] and "_totals" in r["unique_id"]
    }
    assert reconciliation == {
        "od_sums_match_destination_totals": "pass",
        "od_sums_match_origin_totals": "pass",
        "od_destination_totals_are_sums": "pass",
        "od_origin_totals_are_sums": "pass",
    }


def test_five_editions_and_their_largest_corridor(data: Path) -> None:
    """Every edition is published; the largest corridor of each edition's latest year is Mexico ->
    United States (SOURCES.md 3), and each edition's corridors add up to its WORLD total."""
    assert [r for (r,) in query(data, "select release from marts.releases order by release")] == [
        "2015", "2017", "2019", "2020", "2024"
    ]  # fmt: skip
    largest = query(
        data,
        "select release, year, origin_iso3, destination_iso3, migrants from marts.corridors "
        "where rank = 1 and year = (select max(year) from marts.corridors as c where c.release = corridors.release) "
        "order by release",
    )
    assert largest == [
        ("2015", 2015, "MEX", "USA", 12_050_031),
        ("2017", 2017, "MEX", "USA", 12_683_066),
        ("2019", 2019, "MEX", "USA", 11_489_684),
        ("2020", 2020, "MEX", "USA", 10_853_105),
    ]
    world = query(
        data,
        "select release, year, sum(migrants) from marts.region_flows "
        "where year = (select max(year) from marts.region_flows as r where r.release = region_flows.release) "
        "group by all order by 1",
    )
    assert world == [
        ("2015", 2015, 243_700_236),
        ("2017", 2017, 257_715_425),
        ("2019", 2019, 271_642_105),
        ("2020", 2020, 280_598_105),
    ]
    sexes = dict(query(data, "select release, corridor_sexes from marts.releases where has_corridors"))
    assert sexes == {"2015": ["total"], "2017": ["total"], "2019": ["total", "male", "female"],
                     "2020": ["total", "male", "female"]}  # fmt: skip


def test_corridor_changes_follow_the_corridors_year_by_year(data: Path) -> None:
    """Mexico → United States in the 2020 edition, 2015 → 2020: the change and the change per year
    over the five-year step, from the two stocks the corridors mart holds."""
    rows = query(
        data,
        "select c.previous_year, c.previous_migrants, c.migrants, c.change, c.years_between, c.annual_change, "
        "a.migrants, b.migrants from marts.corridor_changes c "
        "join marts.corridors a on a.release = c.release and a.year = c.year "
        "and a.origin_code = c.origin_code and a.destination_code = c.destination_code "
        "join marts.corridors b on b.release = c.release and b.year = c.previous_year "
        "and b.origin_code = c.origin_code and b.destination_code = c.destination_code "
        "where c.release = '2020' and c.year = 2020 and c.origin_code = 484 and c.destination_code = 840",
    )
    ((previous_year, previous, now, change, years, per_year, stock_now, stock_before),) = rows
    assert (previous_year, years, now, previous) == (2015, 5, stock_now, stock_before)
    assert now == 10_853_105 and change == now - previous and per_year == change / 5
    steps = query(data, "select distinct release, previous_year, year from marts.corridor_changes order by all")
    assert ("2020", 2015, 2020) in steps and all(r != "2024" for r, _, _ in steps), "no corridors in 2024 here"
    assert {y - p for r, p, y in steps if r == "2020"} == {5}
    assert ("2017", 2015, 2017) in steps and ("2019", 2015, 2019) in steps, "the last step of 2017 and 2019 is shorter"


def test_corridor_revisions_answer_the_question(data: Path) -> None:
    """How was Mexico -> United States for 2015 revised by each edition? And Kazakhstan -> Russia."""
    mex = query(
        data,
        "select release_from, release_to, value_from, value_to, is_consecutive from marts.corridor_revisions "
        "where origin_iso3 = 'MEX' and destination_iso3 = 'USA' and year = 2015 and is_consecutive order by 1",
    )
    assert mex == [
        ("2015", "2017", 12_050_031, 12_275_876, True),
        ("2017", "2019", 12_275_876, 11_643_298, True),
        ("2019", "2020", 11_643_298, 11_643_298, True),
    ]
    kaz = query(
        data,
        "select distinct value_from, value_to, revision from marts.corridor_revisions "
        "where origin_iso3 = 'KAZ' and destination_iso3 = 'RUS' and year = 2015",
    )
    assert kaz == [(2_560_269, 2_560_269, 0)]


def test_the_official_tables_known_discrepancies_are_listed_and_shown(data: Path) -> None:
    """SOURCES.md 1c's 62 rows where an older O-D table's Total differs from its totals workbook are
    found exactly as listed, each with its reason, in the data_quality mart."""
    rows = query(
        data,
        "select release, count(*), bool_and(success) from marts.data_quality "
        "where suite = 'known_discrepancies' and expectation = 'od_sums_match_destination_totals' "
        "and release in ('2015', '2017', '2019') group by release order by release",
    )
    assert rows == [("2015", 21, True), ("2017", 11, True), ("2019", 30, True)]
    (bes,) = query(
        data,
        "select observed, why from marts.data_quality where suite = 'known_discrepancies' and release = '2019' "
        "and expectation = 'od_sums_match_destination_totals' and \"column\" like '%(535)' "
        "and observed like '2005, total%'",
    )
    assert bes[0] == "2005, total, 62205 vs 49105"
    assert bes[1].startswith(
        "The totals workbook's 2005 figure for Bonaire, Sint Eustatius and Saba, 62,205 (28,015 male, "
        "34,190 female), refers to the former Netherlands Antilles"
    )
    (failing,) = query(data, "select count(*) from marts.data_quality where not success")[0]
    assert failing == 0


def test_a_new_discrepancy_in_a_copy_of_a_workbook_fails_the_run_naming_it(
    prefect_server: str, mirror: Path, data: Path, tmp_path: Path
) -> None:
    """Mexico's 2015 immigrants in a copy of the 2019 totals workbook, 7 more than its O-D table
    says: accepted as a new version (its bytes changed), it still fails the reconciliation, which
    names the cell; the published warehouse stays as it was."""
    from openpyxl import load_workbook

    broken = copy_mirror(mirror, tmp_path / "mirror")
    totals = broken / "UN_MigrantStockTotal_2019.xlsx"
    book = load_workbook(totals)
    sheet = book["Table 1"]
    row = next(r for r in sheet.iter_rows(min_row=17) if r[3].value == 484)
    year_col = next(c.column for c in sheet[16] if c.value == 2015)  # the both-sexes block comes first
    cell = sheet.cell(row=row[0].row, column=year_col)
    official = int(cell.value)
    cell.value = official + 7
    book.save(totals)
    before = sha256(data / "published" / "warehouse.duckdb")
    result = cli(prefect_server, "run", "--source-dir", str(broken), "--data-dir", str(data), "--accept-new-versions")
    assert result.returncode == 1
    assert (
        "Refresh failed at step dbt build: dbt build failed: test od_sums_match_destination_totals: 1 failing "
        f"row, e.g. UN_MigrantStockTotal_2019.xlsx, sheet 'Table 1', row {cell.row}, column {cell.column_letter}: "
        f"release=2019, year=2015, sex=total, country_code=484, official_total={official + 7}, od_sum={official}, "
        "difference=-7"
    ) in " ".join(result.stderr.split()), result.stderr
    assert sha256(data / "published" / "warehouse.duckdb") == before


def test_data_docs_open_in_a_browser(data: Path, browser: Any) -> None:
    """The run record links the Data Docs; headless Chromium, with every request off this machine
    refused, shows this run's validations on the index, all passed, and a click opens one."""
    records = [json.loads(p.read_text()) for p in sorted((data / "runs").glob("*.json"))]
    record = [r for r in records if (r.get("quality") or {}).get("docs")][-1]  # the latest run that built them
    index = Path(record["quality"]["docs"])
    assert index == data.resolve() / "quality" / "docs" / "index.html"
    validations = {(r["suite"], r["release"]) for r in record["quality"]["results"]}
    page = browser.new_page()
    page.route(re.compile(r"^https?://"), lambda route: route.abort())  # a file:// site: nothing over HTTP at all
    page.goto(index.as_uri())
    rows = page.locator("tr.static-row", has_text=record["run_id"])
    # 18 suites, the raw-table ones validated once per edition that has the table
    assert rows.count() == len(validations) == 46
    assert rows.locator("i.text-success").count() == 46
    assert rows.locator("i.text-danger").count() == 0
    rows.filter(has_text="mart_corridors").first.click()
    page.wait_for_load_state()
    assert "/validations/mart_corridors/" in page.url
    body = " ".join(page.inner_text("body").split())
    assert "Status: Succeeded" in body and record["run_id"] in body
    assert "Unsuccessful Expectations 0" in body


def test_data_docs_say_succeeded_offline_and_request_nothing(data: Path, browser: Any, tmp_path: Path) -> None:
    """Read as they are read here, from file:// with no network: every status says Succeeded in
    words, on the index and on each expectation of a validation, and no page asks for anything
    off the machine (no CDN, no font, no newsletter)."""
    records = [json.loads(p.read_text()) for p in sorted((data / "runs").glob("*.json"))]
    record = [r for r in records if (r.get("quality") or {}).get("docs")][-1]
    index = Path(record["quality"]["docs"])
    page, requested = local_page(browser)  # every request off this machine refused and noted
    page.goto(index.as_uri())
    rows = page.locator("tr.static-row", has_text=record["run_id"])
    assert rows.locator("i.text-success", has_text="Succeeded").count() == rows.count() == 46
    assert "Failed" not in page.inner_text("body")
    page.screenshot(path=str(tmp_path / "data-docs-index.png"), full_page=True)
    rows.filter(has_text="mart_corridors").first.click()
    page.wait_for_load_state()
    checks = [r for r in record["quality"]["results"] if r["suite"] == "mart_corridors"]
    statuses = page.locator("td i.text-success", has_text="Succeeded")
    assert statuses.count() == len(checks) > 0
    page.screenshot(path=str(tmp_path / "data-docs-validation.png"), full_page=True)
    assert requested == [], requested


def test_dbt_docs_are_published_and_served(prefect_server: str, data: Path, browser: Any) -> None:
    """`migration-etl docs` serves the published dbt docs; in headless Chromium, with every request
    off this machine refused, the app's exposure lists the marts it reads and a mart's page shows
    its column docs."""
    docs = data / "published" / "docs"
    assert sorted(p.name for p in docs.iterdir()) == [
        "catalog.json",
        "index.html",
        "manifest.json",
        "static_index.html",
    ]
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "flows", "docs", "--data-dir", str(data), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_for_http(url, server, "migration-etl docs", timeout=30)
        page, outside = local_page(browser)
        page.goto(f"{url}#!/exposure/exposure.migration_corridors.migration_corridors_app")
        page.get_by_text("Depends On").first.wait_for(timeout=30_000)
        body = " ".join(page.inner_text("body").split())
        assert "Migration corridors (Streamlit app)" in body
        assert (
            "Models corridor_changes corridor_pairs corridor_revisions corridors countries country_balance "
            "country_partners region_flows release_revisions releases"
        ) in body
        page.goto(f"{url}#!/model/model.migration_corridors.corridors")
        page.get_by_text("ISO3 code of the origin.").first.wait_for(timeout=30_000)
        assert outside == [], "the docs asked for something off this machine"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_unchanged_rerun_with_a_reader_holding_the_warehouse(prefect_server: str, mirror: Path, data: Path) -> None:
    """Nothing in the mirror changed: the run asks each file's size and time, finds them as before
    and stops, in a fraction of the first run's time, with no parse and no dbt build. A reader
    holding the warehouse open is neither blocked nor broken."""
    published = data / "published" / "warehouse.duckdb"
    version = os.readlink(data / "published")
    reader = duckdb.connect(str(published), read_only=True)
    (runs_before,) = reader.execute("select count(*) from marts.pipeline_runs").fetchone() or (0,)
    result = cli(prefect_server, "run", "--source-dir", str(mirror), "--data-dir", str(data))
    assert result.returncode == 0, result.stdout + result.stderr
    assert reader.execute("select count(*) from marts.pipeline_runs").fetchone() == (runs_before,)
    reader.close()
    record = json.loads(max((data / "runs").glob("*.json")).read_text())
    assert record["status"] == "unchanged" and set(record["timings"]) == {"detect", "total"}
    assert len(record["changes"]["files"]) == 18 and not record["changes"]["rebuild"]
    out = " ".join(result.stdout.split())
    assert "unchanged" in out and "parse: " not in out and "dbt build" not in out
    assert os.readlink(data / "published") == version
    first = json.loads(min((data / "runs").glob("*.json")).read_text())
    assert record["timings"]["total"] < first["timings"]["total"] / 10, (record["timings"], first["timings"])


def test_a_truncated_workbook_fails_and_publishes_nothing(
    prefect_server: str, mirror: Path, data: Path, tmp_path: Path
) -> None:
    broken = copy_mirror(mirror, tmp_path / "mirror")
    od = broken / "undesa_pd_2020_ims_stock_by_sex_destination_and_origin.xlsx"
    od.write_bytes(od.read_bytes()[:1_000_000])
    published = data / "published" / "warehouse.duckdb"
    before = sha256(published)
    parquet_before = {p.name: sha256(p) for p in (data / "published" / "marts").iterdir()}
    result = cli(prefect_server, "run", "--source-dir", str(broken), "--data-dir", str(data))
    assert result.returncode == 1
    assert (
        "Refresh failed at step fetch: undesa_pd_2020_ims_stock_by_sex_destination_and_origin.xlsx: sha256 "
        f"{sha256(od)} matches none of the 3 versions the catalogue knows; the file was not archived. It is an "
        f"unknown version of edition 2020's origin_destination file, from mirror:{od.resolve()}: 1,000,000 B"
    ) in " ".join(result.stderr.split()), result.stderr
    # accepting a new version loosens nothing else: the file must still parse
    result = cli(prefect_server, "run", "--source-dir", str(broken), "--data-dir", str(data), "--accept-new-versions")
    assert result.returncode == 1
    assert (
        "Refresh failed at step parse: undesa_pd_2020_ims_stock_by_sex_destination_and_origin.xlsx: "
        "not a readable xlsx workbook: truncated"
    ) in " ".join(result.stderr.split())
    assert "left as it was" in result.stderr
    assert sha256(published) == before
    assert {p.name: sha256(p) for p in (data / "published" / "marts").iterdir()} == parquet_before
    shutil.rmtree(broken)


# --- crash safety ---------------------------------------------------------------------------------


class Refresh:
    """A CLI refresh in a child process whose output is watched line by line, to kill it at a chosen
    moment with SIGKILL: no handler, no `finally`, exactly what a power cut or the OOM killer does."""

    def __init__(self, prefect_server: str, mirror: Path, data: Path, *flags: str) -> None:
        env = {**os.environ, "PREFECT_API_URL": prefect_server, "COLUMNS": "200", "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "flows.ops.cli",
                "run",
                *flags,
                "--source-dir",
                str(mirror),
                "--data-dir",
                str(data),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, condition: Callable[[], bool], what: str, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert self.proc.poll() is None, f"the refresh ended before {what}:\n{self.output}"
            assert time.monotonic() < deadline, f"no {what} within {timeout} s:\n{self.output}"
            time.sleep(0.005)

    def kill(self) -> None:
        assert self.proc.poll() is None, f"the refresh had already ended:\n{self.output}"
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        self.reader.join(timeout=30)

    def finish(self) -> int:
        code = self.proc.wait(timeout=600)
        self.reader.join(timeout=30)
        return code


def published_fingerprint(data: Path) -> dict[str, str]:
    published = data / "published"
    prints = {"link": os.readlink(published), "warehouse": sha256(published / "warehouse.duckdb")}
    prints |= {p.name: sha256(p) for p in (published / "marts").iterdir()}
    return prints


def assert_published_intact(data: Path, before: dict[str, str]) -> None:
    assert published_fingerprint(data) == before
    # and readable: a reader opens it while the killed run's leftovers are still on disk
    assert query(data, "select count(*) from marts.corridors where release = '2020'")[0][0] > 40_000


def test_killed_at_parse_dbt_and_publish_then_recovers(
    prefect_server: str, mirror: Path, data: Path, tmp_path: Path
) -> None:
    """Three refreshes are killed, each at a later step; every next run starts on the leftovers of
    the one before with no clean-up in between, and gets past the point where it was killed. A
    second refresh started while the last one runs is turned away, and the last one publishes."""
    before = published_fingerprint(data)
    corridors_before = query(data, "select count(*), sum(migrants) from marts.corridors")

    # 1. during parse: the corridor workbook must be parsed again (1.5 s here), so it is killed inside it
    shutil.rmtree(data / "raw" / "od_stock" / "release=2020")
    run = Refresh(prefect_server, mirror, data, "--force")  # forced: it must get as far as the step it is killed in
    run.wait_for(lambda: "parse: 2024 classification" in run.output, "the 2024 files parsed")
    time.sleep(0.3)
    run.kill()
    assert "parse: 2020 origin_destination" not in run.output, "killed too late: the O-D parse had finished"
    assert_published_intact(data, before)

    # 2. during dbt build: after parsing what the last run left half done, killed with the build database open
    run = Refresh(prefect_server, mirror, data, "--force")
    run.wait_for(lambda: "dbt build: staging" in run.output, "dbt build started")
    run.wait_for(lambda: (data / "build" / "current" / "warehouse.duckdb").is_file(), "a build database")
    time.sleep(3)
    run.kill()
    assert "parse: 2020 origin_destination: parsed (od_stock 426,153)" in run.output
    assert "tests passed" not in run.output, "killed too late: dbt build had finished"
    assert_published_intact(data, before)

    # 3. during publish: killed while the new version is being assembled beside the published one
    run = Refresh(prefect_server, mirror, data, "--force")
    run.wait_for(lambda: any((data / "published-versions").glob(".partial-*")), "publish assembling a version")
    run.kill()
    assert re.search(r"dbt build: \d+ models, \d+ tests passed", run.output), run.output
    assert "published version" not in run.output
    assert any((data / "published-versions").glob(".partial-*")), "the kill left its partial version"
    assert_published_intact(data, before)

    # 4. a corrected corridor workbook arrives (new bytes, the same cells), and an operator accepts
    #    it: the next refresh, not forced, finds it, rebuilds and names it; a second one started
    #    meanwhile is refused
    corrected = copy_mirror(mirror, tmp_path / "mirror")
    od = corrected / "undesa_pd_2020_ims_stock_by_sex_destination_and_origin.xlsx"
    old_sha = sha256(od)
    rezip(od)
    run = Refresh(prefect_server, corrected, data, "--accept-new-versions")
    run.wait_for(lambda: "fetch: " in run.output, "the refresh holding the lock")
    second = cli(prefect_server, "run", "--source-dir", str(mirror), "--data-dir", str(data))
    assert second.returncode == 1
    assert f"another refresh is already running on {data.resolve()}" in " ".join(second.stderr.split())
    assert run.finish() == 0, run.output
    after = published_fingerprint(data)
    assert after["link"] != before["link"]
    assert sorted(p.name for p in (data / "published-versions").iterdir()) == sorted(
        Path(link).name for link in (before["link"], after["link"])
    ), "partial and never-published versions are swept; the previous version is kept for roll-back"
    assert not list((data / "raw").rglob(".tmp-*"))
    assert not (data / "build" / "current").exists(), "the build folder is cleared after publishing"
    assert query(data, "select count(*), sum(migrants) from marts.corridors") == corridors_before
    record = json.loads(max((data / "runs").glob("*.json")).read_text())
    assert record["status"] == "success" and not record["forced"]
    assert record["changes"]["reasons"] == [
        f"2020 origin_destination ({od.name}): changed, sha256 {old_sha[:12]} -> {sha256(od)[:12]}"
    ]
    # the same cells: the 59 discrepancies listed for the reconstruction are found as listed, and
    # shown as reviewed on the version before
    assert record["dbt"]["known_discrepancies"]["as_listed"] == 1736
    (reissued,) = query(
        data,
        "select count(*) from marts.data_quality where suite = 'known_discrepancies' and why like "
        f"'%; listed for the workbook with sha256 {old_sha[:12]}, found the same in the version read, "
        f"{sha256(od)[:12]}'",
    )[0]
    assert reissued == 59
