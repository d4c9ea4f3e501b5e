"""The engine's own loop: schedules, transitions, outage rows, events and rollups together."""

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot.probes.engine import ProbeEngine
from bot.probes.state import OutageClosed, OutageOpened, ProbeEvent, Transition
from bot.storage.database import transaction
from bot.storage.models import Outage, ProbeStatus
from bot.storage.probes import list_rollups
from tests.probes.support import T0, Clock, seed, server


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


def test_an_outage_ends_when_its_last_failing_probe_succeeds_not_at_an_earlier_start(
    sessions: sessionmaker[Session],
) -> None:
    """Two ports of one server, both down. The one that needs two successes answers first,
    the other one (one success) answers later and is UP at once, then the first confirms UP:
    the server was not back before the second answered, so the outage ends (and a GTR stops)
    there, not at the first one's streak start, while the other port still failed."""
    clock = Clock()

    async def listen(port: int = 0) -> asyncio.Server:
        return await asyncio.start_server(lambda _r, w: w.close(), "127.0.0.1", port)

    async def scenario() -> list[ProbeEvent]:
        fast, slow = await listen(), await listen()
        ports = [fast.sockets[0].getsockname()[1], slow.sockets[0].getsockname()[1]]
        tcp = {"type": "tcp", "interval": "1s", "retry_interval": "1s", "failures": 1}
        web = server(
            "acme-web-01",
            "127.0.0.1",
            {**tcp, "port": ports[0], "successes": 1},
            {**tcp, "port": ports[1], "successes": 2},
        )
        seed(sessions, [web])
        events: list[ProbeEvent] = []

        async def record(event: ProbeEvent) -> None:
            events.append(event)

        engine = ProbeEngine([web], sessions, clock, on_event=record)
        fast_key, slow_key = engine.keys
        await engine.sweep()
        clock.advance(1)
        await engine.sweep()  # both UP
        for listener in (fast, slow):
            listener.close()
            await listener.wait_closed()
        clock.advance(10)
        await engine.sweep()  # both DOWN: the outage opens
        slow = await listen(ports[1])
        clock.advance(10)
        await engine.sweep([slow_key])  # its first success; the fast port still refuses
        clock.advance(5)
        await engine.sweep([fast_key])  # still refused
        fast = await listen(ports[0])
        clock.advance(5)
        await engine.sweep([fast_key])  # UP at once: the server is back from here
        clock.advance(5)
        await engine.sweep([slow_key])  # UP: no probe of the server is DOWN any more
        await engine.close()
        for listener in (fast, slow):
            listener.close()
            await listener.wait_closed()
        return events

    events = asyncio.run(scenario())
    closed = [event for event in events if isinstance(event, OutageClosed)]
    assert [event.ended_at for event in closed] == [T0 + timedelta(seconds=31)]
    with transaction(sessions) as session:
        assert [o.ended_at for o in session.scalars(select(Outage))] == [T0 + timedelta(seconds=31)]


def test_an_outage_ends_when_a_port_came_back_though_it_failed_once_since(
    sessions: sessionmaker[Session],
) -> None:
    """Two ports of one server, both down. The slow one (two successes) answers first, at 22;
    the fast one (one success, two failures for DOWN) answers at 32, is UP at once, then fails
    once at 35 (not enough to be DOWN again); the slow one confirms UP at 37. The server was
    not back before 32, when the fast port answered: the outage ends there, not at 22 because
    the fast port's latest result was a failure."""
    clock = Clock()

    async def listen(port: int = 0) -> asyncio.Server:
        return await asyncio.start_server(lambda _r, w: w.close(), "127.0.0.1", port)

    async def stop(listener: asyncio.Server) -> None:
        listener.close()
        await listener.wait_closed()

    async def scenario() -> list[ProbeEvent]:
        fast, slow = await listen(), await listen()
        ports = [fast.sockets[0].getsockname()[1], slow.sockets[0].getsockname()[1]]
        tcp = {"type": "tcp", "interval": "1s", "retry_interval": "1s"}
        web = server(
            "acme-web-01",
            "127.0.0.1",
            {**tcp, "port": ports[0], "successes": 1, "failures": 2},
            {**tcp, "port": ports[1], "successes": 2, "failures": 1},
        )
        seed(sessions, [web])
        events: list[ProbeEvent] = []

        async def record(event: ProbeEvent) -> None:
            events.append(event)

        engine = ProbeEngine([web], sessions, clock, on_event=record)
        fast_key, slow_key = engine.keys
        await engine.sweep()
        clock.advance(1)
        await engine.sweep()  # both UP
        await stop(fast)
        await stop(slow)
        clock.advance(10)
        await engine.sweep()  # 11: the slow port DOWN, the outage opens
        clock.advance(1)
        await engine.sweep([fast_key])  # 12: the fast port DOWN too
        slow = await listen(ports[1])
        clock.advance(10)
        await engine.sweep([slow_key])  # 22: its first success; the fast port still refuses
        clock.advance(5)
        await engine.sweep([fast_key])  # 27: still refused
        fast = await listen(ports[0])
        clock.advance(5)
        await engine.sweep([fast_key])  # 32: UP at once: the server is back from here
        await stop(fast)
        clock.advance(3)
        await engine.sweep([fast_key])  # 35: refused once, still UP
        clock.advance(2)
        await engine.sweep([slow_key])  # 37: UP: no probe of the server is DOWN any more
        await engine.close()
        await stop(slow)
        return events

    events = asyncio.run(scenario())
    closed = [event for event in events if isinstance(event, OutageClosed)]
    assert [event.ended_at for event in closed] == [T0 + timedelta(seconds=32)]
    with transaction(sessions) as session:
        assert [o.ended_at for o in session.scalars(select(Outage))] == [T0 + timedelta(seconds=32)]
