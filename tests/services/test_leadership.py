"""The leadership campaign has a thread of its own: database threads all busy with commands
cannot make the leader miss its renewal, and so lose the lease under load."""

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.services.leader import Leadership
from bot.storage.database import reading
from bot.storage.leases import get_lease


async def nothing() -> None:
    return None


def test_a_campaign_does_not_wait_for_busy_database_threads(
    sessions: sessionmaker[Session],
) -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        loop.set_default_executor(ThreadPoolExecutor(1))
        release = threading.Event()
        busy = loop.run_in_executor(None, release.wait)  # holds the only database thread
        leadership = Leadership(
            sessions,
            "bot-a",
            clock=lambda: datetime.now(UTC),
            lead=nothing,
            follow=nothing,
        )
        try:
            assert await leadership.step()  # within renew_every (5 s), or it counts as lost
            assert leadership.is_leader
            await leadership.step_down()
        finally:
            release.set()
            await busy

    asyncio.run(scenario())
    with reading(sessions) as session:
        assert get_lease(session, "scheduler") is None  # stepped down: released
