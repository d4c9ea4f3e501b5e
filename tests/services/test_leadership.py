"""The leadership campaign has a thread of its own: database threads all busy with commands
cannot make the leader miss its renewal, and so lose the lease under load."""

import asyncio
import threading
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.services.leader import Leadership
from bot.storage import threads
from bot.storage.database import reading
from bot.storage.leases import get_lease


async def nothing() -> None:
    return None


def test_a_campaign_does_not_wait_for_busy_database_threads(
    sessions: sessionmaker[Session],
) -> None:
    async def scenario() -> None:
        release = threading.Event()
        busy = asyncio.create_task(threads.in_database_thread(release.wait))
        await asyncio.sleep(0)  # submitted: it holds the only database thread
        leadership = Leadership(
            sessions, "bot-a", clock=lambda: datetime.now(UTC), lead=nothing, follow=nothing
        )
        try:
            assert await leadership.step()  # within renew_every (5 s), or it counts as lost
            assert leadership.is_leader
            await leadership.step_down()
        finally:
            release.set()
            await busy
            leadership.close()

    threads.configure(1)
    try:
        asyncio.run(scenario())
    finally:
        threads.configure(threads.UNCONFIGURED_THREADS)
    with reading(sessions) as session:
        assert get_lease(session, "scheduler") is None  # stepped down: released


def test_stepping_down_releases_a_lease_taken_by_a_campaign_that_timed_out(
    sessions: sessionmaker[Session],
) -> None:
    """The first campaign may commit after its round gave up on it: the instance does not
    know it leads, yet holds the lease. Stopping still releases it."""

    async def scenario() -> None:
        leadership = Leadership(
            sessions, "bot-a", clock=lambda: datetime.now(UTC), lead=nothing, follow=nothing
        )
        try:
            assert await asyncio.get_running_loop().run_in_executor(None, leadership.campaign)
            assert not leadership.is_leader  # as after a timed-out first round
            await leadership.step_down()
        finally:
            leadership.close()

    asyncio.run(scenario())
    with reading(sessions) as session:
        assert get_lease(session, "scheduler") is None


def test_two_live_processes_of_one_instance_id_do_not_both_lead(
    sessions: sessionmaker[Session],
) -> None:
    """A process restarted under its instance id takes its lease back at once, even while its
    earlier self still runs (an orphan worker, a copy started by mistake): that one steps down
    at its next renewal, never takes the lease back, and its stop leaves the lease alone."""

    async def scenario() -> None:
        def process() -> Leadership:
            return Leadership(
                sessions, "bot-a", clock=lambda: datetime.now(UTC), lead=nothing, follow=nothing
            )

        earlier, later = process(), process()
        try:
            assert await earlier.step()
            assert await later.step()  # at once: no waiting for the lease to expire
            assert not await earlier.step()
            assert not earlier.is_leader
            assert await later.step()
            assert not await earlier.step()
            await earlier.step_down()
            assert await later.step()
            assert later.current_leader() == "bot-a"
            await later.step_down()
        finally:
            earlier.close()
            later.close()

    asyncio.run(scenario())
    with reading(sessions) as session:
        assert get_lease(session, "scheduler") is None
