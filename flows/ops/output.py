"""How the CLI writes: for a person at a terminal (colour, tables with borders), into a pipe or a
CI log (one message per line, never wrapped, tables as one record a line, so a file name or a
command survives `grep` and copy-paste), or as JSON lines for log shippers (one object per event,
with its run id, step, level and message).

Messages are written with Rich markup (`[bold]...[/]`); outside a terminal the markup is dropped."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import IO, Literal

from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table
from rich.text import Text

from flows import log

Format = Literal["auto", "text", "json"]


class Output:
    def __init__(self, fmt: Format = "auto", *, stderr: bool = False, file: IO[str] | None = None) -> None:
        # `text` and `json` never colour, even on a terminal
        self.console = Console(
            stderr=stderr, file=file, highlight=False, force_terminal=None if fmt == "auto" else False
        )
        self.fmt = fmt
        self.json = fmt == "json"
        self.level = "ERROR" if stderr else "INFO"  # what the CLI writes to stderr is why it failed

    @property
    def terminal(self) -> bool:
        """Asked each time: the stream may change after start-up (a test runner swaps it)."""
        return self.fmt == "auto" and self.console.is_terminal

    def say(self, text: str, *, markup: bool = True) -> None:
        """A message, with Rich markup unless `markup` is False."""
        if self.json:
            self._event(self.level, Text.from_markup(text).plain if markup else text)
        else:  # a pipe has no width: one message, one line
            self.console.print(text, markup=markup, soft_wrap=not self.terminal)

    def plain(self, text: str) -> None:
        """A message taken as it is (file names, answers from a server): `[...]` is not markup."""
        self.say(text, markup=False)

    def rule(self, text: str) -> None:
        """A heading line: a rule across a terminal, `== text ==` in a pipe."""
        if self.terminal:
            self.console.rule(text)
        else:
            self.say(text if self.json else f"== {text} ==")

    def table(
        self, title: str, columns: list[str], rows: list[list[str]], *, right: tuple[str, ...] = (), name: str = ""
    ) -> None:
        """A bordered table on a terminal; elsewhere one line per row, `name: column=value ...`
        (values with spaces, quotes or `=` quoted; the title on a line of its own when a shorter `name` prefixes the
        rows), or one JSON event per row with its `fields`."""
        if self.terminal:
            table = Table(title=title)
            for column in columns:
                table.add_column(column, justify="right" if column in right else "left", overflow="fold")
            for row in rows:
                table.add_row(*row)
            self.console.print(table)
            return
        if name and not self.json:
            self.plain(title)
        for row in rows:
            values = [Text.from_markup(value).plain for value in row]
            if self.json:
                self._event("INFO", title, {"fields": {_key(c): v for c, v in zip(columns, values, strict=True)}})
            else:
                fields = " ".join(f"{_key(c)}={_value(v)}" for c, v in zip(columns, values, strict=True))
                self.console.print(f"{name or title}: {fields}", markup=False, soft_wrap=True)

    def handler(self) -> logging.Handler:
        """The handler that writes the refresh's step announcements (the `migration_etl` logger)."""
        if self.terminal:
            return RichHandler(
                console=self.console, show_path=False, show_level=False, markup=False, log_time_format="%H:%M:%S"
            )
        handler = logging.StreamHandler(self.console.file)
        handler.setFormatter(JsonLines() if self.json else logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        return handler

    def _event(self, level: str, message: str, extra: dict[str, dict[str, str]] | None = None) -> None:
        place = log.where()
        event = {"time": datetime.now(UTC).isoformat(timespec="milliseconds"), "level": level, **place}
        self.console.file.write(json.dumps({**event, "message": message, **(extra or {})}, ensure_ascii=False) + "\n")
        self.console.file.flush()


class JsonLines(logging.Formatter):
    """One JSON object per log record: time, level, run id, step and message."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(
            {
                "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                "level": record.levelname,
                "run_id": getattr(record, "run_id", None),
                "step": getattr(record, "step", None),
                "message": record.getMessage(),
            },
            ensure_ascii=False,
        )


def _key(column: str) -> str:
    return column.split(" (")[0].replace(" ", "_")


def _value(value: str) -> str:
    """As it reads, quoted (JSON-style) when empty or holding a space, a quote or `=`."""
    plain = value and not any(c.isspace() or c in "\"'=" for c in value)
    return value if plain else json.dumps(value, ensure_ascii=False)
