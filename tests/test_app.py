"""The Streamlit app on the real mirror's warehouse: every page through AppTest (renders, its
selectors change what is shown, no exception), the message before any refresh, and every page in
headless Chromium from a real `streamlit run` on loopback, with a screenshot each."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import streamlit as st
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest

from flows.settings import PROJECT_DIR
from tests.conftest import cli, free_port, local_page, wait_for_http

pytestmark = pytest.mark.real_data

APP = str(PROJECT_DIR / "app" / "streamlit_app.py")
PAGES = {
    "overview": "International migrants",
    "corridors": "Corridors",
    "country": "Country profile",
    "compare": "Compare countries",
    "balance_map": "Who receives, who sends",
    "revisions": "How the editions revised the figures",
    "quality": "Data & quality",
}


@pytest.fixture(scope="module")
def data(mirror_published: Path) -> Path:
    return mirror_published


@pytest.fixture
def app(data: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("MIGRATION_ETL_DATA_DIR", str(data))
    st.cache_data.clear()
    yield
    st.cache_data.clear()


def page(name: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    if name != "overview":
        at.switch_page(f"views/{name}.py")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert [t.value for t in at.title] == [PAGES[name]]
    return at


def test_overview_figures_come_from_the_marts(app: None) -> None:
    at = page("overview")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["International migrants, 2024"] == "304.0 million"
    assert metrics["Share of the world's population"] == "3.7%"
    # 2024 has no corridor file: the page says so and shows the 2020 edition's corridors
    assert any("so these corridors come from the 2020 edition, for 2020" in i.value for i in at.info)
    at.sidebar.selectbox(key="release").select("2020").run()
    at.sidebar.selectbox(key="year").select(2020).run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["International migrants, 2020"] == "280.6 million"
    facts = " ".join(m.value for m in at.markdown)
    assert "The largest corridor is **Mexico → United States of America**: 10.9 million" in facts
    assert "hold **" in facts and all("2020 edition" in c.value for c in at.caption)


def test_corridors_both_directions_and_partners(app: None) -> None:
    at = page("corridors")
    assert at.sidebar.selectbox(key="release").options == ["2024", "2020", "2019", "2017", "2015"]
    assert [i.value for i in at.info] == [
        "The 2024 edition has no origin-destination table in this warehouse, so these corridors come from the 2020 "
        "edition, for 2020."
    ]
    text = " ".join(m.value for m in at.markdown)
    assert "Mexico → United States of America: **10.9 million** in 2020" in text
    at.selectbox(key="corridor_origin").select(398).run()  # Kazakhstan
    at.selectbox(key="corridor_destination").select(643).run()  # Russian Federation
    text = " ".join(m.value for m in at.markdown)
    assert "Kazakhstan → Russian Federation: **2.6 million** in 2020" in text
    assert "Russian Federation → Kazakhstan: **2.5 million** in 2020" in text
    assert len(at.dataframe) == 2 and all(len(d.value) == 10 for d in at.dataframe)


def test_corridor_pairs_read_in_words_larger_direction_first(app: None) -> None:
    """Kazakhstan ⇄ Russian Federation is two-way in words; each pair in the tables is written with
    its larger direction first, and its reverse as a share of it."""
    at = page("corridors")
    at.selectbox(key="corridor_origin").select(398).run()
    at.selectbox(key="corridor_destination").select(643).run()
    text = " ".join(m.value for m in at.markdown)
    assert re.search(r"Two-way: the reverse is 9\d% as large\.", text), text
    for table in at.dataframe:
        frame = table.value
        assert (frame["larger"] >= frame["reverse"]).all() and (frame["asymmetry_index"] >= 0).all()
        assert ((frame["reverse_share"] - frame["reverse"] / frame["larger"]).abs() < 1e-9).all()
    one_way = at.dataframe[1].value
    assert (one_way["reverse_share"] <= 0.06).all(), "one-way: the smaller direction is under a twentieth"


def test_corridor_changes_are_shown_as_changes_in_stocks(app: None) -> None:
    at = page("corridors")
    text = " ".join(m.value for m in at.markdown)
    assert (
        "Change in the stock of migrants between 2015 and 2020, per year" in text and "not the number who moved" in text
    )
    charts = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    assert any(c["encoding"]["x"]["field"] == "annual_change" for c in charts)
    at.sidebar.selectbox(key="release").select("2020").run()
    at.sidebar.selectbox(key="year").select(1990).run()
    assert any("1990 is the 2020 edition's first reference year" in i.value for i in at.info)


def test_country_profile_follows_the_selection(app: None) -> None:
    at = page("country")
    assert at.selectbox(key="country").value == 840, "opens on the largest host country"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Immigrants, 2024"] == "52.4 million"
    at.selectbox(key="country").select(398).run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Immigrants, 2024"] == "2.1 million" and metrics["Emigrants, 2024"] == "2.8 million"
    assert any("Estimate based on: foreign-born population" in c.value for c in at.caption)


def linked(view: str, **params: str) -> AppTest:
    """A page opened from a shared link carrying `params`."""
    at = AppTest.from_file(APP, default_timeout=30)
    at.switch_page(f"views/{view}.py")
    at.query_params.update(params)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_a_shared_link_opens_its_selection_and_follows_it(app: None) -> None:
    """`/country?country=KAZ&edition=2024&year=2024` opens Kazakhstan in the 2024 edition, with the
    balance in words; a new selection is written back to the link."""
    at = linked("country", country="KAZ", edition="2024", year="2024")
    assert at.selectbox(key="country").value == 398
    assert (at.sidebar.selectbox(key="release").value, at.sidebar.selectbox(key="year").value) == ("2024", 2024)
    assert not at.warning
    text = " ".join(m.value for m in at.markdown)
    assert "In 2024, Kazakhstan had more emigrants than immigrants (balance −0.14)." in text
    at.selectbox(key="country").select(840).run()
    assert at.query_params["country"] in ("USA", ["USA"]) and at.query_params["edition"] in ("2024", ["2024"])
    assert "United States of America had more immigrants than emigrants (balance +0.8" in " ".join(
        m.value for m in at.markdown
    )


def test_a_link_with_values_the_warehouse_lacks_falls_back_with_a_notice(app: None) -> None:
    at = linked("country", country="XYZ", edition="1999", year="1850")
    notices = " ".join(w.value for w in at.warning)
    assert "“1999”" in notices and "“XYZ”" in notices and "“1850”" in notices
    assert at.sidebar.selectbox(key="release").value == "2024" and at.selectbox(key="country").value == 840
    compare = linked("compare", countries="KAZ,XYZ,RUS", measure="flows")
    notices = " ".join(w.value for w in compare.warning)
    assert "“XYZ”" in notices and "“flows”" in notices
    assert compare.multiselect(key="compare_countries").value == [398, 643]
    assert compare.radio(key="compare_measure").value == "immigrants"


def test_links_carry_a_corridor_and_a_measure(app: None) -> None:
    """`/corridors?from=KAZ&to=RUS` opens that pair; `/revisions?from=KAZ&to=RUS` its series in
    every edition; `/revisions?measure=emigrants&country=KAZ` Kazakhstan's emigrants."""
    at = linked("corridors", edition="2020", **{"from": "KAZ", "to": "RUS"})
    assert (at.selectbox(key="corridor_origin").value, at.selectbox(key="corridor_destination").value) == (398, 643)
    assert "Kazakhstan → Russian Federation: **2.6 million** in 2020" in " ".join(m.value for m in at.markdown)
    at.selectbox(key="corridor_destination").select(860).run()
    assert at.query_params["to"] in ("UZB", ["UZB"])
    at = linked("revisions", **{"from": "KAZ", "to": "RUS"})
    assert at.subheader[0].value == "Kazakhstan → Russian Federation: migrants as each edition estimates them"
    at = linked("revisions", measure="emigrants", country="KAZ", edition="2019", since="2015", year="2015")
    assert at.subheader[0].value == "Kazakhstan: emigrants as each edition estimates them"
    assert [at.selectbox(key=k).value for k in ("revision_to", "revision_from", "revision_year")] == [
        "2019",
        "2015",
        2015,
    ]
    assert not at.warning


def test_an_edition_without_corridors_is_one_sentence_and_one_click(app: None) -> None:
    """On the overview, the country profile and the corridors page alike, 2024 (no O-D table here)
    gets one sentence, the 2020 edition's corridors or partners, and a button that switches the
    page to 2020; the sidebar keeps the reader's choice until then."""
    for view in ("overview", "country", "corridors"):
        at = linked(view, edition="2024", country="KAZ")
        infos = [i.value for i in at.info]
        assert len(infos) == 1 and "so these corridors come from the 2020 edition, for 2020" in infos[0], infos
        if view == "country":
            assert len(at.get("vega_lite_chart")) == 5, "two series, two partner charts (from 2020), the sex split"
        at.button(key="switch_to_2020").click().run()
        assert not at.exception and at.sidebar.selectbox(key="release").value == "2020"
        assert not at.info


def test_immigrants_and_emigrants_have_their_own_colours(app: None) -> None:
    """Not two shades of blue: immigrants orange, emigrants blue, the legend beside the chart."""
    at = page("country")
    spec = json.loads(at.get("vega_lite_chart")[0].proto.spec)
    colour = spec["encoding"]["color"]
    assert colour["scale"] == {"domain": ["immigrants", "emigrants"], "range": ["#e6550d", "#3182bd"]}
    assert colour["legend"]["orient"] == "bottom"


def test_a_chart_downloads_what_it_shows_headed_by_its_source(app: None) -> None:
    """The overview's and the country profile's charts each offer their own data (not a 16 MB mart),
    headed by what it is, the edition and year, and the edition's citation and terms."""
    from app import queries
    from app.controls import chart_csv

    for view in ("overview", "country"):
        labels = [b.label for b in page(view).get("download_button")]
        assert "Download this chart's data (CSV)" in labels, (view, labels)
    top = queries.largest_corridors("2020", 2020, 20)
    shown = top[["rank", "corridor", "migrants", "reverse_migrants", "asymmetry_index", "direction"]]
    lines = chart_csv(shown, "The 20 largest corridors (people)", "2020", 2020).decode().splitlines()
    assert lines[:2] == [
        "# The 20 largest corridors (people)",
        "# UN DESA International Migrant Stock, 2020 edition, mid-year 2020",
    ]
    assert lines[2] == (
        "# Citation: United Nations Department of Economic and Social Affairs, Population Division (2020). "
        "International Migrant Stock 2020."
    )
    assert lines[3].startswith("# Terms: ")
    assert lines[4] == "rank,corridor,migrants,reverse_migrants,asymmetry_index,direction"
    assert len(lines) == 25 and lines[5].startswith("1,Mexico → United States of America,10853105,")
    import csv

    asymmetry = [row["asymmetry_index"] for row in csv.DictReader(lines[4:])]
    assert all(len(value.partition(".")[2]) <= 3 for value in asymmetry), asymmetry
    across = chart_csv(queries.corridor_across_editions(484, 840), "Mexico → USA", "2015, 2017", None).decode()
    head = [line for line in across.splitlines() if line.startswith("#")]
    assert head[1] == "# UN DESA International Migrant Stock, editions 2015, 2017"
    assert [line.split(":")[0] for line in head[2:]] == [
        "# Citation (2015)", "# Terms (2015)", "# Citation (2017)", "# Terms (2017)"
    ]  # fmt: skip


def test_compare_several_countries_on_one_chart(app: None, data: Path) -> None:
    """Kazakhstan, Russia and Uzbekistan from a link, emigrants by year on one chart, each value the
    mart's; the measure switches to the balance index on its own scale; the chart downloads."""
    at = linked("compare", countries="KAZ,RUS,UZB", measure="emigrants", edition="2020")
    chart = at.get("vega_lite_chart")[0].proto
    spec = json.loads(chart.spec)
    rows = convert_arrow_bytes_to_pandas_df(chart.datasets[0].data.data).to_dict("records")
    assert {r["country_name"] for r in rows} == {"Kazakhstan", "Russian Federation", "Uzbekistan"} and len(rows) == 21
    assert spec["encoding"]["y"]["title"] == "Emigrants, people"
    with duckdb.connect(str(data / "published" / "warehouse.duckdb"), read_only=True) as con:
        expected = dict(
            con.execute(
                "select iso3 || year, emigrants from marts.country_balance where release = '2020' "
                "and iso3 in ('KAZ', 'RUS', 'UZB')"
            ).fetchall()
        )
    codes = {"Kazakhstan": "KAZ", "Russian Federation": "RUS", "Uzbekistan": "UZB"}
    assert {codes[r["country_name"]] + str(r["year"]): r["value"] for r in rows} == expected
    assert "Download this chart's data (CSV)" in [b.label for b in at.get("download_button")]
    at.radio(key="compare_measure").set_value("balance_index").run()
    spec = json.loads(at.get("vega_lite_chart")[0].proto.spec)
    assert spec["encoding"]["y"]["title"].startswith("Balance index, index from −1")
    assert spec["encoding"]["y"]["scale"]["domain"] == [-1, 1]
    assert at.query_params["measure"] in ("balance_index", ["balance_index"])
    assert at.query_params["countries"] in ("KAZ,RUS,UZB", ["KAZ,RUS,UZB"])


def axis_titles(spec: dict[str, Any]) -> list[str]:
    """The titles of a Vega-Lite spec's quantitative axes, layers included."""
    titles = [
        str(channel.get("title"))
        for name, channel in spec.get("encoding", {}).items()
        if name in ("x", "y") and channel.get("type") == "quantitative"
    ]
    return titles + [title for layer in spec.get("layer", []) for title in axis_titles(layer)]


def test_every_chart_says_its_unit_and_offers_its_data(app: None) -> None:
    """Each quantitative axis names its unit (people, %, an index, or is the year); each page that draws charts
    offers their data as CSV."""
    downloads = {"overview": 2, "corridors": 3, "country": 3, "compare": 1, "balance_map": 1, "revisions": 1}
    for view, least in downloads.items():
        at = page(view)
        for chart in at.get("vega_lite_chart"):
            for title in axis_titles(json.loads(chart.proto.spec)):
                assert re.search(r"people|%|index|^year$", title, re.IGNORECASE), (view, title)
        labels = [b.label for b in at.get("download_button")]
        assert labels.count("Download this chart's data (CSV)") >= least, (view, labels)


def test_partners_show_whole_names_and_counts_beside_shares(app: None) -> None:
    at = linked("country", country="KAZ", edition="2020", year="2020")
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    partners = [s for s in specs if "layer" in s]
    assert len(partners) == 2, "origins and destinations, each bars with a count beside them"
    for spec in partners:
        marks = [layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"] for layer in spec["layer"]]
        assert marks == ["bar", "text"] and spec["layer"][1]["encoding"]["text"]["field"] == "label"
        assert spec["layer"][0]["encoding"]["y"]["axis"]["labelLimit"] >= 240, "United States of America, in full"


def test_balance_map_draws_every_country_and_lists_the_large_ones(app: None) -> None:
    """Every country with a balance is on the map, as a shape or (too small for the shapes) a point;
    the table opens on countries of at least 100,000 immigrants plus emigrants, a toggle shows all."""
    at = page("balance_map")
    spec = json.loads(at.get("vega_lite_chart")[0].proto.spec)
    shaped = {f["properties"]["iso3"] for f in spec["datasets"]["world"]}
    drawn = shaped | {p["iso3"] for p in spec["layer"][2]["data"]["values"]}
    assert spec["layer"][2]["encoding"]["longitude"]["field"] == "lon"
    listed = at.dataframe[0].value
    assert 150 < len(listed) < 235 and (listed["immigrants"] + listed["emigrants"] >= 100_000).all()
    assert "Liechtenstein" not in set(listed["country_name"])
    at.toggle(key="balance_show_small").set_value(True).run()
    table = at.dataframe[0].value
    assert len(table) == 235
    assert set(table.dropna(subset=["balance_index"])["iso3"]) - drawn == set(), "each as a shape or a point"
    assert {"TUV", "MCO", "HKG", "CHI"} <= drawn - shaped
    assert table["balance_index"].max() <= 1 and table["balance_index"].min() >= -1
    usa_2024 = table.set_index("iso3").loc["USA", "immigrants"]
    assert usa_2024 == 52_375_047
    at.sidebar.selectbox(key="year").select(1990).run()
    assert at.dataframe[0].value.set_index("iso3").loc["USA", "immigrants"] == 23_266_147
    assert "mid-year 1990" in at.caption[0].value


def test_revisions_every_edition_of_a_series(app: None) -> None:
    """Kazakhstan's immigrants as each of the five editions estimates them (Rev.2024 cut the 2020
    figure by nearly half), then one corridor in the four editions with an O-D table, and the
    largest corridor revisions between two editions."""
    at = page("revisions")
    at.selectbox(key="country").select(398).run()
    assert at.subheader[0].value == "Kazakhstan: immigrants as each edition estimates them"
    latest = next(c.value for c in at.caption if c.value.startswith("Latest figure of each edition"))
    assert "2020 edition: 3.7 million (2020)" in latest and "2024 edition: 2.1 million (2024)" in latest
    assert "editions 2015, 2017, 2019, 2020, 2024" in latest
    at.sidebar.radio[0].set_value("A corridor").run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.subheader[0].value == "Mexico → United States of America: migrants as each edition estimates them"
    latest = next(c.value for c in at.caption if c.value.startswith("Latest figure of each edition"))
    for edition, figure in (("2015", "12.1 million (2015)"), ("2017", "12.7 million (2017)"),
                            ("2019", "11.5 million (2019)"), ("2020", "10.9 million (2020)")):  # fmt: skip
        assert f"{edition} edition: {figure}" in latest
    assert any("Edition 2024 has no origin-destination table here" in c.value for c in at.caption)
    at.selectbox(key="revision_from").select("2015").run()
    at.selectbox(key="revision_to").select("2017").run()
    at.selectbox(key="revision_year").select(2015).run()
    largest = at.dataframe[0].value
    assert len(largest) == 20 and largest["revision"].abs().is_monotonic_decreasing


def test_data_and_quality(app: None, data: Path) -> None:
    at = page("quality")
    assert {m.label: m.value for m in at.metric}["Status"] == "success"
    text = " ".join(m.value for m in at.markdown)
    with duckdb.connect(str(data / "published" / "warehouse.duckdb"), read_only=True) as con:
        checks, known = con.execute(
            "select count(*) filter (where suite <> 'known_discrepancies'), "
            "count(*) filter (where suite = 'known_discrepancies') from marts.data_quality"
        ).fetchone() or (0, 0)
        kinds = dict(
            con.execute(
                "select \"table\", count(*) from marts.data_quality where suite = 'known_discrepancies' group by all"
            ).fetchall()
        )
    assert checks > 500 and known > 100
    assert f"**{checks} of {checks}** Great Expectations checks passed in 18 suites" in text
    # 62 O-D sums, 6 sex splits and 12 populations; 59 reconstructed O-D sums; 1,579 WORLD rows and 18 sex splits
    assert kinds == {"official tables": 80, "mirror reconstruction": 59, "unverified source": 1597}
    assert f"The tables disagree with each other in **{known:,}** listed places" in text
    assert (
        "**80** are facts of the official tables; **59** belong to the mirror's reconstructions, not the official "
        "files; **1,597** come from a third-party copy nobody has checked (published, marked unverified)."
    ) in text
    assert f"{known:,} of {known:,} were found exactly as listed" in text
    assert "CC BY 3.0 IGO" in text and "all rights reserved (as the workbooks state)" in text
    assert "**2017 edition.** United Nations, Department of Economic and Social Affairs" in text
    assert any("2024 origin_destination" in w.value for w in at.warning)
    files = at.dataframe[0].value.set_index(["edition", "kind"])
    # the version of each file that built the published warehouse (other tests may have refreshed it
    # since the first run, whose verdicts test_refresh_real checks against SOURCES.md)
    built = [
        r for r in map(json.loads, map(Path.read_text, (data / "runs").glob("*.json"))) if r["status"] == "success"
    ]
    inputs = max(built, key=lambda r: r["started_at"])["inputs"]
    assert files["verdict"].to_dict() == {(i["edition"], i["kind"]): i["verdict"] or "file missing" for i in inputs}
    assert files["matched"].fillna("").to_dict() == {
        (i["edition"], i["kind"]): i["matched"] or ("—" if i["status"] == "missing" else "") for i in inputs
    }
    assert files.loc[("2024", "origin_destination"), "verdict"] == "file missing"
    assert files.loc[("2024", "origin_destination"), "sha256"] == "—", "a missing file's cells say so, never None"
    assert "*reconstruction* and *re-saved copy*: a known stand-in" in " ".join(c.value for c in at.caption)


def test_data_and_quality_in_plain_words(app: None, data: Path, mirror: Path) -> None:
    """No server folder on the page; each file said in words; the dbt docs one click away."""
    at = page("quality")
    shown = [e.value for e in (*at.warning, *at.markdown, *at.caption, *at.info)]
    for folder in (str(mirror.resolve()), str(data.resolve()), str(mirror), str(data)):
        assert not [s for s in shown if folder in s], folder
    assert any("2024 origin_destination" in w.value and w.value.endswith("not in the mirror") for w in at.warning)
    what = at.dataframe[0].value.set_index(["edition", "kind"])["what"]
    assert what[("2020", "origin_destination")] == "Migrants by origin and destination (corridors)"
    assert what[("2024", "destination")] == "Immigrants and population by country (destination totals)"
    labels = [b.label for b in at.get("download_button")]
    assert any(label.startswith("Documentation of every mart and column") for label in labels), labels


def test_a_refresh_while_the_app_is_open(app: None, data: Path, prefect_server: str, mirror: Path) -> None:
    """The app holds no connection between reruns, so a refresh publishes while it is open; the
    cache is keyed on the published version, so the next rerun reads the new one."""
    at = page("quality")
    first = at.caption[0].value
    assert re.match(r"Published version \S+; \d+ refresh(?:es)? recorded[.,]", first), first
    runs = int(first.split("; ")[1].split()[0])
    result = cli(prefect_server, "run", "--force", "--source-dir", str(mirror), "--data-dir", str(data))
    assert result.returncode == 0, result.stdout + result.stderr
    at.run()
    assert not at.exception
    version = os.readlink(data / "published").rsplit("/", 1)[-1]
    assert at.caption[0].value.startswith(f"Published version {version}; {runs + 1} refreshes recorded")
    assert version not in first
    assert {m.label: m.value for m in at.metric}["Status"] == "success"


def test_without_a_published_warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIGRATION_ETL_DATA_DIR", str(tmp_path / "empty"))
    st.cache_data.clear()
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    assert "Nothing has been published" in at.info[0].value and "migration-etl run" in at.info[0].value


def test_stopping_the_app_command_stops_its_server(data: Path) -> None:
    """`migration-etl app` hands its process over to Streamlit: a SIGTERM to the pid it was started
    as stops the server, and the port closes (no child left serving)."""
    import signal
    import socket
    import time

    port = free_port()
    command = [sys.executable, "-m", "flows", "app", "--data-dir", str(data), "--port", str(port)]
    proc = subprocess.Popen(command, cwd=PROJECT_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/_stcore/health", proc, "migration-etl app")
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) != 0:
                    break
            time.sleep(0.2)
        else:
            raise AssertionError(f"port {port} still answers after the app command was stopped")
    finally:
        if proc.poll() is None:
            proc.kill()


# --- in a browser ---------------------------------------------------------------------------------

CHARTS = "[data-testid='stVegaLiteChart'], [data-testid='stPlotlyChart'], [data-testid='stDataFrame']"


@pytest.fixture(scope="module")
def server(data: Path) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "MIGRATION_ETL_DATA_DIR": str(data)}
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "streamlit", "run", APP,
            "--server.headless", "true", "--server.address", "127.0.0.1", "--server.port", str(port),
            "--browser.gatherUsageStats", "false",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    wait_for_http(f"{url}/_stcore/health", proc, "streamlit run")
    yield url
    proc.terminate()
    proc.wait(timeout=20)


EDITIONS = ("2024", "2020", "2019", "2017", "2015")


def look_at(page: Any, url: str, title: str, shot: Path) -> None:
    """Opens `url`, waits for its heading and charts to draw, checks no exception is shown, and
    saves a screenshot of the whole page."""
    page.goto(url)
    page.get_by_role("heading", name=title, exact=True, level=1).wait_for(timeout=30_000)
    page.wait_for_selector(CHARTS, timeout=30_000)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=30_000)
    page.wait_for_timeout(400)  # let the charts draw
    assert page.locator("[data-testid='stException']").count() == 0, url
    # the page scrolls inside Streamlit's main block, not the window: grow the window to fit it
    height = page.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": 1400, "height": max(1000, int(height))})
    page.wait_for_timeout(150)
    page.screenshot(path=str(shot), full_page=True)
    page.set_viewport_size({"width": 1400, "height": 1000})


def test_every_page_for_every_edition_in_a_browser(
    server: str, browser: Any, data: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Each page opened from a link for each of the five editions (the data page once: it shows
    every edition), a shared link and a bad one, and a mart downloaded, with every request off this
    machine refused and counted: none may be made."""
    shots = tmp_path_factory.mktemp("screenshots")  # to look at: pytest's basetemp, never the project's data/
    page, outside = local_page(browser, viewport={"width": 1400, "height": 1000})
    for name, title in PAGES.items():
        for edition in EDITIONS if name != "quality" else ("",):
            path = "" if name == "overview" else f"/{name}"
            look_at(page, f"{server}{path}?edition={edition}", title, shots / f"{name}-{edition or 'all'}.png")
    look_at(page, f"{server}/country?country=KAZ&edition=2024&year=2024", PAGES["country"], shots / "link.png")
    page.get_by_text("In 2024, Kazakhstan had more emigrants than immigrants (balance −0.14).").wait_for()
    look_at(page, f"{server}/country?country=XYZ&edition=2020", PAGES["country"], shots / "bad-link.png")
    page.get_by_text("The link asks for country “XYZ”, which this page cannot show").wait_for()
    assert len(list(shots.glob("*.png"))) == 6 * len(EDITIONS) + 3
    # the mart selector changes what the download buttons serve: country_balance as CSV
    look_at(page, f"{server}/quality", PAGES["quality"], shots / "quality-all.png")
    mart = page.get_by_role("combobox", name="Mart")
    mart.click()
    mart.fill("country_bal")  # the selector is a searchable combobox
    page.get_by_role("option", name="country_balance", exact=True).click()
    page.wait_for_timeout(500)  # the rerun that swaps what the buttons serve starts, then ends:
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=30_000)
    with page.expect_download(timeout=30_000) as download:
        page.get_by_role("button", name="CSV", exact=True).click()
    assert download.value.suggested_filename == "country_balance.csv"
    rows = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    with duckdb.connect(str(data / "published" / "warehouse.duckdb"), read_only=True) as con:
        (balance_rows,) = con.execute("select count(*) from marts.country_balance").fetchone() or (0,)
    assert rows[0].startswith("release,year,country_code,iso3,country_name,") and len(rows) == 1 + balance_rows
    assert balance_rows > 8000, "five editions"
    assert outside == [], "the app asked for something off this machine"
