"""Faults beyond the bad-input catalogue, one class at a time (issue 14), each through a real
refresh against a published generated release: the run fails with one message naming the step
and the file (sheet, cell), the published warehouse stays byte-identical, and the next good run
succeeds. Each test fails if the guard it is about is removed."""

from __future__ import annotations

import json
import logging
import os
import resource
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from openpyxl import load_workbook
from openpyxl.styles import Font
from typer.testing import CliRunner

from flows.ops.cli import app
from tests.conftest import Webhook, cli, sha256
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
from tests.workbooks import locate, set_cell


@pytest.fixture
def setup(generated_published: Setup) -> Setup:
    return generated_published


def fails(setup: Setup, folder: Path, pattern: str) -> str:
    """Run on the broken release: exit 1, the message, nothing published or left half-written."""
    before = published_state(setup.data)
    result = run(folder, setup.catalogue, setup.data)
    output = " ".join(result.output.split())
    assert result.exit_code == 1, output
    assert_matches(pattern, output)
    assert published_state(setup.data) == before
    assert_nothing_half_written(setup.data)
    return output


# --- 1. a cell that cannot be read is never a number nor "no data" --------------------------------


def test_uncalculated_formulas_are_refused_naming_the_cells(setup: Setup, tmp_path: Path) -> None:
    """Every figure of the destination workbook's Table 1 becomes a formula giving that figure,
    saved without its calculated value (as a script writing a workbook saves it): calamine reads
    each as an empty cell, which is "no migrants listed"."""
    folder = broken_copy(setup, tmp_path)
    book = load_workbook(folder / DEST)
    sheet = book["Table 1"]
    changed = 0
    for row in sheet.iter_rows(min_row=11, min_col=6):
        for cell in row:
            if isinstance(cell.value, int):
                cell.value = f"={cell.value}+0"
                changed += 1
    book.save(folder / DEST)
    first = locate(setup.release / DEST, "Table 1", "WORLD", 1990)
    fails(
        setup,
        folder,
        rf"failed at step parse: {DEST}, sheet 'Table 1', row {first[1:]}, column {first[0]}: "
        rf"{changed:,} cells cannot be read \({first}: a formula \(=\d+\+0\) saved without its value; .*; "
        rf"and {changed - 5:,} more\)\. An error value or an uncalculated formula is neither a number nor 'no data'",
    )


def test_uncalculated_formulas_in_a_column_no_parser_reads_are_let_be(setup: Setup, tmp_path: Path) -> None:
    """The row index of Table 1 (column A, `=A11+1` down the sheet) saved without its values, as a
    workbook re-saved by a script is: no figure depends on it, so the run goes through."""
    folder = broken_copy(setup, tmp_path)
    book = load_workbook(folder / DEST)
    sheet = book["Table 1"]
    indexed = [row[0] for row in sheet.iter_rows(min_row=12) if isinstance(row[0].value, int)]
    for cell in indexed:
        cell.value = f"=A{cell.row - 1}+1"
    book.save(folder / DEST)
    assert len(indexed) >= 10
    data = tmp_path / "data"  # a run that publishes: on a copy, the other tests' warehouse stays theirs
    shutil.copytree(setup.data, data)
    result = run(folder, setup.catalogue, data, "--accept-new-versions")
    assert result.exit_code == 0, result.output
    assert "published" in result.output


def test_an_error_value_is_refused_naming_its_cell(setup: Setup, tmp_path: Path) -> None:
    folder = broken_copy(setup, tmp_path)
    book = load_workbook(folder / OD)
    sheet = book["Table 1"]
    cell = next(c for row in sheet.iter_rows(min_row=12) for c in row if isinstance(c.value, int) and c.column > 6)
    cell.value = "#REF!"  # openpyxl writes Excel's error codes as error cells (t="e")
    book.save(folder / OD)
    fails(
        setup,
        folder,
        rf"failed at step parse: {OD}, sheet 'Table 1', row {cell.row}, column {cell.column_letter}: 1 cell cannot "
        rf"be read \({cell.coordinate}: the error value #REF!\)",
    )


def test_figures_lost_some_other_way_fail_the_quality_gate(setup: Setup, tmp_path: Path) -> None:
    """A third of the population figures come back as '..' (not available), a value the parser
    accepts: only the share of nulls, against the run that built the published warehouse, says
    something was lost."""
    folder = broken_copy(setup, tmp_path)
    book = load_workbook(folder / DEST)
    sheet = book["Table 2"]
    figures = [c for row in sheet.iter_rows(min_row=11, min_col=6) for c in row if isinstance(c.value, (int, float))]
    for cell in figures[::3]:
        cell.value = ".."
    book.save(folder / DEST)
    fails(
        setup,
        folder,
        r"failed at step quality: .*raw_population \[release 2020\]: expect_column_values_to_not_be_null on "
        r"staging\.stg_undesa__population\.population: [\d,]+ of [\d,]+ rows unexpected",
    )


# --- 2. the size of a sheet is checked before it is read ------------------------------------------


def cli_with_memory_cap(
    setup: Setup, folder: Path, prefect_server: str, cap_gb: int = 12
) -> subprocess.CompletedProcess[str]:
    """The CLI in a child process whose address space is capped: without the guard, calamine's
    grid for the sheet would be refused by the kernel and abort the process, not this machine."""

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (cap_gb << 30, cap_gb << 30))

    args = ["run", "--source-dir", str(folder), "--data-dir", str(setup.data), "--catalogue", str(setup.catalogue)]
    return cli(prefect_server, *args, columns=400, preexec_fn=cap)


def test_a_value_in_the_last_row_and_column_is_refused_before_loading(
    setup: Setup, tmp_path: Path, prefect_server: str
) -> None:
    folder = broken_copy(setup, tmp_path)
    set_cell(folder / DEST, "Table 1", "XFD1048576", 1)
    before = published_state(setup.data)
    result = cli_with_memory_cap(setup, folder, prefect_server)
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 1, output
    assert_matches(
        rf"failed at step parse: {DEST}, sheet 'Table 1', row 1048576, column XFD: has a value in column XFD "
        r"\(16,384\), past the 1,024 columns any release layout uses",
        output,
    )
    assert published_state(setup.data) == before


def test_a_sheet_too_large_for_memory_is_refused(setup: Setup, tmp_path: Path, prefect_server: str) -> None:
    """Within the column limit, a grid of 1,000,000 rows by 200 columns: 200 million cells."""
    folder = broken_copy(setup, tmp_path)
    set_cell(folder / DEST, "Table 1", "GR1000000", 1)
    before = published_state(setup.data)
    result = cli_with_memory_cap(setup, folder, prefect_server)
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 1, output
    assert_matches(
        rf"failed at step parse: {DEST}, sheet 'Table 1', row 1000000, column GR: spans 1,000,000 rows by 200 "
        r"columns to its last value \(GR1000000; the sheet declares A1:GR1000000\): 200,000,000 cells, past the "
        r"100,000,000 a sheet may hold here; refused before loading it",
        output,
    )
    assert published_state(setup.data) == before


def test_formatting_to_the_last_row_and_column_costs_nothing(setup: Setup, tmp_path: Path) -> None:
    """A cell styled but empty in the sheet's last row and column (as a sheet formatted "to the
    end" has) is not a value: the refresh reads the table as before."""
    folder = broken_copy(setup, tmp_path)
    book = load_workbook(folder / DEST)
    book["Table 1"]["XFD1048576"].font = Font(bold=True)
    book.save(folder / DEST)
    result = run(folder, setup.catalogue, setup.data)
    assert result.exit_code == 0, result.output


# --- 3. the catalogue and the settings are strict ---------------------------------------------------


def catalogue_with(setup: Setup, tmp_path: Path, edit: Callable[[str], str]) -> Path:
    path = tmp_path / "catalogue.yaml"
    path.write_text(edit(setup.catalogue.read_text()))
    return path


CATALOGUE_CASES = [
    (
        "misspelt key",
        lambda text: text.replace("  sha256: ", "  sha265: ", 1),
        rf"edition 2020, file {CLASSIFICATION}, sha265: unknown key \(misspelt\?\)",
    ),
    (
        "duplicate key",
        lambda text: text.replace(
            "  title: Synthetic edition 2020\n", "  title: Synthetic edition 2020\n  title: Again\n", 1
        ),
        r"not valid YAML: line \d+, column 3: the key 'title' is given twice \(first on line \d+\)",
    ),
    (
        "reversed bounds",
        lambda text: text.replace("  expected_od_rows:\n  - 20\n  - 80\n", "  expected_od_rows:\n  - 900\n  - 10\n", 1),
        r"edition 2020, expected_od_rows: must be \[low, high\] with 0 <= low <= high, not \[900, 10\]",
    ),
    (
        "NUL in a file name",
        lambda text: text.replace(f"name: {DEST}", f'name: "{DEST[:6]}\\0{DEST[6:]}"', 1),
        r"edition 2020, file '.*\\x00.*', name: name holds a control character",
    ),
    (
        "file name over the OS limit",
        lambda text: text.replace(f"name: {DEST}", f"name: {'x' * 300}.xlsx", 1),
        r"edition 2020, file x+…, name: name is 305 bytes long, past the 255 a file name may have",
    ),
]


@pytest.mark.parametrize(("label", "edit", "message"), CATALOGUE_CASES, ids=[c[0] for c in CATALOGUE_CASES])
def test_a_faulty_catalogue_is_refused_at_load(
    label: str, edit: Callable[[str], str], message: str, setup: Setup, tmp_path: Path
) -> None:
    before = published_state(setup.data)
    catalogue = catalogue_with(setup, tmp_path, edit)
    result = run(setup.release, catalogue, setup.data)
    output = " ".join(result.output.split())
    assert result.exit_code == 1, output
    assert_matches(rf"Refresh failed at step catalogue: {catalogue}: (invalid release catalogue: )?{message}", output)
    assert published_state(setup.data) == before
    record = json.loads(max((setup.data / "runs").glob("*.json")).read_text())
    assert record["status"] == "failed" and record["error"]["step"] == "catalogue"


@pytest.mark.parametrize("what", ["directory", "binary"])
def test_a_catalogue_that_is_not_a_text_file_is_refused(what: str, setup: Setup, tmp_path: Path) -> None:
    path = tmp_path / "catalogue.yaml"
    if what == "directory":
        path.mkdir()
        expected = "the release catalogue must be a YAML file, and this is a directory or device"
    else:
        path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff")
        expected = r"the release catalogue is not UTF-8 text \(byte \d\): a binary file\?"
    result = run(setup.release, path, setup.data)
    output = " ".join(result.output.split())
    assert result.exit_code == 1, output
    assert_matches(rf"Refresh failed at step catalogue: {path}: {expected}", output)


def test_an_empty_data_dir_setting_is_refused_without_writing_anything(
    setup: Setup, tmp_path: Path, prefect_server: str
) -> None:
    """MIGRATION_ETL_DATA_DIR="" once meant the current directory: a whole data directory was
    written into the checkout. Now it is one line and exit 1, and the directory stays empty."""
    workdir = tmp_path / "checkout"
    workdir.mkdir()
    env = {**os.environ, "PREFECT_API_URL": prefect_server, "COLUMNS": "400", "MIGRATION_ETL_DATA_DIR": ""}
    for command in (["run", "--source-dir", str(setup.release)], ["status"], ["sources"]):
        result = subprocess.run(
            [sys.executable, "-m", "flows", *command],
            capture_output=True, text=True, env=env, cwd=workdir, timeout=300, check=False,
        )  # fmt: skip
        output = " ".join((result.stdout + result.stderr).split())
        assert result.returncode == 1, output
        assert "MIGRATION_ETL_DATA_DIR='': is empty (unset it to use the default)" in output, output
        assert "Traceback" not in output
        assert list(workdir.iterdir()) == []


def test_an_invalid_setting_is_recorded_and_alerted(setup: Setup, webhook: Webhook) -> None:
    """With a usable data directory and webhook, a bad knob (here dbt's thread count) still gets
    a run record, failed at step settings, and an alert; nothing else runs."""
    before = published_state(setup.data)
    result = CliRunner().invoke(
        app,
        ["run", "--data-dir", str(setup.data), "--catalogue", str(setup.catalogue), "--source-dir", str(setup.release)],
        env={"COLUMNS": "400", "MIGRATION_ETL_DBT_THREADS": "two"},
    )
    output = " ".join(result.output.split())
    assert result.exit_code == 1, output
    assert (
        "Refresh failed at step settings: invalid settings: MIGRATION_ETL_DBT_THREADS='two': Input should be a "
        "valid integer, unable to parse string as an integer"
    ) in output
    assert published_state(setup.data) == before
    record = json.loads(max((setup.data / "runs").glob("*.json")).read_text())
    assert record["status"] == "failed" and record["error"]["step"] == "settings"
    assert record["timings"].keys() == {"total"}, "nothing ran"
    assert len(webhook.received) == 1 and "MIGRATION_ETL_DBT_THREADS" in webhook.received[0]["body"]["text"]


# --- 4. damaged state heals itself ------------------------------------------------------------------


def overwrite(path: Path, at: int, data: bytes) -> None:
    path.chmod(0o644)
    with open(path, "r+b") as fh:
        fh.seek(at)
        fh.write(data)


def test_damaged_archive_raw_table_and_warehouse_are_rebuilt_from_what_is_good(setup: Setup) -> None:
    """Three kinds of damage at once, none of the sources changed: an archived workbook and a
    landed Parquet file with bytes overwritten, the published warehouse with bytes overwritten.
    The next run finds each, rebuilds from the source and the archive, names the repairs, and
    the run after it finds nothing to do."""
    data = setup.data
    # the version the source holds (earlier tests archived other versions of it, in any order)
    archived = data / "releases" / "2020" / sha256(setup.release / DEST) / DEST
    overwrite(archived, 2000, b"damaged")
    raw = next((data / "raw" / "destination_totals" / "release=2024").glob("*.parquet"))
    raw.write_bytes(raw.read_bytes()[:200])  # truncated
    overwrite(data / "published" / "warehouse.duckdb", 300_000, b"damaged!" * 8)

    result = run(setup.release, setup.catalogue, data)
    output = " ".join(result.output.split())
    assert result.exit_code == 0, output
    record = json.loads(max((data / "runs").glob("*.json")).read_text())
    assert record["status"] == "success"
    assert record["repairs"] == [
        "published warehouse.duckdb: its bytes no longer match the checksum written when it was published; rebuilt",
        f"{archived}: the archived copy no longer matched its sha256 (damaged); replaced by the same version's "
        f"bytes from mirror:{setup.release / DEST}",
        f"destination_totals/release=2024/{raw.name}: its bytes no longer match the checksum recorded when it was "
        f"written; parsed again from the archived {DEST_2024}",
    ]
    assert "repaired: published warehouse.duckdb" in output
    assert sha256(archived) == archived.parent.name
    again = run(setup.release, setup.catalogue, data)
    assert again.exit_code == 0 and "unchanged" in again.output, again.output


def test_a_withdrawn_file_is_replaced_by_the_version_the_warehouse_was_built_from(setup: Setup, tmp_path: Path) -> None:
    """A newer version of the origin workbook was archived by a run that failed to parse it; then
    the file disappears from the source. The stand-in is the version the published warehouse was
    built from, never the newest copy in the archive."""
    data = setup.data
    folder = broken_copy(setup, tmp_path)
    set_cell(folder / ORIGIN, "Table 1", locate(folder / ORIGIN, "Table 1", "Mexico", 2020), "unreadable")
    archived = set((data / "releases" / "2020").glob(f"*/{ORIGIN}"))
    assert run(folder, setup.catalogue, data).exit_code == 1  # archived, not parsed
    published = json.loads(max(p for p in (data / "runs").glob("*.json") if '"success"' in p.read_text()).read_text())
    good = next(i["sha256"] for i in published["inputs"] if i["kind"] == "origin" and i["edition"] == "2020")
    (newest,) = set((data / "releases" / "2020").glob(f"*/{ORIGIN}")) - archived
    assert newest.parent.name == sha256(folder / ORIGIN) != good

    (folder / ORIGIN).unlink()
    before = published_state(data)
    result = run(folder, setup.catalogue, data)
    assert result.exit_code == 0, result.output
    record = json.loads(max((data / "runs").glob("*.json")).read_text())
    origin = next(i for i in record["inputs"] if i["kind"] == "origin" and i["edition"] == "2020")
    assert origin["sha256"] == good and origin["origin"].startswith("archive:")
    assert record["status"] == "unchanged" and published_state(data) == before


def test_a_damaged_stand_in_is_named_not_used(setup: Setup, tmp_path: Path) -> None:
    folder = broken_copy(setup, tmp_path)
    (folder / ORIGIN).unlink()
    copy = next(p for p in (setup.data / "releases" / "2020").glob(f"*/{ORIGIN}") if is_published_input(setup, p))
    overwrite(copy, 1000, b"damaged")
    fails(
        setup,
        folder,
        rf"failed at step fetch: {ORIGIN}: not in the mirror {folder}, and its archived copy {copy} is damaged "
        r"\(its bytes no longer match their sha256\): put the file back in the source to repair the archive",
    )
    assert run(setup.release, setup.catalogue, setup.data).exit_code == 0  # the source has it: repaired
    assert sha256(copy) == copy.parent.name


def is_published_input(setup: Setup, path: Path) -> bool:
    records = [json.loads(p.read_text()) for p in sorted((setup.data / "runs").glob("*.json"))]
    built = [r for r in records if r["status"] == "success"][-1]
    return path.parent.name in {i["sha256"] for i in built["inputs"]}


# --- 6. every failure names its step and stays small ------------------------------------------------


@pytest.mark.parametrize(
    ("where", "value", "said"),
    [
        pytest.param(
            "figure",
            1e20,
            r"column \w+ \(2020, both sexes\): value 1e\+20 is more people than live on Earth "
            r"\(at most 20,000,000,000\)",
            id="a-count-past-int64",
        ),
        pytest.param(
            "code",
            3_000_000_000,
            r"column D \(location code\): location code 3000000000 is not a location code \(M49 and UN DESA's own "
            r"codes have at most 5 digits\)",
            id="a-code-past-int32",
        ),
        pytest.param(  # the most a cell holds (Excel's limit; the probe's 5 MB cell was written as XML)
            "figure",
            "n/a " * 8_191,
            r"column \w+ \(2020, both sexes\): text '(n/a )+[n/a ]*… \(32,764 characters\) where a number is expected",
            id="a-cell-of-32764-characters",
        ),
    ],
)
def test_a_value_no_table_can_hold_is_a_parse_error_naming_its_cell(
    setup: Setup, tmp_path: Path, webhook: Webhook, where: str, value: object, said: str
) -> None:
    """Before: a bare OverflowError or ArrowInvalid from the Parquet writer, or a 5 MB message, run
    record and alert. Now the parser names the cell, and no message is longer than a screenful."""
    folder = broken_copy(setup, tmp_path)
    figure = locate(folder / DEST, "Table 1", "Mexico", 2020)
    cell = figure if where == "figure" else f"D{figure[1:]}"
    set_cell(folder / DEST, "Table 1", cell, value)
    output = fails(setup, folder, rf"Refresh failed at step parse: {DEST}, sheet 'Table 1', row {figure[1:]}, {said}")
    assert len(output) < 3_000
    record = json.loads(max((setup.data / "runs").glob("*.json")).read_text())
    assert record["error"]["step"] == "parse" and len(record["error"]["message"]) < 2_100
    assert len(json.dumps(webhook.received[-1]["body"])) < 3_000


def test_a_full_disk_is_reported_as_the_step_and_file_that_met_it(
    setup: Setup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fills while a raw table is written, and is still full when the run record is
    saved: the one message is the first failure, with its step and file; no second error hides it."""
    import errno

    import flows.parse.landing
    from flows.run_record import RunRecord

    folder = broken_copy(setup, tmp_path)
    set_cell(folder / DEST, "Table 1", locate(folder / DEST, "Table 1", "Mexico", 2020), 12345)  # parse it again

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(setup.data / "raw"))

    def filling(*args: object, **kwargs: object) -> None:
        monkeypatch.setattr(RunRecord, "save", full)  # from now on, nothing can be written
        full()

    monkeypatch.setattr(flows.parse.landing.pq, "ParquetWriter", filling)
    before = published_state(setup.data)
    result = run(folder, setup.catalogue, setup.data, "--accept-new-versions")
    output = " ".join(result.output.split())
    assert result.exit_code == 1, (output, result.exception)
    assert (
        f"Refresh failed at step parse: {DEST}: no space left on device ({setup.data / 'raw'}) [OSError, errno 28]"
    ) in output, output
    assert "Traceback" not in output
    assert published_state(setup.data) == before


# --- 7. provenance, and text no place name is ---------------------------------------------------------


def test_a_place_name_no_place_has_is_refused(setup: Setup, tmp_path: Path) -> None:
    """Once, a 1,000,000-character country name was published into four marts."""
    folder = broken_copy(setup, tmp_path)
    figure = locate(folder / DEST, "Table 1", "Mexico", 2020)
    set_cell(folder / DEST, "Table 1", f"B{figure[1:]}", "Mexico" + "o" * 29_994)
    fails(
        setup,
        folder,
        rf"Refresh failed at step parse: {DEST}, sheet 'Table 1', row {figure[1:]}, column B \(region, development "
        r"group, country or area\): a text of 30,000 characters where a location's name is expected \(at most "
        r"200\): 'Mexicooo",
    )


def test_json_log_lines_carry_the_run_and_its_step(setup: Setup, tmp_path: Path) -> None:
    """`--log-format json`: every line of a forced run is one JSON object with its run id, step,
    level and message; a failure says so at level ERROR."""
    ok = run(setup.release, setup.catalogue, setup.data, "--force", log_format="json")
    assert ok.exit_code == 0, ok.output
    events = [json.loads(line) for line in ok.output.splitlines()]
    assert {e["run_id"] for e in events} == {json.loads(ok.output.splitlines()[-1])["run_id"]} != {None}
    steps = list(dict.fromkeys(e["step"] for e in events))
    assert steps == ["detect", "fetch", "parse", "dbt build", "quality", "docs", "publish", "summary"], steps
    assert {e["level"] for e in events} == {"INFO"}
    marts = [e["fields"] for e in events if e["message"] == "Marts (schema marts)"]
    assert int(next(m["rows"] for m in marts if m["mart"] == "corridors").replace(",", "")) > 0, marts
    wrong = yaml.safe_load(setup.catalogue.read_text())
    wrong["editions"][0]["files"][0]["sha256"] = "0" * 64
    (tmp_path / "wrong.yaml").write_text(yaml.safe_dump(wrong))
    failed = run(setup.release, tmp_path / "wrong.yaml", setup.data, log_format="json")
    assert failed.exit_code == 1
    last = [json.loads(line) for line in failed.output.splitlines()]
    error = next(e for e in last if e["message"].startswith("Refresh failed at step fetch"))
    assert error["level"] == "ERROR" and error["step"] == "fetch" and error["run_id"]

    # every command takes the format, and it lasts one command: the next one, in the same process, is piped text
    status = CliRunner().invoke(app, ["status", "--data-dir", str(setup.data), "--limit", "1"])
    assert status.exit_code == 0 and status.output.startswith("Refreshes on "), status.output
    assert not logging.getLogger("migration_etl").handlers, "a finished command leaves no handler on its closed stream"
    as_json = CliRunner().invoke(
        app, ["status", "--data-dir", str(setup.data)], env={"MIGRATION_ETL_LOG_FORMAT": "json"}
    )
    assert json.loads(as_json.output.splitlines()[0])["fields"]["status"] == "failed", as_json.output
