"""Tickets: register, claim, update, wait, resume, resolve, reassign, quote, refuse, read.

Every change runs in one transaction that also appends the audit event and queues the thread
post and the root update in the outbox, so the story told in Slack is exactly what was stored.
"""

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cached_property
from typing import Any, NoReturn

from sqlalchemy import ColumnElement, bindparam, case, func, select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session, aliased, joinedload, object_session, selectinload

from bot.config import ServerSpec
from bot.errors import UserFacingError
from bot.grammar import Open, is_ticket_ref, parse_ticket
from bot.messages import Messages
from bot.outbox.moot import Moot, TicketDependency
from bot.services.audit import Actor, add_audit
from bot.services.base import Service
from bot.services.calltime import resolve_call_time
from bot.services.views import (
    Ranking,
    TicketLine,
    TicketView,
    open_pause,
    sla_clock,
    snoozed_until,
    ticket_nudges,
    ticket_view,
)
from bot.sla import (
    AllowanceUsage,
    ClockKind,
    ClockState,
    ClockStatus,
    Snooze,
    TicketKind,
    clock_for,
    counts_towards_allowance,
    month_bounds,
    month_of,
)
from bot.sla.warnings import plan_warnings
from bot.slack import reminders_render, render
from bot.storage.credits import mark_eligible, withdraw_eligible
from bot.storage.database import reading
from bot.storage.models import (
    ALLOWANCE_COUNTED,
    AlertStorm,
    AuditEvent,
    Client,
    ClientTerms,
    Clock,
    Credit,
    CreditState,
    Outage,
    OutboxOperation,
    OutboxStatus,
    Scope,
    Ticket,
    TicketPause,
    TicketSnooze,
    TicketStatus,
)
from bot.storage.nudges import list_snoozes, list_updates
from bot.storage.open_tickets import OPEN_STATUSES, OpenTicketCache
from bot.storage.outbox import (
    Outbound,
    add_message,
    add_messages,
    get_by_keys,
    mark_dropped,
    pending_dms,
)
from bot.storage.probes import servers_down_and_silenced

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reply:
    """What the user who acted sees (ephemeral)."""

    text: str
    blocks: list[dict[str, Any]] | None = field(default=None)


LIST_LIMIT = 30  # lines of `list` and `/sla status`: one screen, the most urgent first
ROOT_RENDERER = "ticket_root"  # the outbox renderer writing ticket roots (`render_root`)


def root_key(ticket_id: int) -> str:
    """Outbox key of a ticket's root message."""
    return f"INT-{ticket_id}/root"


def root_title(ticket: Ticket, client_name: str, messages: Messages) -> str:
    """What a root's row says until the sender writes it: the title, which goes as is if the
    root cannot be written (and is what a failure report quotes)."""
    return render.ticket_title(
        f"INT-{ticket.id}", ticket.kind, ticket.server_id, client_name, ticket.level, messages
    )


def root_edit(ticket_id: int, key: str, fallback: str) -> Outbound:
    """An edit of ticket `ticket_id`'s root, under the outbox key `key`. It is written when it
    is sent (`TicketService.render_root`), and of a root's pending edits only the latest is;
    `fallback` (the title) goes instead if the root cannot be written."""
    return Outbound(
        key=key,
        operation=OutboxOperation.UPDATE,
        target_key=root_key(ticket_id),
        text=fallback,
        render=f"{ROOT_RENDERER}:{ticket_id}",
    )


# The statements of the commands' hot path, built once: building an ORM statement and its
# cache key costs about as much as running it (bench/bench_commands.py).
_TICKET = (
    select(Ticket)
    .where(Ticket.id == bindparam("ticket_id"))
    .options(joinedload(Ticket.clocks), joinedload(Ticket.pauses))
)
_LOCKED_TICKET = _TICKET.with_for_update(of=Ticket)  # the ticket row: outer-joined rows can't be
# `show` reads, with the ticket, what the audit keeps of it that the on-call answering the
# client needs: the note it was closed with (`resolve`/`refuse`), and the amount its credit
# was told at when last moved (requested, granted, declined). One statement, as for any
# ticket: the audit is searched only for a closed ticket, or one whose credit was moved.
_CLOSING_NOTE = case(
    (
        Ticket.status == TicketStatus.RESOLVED,
        select(AuditEvent.details["note"].as_string())
        .where(
            AuditEvent.ticket_id == Ticket.id,
            AuditEvent.action.in_(("ticket.resolved", "ticket.refused")),
        )
        .order_by(AuditEvent.id.desc())
        .limit(1)
        .scalar_subquery(),
    )
)


_CREDIT_MOVED = (
    select(Credit.id)
    .where(Credit.ticket_id == Ticket.id, Credit.state != CreditState.ELIGIBLE)
    .exists()
)


def _credit_moved(field: str) -> ColumnElement[Any]:
    """`field` of the details of the ticket's latest credit move; NULL if none was moved."""
    latest = (
        select(AuditEvent.details[field].as_string())
        .where(
            AuditEvent.ticket_id == Ticket.id,
            AuditEvent.action.in_([f"credit.{state.value}" for state in CreditState]),
        )
        .order_by(AuditEvent.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return case((_CREDIT_MOVED, latest))


_SHOWN = (
    select(Ticket, _CLOSING_NOTE, _credit_moved("clock"), _credit_moved("amount"))
    .where(Ticket.id == bindparam("ticket_id"))
    .options(joinedload(Ticket.clocks), joinedload(Ticket.pauses), joinedload(Ticket.credits))
)
_LOCKED_CLIENT = select(Client.id).where(Client.id == bindparam("client_id")).with_for_update()
# Through the partial index ix_tickets_allowance alone, its condition stated word for word.
_ALLOWANCE_USED = (
    select(Ticket.kind, func.count())
    .where(
        Ticket.client_id == bindparam("client_id"),
        sql_text(ALLOWANCE_COUNTED),
        Ticket.called_at >= bindparam("start"),
        Ticket.called_at < bindparam("end"),
    )
    .group_by(Ticket.kind)
)

_LEVEL_AT = (
    select(ClientTerms.level)
    .where(ClientTerms.client_id == bindparam("client_id"), ClientTerms.since <= bindparam("at"))
    .order_by(ClientTerms.since.desc(), ClientTerms.id.desc())
    .limit(1)
)

# The open tickets of a server, which `open` names so that a duplicate is noticed: `IN` rather
# than `!= resolved` lets ix_tickets_server_status serve it.
_CLIENT_WITH_TICKETS = (  # a client gone from the catalog, whose tickets can still be read
    select(Client.id)
    .where(
        func.lower(Client.id) == func.lower(bindparam("name")),
        select(Ticket.id).where(Ticket.client_id == Client.id).exists(),
    )
    .order_by(Client.id)
    .limit(1)
)
# When the server came back from its first outage ended since a call, unless it is down
# again: what stops the GTR of a call registered late (`open`), in one statement.
_DOWN_AGAIN = aliased(Outage)
_RESTORED_SINCE = select(func.min(Outage.ended_at)).where(
    Outage.server_id == bindparam("server_id"),
    Outage.ended_at >= bindparam("called_at"),
    ~select(_DOWN_AGAIN.id)
    .where(_DOWN_AGAIN.server_id == bindparam("server_id"), _DOWN_AGAIN.ended_at.is_(None))
    .exists(),
)
_OPEN_ON_SERVER = (
    select(Ticket.id, Ticket.kind, Ticket.assignee_id)
    .where(Ticket.server_id == bindparam("server_id"), Ticket.status.in_(OPEN_STATUSES))
    .order_by(Ticket.id)
)


def warning_dm(
    ticket_id: int,
    warning_key: str,
    kind: ClockKind,
    user_id: str,
    text: str,
    blocks: list[dict[str, Any]],
    *,
    key: str | None = None,
) -> Outbound:
    """A warning's DM to `user_id` (`INT-42/gtr/75/dm/U01AAA` unless `key`): moot, and dropped
    by the outbox, once its clock can no longer breach (`TicketDependency`)."""
    depends_on = TicketDependency(ticket_id, user_id, clock=kind.value)
    return Outbound(
        key or f"{warning_key}/dm/{user_id}",
        text,
        channel_id=user_id,
        blocks=blocks,
        depends_on=depends_on.to_json(),
    )


class TicketService(Service):
    """The ticket use cases; `wake` is called after each commit that queued messages."""

    @cached_property
    def _maintenance_watchers(self) -> list[Callable[[str], None]]:
        return []

    def watch_maintenance(self, watcher: Callable[[str], None]) -> None:
        """Call `watcher(server_id)` after each commit that opened or closed a maintenance
        ticket on a server: an outage of the server pages the on-call only when none is open."""
        self._maintenance_watchers.append(watcher)

    def _maintenance_changed(self, kind: str, server_id: str | None) -> None:
        if kind != TicketKind.MAINTENANCE.value or server_id is None:
            return
        for watcher in self._maintenance_watchers:
            try:
                watcher(server_id)
            except Exception:  # the ticket is committed: its reply must still say so
                logger.exception("after a maintenance ticket on %s changed", server_id)

    @cached_property
    def _open_tickets(self) -> OpenTicketCache:
        """What `list` and `/sla status` read: only the tickets changed since the last read are
        reloaded (every change goes through `_record`, which bumps the ticket's revision)."""
        return OpenTicketCache()

    @cached_property
    def _ranking(self) -> Ranking:
        """Sorts the open tickets by urgency; only the shown ones are then read in full."""
        return Ranking(self.catalog)

    # Transactions ------------------------------------------------------------------------------

    def _load(self, session: Session, ticket_id: int, *, lock: bool = True) -> Ticket:
        """The ticket with its clocks and pauses, locked for the transaction unless `lock` is
        False (reads). An act reads the clock after it: an instant read before it waited for the
        lock can precede what the act it waited for committed (a wait ended before it began)."""
        query = _LOCKED_TICKET if lock else _TICKET
        ticket = session.scalars(query, {"ticket_id": ticket_id}).unique().one_or_none()
        if ticket is None:
            raise UserFacingError("ticket.not_found", id=ticket_id)
        return ticket

    def _now_for(self, ticket: Ticket) -> datetime:
        """The instant of an act on `ticket` (loaded with its clocks and pauses): now, or its
        latest recorded instant when this instance's clock reads earlier (another instance's
        runs ahead, or this one was stepped back). The ticket's evidence stays in order: a
        wait never ends before it began, nor a clock stops before it starts."""
        recorded = [ticket.registered_at, ticket.claimed_at, ticket.last_update_at]
        recorded += [at for pause in ticket.pauses for at in (pause.started_at, pause.ended_at)]
        recorded += [clock.stopped_at for clock in ticket.clocks]
        return max([self._clock(), *(at for at in recorded if at is not None)])

    def _view(self, session: Session, ticket: Ticket, now: datetime) -> TicketView:
        return ticket_view(ticket, self._client_name(session, ticket.client_id), self.catalog, now)

    def open_on(self, server_id: str) -> list[render.OpenTicket]:
        """The server's open tickets, oldest first: what the Open intervention modal names."""
        with reading(self._sessions) as session:
            return self._open_on(session, server_id)

    def _open_on(self, session: Session, server_id: str) -> list[render.OpenTicket]:
        return [
            render.OpenTicket(f"INT-{row.id}", row.kind, row.assignee_id)
            for row in session.connection().execute(_OPEN_ON_SERVER, {"server_id": server_id})
        ]

    def require_open(self, ticket_id: int) -> None:
        """UserFacingError unless ticket `ticket_id` exists and is open: checked before a modal
        asks for text that would then be refused."""
        with reading(self._sessions) as session:
            self._require_open(self._load(session, ticket_id, lock=False))

    def _client_words(self, session: Session, client_id: str) -> str:
        """The client as a list's header names it: by its name, escaped."""
        return render.escape(self._client_name(session, client_id))

    def _client_name(self, session: Session, client_id: str) -> str:
        """From the catalog; from the database for a client the catalog no longer has."""
        spec = next((c for c in self.catalog.clients if c.id == client_id), None)
        if spec is not None:
            return spec.name
        client = session.get(Client, client_id)
        return client.name if client is not None else client_id

    # Outbox ------------------------------------------------------------------------------------

    def _post_root(self, session: Session, ticket: Ticket, *, now: datetime) -> None:
        """Queue the root message, written when it is sent (`render_root`)."""
        key = root_key(ticket.id)
        thread = ticket.thread_key if ticket.thread_key != key else None
        message = Outbound(
            key=key,
            text=self._root_fallback(session, ticket),
            render=f"{ROOT_RENDERER}:{ticket.id}",
            channel_id=self.catalog.team.alerts_channel,
            thread_key=thread,
        )
        add_message(session, message, now=now)

    def _root_edit(self, session: Session, ticket: Ticket) -> Outbound:
        """The root's edit, keyed by the ticket's revision (bumped by _record)."""
        key = f"{root_key(ticket.id)}/r{ticket.revision}"
        return root_edit(ticket.id, key, self._root_fallback(session, ticket))

    def _root_fallback(self, session: Session, ticket: Ticket) -> str:
        return root_title(ticket, self._client_name(session, ticket.client_id), self._messages)

    def render_root(self, session: Session, ticket_id: str) -> tuple[str, list[dict[str, Any]]]:
        """The root message of ticket `ticket_id` as it is now: the outbox's renderer for
        roots, called with a read session when the message is sent."""
        ticket = self._load(session, int(ticket_id), lock=False)
        view = self._view(session, ticket, self._clock())
        return render.ticket_root(view, self._messages, self._zone)

    def _thread_post(self, ticket: Ticket, event_id: int, text: str) -> Outbound:
        """`text` told in the ticket's thread, keyed by the audit event that records it."""
        return Outbound(
            key=f"INT-{ticket.id}/event/{event_id}",
            text=text,
            channel_id=self.catalog.team.alerts_channel,
            thread_key=ticket.thread_key,
        )

    def _record(
        self,
        session: Session,
        ticket: Ticket,
        actor: Actor,
        action: str,
        text: str,
        *,
        now: datetime,
        details: dict[str, Any] | None = None,
    ) -> None:
        """Audit, refresh cached deadlines, bump the revision, tell the thread and update the
        root. Every change to a ticket, its clocks or its pauses comes through here: the
        revision keys the root's edits and `OpenTicketCache`'s records."""
        self._refresh_deadlines(ticket, now)
        ticket.revision += 1  # flushed with the ticket's other changes, in one UPDATE
        event_id = add_audit(
            session, actor, action, at=now, ticket_id=ticket.id, details=details or {}
        )
        told = self._thread_post(ticket, event_id, text)
        add_messages(session, [told, self._root_edit(session, ticket)], now=now)

    def _refresh_deadlines(self, ticket: Ticket, now: datetime) -> None:
        for row in ticket.clocks:
            clock = sla_clock(row, ticket.pauses, self.catalog)
            deadline = clock.deadline(now) if row.stopped_at is None else None
            # A paused clock's deadline moves with `now`, unless it passed before the pause
            # began: that breach stays due, and the reminders sweep must still find it.
            if deadline is not None and clock.is_paused and deadline > now:
                deadline = None
            if deadline != row.deadline_at:  # an unchanged clock stays out of the flush
                row.deadline_at = deadline

    # Use cases ---------------------------------------------------------------------------------

    def refuse_unauthorized(
        self, actor: Actor, action: str, *, ticket_id: int | None = None
    ) -> None:
        """Audit a refused attempt, in the timeline of the ticket it aimed at when that ticket
        exists; the caller then tells the user."""
        with self._transaction() as session:
            if ticket_id is not None and session.get(Ticket, ticket_id) is None:
                ticket_id = None  # a made-up ref: the command text still names it
            details = {"attempted": action}
            add_audit(
                session, actor, "refused", at=self._clock(), ticket_id=ticket_id, details=details
            )

    def server(self, server_id: str) -> ServerSpec:
        """The catalog's server `server_id` (any case); UserFacingError naming those it has if
        none."""
        spec = self.catalog.find_server(server_id)
        if spec is None:
            ids = [s.id for s in self.catalog.servers]
            known = render.known_names(ids, server_id, self._messages)
            raise UserFacingError("ticket.unknown_server", server=server_id, known=known)
        return spec

    def open(self, actor: Actor, command: Open, *, outage_id: int | None = None) -> Reply:
        """Register a ticket; out of scope when the client's allowance is used up. Opened from
        outage `outage_id`, it joins that outage's thread (its storm's, for a storm member),
        unless it is about another server."""
        spec = self.server(command.server_id)
        now = self._clock()
        called_at = resolve_call_time(command.at, now=now, zone=self._zone)
        with self._transaction() as session:
            # Lock the client so two tickets opened at once cannot both take the last slot.
            session.execute(_LOCKED_CLIENT, {"client_id": spec.client})
            # The contract the client called under: a call backdated across a change of level
            # runs on the delays it was made under, as its month's allowance is that month's.
            level_name = self._level_at(session, spec.client, called_at, now=now)
            level = self.catalog.levels[level_name]
            outage = session.get(Outage, outage_id) if outage_id is not None else None
            if outage is not None and outage.server_id != spec.id:
                outage = None  # the server was changed in the modal: not that outage's ticket
            # Under the client's lock: of two technicians taking the same call, the second is
            # told about the first one's ticket.
            others = self._open_on(session, spec.id)
            usage = self._allowance(session, spec.client, called_at, now=now)
            out_of_scope = counts_towards_allowance(command.kind) and usage.exhausted
            ticket = Ticket(
                client_id=spec.client,
                server_id=spec.id,
                kind=command.kind.value,
                level=level_name,
                description=command.description,
                status=TicketStatus.OPEN,
                scope=Scope.PENDING if out_of_scope else Scope.IN,
                called_at=called_at,
                registered_at=now,
                opened_by=actor.user_id,
                outage_id=outage.id if outage is not None else None,
                channel_id=self.catalog.team.alerts_channel,
                revision=0,
                clocks=[],  # known empty: no lazy load when the clock is appended and read
                pauses=[],
            )
            session.add(ticket)
            session.flush()
            ticket.thread_key = self._outage_thread(session, outage) or root_key(ticket.id)
            if not out_of_scope:
                kind = clock_for(command.kind)
                ticket.clocks.append(
                    Clock(
                        kind=kind.value,
                        budget_seconds=int(level.budget_for(kind.value).total_seconds()),
                        calendar=level.calendar_for(kind.value),
                        started_at=called_at,
                    )
                )
            self._refresh_deadlines(ticket, now)
            add_audit(
                session,
                actor,
                "ticket.opened",
                at=now,
                ticket_id=ticket.id,
                server_id=spec.id,
                details={
                    "kind": command.kind.value,
                    "called_at": called_at.isoformat(),
                    "scope": ticket.scope.value,
                    "allowance_used": usage.used,
                    "allowance": usage.allowance,
                },
            )
            session.flush()
            self._post_root(session, ticket, now=now)
            if spec.probes and ticket.clocks and ticket.clocks[0].kind == ClockKind.GTR.value:
                # A call registered late, once the probes had already seen the server back:
                # its GTR stops there, as it would have had the ticket been registered on time.
                # Not while the server is down again: that outage is what the call is about,
                # and its recovery stops the GTR.
                restored_at = session.scalar(
                    _RESTORED_SINCE, {"server_id": spec.id, "called_at": called_at}
                )
                if restored_at is not None:
                    self._stop_gtr_restored(session, ticket, restored_at, now)
            view = self._view(session, ticket, now)
        self._maintenance_changed(command.kind.value, spec.id)
        if out_of_scope:
            text = self._messages.get(
                "ticket.opened_out_of_scope",
                ref=view.ref,
                client=render.escape(view.client_name),
                used=usage.used,
                allowed=usage.allowance,
                # A call backdated across midnight may count against last month's allowance.
                month=self._messages.month(usage.year, usage.month),
            )
        else:
            text = self._messages.get(
                "ticket.opened",
                ref=view.ref,
                kind=self._messages.get(f"kind.{view.kind.value}"),
                server=view.server_id,
                client=render.escape(view.client_name),
                called=render.local_time(called_at, self._zone),
                clock=render.clock_line(view.clock, self._messages, self._zone),
            )
        if others:  # not refused: two tickets on one server may both be right
            text += "\n" + render.already_open(spec.id, view.ref, others, self._messages)
        return Reply(text)

    @staticmethod
    def _outage_thread(session: Session, outage: Outage | None) -> str | None:
        """Where the team follows `outage`: its root, or its storm's for a storm member (which
        has no root of its own); None without an outage."""
        if outage is None:
            return None
        if outage.root_key is not None or outage.storm_id is None:
            return outage.root_key
        storm = session.get(AlertStorm, outage.storm_id)
        return storm.root_key if storm is not None else None

    def claim(self, actor: Actor, ticket_id: int) -> Reply:
        """Assign the caller and stop GTI at the commit; exactly one of concurrent claims wins."""
        with self._transaction() as session:
            ticket = self._load(session, ticket_id)
            now = self._now_for(ticket)
            self._require_workable(ticket)
            # Read under the ticket's lock, which a concurrent claim waits for: it then reads
            # this one's commit and is refused here. The claim goes in the flush's one UPDATE.
            if ticket.claimed_at is not None:
                self._refuse_claimed(ticket, actor)
            ticket.assignee_id, ticket.claimed_at = actor.user_id, now
            if ticket.status is TicketStatus.OPEN:
                ticket.status = TicketStatus.CLAIMED
            gti = self._stop_clock(ticket, ClockKind.GTI, now, actor.user_id)
            text = self._claim_text(ticket, actor.user_id, gti, now)
            text += self._still_waiting(ticket, now)
            self._record(
                session,
                ticket,
                actor,
                "ticket.claimed",
                text,
                now=now,
                details=self._clock_details(ticket, gti, now),
            )
        return Reply(text)

    @staticmethod
    def _close(ticket: Ticket, now: datetime, actor: Actor) -> TicketPause | None:
        """Resolved (or refused) by `actor` at `now`: closed, it waits on the client no more.
        The wait on the client this ends, if any."""
        ticket.status = TicketStatus.RESOLVED
        ticket.resolved_at, ticket.resolved_by = now, actor.user_id
        pause = open_pause(ticket.pauses)
        if pause is not None:
            pause.ended_at, pause.ended_by = now, actor.user_id
        return pause

    def _wait_ended(self, pause: TicketPause | None, details: dict[str, Any]) -> str:
        """What closing a ticket says of the wait on the client it ended (nothing without
        one), told as `resume` tells it; its start and length go in the audit's `details`."""
        if pause is None or pause.ended_at is None:
            return ""
        paused = pause.ended_at - pause.started_at
        details["wait_ended"] = {
            "started_at": pause.started_at.isoformat(),
            "paused_seconds": int(paused.total_seconds()),
        }
        return self._messages.get(
            "ticket.wait_ended",
            since=render.local_time(pause.started_at, self._zone),
            paused=render.duration(paused, self._messages),
        )

    @staticmethod
    def _refuse_claimed(ticket: Ticket, actor: Actor) -> NoReturn:
        mine = ticket.assignee_id == actor.user_id
        raise UserFacingError(
            "ticket.already_yours" if mine else "ticket.already_claimed",
            ref=f"INT-{ticket.id}",
            user=ticket.assignee_id,
        )

    def update(self, actor: Actor, ticket_id: int, text: str) -> Reply:
        """Record a client update (it restarts the nudge period)."""
        with self._transaction() as session:
            ticket = self._load(session, ticket_id)
            now = self._now_for(ticket)
            self._require_open(ticket)
            ticket.last_update_at = now
            said = self._messages.get(
                "ticket.updated",
                ref=f"INT-{ticket.id}",
                user=actor.user_id,
                text=render.escape(text),
            )
            self._record(
                session, ticket, actor, "ticket.updated", said, now=now, details={"text": text}
            )
        return Reply(said)

    def wait(self, actor: Actor, ticket_id: int, reason: str) -> Reply:
        """Pause the running clock (and nudges) while waiting on the client."""
        with self._transaction() as session:
            ticket = self._load(session, ticket_id)
            now = self._now_for(ticket)
            self._require_open(ticket)
            if ticket.status is TicketStatus.WAITING:
                raise UserFacingError("ticket.already_waiting", ref=f"INT-{ticket.id}")
            ticket.pauses.append(
                TicketPause(started_at=now, reason=reason, started_by=actor.user_id)
            )
            ticket.status = TicketStatus.WAITING
            running = [clock for clock in ticket.clocks if clock.stopped_at is None]
            said = self._messages.get(
                "ticket.waiting" if running else "ticket.waiting_no_clock",
                ref=f"INT-{ticket.id}",
                user=actor.user_id,
                text=render.sentence(render.escape(reason)),
            )
            for row in running:
                # A pause does not save a clock already past its deadline: saying "paused"
                # would read as if the wait stopped the count.
                status = sla_clock(row, ticket.pauses, self.catalog).status(now)
                if status.state is ClockState.BREACHED:
                    said = self._messages.get(
                        "ticket.waiting_breached",
                        ref=f"INT-{ticket.id}",
                        user=actor.user_id,
                        text=render.sentence(render.escape(reason)),
                        clock=row.kind.upper(),
                        deadline=render.local_time(status.deadline, self._zone),
                    )
            self._record(
                session, ticket, actor, "ticket.waiting", said, now=now, details={"reason": reason}
            )
        return Reply(said)

    def resume(self, actor: Actor, ticket_id: int) -> Reply:
        """End the wait on the client: the clock runs again."""
        with self._transaction() as session:
            ticket = self._load(session, ticket_id)
            now = self._now_for(ticket)
            self._require_open(ticket)
            pause = open_pause(ticket.pauses)
            if ticket.status is not TicketStatus.WAITING or pause is None:
                raise UserFacingError("ticket.not_waiting", ref=f"INT-{ticket.id}")
            pause.ended_at, pause.ended_by = now, actor.user_id
            ticket.status = TicketStatus.CLAIMED if ticket.claimed_at else TicketStatus.OPEN
            paused = now - pause.started_at
            said = self._messages.get(
                "ticket.resumed",
                ref=f"INT-{ticket.id}",
                user=actor.user_id,
                paused=render.duration(paused, self._messages),
            )
            self._record(
                session, ticket, actor, "ticket.resumed", said, now=now,
                details={"paused_seconds": int(paused.total_seconds())},
            )  # fmt: skip
        return Reply(said)

    def resolve(self, actor: Actor, ticket_id: int, note: str, *, confirmed: bool = False) -> Reply:
        """End the ticket; stops GTR unless probes still see the server down (then ask)."""
        with self._transaction() as session:
            ticket = self._load(session, ticket_id)
            now = self._now_for(ticket)
            if confirmed and ticket.status is TicketStatus.RESOLVED:  # clicked again, or late
                raise UserFacingError(
                    "ticket.confirmation_stale", ref=f"INT-{ticket.id}", user=ticket.resolved_by
                )
            self._require_workable(ticket)
            gtr_running = any(
                c.kind == ClockKind.GTR.value and c.stopped_at is None for c in ticket.clocks
            )
            if gtr_running and not confirmed and self._server_down(session, ticket.server_id):
                text = self._messages.get(
                    "ticket.still_down", ref=f"INT-{ticket.id}", server=ticket.server_id
                )
                view = self._view(session, ticket, now)
                return Reply(*render.resolve_anyway(view, text, self._messages, note))
            gti = None
            if ticket.claimed_at is None:  # resolving is intervening: it claims first
                ticket.assignee_id, ticket.claimed_at = actor.user_id, now
                gti = self._stop_clock(ticket, ClockKind.GTI, now, actor.user_id)
            gtr = self._stop_clock(ticket, ClockKind.GTR, now, actor.user_id)
            ended = self._close(ticket, now, actor)
            details = {"note": note, "confirmed_while_down": confirmed and gtr is not None}
            details |= self._clock_details(ticket, gtr or gti, now)
            said = self._messages.get(
                "ticket.resolved_by",
                ref=f"INT-{ticket.id}",
                user=actor.user_id,
                clock=self._verdict_text("ticket.gti_stopped", ticket, gti, now)
                + self._verdict_text("ticket.gtr_stopped", ticket, gtr, now),
                wait=self._wait_ended(ended, details),
                note=self._note(note),
            )
            self._record(session, ticket, actor, "ticket.resolved", said, now=now, details=details)
        self._maintenance_changed(ticket.kind, ticket.server_id)
        return Reply(said)

    def reassign(self, actor: Actor, ticket_id: int, user_id: str) -> Reply:
        """Give a claimed ticket to another technician."""
        with self._transaction() as session:
            ticket = self._load(session, ticket_id)
            now = self._now_for(ticket)
            self._require_open(ticket)
            if ticket.claimed_at is None:
                raise UserFacingError("ticket.not_claimed", ref=f"INT-{ticket.id}")
            if ticket.assignee_id == user_id:  # nothing would change: no thread post, no audit
                raise UserFacingError(
                    "ticket.already_assigned", ref=f"INT-{ticket.id}", user=user_id
                )
            previous = ticket.assignee_id
            ticket.assignee_id = user_id
            if previous is not None:
                self._hand_over_warnings(session, ticket, previous, now)
            said = self._messages.get(
                "ticket.reassigned", ref=f"INT-{ticket.id}", user=user_id, by=actor.user_id
            )
            self._record(
                session, ticket, actor, "ticket.reassigned", said, now=now,
                details={"from": previous, "to": user_id},
            )  # fmt: skip
        return Reply(said)

    def _hand_over_warnings(
        self, session: Session, ticket: Ticket, previous: str, now: datetime
    ) -> None:
        """The warnings queued for `previous` and not delivered yet, handed over to the new
        assignee with the reassignment. Those never attempted are dropped (`reassigned`):
        the ticket is not theirs any more. One attempted stays (its call may have reached
        Slack), but may never arrive. The new assignee, who owns the clock now, is sent the
        latest of each running clock, as it stands now (a warning's key is taken once queued:
        no sweep would send it again). One delivered is not told again: see
        docs/reminders.md."""
        latest: dict[str, str] = {}  # clock -> the warning key of its latest undelivered DM
        for row in pending_dms(session, f"{ticket.ref}/", previous):
            depends_on = row.depends_on or {}
            clock = depends_on.get("clock")
            if clock is None or depends_on.get("ticket") != ticket.id:
                continue  # not a warning's page (a breach's DM to on-call records history)
            if row.attempts == 0:
                mark_dropped(session, row.id, seen_attempts=0, reason=Moot.REASSIGNED)
            latest[clock] = row.key.rsplit("/dm/", 1)[0]
        assignee = ticket.assignee_id
        if not latest or assignee is None:
            return
        subject = reminders_render.Subject(
            ticket_id=ticket.id,
            ref=ticket.ref,
            server_id=ticket.server_id,
            client_name=self._client_name(session, ticket.client_id),
            assignee_id=assignee,
        )
        for stored in ticket.clocks:
            warning_key = latest.get(stored.kind)
            if warning_key is None or stored.stopped_at is not None:
                continue
            kind = ClockKind(stored.kind)
            clock = sla_clock(stored, ticket.pauses, self.catalog)
            planned = plan_warnings(ticket.ref, kind, clock, self.catalog.policy, now)
            warning = next((w for w in planned if w.key == warning_key), None)
            if warning is None or warning.is_breach:
                continue  # the policy changed since: the next sweep warns by the new one
            key = f"{warning.key}/dm/{assignee}"
            had = get_by_keys(session, {key}).get(key)
            if had is not None and had.status is not OutboxStatus.DROPPED:
                continue  # given back a ticket: they got it, or will
            if had is not None:  # dropped when they handed the ticket over before
                key = f"{key}/{ticket.revision}"
            status = clock.status(now)
            text, blocks = reminders_render.warning_message(
                subject,
                kind,
                warning,
                remaining=status.remaining,
                deadline=status.deadline,
                late=False,
                messages=self._messages,
                zone=self._zone,
            )
            dm = warning_dm(ticket.id, warning.key, kind, assignee, text, blocks, key=key)
            add_message(session, dm, now=now)

    def settle_scope(self, actor: Actor, ticket_id: int, *, quote: bool, note: str) -> Reply:
        """Record the quote or the refusal of an out-of-scope ticket.

        On an open ticket within the contract, it also records that the request is outside the
        forfait (installing new software, say: DOMAIN.md), which gets no guaranteed delay: its
        clocks are withdrawn, with the credits their breach made eligible, and it no longer
        counts towards the month's allowance.
        """
        details: dict[str, Any] = {"note": note}
        left = ""
        with self._transaction() as session:
            ticket = self._load(session, ticket_id)
            now = self._now_for(ticket)
            kind = TicketKind(ticket.kind)
            if ticket.scope is Scope.IN and not counts_towards_allowance(kind):
                # Hardware and network: within the contract whatever the request is.
                raise UserFacingError(
                    "ticket.always_in_scope",
                    ref=f"INT-{ticket.id}",
                    kind=self._messages.get(f"kind.{kind.value}"),
                )
            if ticket.scope is Scope.IN and ticket.status is not TicketStatus.RESOLVED:
                details["left_forfait"] = self._leave_forfait(session, ticket, now)
                withdrawn = details["left_forfait"]["credits_withdrawn"]
                left = self._messages.get(
                    "ticket.left_forfait",
                    credits=self._messages.get("ticket.credits_withdrawn") if withdrawn else "",
                )
            elif ticket.scope is not Scope.PENDING:
                raise UserFacingError("ticket.not_out_of_scope", ref=f"INT-{ticket.id}")
            values = {"ref": f"INT-{ticket.id}", "user": actor.user_id, "left": left}
            if quote:
                ticket.scope = Scope.QUOTED
            else:
                ticket.scope = Scope.REFUSED
                values["wait"] = self._wait_ended(self._close(ticket, now, actor), details)
            key = "ticket.quoted" if quote else "ticket.refused"
            said = self._messages.get(key, **values, note=self._note(note))
            action = "ticket.quoted" if quote else "ticket.refused"
            self._record(session, ticket, actor, action, said, now=now, details=details)
        if not quote:
            self._maintenance_changed(ticket.kind, ticket.server_id)
        return Reply(said)

    def _leave_forfait(self, session: Session, ticket: Ticket, now: datetime) -> dict[str, Any]:
        """Withdraw the clocks of `ticket` and their eligible credits; what they were, for the
        audit. Refused while a credit is requested or granted: the client was told of it."""
        credits = session.scalars(select(Credit).where(Credit.ticket_id == ticket.id)).all()
        for credit in credits:
            if credit.state in (CreditState.REQUESTED, CreditState.GRANTED):
                raise UserFacingError(
                    f"ticket.credit_{credit.state.value}",
                    ref=f"INT-{ticket.id}",
                    clock=credit.clock.upper(),
                )
        clocks = [self._clock_details(ticket, clock, now) for clock in ticket.clocks]
        withdrawn = [
            credit.clock
            for credit in credits
            if withdraw_eligible(session, ticket_id=ticket.id, clock=credit.clock)
        ]
        for clock in list(ticket.clocks):
            ticket.clocks.remove(clock)
            session.delete(clock)
        return {"clocks": clocks, "credits_withdrawn": withdrawn}

    # Reading -----------------------------------------------------------------------------------

    def show(self, ticket_id: int) -> Reply:
        """The ticket's root, with who registered it, the wait on the client it is in, who
        closed it when and with what note, and its credits: read in one statement."""
        with reading(self._sessions) as session:
            now = self._clock()
            row = session.execute(_SHOWN, {"ticket_id": ticket_id}).unique().one_or_none()
            if row is None:
                raise UserFacingError("ticket.not_found", id=ticket_id)
            ticket, note, moved_clock, moved_amount = row
            view = self._view(session, ticket, now)
        pause = open_pause(ticket.pauses)
        waiting = (
            None
            if pause is None
            else render.Waiting(pause.started_at, pause.reason, pause.started_by)
        )
        closed = None
        if ticket.resolved_at is not None:
            closed = render.Closed(ticket.resolved_at, ticket.resolved_by, note or "")
        credits = [_shown_credit(credit, moved_clock, moved_amount) for credit in ticket.credits]
        text, blocks = render.ticket_details(
            view, self._messages, self._zone, waiting=waiting, closed=closed, credits=credits
        )
        return Reply(text, blocks)

    def list_tickets(self, scope: str, *, user_id: str) -> Reply:
        """Open tickets, most urgent first: all, mine, or a client's."""
        now = self._clock()
        with reading(self._sessions) as session:
            if scope == "open":
                urgent = self._most_urgent(session, now)
                what = _What("list.what.open")
            elif scope == "mine":
                urgent = self._most_urgent(session, now, assignee_id=user_id)
                what = _What("list.what.mine")
            else:
                client = self._find_client(session, scope, unknown="list.unknown_client")
                urgent = self._most_urgent(session, now, client_id=client)
                what = _What("list.what.client", client=self._client_words(session, client))
        return self._list_reply(urgent, what, footer=[])

    def status(self, target: str | None) -> Reply:
        """`/sla status`: open tickets by urgency with clocks, and the clients' allowances."""
        if target is not None and is_ticket_ref(target):  # not `intermarche`, a client
            return self.show(parse_ticket(target))
        now = self._clock()
        with reading(self._sessions) as session:
            if target is None:
                urgent = self._most_urgent(session, now)
                what = _What("list.what.open")
                clients = urgent.clients
                servers = [s.id for s in self.catalog.servers]
            elif (server := self.catalog.find_server(target)) is not None:
                urgent = self._most_urgent(session, now, server_id=server.id)
                what = _What("list.what.server", server=server.id)
                clients = [server.client]
                servers = [server.id]
            else:
                client = self._find_client(session, target)
                urgent = self._most_urgent(session, now, client_id=client)
                what = _What("list.what.client", client=self._client_words(session, client))
                clients = [client]
                servers = [s.id for s in self.catalog.servers if s.client == client]
            down, silenced = servers_down_and_silenced(session, servers, now)
            notes = render.monitoring_lines(down, silenced, self._messages, self._zone, now)
            # A client gone from the catalog keeps its tickets, but has no allowance any more.
            known = {client.id for client in self.catalog.clients}
            footer = [self._allowance_line(session, c, now) for c in clients if c in known]
        return self._list_reply(urgent, what, footer=footer, notes=notes)

    def _list_reply(
        self,
        urgent: "_Urgent",
        what: "_What",
        *,
        footer: list[str],
        notes: Sequence[str] = (),
    ) -> Reply:
        """The reply of `list` and `/sla status`; `notes` (servers down or silenced) come
        first."""
        if not urgent.count:
            text = self._messages.get("list.empty", what=what.words(self._messages, 1))
            if not notes:
                return Reply("\n".join([text, *footer]))
            # A storm before any ticket: its servers in blocks, as with tickets open.
            return Reply(
                *render.ticket_list(text, [], self._messages, self._zone, footer, notes=notes)
            )
        header = self._messages.get(
            f"list.header.{_number(urgent.count)}",
            count=urgent.count,
            what=what.words(self._messages, urgent.count),
        )
        if more := urgent.count - len(urgent.lines):  # one screen: the most urgent, and the rest
            footer = [self._messages.get(f"list.more.{_number(more)}", more=more), *footer]
        text, blocks = render.ticket_list(
            header, urgent.lines, self._messages, self._zone, footer, notes=notes
        )
        return Reply(text, blocks)

    def _most_urgent(
        self,
        session: Session,
        now: datetime,
        *,
        client_id: str | None = None,
        server_id: str | None = None,
        assignee_id: str | None = None,
    ) -> "_Urgent":
        """The open tickets (all, or those of a client, server or assignee) ranked by urgency,
        the first `LIST_LIMIT` of them read for their lines."""
        tickets = self._open_tickets.read(
            session, client_id=client_id, server_id=server_id, assignee_id=assignee_id
        )
        shown = self._ranking.rank(tickets, now)[:LIST_LIMIT]
        return _Urgent(
            lines=[self._ranking.line(t, now) for t in shown],
            count=len(tickets),
            clients=sorted({t.client_id for t in tickets}),
        )

    def _find_client(
        self, session: Session, text: str, *, unknown: str = "ticket.unknown_client"
    ) -> str:
        """The id of client `text` (any case) for reading its tickets: one of the catalog, or
        one it no longer has but whose tickets the database keeps (they may still be open);
        UserFacingError `unknown` if neither."""
        for client in self.catalog.clients:
            if client.id.lower() == text.lower():
                return client.id
        removed = session.scalar(_CLIENT_WITH_TICKETS, {"name": text})
        if removed is not None:
            return removed
        ids = [c.id for c in self.catalog.clients]
        known = render.known_names(ids, text, self._messages)
        raise UserFacingError(unknown, value=text[:64], known=known)

    def _allowance_line(self, session: Session, client_id: str, now: datetime) -> str:
        usage = self._allowance(session, client_id, now, now=now)
        client = self.catalog.client(client_id)
        return self._messages.get(
            "status.allowance",
            client=render.escape(client.name),
            level=render.escape(client.level),
            used=usage.used,
            allowed=usage.allowance,
        )

    def _allowance(
        self, session: Session, client_id: str, at: datetime, *, now: datetime
    ) -> AllowanceUsage:
        """The client's allowance in the month of `at` (counted in SQL: months hold many), as
        the month's report counts it: that of the level in force at the month's end, or `now`
        for the month under way."""
        year, month = month_of(at, self._zone)
        start, end = month_bounds(year, month, self._zone)
        # Plain rows, without the ORM's result machinery (nor its autoflush: callers count
        # before they add a ticket).
        parameters = {"client_id": client_id, "start": start, "end": end}
        rows = session.connection().execute(_ALLOWANCE_USED, parameters)
        by_kind = {TicketKind(kind): count for kind, count in rows}
        level = self._level_at(session, client_id, end - timedelta(microseconds=1), now=now)
        allowance = self.catalog.levels[level].monthly_interventions
        return AllowanceUsage(year, month, allowance, sum(by_kind.values()), by_kind)

    def _level_at(self, session: Session, client_id: str, at: datetime, *, now: datetime) -> str:
        """The client's level in force at `at`: the catalog's from `now` on, else the one its
        recorded terms (`client_terms`, written when the catalog changes it) give then. A
        client without terms as old as `at` has the catalog's."""
        current = self.catalog.client(client_id).level
        if at >= now:
            return current
        level = session.scalar(_LEVEL_AT, {"client_id": client_id, "at": at})
        return level if level is not None and level in self.catalog.levels else current

    # Rules -------------------------------------------------------------------------------------

    def _require_open(self, ticket: Ticket) -> None:
        if ticket.status is TicketStatus.RESOLVED:
            key = "ticket.closed_refused" if ticket.scope is Scope.REFUSED else "ticket.resolved"
            raise UserFacingError(key, ref=f"INT-{ticket.id}")

    def _require_workable(self, ticket: Ticket) -> None:
        """Open, and not waiting for a quote-or-refuse decision."""
        self._require_open(ticket)
        if ticket.scope is Scope.PENDING:
            raise UserFacingError("ticket.scope_pending", ref=f"INT-{ticket.id}")

    def _server_down(self, session: Session, server_id: str | None) -> bool:
        """Whether probes see the server down now: an open outage of a server the catalog
        still probes."""
        if not self.catalog.probes_server(server_id):
            return False
        open_outages = session.scalar(
            select(func.count())
            .select_from(Outage)
            .where(Outage.server_id == server_id, Outage.ended_at.is_(None))
        )
        return bool(open_outages)

    def _stop_clock(self, ticket: Ticket, kind: ClockKind, at: datetime, by: str) -> Clock | None:
        """Stop the ticket's running clock of `kind`; the stopped row, or None if none ran.

        A clock stopped after its deadline makes its credit eligible, in the same transaction.
        """
        row = next(
            (c for c in ticket.clocks if c.kind == kind.value and c.stopped_at is None), None
        )
        if row is None:
            return None
        row.stopped_at, row.stopped_by = at, by
        status = sla_clock(row, ticket.pauses, self.catalog).status(at)
        if status.state is ClockState.BREACHED:
            session = object_session(ticket)
            assert session is not None
            mark_eligible(
                session,
                ticket_id=ticket.id,
                clock=row.kind,
                client_id=ticket.client_id,
                breached_at=status.deadline,
                now=at,
                by=by,
            )
        return row

    def _claim_text(self, ticket: Ticket, user_id: str, gti: Clock | None, now: datetime) -> str:
        if gti is None:
            return self._messages.get("ticket.claimed", ref=f"INT-{ticket.id}", user=user_id)
        status = sla_clock(gti, ticket.pauses, self.catalog).status(now)
        budget = timedelta(seconds=gti.budget_seconds)
        return self._messages.get(
            _after_close("ticket.claimed_gti", status, budget),
            ref=f"INT-{ticket.id}",
            user=user_id,
            verdict=self._messages.get(
                "verdict.met" if status.state is ClockState.MET else "verdict.breached"
            ),
            taken=render.taken(status.consumed, budget, self._messages),
            budget=render.duration(budget, self._messages),
            deadline=render.local_time(status.deadline, self._zone),
        )

    def _still_waiting(self, ticket: Ticket, now: datetime) -> str:
        """What a claim adds about a wait on the client it does not end: nothing resumes the
        clock (or the nudges) but `/intervention resume`. A clock breached before the wait is
        not paused by it: only the nudges wait then."""
        pause = open_pause(ticket.pauses)
        if pause is None:
            return ""
        running = any(
            clock.stopped_at is None
            and sla_clock(clock, ticket.pauses, self.catalog).state(now) is ClockState.PAUSED
            for clock in ticket.clocks
        )
        return self._messages.get(
            "ticket.claimed_paused" if running else "ticket.claimed_waiting",
            since=render.local_time(pause.started_at, self._zone),
            reason=render.escape(pause.reason),
            id=ticket.id,
        )

    def _verdict_text(self, key: str, ticket: Ticket, row: Clock | None, now: datetime) -> str:
        if row is None:
            return ""
        status = sla_clock(row, ticket.pauses, self.catalog).status(now)
        budget = timedelta(seconds=row.budget_seconds)
        return self._messages.get(
            _after_close(key, status, budget),
            verdict=self._messages.get(
                "verdict.met" if status.state is ClockState.MET else "verdict.breached"
            ),
            taken=render.taken(status.consumed, budget, self._messages),
            budget=render.duration(budget, self._messages),
            deadline=render.local_time(status.deadline, self._zone),
        )

    def _clock_details(self, ticket: Ticket, row: Clock | None, now: datetime) -> dict[str, Any]:
        if row is None:
            return {}
        status = sla_clock(row, ticket.pauses, self.catalog).status(now)
        return {
            "clock": row.kind,
            "state": status.state.value,
            "consumed_seconds": int(status.consumed.total_seconds()),
            "budget_seconds": row.budget_seconds,
            "deadline": status.deadline.isoformat(),
        }

    def _note(self, note: str) -> str:
        return self._messages.get("ticket.note", text=render.escape(note)) if note else ""

    # Recovery (issue 6) ------------------------------------------------------------------------

    def stop_gtr_on_recovery(
        self, session: Session, server_id: str, restored_at: datetime
    ) -> list[int]:
        """Stop the running GTR of every open ticket on `server_id` at `restored_at`.

        Runs in the caller's transaction (the probe engine's, which closes the outage):
        `restored_at` is the first success of the streak that brought every probe back UP.
        Each ticket's thread says so, with the verdict, and asks the assignee (else the
        opener) to confirm and resolve. Returns the ids of the tickets whose GTR stopped.
        """
        tickets = session.scalars(
            select(Ticket)
            .where(Ticket.server_id == server_id, Ticket.status != TicketStatus.RESOLVED)
            .options(selectinload(Ticket.clocks), selectinload(Ticket.pauses))
            .order_by(Ticket.id)
            .with_for_update()
        ).all()
        now = self._clock()  # under the tickets' locks, as `_load`'s callers read it
        stopped: list[int] = []
        for ticket in tickets:
            running = next(
                (
                    c
                    for c in ticket.clocks
                    if c.kind == ClockKind.GTR.value and c.stopped_at is None
                ),
                None,
            )
            # A clock registered after the restoration (a late call) is not stopped by it.
            if running is None or running.started_at > restored_at:
                continue
            self._stop_gtr_restored(session, ticket, restored_at, now)
            stopped.append(ticket.id)
        return stopped

    def _stop_gtr_restored(
        self, session: Session, ticket: Ticket, restored_at: datetime, now: datetime
    ) -> None:
        """Stop the ticket's GTR at the server's restoration, and say so in its thread."""
        gtr = self._stop_clock(ticket, ClockKind.GTR, restored_at, "probe")
        said = self._messages.get(
            "ticket.gtr_restored",
            server=ticket.server_id,
            at=render.local_time(restored_at, self._zone),
            ref=f"INT-{ticket.id}",
            gtr=self._verdict_text("ticket.gtr_stopped", ticket, gtr, restored_at),
            mention=f"<@{ticket.assignee_id or ticket.opened_by}>",
        )
        details: dict[str, Any] = {"restored_at": restored_at.isoformat()}
        details |= self._clock_details(ticket, gtr, restored_at)
        # The first success of the streak may precede the deadline while the streak confirmed
        # the server UP after it: a sweep meanwhile announced a breach and made its credit
        # eligible. The clock met: the client is owed nothing, and the month's cap is not used.
        if details.get("state") == ClockState.MET.value and withdraw_eligible(
            session, ticket_id=ticket.id, clock=ClockKind.GTR.value
        ):
            details["credit_withdrawn"] = True
        self._record(
            session, ticket, Actor("probe"), "clock.restored", said, now=now, details=details
        )

    # Snooze (issue 7) --------------------------------------------------------------------------

    def snooze(self, actor: Actor, ticket_id: int, duration: timedelta) -> Reply:
        """Delay the update nudges of a claimed ticket: none before now + `duration` (audited)."""
        with self._transaction() as session:
            ticket = self._load(session, ticket_id)
            now = self._now_for(ticket)
            self._require_open(ticket)
            if ticket.claimed_at is None:
                raise UserFacingError("ticket.not_claimed", ref=f"INT-{ticket.id}")
            until = now + duration
            snoozes = list_snoozes(session, ticket.id)
            updates = list_updates(session, ticket.id)
            due_at = self._next_nudge_at(ticket, updates, snoozes, now)
            if (
                due_at is not None
                and due_at >= until
                and not self._nudge_owed(session, ticket, updates, snoozes, now)
            ):
                # Due after `until` anyway: nothing would change, so nothing is recorded.
                return Reply(self._snooze_no_effect(ticket, due_at, until))
            snoozed = [*snoozes, Snooze(now, until)]
            # While waiting on the client no nudge is planned: none before the end of the
            # longest snooze, at least (an earlier one may hold them past `until`).
            due_at = self._next_nudge_at(ticket, updates, snoozed, now) or snoozed_until(
                ticket, self.catalog, snoozed
            )
            session.add(
                TicketSnooze(
                    ticket_id=ticket.id, requested_at=now, until=until, requested_by=actor.user_id
                )
            )
            ticket.snoozed_until = until
            said = self._messages.get(
                "ticket.snoozed",
                ref=f"INT-{ticket.id}",
                until=render.local_time(due_at, self._zone),
                user=actor.user_id,
            )
            self._record(
                session, ticket, actor, "ticket.snoozed", said, now=now,
                details={"until": until.isoformat(), "seconds": int(duration.total_seconds())},
            )  # fmt: skip
        return Reply(said)

    def _snooze_no_effect(self, ticket: Ticket, due_at: datetime, until: datetime) -> str:
        """Why a snooze to `until` changes nothing: the nudge is due later, or at the very
        minute asked for (as shown: due at 11:00:20, snoozed to 11:00:00), which "due at
        11:00, after 11:00 anyway" would misread."""
        shown_next = render.local_time(due_at, self._zone)
        shown_until = render.local_time(until, self._zone)
        if shown_next == shown_until:
            return self._messages.get(
                "ticket.snooze_no_effect_same_time", ref=f"INT-{ticket.id}", next=shown_next
            )
        return self._messages.get(
            "ticket.snooze_no_effect", ref=f"INT-{ticket.id}", next=shown_next, until=shown_until
        )

    def _nudge_owed(
        self,
        session: Session,
        ticket: Ticket,
        updates: list[datetime],
        snoozes: list[Snooze],
        now: datetime,
    ) -> bool:
        """Whether the latest nudge due by now has yet to reach the assignee: due and not
        queued yet (the next sweep would queue it), or queued and not sent yet (a busy channel,
        a backoff). A snooze delays that one (the outbox drops it as `snoozed`), whenever the
        next nudge planned comes: it is the next nudge the technician would get."""
        plan = ticket_nudges(ticket, self.catalog, now, updates=updates, snoozes=snoozes)
        if not plan.due:
            return False
        latest = plan.due[-1]
        if any(pause.started_at > latest.due_at for pause in ticket.pauses):
            return False  # superseded by a wait begun since: never sent (bot.services.reminders)
        rows = get_by_keys(session, {f"{latest.key}/dm", f"{latest.key}/thread"})
        return not rows or any(row.status is OutboxStatus.PENDING for row in rows.values())

    def _next_nudge_at(
        self, ticket: Ticket, updates: list[datetime], snoozes: list[Snooze], now: datetime
    ) -> datetime | None:
        """When the claimed ticket's next update nudge falls due after `now`, as the reminders
        sweep plans it; None while it waits on the client."""
        plan = ticket_nudges(ticket, self.catalog, now, updates=updates, snoozes=snoozes)
        return plan.next_at


@dataclass(frozen=True)
class _Urgent:
    """What `list` and `/sla status` show: the lines of the most urgent open tickets, out of
    `count`, and the clients of all `count`."""

    lines: list[TicketLine]
    count: int
    clients: list[str]


class _What:
    """What a list shows (`list.what.*`), written once the number of tickets is known: French
    agrees with it ("1 ticket ouvert", "3 tickets ouverts")."""

    def __init__(self, key: str, **values: str) -> None:
        self.key, self.values = key, values

    def words(self, messages: Messages, count: int) -> str:
        return messages.get(f"{self.key}.{_number(count)}", **self.values)


def _after_close(key: str, status: ClockStatus, budget: timedelta) -> str:
    """The message of a clock's verdict: `key`, or its `_after_close` variant for a clock
    stopped past its deadline while its calendar was closed. Breached, it has still used no
    more open time than its budget ("4h of 4h"): the variant says the deadline it missed."""
    if status.state is ClockState.BREACHED and status.consumed <= budget:
        return f"{key}_after_close"
    return key


def _number(count: int) -> str:
    """The grammatical number of `count` things: "one" or "other"."""
    return "one" if count == 1 else "other"


def _shown_credit(
    credit: Credit, moved_clock: str | None, moved_amount: str | None
) -> render.ShownCredit:
    """A ticket's credit as `show` tells it: with the amount its last move recorded, if the
    ticket's latest move (of the credit of `moved_clock`) was this credit's; an eligible one
    has none yet."""
    amount = None
    if moved_clock == credit.clock and moved_amount is not None:
        amount = Decimal(moved_amount)
    return render.ShownCredit(credit.clock, credit.state, amount)
