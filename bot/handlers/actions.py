"""Buttons and modals of ticket messages: Claim, Post update (modal), Resolve.

A click is acked at once (empty: its work runs after the ack, `act`); the outcome is told to the
clicker through the outbox, as an
ephemeral post to the interaction's response_url, and to everyone through the ticket thread. The
update modal is acked once the update is recorded: a refusal shows in it, above the text typed.
"""

import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import UserFacingError
from bot.grammar import MAX_FREE_TEXT, typed
from bot.handlers.budget import answer_within, in_background
from bot.handlers.commands import require_technician
from bot.handlers.context import HandlerContext
from bot.handlers.dedupe import RepeatedDeliveryError
from bot.handlers.errors import render_error
from bot.handlers.replies import tell
from bot.services.audit import Actor
from bot.services.tickets import Reply
from bot.slack import render
from bot.slack.ids import UPDATE_BLOCK, UPDATE_INPUT, Action, View
from bot.storage.threads import in_database_thread

logger = logging.getLogger(__name__)

ACTIONS = tuple(action.value for action in Action)
VIEWS = tuple(view.value for view in View)


def register(app: AsyncApp, context: HandlerContext) -> None:
    """Attach the button and modal listeners to `app`."""

    async def handle_claim_action(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        act(
            context, body, "claim", lambda actor, ticket_id: context.tickets.claim(actor, ticket_id)
        )

    async def handle_resolve_action(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        act(
            context, body, "resolve",
            lambda actor, ticket_id: context.tickets.resolve(actor, ticket_id, ""),
        )  # fmt: skip

    async def handle_resolve_anyway_action(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        note = render.resolution_note(body["actions"][0]["value"])  # the command's, if any
        act(  # audited as the confirmation's button, not the root's Resolve
            context, body, "resolve anyway",
            lambda actor, ticket_id: context.tickets.resolve(
                actor, ticket_id, note, confirmed=True
            ),
            replaces=_ends_confirmation,
        )  # fmt: skip

    async def handle_post_update_action(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        actor = Actor(body["user"]["id"], "[button] update")
        try:  # refused now, not once the technician has typed the update
            ticket_id = payload_id(body["actions"][0]["value"])
            actor = Actor(actor.user_id, f"[button] update INT-{ticket_id}")
            await require_technician(context, actor, "update", ticket_id=ticket_id)
            await in_database_thread(context.tickets.require_open, ticket_id)
        except RepeatedDeliveryError:  # refused before, on delivery: told then, audited once
            return
        except Exception as error:  # told to the clicker; render_error logs bugs
            reply = Reply(render_error(error, context.messages))
            await tell(context, body, reply)
            return
        await open_modal(context, body, client, render.update_modal(ticket_id, context.messages))

    async def handle_update_view(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        value = view["state"]["values"][UPDATE_BLOCK][UPDATE_INPUT].get("value") or ""

        async def record() -> None:
            ticket_id = payload_id(view["private_metadata"])
            actor = Actor(body["user"]["id"], f"[modal] update INT-{ticket_id}")
            # An outsider is refused (and audited) whatever was typed; then the text is read.
            await require_technician(context, actor, "update", ticket_id=ticket_id)
            text = typed(value)
            if not text or len(text) > MAX_FREE_TEXT:
                key = "modal.update.empty" if not text else "usage.text_too_long"
                raise UserFacingError(key, limit=MAX_FREE_TEXT)
            await in_database_thread(context.tickets.update, actor, ticket_id, text)

        try:  # recorded before the ack, as a command is: a refusal keeps the text typed
            await answer_within(record)
        except RepeatedDeliveryError:  # submitted before and recorded: nothing to do again
            await ack()
            return
        except Exception as error:  # shown in the modal; render_error logs bugs
            message = render_error(error, context.messages, plain=True)
            await ack(response_action="errors", errors={UPDATE_BLOCK: message})
            return
        await ack()

    app.action(Action.CLAIM.value)(handle_claim_action)
    app.action(Action.RESOLVE.value)(handle_resolve_action)
    app.action(Action.RESOLVE_ANYWAY.value)(handle_resolve_anyway_action)
    app.action(Action.POST_UPDATE.value)(handle_post_update_action)
    app.view(View.UPDATE.value)(handle_update_view)


def act(
    context: HandlerContext,
    body: dict[str, Any],
    verb: str,
    call: Callable[[Actor, int], Reply],
    *,
    subject: str = "INT-{}",
    replaces: Callable[[Exception | None], bool] = lambda outcome: False,
) -> None:
    """Run a button's service call on the id its value starts with (`subject` names it in the
    audit), after the ack (the listener returns at once: Bolt acks then); tell the clicker the
    outcome through the outbox, in place of the message clicked if `replaces(error or None)`."""

    async def work() -> None:
        actor = Actor(body["user"]["id"], f"[button] {verb}")
        try:
            target_id = payload_id(body["actions"][0]["value"])
            actor = Actor(actor.user_id, f"[button] {verb} {subject.format(target_id)}")
            ticket_id = target_id if subject == "INT-{}" else None
            await require_technician(context, actor, verb, ticket_id=ticket_id)
            reply = await in_database_thread(call, actor, target_id)
            replace = replaces(None)
        except RepeatedDeliveryError:  # delivered before and carried out: nothing to tell
            return
        except Exception as error:  # told to the clicker; render_error logs bugs
            reply = Reply(render_error(error, context.messages))
            replace = replaces(error)
        try:
            await tell(context, body, reply, replace_original=replace)
        except RepeatedDeliveryError:
            return

    in_background(work)


def _ends_confirmation(error: Exception | None) -> bool:
    """Whether a Resolve anyway click's outcome takes the place of its confirmation: once done,
    or once the ticket was closed meanwhile, its button has nothing left to do. Any other
    refusal (not a technician, the database away) leaves it to be clicked again."""
    return error is None or (
        isinstance(error, UserFacingError) and error.key == "ticket.confirmation_stale"
    )


_PAYLOAD_ID = re.compile(r"[0-9]{1,18}")


def payload_id(value: object) -> int:
    """The id a button's value or a modal's metadata starts with (what the bot wrote there);
    UserFacingError for anything else, which Slack would not send back."""
    word = str(value).partition(" ")[0]
    if _PAYLOAD_ID.fullmatch(word) is None:
        raise UserFacingError("error.bad_payload")
    return int(word)


async def open_modal(
    context: HandlerContext, body: dict[str, Any], client: AsyncWebClient, view: dict[str, Any]
) -> None:
    """Open `view` for the clicker; if Slack refuses (the click's trigger expired while the
    bot was slow, say), tell the clicker to click again rather than show nothing."""
    try:
        await client.views_open(trigger_id=body["trigger_id"], view=view)
    except SlackApiError as error:
        logger.warning("views.open refused: %s", error.response.get("error"))
        reply = Reply(context.messages.get("error.modal_refused"))
        await tell(context, body, reply)
