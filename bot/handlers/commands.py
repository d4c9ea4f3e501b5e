"""Slash commands `/intervention` and `/sla`: parse with the grammar, call one service, ack.

State is committed before the ack (Bolt runs with process_before_response), so what the
technician reads is what is stored; messages to channels go through the outbox afterwards.
"""

from contextlib import suppress
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.errors import UserFacingError
from bot.grammar import (
    Help,
    ListTickets,
    Open,
    Reassign,
    Snooze,
    TicketAct,
    clean,
    parse_credit,
    parse_intervention,
    parse_report,
    parse_silence,
    parse_status,
)
from bot.handlers import dedupe
from bot.handlers.budget import answer_or_follow_up
from bot.handlers.context import HandlerContext
from bot.handlers.errors import ack_with_reply, render_error
from bot.handlers.replies import tell
from bot.services.audit import Actor
from bot.services.tickets import Reply
from bot.slack.ids import Command
from bot.storage.threads import in_database_thread

COMMANDS = tuple(command.value for command in Command)
SLA_WORDS = ("status", "report", "credit", "silence", "help")
# How long `/sla report` may take before its ack says the report follows (Slack allows 3 s).
REPORT_INLINE_SECONDS = 1.5


def register(app: AsyncApp, context: HandlerContext) -> None:
    """Attach the slash command listeners to `app`."""

    async def handle_intervention_command(ack: AsyncAck, command: dict[str, Any]) -> None:
        await ack_with_reply(ack, lambda: intervention(context, command), context.messages)

    async def handle_sla_command(ack: AsyncAck, command: dict[str, Any]) -> None:
        await ack_with_reply(ack, lambda: sla(context, command), context.messages)

    app.command(Command.INTERVENTION.value)(handle_intervention_command)
    app.command(Command.SLA.value)(handle_sla_command)


async def require_technician(
    context: HandlerContext, actor: Actor, action: str, *, ticket_id: int | None = None
) -> None:
    """Refuse (and audit the attempt, on the ticket it aimed at) unless `actor` is a
    technician. Slack failing to list the user group is no refusal (try again); a group
    Slack says is gone is one: no member of it is a technician."""
    try:
        allowed = await context.authorizer.is_technician(actor.user_id)
    except UserFacingError as error:
        if error.key == "auth.group_gone":  # told why, rather than "only technicians"
            await _audit_refusal(context, actor, action, ticket_id)
        raise
    if not allowed:
        await _audit_refusal(context, actor, action, ticket_id)
        raise UserFacingError("auth.refused")


async def _audit_refusal(
    context: HandlerContext, actor: Actor, action: str, ticket_id: int | None
) -> None:
    await in_database_thread(
        dedupe.refusal, context.tickets.refuse_unauthorized, actor, action, ticket_id=ticket_id
    )


async def intervention(context: HandlerContext, command: dict[str, Any]) -> Reply:
    """The reply to one `/intervention` command."""
    raw = str(command.get("text", ""))
    actor = Actor(str(command["user_id"]), f"/intervention {clean(raw)}"[:3000])
    parsed = parse_intervention(raw)
    tickets = context.tickets
    if isinstance(parsed, Help):
        return Reply(context.messages.get("help.intervention"))
    if isinstance(parsed, ListTickets):
        return await in_database_thread(tickets.list_tickets, parsed.scope, user_id=actor.user_id)
    if isinstance(parsed, TicketAct) and parsed.verb == "show":
        return await in_database_thread(tickets.show, parsed.ticket_id)
    verb = type(parsed).__name__.lower() if not isinstance(parsed, TicketAct) else parsed.verb
    target = parsed.ticket_id if isinstance(parsed, TicketAct | Reassign | Snooze) else None
    await require_technician(context, actor, verb, ticket_id=target)
    if isinstance(parsed, Open):
        return await in_database_thread(tickets.open, actor, parsed)
    if isinstance(parsed, Reassign):
        # The ticket before whom it would go to: "INT-99 does not exist" (or is resolved) is
        # the problem to fix first, not that the user named is no technician.
        await in_database_thread(tickets.require_open, parsed.ticket_id)
        if not await context.authorizer.is_technician(parsed.user_id):
            raise UserFacingError("ticket.not_technician", user=parsed.user_id)
        return await in_database_thread(tickets.reassign, actor, parsed.ticket_id, parsed.user_id)
    if isinstance(parsed, Snooze):
        return await in_database_thread(tickets.snooze, actor, parsed.ticket_id, parsed.duration)
    return await in_database_thread(ticket_act, context, actor, parsed)


def ticket_act(context: HandlerContext, actor: Actor, act: TicketAct) -> Reply:
    tickets = context.tickets
    match act.verb:
        case "claim":
            return tickets.claim(actor, act.ticket_id)
        case "update":
            return tickets.update(actor, act.ticket_id, act.text)
        case "wait":
            return tickets.wait(actor, act.ticket_id, act.text)
        case "resume":
            return tickets.resume(actor, act.ticket_id)
        case "resolve":
            return tickets.resolve(actor, act.ticket_id, act.text)
        case "quote" | "refuse":
            return tickets.settle_scope(
                actor, act.ticket_id, quote=act.verb == "quote", note=act.text
            )
    raise AssertionError(f"unhandled verb {act.verb}")


async def sla(context: HandlerContext, command: dict[str, Any]) -> Reply:
    """The reply to one `/sla` command."""
    raw = str(command.get("text", ""))
    text = clean(raw)
    # Any whitespace separates the words, as in `/intervention`: a tab, or the no-break space
    # that macOS types with Option held. The rest goes to its parser as Slack sent it: each
    # decodes Slack's entities once (decoded twice, a typed "&lt;" would become "<").
    words = raw.split(maxsplit=1)
    while words and not clean(words[0]):  # only invisible characters (a zero-width space)
        words = words[1].split(maxsplit=1) if len(words) > 1 else []
    word, rest = (*words, "", "")[:2]
    word = clean(word).lower() or "help"
    if word == "help":
        return Reply(context.messages.get("help.sla"))
    if word == "status":
        target = parse_status(rest).target
        return await in_database_thread(context.tickets.status, target)
    if word == "report":
        request = parse_report(rest)
        actor = Actor(str(command["user_id"]), f"/sla {text}"[:3000])
        if request.public:  # anyone may read a report; posting one in the channel is an act
            await require_technician(context, actor, "report public")

        async def answer() -> Reply:
            channel_id = command.get("channel_id")
            return await in_database_thread(
                context.reports.answer, actor, request, channel_id=channel_id
            )

        async def follow_up(outcome: Reply | Exception) -> None:
            if isinstance(outcome, dedupe.RepeatedDeliveryError):
                return  # delivered before and carried out: nothing to tell
            reply = (
                outcome
                if isinstance(outcome, Reply)
                else Reply(render_error(outcome, context.messages))
            )
            # Its reply was queued by an earlier delivery.
            with suppress(dedupe.RepeatedDeliveryError):
                await tell(context, command, reply)

        # A month of many clients takes seconds to build: it follows the ack rather than fail.
        reply = await answer_or_follow_up(answer, follow_up, seconds=REPORT_INLINE_SECONDS)
        return reply or Reply(context.messages.get("report.follows"))
    if word == "credit":
        act = parse_credit(rest)
        actor = Actor(str(command["user_id"]), f"/sla {text}"[:3000])
        await require_technician(context, actor, f"credit {act.verb}", ticket_id=act.ticket_id)
        return await in_database_thread(
            context.credits.move, actor, act.verb, act.ticket_id, act.note
        )
    if word == "silence":
        silence = parse_silence(rest)
        actor = Actor(str(command["user_id"]), f"/sla {text}"[:3000])
        await require_technician(context, actor, "silence")
        return await in_database_thread(
            context.alerts.silence,
            actor,
            silence.server_id,
            silence.duration,
            silence.reason,
        )
    if word not in SLA_WORDS:
        raise UserFacingError("usage.unknown_verb", command="/sla", word=word[:40])
    raise UserFacingError("error.not_available", command="/sla", word=word)
