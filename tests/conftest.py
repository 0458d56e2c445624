"""Shared fixtures: telemetry off, one Prefect test server per session, the real mirror, and
generated release folders with a catalogue that points at them."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from flows.settings import PROJECT_DIR, disable_telemetry

disable_telemetry()
os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")
# The CLI's consoles take their width from COLUMNS when they are created (at import), and each test
# gives the width it reads output at; an xdist worker inherits a COLUMNS that would fix it at 80.
os.environ.pop("COLUMNS", None)

MIRROR = Path(os.environ.get("MIGRATION_ETL_TEST_MIRROR", PROJECT_DIR.parent / "shared/data/undesa/mirror"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that needs the Prefect API runs a refresh (seconds to a minute): it is `slow`, and
    `make test-fast` leaves it out."""
    for item in items:
        if "prefect_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[str]:
    """A real Prefect API on loopback for the whole session; flows run in-process against it, and
    CLI subprocesses get its URL so they skip starting a temporary server of their own."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield str(PREFECT_API_URL.value())


# what SOURCES.md says of each mirror file the refresh ingests: original bytes are official (the
# 2020 destination workbook is the later of two genuine saves), every origin-destination workbook
# is a layout reconstruction (the 2024 one is absent), the 2017 totals workbook a user's re-save
MIRROR_VERDICTS = {
    ("2024", "destination"): "official",
    ("2024", "origin"): "official",
    ("2024", "m49"): "official",
    ("2024", "classification"): "official",
    ("2020", "origin_destination"): "reconstruction",
    ("2020", "destination"): "official",
    ("2020", "origin"): "official",
    ("2020", "classification"): "official",
    ("2019", "origin_destination"): "reconstruction",
    ("2019", "destination"): "official",
    ("2019", "classification"): "official",
    ("2017", "origin_destination"): "reconstruction",
    ("2017", "destination"): "re-saved copy",
    ("2017", "classification"): "official",
    ("2015", "origin_destination"): "reconstruction",
    ("2015", "destination"): "official",
    ("2015", "classification"): "official",
}


@pytest.fixture(scope="session")
def mirror() -> Path:
    if not (MIRROR / "undesa_pd_2020_ims_stock_by_sex_and_destination.xlsx").is_file():
        pytest.skip(f"the release mirror is not at {MIRROR} (set MIGRATION_ETL_TEST_MIRROR)")
    return MIRROR


def cli(prefect_server: str, *args: str, columns: int = 160, **popen: Any) -> subprocess.CompletedProcess[str]:
    """`migration-etl ARGS` in a child process, as an engineer runs it (`popen`: more of
    subprocess.run's arguments, such as a preexec_fn)."""
    env = {**os.environ, "PREFECT_API_URL": prefect_server, "COLUMNS": str(columns)}
    return subprocess.run(
        [sys.executable, "-m", "flows", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
        **popen,
    )


@pytest.fixture(scope="session")
def generated_published(prefect_server: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The generated release (2020 and 2024) published once (tests/harness.py), shared by the fault
    modules: each test compares the published state before and after itself, none assumes it is
    the first to refresh it."""
    from tests.harness import make_setup

    return make_setup(tmp_path_factory)


@pytest.fixture(scope="session")
def mirror_published(prefect_server: str, mirror: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir with the real mirror refreshed and published once, shared by the app and the
    real-data modules (a refresh is 45 s). Tests may refresh it again; none may assume it holds
    only the first run. The first run's console output (stdout, then stderr) is kept in first-run.txt."""
    data = tmp_path_factory.mktemp("real") / "data"
    # the README's command as it stands (`uv run migration-etl run`), its output piped as in a CI log:
    # no terminal, no COLUMNS (test_refresh_real reads it for wrapped lines, ERRORs and uv's chatter)
    uv = shutil.which("uv")
    command = [uv, "run", "--frozen", "migration-etl"] if uv else [sys.executable, "-m", "flows"]
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"} | {"PREFECT_API_URL": prefect_server}
    result = subprocess.run(
        [*command, "run", "--source-dir", str(mirror), "--data-dir", str(data)],
        capture_output=True, text=True, env=env, cwd=PROJECT_DIR, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    (data / "first-run.txt").write_text(f"$ {' '.join(command[:4])} run\n" + result.stdout + result.stderr)
    return data


def write_catalogue(path: Path, editions: dict[str, dict[str, str | None]], years: dict[str, list[int]]) -> Path:
    """A catalogue for generated files: edition -> {kind: file name}, sha256 left out unless given."""
    doc = {
        "base_url": "http://127.0.0.1:9/unused/",
        "editions": [
            {
                "edition": ed,
                "title": f"Synthetic edition {ed}",
                "years": years[ed],
                "files": [{"kind": kind, "name": name} for kind, name in files.items() if name],
                # the generated world is small: 5 countries, 4 regions, WORLD (and Other as an origin)
                "expected_locations": [8, 14],
                "expected_od_rows": [20, 80],
            }
            for ed, files in editions.items()
        ],
    }
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def copy_mirror(src: Path, dst: Path) -> Path:
    """The workbooks with the same bytes and new modification times, as a re-synced mirror has."""
    dst.mkdir(parents=True, exist_ok=True)
    for f in src.iterdir():
        if f.suffix in (".xlsx", ".csv"):
            shutil.copyfile(f, dst / f.name)
    return dst


def rezip(path: Path) -> None:
    """Different bytes, identical content: the workbook re-written with a zip comment, as a
    re-issued file with unchanged figures would be."""
    with zipfile.ZipFile(path) as src:
        members = [(info, src.read(info)) for info in src.infolist()]
    path.chmod(0o644)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        dst.comment = b"re-issued"
        for info, data in members:
            dst.writestr(info, data)


# --- servers and a browser on loopback -------------------------------------------------------------

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_http(url: str, proc: subprocess.Popen[Any], what: str, timeout: float = 60) -> None:
    """Until `url` answers 200, or fail if the process serving it exits or the time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        assert proc.poll() is None, f"{what} exited with {proc.returncode}"
        assert time.monotonic() < deadline, f"{what} did not start within {timeout} s"
        time.sleep(0.2)


@pytest.fixture
def browser() -> Iterator[Any]:
    """Headless Chromium from the system packages (Playwright's own download is not reachable);
    skipped with the reason where it is absent. CI installs it."""
    playwright = pytest.importorskip("playwright.sync_api")
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("no chromium on this machine (apt-get install -y chromium chromium-driver)")
    with playwright.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def local_page(browser: Any, **options: Any) -> tuple[Any, list[str]]:
    """A page on which every request off this machine is refused, and noted in the list returned."""
    page = browser.new_page(**options)
    outside: list[str] = []
    page.route(
        re.compile(r"^https?://(?!127\.0\.0\.1)"), lambda route: (outside.append(route.request.url), route.abort())
    )
    return page, outside


# --- an alert webhook on loopback ------------------------------------------------------------------


class Webhook(ThreadingHTTPServer):
    received: list[dict[str, Any]]


class Receiver(BaseHTTPRequestHandler):
    server: Webhook

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append({"path": self.path, "body": json.loads(body)})
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def webhook(monkeypatch: pytest.MonkeyPatch) -> Iterator[Webhook]:
    server = Webhook(("127.0.0.1", 0), Receiver)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    monkeypatch.setenv("MIGRATION_ETL_ALERT_WEBHOOK", f"http://{host!s}:{port}/hooks/T0-secret")
    yield server
    server.shutdown()
    server.server_close()


def webhook_root(webhook: Webhook) -> str:
    host, port = webhook.server_address[:2]
    return f"http://{host!s}:{port}"
