"""A small flow run the way `migration-etl run` runs one without a configured server (a temporary
server, `prefect_api` around the flow, the server stopped after it), with the events worker held
back until the flow ends and every event then taking 0.2 s to send, as on a busy machine: 9 s of
events are queued when the flow ends, however loaded the machine, more than the 5 s Prefect's own
flush waits. Prints, as JSON, how many events were handed to the server
before it stopped, and how many the events worker had taken up by then.

`python -m tests.slow_events`"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

from prefect import flow, task
from prefect.events.worker import EventsWorker

from flows.ops.prefect_server import TemporaryServer, prefect_api

DELAY_SECONDS = 0.2
TASKS = 15  # three events each (pending, running, completed): 45 events, 9 s at 0.2 s each
counts = {"taken": 0, "sent": 0}
flow_ended = threading.Event()
send = EventsWorker._handle


async def slowly(self: EventsWorker, event: Any) -> None:
    counts["taken"] += 1
    while not flow_ended.is_set():  # the whole backlog is still there when the flow ends
        await asyncio.sleep(0.05)
    await asyncio.sleep(DELAY_SECONDS)
    await send(self, event)
    counts["sent"] += 1


EventsWorker._handle = slowly  # type: ignore[method-assign]


@task
def step(i: int) -> int:
    return i


@flow
def many_tasks() -> None:
    for i in range(TASKS):
        step(i)


def main() -> None:
    server = TemporaryServer()
    try:
        with prefect_api(server):
            many_tasks()
            flow_ended.set()
        at_stop = dict(counts)
    finally:
        server.stop()
    print(json.dumps({"sent_before_stop": at_stop["sent"], "taken_before_stop": at_stop["taken"]}), flush=True)


if __name__ == "__main__":
    main()
