"""Time a refresh as an engineer runs it: the CLI in a child process, from an empty data dir and
again unchanged, with a temporary Prefect server (no PREFECT_API_URL) and against a running one.

Per run: wall time, the flow's own time and its steps (from the run record), what lies outside
the flow (interpreter and imports, Prefect's server start and stop), and the child's peak RSS.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from flows.settings import PROJECT_DIR


@dataclass
class RefreshTime:
    scenario: str
    status: str
    wall_s: float
    flow_s: float
    outside_flow_s: float
    peak_rss_mb: float
    steps_s: dict[str, float] = field(default_factory=dict)
    dbt_sql_s: float | None = None
    dbt_models_s: float | None = None
    dbt_elapsed_s: float | None = None
    peak_memory_mb: dict[str, float] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_cli(scenario: str, source: Path, data: Path, env: dict[str, str], *extra: str) -> RefreshTime:
    """One `migration-etl run` in a child process; its peak RSS comes from wait4's rusage."""
    command = [
        sys.executable,
        "-m",
        "flows",
        "run",
        "--source-dir",
        str(source),
        "--data-dir",
        str(data),
        *extra,
    ]
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=PROJECT_DIR)
    assert proc.stdout is not None
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{scenario}: refresh exited {proc.returncode}:\n{output.decode(errors='replace')[-2000:]}")
    record = json.loads(max((data / "runs").glob("*.json"), key=lambda p: p.stat().st_mtime).read_text())
    steps = {k: v for k, v in record["timings"].items() if k != "total"}
    flow = float(record["timings"]["total"])
    dbt = record.get("dbt") or {}
    return RefreshTime(
        scenario=scenario,
        status=record["status"],
        wall_s=round(wall, 2),
        flow_s=round(flow, 2),
        outside_flow_s=round(wall - flow, 2),
        peak_rss_mb=process_peak_mb(usage.ru_maxrss / 1024, record.get("peak_memory_mb", {})),
        steps_s=steps,
        dbt_sql_s=round(dbt["sql_seconds"], 2) if "sql_seconds" in dbt else None,
        dbt_models_s=round(dbt["model_seconds"], 2) if "model_seconds" in dbt else None,
        dbt_elapsed_s=round(dbt["elapsed_seconds"], 2) if "elapsed_seconds" in dbt else None,
        peak_memory_mb=record.get("peak_memory_mb", {}),
        rows=_rows(record),
    )


def process_peak_mb(rusage_mb: float, step_peaks: dict[str, float]) -> float:
    """The refresh process's peak RSS. The refresh resets the kernel's high-water mark at each step
    (to measure each step's own peak), and wait4 reports the mark as it stood at exit, so the
    process's peak is the larger of that and the steps' peaks."""
    return round(max([rusage_mb, *step_peaks.values()]), 1)


def _rows(record: dict[str, Any]) -> dict[str, int]:
    """Rows landed per raw table, over every edition."""
    rows: dict[str, int] = {}
    for parsed in record.get("parse", []):
        for table, n in (parsed.get("rows") or {}).items():
            rows[table] = rows.get(table, 0) + n
    return rows


@contextmanager
def prefect_server(port: int = 4299) -> Iterator[str]:
    """A running Prefect server on loopback, as a scheduled deployment would use."""
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_SERVER_LOGGING_LEVEL": "WARNING"}
    env.pop("PREFECT_API_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + 120
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("prefect server did not start") from None
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def run(source: Path, work: Path, url: str) -> list[RefreshTime]:
    """Full and unchanged refreshes, with a temporary server and then against the running one at
    `url`; then a forced rebuild in the same data dir (the steady state: dbt parses partially)."""
    base = {**os.environ, "COLUMNS": "200"}
    base.pop("PREFECT_API_URL", None)
    times = [
        run_cli("full, temporary server", source, work / "temporary", base),
        run_cli("unchanged, temporary server", source, work / "temporary", base),
    ]
    env = {**base, "PREFECT_API_URL": url}
    times.append(run_cli("full, running server", source, work / "running", env))
    times.append(run_cli("unchanged, running server", source, work / "running", env))
    times.append(run_cli("rebuild (--force), running server", source, work / "running", env, "--force"))
    # the same, on the two newest editions only: what the three older ones cost
    two = _newest_editions_catalogue(work / "two-editions.yaml", 2)
    times.append(run_cli("full, two editions, running server", source, work / "two", env, "--catalogue", str(two)))
    return times


def _newest_editions_catalogue(path: Path, count: int) -> Path:
    """The bundled catalogue cut down to its `count` newest editions."""
    import yaml

    from flows.settings import DEFAULT_CATALOGUE

    doc = yaml.safe_load(DEFAULT_CATALOGUE.read_text(encoding="utf-8"))
    doc["editions"] = sorted(doc["editions"], key=lambda e: e["edition"], reverse=True)[:count]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path
