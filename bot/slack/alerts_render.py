"""Pure rendering of outage alerts for Slack: texts and Block Kit (slack_sdk models), no I/O.

The service builds the views below from the database; these functions only lay them out.
Probe errors and names come from the outside world and are escaped here; a probe error is put
in the team's language here too (`bot/probes/errors.py`).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View as ModalView

from bot.messages import Messages
from bot.probes.errors import describe
from bot.sla import TicketKind
from bot.slack.ids import (
    OPEN_AT_BLOCK,
    OPEN_DESCRIPTION_BLOCK,
    OPEN_INPUT,
    OPEN_KIND_BLOCK,
    OPEN_SERVER_BLOCK,
    Action,
    View,
)
from bot.slack.render import (
    SECTION_LIMIT,
    OpenTicket,
    clip,
    duration,
    escape,
    local_time,
    ticket_items,
)

ERROR_LIMIT = 300  # a probe error is a short reason; an HTML body quoted in it is cut
STORM_LINES = 60  # servers listed in a storm root; the rest are counted


@dataclass(frozen=True)
class ProbeLine:
    """One failing probe: its key (`server/tcp:22`) and its last error."""

    key: str
    error: str | None


@dataclass(frozen=True)
class OutageView:
    """What an outage's root message shows at `now`."""

    id: int
    server_id: str
    client_name: str
    level: str
    started_at: datetime
    ended_at: datetime | None
    failing: tuple[ProbeLine, ...]
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    maintenance_ref: str | None  # an open maintenance ticket on the server: nobody is paged
    silenced_until: datetime | None
    oncall: tuple[str, ...]
    tickets: tuple[str, ...]  # refs of tickets opened from this outage
    now: datetime
    # Outages of the server the team was alerted of that began within FLAP_WINDOW up to this
    # one's start, this one included: 2 or more, the server is flapping.
    recent: int = 1
    # False once the catalog no longer probes the server: nothing will end the outage.
    probed: bool = True
    # When an acknowledgement carried over to it from an earlier outage lapses, if live then.
    carry_lapses_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.ended_at is None

    @property
    def acknowledged_earlier(self) -> bool:
        """Whether its acknowledgement was carried over from an earlier outage of the server
        (down again within FLAP_WINDOW of its recovery): nobody can acknowledge an outage
        before it starts."""
        return self.acknowledged_at is not None and self.acknowledged_at < self.started_at

    @property
    def pages(self) -> bool:
        """Whether the root mentions the on-call: a real, open, unhandled outage. A ticket
        opened from it handles it, as an acknowledgement does: its own warnings go to on-call
        while nobody claims it."""
        return self.acknowledged_by is None and self.pages_unacknowledged

    @property
    def pages_unacknowledged(self) -> bool:
        """Whether the on-call would be paged for it were it not acknowledged: open, probed,
        not planned, not silenced, no ticket opened from it. What a carried acknowledgement
        no longer holds back once it lapsed (the service's CARRY_HOLDS)."""
        return self.live and bool(self.oncall)

    @property
    def live(self) -> bool:
        """Open, probed, not under maintenance, not silenced, no ticket opened from it: an
        outage somebody must hear of (the on-call, unless someone acknowledged it)."""
        return (
            self.is_open
            and self.probed
            and self.maintenance_ref is None
            and self.silenced_until is None
            and not self.tickets
        )

    @property
    def tells_acknowledger(self) -> bool:
        """Whether the root mentions who it was acknowledged by: carried over from an earlier
        outage of the server, they are on it and hear that it went down again (flapping wakes
        them, not the on-call)."""
        return self.acknowledged_earlier and self.live

    def lasted(self) -> timedelta:
        return (self.ended_at or self.now) - self.started_at


@dataclass(frozen=True)
class StormMember:
    server_id: str
    client_name: str
    started_at: datetime
    ended_at: datetime | None
    monitored: bool = True  # False: the catalog no longer probes it, no recovery will be seen
    maintenance_ref: str | None = None  # an open maintenance ticket on it: planned downtime
    silenced_until: datetime | None = None  # a silence in force on it: nobody is paged for it
    tickets: tuple[str, ...] = ()  # refs of tickets opened from its outage: someone is on it
    # Who acknowledged its outage: the storm's acknowledger, or an earlier outage's (carried)
    acknowledged_by: str | None = None


@dataclass(frozen=True)
class StormView:
    """What a storm's grouped root shows: every member server, down or recovered."""

    id: int
    started_at: datetime
    ended_at: datetime | None
    members: tuple[StormMember, ...]
    oncall: tuple[str, ...]
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None

    @property
    def pages(self) -> bool:
        """Whether the root mentions the on-call: while the storm lasts and nobody
        acknowledged it, as an outage's does, unless every server it still has down and probed
        is under maintenance (planned), silenced, acknowledged (an earlier outage's
        acknowledgement carried over, say) or has a ticket opened from its outage (someone is
        on it)."""
        return (
            self.ended_at is None
            and self.acknowledged_by is None
            and any(
                m.ended_at is None
                and m.monitored
                and m.maintenance_ref is None
                and m.silenced_until is None
                and not m.tickets
                and m.acknowledged_by is None
                for m in self.members
            )
            and bool(self.oncall)
        )


def probe_name(key: str, server_id: str) -> str:
    """`acme-web-01/tcp:22` -> `tcp:22` (the server is already named around it)."""
    return key.removeprefix(f"{server_id}/")


def error_text(error: str | None, messages: Messages) -> str:
    """A probe error as shown: in the team's language (a reason stored as text by an older
    version as it is), escaped, one line, bounded."""
    text = " ".join((describe(error, messages) or "?").split())
    if len(text) > ERROR_LIMIT:
        text = text[: ERROR_LIMIT - 1] + "…"
    return escape(text)


def mentions(user_ids: tuple[str, ...]) -> str:
    return " ".join(f"<@{user_id}>" for user_id in user_ids)


def _names(view: OutageView) -> dict[str, object]:
    # The catalog names levels freely ("Or <24h> & co"), as it does clients.
    return {
        "server": view.server_id,
        "client": escape(view.client_name),
        "level": escape(view.level),
    }


def probe_lines(view: OutageView, messages: Messages) -> str:
    """The failing probes, one a line."""
    return "\n".join(
        messages.get(
            "alert.root.probe",
            probe=escape(probe_name(line.key, view.server_id)),
            error=error_text(line.error, messages),
        )
        for line in view.failing
    )


def outage_root(view: OutageView, messages: Messages, zone: ZoneInfo) -> tuple[str, list[Any]]:
    """The outage's root message: server, client, level, failing probes, since when, buttons."""
    since = local_time(view.started_at, zone)
    if view.is_open and not view.probed:
        title = messages.get("alert.root.unprobed", **_names(view))
        body = [
            messages.get("alert.root.since", since=since),
            messages.get("alert.root.unprobed_why"),
        ]
        text = messages.get("alert.text.unprobed", **_names(view), since=since)
    elif view.is_open:
        title = messages.get("alert.root.down", **_names(view))
        body = [messages.get("alert.root.since", since=since)]
        text = messages.get("alert.text.down", **_names(view), since=since)
        if view.recent > 1:
            body.append(messages.get("alert.root.flapping", count=view.recent))
            text += messages.get("alert.text.flapping", count=view.recent)
        if view.failing:
            body += [messages.get("alert.root.probes"), probe_lines(view, messages)]
    else:
        assert view.ended_at is not None
        lasted = duration(view.lasted(), messages)
        title = messages.get("alert.root.recovered", **_names(view), duration=lasted)
        body = [
            messages.get(
                "alert.root.ended",
                since=since,
                until=local_time(view.ended_at, zone),
                duration=lasted,
            )
        ]
        text = messages.get("alert.text.recovered", **_names(view), duration=lasted)
    notes = _status_notes(view, messages, zone)
    if view.pages:
        text += " " + mentions(view.oncall)
    elif view.tells_acknowledger:
        assert view.acknowledged_by is not None
        text += " " + mentions((view.acknowledged_by,))
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=clip(title))),
        SectionBlock(text=MarkdownTextObject(text=clip("\n".join(body)))),
    ]
    if notes:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=clip("\n".join(notes)))]))
    if view.is_open and view.probed:
        blocks.append(ActionsBlock(elements=_buttons(view, messages)))
    return text, [block.to_dict() for block in blocks]


def _status_notes(view: OutageView, messages: Messages, zone: ZoneInfo) -> list[str]:
    notes: list[str] = []
    # Said while the outage lasts, as its silence is: a recovered root stays as it is for good,
    # and would go on saying the maintenance is in progress and pages nobody.
    if view.maintenance_ref is not None and view.is_open:
        notes.append(messages.get("alert.root.maintenance", ref=view.maintenance_ref))
    if view.acknowledged_by is not None and view.acknowledged_at is not None:
        notes.append(acknowledged_note(view, messages, zone))
    if view.silenced_until is not None and view.is_open:
        notes.append(
            messages.get("alert.root.silenced", until=local_time(view.silenced_until, zone))
        )
    if view.tickets:
        notes.append(messages.get("alert.root.tickets", refs=", ".join(view.tickets)))
    if view.pages:
        notes.append(messages.get("alert.root.oncall", mentions=mentions(view.oncall)))
    return notes


def acknowledged_note(view: OutageView, messages: Messages, zone: ZoneInfo) -> str:
    """Who acknowledged the outage and when: on it, or on an earlier outage of the server."""
    assert view.acknowledged_by is not None
    assert view.acknowledged_at is not None
    at = local_time(view.acknowledged_at, zone)
    if not view.acknowledged_earlier:
        return messages.get("alert.root.acknowledged", user=view.acknowledged_by, at=at)
    # When the carry lapses, as of the outage's start: a root posted at a silence's end comes
    # late into it. Once over, or held by a ticket or a maintenance, it pages nobody then.
    lapse = view.carry_lapses_at
    if lapse is None or not view.live or view.now >= lapse:
        return messages.get(
            "alert.root.acknowledged_earlier_held", user=view.acknowledged_by, at=at
        )
    return messages.get(
        "alert.root.acknowledged_earlier",
        user=view.acknowledged_by,
        at=at,
        lapse=local_time(lapse, zone),
    )


def _buttons(view: OutageView, messages: Messages) -> list[ButtonElement]:
    value = str(view.id)
    buttons = [
        ButtonElement(
            text=PlainTextObject(text=messages.get("button.open_intervention")),
            action_id=Action.OPEN_INTERVENTION.value,
            value=value,
            style="primary",
        )
    ]
    if view.acknowledged_by is None:
        buttons.append(
            ButtonElement(
                text=PlainTextObject(text=messages.get("button.acknowledge")),
                action_id=Action.ACKNOWLEDGE.value,
                value=value,
            )
        )
    if view.silenced_until is None:
        buttons.append(
            ButtonElement(
                text=PlainTextObject(text=messages.get("button.silence_1h")),
                action_id=Action.SILENCE_1H.value,
                value=value,
            )
        )
    return buttons


def probe_down(
    server_id: str, line: ProbeLine, since: datetime, messages: Messages, zone: ZoneInfo
) -> str:
    """A thread reply: one more probe of the server failed."""
    return messages.get(
        "alert.thread.probe_down",
        probe=escape(probe_name(line.key, server_id)),
        since=local_time(since, zone),
        error=error_text(line.error, messages),
    )


def certificate_expiring(
    server_id: str,
    url: str,
    expires_at: datetime,
    now: datetime,
    messages: Messages,
    zone: ZoneInfo,
    *,
    verified: bool = True,
    oncall: tuple[str, ...] = (),
) -> str:
    """An HTTPS certificate expires soon (or has, for a probe that does not verify it):
    which, on which server, when, and what follows."""
    if expires_at <= now:
        key = "alert.certificate.expired"
    else:
        key = "alert.certificate.expiring" if verified else "alert.certificate.expiring_unverified"
    text = messages.get(
        key,
        url=escape(url),
        server=server_id,
        left=duration(max(expires_at - now, timedelta(0)), messages),
        at=local_time(expires_at, zone),
    )
    return f"{text} {mentions(oncall)}" if oncall else text


def storm_root(view: StormView, messages: Messages, zone: ZoneInfo) -> tuple[str, list[Any]]:
    """The grouped root of a storm: how many servers are down now and how many recovered,
    which, and of how many in all."""
    count = len(view.members)
    recovered = sum(1 for m in view.members if m.ended_at is not None)
    down = count - recovered
    since = local_time(view.started_at, zone)
    if view.ended_at is None:
        title = messages.get(
            "alert.storm.title", down=down, recovered=recovered, count=count, since=since
        )
    else:
        until = local_time(view.ended_at, zone)
        title = messages.get("alert.storm.title_over", count=count, since=since, until=until)
    lines = []
    for member in view.members[:STORM_LINES]:
        names = {"server": member.server_id, "client": escape(member.client_name)}
        if member.ended_at is None and not member.monitored:
            lines.append(messages.get("alert.storm.line_unprobed", **names))
        elif member.ended_at is None and member.maintenance_ref is not None:
            ref = member.maintenance_ref
            lines.append(messages.get("alert.storm.line_maintenance", **names, ref=ref))
        elif member.ended_at is None and member.silenced_until is not None:
            until = local_time(member.silenced_until, zone)
            lines.append(messages.get("alert.storm.line_silenced", **names, until=until))
        elif member.ended_at is None and member.tickets:
            refs = ", ".join(member.tickets)
            lines.append(messages.get("alert.storm.line_tickets", **names, refs=refs))
        elif member.ended_at is None and member.acknowledged_by and view.acknowledged_by is None:
            # Said when the root names nobody who took the storm: a server acknowledged on its
            # own (its earlier outage's acknowledgement carried over, or the storm's, taken back
            # when a server joined it) pages nobody, and the root says why.
            user = member.acknowledged_by
            lines.append(messages.get("alert.storm.line_acknowledged", **names, user=user))
        elif member.ended_at is None:
            lines.append(messages.get("alert.storm.line_down", **names))
        else:
            lasted = duration(member.ended_at - member.started_at, messages)
            lines.append(messages.get("alert.storm.line_up", **names, duration=lasted))
    if count > STORM_LINES:
        lines.append(messages.get("alert.storm.more", count=count - STORM_LINES))
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=clip(title)))]
    chunk: list[str] = []
    for line in lines:  # several sections, each under Slack's text limit
        if chunk and len("\n".join([*chunk, line])) > SECTION_LIMIT:
            blocks.append(SectionBlock(text=MarkdownTextObject(text="\n".join(chunk))))
            chunk = []
        chunk.append(line)
    if chunk:
        blocks.append(SectionBlock(text=MarkdownTextObject(text="\n".join(chunk))))
    notes = [messages.get("alert.storm.footer", recovered=recovered, count=count)]
    over = view.ended_at is not None
    text = messages.get(
        "alert.storm.text_over" if over else "alert.storm.text",
        count=count,
        recovered=recovered,
        down=down,
    )
    if view.acknowledged_by is not None and view.acknowledged_at is not None:
        at = local_time(view.acknowledged_at, zone)
        notes.append(messages.get("alert.root.acknowledged", user=view.acknowledged_by, at=at))
    if view.pages:
        notes.append(messages.get("alert.root.oncall", mentions=mentions(view.oncall)))
        text += " " + mentions(view.oncall)
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text="\n".join(notes))]))
    if view.ended_at is None and view.acknowledged_by is None:
        acknowledge = ButtonElement(
            text=PlainTextObject(text=messages.get("button.acknowledge")),
            action_id=Action.ACKNOWLEDGE_STORM.value,
            value=str(view.id),
        )
        blocks.append(ActionsBlock(elements=[acknowledge]))
    return text, [block.to_dict() for block in blocks]


def storm_detail(
    view: OutageView, messages: Messages, zone: ZoneInfo, *, page: tuple[str, ...] = ()
) -> tuple[str, list[Any]]:
    """A storm thread reply: one member server, its failing probes, and the button to open a
    ticket from it (one click when the client calls, as from an outage's own root); `page`
    mentioned (a server joining a storm someone had acknowledged). A server whose earlier
    outage's acknowledgement carried over says who took it, and pages nobody."""
    text = clip(
        messages.get(
            "alert.storm.detail",
            **_names(view),
            since=local_time(view.started_at, zone),
            probes=probe_lines(view, messages),
        )
    )
    if view.maintenance_ref is not None:
        note = messages.get("alert.root.maintenance", ref=view.maintenance_ref)
        text = clip(f"{text}\n{note}")
    if view.acknowledged_by is not None and view.acknowledged_at is not None:
        text = clip(f"{text}\n{acknowledged_note(view, messages, zone)}")
    if page:
        text = clip(f"{text}\n{mentions(page)}")
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=text)),
        ActionsBlock(elements=_buttons(view, messages)[:1]),  # Open intervention
    ]
    return text, [block.to_dict() for block in blocks]


def open_intervention_modal(
    outage_id: int,
    server_id: str,
    kind: TicketKind,
    call_time: str,
    description: str,
    messages: Messages,
    *,
    open_on_server: list[OpenTicket] | None = None,
) -> dict[str, Any]:
    """The modal behind Open intervention, pre-filled; the technician may change any field.
    The server's open tickets, if any, are named above the fields: a colleague may already
    have registered the client's call."""
    options = [
        Option(text=PlainTextObject(text=messages.get(f"kind.{k.value}")), value=k.value)
        for k in TicketKind
    ]
    initial = next(option for option in options if option.value == kind.value)
    note: list[Block] = []
    if open_on_server:
        warning = messages.get(
            "modal.open.already_open",
            server=server_id,
            count=len(open_on_server),
            tickets=ticket_items(open_on_server, messages),
        )
        note = [ContextBlock(elements=[MarkdownTextObject(text=clip(warning))])]
    return ModalView(
        type="modal",
        callback_id=View.OPEN_INTERVENTION.value,
        private_metadata=str(outage_id),
        title=PlainTextObject(text=messages.get("modal.open.title")),
        submit=PlainTextObject(text=messages.get("modal.open.submit")),
        blocks=[
            *note,
            InputBlock(
                block_id=OPEN_SERVER_BLOCK,
                label=PlainTextObject(text=messages.get("modal.open.server")),
                element=PlainTextInputElement(
                    action_id=OPEN_INPUT, initial_value=server_id, max_length=64
                ),
            ),
            InputBlock(
                block_id=OPEN_KIND_BLOCK,
                label=PlainTextObject(text=messages.get("modal.open.kind")),
                element=StaticSelectElement(
                    action_id=OPEN_INPUT, options=options, initial_option=initial
                ),
            ),
            InputBlock(
                block_id=OPEN_AT_BLOCK,
                label=PlainTextObject(text=messages.get("modal.open.at")),
                element=PlainTextInputElement(
                    action_id=OPEN_INPUT, initial_value=call_time, max_length=40
                ),
            ),
            InputBlock(
                block_id=OPEN_DESCRIPTION_BLOCK,
                label=PlainTextObject(text=messages.get("modal.open.description")),
                element=PlainTextInputElement(
                    action_id=OPEN_INPUT,
                    initial_value=description,
                    multiline=True,
                    max_length=2000,
                ),
            ),
        ],
    ).to_dict()
