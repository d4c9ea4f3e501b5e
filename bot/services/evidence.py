"""A ticket's evidence: its whole timeline from the audit trail, clocks, outages and outbox.

What a dispute needs, in one chronological list: registration (and the recorded call time),
every audited act (claim, waits, client updates, resolution, credit moves), clock starts and
stops, the probe-confirmed outage and restoration instants, and each message Slack accepted
under the ticket's keys (warnings, nudges, thread posts) with its Slack `ts`.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from bot.config import Catalog
from bot.services.reports import CreditLine, credit_line
from bot.storage.models import (
    AuditEvent,
    Credit,
    Outage,
    OutboxMessage,
    OutboxStatus,
    Ticket,
)

PROBE = "probe"


@dataclass(frozen=True)
class Entry:
    """One instant of the timeline: where it comes from, what happened, who did it."""

    at: datetime
    source: str  # ticket | audit | clock | outage | outbox | credit
    action: str
    actor: str | None
    details: dict[str, Any] = field(default_factory=dict)
    command: str | None = None


@dataclass(frozen=True)
class Evidence:
    """A ticket's facts and timeline, oldest first."""

    ticket: Ticket
    entries: tuple[Entry, ...]
    credits: tuple[Credit, ...]  # the ledger's rows: their current states
    prices: dict[str, CreditLine]  # by clock: each credit priced as its month's report does

    @property
    def ref(self) -> str:
        return self.ticket.ref


def ticket_evidence(
    session: Session, ticket_id: int, *, catalog: Catalog, now: datetime
) -> Evidence | None:
    """The evidence of a ticket, or None if there is no such ticket; its credits are priced
    by `catalog` (the report's rules: rate × fee, the month's cap) as read at `now`."""
    ticket = session.scalars(
        select(Ticket)
        .where(Ticket.id == ticket_id)
        .options(selectinload(Ticket.clocks), selectinload(Ticket.pauses))
    ).one_or_none()
    if ticket is None:
        return None
    ref = ticket.ref
    entries: list[Entry] = []
    if ticket.called_at != ticket.registered_at:  # the registration itself is the audit event
        entries.append(
            Entry(
                ticket.called_at,
                "ticket",
                "called",
                None,
                {"recorded_at": _utc(ticket.registered_at), "recorded_by": ticket.opened_by},
            )
        )
    for event in session.scalars(
        select(AuditEvent)
        .where(AuditEvent.ticket_id == ticket_id)
        .order_by(AuditEvent.at, AuditEvent.id)
    ):
        entries.append(
            Entry(
                event.at, "audit", event.action, event.actor_id, dict(event.details), event.command
            )
        )
    for clock in ticket.clocks:
        entries.append(
            Entry(
                clock.started_at,
                "clock",
                f"{clock.kind}.started",
                None,
                {"budget_seconds": clock.budget_seconds, "calendar": clock.calendar},
            )
        )
        if clock.stopped_at is not None:
            confirmed = clock.stopped_by == PROBE
            entries.append(
                Entry(
                    clock.stopped_at,
                    "clock",
                    f"{clock.kind}.stopped",
                    clock.stopped_by,
                    {"confirmed_by_probe": confirmed},
                )
            )
    for outage in _outages(session, ticket):
        details = {"outage_id": outage.id, "server_id": outage.server_id}
        entries.append(Entry(outage.started_at, "outage", "outage.first_failure", PROBE, details))
        entries.append(
            Entry(outage.confirmed_at, "outage", "outage.confirmed_down", PROBE, details)
        )
        if outage.ended_at is not None:
            entries.append(Entry(outage.ended_at, "outage", "outage.restored", PROBE, details))
    for message in session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.key.startswith(f"{ref}/"), OutboxMessage.status == OutboxStatus.SENT)
        .order_by(OutboxMessage.id)
    ):
        entries.append(
            Entry(
                message.sent_at or message.created_at,
                "outbox",
                f"message.{_message_kind(ref, message.key)}",
                None,
                {
                    "key": message.key,
                    "ts": message.ts,
                    "channel_id": message.sent_channel_id or message.channel_id,
                    "queued_at": _utc(message.created_at),
                    "text": message.text,
                },
            )
        )
    credits = tuple(
        session.scalars(select(Credit).where(Credit.ticket_id == ticket_id).order_by(Credit.id))
    )
    audited = {(e.action, e.details.get("clock")) for e in entries if e.source == "audit"}
    for credit in credits:
        if (f"credit.{credit.state.value}", credit.clock) in audited:
            continue  # the move's audit event says it, with who and the command
        entries.append(
            Entry(
                credit.updated_at,
                "credit",
                f"credit.{credit.state.value}",
                credit.updated_by,
                {
                    "clock": credit.clock,
                    "breached_at": _utc(credit.breached_at),
                    "note": credit.note,
                },
            )
        )
    order = {"ticket": 0, "audit": 1, "clock": 2, "outage": 3, "credit": 4, "outbox": 5}
    entries.sort(key=lambda e: (e.at, order[e.source]))
    prices = _priced(session, catalog, ticket, credits, now)
    return Evidence(ticket, tuple(entries), credits, prices)


def _priced(
    session: Session,
    catalog: Catalog,
    ticket: Ticket,
    credits: tuple[Credit, ...],
    now: datetime,
) -> dict[str, CreditLine]:
    """The ticket's credits, by clock, as the report of their month prices them."""
    prices: dict[str, CreditLine] = {}
    for credit in credits:
        line = credit_line(
            session,
            catalog,
            ticket_id=ticket.id,
            client_id=ticket.client_id,
            clock=credit.clock,
            breached_at=credit.breached_at,
            now=now,
        )
        if line is not None:
            prices[credit.clock] = line
    return prices


def _outages(session: Session, ticket: Ticket) -> list[Outage]:
    """The ticket's outage, and its server's outages overlapping the ticket's life."""
    conditions = []
    if ticket.outage_id is not None:
        conditions.append(Outage.id == ticket.outage_id)
    if ticket.server_id is not None:
        overlap = Outage.server_id == ticket.server_id
        overlap &= or_(Outage.ended_at.is_(None), Outage.ended_at >= ticket.called_at)
        if ticket.resolved_at is not None:
            overlap &= Outage.started_at <= ticket.resolved_at
        conditions.append(overlap)
    if not conditions:
        return []
    return list(session.scalars(select(Outage).where(or_(*conditions)).order_by(Outage.id)))


def _message_kind(ref: str, key: str) -> str:
    """`INT-42/gti/75` → warning, `INT-42/nudge/…` → nudge, `INT-42/event/…` → thread, the
    root and its edits (`INT-42/root/r3`, `INT-42/gti/75/root`) → root, …"""
    part = key.removeprefix(f"{ref}/").split("/")[0]
    if key.endswith("/root"):  # a threshold's edit of the root, not a warning sent
        return "root"
    if part in ("gti", "gtr"):
        return "warning"
    if part == "nudge":
        return "nudge"
    if part == "event":
        return "thread"
    return part or "other"


def _utc(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(UTC).isoformat()


def to_json(evidence: Evidence, zone: ZoneInfo) -> dict[str, Any]:
    """The evidence as JSON-ready data; every instant in UTC ISO-8601 and in local time."""
    ticket = evidence.ticket

    def instant(at: datetime | None) -> dict[str, str] | None:
        if at is None:
            return None
        return {"utc": at.astimezone(UTC).isoformat(), "local": at.astimezone(zone).isoformat()}

    return {
        "ticket": evidence.ref,
        "kind": ticket.kind,
        "client": ticket.client_id,
        "server": ticket.server_id,
        "level": ticket.level,
        "scope": ticket.scope.value,
        "status": ticket.status.value,
        "zone": zone.key,
        "called_at": instant(ticket.called_at),
        "registered_at": instant(ticket.registered_at),
        "resolved_at": instant(ticket.resolved_at),
        "pauses": [
            {
                "started_at": instant(p.started_at),
                "ended_at": instant(p.ended_at),
                "reason": p.reason,
                "started_by": p.started_by,
                "ended_by": p.ended_by,
            }
            for p in ticket.pauses
        ],
        "credits": [
            {
                "clock": c.clock,
                "state": c.state.value,
                "breached_at": instant(c.breached_at),
                "updated_at": instant(c.updated_at),
                "updated_by": c.updated_by,
                "note": c.note,
                **_price(evidence.prices.get(c.clock)),
            }
            for c in evidence.credits
        ],
        "events": [
            {
                "at": entry.at.astimezone(UTC).isoformat(),
                "at_local": entry.at.astimezone(zone).isoformat(),
                "source": entry.source,
                "action": entry.action,
                "actor": entry.actor,
                "command": entry.command,
                "details": entry.details,
            }
            for entry in evidence.entries
        ],
    }


def to_text(evidence: Evidence, zone: ZoneInfo) -> str:
    """The timeline for a terminal: one line per instant (local time), details indented."""
    ticket = evidence.ticket
    lines = [f"{evidence.ref} ({ticket.kind}, {ticket.client_id}/{ticket.server_id})"]
    for entry in evidence.entries:
        local = entry.at.astimezone(zone).isoformat(timespec="seconds")
        command = f"  «{_one_line(entry.command)}»" if entry.command else ""
        lines.append(f"{local}  {entry.actor or '-':<12} {entry.action}{command}")
        for key, value in sorted(entry.details.items()):
            lines.append(f"{'':27}{key}: {_detail(key, value, zone)}")
    for credit in evidence.credits:
        price = _price(evidence.prices.get(credit.clock))
        amount = f", {price['amount']} € for {price['month']}" if price else ""
        capped = f" (capped from {price['full_amount']} €)" if price.get("capped") else ""
        lines.append(f"credit {credit.clock.upper()}: {credit.state.value}{amount}{capped}")
    lines.append(
        f"status {ticket.status.value}, scope {ticket.scope.value}; local times in {zone.key}"
    )
    return "\n".join(lines)


_INSTANTS = ("deadline", "until")  # the details that are instants, with those named `*_at`


def _detail(key: str, value: Any, zone: ZoneInfo) -> str:
    """A detail as the text timeline shows it: instants in local time, nested ones too (the
    clocks a ticket taken out of the forfait had), a text on one line."""
    if isinstance(value, dict):
        inner = ", ".join(f"{k}: {_detail(k, v, zone)}" for k, v in sorted(value.items()))
        return f"{{{inner}}}"
    if isinstance(value, list):
        return f"[{', '.join(_detail(key, item, zone) for item in value)}]"
    if key == "text":
        return _one_line(str(value))[:120]
    if key in _INSTANTS or key.endswith("_at"):
        return str(_local(value, zone))
    return _one_line(str(value))


def _one_line(text: str) -> str:
    """Text typed on several lines, on one (each break shown as ⏎): what someone typed must
    not print lines of its own, read as other instants of the timeline or their details."""
    return " ⏎ ".join(text.splitlines())


def _local(value: Any, zone: ZoneInfo) -> Any:
    """An instant of the details (stored ISO-8601, UTC or not) in local time, as the lines are."""
    try:
        at = datetime.fromisoformat(str(value))
    except ValueError:
        return value
    return value if at.tzinfo is None else at.astimezone(zone).isoformat(timespec="seconds")


def _price(line: CreditLine | None) -> dict[str, Any]:
    """A credit's month and amounts as the report gives them; empty when it was not priced."""
    if line is None:
        return {}
    return {
        "month": line.month_label,
        "amount": f"{line.amount:.2f}",
        "full_amount": f"{line.full_amount:.2f}",
        "capped": line.reduced,
    }
