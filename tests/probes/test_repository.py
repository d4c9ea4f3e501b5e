"""Probe states, outages and rollups in the database (SQLite and PostgreSQL)."""

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot import jobs
from bot.config import ServerSpec
from bot.probes.engine import ProbeEngine
from bot.probes.rollup import Rollup
from bot.probes.state import (
    OutageClosed,
    OutageOpened,
    ProbeEvent,
    StreakState,
    Transition,
)
from bot.storage.database import transaction
from bot.storage.models import Outage, ProbeStatus, Silence
from bot.storage.probes import (
    add_outage,
    close_outage,
    delete_rollups_before,
    get_open_outage,
    get_probe_state,
    list_probe_states,
    list_rollups,
    save_probe_state,
    save_rollups,
    servers_down_and_silenced,
)
from tests.probes.support import T0, Clock, seed, server

WEB = server("acme-web-01", "127.0.0.1", {"type": "tcp", "port": 1})
KEY = "acme-web-01/tcp:1"


def test_probe_states_round_trip_and_upsert(sessions: sessionmaker[Session]) -> None:
    """A saved state reads back equal; saving again replaces it."""
    seed(sessions, [WEB])
    first = StreakState(KEY, ProbeStatus.UP, 0, 7, T0, T0 + timedelta(minutes=3), "old", T0)
    second = StreakState(KEY, ProbeStatus.UP, 1, 0, T0, T0, "refused", T0)
    with transaction(sessions) as session:
        save_probe_state(session, "acme-web-01", first)
    with transaction(sessions) as session:
        assert list_probe_states(session) == {KEY: first}
        save_probe_state(session, "acme-web-01", second)
    with transaction(sessions) as session:
        assert get_probe_state(session, KEY) == second
        assert get_probe_state(session, "nope/icmp") is None


def test_outages_open_once_and_close_at_the_first_success(sessions: sessionmaker[Session]) -> None:
    """add_outage is idempotent while open; close_outage ends it; nothing left open after."""
    seed(sessions, [WEB])
    with transaction(sessions) as session:
        opened = add_outage(
            session, "acme-web-01", started_at=T0, confirmed_at=T0 + timedelta(seconds=45)
        )
        again = add_outage(
            session, "acme-web-01", started_at=T0 + timedelta(hours=1), confirmed_at=T0
        )
        assert again.id == opened.id
    with transaction(sessions) as session:
        open_outage = get_open_outage(session, "acme-web-01")
        assert open_outage is not None
        assert open_outage.started_at == T0
        closed = close_outage(session, "acme-web-01", ended_at=T0 + timedelta(minutes=10))
        assert closed is not None
        assert closed.id == opened.id
    with transaction(sessions) as session:
        assert get_open_outage(session, "acme-web-01") is None
        assert close_outage(session, "acme-web-01", ended_at=T0) is None


def test_status_reads_the_servers_down_oldest_first_and_their_silences_in_force(
    sessions: sessionmaker[Session],
) -> None:
    """Of the servers asked about: the open outages, oldest first, with who acknowledged them;
    the silences started and not over, each server's that ends last."""
    asked = [server(f"acme-web-0{n}", f"127.0.0.{n}") for n in (1, 2)]
    other = server("acme-web-03", "127.0.0.3")
    seed(sessions, [*asked, other])
    web1, web2, web3 = "acme-web-01", "acme-web-02", "acme-web-03"
    now = T0 + timedelta(hours=1)

    def silence(server_id: str, starts: float, ends: float, reason: str) -> Silence:
        at = [T0 + timedelta(hours=hours) for hours in (starts, ends)]
        return Silence(
            server_id=server_id, starts_at=at[0], ends_at=at[1], reason=reason, created_by="U1"
        )

    with transaction(sessions) as session:
        session.add_all(
            [
                Outage(server_id=web1, started_at=T0, confirmed_at=T0, ended_at=T0),
                Outage(server_id=web1, started_at=T0 + timedelta(minutes=10), confirmed_at=T0),
                Outage(server_id=web2, started_at=T0, confirmed_at=T0, acknowledged_by="U01AAA"),
                Outage(server_id=web3, started_at=T0, confirmed_at=T0),
                silence(web1, 0, 2, "reboot"),
                silence(web1, 0.5, 3, "longer"),
                silence(web2, 0, 1, "over now"),
                silence(web2, 1.5, 4, "not yet"),
                silence(web2, 0, 1.5, "disk"),
                silence(web3, 0, 4, "not asked"),
            ]
        )
    with transaction(sessions) as session:
        down, silenced = servers_down_and_silenced(session, [web2, web1, web1], now)
        assert [(o.server_id, o.started_at, o.acknowledged_by) for o in down] == [
            (web2, T0, "U01AAA"),
            (web1, T0 + timedelta(minutes=10), None),
        ]
        assert [(s.server_id, s.ends_at, s.reason) for s in silenced] == [
            (web2, T0 + timedelta(hours=1.5), "disk"),
            (web1, T0 + timedelta(hours=3), "longer"),
        ]
        assert servers_down_and_silenced(session, [], now) == ([], [])


def test_rollups_of_the_same_hour_are_merged(sessions: sessionmaker[Session]) -> None:
    """A restart mid-hour writes the hour twice: counts add up, percentiles are weighted."""
    with transaction(sessions) as session:
        save_rollups(
            session, [Rollup(KEY, T0, 100, 3, 1.0, 2.0), Rollup("x/icmp", T0, 1, 1, None, None)]
        )
    with transaction(sessions) as session:
        save_rollups(
            session, [Rollup(KEY, T0, 300, 0, 2.0, 4.0), Rollup("x/icmp", T0, 1, 0, 5.0, 5.0)]
        )
    with transaction(sessions) as session:
        rows = {row.key: row for row in list_rollups(session, since=T0)}
    assert (rows[KEY].count, rows[KEY].failures) == (400, 3)
    assert (rows[KEY].p50_ms, rows[KEY].p95_ms) == (1.75, 3.5)
    assert (rows["x/icmp"].count, rows["x/icmp"].p50_ms) == (2, 5.0)
    assert rows[KEY].hour_start == T0
    with transaction(sessions) as session:
        assert delete_rollups_before(session, T0 + timedelta(hours=1)) == 2
        assert list_rollups(session) == []


def test_the_probe_history_job_deletes_the_hours_older_than_kept_a_batch_at_a_time(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`SUPPORTBOT_PROBE_HISTORY_DAYS`: the first run after it is set may have years to delete;
    it goes oldest first, a few rows a transaction (3 here), until none is older than kept."""
    monkeypatch.setattr(jobs, "ROLLUPS_PER_TRANSACTION", 3)
    hours = [T0 - timedelta(days=100, hours=n) for n in range(7)] + [T0 - timedelta(days=10)]
    with transaction(sessions) as session:
        save_rollups(session, [Rollup(KEY, hour, 1, 0, 1.0, 1.0) for hour in hours])
        assert delete_rollups_before(session, T0, limit=2) == 2  # the two oldest
        assert min(row.hour_start for row in list_rollups(session)) == hours[4]
    kept = timedelta(days=62)
    assert jobs.prune_rollups(sessions, lambda: T0, keep=kept) == 5
    with transaction(sessions) as session:
        assert [row.hour_start for row in list_rollups(session)] == [hours[-1]]
    assert jobs.prune_rollups(sessions, lambda: T0, keep=kept) == 0


async def tcp_server_probed(
    sessions: sessionmaker[Session],
) -> tuple[asyncio.Server, ServerSpec, str]:
    """A local TCP listener, a catalog server with a tcp probe on it (stored), the probe's key."""
    listener = await asyncio.start_server(lambda _r, w: w.close(), "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    web = server("acme-web-01", "127.0.0.1", {"type": "tcp", "port": port})
    seed(sessions, [web])
    return listener, web, f"acme-web-01/tcp:{port}"


def test_a_restart_continues_the_failure_streak(sessions: sessionmaker[Session]) -> None:
    """UP, two failures, restart, one failure: DOWN and an outage dated from the first failure."""
    clock = Clock()
    events: list[ProbeEvent] = []

    async def record(event: ProbeEvent) -> None:
        events.append(event)

    async def scenario() -> None:
        listener, web, key = await tcp_server_probed(sessions)
        async with ProbeEngine([web], sessions, clock) as engine:
            for _ in range(2):
                assert (await engine.check_once(key)).ok
                clock.advance(5)
            assert engine.state(key).status is ProbeStatus.UP
            listener.close()
            await listener.wait_closed()
            clock.advance(25)
            first_failure = clock()
            for _ in range(2):
                assert not (await engine.check_once(key)).ok
                clock.advance(5)
        async with ProbeEngine([web], sessions, clock, on_event=record) as engine:
            assert engine.state(key).failures == 2
            assert engine.state(key).status is ProbeStatus.UP
            await engine.check_once(key)
            assert engine.state(key).status is ProbeStatus.DOWN
        transition, opened = events
        assert isinstance(transition, Transition)
        assert (transition.new_status, transition.streak_started_at) == (
            ProbeStatus.DOWN,
            first_failure,
        )
        assert isinstance(opened, OutageOpened)
        assert (opened.started_at, opened.confirmed_at) == (first_failure, clock())
        with transaction(sessions) as session:
            outage = get_open_outage(session, "acme-web-01")
            assert outage is not None
            assert (outage.id, outage.started_at) == (opened.outage_id, first_failure)

    asyncio.run(scenario())


def test_a_streak_does_not_continue_across_a_week_the_bot_was_down(
    sessions: sessionmaker[Session],
) -> None:
    """UP, two failures, a week down, one failure: not DOWN dated a week back. Then DOWN, one
    success, a week down, one success: not UP, nor the outage ended a week back (GTR's instant);
    nobody watched the server in between, so the streaks start again."""
    clock = Clock()
    events: list[ProbeEvent] = []

    async def record(event: ProbeEvent) -> None:
        events.append(event)

    async def scenario() -> None:
        listener, web, key = await tcp_server_probed(sessions)
        port = listener.sockets[0].getsockname()[1]
        async with ProbeEngine([web], sessions, clock) as engine:
            for _ in range(2):
                assert (await engine.check_once(key)).ok
                clock.advance(5)
            listener.close()
            await listener.wait_closed()
            for _ in range(2):
                assert not (await engine.check_once(key)).ok
                clock.advance(5)
        clock.advance(7 * 24 * 3600)
        async with ProbeEngine([web], sessions, clock, on_event=record) as engine:
            assert not (await engine.check_once(key)).ok
            assert engine.state(key).status is ProbeStatus.UP
            assert (engine.state(key).failures, engine.state(key).streak_started_at) == (
                1,
                clock(),
            )
            clock.advance(5)
            for _ in range(2):
                await engine.check_once(key)
                clock.advance(5)
            assert engine.state(key).status is ProbeStatus.DOWN
            listener = await asyncio.start_server(lambda _r, w: w.close(), "127.0.0.1", port)
            assert (await engine.check_once(key)).ok
        clock.advance(7 * 24 * 3600)
        async with ProbeEngine([web], sessions, clock, on_event=record) as engine:
            back = clock()
            assert (await engine.check_once(key)).ok
            assert engine.state(key).status is ProbeStatus.DOWN
            clock.advance(5)
            assert (await engine.check_once(key)).ok
            assert engine.state(key).status is ProbeStatus.UP
        listener.close()
        await listener.wait_closed()
        closed = [event for event in events if isinstance(event, OutageClosed)]
        assert [event.ended_at for event in closed] == [back]

    asyncio.run(scenario())


def test_a_settled_streak_is_counted_in_memory_and_saved_at_shutdown(
    sessions: sessionmaker[Session],
) -> None:
    """Successes after UP are not written per check; state() counts them, close() saves them."""

    async def scenario() -> None:
        listener, web, key = await tcp_server_probed(sessions)
        clock = Clock()
        async with ProbeEngine([web], sessions, clock) as engine:
            for _ in range(5):
                await engine.sweep()
                clock.advance(30)
            with transaction(sessions) as session:
                saved = get_probe_state(session, key)
            assert saved is not None
            assert (saved.status, saved.successes) == (ProbeStatus.UP, 2)  # the transition
            assert engine.state(key).successes == 5
            assert engine.state(key).last_checked_at == T0 + timedelta(seconds=120)
        listener.close()
        await listener.wait_closed()
        with transaction(sessions) as session:
            closed = get_probe_state(session, key)
        assert closed is not None
        assert (closed.successes, closed.streak_started_at) == (5, T0)
        assert closed.last_checked_at == T0 + timedelta(seconds=120)

    asyncio.run(scenario())
