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
from bot.storage.database import is_transient

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
    _progress.began()
    answered = False
    try:
        result = func(*args, **kwargs)
        answered = True
        return result
    except Exception as error:
        answered = not is_transient(error)  # the work's own fault: the database answered
        raise
    finally:
        _progress.ended(answered=answered)


class _Progress:
    """How long the database threads have waited on the database without an answer.

    Work in a database thread may take long and still be the database doing its job (a long
    write, a long job): what tells a database that does not answer is that no work gets an
    answer at all. The clock runs while work is in the threads and none of them has had an
    answer since (a result, or an error of its own; not a transient one: the database locked,
    gone or down), and it goes on across a pause in the work when the last work failed that way.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = 0
        self._since = 0.0  # when the threads began waiting (while _running)
        self._carried = 0.0  # waited before the last pause, the last work having failed

    def began(self) -> None:
        with self._lock:
            if self._running == 0:
                self._since = time.monotonic()
            self._running += 1

    def ended(self, *, answered: bool) -> None:
        now = time.monotonic()
        with self._lock:
            self._running -= 1
            if answered:
                self._since, self._carried = now, 0.0
            elif self._running == 0:
                self._carried += now - self._since

    def waited(self) -> float:
        """Seconds the threads have waited on the database without an answer (0: none)."""
        with self._lock:
            running = time.monotonic() - self._since if self._running else 0.0
            return self._carried + running


_progress = _Progress()


def waiting_for_database() -> float:
    """Seconds this process's database threads have waited on the database without an answer:
    0 when none waits, or the last work had its answer; it grows while they wait for a lock,
    and stays at what they waited once work failed for want of an answer (the database locked
    past the busy timeout, gone, down) until some work gets an answer."""
    return _progress.waited()
