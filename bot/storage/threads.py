"""The threads that run blocking database work: `await in_database_thread(f, ...)`.

They are not the event loop's default executor, which also resolves host names (for the probes
and the Slack client): a slow DNS server must not hold up commands, nor commands a probe. Their
number is set once per process (`SUPPORTBOT_DATABASE_THREADS`, see `Settings`); Python code
holds the interpreter's lock, so more threads than the database can overlap only hand it
around.
"""

import asyncio
import contextvars
import functools
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from bot.storage.commit_gate import before_work

P = ParamSpec("P")
T = TypeVar("T")

UNCONFIGURED_THREADS = 4  # for programs that never call configure() (tests, the CLI)

_pool: ThreadPoolExecutor | None = None


def configure(threads: int) -> None:
    """Run database work on `threads` threads from now on (work already queued finishes)."""
    global _pool  # one pool per process, like the loop's default executor
    previous, _pool = _pool, ThreadPoolExecutor(threads, thread_name_prefix="database")
    if previous is not None:
        previous.shutdown(wait=False)


async def in_database_thread(func: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """`asyncio.to_thread` on the database threads, context variables included.

    Work whose answer was given up while it queued for a thread (`commit_gate`) does not run.
    """
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(UNCONFIGURED_THREADS, thread_name_prefix="database")
    call = functools.partial(
        contextvars.copy_context().run, _unless_abandoned, func, *args, **kwargs
    )
    return await asyncio.get_running_loop().run_in_executor(_pool, call)


def _unless_abandoned(func: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    before_work()
    _busy.began()
    try:
        return func(*args, **kwargs)
    finally:
        _busy.ended()


class _BusyWithoutCommit:
    """How long the database threads have been at work since this process last committed.

    Work in a database thread may take long and still be the database doing its job (a long
    write, a long report): whether it answers shows in the commits, and a bot commits every
    few seconds whatever it does (the leadership lease is renewed, or campaigned for, every
    5 s, on its own thread). The clock runs while work is in the threads, adds up across
    pauses, and goes back to 0 at every commit: it reaches the lock wait only when work has
    been waiting that long and nothing could write meanwhile (the database locked by another
    program, or stuck), never for a long job beside which the lease is renewed.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = 0
        self._since = 0.0  # when the threads last began work (while _running)
        self._carried = 0.0  # worked before the last pause, since the last commit

    def began(self) -> None:
        with self._lock:
            if self._running == 0:
                self._since = time.monotonic()
            self._running += 1

    def ended(self) -> None:
        with self._lock:
            self._running -= 1
            if self._running == 0:
                self._carried += time.monotonic() - self._since

    def committed(self) -> None:
        with self._lock:
            self._since, self._carried = time.monotonic(), 0.0

    def seconds(self) -> float:
        with self._lock:
            running = time.monotonic() - self._since if self._running else 0.0
            return self._carried + running


_busy = _BusyWithoutCommit()


def note_commit(_connection: object) -> None:
    """An engine's "commit" listener (`make_engine` installs it): the database answers."""
    _busy.committed()


def waiting_for_database() -> float:
    """Seconds this process's database threads have been at work since it last committed
    (`_BusyWithoutCommit`): what /healthz compares with the lock wait."""
    return _busy.seconds()
