"""A re-published file over HTTP, end to end through the CLI: a download that matches a third party's
record of the official file is official; a version nobody knows is refused with the way to accept
it and the published warehouse untouched; accepted, it is archived beside the old one, checked,
published, announced once, and remembered; `migration-etl sources` tells all of it without
downloading a byte.

The real served bytes are not here, so the "third-party record" is the MD5 and size of a generated
workbook, written into a test catalogue the way SOURCES.md 1d records un.org's downloads.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from uuid import UUID

import duckdb
import pytest
import yaml
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId
from typer.testing import CliRunner

from flows.ops.cli import app
from tests.conftest import Webhook, rezip, sha256, write_catalogue
from tests.workbooks import YEARS, make_world, official_names, write_edition

DEST = official_names("2020")["destination"]
ORIGIN = official_names("2020")["origin"]
CLASSIFICATION = official_names("2020")["classification"]
LOG = "test download log, 2026-11-01"


class Files(ThreadingHTTPServer):
    files: dict[str, bytes]
    head_allowed: bool
    bodies_sent: int  # GET answers that carried a file


class Handler(BaseHTTPRequestHandler):
    """Serves the release files as the UN site would: ETag and Content-Length, 304 to a matching
    If-None-Match, and HEAD without a body (or, like some servers, 405 to HEAD)."""

    server: Files

    def log_message(self, *args: object) -> None:
        pass

    def do_HEAD(self) -> None:
        if not self.server.head_allowed:
            self.send_error(405)
            return
        self._answer(body=False)

    def do_GET(self) -> None:
        self._answer(body=True)

    def _answer(self, body: bool) -> None:
        data = self.server.files.get(self.path.rsplit("/", 1)[-1])
        if data is None:
            self.send_error(404)
            return
        if body and self.headers.get("If-None-Match") is None:
            self.server.bodies_sent += 1
        etag = f'"{hashlib.sha256(data).hexdigest()[:16]}"'
        self.send_response(304 if self.headers.get("If-None-Match") == etag else 200)
        self.send_header("ETag", etag)
        self.send_header("Content-Length", "0" if self.headers.get("If-None-Match") == etag else str(len(data)))
        self.end_headers()
        if body and self.headers.get("If-None-Match") != etag:
            self.wfile.write(data)


@dataclass
class Site:
    server: Files
    catalogue: Path
    data: Path
    original: bytes  # the 2020 destination workbook the test catalogue records

    def serve(self, data: bytes) -> None:
        self.server.files[DEST] = data


@pytest.fixture(scope="module")
def site(prefect_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("un-site")
    write_edition(make_world("2020"), folder)
    write_edition(make_world("2024"), folder, od=False)  # catalogued, never served: a 404, like un.org's today
    editions: dict[str, dict[str, str | None]] = {ed: dict(official_names(ed)) for ed in ("2020", "2024")}
    catalogue = write_catalogue(folder / "catalogue.yaml", editions, YEARS)
    server = Files(("127.0.0.1", 0), Handler)
    server.files = {p.name: p.read_bytes() for p in folder.glob("*.xlsx")}
    server.head_allowed, server.bodies_sent = True, 0
    threading.Thread(target=server.serve_forever, daemon=True).start()
    original = server.files[DEST]
    doc = yaml.safe_load(catalogue.read_text())
    doc["base_url"] = "http://{}:{}/files/".format(*server.server_address[:2])
    for f in doc["editions"][0]["files"]:
        if f["name"] in (DEST, ORIGIN):  # only their MD5 and size are known, from someone's download log
            data = server.files[f["name"]]
            f["versions"] = [{"md5": md5(data), "size": len(data), "status": "third-party", "source": LOG}]
    catalogue.write_text(yaml.safe_dump(doc, sort_keys=False))
    yield Site(server, catalogue, tmp_path_factory.mktemp("new-versions") / "data", original)
    server.shutdown()
    server.server_close()


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def run(site: Site, *extra: str) -> Any:
    args = ["run", "--data-dir", str(site.data), "--catalogue", str(site.catalogue), *extra]
    return CliRunner().invoke(app, args, env={"COLUMNS": "400"})


def latest_record(site: Site) -> dict[str, Any]:
    return json.loads(max((site.data / "runs").glob("*.json")).read_text())


def destination(record: dict[str, Any]) -> dict[str, Any]:
    return next(i for i in record["inputs"] if i["name"] == DEST)


def published_state(data: Path) -> tuple[str, str, str]:
    published = data / "published"
    return os.readlink(published), sha256(published / "warehouse.duckdb"), sha256(published / "marts/corridors.parquet")


def archived_versions(site: Site) -> set[str]:
    return {p.parent.name for p in (site.data / "releases" / "2020").glob(f"*/{DEST}")}


def report_of(record: dict[str, Any]) -> str:
    flow_run = ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[UUID(record["flow_run_id"])]))
    with get_client(sync_client=True) as client:
        (report,) = [a for a in client.read_artifacts(artifact_filter=flow_run) if a.key == "refresh-report"]
    return str(report.data)


def published_inputs(data: Path) -> dict[str, dict[str, Any]]:
    with duckdb.connect(str(data / "published" / "warehouse.duckdb"), read_only=True) as con:
        (files,) = con.execute(
            "select input_files from marts.pipeline_runs order by finished_at desc limit 1"
        ).fetchone() or ("[]",)
    return {f["name"]: f for f in json.loads(files)}


def test_a_download_matching_a_third_party_record_is_official(site: Site) -> None:
    result = run(site)
    assert result.exit_code == 0, result.output
    record = latest_record(site)
    words = f"official (matches {LOG})"
    got = destination(record)
    assert (got["verdict"], got["matched"], got["official"]) == (words, f"md5 + size of '{LOG}'", True)
    assert (got["md5"], got["size"]) == (md5(site.original), len(site.original))
    assert f"2020 destination: sha256 {got['sha256'][:12]}, {words}, matched: md5 + size of '{LOG}'" in result.output
    assert f'version="{words}"' in result.output, "the summary's Inputs table"
    assert f"| {words} | md5 + size of '{LOG}' |" in report_of(record), "the Prefect report"
    assert published_inputs(site.data)[DEST]["verdict"] == words, "pipeline_runs, which the app reads"
    # files of which nothing is known are marked, not refused
    classification = next(i for i in record["inputs"] if i["edition"] == "2020" and i["kind"] == "classification")
    assert classification["verdict"] == "unverified"


def test_an_unknown_version_is_refused_and_nothing_changes(site: Site, webhook: Webhook, tmp_path: Path) -> None:
    """Two files re-published at once: both are named (accepting is for every unknown file, so the
    operator must see them all), neither is archived, nothing is published."""
    origin_name = ORIGIN
    republished, origin = tmp_path / DEST, tmp_path / origin_name
    republished.write_bytes(site.original)
    rezip(republished)  # the same cells in new bytes, as a re-published file
    origin_before = site.server.files[origin_name]
    origin.write_bytes(origin_before)
    rezip(origin)
    new = republished.read_bytes()
    site.serve(new)
    site.server.files[origin_name] = origin.read_bytes()
    before = published_state(site.data)
    result = run(site)
    output = " ".join(result.output.split())
    assert result.exit_code == 1, output
    sha = hashlib.sha256(new).hexdigest()
    host, port = site.server.server_address[:2]
    assert (
        f"Refresh failed at step fetch: 2 files match no version the catalogue knows: [1] {DEST}: sha256 {sha} "
        "does not match the one version the catalogue knows; the file was not archived. It is an unknown version "
        f"of edition 2020's destination file, from http://{host!s}:{port}/files/{DEST}: {len(new):,} B, SHA-256 "
        f"{sha}, MD5 {md5(new)}. Known versions: (1) official, third-party record ({LOG}): "
        f"{len(site.original):,} B, md5 {md5(site.original)[:12]}. [2] {origin_name}: sha256 "
    ) in output
    assert (
        "If UN DESA re-published the file, compare it first (migration-etl sources), then run the same command "
        "again with --accept-new-versions (a scheduled deployment, once: prefect deployment run "
        "refresh/<deployment> -p accept_new_versions=true;"
    ) in output
    assert output.count("If UN DESA re-published") == 1
    assert published_state(site.data) == before
    assert sha not in archived_versions(site)
    assert [a["body"]["event"] for a in webhook.received] == ["refresh.failed"], "a refused run is a failure"
    site.server.files[origin_name] = origin_before  # only the destination workbook stays re-published


def test_an_accepted_version_is_archived_checked_published_and_announced_once(
    site: Site, webhook: Webhook, tmp_path: Path
) -> None:
    new = site.server.files[DEST]
    sha = hashlib.sha256(new).hexdigest()
    before = published_state(site.data)
    result = run(site, "--accept-new-versions")
    assert result.exit_code == 0, result.output
    record = latest_record(site)
    got = destination(record)
    assert (got["verdict"], got["newly_accepted"], got["sha256"]) == ("accepted new version", True, sha)
    assert archived_versions(site) == {hashlib.sha256(site.original).hexdigest(), sha}, "beside the old version"
    assert record["dbt"]["tests_failed"] == 0 and record["quality"]["failed"] == 0
    assert published_state(site.data)[0] != before[0] and record["status"] == "success"
    assert published_inputs(site.data)[DEST]["verdict"] == "accepted new version"
    assert (
        " ".join(result.output.split()).count(f"accepted new version: 2020 destination ({DEST}): {len(new):,} B") == 1
    )
    (notice,) = webhook.received
    assert notice["body"]["event"] == "refresh.notice" and notice["body"]["run_id"] == record["run_id"]
    assert notice["body"]["accepted"] == [
        {"edition": "2020", "kind": "destination", "name": DEST, "size": len(new), "sha256": sha, "md5": md5(new),
         "git_blob": got["git_blob"]}
    ]  # fmt: skip
    assert "accepted a new version of 1 file(s) and published it after every check passed" in notice["body"]["text"]
    assert record["notice"]["sent"] is True and record["alert"] is None
    status = CliRunner().invoke(app, ["status", "--data-dir", str(site.data), "--limit", "1"], env={"COLUMNS": "400"})
    assert "2020 destination changed, accepted new version of 2020 destination" in status.output


def test_an_accepted_version_is_remembered(site: Site, webhook: Webhook) -> None:
    result = run(site, "--force")
    assert result.exit_code == 0, result.output
    got = destination(latest_record(site))
    assert (got["verdict"], got["newly_accepted"]) == ("accepted new version", False)
    assert webhook.received == [], "announced once, by the run that accepted it"
    changes = latest_record(site)["changes"]  # a forced run's record says it rebuilt, and why
    assert changes["rebuild"] is True and "--force: rebuilt whatever the sources said" in changes["reasons"]


def test_sources_asks_the_site_without_downloading(site: Site, tmp_path: Path) -> None:
    def sources(expect_exit: int = 0) -> dict[str, str]:
        result = CliRunner().invoke(
            app, ["sources", "--data-dir", str(site.data), "--catalogue", str(site.catalogue)], env={"COLUMNS": "80"}
        )
        assert result.exit_code == expect_exit, result.output
        return {line.split(":")[0]: line for line in result.output.splitlines()[1:]}

    archive = sorted(p.relative_to(site.data) for p in (site.data / "releases").rglob("*"))
    site.server.bodies_sent = 0
    lines = sources()
    dest = lines[f"2020 destination {DEST}"]
    assert dest.startswith(f"2020 destination {DEST}: accepted new version (the last archived copy); HTTP 304 ")
    assert "; the same bytes as the last archived version (" in dest
    advice = lines["2020 destination"]
    assert advice.startswith("2020 destination: accepted by an operator, not yet in the catalogue; once reviewed")
    assert advice.endswith(
        f'size: {len(site.server.files[DEST])}, status: verified, source: "<where it came from, when, how checked>"}}'
    )
    assert ": unverified (the last archived copy); HTTP 304 " in lines[f"2020 classification {CLASSIFICATION}"]
    assert lines[f"2024 origin_destination {official_names('2024')['origin_destination']}"].endswith(
        ": missing at the source; HTTP 404; nothing archived yet"
    )
    site.serve(site.original)  # the site goes back to the recorded official bytes
    back = sources()[f"2020 destination {DEST}"]
    assert f": probably official (size as '{LOG}'; the bytes decide at the next refresh); HTTP 200, " in back
    assert "a different size from the last archived version" in back
    changed = tmp_path / DEST
    changed.write_bytes(site.original + b"\0" * 10)
    site.serve(changed.read_bytes())
    site.server.head_allowed = False  # a server refusing HEAD gets a GET whose body is never read
    unknown = sources(expect_exit=1)
    assert (
        ": probably an unknown version (its size matches no known version); HTTP 200, "
        in unknown[f"2020 destination {DEST}"]
    )
    assert unknown["1 file(s) need attention"].endswith(": 2020 destination")
    assert sorted(p.relative_to(site.data) for p in (site.data / "releases").rglob("*")) == archive, "nothing archived"
