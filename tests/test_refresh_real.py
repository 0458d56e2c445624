"""The real release files, end to end through the CLI as an engineer runs it: the figures of
SOURCES.md, an unchanged re-run with a reader holding the warehouse open, and a failed run that
leaves the published warehouse byte-identical."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.conftest import copy_mirror, sha256

pytestmark = [pytest.mark.slow, pytest.mark.real_data]


def cli(prefect_server: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PREFECT_API_URL": prefect_server, "COLUMNS": "160"}
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", *args], capture_output=True, text=True, env=env, timeout=600, check=False
    )


@pytest.fixture(scope="module")
def data(prefect_server: str, mirror: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("real") / "data"
    result = cli(prefect_server, "run", "--source-dir", str(mirror), "--data-dir", str(data))
    assert result.returncode == 0, result.stdout + result.stderr
    (data / "first-run.txt").write_text(result.stdout + result.stderr)
    return data


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
    reconciliation = {r["unique_id"].split(".")[2]: r["status"] for r in results if ".od_sums_match_" in r["unique_id"]}
    assert reconciliation == {
        "od_sums_match_destination_totals": "pass",
        "od_sums_match_origin_totals": "pass",
    }


def test_unchanged_rerun_with_a_reader_holding_the_warehouse(
    prefect_server: str, mirror: Path, data: Path, tmp_path: Path
) -> None:
    published = data / "published" / "warehouse.duckdb"
    marts = ["corridors", "corridor_pairs", "country_balance", "country_partners", "region_flows", "release_revisions"]
    reader = duckdb.connect(str(published), read_only=True)
    before = {m: reader.execute(f"select * from marts.{m} order by all").fetchall() for m in marts}
    result = cli(prefect_server, "run", "--source-dir", str(mirror), "--data-dir", str(data))
    assert result.returncode == 0, result.stdout + result.stderr
    # the reader was neither blocked nor broken: it still reads the warehouse it opened
    assert reader.execute("select count(*) from marts.pipeline_runs").fetchone() == (1,)
    reader.close()
    record = json.loads(max((data / "runs").glob("*.json")).read_text())
    assert {p["status"] for p in record["parse"]} == {"unchanged", "missing"}
    parse_lines = [line.split("parse: ", 1)[1] for line in result.stdout.splitlines() if "parse: " in line]
    assert len(parse_lines) == 8 and all(": unchanged (" in p or ": missing (" in p for p in parse_lines), parse_lines
    with duckdb.connect(str(published), read_only=True) as con:
        assert con.execute("select count(*) from marts.pipeline_runs").fetchone() == (2,)
        for m in marts:
            assert con.execute(f"select * from marts.{m} order by all").fetchall() == before[m], m


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
        "Refresh failed at step parse: undesa_pd_2020_ims_stock_by_sex_destination_and_origin.xlsx: "
        "not a readable xlsx workbook: truncated"
    ) in " ".join(result.stderr.split())
    assert "left as it was" in result.stderr
    assert sha256(published) == before
    assert {p.name: sha256(p) for p in (data / "published" / "marts").iterdir()} == parquet_before
    shutil.rmtree(broken)
