"""Pure rendering of tickets for Slack: texts and Block Kit (slack_sdk models), no I/O.

User text is escaped here, at the last moment, so `<!channel>` in a description pings nobody.
"""

import difflib
import functools
import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View as ModalView

from bot.config import format_duration
from bot.messages import Messages
from bot.services.views import ClockView, TicketLine, TicketView
from bot.sla import ClockState
from bot.slack.ids import UPDATE_BLOCK, UPDATE_INPUT, Action, View
from bot.storage.models import CreditState, Scope, TicketStatus
from bot.storage.probes import DownServer, SilenceInForce

SECTION_LIMIT = 2900  # Slack refuses section text over 3,000 characters


def escape(text: str) -> str:
    """Escape user text for Slack mrkdwn so `<!channel>` pings nobody."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def sentence(text: str) -> str:
    """`text` ended as a sentence: with a period, unless it already ends with . ! ? or …"""
    return text if text.endswith((".", "!", "?", "…")) else text + "."


def clip(text: str, limit: int = SECTION_LIMIT) -> str:
    """`text` within `limit` characters: cut, it ends with "…", and never inside one of
    `escape`'s entities (`&lt;` cut to `&l` would show as such) nor inside a mention or link
    (`<@U01A` is none, and Slack would read on to the next `>`)."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    entity = cut.rfind("&", len(cut) - 4)  # `&amp;`, the longest, is 5 characters
    if entity != -1 and ";" not in cut[entity:]:
        cut = cut[:entity]
    # User text is escaped: a raw "<" opens the bot's own markup, a mention or a link.
    markup = cut.rfind("<")
    if markup > cut.rfind(">"):
        cut = cut[:markup]
    return cut + "…"


def shorten(text: str, limit: int) -> str:
    """Raw `text`, not yet escaped, within `limit` characters: cut, it ends with "…". Escape
    it after: the limit counts the characters written, not `escape`'s entities, and no cut
    can land inside one."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def one_line(text: str) -> str:
    """Text typed on several lines, on one (each break shown as ⏎), for a line of a list:
    its next lines would read as lines of the list of their own."""
    return " ⏎ ".join(text.splitlines())


def local_time(at: datetime, zone: ZoneInfo) -> str:
    """An instant as the team reads it: local date and time, and the zone's abbreviation in the
    hour that the autumn change repeats (02:10 CET comes after 02:40 CEST on 2026-10-25)."""
    # Kept by the instant in UTC: 02:30 CEST and 02:30 CET of that night compare and hash
    # alike as local times, and the first one shown would name the other's zone.
    return _local_time(at.astimezone(UTC), zone)


# A list shows the same deadlines at every read (a running clock's moves only when its ticket
# changes): the zone conversion and strftime were a third of a line's rendering.
@lru_cache(maxsize=1024)
def _local_time(at: datetime, zone: ZoneInfo) -> str:
    local = at.astimezone(zone)
    shown = local.strftime("%Y-%m-%d %H:%M")
    if local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset():
        shown += f" {local.tzname()}"
    return shown


def duration(value: timedelta, messages: Messages) -> str:
    """To the nearest minute, compact: 1h30m (seconds are noise in a chat message), days as
    the language writes them (1d5h, French 1j5h); under half a minute but not none, `<1m`: an
    outage of 20 s did not last "0m"."""
    return _duration(value, messages)


# A list repeats budgets and round figures: one line reads three. Not on `duration` itself:
# lru_cache's wrapper takes any arguments, and mypy would no longer check its callers.
@lru_cache(maxsize=1024)
def _duration(value: timedelta, messages: Messages) -> str:
    if timedelta(0) < value < timedelta(seconds=30):
        return messages.get("duration.under_a_minute")  # "&lt;1m": a raw "<" starts a link
    return _minutes(round(value.total_seconds() / 60), messages)


def taken(consumed: timedelta, budget: timedelta, messages: Messages) -> str:
    """Open time taken against `budget`, to the minute, never reading within the budget once
    over it: 6m07s of a 6m budget is 7m, not 6m."""
    minutes = round(consumed.total_seconds() / 60)
    if consumed > budget and timedelta(minutes=minutes) <= budget:
        minutes = math.ceil(consumed.total_seconds() / 60)
    return _minutes(minutes, messages)


def _minutes(minutes: int, messages: Messages) -> str:
    return format_duration(timedelta(minutes=minutes), day=messages.get("duration.day"))


def clock_line(clock: ClockView | None, messages: Messages, zone: ZoneInfo) -> str:
    """One line about a clock: remaining and deadline, paused, met or breached."""
    if clock is None:
        return messages.get("clock.none")
    status = clock.status
    # Each message says only some of the figures: only those are written (a list has 30 lines).
    name, budget = clock.kind.value.upper(), duration(clock.budget, messages)
    if clock.stopped_at is not None:
        key = "clock.met" if status.state is ClockState.MET else "clock.breached"
        return messages.get(
            key, clock=name, budget=budget, taken=taken(status.consumed, clock.budget, messages)
        )
    if status.state is ClockState.BREACHED:
        deadline = local_time(status.deadline, zone)
        return messages.get("clock.breached_running", clock=name, budget=budget, deadline=deadline)
    remaining = duration(status.remaining, messages)
    if status.state is ClockState.PAUSED:
        return messages.get("clock.paused", clock=name, budget=budget, remaining=remaining)
    deadline = local_time(status.deadline, zone)
    return messages.get(
        "clock.running", clock=name, budget=budget, remaining=remaining, deadline=deadline
    )


def status_label(view: TicketView, messages: Messages) -> str:
    """Where the ticket stands: its state, and whether it is out of the contract's scope."""
    return _status_label(view.status, view.scope, messages)


def _status_label(status: TicketStatus, scope: Scope, messages: Messages) -> str:
    is_open = status is not TicketStatus.RESOLVED
    if scope is Scope.REFUSED or (scope is Scope.PENDING and is_open):
        return messages.get(f"scope.{scope.value}")  # nobody works on it (yet)
    label = messages.get(f"status.{status.value}")
    if scope is Scope.QUOTED and is_open:  # worked on like any other, billed apart
        return f"{label} · {messages.get('scope.quoted')}"
    return label


def assignee(view: TicketView, messages: Messages) -> str:
    return _assignee(view.assignee_id, messages)


def _assignee(assignee_id: str | None, messages: Messages) -> str:
    return f"<@{assignee_id}>" if assignee_id else messages.get("root.nobody")


def title(view: TicketView, messages: Messages) -> str:
    return ticket_title(
        view.ref, view.kind.value, view.server_id, view.client_name, view.level, messages
    )


def ticket_title(
    ref: str, kind: str, server_id: str | None, client_name: str, level: str, messages: Messages
) -> str:
    """A ticket's one-line title, as its root message starts."""
    return messages.get(
        "root.title",
        ref=ref,
        kind=messages.get(f"kind.{kind}"),
        server=server_id or "-",
        client=escape(client_name),
        level=escape(level),  # the catalog's authors name levels freely ("Or <24h> & co")
    )


def ticket_root(view: TicketView, messages: Messages, zone: ZoneInfo) -> tuple[str, list[Any]]:
    """The ticket's root message: what, where, who, the live clock, and its buttons."""
    head = clip(f"*{title(view, messages)}*\n{escape(view.description)}")
    fields = messages.get(
        "root.fields",
        status=status_label(view, messages),
        assignee=assignee(view, messages),
        called=local_time(view.called_at, zone),
    )
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=head)),
        SectionBlock(text=MarkdownTextObject(text=fields)),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=clock_line(view.clock, messages, zone)
                    + " · "
                    + messages.get("root.as_of", at=local_time(view.now, zone))
                )
            ]
        ),
    ]
    if view.is_open:
        # Out of scope until quoted or refused: claiming or resolving it is refused.
        workable = view.scope in (Scope.IN, Scope.QUOTED)
        buttons = []
        if view.claimed_at is None and workable:
            buttons.append(_button("button.claim", Action.CLAIM, view, messages, "primary"))
        buttons.append(_button("button.update", Action.POST_UPDATE, view, messages))
        if workable:
            buttons.append(_button("button.resolve", Action.RESOLVE, view, messages))
        blocks.append(ActionsBlock(elements=buttons))
    text = f"{title(view, messages)} — {status_label(view, messages)}"
    return text, [block.to_dict() for block in blocks]


class Waiting(NamedTuple):
    """The wait on the client a ticket is in: since when, why, who put it on hold."""

    since: datetime
    reason: str
    by: str


class Closed(NamedTuple):
    """How a ticket was closed (resolved, or refused out of scope): when, by whom, the note."""

    at: datetime
    by: str | None
    note: str


class ShownCredit(NamedTuple):
    """A ticket's credit: its clock, where it stands, and the amount its last move recorded
    (None for one still eligible: it is priced when requested)."""

    clock: str
    state: CreditState
    amount: Decimal | None


CLOSING_NOTE_SHOWN = 500  # characters of a closing note `show` quotes: the thread has it all


def ticket_details(
    view: TicketView,
    messages: Messages,
    zone: ZoneInfo,
    *,
    waiting: Waiting | None = None,
    closed: Closed | None = None,
    credits: Sequence[ShownCredit] = (),
) -> tuple[str, list[Any]]:
    """`show`: the root, with who registered the ticket and when, why and since when it waits
    on the client, who closed it when and with what note, and its credits; the text says all
    the blocks say (for notifications, screen readers and the local mode's terminal)."""
    _, blocks = ticket_root(view, messages, zone)
    registered = messages.get(
        "show.registered", opener=view.opened_by, registered=local_time(view.registered_at, zone)
    )
    # The notes quoting what a technician typed (a reason, a note) give way to the others: a
    # reason of 600 `&`, escaped to 3,000 characters, pushed the credit and its hint out.
    quoting: list[tuple[Callable[[str], str], str]] = []
    if waiting is not None:
        quoting.append(
            (
                functools.partial(
                    _waiting_note,
                    since=local_time(waiting.since, zone),
                    user=waiting.by,
                    messages=messages,
                ),
                escape(waiting.reason),
            )
        )
    if closed is not None:
        quoting.append(
            (
                functools.partial(
                    _closed_note,
                    key="show.refused" if view.scope is Scope.REFUSED else "show.resolved",
                    user=_assignee(closed.by, messages),
                    at=local_time(closed.at, zone),
                    messages=messages,
                ),
                escape(shorten(closed.note, CLOSING_NOTE_SHOWN)),
            )
        )
    credit_notes = []
    for credit in credits:
        amount = messages.money(credit.amount) if credit.amount is not None else None
        credit_notes.append(
            messages.get(
                "show.credit",
                clock=credit.clock.upper(),
                state=messages.get(f"credit.state.{credit.state.value}"),
                amount=messages.get("show.credit.amount", amount=amount) if amount else "",
                hint=messages.get("show.credit.hint", ref=view.ref)
                if credit.state is CreditState.ELIGIBLE
                else "",
            )
        )
    room = SECTION_LIMIT - len("\n".join([registered, *credit_notes])) - len(quoting)
    shares = room // len(quoting) if quoting else 0
    notes = [registered, *(_quoting(note, text, shares) for note, text in quoting), *credit_notes]
    context = ContextBlock(elements=[MarkdownTextObject(text=clip("\n".join(notes)))]).to_dict()
    blocks.insert(len(blocks) - 1 if view.is_open else len(blocks), context)  # above buttons
    return blocks_text(blocks), blocks


def _quoting(note: Callable[[str], str], text: str, room: int) -> str:
    """`note(text)` within `room` characters: `text` (user text, escaped) clipped to the room
    the rest of the note leaves it (measured around a text of one character)."""
    return note(clip(text, max(room - (len(note("x")) - 1), 1)))


def _waiting_note(reason: str, *, since: str, user: str, messages: Messages) -> str:
    return messages.get("show.waiting", since=since, user=user, reason=sentence(reason))


def _closed_note(note: str, *, key: str, user: str, at: str, messages: Messages) -> str:
    shown = messages.get("ticket.note", text=sentence(note)) if note else ""
    return messages.get(key, user=user, at=at, note=shown)


KNOWN_NAMED = 20  # of a catalog's servers or clients, those a refusal names


def known_names(ids: Sequence[str], typed: str, messages: Messages) -> str:
    """The ids a refusal of `typed` offers instead: all of a small catalog's, in its order;
    of a larger one, the `KNOWN_NAMED` nearest `typed`, and how many more (400 servers'
    names are 10,000 characters, for a typo)."""
    if len(ids) <= KNOWN_NAMED:
        return ", ".join(f"`{i}`" for i in ids) or "-"
    nearest = difflib.get_close_matches(typed, ids, n=KNOWN_NAMED, cutoff=0)
    names = ", ".join(f"`{i}`" for i in nearest)
    return messages.get("known.more", names=names, more=len(ids) - len(nearest))


class OpenTicket(NamedTuple):
    """An open ticket of a server, as the reply to opening another one names it."""

    ref: str
    kind: str
    assignee_id: str | None


def already_open(server_id: str, ref: str, others: list[OpenTicket], messages: Messages) -> str:
    """The warning that `ref` was opened on a server that already has open tickets: each
    one's ref, kind and assignee (or "unclaimed"), so a duplicate is noticed at once."""
    return messages.get(
        "ticket.opened.already_open",
        server=server_id,
        count=len(others),
        tickets=ticket_items(others, messages),
        ref=ref,
    )


NAMED_OPEN_TICKETS = 3  # a server's open tickets named in a warning; the rest are counted


def ticket_items(others: list[OpenTicket], messages: Messages) -> str:
    """Open tickets of a server, the first few by ref, kind and assignee (or "unclaimed"),
    then how many more: a warning, not a list."""
    items = [
        messages.get(
            "ticket.opened.already_open.item",
            ref=other.ref,
            kind=messages.get(f"kind.{other.kind}"),
            assignee=f"<@{other.assignee_id}>"
            if other.assignee_id
            else messages.get("status.open"),
        )
        for other in others[:NAMED_OPEN_TICKETS]
    ]
    if more := len(others) - len(items):
        items.append(messages.get("ticket.opened.already_open.more", more=more))
    return ", ".join(items)


def blocks_text(blocks: list[dict[str, Any]]) -> str:
    """What sections and context blocks say, one line each: a message's `text` when it should
    carry everything its blocks show (notifications, screen readers, a terminal)."""
    lines: list[str] = []
    for block in blocks:
        if block["type"] == "section":
            lines.append(block["text"]["text"])
        elif block["type"] == "context":
            lines.append(" ".join(e["text"] for e in block["elements"] if "text" in e))
    return "\n".join(lines)


def _button(
    label: str, action: Action, view: TicketView, messages: Messages, style: str | None = None
) -> ButtonElement:
    return ButtonElement(
        text=PlainTextObject(text=messages.get(label)),
        action_id=action.value,
        value=str(view.id),
        style=style,
    )


BUTTON_VALUE_LIMIT = 2000  # Slack's bound on a button's value


def resolve_anyway(
    view: TicketView, text: str, messages: Messages, note: str = ""
) -> tuple[str, list[dict[str, Any]]]:
    """The confirmation asked when probes still see the server down: its text and blocks.

    The button carries the resolution note (`resolution_value`), which the click would lose
    otherwise. A note too long to fit gets no button: the technician is asked to shorten it.
    """
    value = resolution_value(view.id, note)
    if len(value) > BUTTON_VALUE_LIMIT:
        text += " " + messages.get("ticket.note_too_long_to_confirm", ref=view.ref)
        return text, [SectionBlock(text=MarkdownTextObject(text=text)).to_dict()]
    button = ButtonElement(
        text=PlainTextObject(text=messages.get("button.resolve_anyway")),
        action_id=Action.RESOLVE_ANYWAY.value,
        value=value,
    )
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=text)),
        ActionsBlock(elements=[button]),
    ]
    return text, [block.to_dict() for block in blocks]


def resolution_value(ticket_id: int, note: str) -> str:
    """What the Resolve anyway button carries: the ticket id, then the note, if any."""
    return f"{ticket_id} {note}" if note else str(ticket_id)


def resolution_note(value: str) -> str:
    """The note a Resolve anyway button carries (`resolution_value`)."""
    return value.partition(" ")[2]


def ticket_line(view: TicketView | TicketLine, messages: Messages, zone: ZoneInfo) -> str:
    """One line of a list or of /sla status."""
    clock = clock_line(view.clock, messages, zone)
    return _ticket_line(
        view.id,
        view.kind.value,
        view.server_id,
        view.status,
        view.scope,
        view.assignee_id,
        clock,
        messages,
    )


# Kept by everything a line is written from: the lists of a burst of commands, read within
# the same minute, write the same lines.
@lru_cache(maxsize=1024)
def _ticket_line(
    ticket_id: int,
    kind: str,
    server_id: str | None,
    status: TicketStatus,
    scope: Scope,
    assignee_id: str | None,
    clock: str,
    messages: Messages,
) -> str:
    return messages.get(
        "list.line",
        ref=f"INT-{ticket_id}",
        kind=messages.get(f"kind.{kind}"),
        server=server_id or "-",
        status=_status_label(status, scope, messages),
        assignee=_assignee(assignee_id, messages),
        clock=clock,
    )


def monitoring_lines(
    outages: list[DownServer],
    silences: list[SilenceInForce],
    messages: Messages,
    zone: ZoneInfo,
    now: datetime,
) -> list[str]:
    """What `/sla status` says of the servers before their tickets: those down now, and those
    whose alerts are silenced."""
    lines = []
    for outage in outages:
        acknowledged = (
            messages.get("status.acknowledged", user=outage.acknowledged_by)
            if outage.acknowledged_by
            else ""
        )
        lines.append(
            messages.get(
                "status.down",
                server=outage.server_id,
                since=local_time(outage.started_at, zone),
                duration=duration(now - outage.started_at, messages),
                acknowledged=acknowledged,
            )
        )
    for silence in silences:
        reason = (
            messages.get("alert.reason", reason=escape(one_line(silence.reason)))
            if silence.reason
            else ""
        )
        lines.append(
            messages.get(
                "status.silenced",
                server=silence.server_id,
                until=local_time(silence.ends_at, zone),
                reason=clip(reason, 200),
            )
        )
    return lines


MESSAGE_BLOCKS = 50  # Slack's most in a message
MESSAGE_TEXT = 40_000  # and the most of its text
NOTES_SECTIONS = 40  # of a list's 50 blocks: the header, the tickets' 3 and the footer's are apart


def ticket_list(
    header: str,
    views: Sequence[TicketView | TicketLine],
    messages: Messages,
    zone: ZoneInfo,
    footer: list[str],
    *,
    notes: Sequence[str] = (),
) -> tuple[str, list[dict[str, Any]]]:
    """A list of tickets, most urgent first, one compact line each (callers pass at most 30),
    `notes` (the servers down, say) between the header and the tickets."""
    lines = [ticket_line(view, messages, zone) for view in views]
    # The header, not clipped, goes through the model, which refuses a text over Slack's limit.
    blocks = [SectionBlock(text=MarkdownTextObject(text=f"*{header}*")).to_dict()]
    # A storm's servers, each named: as many sections as they take, within the message's 50
    # blocks (the tickets, 3 sections at most, and the footer come after).
    noted = _sections(notes, most=len(notes))
    if len(noted) > NOTES_SECTIONS:
        noted[NOTES_SECTIONS - 1 :] = [clip("\n".join(noted[NOTES_SECTIONS - 1 :]))]
    blocks += [section(text) for text in noted]
    blocks += [section(text) for text in _sections(lines, most=10)]
    # A client's allowance a line: a storm's tickets, each of another client, are more than
    # one block holds. As many as they take, within what the message's 50 blocks leave.
    kept = _sections(footer, most=len(footer))
    room = MESSAGE_BLOCKS - len(blocks)
    if len(kept) > room:
        kept[room - 1 :] = [clip("\n".join(kept[room - 1 :]))]
    blocks += [context(text) for text in kept]
    # What the blocks show, for notifications; a storm's servers can take it past Slack's limit.
    text = clip("\n".join([header, *notes, *lines, *footer]), MESSAGE_TEXT)
    return text, blocks


def section(text: str) -> dict[str, Any]:
    """`SectionBlock(text=MarkdownTextObject(text=text)).to_dict()` for a text within Slack's
    limit (`clip`, `_sections`), written directly: the model's validation of each block cost
    as much as rendering ten of a list's lines."""
    return {"text": _mrkdwn(text), "type": "section"}


def context(text: str) -> dict[str, Any]:
    """`ContextBlock(elements=[MarkdownTextObject(text=text)]).to_dict()`, written directly
    (`section`)."""
    return {"elements": [_mrkdwn(text)], "type": "context"}


def _mrkdwn(text: str) -> dict[str, str]:
    """`MarkdownTextObject(text=text).to_dict()`: an empty text is left out, as the model does."""
    return {"text": text, "type": "mrkdwn"} if text else {"type": "mrkdwn"}


def _sections(lines: Sequence[str], *, most: int) -> list[str]:
    """`lines` packed into section texts: at most `most` lines each, each under Slack's text
    limit (a longer line clipped)."""
    sections: list[str] = []
    chunk: list[str] = []
    for line in lines:
        if chunk and (len("\n".join([*chunk, line])) > SECTION_LIMIT or len(chunk) == most):
            sections.append("\n".join(chunk))
            chunk = []
        chunk.append(clip(line))
    if chunk:
        sections.append("\n".join(chunk))
    return sections


def update_modal(ticket_id: int, messages: Messages) -> dict[str, Any]:
    """The modal behind the Post update button."""
    return ModalView(
        type="modal",
        callback_id=View.UPDATE.value,
        private_metadata=str(ticket_id),
        title=PlainTextObject(text=messages.get("modal.update.title")),
        submit=PlainTextObject(text=messages.get("modal.submit")),
        blocks=[
            InputBlock(
                block_id=UPDATE_BLOCK,
                label=PlainTextObject(text=messages.get("modal.update.label")),
                element=PlainTextInputElement(
                    action_id=UPDATE_INPUT, multiline=True, max_length=2000
                ),
            )
        ],
    ).to_dict()
