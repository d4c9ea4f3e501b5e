"""Work given up at its deadline commits nothing, then or later; a commit begun is waited for."""

import asyncio
import logging
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.handlers.budget import answer_within
from bot.storage.commit_gate import WorkAbandonedError
from bot.storage.models import AuditEvent
from bot.storage.threads import in_database_thread

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def audit_count(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def record(sessions: sessionmaker[Session], before_commit: threading.Event | None = None) -> str:
    """Write an audit row; wait for `before_commit` (if given) before committing it."""
    with sessions.begin() as session:
        session.add(AuditEvent(actor_id="U01AAA", action="test", at=NOW, command="/test"))
        session.flush()
        if before_commit is not None:
            assert before_commit.wait(10)
    return "recorded"


def test_work_done_in_time_returns_its_result(sessions: sessionmaker[Session]) -> None:
    async def compute() -> str:
        return await in_database_thread(record, sessions)

    assert asyncio.run(answer_within(compute, seconds=10)) == "recorded"
    assert audit_count(sessions) == 1


def test_work_past_its_budget_is_given_up_and_never_commits(
    sessions: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    """The answer says nothing was done; the work, let go afterwards, does not commit."""
    let_go = threading.Event()
    finished = threading.Event()

    def stuck() -> str:
        try:
            return record(sessions, before_commit=let_go)
        finally:
            finished.set()

    async def compute() -> str:
        return await in_database_thread(stuck)

    async def scenario() -> None:
        with pytest.raises(WorkAbandonedError):
            await answer_within(compute, seconds=0.1)
        let_go.set()
        await asyncio.to_thread(finished.wait, 10)
        await asyncio.sleep(0)  # the done callback that logs the end

    with caplog.at_level(logging.WARNING, logger="bot.handlers.budget"):
        asyncio.run(scenario())
    assert audit_count(sessions) == 0
    assert "gave up after 0.1 s: nothing will be committed" in caplog.text
    assert "work given up ended after" in caplog.text
    assert "without committing" in caplog.text


def test_a_commit_begun_before_the_deadline_is_waited_for(
    sessions: sessionmaker[Session],
) -> None:
    """Once committing, the work cannot be given up: its answer is the true one, late or not."""
    committed = threading.Event()
    let_go = threading.Event()

    def commit_then_linger() -> str:
        outcome = record(sessions)
        committed.set()
        assert let_go.wait(10)
        return outcome

    async def compute() -> str:
        return await in_database_thread(commit_then_linger)

    budget = 1.0  # the commit must begin within it, on a loaded machine too

    async def scenario() -> str:
        deadline = asyncio.get_running_loop().time() + budget
        answer = asyncio.create_task(answer_within(compute, seconds=budget))
        await asyncio.to_thread(committed.wait, 10)
        # Past the budget, still lingering after the commit.
        await asyncio.sleep(deadline - asyncio.get_running_loop().time() + 0.2)
        let_go.set()
        return await answer

    assert asyncio.run(scenario()) == "recorded"
    assert audit_count(sessions) == 1


def test_an_answer_cancelled_gives_its_work_up(sessions: sessionmaker[Session]) -> None:
    """The bot stopping cancels the answer: the work, let go afterwards, does not commit."""
    started, let_go, finished = threading.Event(), threading.Event(), threading.Event()

    def stuck() -> str:
        started.set()
        try:
            return record(sessions, before_commit=let_go)
        finally:
            finished.set()

    async def compute() -> str:
        return await in_database_thread(stuck)

    async def scenario() -> None:
        answer = asyncio.create_task(answer_within(compute, seconds=10))
        await asyncio.to_thread(started.wait, 10)
        answer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await answer
        let_go.set()
        await asyncio.to_thread(finished.wait, 10)

    asyncio.run(scenario())
    assert audit_count(sessions) == 0
