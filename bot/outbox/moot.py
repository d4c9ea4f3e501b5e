"""What a queued message depends on, judged again when its turn comes.

A reminder is decided by a sweep and sent by the outbox later: Slack paces a channel at one
message a second, a retry backs off, the bot may have been down. Meanwhile its ticket may have
moved on (resolved, put on hold, updated, snoozed, claimed, given to someone else), and a
technician paged at 3 a.m. by "INT-42: GTR ends in 30 min" a minute after resolving INT-42
learns nothing but distrust of the bot's pages. A message queued with a `TicketDependency`
(`Outbound.depends_on`) says what it was decided on; the sender reads the tickets of the
messages about to go and drops those that are moot, recording why (`Moot`), instead of
sending them. What records history (a ticket thread's posts, a breach's announcement, a root's
edits) is queued without one, and always goes.
"""

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, bindparam, func, select
from sqlalchemy.orm import Session

from bot.storage.models import Clock, Ticket, TicketPause, TicketSnooze, TicketStatus


class Moot(enum.StrEnum):
    """Why a message was dropped (the row's `last_error`, shown by `supportbot outbox status`)."""

    NO_TICKET = "no_ticket"
    RESOLVED = "resolved"  # resolved or refused
    WAITING = "waiting"  # waiting on the client: its clocks and nudges are paused
    CLOCK_STOPPED = "clock_stopped"  # the clock it warns of no longer runs
    BREACHED = "breached"  # the clock it warns of is past its deadline: no time is left
    ASSIGNED_TO_ANOTHER = "assigned_to_another"  # claimed or reassigned: not theirs any more
    REASSIGNED = "reassigned"  # a warning's DM handed over to the new assignee, at the reassignment
    CLIENT_UPDATED = "client_updated"  # the update a nudge asks for was given
    WAITED = "waited"  # a wait on the client began since (the nudge period restarted at its end)
    SNOOZED = "snoozed"  # the assignee asked for nudges to wait


@dataclass(frozen=True)
class TicketDependency:
    """A message for `user_id` about ticket `ticket_id`, due while the ticket is not resolved.
    With `clock` ("gti", "gtr"), a warning: while that clock is not stopped (paused, it can
    still breach). Otherwise, a nudge: while the ticket is not waiting on the client, is
    unclaimed or held by `user_id`, and (with `quiet_since`) no client update, wait or snooze
    came after that instant (its due time: the rules the sweep applies to a nudge not yet
    queued)."""

    ticket_id: int
    user_id: str | None
    clock: str | None = None
    quiet_since: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        """The form stored in `outbox_messages.depends_on`."""
        data: dict[str, Any] = {"ticket": self.ticket_id, "user": self.user_id}
        if self.clock is not None:
            data["clock"] = self.clock
        if self.quiet_since is not None:
            data["quiet_since"] = self.quiet_since.isoformat()
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "TicketDependency":
        """Read back `to_json`'s form; KeyError or ValueError if it is not one."""
        quiet = data.get("quiet_since")
        return cls(
            ticket_id=int(data["ticket"]),
            user_id=data["user"],
            clock=data.get("clock"),
            quiet_since=None if quiet is None else datetime.fromisoformat(quiet),
        )


@dataclass(frozen=True)
class TicketState:
    """What a dependency is judged on: the ticket as it stands."""

    status: TicketStatus
    assignee_id: str | None
    claimed_at: datetime | None
    last_update_at: datetime | None
    running_clocks: frozenset[str]
    last_wait_at: datetime | None  # when its latest wait on the client began
    last_snooze_at: datetime | None  # when its latest snooze was requested
    # Running clocks past their deadline (the cached `clocks.deadline_at`, which a paused
    # clock has only once its deadline passed before the pause): its breach is announced.
    breached_clocks: frozenset[str] = frozenset()


def judge(dependency: TicketDependency, ticket: TicketState | None) -> Moot | None:
    """Why a message with `dependency` is moot for `ticket` as it stands; None: it is due."""
    if ticket is None:
        return Moot.NO_TICKET
    if ticket.status is TicketStatus.RESOLVED:
        return Moot.RESOLVED
    if dependency.clock is not None:
        # A warning, sent once (its key taken, dropped or not): moot only once its clock can
        # no longer breach. Paused by a wait, or its ticket given to someone else, the clock
        # is still at risk, and dropping the DM would leave the last warning before a breach
        # unsaid (a wait of a minute, or a reassignment, while it queued). Past the deadline
        # it would say time is left when none is: the breach's announcement tells it instead.
        if dependency.clock not in ticket.running_clocks:
            return Moot.CLOCK_STOPPED
        return Moot.BREACHED if dependency.clock in ticket.breached_clocks else None
    if ticket.status is TicketStatus.WAITING:
        return Moot.WAITING
    if ticket.claimed_at is not None and ticket.assignee_id != dependency.user_id:
        return Moot.ASSIGNED_TO_ANOTHER
    since = dependency.quiet_since
    if since is None:
        return None
    if ticket.last_update_at is not None and ticket.last_update_at > since:
        return Moot.CLIENT_UPDATED
    if ticket.last_wait_at is not None and ticket.last_wait_at > since:
        return Moot.WAITED
    if ticket.last_snooze_at is not None and ticket.last_snooze_at > since:
        return Moot.SNOOZED
    return None


_IDS: BindParameter[list[int]] = bindparam("ids", expanding=True)
_TICKETS = select(
    Ticket.id, Ticket.status, Ticket.assignee_id, Ticket.claimed_at, Ticket.last_update_at
).where(Ticket.id.in_(_IDS))
_RUNNING = select(Clock.ticket_id, Clock.kind, Clock.deadline_at).where(
    Clock.ticket_id.in_(_IDS), Clock.stopped_at.is_(None)
)
_LAST_WAITS = (
    select(TicketPause.ticket_id, func.max(TicketPause.started_at))
    .where(TicketPause.ticket_id.in_(_IDS))
    .group_by(TicketPause.ticket_id)
)
_LAST_SNOOZES = (
    select(TicketSnooze.ticket_id, func.max(TicketSnooze.requested_at))
    .where(TicketSnooze.ticket_id.in_(_IDS))
    .group_by(TicketSnooze.ticket_id)
)


def ticket_states(
    session: Session, ticket_ids: set[int], *, now: datetime
) -> dict[int, TicketState]:
    """The states of these tickets at `now`, by id (a missing ticket is absent), in four
    reads."""
    if not ticket_ids:
        return {}
    ids = {"ids": sorted(ticket_ids)}
    running: dict[int, set[str]] = {}
    breached: dict[int, set[str]] = {}
    for ticket_id, kind, deadline_at in session.execute(_RUNNING, ids):
        running.setdefault(ticket_id, set()).add(kind)
        if deadline_at is not None and deadline_at < now:
            breached.setdefault(ticket_id, set()).add(kind)
    waits = {ticket_id: at for ticket_id, at in session.execute(_LAST_WAITS, ids)}
    snoozes = {ticket_id: at for ticket_id, at in session.execute(_LAST_SNOOZES, ids)}
    return {
        row.id: TicketState(
            status=row.status,
            assignee_id=row.assignee_id,
            claimed_at=row.claimed_at,
            last_update_at=row.last_update_at,
            running_clocks=frozenset(running.get(row.id, ())),
            last_wait_at=waits.get(row.id),
            last_snooze_at=snoozes.get(row.id),
            breached_clocks=frozenset(breached.get(row.id, ())),
        )
        for row in session.execute(_TICKETS, ids)
    }


def moot_messages(
    session: Session, dependencies: Mapping[int, TicketDependency], *, now: datetime
) -> dict[int, Moot]:
    """Of these messages (id -> what it depends on), those moot at `now`, and why."""
    states = ticket_states(session, {d.ticket_id for d in dependencies.values()}, now=now)
    judged = {
        message_id: judge(dependency, states.get(dependency.ticket_id))
        for message_id, dependency in dependencies.items()
    }
    return {message_id: moot for message_id, moot in judged.items() if moot is not None}
