"""Runs a command as a child subreaper (Linux), so every process it starts and leaves behind is
re-parented here rather than to init: a test then sees exactly the processes its command started,
never another test's or another user's on the same machine.

    python -m tests.descendants --report R.json [--kill-when TEXT] -- command ...

The command's output passes through. The report says its exit code, the command lines of the
descendants that matched `--kill-when` (the command is killed outright once one runs), and those
still running a while after it exited (they are then stopped).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import signal
import subprocess
import time
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36


def descendants(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in map(int, (task / "children").read_text().split()):
                found += [child, *descendants(child)]
    return found


def command_line(pid: int) -> str:
    try:
        return (Path(f"/proc/{pid}/cmdline").read_bytes()).replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def _reap() -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def _running() -> list[int]:
    """Our descendants that are alive (a zombie has no command line)."""
    _reap()
    return [pid for pid in descendants(os.getpid()) if command_line(pid)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--report", required=True, type=Path)
    parser.add_argument("--kill-when")
    parser.add_argument("--settle", type=float, default=15.0, help="seconds left to leftovers to exit by themselves")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    # without either, `left` would always be empty: a watch that cannot fail
    if ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1) != 0:
        raise SystemExit(f"cannot become a child subreaper: errno {ctypes.get_errno()}")
    if not Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").exists():
        raise SystemExit("this kernel does not list a process's children in /proc")
    process = subprocess.Popen(command)
    matched: list[str] = []
    if args.kill_when:
        deadline = time.monotonic() + 120
        while not matched and process.poll() is None and time.monotonic() < deadline:
            matched = [c for c in map(command_line, descendants(process.pid)) if args.kill_when in c]
            time.sleep(0.1)
        process.kill()
    returncode = process.wait()
    deadline = time.monotonic() + args.settle
    while _running() and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [command_line(pid) for pid in _running()]
    for pid in _running():
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    _reap()
    args.report.write_text(json.dumps({"returncode": returncode, "matched": matched, "left": left}))


if __name__ == "__main__":
    main()
