"""The bad-input catalogue: each broken input, run through the CLI, must end with exit code 1, one
clear message naming the file (and sheet, row, column where they apply), the published warehouse
exactly as it was, and nothing half-written left behind; the good run at the end shows the data
directory recovers without manual clean-up.

The cases share one data directory with a published baseline, so each failure is checked against
a real published warehouse; they run in order, then the last test runs the good inputs again.
"""

from __future__ import annotations

import errno
import io
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from openpyxl import load_workbook

import flows.publish.warehouse
from tests.conftest import sha256
from tests.harness import (
    CLASSIFICATION,
    DEST,
    DEST_2024,
    OD,
    ORIGIN,
    Setup,
    assert_matches,
    assert_nothing_half_written,
    broken_copy,
    published_state,
    run,
)
from tests.workbooks import (
    find_cell,
    locate,
    make_world,
    set_cell,
)


@pytest.fixture
def setup(generated_published: Setup) -> Setup:
    return generated_published


# --- the broken inputs ---------------------------------------------------------------------------


def truncate(folder: Path) -> None:
    path = folder / DEST
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def html_page(folder: Path) -> None:
    (folder / ORIGIN).write_text("<!DOCTYPE html><html><head><title>403</title></head><body>Denied</body></html>")


def zip_bomb(folder: Path) -> None:
    """A valid workbook (every part of the good one) whose first sheet inflates to 600 MB: only the
    cap on declared sizes stops it, not a broken container."""
    good = (folder / OD).read_bytes()
    with zipfile.ZipFile(io.BytesIO(good)) as src, zipfile.ZipFile(folder / OD, "w", zipfile.ZIP_DEFLATED) as zf:
        for item in src.infolist():
            if item.filename == "xl/worksheets/sheet1.xml":
                head, tail = src.read(item).split(b"</sheetData>")
                with zf.open(item.filename, "w", force_zip64=True) as member:
                    member.write(head)
                    for _ in range(600):  # whitespace between rows: still a valid sheet
                        member.write(b" " * (1 << 20))
                    member.write(b"</sheetData>" + tail)
            else:
                zf.writestr(item, src.read(item))


def without_sheet(folder: Path) -> None:
    wb = load_workbook(folder / ORIGIN)
    del wb["Table 1"]
    wb.save(folder / ORIGIN)


def header_not_found(folder: Path) -> None:
    set_cell(folder / ORIGIN, "Table 1", "D10", "Place number")


def year_relabelled(folder: Path) -> None:
    set_cell(folder / DEST, "Table 1", "I10", 2006)  # the both-sexes 2005 column


def year_missing(folder: Path) -> None:
    wb = load_workbook(folder / ORIGIN)
    wb["Table 1"].delete_cols(21)  # the females' 1995 column (T is their 1990)
    wb.save(folder / ORIGIN)


def text_in_number(folder: Path) -> None:
    set_cell(folder / DEST, "Table 1", locate(folder / DEST, "Table 1", "Mexico", 2010, block=1), "n/a")


def negative_stock(folder: Path) -> None:
    set_cell(folder / ORIGIN, "Table 1", locate(folder / ORIGIN, "Table 1", "Kazakhstan", 2020), -12)


def duplicated_row(folder: Path) -> None:
    wb = load_workbook(folder / DEST)
    ws = wb["Table 1"]
    source = next(r for r in range(11, ws.max_row + 1) if ws.cell(r, 4).value == 484)
    for col in range(1, ws.max_column + 1):
        ws.cell(ws.max_row + 1 if col == 1 else ws.max_row, col, ws.cell(source, col).value)
    wb.save(folder / DEST)


def unknown_code(folder: Path) -> None:
    """Mexico's code becomes 123, a country code M49 never assigned (codes from 900 up are
    aggregates, which the workbooks list beyond the classification, so only country codes are
    checked)."""
    set_cell(folder / DEST, "Table 1", find_cell(folder / DEST, "Table 1", lambda v: v == 484), 123)
    set_cell(folder / DEST, "Table 2", find_cell(folder / DEST, "Table 2", lambda v: v == 484), 123)


def not_reconciling(folder: Path) -> None:
    world = make_world("2020")
    cell = locate(folder / DEST, "Table 1", "Turkey", 2015)
    set_cell(folder / DEST, "Table 1", cell, world.immigrants(792, 2015, "total") + 7)


def rows_missing(folder: Path) -> None:
    """Half of 2024's countries vanish from both tables of its destination workbook: every cell
    still parses, only the size of the table gives it away."""
    wb = load_workbook(folder / DEST_2024)
    for sheet in ("Table 1", "Table 2"):
        ws = wb[sheet]
        doomed = [
            r
            for r in range(11, ws.max_row + 1)
            if str(ws.cell(r, 2).value or "").strip() in ("Kazakhstan", "Russian Federation", "Türkiye")
        ]
        for r in reversed(doomed):
            ws.delete_rows(r)
    wb.save(folder / DEST_2024)


def checksum_mismatch(folder: Path) -> None:
    set_cell(folder / CLASSIFICATION, "Annex", "A1", "edited by hand")


@dataclass(frozen=True)
class Case:
    id: str
    breaks: Callable[[Path], None]
    message: str  # a regular expression the CLI's output must contain


MIRROR_CASES = [
    Case(
        "truncated workbook",
        truncate,
        rf"failed at step parse: {DEST}: not a readable xlsx workbook: truncated or not an xlsx file",
    ),
    Case(
        "HTML page saved as .xlsx",
        html_page,
        rf"failed at step fetch: {ORIGIN}: not an Excel workbook \(an HTML page; first bytes '<!DOCTYPE html>",
    ),
    Case(
        "zip bomb named .xlsx",
        zip_bomb,
        rf"failed at step parse: {OD}: declares [0-9,]+ bytes uncompressed \([0-9,]+ times its compressed size\), "
        r"over the 536,870,912-byte and 100x limits; refused before inflating \(possible zip bomb\)",
    ),
    Case(
        "workbook without the expected sheet",
        without_sheet,
        rf"failed at step parse: {ORIGIN}: no sheet 'Table 1' \(the workbook has: Table of contents, Notes\)",
    ),
    Case(
        "header row not found",
        header_not_found,
        rf"failed at step parse: {ORIGIN}, sheet 'Table 1': no header row found in the first 40 rows",
    ),
    Case(
        "year column relabelled",
        year_relabelled,
        rf"failed at step parse: {DEST}, sheet 'Table 1', row 10, column F: the both sexes block's year columns are "
        r"\[1990, 1995, 2000, 2006, 2010, 2015, 2020\].*\(missing \[2005\], unexpected \[2006\]\)",
    ),
    Case(
        "year column missing",
        year_missing,
        rf"failed at step parse: {ORIGIN}, sheet 'Table 1', row 10, column T: the females block's year columns are "
        r"\[1990, 2000, 2005, 2010, 2015, 2020\].*\(missing \[1995\]\)",
    ),
    Case(
        "text in a number cell",
        text_in_number,
        rf"failed at step parse: {DEST}, sheet 'Table 1', row \d+, column Q \(2010, males\): text 'n/a' where a "
        r"number is expected",
    ),
    Case(
        "negative stock",
        negative_stock,
        rf"failed at step parse: {ORIGIN}, sheet 'Table 1', row \d+, column L \(2020, both sexes\): negative value -12",
    ),
    Case(
        "duplicated row",
        duplicated_row,
        rf"failed at step parse: {DEST}, sheet 'Table 1', row \d+, column D: location code 484 \(Mexico\) is listed "
        r"again \(first on row \d+\)",
    ),
    Case(
        "unknown location code",
        unknown_code,
        rf"failed at step dbt build: dbt build failed: test codes_in_classification_stg_undesa__destination_totals_"
        rf"location_code: \d+ failing rows?, e\.g\. {DEST}, sheet 'Table 1', row \d+, column [F-Z]: "
        r".*location_code=123",
    ),
    Case(
        "O-D sums no longer reconcile",
        not_reconciling,
        rf"failed at step dbt build: dbt build failed: test od_sums_match_destination_totals: 1 failing row, "
        rf"e\.g\. {DEST}, sheet 'Table 1', row \d+, column K: release=2020, year=2015, sex=total, country_code=792, "
        r"official_total=\d+, od_sum=\d+, difference=-7",
    ),
    Case(
        "rows missing (table too small)",
        rows_missing,
        r"failed at step quality: quality gate: \d+ of \d+ expectations failed: .*raw_destination_totals \[release "
        r"2024\]: expect_table_row_count_to_be_between on staging\.stg_undesa__destination_totals: observed 168",
    ),
    Case(
        "sha256 not matching the catalogue",
        checksum_mismatch,
        rf"failed at step fetch: {CLASSIFICATION}: sha256 [0-9a-f]{{64}} does not match the catalogue's "
        r"[0-9a-f]{64}; the file was not archived",
    ),
]


@pytest.mark.parametrize("case", MIRROR_CASES, ids=[c.id for c in MIRROR_CASES])
def test_bad_input(case: Case, setup: Setup, tmp_path: Path) -> None:
    before = published_state(setup.data)
    folder = broken_copy(setup, tmp_path)
    case.breaks(folder)
    result = run(folder, setup.catalogue, setup.data)
    output = " ".join(result.output.split())
    assert result.exit_code == 1, output
    assert_matches(case.message, output)
    assert "The published warehouse" in output and "was left as it was" in output
    assert published_state(setup.data) == before
    assert_nothing_half_written(setup.data)


# --- over HTTP ------------------------------------------------------------------------------------


class ReleaseServer(ThreadingHTTPServer):
    folder: Path
    behaviour: dict[str, str]


class Handler(BaseHTTPRequestHandler):
    server: ReleaseServer

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        name = self.path.rsplit("/", 1)[-1]
        path = self.server.folder / name
        how = self.server.behaviour.get(name, "ok")
        if not path.is_file():
            self.send_error(404)
            return
        body = path.read_bytes()
        if how == "403":
            self.send_error(403)
            return
        if how == "slow":
            time.sleep(1.0)
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body if how != "cut" else body[: len(body) // 2])
        if how == "cut":
            self.close_connection = True


@pytest.fixture
def server(setup: Setup) -> Iterator[ReleaseServer]:
    httpd = ReleaseServer(("127.0.0.1", 0), Handler)
    httpd.folder, httpd.behaviour = setup.release, {}
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


HTTP_CASES = [
    (
        "HTTP 403",
        "403",
        rf"failed at step fetch: {ORIGIN}: HTTP 403 Forbidden from http://127\.0\.0\.1:\d+/{ORIGIN} "
        r"\(the server refused this client\)",
    ),
    (
        "timeout",
        "slow",
        rf"failed at step fetch: {ORIGIN}: download from http://127\.0\.0\.1:\d+/{ORIGIN} failed "
        r"after 2 attempts: timed out",
    ),
    (
        "connection cut mid-download",
        "cut",
        rf"failed at step fetch: {ORIGIN}: download from http://127\.0\.0\.1:\d+/{ORIGIN} failed after 2 attempts: "
        r"connection cut mid-download",
    ),
]


@pytest.mark.parametrize(("label", "how", "message"), HTTP_CASES, ids=[c[0] for c in HTTP_CASES])
def test_bad_download(
    label: str,
    how: str,
    message: str,
    setup: Setup,
    server: ReleaseServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    host, port = server.server_address[:2]
    doc = yaml.safe_load(setup.catalogue.read_text())
    doc["base_url"] = f"http://{host!s}:{port}/"
    catalogue = tmp_path / "catalogue.yaml"
    catalogue.write_text(yaml.safe_dump(doc, sort_keys=False))
    server.behaviour[ORIGIN] = how
    monkeypatch.setenv("MIGRATION_ETL_HTTP_ATTEMPTS", "2")
    monkeypatch.setenv("MIGRATION_ETL_HTTP_BACKOFF_SECONDS", "0.01")
    monkeypatch.setenv("MIGRATION_ETL_HTTP_TIMEOUT_SECONDS", "0.4")
    before = published_state(setup.data)
    result = run(None, catalogue, setup.data)
    output = " ".join(result.output.split())
    assert result.exit_code == 1, output
    assert_matches(message, output)
    assert published_state(setup.data) == before
    assert_nothing_half_written(setup.data)
    # the archive files every download under its sha256: a partial file would sit under the wrong name
    archived = [p for p in (setup.data / "releases").rglob("*.xlsx")]
    assert archived and all(sha256(p) == p.parent.name for p in archived)


# --- while publishing -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "error"),
    [
        ("disk full", (errno.ENOSPC, "No space left on device")),
        ("permission denied", (errno.EACCES, "Permission denied")),
    ],
)
def test_an_error_while_publishing(
    label: str, error: tuple[int, str], setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_switch(link: Path, version_dir: Path) -> None:
        raise OSError(error[0], error[1], str(link))

    monkeypatch.setattr(flows.publish.warehouse, "_switch", failing_switch)
    before = published_state(setup.data)
    versions = sorted(p.name for p in (setup.data / "published-versions").iterdir())
    result = run(setup.release, setup.catalogue, setup.data, "--force")  # nothing changed: force a publish
    output = " ".join(result.output.split())
    assert result.exit_code == 1, output
    assert_matches(
        rf"failed at step publish: could not publish to {setup.data.resolve() / 'published'}: "
        rf"{error[1]} \({setup.data.resolve() / 'published'}\); the previously published warehouse is "
        r"unchanged",
        output,
    )
    assert published_state(setup.data) == before
    assert_nothing_half_written(setup.data)
    assert sorted(p.name for p in (setup.data / "published-versions").iterdir()) == versions
    assert before[0].rsplit("/", 1)[1] in versions


def test_the_next_good_run_succeeds(setup: Setup) -> None:
    """After every failure above, on the same data directory, with no clean-up in between: the
    sources are what the published warehouse was built from, so the run says so and stops; forced,
    it rebuilds on the failed runs' leftovers and publishes."""
    before = published_state(setup.data)
    result = run(setup.release, setup.catalogue, setup.data)
    assert result.exit_code == 0, result.output
    assert "unchanged" in result.output and "nothing was rebuilt" in " ".join(result.output.split())
    assert published_state(setup.data) == before
    result = run(setup.release, setup.catalogue, setup.data, "--force")
    assert result.exit_code == 0, result.output
    after = published_state(setup.data)
    assert after[0] != before[0], "a new version was published"
