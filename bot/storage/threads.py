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
    return func(*args, **kwargs)
