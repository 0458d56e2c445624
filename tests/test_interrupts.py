"""Faults, class 5: a signal ends a refresh within seconds, and every step's deadline can fire.

The refreshes here run as an engineer runs them, `migration-etl run` in a process of its own,
killed the way a terminal (SIGINT to the process group) or a supervisor (SIGTERM) kills it. The
step to interrupt is hung on purpose (tests/hung_refresh.py); dbt is hung for real, by a model that
counts to 10^13 in a copy of the project, since its work runs in threads a signal cannot reach.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from flows.settings import PROJECT_DIR
from tests.harness import Setup, assert_nothing_half_written, published_state, run
from tests.hung_refresh import HUNG, TARGETS, hang

WITHIN_SECONDS = 15
# minutes of DuckDB work (a table: a view would not run the query)
SLOW_MODEL = "{{ config(materialized='table') }}\nselect count(*) as n from range(10000000000000)"


@pytest.fixture
def setup(generated_published: Setup) -> Setup:
    return generated_published


@pytest.fixture(scope="module")
def slow_dbt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the dbt project with one more model, which takes minutes."""
    project = tmp_path_factory.mktemp("slow-dbt") / "dbt_project"
    shutil.copytree(
        PROJECT_DIR / "dbt_project", project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages")
    )
    (project / "models" / "zz_hang.sql").write_text(SLOW_MODEL + "\n")
    return project


class Refresh:
    """`migration-etl run` in its own session, its output read as it comes."""

    def __init__(self, setup: Setup, step: str, env: dict[str, str]) -> None:
        args = ["run", "--data-dir", str(setup.data), "--catalogue", str(setup.catalogue)]
        args += ["--source-dir", str(setup.release), "--force"]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.hung_refresh", step, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,  # the progress lines and the last one, in the order written
            text=True,
            env={**os.environ, "COLUMNS": "400", **env},
            start_new_session=True,
        )
        self.lines: list[tuple[float, str]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append((time.monotonic(), line.rstrip("\n")))

    def wait_for(self, text: str, timeout: float = 120) -> None:
        end = time.monotonic() + timeout
        while not any(text in line for _, line in self.lines):
            assert self.proc.poll() is None, "the run ended before it got there:\n" + self.output()
            assert time.monotonic() < end, f"no {text!r} within {timeout} s:\n" + self.output()
            time.sleep(0.05)

    def output(self, since: float = 0.0) -> str:
        return "\n".join(line for at, line in self.lines if at >= since)

    def descendants(self) -> set[int]:
        """Every process this run started (its temporary Prefect server, dbt's), from /proc."""
        parents: dict[int, int] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(stat.parent.name)] = int(fields[1])
        found, frontier = set(), {self.proc.pid}
        while frontier:
            frontier = {pid for pid, ppid in parents.items() if ppid in frontier} - found
            found |= frontier
        return found


def latest_record(data: Path) -> dict[str, object]:
    return json.loads(max((data / "runs").glob("*.json")).read_text())  # type: ignore[no-any-return]


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.parametrize(
    ("step", "signum", "own_server"),
    [
        pytest.param("parse", signal.SIGINT, False, id="parse-SIGINT"),
        pytest.param("parse", signal.SIGTERM, False, id="parse-SIGTERM"),
        pytest.param("dbt", signal.SIGINT, False, id="dbt-SIGINT"),
        # the run starts its own temporary Prefect server, as on a fresh machine
        pytest.param("dbt", signal.SIGTERM, True, id="dbt-SIGTERM-own-server"),
        pytest.param("quality", signal.SIGINT, False, id="quality-SIGINT"),
        pytest.param("quality", signal.SIGTERM, False, id="quality-SIGTERM"),
    ],
)
def test_a_signal_to_the_process_group_ends_the_run_within_seconds(
    setup: Setup, slow_dbt: Path, prefect_server: str, step: str, signum: signal.Signals, own_server: bool
) -> None:
    before = published_state(setup.data)
    env = {"PREFECT_API_URL": "" if own_server else prefect_server}
    if step == "dbt":
        env["MIGRATION_ETL_DBT_PROJECT_DIR"] = str(slow_dbt)
    run_ = Refresh(setup, step, env)
    try:
        if step == "dbt":
            run_.wait_for("dbt build: staging")
            time.sleep(2)  # dbt is in its thread by now, on the model that counts to 10^13
        else:
            run_.wait_for(f"{HUNG}{step}")
        started = run_.descendants()
        sent = time.monotonic()
        os.killpg(run_.proc.pid, signum)
        code = run_.proc.wait(timeout=WITHIN_SECONDS)
        took = time.monotonic() - sent
    finally:
        if run_.proc.poll() is None:
            os.killpg(run_.proc.pid, signal.SIGKILL)
    run_._reader.join(5)
    after = run_.output(since=sent)
    said = "dbt build" if step == "dbt" else step
    assert code == 128 + signum, run_.output()
    assert took < WITHIN_SECONDS
    assert after.splitlines()[-2:] == [
        f"Refresh interrupted by {signum.name} at step {said}; nothing was published.",
        f"The published warehouse {setup.data / 'published' / 'warehouse.duckdb'} was left as it was.",
    ], after
    assert "Traceback" not in after and "Error" not in after.replace("ERROR", ""), after
    record = latest_record(setup.data)
    assert record["status"] == "interrupted"
    assert record["error"] == {
        "step": said,
        "type": "Interrupted",
        "message": f"interrupted by {signum.name} at step {said}; nothing was published",
    }
    assert published_state(setup.data) == before
    assert_nothing_half_written(setup.data)
    deadline = time.monotonic() + 10
    while (left := [pid for pid in started if alive(pid)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, f"processes the run started outlived it: {left}"


def test_the_run_after_an_interruption_succeeds(setup: Setup) -> None:
    result = run(setup.release, setup.catalogue, setup.data, "--force")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert latest_record(setup.data)["status"] == "success"


# --- every deadline the settings advertise fires -------------------------------------------------


@pytest.fixture
def hung() -> Iterator[None]:
    """The work a deadline ended must not go on behind the run: the dbt thread and any thread the
    step started are gone within seconds (services Prefect keeps for the process may stay)."""
    before = set(threading.enumerate())

    def running() -> list[str]:
        extra = set(threading.enumerate()) - before
        return [t.name for t in extra if t.is_alive() and (not t.daemon or t.name == "dbt-build")]

    yield
    end = time.monotonic() + 10
    while running() and time.monotonic() < end:
        time.sleep(0.1)
    assert not running(), "a hung step's work is still running"


@pytest.mark.parametrize("step", sorted(TARGETS))
def test_a_hung_step_fails_at_its_deadline(
    setup: Setup, hung: None, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    module, name = TARGETS[step]
    monkeypatch.setattr(importlib.import_module(module), name, hang(step))
    setting = f"MIGRATION_ETL_{step.upper()}_TIMEOUT_SECONDS"
    monkeypatch.setenv(setting, "1")
    before = published_state(setup.data)
    started = time.monotonic()
    result = run(setup.release, setup.catalogue, setup.data, "--force")
    output = " ".join(result.output.split())  # type: ignore[attr-defined]
    assert result.exit_code == 1, output  # type: ignore[attr-defined]
    assert time.monotonic() - started < 60
    assert f"Refresh failed at step {step}: {step} did not finish within 1 s ({setting}); stopped" in output, output
    record = latest_record(setup.data)
    assert record["status"] == "failed" and record["error"]["type"] == "StepTimeout"  # type: ignore[index]
    assert published_state(setup.data) == before


def test_a_hung_dbt_build_fails_at_its_deadline_and_its_thread_stops(
    setup: Setup, slow_dbt: Path, hung: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MIGRATION_ETL_DBT_PROJECT_DIR", str(slow_dbt))
    monkeypatch.setenv("MIGRATION_ETL_DBT_TIMEOUT_SECONDS", "8")
    before = published_state(setup.data)
    result = run(setup.release, setup.catalogue, setup.data, "--force")
    output = " ".join(result.output.split())  # type: ignore[attr-defined]
    assert result.exit_code == 1, output  # type: ignore[attr-defined]
    assert "Refresh failed at step dbt build:" in output and "MIGRATION_ETL_DBT_TIMEOUT_SECONDS" in output, output
    assert published_state(setup.data) == before
