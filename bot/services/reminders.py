"""Breach warnings, breach announcements and update nudges, decided from the database.

`sweep()` is what the scheduler runs every few seconds. It reads the tickets that may owe a
message (a running clock, a breach whose credit is recorded but not yet announced, a claimed
ticket) and asks bot.sla, in one read, which warning or nudge each owes now. Each ticket that
owes something is then handled in its own transaction: lock the ticket, ask again, and queue
its messages in the outbox under keys derived from the SLA key (`INT-42/gtr/75/thread`,
`INT-42/gtr/75/dm/U01AAA`, `INT-42/nudge/<iso>/dm`). Whether a warning was already sent is read
from those keys, so a restart, a second instance or a repeated sweep never queues it twice,
and the outbox sends each row once.

After downtime, bot.sla returns only the most advanced due warning (a clock that breached
meanwhile gets its breach announcement, not its stale warnings) and only the latest due nudge;
what is sent more than one sweep period after it fell due is marked late. A page (a warning's
DM, a nudge) carries what it was decided on (`TicketDependency`): the outbox drops it, instead
of sending it, when the ticket moved on before its turn came (docs/reminders.md).
"""

import logging
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from bot.config import Catalog
from bot.messages import Messages
from bot.outbox.moot import TicketDependency
from bot.services.audit import SYSTEM, add_audit
from bot.services.base import Service
from bot.services.reports import credit_line
from bot.services.tickets import root_edit, root_title, warning_dm
from bot.services.views import StoredClock, StoredTicket, sla_clock, ticket_nudges
from bot.sla import Clock as SlaClock
from bot.sla import ClockKind, Nudge, PlannedWarning, Snooze
from bot.sla.warnings import BREACH, due_warning, plan_warnings, warning_key
from bot.slack import reminders_render as render
from bot.storage.credits import mark_announced, mark_eligible, unannounced
from bot.storage.database import reading
from bot.storage.models import (
    Client,
    Clock,
    OutboxMessage,
    OutboxStatus,
    Ticket,
    TicketStatus,
)
from bot.storage.nudges import (
    Reassignment,
    holder_at,
    list_reassignments,
    list_snoozes,
    list_updates,
    snoozes_by_ticket,
    updates_by_ticket,
)
from bot.storage.open_tickets import TicketRecord, tickets_by_id
from bot.storage.outbox import Outbound, add_message

logger = logging.getLogger(__name__)

# Nudges sent to the assignee since the last client update and left unanswered before the next
# one goes to the thread, mentioning on-call. Sent ones only: a nudge that fell due while the
# bot was down was superseded, never sent, and a technician cannot ignore a nudge they never got
# (nor one sent to whoever held the ticket before them).
ESCALATE_AFTER = 2
THREAD, DM, ALERT, ROOT = "thread", "dm", "alert", "root"


@dataclass(frozen=True)
class SweepReport:
    """What one sweep did: tickets looked at, messages decided, late ones, tickets that failed."""

    tickets: int = 0
    warnings: int = 0
    nudges: int = 0
    late: int = 0
    failed: int = 0


@dataclass(frozen=True)
class _Plan:
    """What a ticket may owe at one instant: its clocks, the latest nudge due since its last
    client update (if any), its client updates until then, and the SLA keys to look up in the
    outbox."""

    clocks: tuple[tuple[StoredClock, SlaClock], ...]
    nudges: tuple[Nudge, ...]
    updates: tuple[datetime, ...]
    keys: frozenset[str]


@dataclass(frozen=True)
class _Due:
    """What a ticket owes: at most one warning per clock, and at most one nudge."""

    warnings: tuple[tuple[StoredClock, SlaClock, PlannedWarning], ...]
    nudge: Nudge | None

    def __bool__(self) -> bool:
        return bool(self.warnings) or self.nudge is not None


@dataclass
class _Counts:
    warnings: int = 0
    nudges: int = 0
    late: int = 0


class ReminderService(Service):
    """Warnings and nudges; `wake` is called after a sweep that queued messages."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        catalog: Catalog,
        messages: Messages,
        *,
        clock: Callable[[], datetime],
        wake: Callable[[], None] = lambda: None,
        late_after: timedelta = timedelta(seconds=15),
    ) -> None:
        super().__init__(sessions, catalog, messages, clock=clock, wake=wake)
        # One sweep period, and half one more: a sweep finds what fell due since the one before,
        # up to a period ago and a little more, as sweeps start a little behind schedule and
        # judge each owing ticket after the pass's read. Later than that, the bot was not up.
        self._late_after = late_after * 3 / 2

    # The pass ----------------------------------------------------------------------------------

    def sweep(self) -> SweepReport:
        """One pass over every ticket that may owe a message.

        The candidates are read and judged in one read transaction; only those that owe
        something are then handled, each in a transaction of its own that locks the ticket and
        judges it again (a claim or an update may have come meanwhile). Most passes owe nothing
        and write nothing: on SQLite, which has one writer at a time, a write transaction per
        candidate would make the commands queue behind the whole pass.
        """
        now = self._clock()
        owing: list[int] = []
        with reading(self._sessions) as session:
            told = announced_before(session)
            ticket_ids = list_candidates(session)
            for start in range(0, len(ticket_ids), _CHUNK):
                chunk = ticket_ids[start : start + _CHUNK]
                try:
                    owing += self._owing(session, chunk, now)
                except Exception:  # a row that cannot be read: each ticket alone finds which
                    logger.exception(
                        "reminders: %d tickets could not be read at once; one at a time",
                        len(chunk),
                    )
                    session.rollback()  # PostgreSQL refuses any statement in a failed transaction
                    owing += chunk
        if told:  # each of their tickets would be a candidate at every sweep, owing nothing
            with self._sessions.begin() as session:
                for (ticket_id, clock), at in told.items():
                    mark_announced(session, ticket_id=ticket_id, clock=clock, at=at)
        total, failed = _Counts(), 0
        for ticket_id in owing:
            try:
                with self._sessions.begin() as session:
                    counts = self._sweep_ticket(session, ticket_id, self._clock())
            except Exception:  # one bad ticket must not starve the others; the next pass retries
                logger.exception("reminders: INT-%d could not be handled; moving on", ticket_id)
                failed += 1
                continue
            total.warnings += counts.warnings
            total.nudges += counts.nudges
            total.late += counts.late
        if total.warnings or total.nudges:
            self._wake()
            logger.info(
                "reminders: %d warning(s), %d nudge(s) queued (%d late)",
                total.warnings,
                total.nudges,
                total.late,
            )
        return SweepReport(len(ticket_ids), total.warnings, total.nudges, total.late, failed)

    def _owing(self, session: Session, ticket_ids: list[int], now: datetime) -> list[int]:
        """Those of `ticket_ids` that owe a message at `now`, read in a few statements.

        A ticket that cannot be judged (say, its clock names a calendar gone from the catalog)
        is counted as owing: its own transaction judges it again, and logs and counts the
        error, while the others go on.
        """
        tickets = tickets_by_id(session, ticket_ids)
        updates = updates_by_ticket(session, ticket_ids)
        snoozes = snoozes_by_ticket(session, ticket_ids)
        owing: set[int] = set()
        plans: list[tuple[TicketRecord, _Plan]] = []
        for ticket in tickets:
            try:
                plans.append(
                    (ticket, self._plan_ticket(ticket, updates[ticket.id], snoozes[ticket.id], now))
                )
            except Exception:  # reported by the ticket's own transaction, in `sweep`
                owing.add(ticket.id)
        sent = sent_keys(session, {key for _, plan in plans for key in plan.keys})
        for ticket, plan in plans:
            try:
                if self._due(ticket, plan, sent, now):
                    owing.add(ticket.id)
            except Exception:  # reported by the ticket's own transaction, in `sweep`
                owing.add(ticket.id)
        return sorted(owing)

    def _sweep_ticket(self, session: Session, ticket_id: int, now: datetime) -> _Counts:
        counts = _Counts()
        ticket = session.scalars(
            select(Ticket)
            .where(Ticket.id == ticket_id)
            .options(selectinload(Ticket.clocks), selectinload(Ticket.pauses))
            .with_for_update()  # a claim or an update committing meanwhile waits for us
        ).one_or_none()
        if ticket is None:
            return counts
        snoozes = list_snoozes(session, ticket.id)
        plan = self._plan_ticket(ticket, list_updates(session, ticket.id), snoozes, now)
        due = self._due(ticket, plan, sent_keys(session, plan.keys), now)
        if not due:
            return counts
        client = session.get(Client, ticket.client_id)
        subject = render.Subject(
            ticket_id=ticket.id,
            ref=ticket.ref,
            server_id=ticket.server_id,
            client_name=client.name if client is not None else ticket.client_id,
            assignee_id=ticket.assignee_id if ticket.claimed_at is not None else None,
        )
        for row, clock, warning in due.warnings:
            kind = ClockKind(row.kind)
            # No sweep warns of a paused clock (a breach, it announces): held time is not late.
            held = timedelta(0) if warning.is_breach else _held(clock, warning.due_at, now)
            late = self._late(ticket, warning.due_at, now - held)
            if warning.is_breach:
                self._announce_breach(session, ticket, subject, row, kind, warning, now, late)
            else:
                self._warn(session, ticket, subject, kind, clock, warning, now, late)
            counts.warnings += 1
            counts.late += late
        if due.warnings:  # the root shows the clock: as of this threshold, not the last change
            _, _, last = due.warnings[-1]
            title = root_title(ticket, subject.client_name, self._messages)
            edit = root_edit(ticket.id, f"{last.key}/{ROOT}", title)
            add_message(session, edit, now=now)
        if due.nudge is not None:
            late = self._late(ticket, due.nudge.due_at, now)
            silence = now - max([*plan.updates, ticket.claimed_at or now])
            # Every nudge due since the last update: a nudge is queued once a period at most.
            run = self._nudge_plan(ticket, plan.updates, snoozes, now, latest=False)
            unanswered = unanswered_nudges(
                session,
                run,
                due.nudge,
                assignee=ticket.assignee_id,
                reassignments=list_reassignments(session, ticket.id),
            )
            self._nudge(session, ticket, subject, due.nudge, unanswered, silence, now, late)
            counts.nudges += 1
            counts.late += late
        return counts

    def _late(self, ticket: Ticket, due_at: datetime, now: datetime) -> bool:
        """Whether a reminder goes later than a sweep would have sent it: the bot was not up.
        Not one due before the ticket was registered (a call backdated past a threshold),
        which no sweep could have sent."""
        return ticket.registered_at <= due_at < now - self._late_after

    def _plan_ticket(
        self,
        ticket: StoredTicket,
        updates: Sequence[datetime],
        snoozes: Sequence[Snooze],
        now: datetime,
    ) -> _Plan:
        """What `ticket` may owe at `now`, before the outbox says what was already sent."""
        clocks = tuple((row, sla_clock(row, ticket.pauses, self.catalog)) for row in ticket.clocks)
        past_updates = tuple(at for at in updates if at <= now)
        nudges = self._nudge_plan(ticket, past_updates, snoozes, now)
        keys = {w.key for row, clock in clocks for w in self._plan(ticket, row, clock, now)}
        if nudges:
            keys.add(nudges[-1].key)  # the only one that can be due (`_due_nudge`)
        return _Plan(clocks, nudges, past_updates, frozenset(keys))

    def _due(self, ticket: StoredTicket, plan: _Plan, sent: set[str], now: datetime) -> _Due:
        """The messages `ticket` owes at `now`, given the SLA keys already in the outbox."""
        warnings = []
        for row, clock in plan.clocks:
            kind = ClockKind(row.kind)
            warning = due_warning(ticket.ref, kind, clock, self.catalog.policy, now, sent)
            if warning is not None:
                warnings.append((row, clock, warning))
        waits = [pause.started_at for pause in ticket.pauses if pause.started_at <= now]
        return _Due(tuple(warnings), _due_nudge(plan.nudges, plan.updates, waits, sent))

    # Warnings ----------------------------------------------------------------------------------

    def _plan(
        self, ticket: StoredTicket, row: StoredClock, clock: SlaClock, now: datetime
    ) -> list[PlannedWarning]:
        return plan_warnings(ticket.ref, ClockKind(row.kind), clock, self.catalog.policy, now)

    def _recipients(self, ticket: Ticket, kind: ClockKind) -> list[str]:
        """The assignee of a claimed ticket (GTR); on-call while unclaimed."""
        if kind is ClockKind.GTR and ticket.claimed_at is not None and ticket.assignee_id:
            return [ticket.assignee_id]
        return list(dict.fromkeys(self.catalog.team.oncall))

    def _warn(
        self,
        session: Session,
        ticket: Ticket,
        subject: render.Subject,
        kind: ClockKind,
        clock: SlaClock,
        warning: PlannedWarning,
        now: datetime,
        late: bool,
    ) -> None:
        status = clock.status(now)
        text, blocks = render.warning_message(
            subject,
            kind,
            warning,
            remaining=status.remaining,
            deadline=status.deadline,
            late=late,
            messages=self._messages,
            zone=self._zone,
        )
        for user_id in self._recipients(ticket, kind):
            # Moot, and dropped by the outbox, once its clock can no longer breach; handed over
            # to the new assignee at a reassignment (`TicketService.reassign`). The thread's
            # post, the record of the warning, goes whatever happens.
            dm = warning_dm(ticket.id, warning.key, kind, user_id, text, blocks)
            add_message(session, dm, now=now)
        self._post_thread(session, ticket, f"{warning.key}/{THREAD}", text, blocks, now)

    def _announce_breach(
        self,
        session: Session,
        ticket: Ticket,
        subject: render.Subject,
        row: StoredClock,
        kind: ClockKind,
        warning: PlannedWarning,
        now: datetime,
        late: bool,
    ) -> None:
        deadline = warning.due_at
        created = mark_eligible(
            session,
            ticket_id=ticket.id,
            clock=row.kind,
            client_id=ticket.client_id,
            breached_at=deadline,
            now=now,
            by=SYSTEM.user_id,
        )
        # The month's earlier breaches may already reach the cap: then this one owes nothing.
        credit = credit_line(
            session,
            self.catalog,
            ticket_id=ticket.id,
            client_id=ticket.client_id,
            clock=row.kind,
            breached_at=deadline,
            now=now,
        )
        text, blocks = render.breach_message(
            subject,
            kind,
            deadline=deadline,
            credit=credit is None or credit.amount > 0,
            late=late,
            messages=self._messages,
            zone=self._zone,
            moved=None if credit is None else (credit.state, credit.amount),
            cap=None if credit is None else (credit.cap, credit.taken),
        )
        mark_announced(session, ticket_id=ticket.id, clock=row.kind, at=now)
        alerts = self.catalog.team.alerts_channel
        add_message(
            session,
            Outbound(f"{warning.key}/{ALERT}", text, channel_id=alerts, blocks=blocks),
            now=now,
        )
        if ticket.claimed_at is None:  # the post names nobody: on-call hears of it by DM, as
            for user_id in self._recipients(ticket, kind):  # of each warning before it
                key = f"{warning.key}/{DM}/{user_id}"
                add_message(
                    session, Outbound(key, text, channel_id=user_id, blocks=blocks), now=now
                )
        self._post_thread(session, ticket, f"{warning.key}/{THREAD}", text, blocks, now)
        add_audit(
            session,
            SYSTEM,
            "clock.breached",
            at=now,
            ticket_id=ticket.id,
            server_id=ticket.server_id,
            details={
                "clock": row.kind,
                "deadline": deadline.isoformat(),
                "credit_created": created,
                "late": late,
            },
        )

    def _post_thread(
        self,
        session: Session,
        ticket: Ticket,
        key: str,
        text: str,
        blocks: list[dict[str, object]],
        now: datetime,
        depends_on: TicketDependency | None = None,
    ) -> None:
        message = Outbound(
            key,
            text,
            channel_id=self.catalog.team.alerts_channel,
            blocks=blocks,
            thread_key=ticket.thread_key,
            depends_on=None if depends_on is None else depends_on.to_json(),
        )
        add_message(session, message, now=now)

    # Nudges ------------------------------------------------------------------------------------

    def _nudge_plan(
        self,
        ticket: StoredTicket,
        updates: Sequence[datetime],
        snoozes: Sequence[Snooze],
        now: datetime,
        *,
        latest: bool = True,
    ) -> tuple[Nudge, ...]:
        """The latest nudge due since the last client update for a claimed, open ticket (none
        otherwise); every one since that update unless `latest`. The latest alone costs the
        same for a ticket claimed a year ago as for one claimed an hour ago."""
        if ticket.status is not TicketStatus.CLAIMED or ticket.claimed_at is None:
            return ()  # unclaimed, waiting on the client, or resolved: no nudge
        plan = ticket_nudges(
            ticket, self.catalog, now, updates=updates, snoozes=snoozes, latest=latest
        )
        return plan.due

    def _nudge(
        self,
        session: Session,
        ticket: Ticket,
        subject: render.Subject,
        nudge: Nudge,
        unanswered: int,
        silence: timedelta,
        now: datetime,
        late: bool,
    ) -> None:
        """Queue `nudge`: a DM to the assignee, or a thread post once `unanswered` (the nudges
        sent since the last client update) reaches ESCALATE_AFTER. Either is a page, moot (and
        dropped by the outbox) once the ticket moved on before it went: by the rules of
        `_due_nudge`, and the ticket resolved or given to someone else (`TicketDependency`)."""
        escalated = unanswered >= ESCALATE_AFTER
        mentions = None
        if escalated:
            assignee = [ticket.assignee_id] if ticket.assignee_id else []
            mentions = list(dict.fromkeys([*assignee, *self.catalog.team.oncall]))
        text, blocks = render.nudge_message(
            subject,
            nudge,
            unanswered=unanswered,
            silence=silence,
            mentions=mentions,
            late=late,
            messages=self._messages,
            zone=self._zone,
        )
        depends_on = TicketDependency(ticket.id, ticket.assignee_id, quiet_since=nudge.due_at)
        if escalated:
            key = f"{nudge.key}/{THREAD}"
            self._post_thread(session, ticket, key, text, blocks, now, depends_on=depends_on)
        elif ticket.assignee_id:
            message = Outbound(
                f"{nudge.key}/{DM}",
                text,
                channel_id=ticket.assignee_id,
                blocks=blocks,
                depends_on=depends_on.to_json(),
            )
            add_message(session, message, now=now)


def _held(clock: SlaClock, start: datetime, end: datetime) -> timedelta:
    """How long `clock` was paused (waiting on the client) between `start` and `end`."""
    held = timedelta(0)
    for pause in clock.pauses:
        began, ended = max(pause.started_at, start), min(pause.ended_at or end, end)
        held += max(ended - began, timedelta(0))
    return held


def _due_nudge(
    nudges: Sequence[Nudge],
    updates: Sequence[datetime],
    waits: Sequence[datetime],
    sent: set[str],
) -> Nudge | None:
    """The latest due nudge, unless sent, already answered by a later client update, or
    superseded by a wait on the client begun since (`waits`: when each began)."""
    if not nudges or nudges[-1].key in sent:
        return None
    latest = nudges[-1]
    if any(update > latest.due_at for update in updates):
        return None  # stale: the update it asks for was given meanwhile
    if any(began > latest.due_at for began in waits):
        return None  # stale: put on hold before a sweep sent it; the period restarted at the end
    return latest


def unanswered_nudges(
    session: Session,
    nudges: Sequence[Nudge],
    nudge: Nudge,
    *,
    assignee: str | None,
    reassignments: Sequence[Reassignment] = (),
) -> int:
    """How many nudges were queued (DM or thread post) to `assignee` between the last client
    update and `nudge`, one of `nudges` (in order): those queued while they held the ticket, by
    its `reassignments`, and not dropped by the outbox as moot (nobody got those). A
    technician new to the ticket cannot have ignored the nudges sent to the one before; one
    given back a ticket keeps the nudges they got, so reassigning it back and forth hides
    nothing. Not `nudge.missed - 1`: that counts every nudge that fell due since the update,
    and those due while the bot was down were superseded, not sent. Looked up only for a nudge
    about to be queued, in chunks: a claimed ticket left without an update for days has a long
    run of nudges."""
    end = nudges.index(nudge)
    earlier = [n.key for n in nudges[end - nudge.missed + 1 : end]]
    return sum(
        holder_at(reassignments, queued, assignee) == assignee
        for start in range(0, len(earlier), _KEYS_PER_LOOKUP)
        for queued in queued_at(
            session, set(earlier[start : start + _KEYS_PER_LOOKUP]), dropped=False
        ).values()
    )


# Queries -------------------------------------------------------------------------------------

_CHUNK = 200  # candidates judged per read: a few thousand SLA keys in one IN list at most
_KEYS_PER_LOOKUP = 500  # earlier nudges of one run looked up in the outbox per statement


def list_candidates(session: Session) -> list[int]:
    """Ids of tickets that may owe a warning, a breach announcement or a nudge."""
    running = select(Clock.ticket_id).where(
        Clock.stopped_at.is_(None), Clock.deadline_at.is_not(None)
    )
    claimed = select(Ticket.id).where(Ticket.status == TicketStatus.CLAIMED)
    # A clock stopped late has its credit from the stop on; its breach is owed until announced,
    # however long the bot was down since.
    ids = {ticket_id for ticket_id, _ in unannounced(session)}
    for query in (running, claimed):
        ids.update(session.scalars(query))
    return sorted(ids)


def announced_before(session: Session) -> dict[tuple[int, str], datetime]:
    """The breaches whose credit is not marked announced though their announcement is in the
    outbox, and when it was queued: a credit withdrawn (the clock found met after all) and
    recorded again keeps the announcement its breach had, which is never made twice."""
    breaches = {
        warning_key(f"INT-{ticket_id}", ClockKind(clock), BREACH): (ticket_id, clock)
        for ticket_id, clock in unannounced(session)
    }
    return {breaches[key]: at for key, at in queued_at(session, set(breaches)).items()}


def sent_keys(session: Session, candidates: AbstractSet[str]) -> set[str]:
    """The SLA keys among `candidates` whose messages are already in the outbox (any status)."""
    return set(queued_at(session, candidates))


def queued_at(
    session: Session, candidates: AbstractSet[str], *, dropped: bool = True
) -> dict[str, datetime]:
    """When the messages of those SLA keys among `candidates` already in the outbox (any
    status; not dropped as moot unless `dropped`) were queued: their `/thread` or `/dm` row (a
    reminder has one or the other). A reminder dropped is never queued again: it was moot."""
    if not candidates:
        return {}
    outbox_keys = {f"{key}/{suffix}" for key in candidates for suffix in (THREAD, DM)}
    statement = select(OutboxMessage.key, OutboxMessage.created_at).where(
        OutboxMessage.key.in_(outbox_keys)
    )
    if not dropped:
        statement = statement.where(OutboxMessage.status != OutboxStatus.DROPPED)
    return {key.rsplit("/", 1)[0]: created for key, created in session.execute(statement)}
