"""Slack's 3 s: an answer that is not ready in time says that nothing was done, and is right.

Slack drops an ack that comes after 3 s and tells the user the command failed. A command stuck
behind a lock would still commit when the lock frees, and the technician who tried again would
have done it twice. `answer_within` raises `WorkAbandonedError` when the time is spent and
forbids the work's commits from then on (`bot.storage.commit_gate`); a commit already begun is
waited for instead. `/healthz` uses it too, to answer rather than hang when the database
threads are all stuck.
"""

import asyncio
import contextvars
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from bot.storage.commit_gate import CommitGate, WorkAbandonedError, current_gate

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Slack waits 3 s for the ack, from its own sending; what is left after this goes to Bolt, the
# network and the ack itself.
ACK_BUDGET_SECONDS = 2.5


async def answer_within(
    compute: Callable[[], Awaitable[T]], *, seconds: float = ACK_BUDGET_SECONDS
) -> T:
    """`compute()`'s result, or `WorkAbandonedError` if it has not begun to commit within
    `seconds`: it then commits nothing, ever.

    The work is a task of its own, which outlives the answer when it is given up; it wakes
    this one itself when it ends, rather than through `asyncio.wait` and the loop's turn more
    that its callbacks take (every command comes through here)."""
    gate = CommitGate()
    context = contextvars.copy_context()
    context.run(current_gate.set, gate)
    started = time.monotonic()
    loop = asyncio.get_running_loop()
    ready = loop.create_future()  # done when the work ends or the time is up
    work = loop.create_task(_call_then_wake(compute, ready), context=context)
    timer = loop.call_later(seconds, _wake, ready)
    try:
        await ready
    except asyncio.CancelledError:
        gate.abandon()
        work.cancel()
        raise
    finally:
        timer.cancel()
    if not work.done() and gate.abandon():
        logger.warning("gave up after %.1f s: nothing will be committed", seconds)
        work.add_done_callback(lambda finished: _log_late(finished, started))
        raise WorkAbandonedError
    return await work


async def _call_then_wake(compute: Callable[[], Awaitable[T]], ready: "asyncio.Future[None]") -> T:
    try:
        return await compute()
    finally:
        _wake(ready)


def _wake(ready: "asyncio.Future[None]") -> None:
    if not ready.done():
        ready.set_result(None)


# Work answered later than its ack: referenced until it is delivered (the loop keeps weak ones)
# and waited for when the bot stops (`background_done`).
_FOLLOWING: set["asyncio.Task[Any]"] = set()


def in_background(work: Callable[[], Awaitable[None]]) -> None:
    """Run `work` after the ack: a click is acked at once, and its outcome is told through the
    outbox. It keeps the context (the delivery its first commit records) but not the answer's
    commit gate: it is not given up."""
    context = contextvars.copy_context()
    context.run(current_gate.set, None)
    task = asyncio.create_task(_call(work), context=context)
    _FOLLOWING.add(task)
    task.add_done_callback(_finished)


async def background_done(seconds: float) -> None:
    """Wait (up to `seconds`) for the work begun after its ack: the bot is stopping."""
    if _FOLLOWING:
        await asyncio.wait(set(_FOLLOWING), timeout=seconds)


def _finished(task: "asyncio.Task[Any]") -> None:
    _FOLLOWING.discard(task)
    if not task.cancelled() and task.exception() is not None:  # a bug: never silently lost
        logger.error("work after an ack failed", exc_info=task.exception())


async def answer_or_follow_up(
    compute: Callable[[], Awaitable[T]],
    follow_up: Callable[[T | Exception], Awaitable[None]],
    *,
    seconds: float,
) -> T | None:
    """`compute()`'s result (or its error) if it comes within `seconds`; else None at once, and
    `follow_up` gets the result or the error once it comes. For slow work that is worth its
    wait (a report), where giving up would only make every try fail: it runs outside the
    answer's commit gate, and its result is delivered after the ack. It keeps the rest of the
    context, as `in_background` does: its first commit records the command's delivery, so that
    a repeat of the command is refused rather than done twice."""
    context = contextvars.copy_context()
    context.run(current_gate.set, None)
    work = asyncio.create_task(_call(compute), context=context)
    done, _ = await asyncio.wait({work}, timeout=seconds)
    if done:
        return work.result()

    async def deliver() -> None:
        try:
            outcome: T | Exception = await work
        except Exception as error:  # delivered as a reply: render_error logs bugs
            outcome = error
        await follow_up(outcome)

    delivery = asyncio.create_task(deliver(), context=context)
    _FOLLOWING.add(delivery)
    delivery.add_done_callback(_finished)
    return None


async def _call(compute: Callable[[], Awaitable[T]]) -> T:
    return await compute()


def _log_late(work: "asyncio.Task[object]", started: float) -> None:
    """Say how work given up ended, once it has (it raises nothing anyone awaits)."""
    elapsed = time.monotonic() - started
    if work.cancelled():
        return
    error = work.exception()
    if error is None or isinstance(error, WorkAbandonedError):
        logger.warning("work given up ended after %.1f s without committing", elapsed)
    else:
        logger.warning("work given up failed after %.1f s", elapsed, exc_info=error)
