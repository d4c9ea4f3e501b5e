"""Breach warnings: planned instants, stable keys, what is due now, superseding by the breach."""

from datetime import timedelta

from bot.config import Policy
from bot.sla import Clock, ClockKind, due_warning, due_warnings, plan_warnings
from tests.sla.calendars import BUSINESS, paris

H = timedelta(hours=1)
POLICY = Policy()
REF = "INT-42"


def gtr() -> Clock:
    """4 h on business hours registered Friday 18:00: due Saturday noon."""
    return Clock(paris(2026, 11, 27, 18), 4 * H, BUSINESS)


def test_warnings_fall_at_fractions_of_open_time_and_15_minutes_before() -> None:
    """50/75/90 % of 4 h and 15 min left, then the breach, each with a stable key."""
    planned = plan_warnings(REF, ClockKind.GTR, gtr(), POLICY, paris(2026, 11, 27, 18))
    assert [(w.key, w.due_at, w.threshold) for w in planned] == [
        ("INT-42/gtr/50", paris(2026, 11, 28, 10), "50"),
        ("INT-42/gtr/75", paris(2026, 11, 28, 11), "75"),
        ("INT-42/gtr/90", paris(2026, 11, 28, 11, 36), "90"),
        ("INT-42/gtr/before", paris(2026, 11, 28, 11, 45), "before"),
        ("INT-42/gtr/breach", paris(2026, 11, 28, 12), "breach"),
    ]
    assert [w.fraction for w in planned] == [0.5, 0.75, 0.9, 0.9375, 1.0]


def test_the_before_warning_counts_open_time_and_fires_before_closing() -> None:
    """A deadline at 09:10 warns at 18:55 the evening before: 15 min of open time left."""
    clock = Clock(paris(2026, 11, 30, 15, 10), 4 * H, BUSINESS)
    planned = {
        w.threshold: w.due_at
        for w in plan_warnings(REF, ClockKind.GTI, clock, POLICY, paris(2026, 11, 30, 16))
    }
    assert planned["breach"] == paris(2026, 12, 1, 9, 10)
    assert planned["before"] == paris(2026, 11, 30, 18, 55)


def test_the_before_warning_ahead_of_a_closing_deadline_is_15_minutes_before() -> None:
    """Due at 19:00 closing: the before warning is at 18:45."""
    clock = Clock(paris(2026, 11, 30, 15), 4 * H, BUSINESS)
    planned = plan_warnings(REF, ClockKind.GTI, clock, POLICY, paris(2026, 11, 30, 15))
    assert [w.due_at for w in planned if w.threshold == "before"] == [paris(2026, 11, 30, 18, 45)]


def test_no_before_warning_when_the_budget_is_not_longer_than_warn_before() -> None:
    """A 15 min budget would warn at its start: skipped."""
    clock = Clock(paris(2026, 11, 30, 10), timedelta(minutes=15), BUSINESS)
    thresholds = [
        w.threshold for w in plan_warnings(REF, ClockKind.GTI, clock, POLICY, clock.started_at)
    ]
    assert thresholds == ["50", "75", "90", "breach"]


def test_a_before_warning_that_coincides_with_a_fraction_is_deduplicated() -> None:
    """1 h budget: 15 min left is the 75 % instant; one warning only."""
    clock = Clock(paris(2026, 11, 30, 10), H, BUSINESS)
    thresholds = [
        w.threshold for w in plan_warnings(REF, ClockKind.GTI, clock, POLICY, clock.started_at)
    ]
    assert thresholds == ["50", "75", "90", "breach"]


def test_a_zero_budget_plans_only_the_breach() -> None:
    """Nothing to warn about before a deadline that is the start."""
    clock = Clock(paris(2026, 11, 30, 10), timedelta(0), BUSINESS)
    planned = plan_warnings(REF, ClockKind.GTI, clock, POLICY, clock.started_at)
    assert [w.key for w in planned] == ["INT-42/gti/breach"]


def test_warnings_follow_pauses_and_keep_their_keys() -> None:
    """Paused 09:30-10:30 on Saturday: the 50 % warning moves to 10:30, same key."""
    clock = gtr().pause(paris(2026, 11, 28, 9, 30)).resume(paris(2026, 11, 28, 10, 30))
    planned = plan_warnings(REF, ClockKind.GTR, clock, POLICY, paris(2026, 11, 28, 10, 30))
    assert planned[0].key == "INT-42/gtr/50"
    assert planned[0].due_at == paris(2026, 11, 28, 11)
    assert planned[-1].due_at == paris(2026, 11, 28, 13)


def test_a_due_warning_is_returned_once() -> None:
    """At 10:05 the 50 % warning is due; once sent, nothing is."""
    now = paris(2026, 11, 28, 10, 5)
    warning = due_warning(REF, ClockKind.GTR, gtr(), POLICY, now, sent=set())
    assert warning is not None
    assert warning.key == "INT-42/gtr/50"
    assert due_warning(REF, ClockKind.GTR, gtr(), POLICY, now, sent={"INT-42/gtr/50"}) is None
    assert due_warning(REF, ClockKind.GTR, gtr(), POLICY, paris(2026, 11, 28, 9), set()) is None


def test_an_unsent_earlier_warning_is_superseded_by_a_later_one() -> None:
    """Back at 11:40 after downtime: only the 90 % warning is sent, not 50 and 75 as well."""
    warnings = due_warnings(REF, ClockKind.GTR, gtr(), POLICY, paris(2026, 11, 28, 11, 40), set())
    assert [w.key for w in warnings] == ["INT-42/gtr/90"]


def test_past_the_deadline_only_the_breach_is_due() -> None:
    """A warning whose clock has since breached is replaced by the breach announcement."""
    now = paris(2026, 11, 28, 12, 1)
    warnings = due_warnings(REF, ClockKind.GTR, gtr(), POLICY, now, sent={"INT-42/gtr/50"})
    assert [w.key for w in warnings] == ["INT-42/gtr/breach"]
    assert warnings[0].is_breach
    sent = {"INT-42/gtr/breach"}
    assert due_warnings(REF, ClockKind.GTR, gtr(), POLICY, now, sent) == []


def test_the_breach_is_not_due_at_the_deadline_itself() -> None:
    """At exactly the deadline the clock can still be met: the last warning is 'before'."""
    warning = due_warning(REF, ClockKind.GTR, gtr(), POLICY, paris(2026, 11, 28, 12), set())
    assert warning is not None
    assert warning.threshold == "before"


def test_nothing_is_due_for_a_paused_or_met_clock() -> None:
    """A paused clock warns nobody; neither does one stopped in time."""
    paused = gtr().pause(paris(2026, 11, 28, 10, 30))
    assert due_warning(REF, ClockKind.GTR, paused, POLICY, paris(2026, 11, 28, 11), set()) is None
    met = gtr().stop(paris(2026, 11, 28, 11))
    assert due_warning(REF, ClockKind.GTR, met, POLICY, paris(2026, 11, 28, 11, 50), set()) is None


def test_a_clock_stopped_late_still_owes_its_breach_announcement() -> None:
    """A stop recorded after the deadline: the breach is due if it was never announced."""
    late = gtr().stop(paris(2026, 11, 28, 12, 30))
    warning = due_warning(REF, ClockKind.GTR, late, POLICY, paris(2026, 11, 28, 12, 30), set())
    assert warning is not None
    assert warning.key == "INT-42/gtr/breach"


def test_custom_fractions_get_readable_keys() -> None:
    """warn_at = [1/3] is keyed `33.3`."""
    policy = Policy(warn_at=[0.333], warn_before=timedelta(0))
    planned = plan_warnings(REF, ClockKind.GTI, gtr(), policy, paris(2026, 11, 27, 18))
    assert [w.key for w in planned] == ["INT-42/gti/33.3", "INT-42/gti/breach"]
