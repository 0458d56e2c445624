"""Scheduled operation on generated releases, through real Prefect runs.

Change detection: an unchanged source costs one question per file, a copied mirror is judged by its
bytes, a corrected file and a new edition are each ingested and named in the run record, and each
flow run's name says what it did. Monitoring: every run's report and row counts are Prefect
artifacts, `migration-etl status` tells the story from the run records, and a failed run (only a
failed one) is posted to the alert webhook."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from uuid import UUID

import duckdb
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId
from prefect.deployments import run_deployment
from prefect.exceptions import ObjectNotFound
from pydantic import ValidationError
from typer.testing import CliRunner

from flows.ops.cli import app
from flows.refresh import refresh
from flows.settings import PROJECT_DIR, TELEMETRY_OFF, Settings
from tests.conftest import Webhook, copy_mirror, rezip, webhook_root, write_catalogue
from tests.workbooks import YEARS, make_world, official_names, write_edition

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
    assert {f["detail"] for f in record["changes"]["files"]} == {"size, times and inode as before"}
    assert record["changes"]["baseline_run"] == before["run_id"] and not record["changes"]["rebuild"]
    assert [i["sha256"] for i in record["inputs"]] == [i["sha256"] for i in before["inputs"]]
    assert published_version(data) == version
    assert run_name(record) == "refresh-2020-2024-unchanged"
    assert run_name(before) == "refresh-2020-2024-changed"


def test_a_copied_mirror_is_judged_by_its_bytes(first: Release, tmp_path: Path) -> None:
    folder, catalogue, data, _ = first
    version = published_version(data)
    mirror = copy_mirror(folder, tmp_path / "mirror")
    record = refresh(source_dir=str(mirror), data_dir=str(data), catalogue=str(catalogue))
    assert record["status"] == "unchanged"
    assert set(record["timings"]) == {"detect", "fetch", "total"}, "fetched and hashed, nothing parsed or built"
    assert all(f["verdict"] == "same" and f["detail"].endswith(" as before") for f in record["changes"]["files"])
    assert published_version(data) == version
    # the next run remembers the new modification times and asks only
    again = refresh(source_dir=str(mirror), data_dir=str(data), catalogue=str(catalogue))
    assert again["status"] == "unchanged" and set(again["timings"]) == {"detect", "total"}


# --- the scheduled deployment ---------------------------------------------------------------------


def test_a_served_deployment_has_its_schedule_and_runs_when_triggered(first: Release, prefect_server: str) -> None:
    """`migration-etl serve` against a real Prefect server on loopback: the deployment and its cron
    schedule are visible through the API, and a run triggered through the API completes (here in
    seconds: nothing changed since the first refresh)."""
    folder, catalogue, data, _ = first
    env = {**os.environ, "PREFECT_API_URL": prefect_server, "PREFECT_RUNNER_POLL_FREQUENCY": "1"}
    command = [
        sys.executable, "-m", "flows", "serve", "--name", "test-weekly", "--cron", "30 5 * * 2",
        "--timezone", "Europe/Zurich", "--source-dir", str(folder), "--data-dir", str(data),
        "--catalogue", str(catalogue),
    ]  # fmt: skip
    serving = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deployment = wait_for_deployment("refresh/test-weekly", serving)
        (schedule,) = deployment.schedules
        assert schedule.active and (schedule.schedule.cron, schedule.schedule.timezone) == (
            "30 5 * * 2",
            "Europe/Zurich",
        )
        assert deployment.parameters == {
            "source_dir": str(folder.resolve()),
            "data_dir": str(data.resolve()),
            "catalogue": str(catalogue.resolve()),
        }
        flow_run = run_deployment("refresh/test-weekly", timeout=240, poll_interval=1)
        assert flow_run.state is not None and flow_run.state.is_completed(), flow_run.state
        record = json.loads(max((data / "runs").glob("*.json")).read_text())
        assert record["flow_run_id"] == str(flow_run.id) and record["status"] == "unchanged"
        assert run_name(record) == "refresh-2020-2024-unchanged"
    finally:
        serving.send_signal(signal.SIGINT)
        try:
            serving.wait(timeout=30)
        except subprocess.TimeoutExpired:
            serving.kill()


def test_prefect_yaml_deploys_to_a_work_pool(prefect_server: str) -> None:
    """The deployment file for teams with workers is accepted by `prefect deploy` as it stands."""
    env = {**os.environ, "PREFECT_API_URL": prefect_server}

    def prefect(*args: str) -> None:
        done = subprocess.run(
            [sys.executable, "-m", "prefect", *args], cwd=PROJECT_DIR, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout + done.stderr

    prefect("work-pool", "create", "migration-etl", "--type", "process", "--overwrite")
    prefect("--no-prompt", "deploy", "--all")
    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name("refresh/weekly")
    assert deployment.work_pool_name == "migration-etl" and deployment.entrypoint == "flows/refresh.py:refresh"
    assert [(s.schedule.cron, s.active) for s in deployment.schedules] == [("0 6 * * 1", True)]


def wait_for_deployment(name: str, serving: subprocess.Popen[str], timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            try:
                return client.read_deployment_by_name(name)
            except ObjectNotFound:
                if serving.poll() is not None:
                    pytest.fail(f"serve exited {serving.returncode}: {serving.stdout.read() if serving.stdout else ''}")
                assert time.monotonic() < deadline, f"deployment {name} never appeared"
                time.sleep(0.5)


# --- monitoring and alerts -------------------------------------------------------------------------


def test_a_bad_webhook_url_is_refused_when_the_settings_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIGRATION_ETL_ALERT_WEBHOOK", "https://hooks.example.com:abc/T0/B0/secret")
    with pytest.raises(ValidationError, match="MIGRATION_ETL_ALERT_WEBHOOK is not a valid URL"):
        Settings()
    monkeypatch.setenv("MIGRATION_ETL_ALERT_WEBHOOK", "https://hooks.example.com/T0/B0/secret")
    assert "secret" not in repr(Settings()), "the webhook's secret path never shows in a repr or log"


def artifacts(record: dict[str, Any]) -> dict[str, Any]:
    flow_run = ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[UUID(record["flow_run_id"])]))
    with get_client(sync_client=True) as client:
        return {a.key: a for a in client.read_artifacts(artifact_filter=flow_run)}


def test_only_a_failed_run_alerts_and_every_run_reports(first: Release, webhook: Webhook, tmp_path: Path) -> None:
    folder, catalogue, data, _ = first
    unchanged = refresh(source_dir=str(folder), data_dir=str(data), catalogue=str(catalogue))
    assert unchanged["status"] == "unchanged" and unchanged["alert"] is None
    broken = copy_mirror(folder, tmp_path / "broken")
    name = official_names("2024")["origin"]
    (broken / name).write_bytes((broken / name).read_bytes()[:5000])
    with pytest.raises(Exception, match=f"{name}: not a readable xlsx workbook"):
        refresh(source_dir=str(broken), data_dir=str(data), catalogue=str(catalogue))
    assert webhook.received and len(webhook.received) == 1, "one alert, for the failed run only"
    alert = webhook.received[0]
    failed = json.loads(max((data / "runs").glob("*.json")).read_text())
    assert alert["path"] == "/hooks/T0-secret"
    assert alert["body"]["run_id"] == failed["run_id"] and alert["body"]["step"] == "parse"
    assert alert["body"]["flow_run_id"] == failed["flow_run_id"]
    assert f"failed at step parse: {name}: not a readable xlsx workbook" in alert["body"]["text"]
    assert failed["alert"] == {"sent": True, "to": f"{webhook_root(webhook)}/…", "http_status": 200}
    assert run_name(failed) == "refresh-failed-at-parse"

    report = artifacts(unchanged)["refresh-report"]
    assert report.type == "markdown" and f"Refresh {unchanged['run_id']}: unchanged" in str(report.data)
    assert "**What changed**: nothing since" in str(report.data)
    rows = artifacts(unchanged)["row-counts"]
    assert rows.type == "table" and {"mart": "corridors", "rows": unchanged["row_counts"]["corridors"]} in json.loads(
        str(rows.data)
    )
    failed_report = str(artifacts(failed)["refresh-report"].data)
    assert "## Error" in failed_report and f"Step **parse**: {name}" in failed_report

    result = CliRunner().invoke(app, ["status", "--data-dir", str(data), "--limit", "3"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    runs = records(result.output, "Refresh")
    assert [(r["run"], r["status"]) for r in runs[:2]] == [
        (failed["run_id"], "failed"),
        (unchanged["run_id"], "unchanged"),
    ]
    assert len(runs) == 3
    assert runs[0]["error"].startswith(f"parse: {name}: not a readable xlsx workbook")
    assert runs[1]["what_changed"] == f"nothing since {unchanged['changes']['baseline_run']}"
    assert "The last run failed" in result.output


def records(output: str, name: str) -> list[dict[str, str]]:
    """The rows of a table as the CLI prints it into a pipe: `name: column=value ...`, one a line."""
    lines = [line.removeprefix(f"{name}: ") for line in output.splitlines() if line.startswith(f"{name}: ")]
    return [dict(field.split("=", 1) for field in shlex.split(line)) for line in lines]


# --- new versions ----------------------------------------------------------------------------------


def test_a_corrected_file_is_ingested_and_named(first: Release, webhook: Webhook, tmp_path: Path) -> None:
    """New bytes (the same cells in a re-written zip) are a new version of the 2020 edition: archived
    beside the old one, parsed, built and published; the record names the file."""
    folder, catalogue, data, before = first
    mirror = copy_mirror(folder, tmp_path / "mirror")
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
    assert webhook.received == [] and record["alert"] is None, "a good run sends no alert"


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


def other_2020(record: dict[str, Any]) -> set[str]:
    return {i["sha256"] for i in record["inputs"] if i["edition"] == "2020" and i["sha256"]}


def test_prefect_server_start_from_the_project_sends_no_analytics() -> None:
    """`uv run prefect server start`, as the README has it, runs in the project folder, whose
    pyproject turns Prefect's server analytics off even with none of the opt-out variables set."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in TELEMETRY_OFF}
    check = "from prefect.settings import get_current_settings as s; print(s().server.analytics_enabled)"
    out = subprocess.run([sys.executable, "-c", check], cwd=PROJECT_DIR, env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stdout + out.stderr
