"""Buttons of alert messages: Open intervention (a pre-filled modal), Acknowledge (an outage or
a whole storm), Silence 1h.

Clicks are acked at once; the outcome is told to the clicker through the outbox (ephemeral, on
the interaction's response_url) and to everyone in the alert thread. Only technicians act. The
Open intervention modal is acked once the ticket is registered: a refusal shows in it, what was
typed kept.
"""

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import UserFacingError
from bot.grammar import open_field_errors, open_from_fields, typed
from bot.handlers.actions import act, open_modal, payload_id
from bot.handlers.budget import answer_within
from bot.handlers.commands import require_technician
from bot.handlers.context import HandlerContext
from bot.handlers.dedupe import RepeatedDeliveryError
from bot.handlers.errors import render_error
from bot.handlers.replies import dm, tell
from bot.services.audit import Actor
from bot.services.calltime import resolve_call_time
from bot.services.tickets import Reply
from bot.slack.alerts_render import open_intervention_modal
from bot.slack.ids import (
    OPEN_AT_BLOCK,
    OPEN_DESCRIPTION_BLOCK,
    OPEN_INPUT,
    OPEN_KIND_BLOCK,
    OPEN_SERVER_BLOCK,
    Action,
    View,
)
from bot.storage.threads import in_database_thread

logger = logging.getLogger(__name__)


def register(app: AsyncApp, context: HandlerContext) -> None:
    """Attach the alert button and modal listeners to `app`."""
    alerts = context.alerts

    async def handle_acknowledge_action(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        act(context, body, "acknowledge", alerts.acknowledge, subject="outage {}")

    async def handle_acknowledge_storm_action(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        act(context, body, "acknowledge", alerts.acknowledge_storm, subject="storm {}")

    async def handle_silence_action(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        act(context, body, "silence", alerts.silence_outage, subject="outage {}")

    async def handle_open_intervention_action(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        actor = Actor(body["user"]["id"], "[button] open intervention")
        try:
            outage_id = payload_id(body["actions"][0]["value"])
            actor = Actor(actor.user_id, f"[button] open intervention from outage {outage_id}")
            await require_technician(context, actor, "open")
            server_id, kind, description = await in_database_thread(
                alerts.intervention_defaults, outage_id
            )
            others = await in_database_thread(context.tickets.open_on, server_id)
        except RepeatedDeliveryError:  # refused before, on delivery: told then, audited once
            return
        except Exception as error:  # told to the clicker; render_error logs bugs
            reply = Reply(render_error(error, context.messages))
            await tell(context, body, reply)
            return
        call_time = context.clock().astimezone(alerts.catalog.zone).strftime("%H:%M")
        modal = open_intervention_modal(
            outage_id,
            server_id,
            kind,
            call_time,
            description,
            context.messages,
            open_on_server=others,
        )
        await open_modal(context, body, client, modal)

    async def handle_open_intervention_view(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]
    ) -> None:
        actor = Actor(body["user"]["id"], "[modal] open intervention")
        try:  # registered before the ack, as a command is: a refusal keeps what was typed
            outage_id = payload_id(view["private_metadata"])
            actor = Actor(actor.user_id, f"[modal] open intervention from outage {outage_id}")
            values = view["state"]["values"]
            reply = await answer_within(
                lambda: register_from_modal(context, actor, values, outage_id)
            )
        except RepeatedDeliveryError:  # submitted before and recorded: nothing to do again
            await ack()
            return
        except FieldsError as fields:  # every field at fault, each under its own
            errors = {
                block: render_error(error, context.messages, plain=True)
                for block, error in fields.errors.items()
            }
            await ack(response_action="errors", errors=errors)
            return
        except Exception as error:  # shown in the modal by the field at fault (bugs logged)
            block = _block_of(getattr(error, "key", ""))
            await ack(
                response_action="errors",
                errors={block: render_error(error, context.messages, plain=True)},
            )
            return
        await ack()
        try:  # the ticket is registered: its DM goes even if the outage's root stays as it was
            await in_database_thread(alerts.refresh, outage_id)
        except Exception:
            logger.exception("after opening a ticket from outage %s", outage_id)
        await in_database_thread(dm, context, actor.user_id, body.get("trigger_id", ""), reply)

    app.action(Action.ACKNOWLEDGE.value)(handle_acknowledge_action)
    app.action(Action.ACKNOWLEDGE_STORM.value)(handle_acknowledge_storm_action)
    app.action(Action.SILENCE_1H.value)(handle_silence_action)
    app.action(Action.OPEN_INTERVENTION.value)(handle_open_intervention_action)
    app.view(View.OPEN_INTERVENTION.value)(handle_open_intervention_view)


class FieldsError(Exception):
    """Fields of the Open intervention modal at fault, by block: shown all at once."""

    def __init__(self, errors: dict[str, UserFacingError]) -> None:
        super().__init__(", ".join(f"{block}: {error.key}" for block, error in errors.items()))
        self.errors = errors


async def register_from_modal(
    context: HandlerContext, actor: Actor, values: dict[str, Any], outage_id: int
) -> Reply:
    """Register the ticket of an Open intervention modal: an outsider is refused (and audited)
    whatever the fields say; a technician's fields are read as `/intervention open` reads them,
    every field at fault named at once (FieldsError)."""
    await require_technician(context, actor, "open")
    server, kind, description = (
        _value(values, OPEN_SERVER_BLOCK),
        _value(values, OPEN_KIND_BLOCK),
        _value(values, OPEN_DESCRIPTION_BLOCK),
    )
    at = _value(values, OPEN_AT_BLOCK) or None
    if errors := _field_errors(context, server, kind, at, description):
        raise FieldsError(errors)
    command = open_from_fields(server, kind, at, description)
    return await in_database_thread(context.tickets.open, actor, command, outage_id=outage_id)


def _field_errors(
    context: HandlerContext, server: str, kind: str, at: str | None, description: str
) -> dict[str, UserFacingError]:
    """Each field's refusal, read on its own: the grammar's, a server the catalog does not
    have, a call time unreadable, to come or too old. The ticket service checks them again
    when it registers the ticket; this is only so that none waits for another to be fixed."""
    by_field = open_field_errors(server, kind, description)
    blocks = {"server": OPEN_SERVER_BLOCK, "kind": OPEN_KIND_BLOCK}
    errors = {blocks.get(field, OPEN_DESCRIPTION_BLOCK): e for field, e in by_field.items()}
    if OPEN_SERVER_BLOCK not in errors:
        try:
            context.tickets.server(typed(server))
        except UserFacingError as error:
            errors[OPEN_SERVER_BLOCK] = error
    try:
        at_text = typed(at) if at is not None else ""
        resolve_call_time(at_text or None, now=context.clock(), zone=context.alerts.catalog.zone)
    except UserFacingError as error:
        errors[OPEN_AT_BLOCK] = error
    return errors


def _value(values: dict[str, Any], block_id: str) -> str:
    """A modal input's value: a text input's `value` or a select's selected option."""
    state = values.get(block_id, {}).get(OPEN_INPUT, {})
    selected = state.get("selected_option")
    if isinstance(selected, dict):
        return str(selected.get("value") or "")
    return str(state.get("value") or "")


def _block_of(error_key: str) -> str:
    """The modal block an input error belongs to."""
    if error_key in ("usage.bad_server", "ticket.unknown_server"):
        return OPEN_SERVER_BLOCK
    if error_key == "usage.bad_kind":
        return OPEN_KIND_BLOCK
    if error_key.startswith("ticket.at_"):
        return OPEN_AT_BLOCK
    return OPEN_DESCRIPTION_BLOCK
