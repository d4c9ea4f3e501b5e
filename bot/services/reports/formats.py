"""A month report as JSON, CSV (one row per ticket), plain text and Slack blocks."""

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import MarkdownTextObject, SectionBlock

from bot.messages import Messages
from bot.services.reports.values import (
    ClientReport,
    CreditLine,
    MonthReport,
    TicketLine,
)
from bot.sla import (
    ClockState,
)
from bot.slack import render
from bot.storage.models import (
    CreditState,
    Scope,
)

CSV_COLUMNS = (
    "month",
    "client_id",
    "client_name",
    "level",
    "ticket",
    "kind",
    "scope",
    "status",
    "server_id",
    "called_at_utc",
    "called_at_local",
    "in_month",
    "clock",
    "clock_state",
    "budget_seconds",
    "consumed_seconds",
    "deadline_utc",
    "stopped_at_utc",
    "restored_by",
    "pauses",
    "paused_seconds",
    "credit_month",
    "credit_state",
    "credit_amount",
    "credit_full_amount",
    # Added after the columns above, so that readers by position keep theirs.
    "called_month",
    "client_removed_at_utc",
)


# Rendering -------------------------------------------------------------------------------------


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(UTC).isoformat()


def _local(at: datetime, zone: ZoneInfo) -> str:
    return at.astimezone(zone).isoformat()


def _seconds(value: timedelta) -> int:
    return int(value.total_seconds())


def to_json(report: MonthReport) -> dict[str, Any]:
    """The whole report as JSON-ready data (docs/report.schema.json); money as decimal strings."""
    zone = report.zone
    return {
        "month": report.label,
        "zone": zone.key,
        "starts_at": _iso(report.starts_at),
        "ends_at": _iso(report.ends_at),
        "generated_at": _iso(report.generated_at),
        "policy": {"credit_rate": report.credit_rate, "credit_cap": report.credit_cap},
        "clients": [_client_json(client, zone) for client in report.clients],
    }


def _credit_json(line: CreditLine) -> dict[str, Any]:
    return {
        "ticket": line.ticket_ref,
        "clock": line.clock.value,
        "breached_at": _iso(line.breached_at),
        "month": line.month_label,
        "state": line.state.value,
        "amount": str(line.amount),
        "full_amount": str(line.full_amount),
        "reduced": line.reduced,
    }


def _client_json(client: ClientReport, zone: ZoneInfo) -> dict[str, Any]:
    states = client.clock_states
    return {
        "id": client.client_id,
        "name": client.name,
        "level": client.level,
        "monthly_fee": str(client.monthly_fee),
        "removed_at": _iso(client.removed_at),
        "tickets_by_kind": {kind.value: count for kind, count in client.by_kind.items()},
        "allowance": {"used": client.allowance.used, "allowed": client.allowance.allowance},
        "out_of_scope": {scope.value: n for scope, n in client.out_of_scope.items()},
        "clocks": {state.value: n for state, n in states.items()},
        "restorations": client.restorations,
        "pauses": {"count": client.pause_count, "total_seconds": _seconds(client.paused)},
        "outages": {
            "count": len(client.outages),
            "downtime_seconds": _seconds(client.downtime),
            "items": [
                {
                    "id": o.id,
                    "server_id": o.server_id,
                    "started_at": _iso(o.started_at),
                    "ended_at": _iso(o.ended_at),
                    "downtime_seconds": _seconds(o.downtime),
                }
                for o in client.outages
            ],
        },
        "servers": [
            {
                "id": s.server_id,
                "downtime_seconds": _seconds(s.downtime),
                "availability_percent": s.percent,
            }
            for s in client.servers
        ],
        "credits": {
            "cap": str(client.credit_cap),
            "total": str(client.credit_total),
            "by_state": {
                state.value: {"count": total.count, "amount": str(total.amount)}
                for state, total in client.credit_totals.items()
            },
            "items": [_credit_json(line) for line in client.credits],
        },
        "tickets": [_ticket_json(ticket, zone) for ticket in client.tickets],
    }


def _ticket_json(ticket: TicketLine, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "ref": ticket.ref,
        "kind": ticket.kind.value,
        "server_id": ticket.server_id,
        "scope": ticket.scope.value,
        "status": ticket.status.value,
        "called_at": _iso(ticket.called_at),
        "called_at_local": _local(ticket.called_at, zone),
        "resolved_at": _iso(ticket.resolved_at),
        "in_month": ticket.in_month,
        "called_month": ticket.called_month_label,
        "clocks": [
            {
                "kind": c.kind.value,
                "calendar": c.calendar,
                "budget_seconds": _seconds(c.budget),
                "started_at": _iso(c.started_at),
                "stopped_at": _iso(c.stopped_at),
                "stopped_by": c.stopped_by,
                "restored_by": c.restored_by,
                "state": c.state.value,
                "consumed_seconds": _seconds(c.consumed),
                "deadline": _iso(c.deadline),
            }
            for c in ticket.clocks
        ],
        "pauses": [
            {
                "started_at": _iso(p.started_at),
                "ended_at": _iso(p.ended_at),
                "seconds": _seconds(p.duration),
                "reason": p.reason,
            }
            for p in ticket.pauses
        ],
        "paused_seconds": _seconds(ticket.paused),
        "credits": [_credit_json(line) for line in ticket.credits],
    }


def to_csv(report: MonthReport) -> str:
    """One row per ticket (CSV_COLUMNS); money as decimals with a dot, durations in seconds."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for client in report.clients:
        for ticket in client.tickets:
            clock = ticket.clock
            credit = ticket.credits[0] if ticket.credits else None
            writer.writerow(
                [
                    report.label,
                    client.client_id,
                    client.name,
                    client.level,
                    ticket.ref,
                    ticket.kind.value,
                    ticket.scope.value,
                    ticket.status.value,
                    ticket.server_id or "",
                    _iso(ticket.called_at),
                    _local(ticket.called_at, report.zone),
                    "yes" if ticket.in_month else "no",
                    clock.kind.value if clock else "",
                    clock.state.value if clock else "",
                    _seconds(clock.budget) if clock else "",
                    _seconds(clock.consumed) if clock else "",
                    _iso(clock.deadline) if clock else "",
                    (_iso(clock.stopped_at) or "") if clock else "",
                    (clock.restored_by or "") if clock else "",
                    len(ticket.pauses),
                    _seconds(ticket.paused),
                    credit.month_label if credit else "",
                    credit.state.value if credit else "",
                    str(credit.amount) if credit else "",
                    str(credit.full_amount) if credit else "",
                    ticket.called_month_label,
                    _iso(client.removed_at) or "",
                ]
            )
    return out.getvalue()


def to_text(report: MonthReport, messages: Messages) -> list[str]:
    """The readable summary (Slack mrkdwn): a title, then one paragraph per client."""
    month = messages.month(report.year, report.month)
    parts = [messages.get("report.title", month=month, zone=report.zone.key)]
    if not report.clients:
        parts.append(messages.get("report.empty"))
    parts += [_client_text(client, messages, report.zone) for client in report.clients]
    return parts


def _client_text(client: ClientReport, messages: Messages, zone: ZoneInfo) -> str:
    tickets = client.month_tickets
    kinds = ", ".join(
        f"{messages.get(f'kind.{kind.value}')} {count}"
        for kind, count in client.by_kind.items()
        if count
    )
    states = client.clock_states
    scope = client.out_of_scope
    totals = client.credit_totals
    # Rounded once to 3 places, not from `percent` (already rounded to 4 places: rounding
    # twice can lose the last digit, 99.73154 -> 99.7315 -> 99.731).
    shown = {s.server_id: s.rounded_percent(3) for s in client.servers}
    availability = ", ".join(
        f"{server_id} {messages.decimal(percent, 3)} %" if percent is not None else f"{server_id} -"
        for server_id, percent in shown.items()
    )
    header = messages.get(
        "report.client",
        name=render.escape(client.name),
        client=client.client_id,
        level=render.escape(client.level),
    )
    if client.removed_at is not None:
        header += " · " + messages.get(
            "report.client_removed", date=client.removed_at.astimezone(zone).date()
        )
    counts = messages.get(
        "report.tickets",
        total=len(tickets),
        kinds=kinds or "-",
        used=client.allowance.used,
        allowed=client.allowance.allowance,
    )
    if carried := len(client.carried_over):
        counts += " · " + messages.get("report.tickets_carried", count=carried)
    lines = [
        header,
        counts,
        messages.get(
            "report.out_of_scope",
            quoted=scope[Scope.QUOTED],
            refused=scope[Scope.REFUSED],
            pending=scope[Scope.PENDING],
        ),
        messages.get(
            "report.clocks",
            met=states[ClockState.MET],
            breached=states[ClockState.BREACHED],
            running=states[ClockState.RUNNING],
            paused=states[ClockState.PAUSED],
            probe=client.restorations["probe"],
            hand=client.restorations["hand"],
        ),
        messages.get(
            "report.pauses",
            count=client.pause_count,
            total=render.duration(client.paused, messages),
        ),
        messages.get(
            "report.outages",
            count=len(client.outages),
            downtime=render.duration(client.downtime, messages),
            servers=availability or "-",
        ),
        messages.get(
            "report.credits",
            eligible=totals[CreditState.ELIGIBLE].count,
            eligible_amount=messages.money(totals[CreditState.ELIGIBLE].amount),
            requested=totals[CreditState.REQUESTED].count,
            requested_amount=messages.money(totals[CreditState.REQUESTED].amount),
            granted=totals[CreditState.GRANTED].count,
            granted_amount=messages.money(totals[CreditState.GRANTED].amount),
            declined=totals[CreditState.DECLINED].count,
            declined_amount=messages.money(totals[CreditState.DECLINED].amount),
            cap=messages.money(client.credit_cap),
        ),
    ]
    lines += [f"• {_ticket_text(t, messages, zone)}" for t in client.tickets]
    return "\n".join(lines)


def _ticket_text(ticket: TicketLine, messages: Messages, zone: ZoneInfo) -> str:
    clock = ticket.clock
    if clock is None:
        clock_text = messages.get("report.no_clock", scope=messages.get(f"scope.{ticket.scope}"))
    else:
        verdict = {
            ClockState.MET: "verdict.met",
            ClockState.BREACHED: "verdict.breached",
            ClockState.RUNNING: "report.verdict.running",
            ClockState.PAUSED: "report.verdict.paused",
        }[clock.state]
        clock_text = messages.get(
            "report.clock",
            clock=clock.kind.value.upper(),
            verdict=messages.get(verdict),
            taken=render.taken(clock.consumed, clock.budget, messages),
            budget=render.duration(clock.budget, messages),
        )
        if clock.restored_by is not None:
            clock_text += " " + messages.get(f"report.restored.{clock.restored_by}")
    extra = ""
    if ticket.pauses:
        extra += " · " + messages.get(
            "report.ticket_paused",
            count=len(ticket.pauses),
            total=render.duration(ticket.paused, messages),
        )
    for credit in ticket.credits:
        extra += " · " + messages.get(
            "report.ticket_credit",
            amount=messages.money(credit.amount),
            state=messages.get(f"credit.state.{credit.state.value}"),
            month=messages.month(credit.year, credit.month),
        )
    called = render.local_time(ticket.called_at, zone)
    if not ticket.in_month:
        called += " " + messages.get(
            "report.ticket_carried", month=messages.month(*ticket.called_month)
        )
    return messages.get(
        "report.ticket",
        ref=ticket.ref,
        kind=messages.get(f"kind.{ticket.kind.value}"),
        server=ticket.server_id or "-",
        called=called,
        clock=clock_text,
        extra=extra,
    )


MAX_BLOCKS = 50  # Slack refuses a message of more blocks
MAX_TEXT = 40_000  # nor a message's text longer than this (msg_too_long)


def to_slack(report: MonthReport, messages: Messages) -> tuple[str, list[dict[str, Any]]]:
    """Fallback text and blocks: clients packed several to a section, each under Slack's text
    limit; a report longer than a message's blocks ends saying where the whole report is."""
    parts = to_text(report, messages)
    sections: list[str] = []
    for part in parts:
        for chunk in _chunks(part, render.SECTION_LIMIT):
            if sections and len(sections[-1]) + 2 + len(chunk) <= render.SECTION_LIMIT:
                sections[-1] += "\n\n" + chunk
            else:
                sections.append(chunk)
    cut = messages.get("report.cut", month=report.label)
    if len(sections) > MAX_BLOCKS:  # cut, but not silently: the channel is told
        sections[MAX_BLOCKS - 1 :] = [cut]
    blocks = [SectionBlock(text=MarkdownTextObject(text=section)) for section in sections]
    text = "\n\n".join(parts)
    if len(text) > MAX_TEXT:  # the fallback text too
        text = render.clip(text, MAX_TEXT - len(cut) - 2) + "\n\n" + cut
    return text, [block.to_dict() for block in blocks]


def _chunks(text: str, limit: int) -> Iterator[str]:
    """Lines grouped under `limit` characters (a longer line is cut)."""
    chunk: list[str] = []
    for line in text.split("\n"):
        line = line[:limit]
        if chunk and len("\n".join([*chunk, line])) > limit:
            yield "\n".join(chunk)
            chunk = []
        chunk.append(line)
    if chunk:
        yield "\n".join(chunk)
