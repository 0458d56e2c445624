"""Fetching over HTTP from a local server (loopback only) and from a mirror folder."""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from flows.errors import ChecksumMismatch, FetchError, UnknownVersion
from flows.ingest.catalogue import Catalogue, Edition
from flows.ingest.changes import BUILD_CHANGED, ask_sources, compare_bytes
from flows.ingest.fetch import fetch_file
from flows.results import FetchedFile
from flows.run_record import RunRecord
from flows.settings import Settings
from tests.workbooks import make_world, write_origin

NAME = "undesa_pd_2020_ims_stock_by_sex_and_origin.xlsx"


@dataclass
class Script:
    """What the server answers for the file, one entry per request (the last one repeats)."""

    answers: list[str] = field(default_factory=lambda: ["ok"])
    body: bytes = b""
    requests: list[dict[str, str]] = field(default_factory=list)


class Server(ThreadingHTTPServer):
    script: Script


class Handler(BaseHTTPRequestHandler):
    server: Server

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        script = self.server.script
        script.requests.append(dict(self.headers))
        answer = script.answers[min(len(script.requests) - 1, len(script.answers) - 1)]
        body = script.body
        etag = f'"{hashlib.sha256(body).hexdigest()[:16]}"'
        if answer == "ok" and self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
        elif answer == "ok":
            self._send(200, body, etag=etag)
        elif answer == "html":
            self._send(200, b"<!DOCTYPE html><html><body>Please enable JavaScript</body></html>", "text/html")
        elif answer == "429":
            self.send_response(429)
            self.send_header("Retry-After", "1")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif answer.isdigit():
            self._send(int(answer), b"error page")
        elif answer == "cut":
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 3])
            self.wfile.flush()
            self.close_connection = True
        elif answer == "unsized":  # no Content-Length: the size is only known while reading
            self.send_response(200)
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True
        elif answer == "slow":
            time.sleep(1.5)
            self._send(200, body)
        elif answer.startswith("redirect:"):  # redirect:/path or redirect:http://host:{port}/path
            target = answer.removeprefix("redirect:").replace("{port}", str(self.server.server_address[1]))
            self.send_response(302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif answer == "trickle":  # a byte every 50 ms: no single read ever waits long
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            for byte in body:
                try:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                except OSError:  # the client gave up
                    return
                time.sleep(0.05)

    def _send(
        self, status: int, body: bytes, content_type: str = "application/octet-stream", etag: str | None = None
    ) -> None:
        self.send_response(status)
        if etag:
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", "Tue, 24 Nov 2026 08:00:00 GMT")
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    httpd = Server(("127.0.0.1", 0), Handler)
    httpd.script = Script(body=write_origin(make_world("2020"), tmp_path / NAME).read_bytes())
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def edition_for(server: Server, sha256: str | None) -> Edition:
    return catalogue_for(server, sha256).editions[0]


def edition_with(server: Server, versions: list[dict[str, object]]) -> Edition:
    return catalogue_for(server, None, versions).editions[0]


def catalogue_for(
    server: Server,
    sha256: str | None,
    versions: list[dict[str, object]] | None = None,
    allowed_hosts: list[str] | None = None,
) -> Catalogue:
    host, port = server.server_address[:2]
    cat = Catalogue.model_validate(
        {
            "base_url": f"http://{host!s}:{port}/files/",
            "allowed_hosts": allowed_hosts or [],
            "editions": [
                {
                    "edition": "2020",
                    "title": "t",
                    "years": [2020],
                    "files": [
                        {"kind": "origin", "name": NAME, "sha256": sha256, "versions": versions or []},
                        {"kind": "classification", "name": "c.xlsx"},
                    ],
                }
            ],
        }
    )
    return cat


def settings_for(tmp_path: Path, **kw: object) -> Settings:
    defaults: dict[str, object] = {"data_dir": tmp_path / "data", "http_backoff_seconds": 0.01, "http_attempts": 3}
    return Settings(**{**defaults, **kw})  # type: ignore[arg-type]


def fetch(server: Server, settings: Settings, sha256: str | None = "auto"):  # type: ignore[no-untyped-def]
    expected = hashlib.sha256(server.script.body).hexdigest() if sha256 == "auto" else sha256
    ed = edition_for(server, expected)
    return fetch_file(ed, ed.files[0], settings)


def archived_files(settings: Settings) -> list[Path]:
    return sorted(p for p in settings.releases_dir.rglob("*") if p.is_file()) if settings.releases_dir.exists() else []


def test_download_is_archived_by_checksum(server: Server, tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    got = fetch(server, settings)
    digest = hashlib.sha256(server.script.body).hexdigest()
    assert got.status == "fetched" and got.verdict == "official" and got.sha256 == digest
    assert got.path == settings.releases_dir / "2020" / digest / NAME
    assert got.path.read_bytes() == server.script.body
    assert not got.path.stat().st_mode & 0o222, "archived files are read-only"
    # a browser-like agent: the UN site refuses default client agents
    assert server.script.requests[0]["User-Agent"].startswith("Mozilla/5.0")
    again = fetch(server, settings)
    assert again.path == got.path and not again.newly_archived


def test_server_error_then_success_is_retried(server: Server, tmp_path: Path) -> None:
    server.script.answers = ["500", "503", "ok"]
    got = fetch(server, settings_for(tmp_path))
    assert got.status == "fetched"
    assert len(server.script.requests) == 3


def test_server_errors_until_attempts_run_out(server: Server, tmp_path: Path) -> None:
    server.script.answers = ["500"]
    settings = settings_for(tmp_path)
    with pytest.raises(
        FetchError,
        match=rf"{NAME}: download from http://127\.0\.0\.1:\d+/files/{NAME} failed after "
        r"3 attempts: HTTP 500",
    ):
        fetch(server, settings)
    assert len(server.script.requests) == 3
    assert archived_files(settings) == []


def test_forbidden_is_not_retried(server: Server, tmp_path: Path) -> None:
    server.script.answers = ["403"]
    settings = settings_for(tmp_path)
    with pytest.raises(
        FetchError, match=rf"{NAME}: HTTP 403 Forbidden from http://.*\(the server refused this client\)"
    ):
        fetch(server, settings)
    assert len(server.script.requests) == 1
    assert archived_files(settings) == []


def test_wrong_checksum_is_refused_and_not_archived(server: Server, tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    with pytest.raises(
        ChecksumMismatch,
        match=rf"{NAME}: sha256 [0-9a-f]{{64}} does not match the catalogue's "
        r"0{64}; the file was not archived",
    ):
        fetch(server, settings, sha256="0" * 64)
    assert archived_files(settings) == []


def test_not_found_is_a_missing_file(server: Server, tmp_path: Path) -> None:
    server.script.answers = ["404"]
    got = fetch(server, settings_for(tmp_path))
    assert got.status == "missing" and got.path is None
    assert got.reason is not None and "HTTP 404" in got.reason


def test_connection_cut_mid_download_leaves_no_partial_file(server: Server, tmp_path: Path) -> None:
    server.script.answers = ["cut"]
    settings = settings_for(tmp_path)
    with pytest.raises(FetchError, match=r"failed after 3 attempts: connection cut mid-download"):
        fetch(server, settings)
    assert archived_files(settings) == []


def test_connection_cut_then_complete(server: Server, tmp_path: Path) -> None:
    server.script.answers = ["cut", "ok"]
    got = fetch(server, settings_for(tmp_path))
    assert got.status == "fetched" and got.path is not None
    assert got.path.read_bytes() == server.script.body


def test_timeout(server: Server, tmp_path: Path) -> None:
    server.script.answers = ["slow"]
    settings = settings_for(tmp_path, http_timeout_seconds=0.3, http_attempts=2)
    with pytest.raises(FetchError, match=r"failed after 2 attempts: timed out"):
        fetch(server, settings)


def test_a_trickling_download_ends_at_the_fetch_deadline(server: Server, tmp_path: Path) -> None:
    """Every read gets its byte well within the per-read timeout; the whole file would take 15
    minutes. The deadline for the whole fetch ends it, and nothing reaches the archive."""
    server.script.answers = ["trickle"]
    settings = settings_for(tmp_path, http_timeout_seconds=5, fetch_timeout_seconds=1.5)
    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        fetch(server, settings)
    assert time.monotonic() - started < 5
    said = re.fullmatch(
        rf"{NAME}: the fetch from http://127\.0\.0\.1:\d+/files/{NAME} did not finish within 1\.5 s "
        r"\(MIGRATION_ETL_FETCH_TIMEOUT_SECONDS; [\d,]+ bytes received\); stopped",
        str(caught.value),
    )
    assert said, str(caught.value)
    assert archived_files(settings) == []


def test_a_redirect_on_the_same_host_is_followed_and_the_final_address_kept(server: Server, tmp_path: Path) -> None:
    server.script.answers = ["redirect:/moved/" + NAME, "ok"]
    got = fetch(server, settings_for(tmp_path))
    assert got.status == "fetched" and got.url is not None and got.url.endswith(f"/moved/{NAME}")
    assert got.model_dump(mode="json")["url"] == got.url and got.origin.endswith(f"/files/{NAME}")


def test_a_redirect_to_another_host_is_refused_unless_the_catalogue_allows_it(server: Server, tmp_path: Path) -> None:
    """127.0.0.1 sends the download to `localhost` (the same server under another host name)."""
    other = f"http://localhost:{{port}}/elsewhere/{NAME}"
    server.script.answers = ["redirect:" + other, "ok"]
    settings = settings_for(tmp_path)
    with pytest.raises(FetchError) as caught:
        fetch(server, settings)
    port = server.server_address[1]
    assert str(caught.value) == (
        f"{NAME}: http://127.0.0.1:{port}/files/{NAME} redirects to http://localhost:{port}/elsewhere/{NAME}, on "
        "host localhost, which the catalogue does not allow (127.0.0.1); refused. If that host is the "
        "publisher's, add it to `allowed_hosts` in the catalogue"
    )
    assert archived_files(settings) == []

    server.script.requests.clear()
    body = server.script.body
    ed = catalogue_for(server, hashlib.sha256(body).hexdigest(), allowed_hosts=["localhost"]).editions[0]
    got = fetch_file(ed, ed.files[0], settings)
    assert got.status == "fetched" and got.url == f"http://localhost:{port}/elsewhere/{NAME}"


def test_a_redirect_loop_is_refused_after_a_few_hops(server: Server, tmp_path: Path) -> None:
    server.script.answers = ["redirect:/files/" + NAME]
    with pytest.raises(FetchError, match=rf"{NAME}: http://\S+ redirects more than 5 times; refused"):
        fetch(server, settings_for(tmp_path))
    assert len(server.script.requests) == 6


def test_an_html_page_is_not_archived(server: Server, tmp_path: Path) -> None:
    server.script.answers = ["html"]
    settings = settings_for(tmp_path)
    with pytest.raises(FetchError, match=rf"{NAME}: not an Excel workbook \(an HTML page"):
        fetch(server, settings, sha256=None)
    assert archived_files(settings) == []


def succeeded_with(settings: Settings, *fetched: FetchedFile) -> None:
    """A run record saying a successful run used these files (what lets an archived copy stand in)."""
    success(settings, "used", list(fetched)).save(settings.runs_dir)


def success(settings: Settings, run_id: str, inputs: list[FetchedFile]) -> RunRecord:
    return RunRecord(
        run_id=run_id,
        started_at=datetime.now(UTC),
        status="success",
        data_dir=str(settings.root),
        source="http",
        catalogue="c",
        build_fingerprint="fp",
        inputs=inputs,
    )


def test_a_file_gone_from_the_source_is_taken_from_the_archive(server: Server, tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    first = fetch(server, settings)
    server.script.answers = ["404"]
    unused = fetch(server, settings)
    assert unused.status == "missing", "a copy no successful run used never stands in"
    succeeded_with(settings, first)
    again = fetch(server, settings)
    assert again.status == "fetched" and again.path == first.path and again.sha256 == first.sha256
    assert again.origin == f"archive:{first.path}"
    assert again.reason is not None and again.reason.startswith("HTTP 404 from http://")
    assert "using the copy archived on" in again.reason


def test_rate_limit_waits_as_told(server: Server, tmp_path: Path) -> None:
    server.script.answers = ["429", "ok"]
    started = time.perf_counter()
    got = fetch(server, settings_for(tmp_path))
    assert got.status == "fetched"
    assert time.perf_counter() - started >= 1.0, "Retry-After: 1 was honoured"


def test_a_third_party_record_identifies_an_official_download(server: Server, tmp_path: Path) -> None:
    """The served bytes were never hashed here, but their MD5 and size are in someone's download log."""
    body = server.script.body
    md5 = hashlib.md5(body, usedforsecurity=False).hexdigest()
    record = {"md5": md5, "size": len(body), "status": "third-party", "source": "owid/etl download, 2024-07-16"}
    ed = edition_with(server, [record])
    got = fetch_file(ed, ed.files[0], settings_for(tmp_path))
    assert (got.verdict, got.official) == ("official (matches owid/etl download, 2024-07-16)", True)
    assert got.matched == "md5 + size of 'owid/etl download, 2024-07-16'"
    assert (got.md5, got.size, got.sha256) == (md5, len(body), hashlib.sha256(body).hexdigest())


def test_an_unknown_version_is_refused_then_accepted_once_and_remembered(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file matching none of the known versions (here: the official file's git blob) is refused
    before it is archived; accepted (the deployment's setting), it is archived with the operator's
    acceptance beside it, and a later run without the setting knows it."""
    body = server.script.body
    blob = {"git_blob": "305a2b13b24baf0c789be80ec8e5cb9b9102e4f1", "status": "third-party", "source": "a repository"}
    ed = edition_with(server, [blob])
    settings = settings_for(tmp_path)
    sha, md5 = hashlib.sha256(body).hexdigest(), hashlib.md5(body, usedforsecurity=False).hexdigest()
    with pytest.raises(UnknownVersion) as refused:
        fetch_file(ed, ed.files[0], settings)
    host, port = server.server_address[:2]
    assert str(refused.value) == (
        f"{NAME}: sha256 {sha} does not match the one version the catalogue knows; the file was not archived. It "
        f"is an unknown version of edition 2020's origin file, from http://{host!s}:{port}/files/{NAME}: "
        f"{len(body):,} B, SHA-256 {sha}, MD5 {md5}. Known versions: (1) official, third-party record (a "
        "repository): git_blob 305a2b13b24b. If UN DESA re-published the file, compare it first (migration-etl "
        "sources), then run the same command again with --accept-new-versions (a scheduled deployment, once: "
        "prefect deployment run refresh/<deployment> -p accept_new_versions=true; "
        "MIGRATION_ETL_ACCEPT_NEW_VERSIONS=true would accept every unknown version from then on). An accepted "
        "file is archived beside the old version, checked like any file and published as 'accepted new version'."
    )
    assert archived_files(settings) == []

    monkeypatch.setenv("MIGRATION_ETL_ACCEPT_NEW_VERSIONS", "true")
    accepting = settings_for(tmp_path)
    assert accepting.accept_new_versions
    got = fetch_file(ed, ed.files[0], accepting)
    assert (got.verdict, got.newly_accepted, got.official) == ("accepted new version", True, False)
    assert got.path is not None and (got.path.parent / f"{NAME}.accepted.json").is_file()

    monkeypatch.delenv("MIGRATION_ETL_ACCEPT_NEW_VERSIONS")
    again = fetch_file(ed, ed.files[0], settings_for(tmp_path))
    assert (again.verdict, again.newly_accepted) == ("accepted new version", False)
    assert again.matched is not None and again.matched.startswith("an operator's acceptance of ")


def test_size_cap_while_streaming(server: Server, tmp_path: Path) -> None:
    server.script.answers = ["unsized"]
    settings = settings_for(tmp_path, http_max_bytes=1000)
    with pytest.raises(FetchError, match=rf"{NAME}: larger than the 1,000-byte limit"):
        fetch(server, settings)
    assert archived_files(settings) == []


def test_size_cap(server: Server, tmp_path: Path) -> None:
    settings = settings_for(tmp_path, http_max_bytes=1000)
    with pytest.raises(FetchError, match=r"announces [\d,]+ bytes, over the 1,000-byte limit; refused"):
        fetch(server, settings)
    assert archived_files(settings) == []


def test_mirror(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    body = write_origin(make_world("2020"), mirror / NAME).read_bytes()
    settings = Settings(data_dir=tmp_path / "data", source_dir=mirror)
    cat = Catalogue.model_validate(
        {
            "base_url": "http://127.0.0.1:9/",
            "editions": [
                {
                    "edition": "2020",
                    "title": "t",
                    "years": [2020],
                    "files": [
                        {"kind": "origin", "name": NAME, "sha256": hashlib.sha256(body).hexdigest()},
                        {"kind": "classification", "name": "absent.xlsx"},
                    ],
                }
            ],
        }
    )
    ed = cat.editions[0]
    got = fetch_file(ed, ed.files[0], settings)
    assert got.status == "fetched" and got.origin == f"mirror:{mirror / NAME}" and got.newly_archived
    missing = fetch_file(ed, ed.files[1], settings)
    assert missing.status == "missing" and missing.reason == f"not in the mirror {mirror}"
    (mirror / NAME).unlink()
    succeeded_with(settings, got)
    fallback = fetch_file(ed, ed.files[0], settings)
    assert fallback.status == "fetched" and fallback.path == got.path
    assert fallback.reason is not None and fallback.reason.startswith(f"not in the mirror {mirror}; using the copy")
    (mirror / NAME).write_bytes(body + b"tampered")
    with pytest.raises(ChecksumMismatch):
        fetch_file(ed, ed.files[0], settings)


def test_a_conditional_request_tells_whether_the_file_changed(server: Server, tmp_path: Path) -> None:
    """The next run asks with the ETag and Last-Modified it was given; 304 means the same file,
    without a byte of it sent. Anything else leaves the verdict to the sha256 after the fetch."""
    settings = settings_for(tmp_path)
    cat = catalogue_for(server, None)
    fetched = [fetch_file(cat.editions[0], spec, settings) for spec in cat.editions[0].files]
    assert fetched[0].etag and fetched[0].last_modified == "Tue, 24 Nov 2026 08:00:00 GMT"
    base = success(settings, "base", fetched)
    server.script.requests.clear()
    same = ask_sources(cat, settings, base, "fp")
    assert not same.changed and {f.detail for f in same.files} == {"HTTP 304 Not Modified"}
    assert [r["If-None-Match"] for r in server.script.requests] == [fetched[0].etag] * 2

    server.script.body += b"\0"  # a corrected file: new bytes, new ETag
    asked = ask_sources(cat, settings, base, "fp")
    assert [f.verdict for f in asked.files] == ["unknown", "unknown"]
    refetched = [fetch_file(cat.editions[0], spec, settings) for spec in cat.editions[0].files]
    checked = compare_bytes(base, "fp", refetched)
    assert [f.verdict for f in checked.files] == ["changed", "changed"]
    assert checked.reasons[0].startswith(f"2020 origin ({NAME}): changed, sha256 {fetched[0].sha256[:12]} -> ")
    versions = [p.parent.name for p in archived_files(settings) if p.name == NAME]
    assert sorted(versions) == sorted([fetched[0].sha256, refetched[0].sha256]), "archived beside the old one"

    assert compare_bytes(base, "other", fetched).reasons == [BUILD_CHANGED]


def test_an_archived_copy_the_catalogue_no_longer_knows_never_stands_in(server: Server, tmp_path: Path) -> None:
    """A copy archived while nothing was listed for the file (unverified) is, once the catalogue
    lists another version, an unknown version: when the source loses the file, it does not stand
    in; the file is reported missing."""
    settings = settings_for(tmp_path)
    first = edition_with(server, [])
    assert fetch_file(first, first.files[0], settings).verdict == "unverified"
    server.script.answers = ["404"]
    known = edition_with(server, [{"sha256": "ab" * 32, "status": "verified", "source": "a later save"}])
    got = fetch_file(known, known.files[0], settings)
    assert got.status == "missing" and got.path is None
    assert got.reason is not None and got.reason.startswith("HTTP 404 from http://")
