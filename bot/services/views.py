"""Read models: what a reply, a root message or a report shows of a ticket at one instant."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple, Protocol, TypeVar

from bot.config import Catalog
from bot.sla import (
    Calendar,
    ClockKind,
    ClockState,
    ClockStatus,
    NudgePlan,
    Pause,
    Snooze,
    TicketKind,
    calendar_for,
    clock_for,
    current_nudges,
    named_calendar,
)
from bot.sla import Clock as SlaClock
from bot.storage.models import Scope, TicketStatus


class StoredPause(Protocol):
    """What a view reads of a stored pause: an ORM `TicketPause` or a plain record."""

    @property
    def started_at(self) -> datetime: ...
    @property
    def ended_at(self) -> datetime | None: ...


class StoredClock(Protocol):
    """What a view reads of a stored clock: an ORM `Clock` or a plain record."""

    @property
    def kind(self) -> str: ...
    @property
    def budget_seconds(self) -> int: ...
    @property
    def calendar(self) -> str: ...
    @property
    def started_at(self) -> datetime: ...
    @property
    def stopped_at(self) -> datetime | None: ...
    @property
    def stopped_by(self) -> str | None: ...


class StoredTimeline(Protocol):
    """What `clock_views` reads of a ticket: its clocks and pauses."""

    @property
    def clocks(self) -> Sequence[StoredClock]: ...
    @property
    def pauses(self) -> Sequence[StoredPause]: ...


class StoredTicket(Protocol):
    """What a view reads of a stored ticket (its clocks and pauses loaded): an ORM `Ticket` or
    a plain record (bot/storage/open_tickets.py)."""

    @property
    def id(self) -> int: ...
    @property
    def ref(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def client_id(self) -> str: ...
    @property
    def level(self) -> str: ...
    @property
    def server_id(self) -> str | None: ...
    @property
    def description(self) -> str: ...
    @property
    def status(self) -> TicketStatus: ...
    @property
    def scope(self) -> Scope: ...
    @property
    def assignee_id(self) -> str | None: ...
    @property
    def opened_by(self) -> str: ...
    @property
    def called_at(self) -> datetime: ...
    @property
    def registered_at(self) -> datetime: ...
    @property
    def claimed_at(self) -> datetime | None: ...
    @property
    def resolved_at(self) -> datetime | None: ...
    @property
    def last_update_at(self) -> datetime | None: ...
    @property
    def clocks(self) -> Sequence[StoredClock]: ...
    @property
    def pauses(self) -> Sequence[StoredPause]: ...


@dataclass(frozen=True)
class ClockView:
    kind: ClockKind
    budget: timedelta
    calendar: str
    started_at: datetime
    stopped_at: datetime | None
    stopped_by: str | None
    status: ClockStatus


@dataclass(frozen=True)
class TicketView:
    id: int
    kind: TicketKind
    client_id: str
    client_name: str
    level: str
    server_id: str | None
    description: str
    status: TicketStatus
    scope: Scope
    assignee_id: str | None
    opened_by: str
    called_at: datetime
    registered_at: datetime
    claimed_at: datetime | None
    resolved_at: datetime | None
    last_update_at: datetime | None
    waiting_since: datetime | None
    clocks: tuple[ClockView, ...]
    now: datetime

    @property
    def ref(self) -> str:
        return f"INT-{self.id}"

    @property
    def clock(self) -> ClockView | None:
        """The contractual clock of the ticket (GTI for software kinds, GTR otherwise)."""
        return self.clocks[0] if self.clocks else None

    @property
    def is_open(self) -> bool:
        return self.status is not TicketStatus.RESOLVED

    def urgency(self) -> tuple[int, datetime]:
        """Sort key, most urgent first: running clocks by deadline, then paused, then the rest."""
        clock = self.clock
        if clock is None or clock.stopped_at is not None:
            return (_SETTLED, self.called_at)
        return (_ORDER[clock.status.state], clock.status.deadline)


class TicketLine(NamedTuple):
    """What a list's line shows of a ticket at one instant: a `TicketView`'s fields that
    `render.ticket_line` reads, and its contractual clock alone. A list makes 30 of them at
    each read; a whole view (19 fields, every clock) cost as much as the line's rendering."""

    id: int
    kind: TicketKind
    server_id: str | None
    status: TicketStatus
    scope: Scope
    assignee_id: str | None
    clock: ClockView | None


_ORDER = {ClockState.BREACHED: 0, ClockState.RUNNING: 1, ClockState.PAUSED: 2}
_SETTLED = 3  # no clock, or a stopped one: after every running or paused clock


def sla_clock(row: StoredClock, pauses: Sequence[StoredPause], catalog: Catalog) -> SlaClock:
    """The pure clock of a stored one; ticket pauses are clipped to the clock's life."""
    clipped: list[Pause] = []
    for pause in pauses:
        start = max(pause.started_at, row.started_at)
        end = pause.ended_at
        if row.stopped_at is not None:
            if start >= row.stopped_at:
                continue
            end = row.stopped_at if end is None else min(end, row.stopped_at)
        if end is not None and end <= start:
            continue
        clipped.append(Pause(start, end))
    return SlaClock(
        started_at=row.started_at,
        budget=timedelta(seconds=row.budget_seconds),
        calendar=named_calendar(catalog, row.calendar),
        pauses=tuple(clipped),
        stopped_at=row.stopped_at,
    )


def clock_views(ticket: StoredTimeline, catalog: Catalog, now: datetime) -> tuple[ClockView, ...]:
    """The ticket's clocks (loaded with its pauses) as read at `now`."""
    return tuple(
        ClockView(
            kind=ClockKind(row.kind),
            budget=timedelta(seconds=row.budget_seconds),
            calendar=row.calendar,
            started_at=row.started_at,
            stopped_at=row.stopped_at,
            stopped_by=row.stopped_by,
            status=sla_clock(row, ticket.pauses, catalog).status(now),
        )
        for row in ticket.clocks
    )


def ticket_nudges(
    ticket: StoredTicket,
    catalog: Catalog,
    now: datetime,
    *,
    updates: Sequence[datetime],
    snoozes: Sequence[Snooze],
    latest: bool = True,
) -> NudgePlan:
    """The update nudges of a claimed ticket (its pauses loaded) due since its last client
    update as planned at `now` (the latest alone unless not `latest`): what the reminders
    sweep sends, and what a snooze's reply says of the next one. Periods count the open time
    of the calendar of the ticket's clock (wall-clock time for a level the catalog no longer
    has)."""
    assert ticket.claimed_at is not None
    return current_nudges(
        ticket.ref,
        ticket.claimed_at,
        catalog.policy.update_every,
        now,
        updates=updates,
        waits=[Pause(p.started_at, p.ended_at) for p in ticket.pauses],
        snoozes=snoozes,
        closed_at=ticket.resolved_at,
        calendar=_nudge_calendar(ticket, catalog),
        latest=latest,
    )


def snoozed_until(ticket: StoredTicket, catalog: Catalog, snoozes: Sequence[Snooze]) -> datetime:
    """The earliest a nudge may come by `snoozes` (at least one) alone, as for a ticket waiting
    on the client, whose nudges are not planned: the end of the longest, or the next opening
    of the calendar when that is closed."""
    until = max(snooze.until for snooze in snoozes)
    calendar = _nudge_calendar(ticket, catalog)
    return until if calendar is None else next(calendar.open_windows(until))[0]


def _nudge_calendar(ticket: StoredTicket, catalog: Catalog) -> Calendar | None:
    """The calendar of the ticket's clock, whose open time its nudge periods count: the one
    stored with the clock, which a later change of the level's calendar does not move (nor its
    deadline). A ticket whose clocks were withdrawn (out of the forfait) has its level's; None
    (wall-clock time) for a level the catalog no longer has."""
    kind = clock_for(TicketKind(ticket.kind))
    stored = next((row.calendar for row in ticket.clocks if row.kind == kind.value), None)
    if stored is not None:
        return named_calendar(catalog, stored)
    try:
        return calendar_for(catalog, ticket.level, kind)
    except ValueError:
        return None


_Pause = TypeVar("_Pause", bound=StoredPause)


def open_pause(pauses: Sequence[_Pause]) -> _Pause | None:
    """The wait on the client not ended yet, if any: a ticket waits on one at a time."""
    return next((pause for pause in pauses if pause.ended_at is None), None)


def ticket_view(
    ticket: StoredTicket, client_name: str, catalog: Catalog, now: datetime
) -> TicketView:
    """Snapshot of `ticket` (its clocks and pauses loaded) at `now`."""
    clocks = clock_views(ticket, catalog, now)
    waiting = open_pause(ticket.pauses)
    return TicketView(
        id=ticket.id,
        kind=TicketKind(ticket.kind),
        client_id=ticket.client_id,
        client_name=client_name,
        level=ticket.level,
        server_id=ticket.server_id,
        description=ticket.description,
        status=ticket.status,
        scope=ticket.scope,
        assignee_id=ticket.assignee_id,
        opened_by=ticket.opened_by,
        called_at=ticket.called_at,
        registered_at=ticket.registered_at,
        claimed_at=ticket.claimed_at,
        resolved_at=ticket.resolved_at,
        last_update_at=ticket.last_update_at,
        waiting_since=waiting.started_at if waiting else None,
        clocks=clocks,
        now=now,
    )


class RevisedTicket(StoredTicket, Protocol):
    """A stored ticket and its revision, bumped by every change to it, its clocks or pauses."""

    @property
    def revision(self) -> int: ...


_Ticket = TypeVar("_Ticket", bound=RevisedTicket)


class Ranking:
    """Open tickets in `TicketView.urgency` order, from their deadlines alone, and the lines of
    those a list shows.

    A list shows the 30 most urgent tickets; reading every clock in full (consumed, remaining)
    to sort them all would be wasted on the rest. What a clock's reading is made of does not
    move until its ticket changes, and each change bumps the ticket's revision: it is kept by
    ticket and revision, for the process (`_KeptClock`). A paused clock's deadline moves with
    `now`: it is read each time (few tickets wait on their client at once).
    """

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        self._kept: dict[int, tuple[int, tuple[_KeptClock, ...]]] = {}  # by id: revision, clocks

    def rank(self, tickets: Sequence[_Ticket], now: datetime) -> list[_Ticket]:
        """`tickets`, most urgent first at `now`."""
        if len(self._kept) > 2 * len(tickets) + 1_000:  # resolved long ago: forget them
            self._kept = {}
        return sorted(tickets, key=lambda ticket: self.urgency(ticket, now))

    def urgency(self, ticket: RevisedTicket, now: datetime) -> tuple[int, datetime]:
        """What `ticket_view(ticket, …, now).urgency()` is, without reading the clocks in full."""
        row = ticket.clocks[0] if ticket.clocks else None
        if row is None or row.stopped_at is not None:
            return (_SETTLED, ticket.called_at)
        kept = self._clocks(ticket)[0]
        deadline = kept.deadline
        if deadline is None:  # paused: its deadline is as if resumed now
            status = kept.clock.status(now)
            return (_ORDER[status.state], status.deadline)
        return (_ORDER[ClockState.BREACHED if now > deadline else ClockState.RUNNING], deadline)

    def line(self, ticket: RevisedTicket, now: datetime) -> TicketLine:
        """What `ticket_view(ticket, …, now)` says of the ticket in a list's line, from the parts
        kept by revision."""
        clocks = self._clocks(ticket)
        return TicketLine(
            ticket.id,
            TicketKind(ticket.kind),
            ticket.server_id,
            ticket.status,
            ticket.scope,
            ticket.assignee_id,
            clocks[0].view(now) if clocks else None,
        )

    def _clocks(self, ticket: RevisedTicket) -> tuple["_KeptClock", ...]:
        known = self._kept.get(ticket.id)
        if known is None or known[0] != ticket.revision:
            clocks = tuple(_KeptClock(row, ticket.pauses, self._catalog) for row in ticket.clocks)
            self._kept[ticket.id] = known = (ticket.revision, clocks)
        return known[1]


class _KeptClock:
    """What a stored clock's readings are made of that does not move until its ticket changes:
    its pure clock, a running clock's deadline, a stopped clock's whole view. Each is read when
    first asked for: sorting reads only the first clock's deadline."""

    def __init__(self, row: StoredClock, pauses: Sequence[StoredPause], catalog: Catalog) -> None:
        self.row, self._pauses, self._catalog = row, pauses, catalog
        self._clock: SlaClock | None = None
        self._deadline: tuple[datetime | None] | None = None  # None: not read yet
        self._stopped: ClockView | None = None
        self._kind: ClockKind | None = None

    @property
    def clock(self) -> SlaClock:
        if self._clock is None:
            self._clock = sla_clock(self.row, self._pauses, self._catalog)
        return self._clock

    @property
    def deadline(self) -> datetime | None:
        """The deadline of a clock not paused, which does not depend on `now`; None when
        paused (as if resumed now, it moves with `now`)."""
        if self._deadline is None:
            clock = self.clock
            self._deadline = (None if clock.is_paused else clock.deadline(clock.started_at),)
        return self._deadline[0]

    def view(self, now: datetime) -> ClockView:
        """The clock's view at `now`, as `clock_views` reads it."""
        stopped_at, clock = self.row.stopped_at, self.clock
        if stopped_at is not None and now >= stopped_at:  # read the same from its stop on
            if self._stopped is None:
                self._stopped = self._view(clock, clock.status(now))
            return self._stopped
        deadline = self.deadline if stopped_at is None else None  # None: paused, or stopped
        return self._view(clock, clock.status(now, deadline=deadline))

    def _view(self, clock: SlaClock, status: ClockStatus) -> ClockView:
        row = self.row
        if self._kind is None:
            self._kind = ClockKind(row.kind)
        return ClockView(
            kind=self._kind,
            budget=clock.budget,  # timedelta(seconds=row.budget_seconds)
            calendar=row.calendar,
            started_at=row.started_at,
            stopped_at=row.stopped_at,
            stopped_by=row.stopped_by,
            status=status,
        )
