"""The engine's own loop: schedules, transitions, outage rows, events and rollups together."""

import asyncio
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot.probes.engine import ProbeEngine
from bot.probes.state import OutageClosed, OutageOpened, ProbeEvent, Transition
from bot.storage.database import transaction
from bot.storage.models import Outage, ProbeStatus
from bot.storage.probes import list_rollups
from tests.probes.support import seed, server


def wall_clock() -> datetime:
    return datetime.now(UTC)


def test_run_opens_and_closes_an_outage_as_a_port_stops_and_comes_back(
    sessions: sessionmaker[Session],
) -> None:
    """UP, DOWN (outage opened), UP (outage closed); events in order; rollups on shutdown."""
    events: list[ProbeEvent] = []
    changed = asyncio.Condition()

    async def record(event: ProbeEvent) -> None:
        async with changed:
            events.append(event)
            changed.notify_all()

    async def wait_for(count: int) -> None:
        async with changed:
            await asyncio.wait_for(changed.wait_for(lambda: len(events) >= count), 10)

    async def scenario() -> None:
        listener = await asyncio.start_server(lambda _r, w: w.close(), "127.0.0.1", 0)
        port = listener.sockets[0].getsockname()[1]
        spec = {"type": "tcp", "port": port, "interval": "1s", "retry_interval": "1s"}
        web = server("acme-web-01", "127.0.0.1", {**spec, "failures": 2, "successes": 1})
        seed(sessions, [web])
        engine = ProbeEngine([web], sessions, wall_clock, on_event=record)
        stop = asyncio.Event()
        running = asyncio.create_task(engine.run(stop))
        await wait_for(1)
        listener.close()
        await listener.wait_closed()
        await wait_for(3)
        listener = await asyncio.start_server(lambda _r, w: w.close(), "127.0.0.1", port)
        await wait_for(5)
        stop.set()
        await asyncio.wait_for(running, 10)
        listener.close()
        await listener.wait_closed()

    asyncio.run(scenario())
    up, down, opened, up_again, closed = events
    assert isinstance(up, Transition)
    assert isinstance(down, Transition)
    assert isinstance(up_again, Transition)
    assert [up.new_status, down.new_status, up_again.new_status] == [
        ProbeStatus.UP,
        ProbeStatus.DOWN,
        ProbeStatus.UP,
    ]
    assert isinstance(opened, OutageOpened)
    assert isinstance(closed, OutageClosed)
    assert opened.started_at == down.streak_started_at
    assert closed.ended_at == up_again.streak_started_at
    assert opened.outage_id == closed.outage_id
    with transaction(sessions) as session:
        outage = session.get(Outage, opened.outage_id)
        assert outage is not None
        assert (outage.started_at, outage.ended_at) == (opened.started_at, closed.ended_at)
        rollups = list_rollups(session)  # one row, or two if the test straddled an hour
    assert sum(row.count for row in rollups) >= 4
    assert sum(row.failures for row in rollups) >= 2
    assert all(row.p50_ms is not None for row in rollups)


def _database_away(*_args: object) -> list[ProbeEvent]:
    raise OperationalError("INSERT", {}, ConnectionError("the database is restarting"))


def _recording_engine(
    sessions: sessionmaker[Session], port: int
) -> tuple[ProbeEngine, list[ProbeEvent]]:
    """An engine probing one TCP port of acme-web-01 (one result decides), and its events."""
    spec = {"type": "tcp", "port": port, "interval": "1s", "retry_interval": "1s"}
    web = server("acme-web-01", "127.0.0.1", {**spec, "failures": 1, "successes": 1})
    seed(sessions, [web])
    events: list[ProbeEvent] = []

    async def record(event: ProbeEvent) -> None:
        events.append(event)

    return ProbeEngine([web], sessions, wall_clock, on_event=record), events


def test_a_new_term_does_not_replay_an_outage_the_database_never_recorded(
    sessions: sessionmaker[Session],
) -> None:
    """A leader confirms a server down while the database is away: the outage cannot be
    written, and the leader steps down (the engine closes) with it unwritten. When it leads
    again, the engine reloads the probes' states from the database; the server answers again
    by then. The old, unwritten outage is not opened now: it would be announced while the
    server is up, and stay open, since no probe of it would ever go DOWN then UP again."""

    async def scenario() -> list[ProbeEvent]:
        listener = await asyncio.start_server(lambda _r, w: w.close(), "127.0.0.1", 0)
        port = listener.sockets[0].getsockname()[1]
        engine, events = _recording_engine(sessions, port)
        await engine.sweep()  # UP, written
        listener.close()
        await listener.wait_closed()
        engine._write = _database_away  # type: ignore[method-assign]
        await engine.sweep()  # DOWN: an outage, not written
        await engine.close()  # stepping down: still not written
        del engine._write  # the database is back
        listener = await asyncio.start_server(lambda _r, w: w.close(), "127.0.0.1", port)
        await engine.sweep()  # leading again: the server answers
        await engine.close()
        listener.close()
        await listener.wait_closed()
        return events

    events = asyncio.run(scenario())
    assert not [event for event in events if isinstance(event, OutageOpened)]
    with transaction(sessions) as session:
        assert session.scalars(select(Outage)).all() == []


def test_an_outage_the_database_never_recorded_is_confirmed_again_by_the_next_term(
    sessions: sessionmaker[Session],
) -> None:
    """A server found down by its very first check, the database away: when its leader leads
    again and the server is still down, the outage is confirmed and opened then."""

    async def scenario() -> list[ProbeEvent]:
        listener = await asyncio.start_server(lambda _r, w: w.close(), "127.0.0.1", 0)
        port = listener.sockets[0].getsockname()[1]
        listener.close()
        await listener.wait_closed()
        engine, events = _recording_engine(sessions, port)
        engine._write = _database_away  # type: ignore[method-assign]
        await engine.sweep()  # DOWN: an outage, not written
        await engine.close()
        del engine._write
        await engine.sweep()  # leading again: still down
        await engine.close()
        return events

    events = asyncio.run(scenario())
    assert [type(event) for event in events] == [Transition, OutageOpened]
    with transaction(sessions) as session:
        assert [outage.ended_at for outage in session.scalars(select(Outage))] == [None]
