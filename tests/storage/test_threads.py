"""The hop to the database threads: the result or the error, the context, no more threads than
configured, no run of work whose awaiter went away, and work begun finished at exit."""

import asyncio
import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.storage import threads
from bot.storage.commit_gate import CommitGate, WorkAbandonedError, current_gate
from bot.storage.database import make_engine

where: ContextVar[str] = ContextVar("where", default="nowhere")


@pytest.fixture
def two_threads() -> Iterator[None]:
    threads.configure(2)
    yield
    threads.configure(threads.UNCONFIGURED_THREADS)


def test_the_result_and_the_context_cross_over() -> None:
    def read(suffix: str, *, twice: bool) -> tuple[str, str]:
        return where.get() + suffix * (2 if twice else 1), threading.current_thread().name

    async def scenario() -> tuple[str, str]:
        where.set("handler")
        return await threads.in_database_thread(read, "!", twice=True)

    value, thread = asyncio.run(scenario())
    assert value == "handler!!"
    assert thread.startswith("database_")


def test_an_error_reaches_the_awaiter_and_the_thread_goes_on() -> None:
    def fail() -> None:
        raise LookupError("no such ticket")

    async def scenario() -> str:
        with pytest.raises(LookupError, match="no such ticket"):
            await threads.in_database_thread(fail)
        return await threads.in_database_thread(str, 7)

    assert asyncio.run(scenario()) == "7"


def test_work_abandoned_while_it_queued_does_not_run() -> None:
    ran = threading.Event()

    async def scenario() -> None:
        gate = CommitGate()
        assert gate.abandon()
        current_gate.set(gate)
        with pytest.raises(WorkAbandonedError):
            await threads.in_database_thread(ran.set)

    asyncio.run(scenario())
    assert not ran.is_set()


def test_no_more_threads_than_configured_and_cancelled_work_does_not_run(
    two_threads: None,
) -> None:
    release, ran = threading.Event(), threading.Event()
    names: set[str] = set()

    def hold() -> None:
        names.add(threading.current_thread().name)
        assert release.wait(10)

    async def scenario() -> None:
        holding = [asyncio.create_task(threads.in_database_thread(hold)) for _ in range(2)]
        queued = asyncio.create_task(threads.in_database_thread(ran.set))
        await asyncio.sleep(0.2)  # both threads hold; the third work waits for one
        assert len(names) == 2
        queued.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await queued
        # The executor's future is cancelled by a callback the loop runs after the task's.
        await asyncio.sleep(0)
        release.set()
        await asyncio.gather(*holding)
        assert queued.cancelled()
        await threads.in_database_thread(names.add, "after")  # behind the cancelled one

    asyncio.run(scenario())
    assert not ran.is_set()
    assert names - {"after"} == {"database_0", "database_1"}


def test_the_interpreter_exits_once_the_work_begun_has_run() -> None:
    """The loop ends (here by `exit()`) while a database thread works: the process waits for
    it, then exits, rather than cut it short or wait for ever."""
    program = (
        "import asyncio, time\n"
        "from bot.storage.threads import in_database_thread\n"
        "def slow():\n"
        "    time.sleep(0.3)\n"
        "    print('done', flush=True)\n"
        "async def main():\n"
        "    asyncio.get_running_loop().call_later(0.1, exit)\n"
        "    await in_database_thread(slow)\n"
        "asyncio.run(main())\n"
    )
    root = str(Path(__file__).resolve().parents[2])
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([root, *sys.path])}
    finished = subprocess.run(
        [sys.executable, "-c", program], env=environment, capture_output=True, text=True, timeout=30
    )
    assert (finished.returncode, finished.stdout) == (0, "done\n"), finished.stderr


def test_a_long_job_reads_as_busy_only_until_the_process_commits(tmp_path: Path) -> None:
    """/healthz's measure (`waiting_for_database`): work in the threads counts until a commit
    anywhere in the process (the bot renews its lease every 5 s), so a long but healthy job
    beside which writes go on never reaches the lock wait; with no commit, it adds up."""
    engine = make_engine(f"sqlite:///{tmp_path / 'commits.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE beats (at REAL)"))
    release = threading.Event()
    job = threading.Thread(target=asyncio.run, args=(threads.in_database_thread(release.wait, 30),))
    job.start()
    try:
        before = wait_for(lambda: (waited := threads.waiting_for_database()) > 1.0 and waited)
        with engine.begin() as connection:  # a lease renewed, on another thread
            connection.execute(text("INSERT INTO beats VALUES (1)"))
        after = threads.waiting_for_database()
    finally:
        release.set()
        job.join()
        engine.dispose()
    assert after < before  # back to 0 at the commit, the job still running


def wait_for(condition: Callable[[], float | bool]) -> float:
    """`condition`'s value once truthy (polled, up to 30 s)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if value := condition():
            return float(value)
        time.sleep(0.05)
    raise AssertionError("the condition never held")
