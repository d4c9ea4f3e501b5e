"""`SUPPORTBOT_WORKERS=N`: N bot processes answer Slack on one port.

A Python process computes on one core at a time, so one process acks a burst of commands one
after the other. With N workers, the supervisor (this module) migrates the database once, then
starts N processes, each a whole instance (`bot.app.serve`) that binds the port with
SO_REUSEPORT: the kernel spreads Slack's connections among them. As with instances on several
hosts, they campaign for the lease and one leads (probes, timers, the outbox sender) while the
others answer requests; what they queue, the leader's sender finds within its poll interval.

Worker `k`'s instance id is the supervisor's (`SUPPORTBOT_INSTANCE_ID`, else host:pid) plus
`/w<k>`. A worker that dies is restarted under the same id, so when it was the leader it takes
its own lease back at once. Every worker runs the catalog the supervisor loaded: a restarted
one does not read the file again, which may have been edited for the next restart of the bot.
SIGTERM or SIGINT stops every worker, each finishing its requests. A supervisor killed alone
(SIGKILL to its pid only) takes its workers with it: each watches a pipe only the supervisor
holds open, and stops as on SIGTERM when it reads the end of it. Left running, an orphan
leader and the restarted supervisor's worker of the same id would both hold the lease, and
both lead.
"""

import asyncio
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

from bot.config import Catalog, Settings
from bot.errors import ListenError, SlackRefusedError

logger = logging.getLogger(__name__)

RESTART_DELAY = 1.0  # seconds before restarting a worker that died; doubled while it keeps dying
MAX_RESTART_DELAY = 30.0
STABLE_AFTER = 10.0  # a worker that lived this long is healthy again: back to RESTART_DELAY
STOP_TIMEOUT = 30.0  # after SIGTERM, a worker gets this long to finish before SIGKILL
REFUSED = 2  # a worker's exit code when Slack refused its credentials: a restart changes nothing


@dataclass
class _Slot:
    index: int
    process: multiprocessing.process.BaseProcess | None = None
    started: float = 0.0
    delay: float = RESTART_DELAY
    restart_at: float | None = None


def supervise(settings: Settings, *, log_level: str) -> None:
    """Run `settings.workers` workers until SIGTERM or SIGINT; restart any that dies."""
    from bot.app import build_runtime  # the composition root; imported late like `run` does

    runtime = build_runtime(settings)  # migrate and mirror the catalog once, not N times at once
    runtime.engine.dispose()
    base_id = runtime.instance
    stopping = False

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    context = multiprocessing.get_context("spawn")  # no fork of a process holding connections
    # Never written to: the workers read its end once the supervisor is gone, however it died.
    lifeline, held = context.Pipe(duplex=False)
    slots = [_Slot(index) for index in range(1, settings.workers + 1)]
    refused: int | None = None  # the worker Slack refused the credentials of
    try:
        with _reserved_port(settings.listen_host, settings.port) as port:
            logger.info("starting %d workers on port %d", settings.workers, port)

            def start(slot: _Slot) -> None:
                worker_settings = settings.model_copy(
                    update={"port": port, "workers": 1, "instance_id": f"{base_id}/w{slot.index}"}
                )
                slot.process = context.Process(
                    target=_worker,
                    args=(worker_settings, runtime.catalog, slot.index, log_level, lifeline),
                    name=f"supportbot-w{slot.index}",
                )
                slot.process.start()
                slot.started, slot.restart_at = time.monotonic(), None

            for slot in slots:
                start(slot)
            while not stopping:
                alive = [s.process.sentinel for s in slots if s.process and s.process.is_alive()]
                multiprocessing.connection.wait(alive, timeout=0.5)
                now = time.monotonic()
                for slot in slots:
                    if stopping:
                        break
                    if slot.restart_at is not None:
                        if now >= slot.restart_at:
                            start(slot)
                        continue
                    assert slot.process is not None
                    if slot.process.is_alive():
                        continue
                    if slot.process.exitcode == REFUSED:
                        refused, stopping = slot.index, True
                        break
                    if now - slot.started >= STABLE_AFTER:
                        slot.delay = RESTART_DELAY
                    logger.error(
                        "worker %d exited (code %s); restarting it in %.0f s",
                        slot.index,
                        slot.process.exitcode,
                        slot.delay,
                    )
                    slot.restart_at = now + slot.delay
                    slot.delay = min(slot.delay * 2, MAX_RESTART_DELAY)
            logger.info("stopping %d workers", settings.workers)
            _stop_all([s.process for s in slots if s.process is not None])
    finally:
        held.close()
        lifeline.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if refused is not None:
        raise SlackRefusedError(f"worker {refused}: Slack refused its credentials (logged above)")


def _stop_all(processes: list[multiprocessing.process.BaseProcess]) -> None:
    for process in processes:
        if process.is_alive():
            process.terminate()  # SIGTERM: the worker's serve() stops cleanly
    deadline = time.monotonic() + STOP_TIMEOUT
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            logger.error("worker %s did not stop within %.0f s: killed", process.name, STOP_TIMEOUT)
            process.kill()
            process.join()


@contextmanager
def _reserved_port(host: str, port: int) -> Iterator[int]:
    """`port`, or when it is 0 a free one, held (bound, not listening) until the workers are
    gone, so that no other program takes it between two worker starts."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        try:
            holder.bind((host, port))
        except OSError as error:
            raise ListenError.of(host, port, error) from error
        yield int(holder.getsockname()[1])


def _worker(
    settings: Settings,
    catalog: Catalog,
    index: int,
    log_level: str,
    lifeline: multiprocessing.connection.Connection,
) -> None:
    """One worker process: a whole bot instance sharing the port."""
    from bot.cli.run import configure_logging

    configure_logging(log_level, prefix=f"w{index} ")
    # Ctrl-C reaches the whole process group: the worker stops on it like on SIGTERM (serve).
    logger.debug("worker %d started (pid %d)", index, os.getpid())
    try:
        asyncio.run(_serve_while_supervised(settings, catalog, index, lifeline))
    except SlackRefusedError as error:  # said once, not restarted forever (supervise)
        logger.error("worker %d: %s", index, error)
        sys.exit(REFUSED)


async def _serve_while_supervised(
    settings: Settings,
    catalog: Catalog,
    index: int,
    lifeline: multiprocessing.connection.Connection,
) -> None:
    """`serve`, stopped like on SIGTERM once the supervisor is gone (`lifeline` reads its end)."""
    from bot.app import serve

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def orphaned() -> None:
        loop.remove_reader(lifeline.fileno())
        logger.error("worker %d: the supervisor is gone; stopping", index)
        stop.set()

    loop.add_reader(lifeline.fileno(), orphaned)  # readable: at its end (nothing is written)
    try:
        await serve(settings, stop, reuse_port=True, mirrored=catalog)
    finally:
        loop.remove_reader(lifeline.fileno())
        lifeline.close()
