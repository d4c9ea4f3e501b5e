"""Pure up/down decisions: streaks, transitions, retry scheduling, server outages.

A probe goes DOWN after `failures` consecutive failures and UP after `successes` consecutive
successes; from UNKNOWN the first streak that reaches its threshold decides. While the current
streak disagrees with the status (or the status is UNKNOWN) the probe is unsettled and is checked
again every `retry_interval` instead of every `interval`. Results further apart than a probe's
`interval` and `timeout` plus `STREAK_GAP` are not consecutive: nobody watched in between (the
bot was down, or no instance led), so the later one starts a streak of its own.
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.probes.result import ProbeResult, ProbeSpec
from bot.storage.models import ProbeStatus

# Beyond its probe's pace, how long results may be apart and still count as one streak: enough
# for a restart or a new leader taking over (lease: 20 s at most), not for a bot that was down.
STREAK_GAP = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class StreakState:
    """One probe's status and its current streak of identical outcomes."""

    key: str
    status: ProbeStatus = ProbeStatus.UNKNOWN
    failures: int = 0  # consecutive failures (0 while the streak is of successes)
    successes: int = 0  # consecutive successes (0 while the streak is of failures)
    streak_started_at: datetime | None = None  # `at` of the first result of the streak
    last_checked_at: datetime | None = None
    last_error: str | None = None
    changed_at: datetime | None = None  # when the status last changed

    @property
    def settled(self) -> bool:
        """True when the current streak agrees with a known status."""
        if self.status is ProbeStatus.UP:
            return self.successes > 0
        if self.status is ProbeStatus.DOWN:
            return self.failures > 0
        return False


@dataclass(frozen=True, slots=True)
class Transition:
    """A probe changed status; `streak_started_at` is the first result of the deciding streak."""

    key: str
    new_status: ProbeStatus
    streak_started_at: datetime
    at: datetime  # when the deciding result was known
    last_error: str | None


@dataclass(frozen=True, slots=True)
class OutageOpened:
    """A server has a DOWN probe and had none; it started at that streak's first failure."""

    server_id: str
    started_at: datetime
    confirmed_at: datetime
    outage_id: int | None = None  # set by the engine once the row exists


@dataclass(frozen=True, slots=True)
class OutageClosed:
    """A server's last DOWN probe came back UP; it ended at that streak's first success."""

    server_id: str
    ended_at: datetime
    confirmed_at: datetime
    outage_id: int | None = None  # set by the engine once the row is closed


@dataclass(frozen=True, slots=True)
class CertificateExpiring:
    """An HTTPS probe's certificate expires within its `cert_expiry_warning`; `notice` is the
    step reached (`certificate_notice`), each said once per certificate."""

    key: str
    server_id: str
    url: str
    expires_at: datetime
    notice: int  # days: the warning's own, then 7, 3, 1; 0 once expired
    verified: bool = True  # False: a probe with `verify_tls = false`, which does not fail on it


ProbeEvent = Transition | OutageOpened | OutageClosed | CertificateExpiring

CERTIFICATE_NOTICES = (7, 3, 1)  # days left at which an expiring certificate is said again


def certificate_notice(left: timedelta, warning: timedelta) -> int:
    """The notice a certificate with `left` to live has reached: the warning's days (rounded
    up) when it enters the warning, then 7, 3 and 1 days left, and 0 once it has expired."""
    if left <= timedelta(0):
        return 0
    first = math.ceil(warning / timedelta(days=1))
    reached = [days for days in CERTIFICATE_NOTICES if left <= timedelta(days=days) < warning]
    return min(reached, default=first)


def advance(
    state: StreakState, result: ProbeResult, probe: ProbeSpec, *, now: datetime
) -> tuple[StreakState, Transition | None]:
    """Fold one result into the state; `now` is when the result was known."""
    # Results a gap apart are not consecutive: what was seen before it counts for nothing.
    watched = state.last_checked_at is None or (
        result.at - state.last_checked_at <= probe.interval + probe.timeout + STREAK_GAP
    )
    streak_successes = state.successes if watched else 0
    streak_failures = state.failures if watched else 0
    if result.ok:
        continuing = streak_successes > 0
        successes, failures = streak_successes + 1, 0
        reached = successes >= probe.successes and state.status is not ProbeStatus.UP
        new_status = ProbeStatus.UP if reached else state.status
        last_error = state.last_error
    else:
        continuing = streak_failures > 0
        successes, failures = 0, streak_failures + 1
        reached = failures >= probe.failures and state.status is not ProbeStatus.DOWN
        new_status = ProbeStatus.DOWN if reached else state.status
        last_error = result.error
    started_at = state.streak_started_at if continuing else result.at
    assert started_at is not None  # a continuing streak always has its start
    new_state = StreakState(
        key=state.key,
        status=new_status,
        failures=failures,
        successes=successes,
        streak_started_at=started_at,
        last_checked_at=result.at,
        last_error=last_error,
        changed_at=now if reached else state.changed_at,
    )
    if not reached:
        return new_state, None
    return new_state, Transition(state.key, new_status, started_at, now, last_error)


def settled_outcome(state: StreakState) -> bool | None:
    """The outcome (`ProbeResult.ok`) that only lengthens the settled streak; None if unsettled.

    Such a result changes no status, opens nothing and needs no write (see `needs_write`): only
    a counter, `last_checked_at` and, for failures, `last_error`. The engine counts these in
    place and folds them in with `lengthen` when the state is read or written.
    """
    if state.status is ProbeStatus.UP and state.successes > 0:
        return True
    if state.status is ProbeStatus.DOWN and state.failures > 0:
        return False
    return None


def lengthen(
    state: StreakState, results: int, last_checked_at: datetime, last_error: str | None
) -> StreakState:
    """`state` after `results` results of its `settled_outcome`: the same as `advance`-ing."""
    if state.status is ProbeStatus.UP:
        return replace(state, successes=state.successes + results, last_checked_at=last_checked_at)
    return replace(
        state,
        failures=state.failures + results,
        last_checked_at=last_checked_at,
        last_error=last_error,
    )


def next_check_at(state: StreakState, result: ProbeResult, probe: ProbeSpec) -> datetime:
    """When to check again: `retry_interval` after the check while unsettled, else `interval`."""
    return result.at + (probe.interval if state.settled else probe.retry_interval)


def needs_write(before: StreakState, after: StreakState) -> bool:
    """False when `after` only lengthens a settled streak (the 500th success while UP)."""
    return not (before.settled and after.settled and before.status is after.status)


def outage_change(
    server_id: str,
    before: Iterable[ProbeStatus],
    after: Iterable[ProbeStatus],
    transition: Transition,
    others: Iterable[StreakState] = (),
) -> OutageOpened | OutageClosed | None:
    """The server-level consequence of `transition`, given its probes' statuses around it and
    the states of its other probes (`others`).

    An outage ends at the first success of the latest-starting UP streak among its probes:
    the server is back once every probe answers. A probe that needs more successes may confirm
    UP last from a streak that began before another probe's, which still failed then. One UP
    whose latest results fail (not enough to be DOWN) counts from when it was confirmed UP."""
    was_down = ProbeStatus.DOWN in before
    is_down = ProbeStatus.DOWN in after
    if is_down and not was_down:
        return OutageOpened(server_id, transition.streak_started_at, transition.at)
    if was_down and not is_down:
        back = [at for other in others if (at := _back_since(other)) is not None]
        ended_at = max([transition.streak_started_at, *back])
        return OutageClosed(server_id, ended_at, transition.at)
    return None


def _back_since(state: StreakState) -> datetime | None:
    """Since when an UP probe answers again: its success streak's start, or, its latest
    results failing (not enough to be DOWN), when it was confirmed UP (that streak's start
    is gone, and a blip since does not make the server back before it answered)."""
    if state.status is not ProbeStatus.UP:
        return None
    if state.successes > 0:
        return state.streak_started_at
    return state.changed_at
