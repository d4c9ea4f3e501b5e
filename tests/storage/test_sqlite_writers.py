"""SQLite: writers of one file queue on a file lock; sessions that only read take no lock."""

import fcntl
import multiprocessing
import os
import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from bot.storage.database import make_engine, make_sessionmaker, reading

INCREMENTS = 150


@pytest.fixture
def database(tmp_path: Path) -> Iterator[tuple[Engine, Path]]:
    path = tmp_path / "bot.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE counter (n INTEGER NOT NULL)"))
        connection.execute(text("INSERT INTO counter VALUES (0)"))
    yield engine, Path(f"{path}-writers.lock")
    engine.dispose()


@contextmanager
def held(lock: Path) -> Iterator[None]:
    """The writers' lock, taken as another process's writer would."""
    descriptor = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def is_free(lock: Path) -> bool:
    descriptor = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(descriptor)


def test_a_write_transaction_holds_the_writers_lock_until_it_ends(
    database: tuple[Engine, Path],
) -> None:
    engine, lock = database
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        session.execute(text("UPDATE counter SET n = n + 1"))
        assert not is_free(lock)
    assert is_free(lock)

    def fail_midway() -> None:
        with sessions.begin() as session:
            session.execute(text("UPDATE counter SET n = n + 1"))
            raise RuntimeError("midway")

    with pytest.raises(RuntimeError):  # a failed unit of work rolls back and frees it too
        fail_midway()
    assert is_free(lock)
    with sessions() as session:
        assert session.scalar(text("SELECT n FROM counter")) == 1


def test_a_reading_session_waits_for_no_writer(database: tuple[Engine, Path]) -> None:
    """With another writer holding both the file lock and SQLite's write lock, a read sees
    the last committed state instead of queueing behind the writer."""
    engine, lock = database
    sessions = make_sessionmaker(engine)

    def read() -> int:
        with reading(sessions) as session:
            return int(session.scalar(text("SELECT n FROM counter")) or 0)

    other = sqlite3.connect(engine.url.database or "", isolation_level=None)
    with ThreadPoolExecutor(1) as pool:
        try:
            with held(lock):
                other.execute("BEGIN IMMEDIATE")
                other.execute("UPDATE counter SET n = 99")  # not committed
                # A deadlock guard, not a speed check: a read that queued would never return
                # (the finally clauses then free the writer, and the pool can shut down).
                assert pool.submit(read).result(timeout=60) == 0
        finally:
            other.execute("ROLLBACK")
            other.close()


def _increment(url: str, times: int) -> None:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    for _ in range(times):
        with sessions.begin() as session:  # read, then write: the lost-update pattern
            value = session.scalar(text("SELECT n FROM counter"))
            session.execute(text("UPDATE counter SET n = :n"), {"n": int(value or 0) + 1})
    engine.dispose()


def test_writers_of_several_processes_and_threads_queue_and_lose_nothing(
    database: tuple[Engine, Path],
) -> None:
    engine, _lock = database
    url = engine.url.render_as_string(hide_password=False)
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_increment, args=(url, INCREMENTS)) for _ in range(2)]
    for process in processes:
        process.start()
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(_increment, [url, url], [INCREMENTS, INCREMENTS]))
    for process in processes:
        process.join(120)
        assert process.exitcode == 0
    with reading(make_sessionmaker(engine)) as session:
        assert session.scalar(text("SELECT n FROM counter")) == 4 * INCREMENTS
