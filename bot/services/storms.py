"""Pure decisions of alerting: storm grouping, milestones, the suggested ticket kind."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.probes.errors import english
from bot.sla import TicketKind

# How long an outage has lasted when the thread says so again (from its first failure).
MILESTONES: tuple[tuple[str, timedelta], ...] = (
    ("15m", timedelta(minutes=15)),
    ("1h", timedelta(hours=1)),
    ("4h", timedelta(hours=4)),
)


@dataclass(frozen=True)
class OpenStorm:
    """A storm still collecting members: its id and when its latest member joined it."""

    id: int
    last_member_at: datetime


@dataclass(frozen=True)
class StormDecision:
    """`group`: alert the new outages in a storm; `join`: that storm's id, None for a new one."""

    group: bool
    join: int | None = None


def decide_storm(
    *,
    new: int,
    recent: int,
    failing: int = 0,
    threshold: int,
    window: timedelta,
    now: datetime,
    open_storm: OpenStorm | None,
) -> StormDecision:
    """Group `new` outages (confirmed together) into a storm, or alert them one by one.

    `recent` is how many other servers were alerted down within `window` before `now` and
    are still down;
    `failing`, how many others have a failing streak that started within the window but is not
    confirmed yet. More than `threshold` of them all makes a storm: counting the servers about
    to be confirmed groups a wave from its first confirmations, even when they are written in
    several transactions. A storm whose latest member joined it within the window takes the
    new ones too, whatever their number.
    """
    if new <= 0:
        return StormDecision(group=False)
    if open_storm is not None and now - open_storm.last_member_at <= window:
        return StormDecision(group=True, join=open_storm.id)
    return StormDecision(group=recent + failing + new > threshold)


def reached_milestone(elapsed: timedelta) -> str | None:
    """The label of the longest milestone `elapsed` has reached (`15m`, `1h`, `4h`), or None.

    Only the longest is posted: after a restart that missed several, one message says how long.
    """
    reached = [label for label, after in MILESTONES if elapsed >= after]
    return reached[-1] if reached else None


def suggest_kind(failing: Sequence[tuple[str, str | None]]) -> TicketKind:
    """The ticket kind to pre-fill from the failing probes: (probe type, last error) pairs.

    The host does not answer ping: `reseau` when the network said it is unreachable, otherwise
    `materiel` (the machine itself is the first suspect). The host answers ping but a service
    (TCP port, HTTP) fails: `secours`, a software incident. The technician may change it.
    """
    # Read in English, whatever the team's language: the words of a reason stored as a key,
    # or an older row's English text as it is.
    icmp_errors = [english(error) or "" for probe_type, error in failing if probe_type == "icmp"]
    if not icmp_errors:
        return TicketKind.SECOURS
    if any("unreachable" in error.lower() for error in icmp_errors):
        return TicketKind.RESEAU
    return TicketKind.MATERIEL
