"""The refresh flow end to end on generated releases: real Prefect runs (test server), real dbt
builds, a real DuckDB file. Covers what the mirror cannot: an edition whose origin-destination
file exists in the 2024 layout, an edition with only that file, renamed countries, and a
reconciliation failure."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
from openpyxl import load_workbook

from flows.errors import BuildError
from flows.refresh import refresh
from flows.settings import PROJECT_DIR, Settings
from tests.conftest import local_page, sha256, write_catalogue
from tests.workbooks import (
    OTHER,
    WORLD,
    YEARS,
    World,
    find_cell,
    locate,
    make_world,
    official_names,
    set_cell,
    write_edition,
)


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, World]]:
    folder = tmp_path_factory.mktemp("release")
    worlds = {ed: make_world(ed) for ed in ("2015", "2020", "2024")}
    # 2024: the origin-destination file in the 2024 layout, listing region aggregates as origins,
    # with Russia -> Kazakhstan 2024 (both sexes) marked not available
    files = write_edition(worlds["2024"], folder, region_origins=True)
    od = files["origin_destination"]
    w = worlds["2024"]
    set_cell(od, "Table 1", find_cell(od, "Table 1", lambda v: v == w.stock(398, 643, 2024, "total")), "..")
    write_edition(worlds["2020"], folder, headings=True)
    write_edition(worlds["2015"], folder, totals=False)  # the O-D table only
    editions = {ed: dict(official_names(ed)) for ed in worlds}
    editions["2015"]["destination"] = None
    editions["2015"]["origin"] = None
    catalogue = write_catalogue(folder / "catalogue.yaml", editions, YEARS)
    return folder, catalogue, worlds


@pytest.fixture(scope="module")
def run(prefect_server: str, release: tuple[Path, Path, dict[str, World]], tmp_path_factory: pytest.TempPathFactory):
    folder, catalogue, worlds = release
    data = tmp_path_factory.mktemp("data")
    record = refresh(source_dir=str(folder), data_dir=str(data), catalogue=str(catalogue))
    return data, record, worlds


def query(data: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(data / "published" / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def test_run_succeeds_and_records_itself(run: tuple[Path, dict[str, Any], dict[str, World]]) -> None:
    data, record, _ = run
    assert record["status"] == "success"
    assert record["editions"] == ["2015", "2020", "2024"]
    assert {p["status"] for p in record["parse"]} == {"parsed"}
    assert record["dbt"]["tests_failed"] == 0 and record["dbt"]["tests_passed"] >= 55
    assert set(record["timings"]) == {"detect", "fetch", "parse", "dbt", "quality", "docs", "publish", "total"}
    assert record["quality"]["failed"] == 0 and record["quality"]["passed"] > 200
    (runs,) = query(data, "select count(*), any_value(status) from marts.pipeline_runs")
    assert runs == (1, "success")
    assert (data / "runs" / f"{record['run_id']}.json").is_file()
    assert not (data / "build" / "current").exists(), "the build folder is cleared after publishing"


def test_the_2024_origin_destination_file_is_ingested(run: tuple[Path, dict[str, Any], dict[str, World]]) -> None:
    data, _, worlds = run
    w = worlds["2024"]
    top = query(
        data,
        "select origin_code, destination_code, migrants, rank from marts.corridors "
        "where release = '2024' and year = 2024 order by rank limit 1",
    )
    assert top == [(484, 840, w.stock(840, 484, 2024, "total"), 1)]
    (count,) = query(data, "select count(*) from marts.corridors where release = '2024' and year = 2024")[0]
    listed = sum(1 for (d, o) in w.od if o != OTHER and w.stock(d, o, 2024, "total") > 0)
    assert count == listed - 1, "all but Russia -> Kazakhstan, which is marked not available"


def test_a_two_way_corridor(run: tuple[Path, dict[str, Any], dict[str, World]]) -> None:
    data, _, worlds = run
    w = worlds["2020"]
    kaz_to_rus, rus_to_kaz = w.stock(643, 398, 2020, "total"), w.stock(398, 643, 2020, "total")
    row = query(
        data,
        "select a_to_b, b_to_a, total, asymmetry_index from marts.corridor_pairs "
        "where release = '2020' and year = 2020 and country_a_code = 398 and country_b_code = 643",
    )
    assert row == [
        (
            kaz_to_rus,
            rus_to_kaz,
            kaz_to_rus + rus_to_kaz,
            pytest.approx((kaz_to_rus - rus_to_kaz) / (kaz_to_rus + rus_to_kaz)),
        )
    ]
    (reverse,) = query(
        data,
        "select reverse_migrants from marts.corridors where release = '2020' and year = 2020 "
        "and origin_code = 398 and destination_code = 643",
    )[0]
    assert reverse == rus_to_kaz


def test_a_figure_marked_not_available_stays_unknown(run: tuple[Path, dict[str, Any], dict[str, World]]) -> None:
    """Russia -> Kazakhstan 2024 is '..': the reverse of Kazakhstan -> Russia, the pair's total,
    its rank and the region flow it belongs to are unknown, not silently zero."""
    data, _, worlds = run
    w = worlds["2024"]
    (row,) = query(
        data,
        "select migrants, reverse_migrants, asymmetry_index from marts.corridors where "
        "release = '2024' and year = 2024 and origin_code = 398 and destination_code = 643",
    )
    assert row == (w.stock(643, 398, 2024, "total"), None, None)
    (pair,) = query(
        data,
        "select a_to_b, b_to_a, total, rank from marts.corridor_pairs where release = '2024' "
        "and year = 2024 and country_a_code = 398 and country_b_code = 643",
    )
    assert pair == (w.stock(643, 398, 2024, "total"), None, None, None)
    (flow,) = query(
        data,
        "select migrants from marts.region_flows where release = '2024' and year = 2024 and "
        "origin_region = 'Europe and Northern America' and destination_region = "
        "'Central and Southern Asia'",
    )
    assert flow == (None,)
    # the official totals still give Kazakhstan's balance; the reconciliation skips the unknown sum
    (imm,) = query(
        data,
        "select immigrants from marts.country_balance where release = '2024' and year = 2024 and country_code = 398",
    )[0]
    assert imm == w.immigrants(398, 2024, "total")
    # region aggregates listed as origins never count as corridors or in the sums
    assert query(data, "select count(*) from marts.corridors where origin_code >= 900") == [(0,)]


def test_names_follow_each_edition(run: tuple[Path, dict[str, Any], dict[str, World]]) -> None:
    data, _, _ = run
    names = dict(
        query(
            data,
            "select release, any_value(country_name) from marts.country_balance "
            "where country_code = 792 group by release",
        )
    )
    assert names == {"2015": "Turkey", "2020": "Turkey", "2024": "Türkiye"}
    (usa,) = query(data, "select distinct destination_name from marts.corridors where destination_code = 840")
    assert usa == ("United States of America",)


def test_balance_from_official_totals_or_the_od_table(run: tuple[Path, dict[str, Any], dict[str, World]]) -> None:
    data, _, worlds = run
    rows = {
        r[0]: r[1:]
        for r in query(
            data,
            "select release, immigrants, emigrants, balance_index, source, population from marts.country_balance "
            "where country_code = 398 and year = 2015",
        )
    }
    for release, source in (("2020", "official_totals"), ("2024", "official_totals"), ("2015", "od_table")):
        w = worlds[release]
        imm, emi = w.immigrants(398, 2015, "total"), w.emigrants(398, 2015, "total")
        assert rows[release][:3] == (imm, emi, pytest.approx((imm - emi) / (imm + emi)))
        assert rows[release][3] == source
    assert rows["2015"][4] is None, "no destination workbook, so no population"
    assert rows["2020"][4] > 0


def test_partners_and_regions_add_up(run: tuple[Path, dict[str, Any], dict[str, World]]) -> None:
    data, _, worlds = run
    bad = query(
        data,
        "select release, year, country_code, direction, sum(share_pct) from marts.country_partners "
        "group by all having abs(sum(share_pct) - 100) > 1e-7",
    )
    assert bad == []
    (other,) = query(
        data,
        "select partner_name, partner_is_country from marts.country_partners where release = '2020' "
        "and year = 2020 and country_code = 398 and direction = 'from' and partner_code = 2003",
    )
    assert other == ("Other (origin unknown)", False)
    w = worlds["2020"]
    (total,) = query(data, "select sum(migrants) from marts.region_flows where release = '2020' and year = 2020")[0:1]
    assert total[0] == sum(w.stock(d, o, 2020, "total") for (d, o) in w.od)


def test_revisions_between_every_pair_of_editions(run: tuple[Path, dict[str, Any], dict[str, World]]) -> None:
    data, _, worlds = run
    pairs = query(data, "select distinct release_from, release_to from marts.release_revisions order by all")
    assert pairs == [("2015", "2020"), ("2015", "2024"), ("2020", "2024")]
    (row,) = query(
        data,
        "select value_from, value_to, revision from marts.release_revisions where country_code = 398 "
        "and year = 2020 and measure = 'immigrants' and release_from = '2020'",
    )
    before, after = worlds["2020"].immigrants(398, 2020, "total"), worlds["2024"].immigrants(398, 2020, "total")
    assert row == (before, after, after - before)


def test_parquet_copies_match_the_warehouse(run: tuple[Path, dict[str, Any], dict[str, World]]) -> None:
    data, record, _ = run
    marts = data / "published" / "marts"
    assert (data / "published").is_symlink(), "published is switched to a new version in one step"
    with duckdb.connect() as con:
        for mart, rows in record["row_counts"].items():
            (n,) = con.execute(f"select count(*) from read_parquet('{marts / (mart + '.parquet')}')").fetchone()
            assert n == rows, mart


def test_a_failed_reconciliation_stops_before_publish(
    run: tuple[Path, dict[str, Any], dict[str, World]],
    release: tuple[Path, Path, dict[str, World]],
    tmp_path: Path,
) -> None:
    data, _, worlds = run
    folder, catalogue, _ = release
    broken = tmp_path / "release"
    shutil.copytree(folder, broken)
    dest = broken / official_names("2020")["destination"]
    w = worlds["2020"]
    set_cell(dest, "Table 1", locate(dest, "Table 1", "Kazakhstan", 2010), w.immigrants(398, 2010, "total") + 1)
    published = data / "published" / "warehouse.duckdb"
    before = sha256(published)
    with pytest.raises(
        BuildError,
        match=r"dbt build failed: test od_sums_match_destination_totals: "
        r"1 failing row,",
    ):
        refresh(source_dir=str(broken), data_dir=str(data), catalogue=str(catalogue))
    assert sha256(published) == before
    records = sorted((data / "runs").glob("*.json"))
    failed = Settings(data_dir=data)
    assert failed.runs_dir == data.resolve() / "runs"
    last = max(records, key=lambda p: p.stat().st_mtime).read_text()
    assert '"status": "failed"' in last and '"step": "dbt build"' in last


def test_data_quality_is_published_with_the_marts(run: tuple[Path, dict[str, Any], dict[str, World]]) -> None:
    data, record, _ = run
    columns = [c for (c,) in query(data, "select column_name from (describe marts.data_quality)")]
    assert columns[:8] == [
        "run_id",
        "suite",
        "expectation",
        "table",
        "column",
        "release",
        "success",
        "unexpected_count",
    ]
    rows = query(
        data,
        'select run_id, suite, "table", release, success from marts.data_quality '
        "where suite <> 'known_discrepancies'",
    )
    assert len(rows) == record["quality"]["expectations"] > 200
    assert {r[0] for r in rows} == {record["run_id"]} and all(r[4] for r in rows)
    # raw-table suites per edition (three here), mart suites once
    assert {r[3] for r in rows if r[1] == "raw_od_stock"} == {"2015", "2020", "2024"}
    assert {r[3] for r in rows if r[1] == "mart_corridors"} == {None}


def test_a_failed_expectation_reads_failed_in_the_data_docs_offline(
    prefect_server: str,
    run: tuple[Path, dict[str, Any], dict[str, World]],
    release: tuple[Path, Path, dict[str, World]],
    tmp_path: Path,
    browser: Any,
) -> None:
    """The Data Docs of a failed gate, read from file:// with nothing off the machine reachable:
    the failed validation and its failed expectation say Failed in words, the others Succeeded."""

    from expectations.gate import QualityFailed

    data, _, _ = run
    folder, catalogue, _ = release
    broken = tmp_path / "release"
    shutil.copytree(folder, broken)
    od = broken / official_names("2015")["origin_destination"]
    add_to_male_cells(od, 2015, [(398, 643), (398, WORLD), (WORLD, 643), (WORLD, WORLD)], 1)
    with pytest.raises(QualityFailed):
        refresh(source_dir=str(broken), data_dir=str(data), catalogue=str(catalogue))
    record = json.loads(max((data / "runs").glob("*.json"), key=lambda p: p.stat().st_mtime).read_text())
    page, requested = local_page(browser)  # every request off this machine refused and noted
    page.goto(Path(record["quality"]["docs"]).as_uri())
    rows = page.locator("tr.static-row", has_text=record["run_id"])
    failed = rows.filter(has=page.locator("i.text-danger", has_text="Failed"))
    assert failed.count() == 1 and "raw_od_stock_sexes_release_2015" in failed.inner_text()
    assert rows.locator("i.text-success", has_text="Succeeded").count() == rows.count() - 1 > 0
    failed.click()
    page.wait_for_load_state()
    body = " ".join(page.inner_text("body").split())
    assert "Status: Failed" in body
    assert page.locator("td i.text-danger", has_text="Failed").count() == 1
    page.screenshot(path=str(tmp_path / "data-docs-failed.png"), full_page=True)
    assert requested == [], requested


def test_a_failed_expectation_stops_before_publish_and_says_where(
    prefect_server: str,
    run: tuple[Path, dict[str, Any], dict[str, World]],
    release: tuple[Path, Path, dict[str, World]],
    tmp_path: Path,
) -> None:
    """Males + females exceed both sexes by one in the 2015 corridor table (a cell and the three
    totals it feeds, so the table still adds up, and the edition has no totals to reconcile with):
    within the rounding the marts' dbt tests allow, but the raw suite holds the source to the exact
    sums the official tables have."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        FlowRunFilter,
        FlowRunFilterId,
    )

    from expectations.gate import QualityFailed

    data, _, worlds = run
    folder, catalogue, _ = release
    broken = tmp_path / "release"
    shutil.copytree(folder, broken)
    od = broken / official_names("2015")["origin_destination"]
    w = worlds["2015"]
    male = w.stock(398, 643, 2015, "male")
    add_to_male_cells(od, 2015, [(398, 643), (398, WORLD), (WORLD, 643), (WORLD, WORLD)], 1)
    published = data / "published" / "warehouse.duckdb"
    before = sha256(published)
    with pytest.raises(QualityFailed, match=r"raw_od_stock_sexes \[release 2015\]: expect_column_values_to_be_between"):
        refresh(source_dir=str(broken), data_dir=str(data), catalogue=str(catalogue))
    assert sha256(published) == before

    record = json.loads(max((data / "runs").glob("*.json"), key=lambda p: p.stat().st_mtime).read_text())
    assert record["status"] == "failed" and record["error"]["step"] == "quality"
    (failure,) = record["quality"]["failures"]
    assert (failure["suite"], failure["release"], failure["table"], failure["column"]) == (
        "raw_od_stock_sexes",
        "2015",
        "staging.stg_undesa__od_stocks",
        "sex_gap",
    )
    assert failure["unexpected_count"] == 4
    where = {(s["destination_code"], s["origin_code"], s["year"], s["male"]) for s in failure["samples"]}
    assert (398, 643, 2015, male + 1) in where
    assert record["quality"]["docs"] == str(data.resolve() / "quality" / "docs" / "index.html")

    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_run(record["flow_run_id"])
        assert flow_run.state is not None and flow_run.state.is_failed()
        assert "raw_od_stock_sexes [release 2015]" in (flow_run.state.message or "")
        tasks = {
            t.name: t.state
            for t in client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run.id])))
        }
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run.id]))
        )
    (quality,) = [state for name, state in tasks.items() if name.startswith("quality")]
    assert quality is not None and quality.is_failed(), sorted(tasks)
    assert "sex_gap: 4 of 192 rows unexpected" in (quality.message or "")
    # every dbt node is listed on the run, and passed: the build went through, the gate stopped the run
    (nodes,) = [a for a in artifacts if a.key == "dbt-nodes"]
    status = {row["node"]: row["status"] for row in json.loads(str(nodes.data))}
    assert status["model corridors"] == "success" and status["test od_sums_match_destination_totals"] == "pass"
    assert len(status) > 60 and set(status.values()) <= {"success", "pass", "no-op"}  # no-op: the exposure
    (build,) = [state for name, state in tasks.items() if name.startswith("dbt-build")]
    assert build is not None and build.is_completed()
    assert not any(name.startswith("publish") for name in tasks)


def test_quality_gate_in_chunks_checks_the_same(
    run: tuple[Path, dict[str, Any], dict[str, World]],
    release: tuple[Path, Path, dict[str, World]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With tables larger than a chunk, the gate validates them a range of years at a time (its
    memory bound at 100x the rows). The same release refreshed with chunks of at most 200 rows
    gets each expectation's same verdict and counts as whole tables, row-count bounds included."""
    import expectations.gate as gate

    _, whole, _ = run
    folder, catalogue, _ = release
    monkeypatch.setattr(gate, "CHUNK_ROWS", 200)
    chunked = refresh(source_dir=str(folder), data_dir=str(tmp_path / "data"), catalogue=str(catalogue))

    def verdicts(record: dict[str, Any]) -> list[tuple[Any, ...]]:
        keys = ("suite", "expectation", "column", "release", "success", "unexpected_count", "element_count")
        return [tuple(r[k] for k in keys) for r in record["quality"]["results"]]

    assert verdicts(chunked) == verdicts(whole) and len(whole["quality"]["results"]) > 200
    pages = {p.stem for p in (tmp_path / "data" / "quality" / "docs" / "validations").rglob("*.html")}
    assert "build-raw_od_stock_release_2020_years_1990_1995" in pages and "build-raw_od_stock_release_2020" not in pages
    key = ("raw_od_stock", "2020", "expect_table_row_count_to_be_between")
    (od_rows,) = [r for r in chunked["quality"]["results"] if (r["suite"], r["release"], r["expectation"]) == key]
    assert od_rows["success"] and od_rows["observed"] == str(
        sum(n for p in chunked["parse"] if p["edition"] == "2020" for t, n in p["rows"].items() if t == "od_stock")
    )


SERVER = "prefect.server.api.server:create_app"  # in the command line of the CLI's temporary server


def test_without_a_configured_server_the_cli_runs_its_own_and_stops_it(
    run: tuple[Path, dict[str, Any], dict[str, World]], release: tuple[Path, Path, dict[str, World]], tmp_path: Path
) -> None:
    """No PREFECT_API_URL: `migration-etl run` starts a temporary Prefect server first thing, the
    flow runs against it, and nothing the CLI started is left running when it ends: after a success,
    after a failure, and killed outright (no cleanup of the CLI runs). Each run is watched by
    tests/descendants.py, which sees only the processes it started."""
    import subprocess
    import sys

    import yaml

    folder, catalogue, _ = release
    data = tmp_path / "data"
    shutil.copytree(run[0], data, symlinks=True)
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"} | {"COLUMNS": "160"}
    report = tmp_path / "report.json"

    def run_cli(catalogue: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
        command = [sys.executable, "-m", "flows", "run", "--source-dir", str(folder), "--catalogue", str(catalogue)]
        watched = [sys.executable, "-m", "tests.descendants", "--report", str(report), *extra, "--"]
        done = subprocess.run(
            [*watched, *command, "--data-dir", str(data)], env=env, capture_output=True, text=True, timeout=300,
            check=False, cwd=PROJECT_DIR,
        )  # fmt: skip
        return done, json.loads(report.read_text())

    ok, watched = run_cli(catalogue)
    assert watched["returncode"] == 0, ok.stdout + ok.stderr
    record = json.loads(max((data / "runs").glob("*.json")).read_text())
    assert record["status"] == "unchanged" and record["flow_run_id"]
    assert watched["left"] == []

    wrong = yaml.safe_load(catalogue.read_text())
    wrong["editions"][0]["files"][0]["sha256"] = "0" * 64
    (tmp_path / "wrong.yaml").write_text(yaml.safe_dump(wrong))
    failed, watched = run_cli(tmp_path / "wrong.yaml")
    assert watched["returncode"] == 1 and "Refresh failed at step fetch" in failed.stderr, failed.stderr
    assert watched["left"] == []

    # killed outright once its server runs (no cleanup runs in the CLI): the server goes with it
    _, watched = run_cli(catalogue, "--kill-when", SERVER)
    assert watched["matched"], "the CLI started no server"
    assert watched["returncode"] == -9 and watched["left"] == []


@pytest.mark.slow  # a Prefect server and 9 s of events
def test_the_temporary_server_gets_every_event_before_it_stops(tmp_path: Path) -> None:
    """A run whose events reach the temporary server slowly (9 s of them queued when the flow ends,
    as on a busy machine; the events worker is held back until then): the CLI waits for all of them
    before stopping the server. Stopping it after Prefect's own 5-s flush left the rest to fail, each
    with `ERROR | Service 'EventsWorker' failed to process item`, in a run that succeeded."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"} | {"PREFECT_HOME": str(tmp_path / "prefect")}
    done = subprocess.run(
        [sys.executable, "-m", "tests.slow_events"], env=env, capture_output=True, text=True, timeout=300,
        check=False, cwd=PROJECT_DIR,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    counts = json.loads(done.stdout.splitlines()[-1])
    assert counts["sent_before_stop"] >= 45, counts  # 15 tasks, three events each
    assert counts["sent_before_stop"] == counts["taken_before_stop"], counts
    assert "| ERROR" not in done.stderr and "failed to process item" not in done.stderr, done.stderr[-3000:]


def add_to_male_cells(path: Path, year: int, pairs: list[tuple[int, int]], delta: int) -> None:
    """Add to the males' figure of a year in the given (destination, origin) rows of a long O-D table."""
    wb = load_workbook(path)
    ws = wb["Table 1"]
    header = next(r for r in ws.iter_rows(min_row=1, max_row=20) if any(c.value == year for c in r))
    male_col = [c.column for c in header if c.value == year][1]  # the second block is the males'
    labels = [str(c.value or "").lower() for c in header]
    dest_col = labels.index("location code of destination") + 1
    origin_col = labels.index("location code of origin") + 1
    for row in ws.iter_rows(min_row=header[0].row + 1):
        if (row[dest_col - 1].value, row[origin_col - 1].value) in pairs:
            row[male_col - 1].value += delta
    wb.save(path)
