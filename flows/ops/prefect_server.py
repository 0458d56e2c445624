"""A temporary Prefect API server for a command-line refresh when none is configured.

Prefect does this by itself (its "ephemeral mode"), but only when the flow first calls the API:
the CLI then sits idle for the five seconds the server takes to import and start, and imports
the whole server package (1.6 s) into the refresh process just to launch it. Here the server is
launched as the first thing the command does, runs Prefect's own app in its own process exactly
as ephemeral mode would (uvicorn on a free loopback port, UI off), starts while the refresh
imports its code, and is stopped when the refresh ends.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator

import httpx

from flows import interrupts, log
from flows.ops.internals import PREFECT_EPHEMERAL_ENV, prefect_drain_queues, prefect_server_command

STARTUP_TIMEOUT_SECONDS = 60.0
PR_SET_PDEATHSIG = 1
FLUSH_TIMEOUT_SECONDS = 60.0  # a healthy server takes a forced run's last events in well under 1 s
PORT_TAKEN = 3  # uvicorn's exit code when the port is in use (Prefect's ephemeral mode retries too)


class TemporaryServer:
    """Prefect's API app, launched now; `url()` waits until it answers /health."""

    def __init__(self) -> None:
        # its log goes to a file, not a pipe: a pipe nobody reads would block the server once full
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        self._launch()

    def _launch(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        env = {**os.environ, **PREFECT_EPHEMERAL_ENV}
        command = prefect_server_command(self.port)
        # its own session: a Ctrl-C or SIGTERM sent to the refresh's process group must not take the
        # server down under the run, which would then spend minutes retrying it to report how it ended
        self.process = subprocess.Popen(
            command,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            preexec_fn=_die_with_parent,
            start_new_session=True,
        )
        self.api_url = f"http://127.0.0.1:{self.port}/api"

    def url(self) -> str:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() == PORT_TAKEN:  # another process took the free port first
                    self._launch()
                    continue
                if self.process.poll() is not None:
                    self._log.seek(0)
                    stderr = self._log.read().decode(errors="replace")[-2000:]
                    raise RuntimeError(f"the temporary Prefect server exited ({self.process.returncode}): {stderr}")
                with contextlib.suppress(httpx.TransportError):
                    if client.get(f"{self.api_url}/health").status_code == 200:
                        return self.api_url
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the temporary Prefect server did not answer within {STARTUP_TIMEOUT_SECONDS:.0f} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def _die_with_parent() -> None:
    """In the server's process, before it starts: ask Linux to end it when the refresh's process
    ends, however that ends (a `kill` skips every cleanup the CLI has). Elsewhere a no-op."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@contextlib.contextmanager
def prefect_api(server: TemporaryServer | None) -> Iterator[None]:
    """Point Prefect at the temporary server for the block (nothing to do with a configured one),
    and hand it the run's last logs and events before the block ends. Its owner stops it."""
    if server is None:
        yield
        return
    from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    # No flow-run heartbeats either: they let a server notice a run that vanished, and this server
    # vanishes with the run. Prefect's engine waits up to 1 s at the end of a run for its heartbeat
    # thread (0.8 s of a 2.7 s unchanged run); a configured server keeps them.
    updates = {PREFECT_API_URL: server.url(), PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}
    with temporary_settings(updates=updates):
        try:
            yield
        finally:
            _flush_to_api()


def _flush_to_api() -> None:
    """Hand the server the run's last log lines and events, and wait until it has them, before its
    owner stops it.

    Prefect's own flush (`APILogHandler.flush()`) is not enough: it gives up after 5 s, and it drains
    the events worker too, since Prefect keeps every queue service in one registry, so a second
    `EventsWorker.drain_all` afterwards found nothing left to wait on. A forced run emits more than 80
    task-run and artifact events, each sent once the worker has attached its run's related resources;
    when a busy machine lets the worker fall behind, the backlog at the flow's end outlasted those 5 s,
    the server was stopped under it, and each event left over was logged as `ERROR | Service
    'EventsWorker' failed to process item` after 7 s of reconnection attempts (tests/slow_events.py
    forces it). A signal while waiting stops the wait only: the refresh has ended by then."""
    try:
        left = prefect_drain_queues(FLUSH_TIMEOUT_SECONDS)
    except BaseException as exc:
        if (signum := interrupts.signal_of(exc)) is None:
            raise
        log.announce(
            f"Stopped waiting for the temporary Prefect server to take the run's last events "
            f"({interrupts.signal_name(signum)}); the Prefect UI may miss them.",
            level=logging.WARNING,
        )
        return
    if left:
        log.announce(
            f"The temporary Prefect server did not take the run's last logs and events within "
            f"{FLUSH_TIMEOUT_SECONDS:.0f} s. It stops now, and Prefect reports each event it could not send "
            "(several seconds each) before the command exits; the Prefect UI will miss them, the warehouse "
            "is not affected.",
            level=logging.WARNING,
        )


def start_if_unconfigured() -> TemporaryServer | None:
    """A temporary server when no Prefect API is configured (env, profile or prefect.toml)."""
    from prefect.settings import PREFECT_API_URL

    return None if PREFECT_API_URL.value() else TemporaryServer()
