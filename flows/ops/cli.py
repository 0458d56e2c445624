"""`migration-etl`: the command line for engineers and analysts.

Every command finds the data directory the same way as the flow and the app: `--data-dir`, else
`MIGRATION_ETL_DATA_DIR`, else `./data`.

Over 300 lines, on purpose: six commands (run, serve, status, sources, docs, app), each with its
options declared in its signature, as typer reads them; what `run` prints is flows.ops.summary.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from flows import log
from flows.ops.output import Format, Output
from flows.settings import disable_telemetry

if TYPE_CHECKING:
    from flows.ops.prefect_server import TemporaryServer
    from flows.settings import Settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__.splitlines()[0] if __doc__ else None)
console = Output()
err = Output(stderr=True)
LogFormat = Annotated[
    Format,
    typer.Option(
        "--log-format",
        envvar="MIGRATION_ETL_LOG_FORMAT",
        help="auto: tables and colour on a terminal, one line per message in a pipe; text: always that; "
        "json: one JSON object per event (run id, step, level, message) for log shippers.",
    ),
]


DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Data directory (default: $MIGRATION_ETL_DATA_DIR, else ./data)."),
]


def _quiet_prefect_console(verbose: bool) -> None:
    """Prefect's own console log is for debugging; the CLI prints the steps and the one error
    message itself, so Prefect's copy of a failure (a traceback) would only bury it. The Prefect
    UI still receives every log line through the API handler."""
    if not verbose:
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")
        if not os.environ.get("PREFECT_API_URL"):
            # the temporary server's own shutdown chatter (cancelled flushes) is not the refresh's
            os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "CRITICAL")


@contextlib.contextmanager
def _steps_printed() -> Iterator[None]:
    """The refresh's step announcements (the `migration_etl` logger) go to this command's output,
    and only while it runs: the handler holds the stream it was given, which a caller running
    several commands in one process (a test runner) closes after each."""
    steps = logging.getLogger("migration_etl")
    before = (steps.handlers, steps.level, steps.propagate)
    try:
        steps.handlers, steps.propagate = [console.handler()], False
        steps.setLevel(logging.INFO)
        yield
    finally:
        steps.handlers, steps.propagate = before[0], before[2]
        steps.setLevel(before[1])


@app.callback()
def _commands(log_format: LogFormat = "auto") -> None:
    """Migration corridors warehouse: refresh the UN DESA International Migrant Stock marts."""
    global console, err  # set for every command: nothing carries over from an earlier one in the process
    console, err = Output(log_format), Output(log_format, stderr=True)


@app.command()
def run(
    source_dir: Annotated[
        Path | None,
        typer.Option(
            "--source-dir",
            help="Local mirror of the release files (default: $MIGRATION_ETL_SOURCE_DIR, else download).",
        ),
    ] = None,
    data_dir: DataDir = None,
    catalogue: Annotated[Path | None, typer.Option(help="Release catalogue YAML (default: the bundled one).")] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Rebuild and publish even when no source file changed.")
    ] = False,
    accept_new_versions: Annotated[
        bool,
        typer.Option(
            "--accept-new-versions",
            help="Accept files that match no version the catalogue knows (a re-published file): archive, "
            "check and publish them, marked 'accepted new version' (default: $MIGRATION_ETL_ACCEPT_NEW_VERSIONS).",
        ),
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Also show Prefect's and dbt's own logs.")] = False,
) -> None:
    """Refresh the warehouse: detect changes, fetch, parse, dbt build, check, publish."""
    started = time.perf_counter()
    log.at(None, None)
    disable_telemetry()
    _quiet_prefect_console(verbose)
    from flows import interrupts
    from flows.ops.prefect_server import start_if_unconfigured

    previous = interrupts.install()  # Ctrl-C and SIGTERM: one line, exit 130 / 143
    try:
        with _steps_printed():
            server = start_if_unconfigured()  # first: it starts while the refresh's code is imported
            try:
                _run(server, source_dir, data_dir, catalogue, force, accept_new_versions, started)
            finally:
                if server is not None:
                    server.stop()
    except BaseException as exc:
        if (signum := interrupts.signal_of(exc)) is None:
            raise
        err.say(f"[bold red]Refresh interrupted[/] by {interrupts.signal_name(signum)} before it started.")
        raise typer.Exit(128 + signum) from None
    finally:
        interrupts.restore(previous)


def _run(
    server: TemporaryServer | None,
    source_dir: Path | None,
    data_dir: Path | None,
    catalogue: Path | None,
    force: bool,
    accept_new_versions: bool,
    started: float,
) -> None:
    from flows import interrupts
    from flows.errors import EtlError, bounded
    from flows.ops.prefect_server import prefect_api
    from flows.ops.summary import print_summary
    from flows.refresh import refresh
    from flows.run_record import RunRecord, new_run_id
    from flows.settings import SettingsError, load_settings

    overrides: dict[str, Any] = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    try:
        settings: Settings | None = load_settings(**overrides)
    except SettingsError:
        settings = None  # the flow refuses them too, and records the refusal where it can
    run_id = new_run_id()
    try:
        with prefect_api(server):
            result = refresh(
                source_dir=str(source_dir) if source_dir else None,
                data_dir=str(settings.root) if settings else (str(data_dir) if data_dir is not None else None),
                catalogue=str(catalogue) if catalogue else None,
                run_id=run_id,
                force=force,
                accept_new_versions=accept_new_versions,
            )
    except EtlError as exc:
        err.say(f"[bold red]Refresh failed[/] at step [bold]{exc.step}[/]: {escape(bounded(str(exc)))}")
        _print_unchanged(settings)
        raise typer.Exit(1) from None
    except BaseException as exc:
        if (signum := interrupts.signal_of(exc)) is None:
            raise
        step = _interrupted_step(settings, run_id)
        err.say(
            f"[bold red]Refresh interrupted[/] by {interrupts.signal_name(signum)}"
            + (f" at step [bold]{step}[/]" if step else "")
            + "; nothing was published."
        )
        _print_unchanged(settings)
        raise typer.Exit(128 + signum) from None
    except Exception as exc:  # noqa: BLE001 - any crash must end in a message and exit code 1
        err.say(f"[bold red]Refresh failed[/] ({type(exc).__name__}): {escape(bounded(str(exc)))}")
        _print_unchanged(settings)
        raise typer.Exit(1) from None
    assert settings is not None  # a run that succeeded had usable settings
    record = RunRecord.model_validate(result)  # the flow's own result: the run record it kept
    log.at(record.run_id, "summary")
    print_summary(console, record, settings, record.path(settings.runs_dir), time.perf_counter() - started)


@app.command()
def serve(
    cron: Annotated[str, typer.Option(help="When to refresh (cron, in --timezone). Default: Mondays 06:00.")] = (
        "0 6 * * 1"
    ),
    timezone: Annotated[str, typer.Option(help="Time zone of the cron schedule.")] = "UTC",
    name: Annotated[str, typer.Option(help="Deployment name (the flow is `refresh`).")] = "scheduled",
    source_dir: Annotated[
        Path | None, typer.Option("--source-dir", help="Local mirror to refresh from (default: download).")
    ] = None,
    data_dir: DataDir = None,
    catalogue: Annotated[Path | None, typer.Option(help="Release catalogue YAML (default: the bundled one).")] = None,
) -> None:
    """Serve the refresh as a Prefect deployment on a cron schedule, until stopped (Ctrl-C).

    Needs a Prefect server (`prefect server start`, then PREFECT_API_URL): a schedule lives on the
    server, and this process runs the flow runs it creates, scheduled or triggered by hand."""
    disable_telemetry()
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        err.say(
            "[bold red]No Prefect server configured.[/] A schedule lives on a Prefect server:\n"
            "  1. prefect server start            (in another terminal; UI on http://127.0.0.1:4200)\n"
            "  2. export PREFECT_API_URL=http://127.0.0.1:4200/api\n"
            "  3. migration-etl serve ...          (this command, again)"
        )
        raise typer.Exit(2)
    from prefect.schedules import Cron
    from prefect.types.entrypoint import EntrypointType

    from flows.refresh import refresh

    overrides: dict[str, Any] = {"data_dir": data_dir} if data_dir is not None else {}
    parameters = {
        "source_dir": str(source_dir.expanduser().resolve()) if source_dir else None,
        "data_dir": str(_settings(overrides).root),
        "catalogue": str(catalogue.expanduser().resolve()) if catalogue else None,
    }
    console.say(f"Serving deployment refresh/{name} on {PREFECT_API_URL.value()}: cron '{cron}' ({timezone})")
    refresh.serve(
        name=name,
        schedules=[Cron(cron, timezone=timezone)],
        parameters=parameters,
        description=f"Refresh the migration corridors warehouse in {parameters['data_dir']}",
        tags=["migration-etl"],
        limit=1,  # one refresh at a time per data dir; the refresh lock refuses a second one anyway
        entrypoint_type=EntrypointType.MODULE_PATH,
    )


@app.command()
def status(
    data_dir: DataDir = None,
    limit: Annotated[int, typer.Option(min=1, help="How many of the latest runs to show.")] = 10,
) -> None:
    """The latest refreshes from the run records (no Prefect server needed)."""
    from flows.ops.report import what_changed
    from flows.run_record import load_records

    overrides: dict[str, Any] = {"data_dir": data_dir} if data_dir is not None else {}
    settings = _settings(overrides)
    records = load_records(settings.runs_dir)
    if not records:
        console.say(f"No refresh has run on {settings.root} yet: migration-etl run --source-dir <mirror>")
        raise typer.Exit(0)
    rows = []
    colours = {"success": "green", "unchanged": "cyan", "failed": "red", "running": "yellow"}
    for r in reversed(records[-limit:]):
        took = f"{r.duration_seconds:.1f} s" if r.duration_seconds is not None and r.status != "running" else "-"
        error = f"{r.error.step}: {r.error.message}" if r.error else ""
        rows.append(
            [
                r.run_id,
                f"{r.started_at:%Y-%m-%d %H:%M:%S}",
                f"[{colours.get(r.status, 'white')}]{r.status}[/]",
                took,
                escape(what_changed(r)),
                escape(error[:300]),
            ]
        )
    title = f"Refreshes on {settings.root} (latest {min(limit, len(records))} of {len(records)})"
    console.table(title, ["run", "started (UTC)", "status", "took", "what changed", "error"], rows, name="Refresh")
    link = settings.published_dir
    if link.is_symlink():
        console.say(f"Published: version {Path(os.readlink(link)).name} ({settings.warehouse_path})")
    else:
        console.say("Published: nothing yet")
    failed = [r for r in records if r.status == "failed"]
    if failed and records[-1].status == "failed":
        console.say(f"[red]The last run failed[/]; its record: {records[-1].path(settings.runs_dir)}")


@app.command()
def sources(
    source_dir: Annotated[
        Path | None,
        typer.Option(
            "--source-dir",
            help="Local mirror to look at (default: $MIGRATION_ETL_SOURCE_DIR, else ask the UN DESA site).",
        ),
    ] = None,
    data_dir: DataDir = None,
    catalogue: Annotated[Path | None, typer.Option(help="Release catalogue YAML (default: the bundled one).")] = None,
) -> None:
    """What each source holds now, judged against the catalogue and the archive; ingests nothing.

    A mirror file is hashed, so its verdict is exact; a file on the UN site is asked with one HEAD
    request, so its verdict rests on its size. Run it before --accept-new-versions. Exits 1 when a
    file is a version the catalogue does not know, or its source could not be asked."""
    from flows.errors import EtlError
    from flows.ingest.catalogue import load_catalogue
    from flows.ingest.sources import advice, ask_all

    overrides: dict[str, Any] = {}
    for key, value in (("source_dir", source_dir), ("data_dir", data_dir), ("catalogue", catalogue)):
        if value is not None:
            overrides[key] = value
    settings = _settings(overrides)
    try:
        answers = ask_all(load_catalogue(settings.catalogue), settings)
    except EtlError as exc:
        err.say(f"[bold red]Cannot ask the sources[/]: {escape(str(exc))}")
        raise typer.Exit(1) from None
    where = f"mirror {settings.source_dir}" if settings.source_dir else "the UN DESA site (HEAD requests)"
    console.plain(f"Sources: {where}; catalogue {settings.catalogue}; archive {settings.releases_dir}")
    for answer in answers:
        console.plain(answer.line())
    for line in advice(answers):
        console.plain(line)
    attention = [a for a in answers if a.needs_attention]
    if attention:  # a scheduled check can alert on the exit code
        files = ", ".join(f"{a.edition} {a.kind}" for a in attention)
        console.plain(f"{len(attention)} file(s) need attention: {files}")
        raise typer.Exit(1)


@app.command()
def docs(
    data_dir: DataDir = None,
    port: Annotated[int, typer.Option(help="Port to serve on (loopback only).")] = 8081,
) -> None:
    """Serve the published dbt docs (lineage, column docs) on http://127.0.0.1:PORT until Ctrl-C."""
    import functools
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    overrides: dict[str, Any] = {"data_dir": data_dir} if data_dir is not None else {}
    folder = _settings(overrides).published_dir / "docs"
    if not (folder / "index.html").is_file():
        err.say(f"No dbt docs in {folder}: run a refresh first (migration-etl run --source-dir <mirror>).")
        raise typer.Exit(1)

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    # not resolved: through the `published` link, each request gets the version published now
    handler = functools.partial(Quiet, directory=str(folder.absolute()))
    with ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
        console.say(f"dbt docs of the published warehouse: http://127.0.0.1:{server.server_address[1]}/")
        console.say(f"(or open {folder / 'static_index.html'} directly; Ctrl-C to stop)")
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()


@app.command("app")
def run_app(
    data_dir: DataDir = None,
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8501,
) -> None:
    """Serve the Streamlit app over the published warehouse."""
    from flows.settings import PROJECT_DIR

    disable_telemetry()
    overrides: dict[str, Any] = {"data_dir": data_dir} if data_dir is not None else {}
    env = {**os.environ, "MIGRATION_ETL_DATA_DIR": str(_settings(overrides).root)}
    script = PROJECT_DIR / "app" / "streamlit_app.py"
    command = [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port)]
    # hand this process over to Streamlit (no child): a SIGTERM or Ctrl-C sent to this pid reaches the
    # server itself, so nothing is left serving when whoever started the app stops it
    os.chdir(PROJECT_DIR)
    os.execve(sys.executable, command, env)


def _interrupted_step(settings: Settings | None, run_id: str) -> str | None:
    """The step the run record says the refresh was interrupted at, if it got that far."""
    from flows.run_record import RunRecord

    if settings is None:
        return None
    try:
        record = RunRecord.model_validate_json((settings.runs_dir / f"{run_id}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record.error.step if record.error else None


def _settings(overrides: dict[str, Any]) -> Settings:
    """The settings, or one line naming what is wrong with them and exit code 1."""
    from flows.settings import SettingsError, load_settings

    try:
        return load_settings(**overrides)
    except SettingsError as exc:
        err.say(f"[bold red]Invalid settings[/]: {escape(str(exc).removeprefix('invalid settings: '))}")
        raise typer.Exit(1) from None


def _print_unchanged(settings: Settings | None) -> None:
    if settings is None:
        return
    if settings.warehouse_path.exists():
        err.say(f"The published warehouse {settings.warehouse_path} was left as it was.")
    else:
        err.say("Nothing has been published yet.")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err.say("Interrupted; the published warehouse is unchanged.")
        sys.exit(130)


if __name__ == "__main__":
    main()
