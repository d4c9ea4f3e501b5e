"""Pure rendering of breach warnings, breach announcements and update nudges (text + blocks).

Each builder returns the fallback text and the Block Kit blocks of one message; the same message
goes to a DM and to the ticket thread, so the buttons carry the ticket id only.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.messages import Messages
from bot.sla import ClockKind, Nudge, PlannedWarning
from bot.slack.ids import Action
from bot.slack.render import clip, duration, escape, local_time
from bot.storage.models import CreditState

Rendered = tuple[str, list[dict[str, Any]]]


@dataclass(frozen=True)
class Subject:
    """What every reminder shows of its ticket."""

    ticket_id: int
    ref: str
    server_id: str | None
    client_name: str
    assignee_id: str | None

    @property
    def claimed(self) -> bool:
        return self.assignee_id is not None


def _common(subject: Subject, messages: Messages) -> dict[str, object]:
    return {
        "ref": subject.ref,
        "server": subject.server_id or messages.get("reminder.no_server"),
        "client": escape(subject.client_name),
        "assignee": (
            f"<@{subject.assignee_id}>" if subject.assignee_id else messages.get("root.nobody")
        ),
    }


def late_note(due_at: datetime, late: bool, messages: Messages, zone: ZoneInfo) -> str:
    """The marker of a reminder sent late (due while the bot was down); empty when on time."""
    return messages.get("reminder.late", at=local_time(due_at, zone)) if late else ""


def _buttons(subject: Subject, messages: Messages, *, claim: bool, update: bool) -> list[Block]:
    buttons: list[ButtonElement] = []
    if claim:
        buttons.append(
            ButtonElement(
                text=PlainTextObject(text=messages.get("button.claim")),
                action_id=Action.CLAIM.value,
                value=str(subject.ticket_id),
                style="primary",
            )
        )
    if update:
        buttons.append(
            ButtonElement(
                text=PlainTextObject(text=messages.get("button.update")),
                action_id=Action.POST_UPDATE.value,
                value=str(subject.ticket_id),
            )
        )
    return [ActionsBlock(elements=buttons)] if buttons else []


def _render(text: str, extra: list[Block]) -> Rendered:
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=clip(text))), *extra]
    return text, [block.to_dict() for block in blocks]


def warning_message(
    subject: Subject,
    clock: ClockKind,
    warning: PlannedWarning,
    *,
    remaining: timedelta,
    deadline: datetime,
    late: bool,
    messages: Messages,
    zone: ZoneInfo,
) -> Rendered:
    """A warning before the breach: threshold, open time left, local deadline; Claim (while
    unclaimed) and, for GTR, Post update."""
    threshold = (
        messages.get("reminder.threshold.before")
        if warning.threshold == "before"
        else messages.get(
            "reminder.threshold.fraction", percent=messages.number(float(warning.threshold))
        )
    )
    text = messages.get(
        "reminder.warning",
        clock=clock.value.upper(),
        threshold=threshold,
        remaining=duration(remaining, messages),
        deadline=local_time(deadline, zone),
        late=late_note(warning.due_at, late, messages, zone),
        **_common(subject, messages),
    )
    buttons = _buttons(subject, messages, claim=not subject.claimed, update=clock is ClockKind.GTR)
    return _render(text, buttons)


def breach_message(
    subject: Subject,
    clock: ClockKind,
    *,
    deadline: datetime,
    credit: bool,
    late: bool,
    messages: Messages,
    zone: ZoneInfo,
    moved: tuple[CreditState, Decimal] | None = None,
    cap: tuple[Decimal, Decimal] | None = None,
) -> Rendered:
    """The breach announcement (alert channel and thread); Claim while unclaimed. `credit`:
    whether it owes one (not when the month's earlier breaches already reach the cap);
    `moved`: the state and amount of its credit when a technician moved it before the
    announcement (requested, granted or declined): the client has asked already; `cap`: the
    monthly cap it was measured against and what the month's earlier breaches took of it (a
    breach owing nothing with nothing taken owes nothing because the cap is 0 €)."""
    values: dict[str, object] = {
        "clock": clock.value.upper(),
        "deadline": local_time(deadline, zone),
        "late": late_note(deadline, late, messages, zone),
        **_common(subject, messages),
    }
    if moved is not None and moved[0] is not CreditState.ELIGIBLE:
        state, amount = moved
        text = messages.get(
            "reminder.breach_credit_moved",
            state=messages.get(f"credit.state.{state.value}"),
            amount=messages.money(amount),
            **values,
        )
    elif not credit and cap is not None and cap[1] <= 0:
        text = messages.get("reminder.breach_nil_cap", cap=messages.money(cap[0]), **values)
    else:
        text = messages.get("reminder.breach" if credit else "reminder.breach_capped", **values)
    return _render(text, _buttons(subject, messages, claim=not subject.claimed, update=False))


def nudge_message(
    subject: Subject,
    nudge: Nudge,
    *,
    unanswered: int,
    silence: timedelta,
    mentions: list[str] | None,
    late: bool,
    messages: Messages,
    zone: ZoneInfo,
) -> Rendered:
    """An update nudge: a DM to the assignee, or (escalated, with `mentions`) a thread post
    saying how many nudges sent to the assignee since the last client update went
    `unanswered` (this one excluded; not those that fell due while the bot was down, which were
    never sent, nor those sent to whoever held the ticket before them)."""
    values: dict[str, object] = {
        "silence": duration(silence, messages),
        "late": late_note(nudge.due_at, late, messages, zone),
        **_common(subject, messages),
    }
    if mentions:
        text = messages.get(
            "reminder.nudge_escalated",
            mentions=" ".join(f"<@{user_id}>" for user_id in mentions),
            missed=unanswered,
            **values,
        )
    else:
        text = messages.get("reminder.nudge", **values)
    return _render(text, _buttons(subject, messages, claim=False, update=True))
