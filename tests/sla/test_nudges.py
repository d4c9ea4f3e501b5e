"""Client-update nudges: every hour of wall-clock time after the claim, updates, waits, snoozes."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.sla import (
    Calendar,
    NudgePlan,
    Pause,
    Snooze,
    current_nudges,
    due_nudge,
    plan_nudges,
)
from tests.sla.calendars import ALWAYS, BUSINESS, DAILY_09_19, paris

EVERY = timedelta(hours=1)
REF = "INT-42"


def utc(hour: int, minute: int = 0, day: int = 27) -> datetime:
    """An instant on 2026-11-<day> in UTC."""
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def test_nudges_come_every_period_after_the_claim() -> None:
    """Claimed 10:00, nothing posted: nudges at 11:00 and 12:00, the next at 13:00."""
    plan = plan_nudges(REF, utc(10), EVERY, utc(12, 30))
    assert [n.due_at for n in plan.due] == [utc(11), utc(12)]
    assert [n.key for n in plan.due] == [
        "INT-42/nudge/2026-11-27T11:00:00Z",
        "INT-42/nudge/2026-11-27T12:00:00Z",
    ]
    assert plan.next_at == utc(13)
    assert plan.missed == 2


def test_an_update_restarts_the_period_and_the_miss_count() -> None:
    """Update at 11:30: the next nudge is at 12:30 and counts as the first miss."""
    plan = plan_nudges(REF, utc(10), EVERY, utc(12, 45), updates=[utc(11, 30)])
    assert [(n.due_at, n.missed) for n in plan.due] == [(utc(11), 1), (utc(12, 30), 1)]
    assert plan.missed == 1
    assert plan.next_at == utc(13, 30)


def test_an_update_at_the_due_instant_prevents_the_nudge() -> None:
    """Posting right on time is not a miss."""
    plan = plan_nudges(REF, utc(10), EVERY, utc(11, 30), updates=[utc(11)])
    assert plan.due == ()
    assert plan.next_at == utc(12)
    assert plan.missed == 0


def test_waiting_on_the_client_pauses_nudges_and_restarts_the_period() -> None:
    """Waiting 10:30-13:00: no nudge meanwhile, the next one an hour after the resume."""
    plan = plan_nudges(REF, utc(10), EVERY, utc(14, 30), waits=[Pause(utc(10, 30), utc(13))])
    assert [n.due_at for n in plan.due] == [utc(14)]
    assert plan.next_at == utc(15)


def test_an_open_wait_stops_nudges_until_it_ends() -> None:
    """While the wait lasts there is no next nudge at all."""
    plan = plan_nudges(REF, utc(10), EVERY, utc(18), waits=[Pause(utc(10, 30))])
    assert plan.due == ()
    assert plan.next_at is None


def test_a_snooze_delays_the_next_nudge() -> None:
    """Snoozed at 10:30 until 12:15: the 11:00 nudge moves to 12:15, then hourly."""
    plan = plan_nudges(REF, utc(10), EVERY, utc(13), snoozes=[Snooze(utc(10, 30), utc(12, 15))])
    assert [n.due_at for n in plan.due] == [utc(12, 15)]
    assert plan.next_at == utc(13, 15)


def test_a_later_snooze_does_not_rewrite_nudges_already_due() -> None:
    """Keys of past nudges stay the same when a snooze is added afterwards."""
    before = plan_nudges(REF, utc(10), EVERY, utc(12, 10))
    after = plan_nudges(REF, utc(10), EVERY, utc(15), snoozes=[Snooze(utc(12, 10), utc(14))])
    assert [n.key for n in after.due][:2] == [n.key for n in before.due]
    assert [n.due_at for n in after.due] == [utc(11), utc(12), utc(14), utc(15)]


def test_keys_are_stable_across_recomputation() -> None:
    """Planning again later gives the same keys to the same nudges."""
    early = plan_nudges(REF, utc(10), EVERY, utc(11, 1), updates=[utc(11, 30)])
    late = plan_nudges(REF, utc(10), EVERY, utc(16), updates=[utc(11, 30)])
    assert late.due[0] == early.due[0]


def test_no_nudge_after_the_ticket_is_closed() -> None:
    """Resolved at 11:30: the 11:00 nudge happened, nothing follows."""
    plan = plan_nudges(REF, utc(10), EVERY, utc(16), closed_at=utc(11, 30))
    assert [n.due_at for n in plan.due] == [utc(11)]
    assert plan.next_at is None


def test_nudges_run_on_wall_clock_time_not_business_hours() -> None:
    """Claimed Friday 18:30 Paris: the nudge is due 19:30 although business hours are over."""
    plan = plan_nudges(REF, paris(2026, 11, 27, 18, 30), EVERY, paris(2026, 11, 27, 19, 45))
    assert [n.due_at for n in plan.due] == [paris(2026, 11, 27, 19, 30)]


def test_only_the_latest_due_nudge_is_sent_and_only_once() -> None:
    """After downtime the stale 11:00 nudge is skipped; once 12:00 is sent, nothing is due."""
    nudge = due_nudge(REF, utc(10), EVERY, utc(12, 30), sent=set())
    assert nudge is not None
    assert nudge.due_at == utc(12)
    assert nudge.missed == 2
    assert due_nudge(REF, utc(10), EVERY, utc(12, 30), sent={nudge.key}) is None
    assert due_nudge(REF, utc(10), EVERY, utc(10, 30), sent=set()) is None


def test_update_every_must_be_positive() -> None:
    """A zero period would nudge forever."""
    with pytest.raises(ValueError, match="longer than zero"):
        plan_nudges(REF, utc(10), timedelta(0), utc(12))


def test_update_every_must_be_positive_for_the_latest_nudge_too() -> None:
    """Even for a ticket whose last update came after it closed, which owes no nudge."""
    with pytest.raises(ValueError, match="longer than zero"):
        current_nudges(
            REF, utc(10), timedelta(0), utc(12), updates=[utc(11)], closed_at=utc(11), latest=True
        )


@pytest.mark.parametrize(
    ("calendar", "latest", "missed"),
    [
        (None, utc(10), 365 * 24),
        # 09:00-19:00 weekdays, 09:00-18:00 weekends, FR holidays: 3,438 hours of open time,
        # the last ended at 11:00 Paris on Friday 27 November 2026.
        (BUSINESS, utc(10), 3438),
    ],
    ids=["24/7", "business"],
)
def test_a_ticket_claimed_a_year_ago_and_never_updated_gets_the_right_latest_nudge(
    calendar: Calendar | None, latest: datetime, missed: int
) -> None:
    """Claimed 2025-11-27 10:00 UTC, swept at 2026-11-27 10:30: the latest nudge is the one
    the full plan ends with, with as many missed, and the same next one."""
    claimed, now = utc(10, day=27) - timedelta(days=365), utc(10, 30)
    plan = current_nudges(REF, claimed, EVERY, now, calendar=calendar, latest=True)
    full = plan_nudges(REF, claimed, EVERY, now, calendar=calendar)
    assert plan.due == full.due[-1:]
    assert (plan.due[0].due_at, plan.due[0].missed, plan.missed) == (latest, missed, missed)
    assert plan.next_at == full.next_at


def since_last_update(
    plan: NudgePlan, claimed: datetime, updates: list[datetime], now: datetime
) -> NudgePlan:
    """What `current_nudges` must answer, from the full plan: its nudges after the last update."""
    last = max((u for u in updates if u <= now), default=claimed)
    return NudgePlan(tuple(n for n in plan.due if n.due_at > last), plan.next_at, plan.missed)


minutes = st.integers(-3 * 24 * 60, 40 * 24 * 60).map(lambda m: utc(10) + timedelta(minutes=m))


@settings(max_examples=300, deadline=None)
@given(
    calendar=st.sampled_from([None, ALWAYS, BUSINESS, DAILY_09_19]),
    every=st.integers(10, 6 * 60).map(lambda m: timedelta(minutes=m)),
    updates=st.lists(minutes, max_size=4),
    bounds=st.lists(minutes, max_size=4, unique=True),
    open_wait=st.booleans(),
    snoozes=st.lists(st.tuples(minutes, st.integers(1, 3 * 24 * 60)), max_size=2),
    closed_at=st.none() | minutes,
    now=minutes,
)
@example(  # closed right as a period ends: that nudge is not due, stepped over or not
    calendar=None, every=EVERY, updates=[], bounds=[], open_wait=False, snoozes=[],
    closed_at=utc(15), now=utc(20),
)  # fmt: skip
def test_the_current_and_latest_nudges_are_those_of_the_full_plan(
    calendar: Calendar | None,
    every: timedelta,
    updates: list[datetime],
    bounds: list[datetime],
    open_wait: bool,
    snoozes: list[tuple[datetime, int]],
    closed_at: datetime | None,
    now: datetime,
) -> None:
    """Walking from the last update and stepping over whole runs of periods changes nothing:
    the nudges due since the last update, the next one and the miss count are the full
    plan's, whatever the updates, waits (one maybe still open), snoozes and close."""
    claimed = utc(10)
    ends = sorted(bounds)
    waits = [Pause(ends[i], ends[i + 1]) for i in range(0, len(ends) - 1, 2)]
    if open_wait and len(ends) % 2:
        waits.append(Pause(ends[-1]))
    if closed_at is not None and (closed_at < claimed or (waits and waits[-1].ended_at is None)):
        closed_at = None  # a ticket closes after its claim, ending any wait (pauses are closed)
    facts = {
        "updates": updates,
        "waits": waits,
        "snoozes": [Snooze(at, at + timedelta(minutes=m)) for at, m in snoozes],
        "closed_at": closed_at,
        "calendar": calendar,
    }
    full = plan_nudges(REF, claimed, every, now, **facts)
    expected = since_last_update(full, claimed, updates, now)
    assert current_nudges(REF, claimed, every, now, **facts) == expected
    latest = current_nudges(REF, claimed, every, now, **facts, latest=True)
    assert latest == NudgePlan(expected.due[-1:], expected.next_at, expected.missed)
