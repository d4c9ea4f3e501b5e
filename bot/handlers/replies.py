"""Replies that reach the user after the ack, through the outbox: to an interaction's
response_url, or as a direct message."""

import logging
from typing import Any

from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.handlers.context import HandlerContext
from bot.handlers.dedupe import RepeatedDeliveryError
from bot.services.tickets import Reply
from bot.storage.database import is_transient
from bot.storage.models import OutboxOperation
from bot.storage.outbox import Outbound, add_message
from bot.storage.threads import in_database_thread

logger = logging.getLogger(__name__)


def respond(
    context: HandlerContext, body: dict[str, Any], reply: Reply, *, replace_original: bool = False
) -> None:
    """Queue an ephemeral reply to an interaction's response_url; with `replace_original`, it
    takes the place of the message clicked (its buttons go with it)."""
    url = body.get("response_url")
    if not url:
        return
    message = Outbound(
        key=f"response/{body.get('trigger_id') or body['actions'][0].get('action_ts')}",
        operation=OutboxOperation.REPLACE if replace_original else OutboxOperation.RESPONSE,
        response_url=url,
        text=reply.text,
        blocks=reply.blocks,
    )
    with context.sessions.begin() as session:
        add_message(session, message, now=context.clock())
    context.wake()


async def respond_directly(
    body: dict[str, Any], reply: Reply, *, replace_original: bool = False
) -> None:
    """Post `reply` to the interaction's response_url now, not through the outbox: for when the
    outbox's database cannot take it. Not retried; a failure is logged."""
    url = body.get("response_url")
    if not url:
        return
    try:
        answer = await AsyncWebhookClient(url, timeout=10).send(
            text=reply.text,
            blocks=reply.blocks,
            response_type="ephemeral",
            replace_original=replace_original,
        )
    except Exception:  # the network: nothing more can be done for this reply
        logger.warning("could not post a reply to a response_url directly", exc_info=True)
        return
    if answer.status_code != 200:
        logger.warning("a reply posted directly was refused: %s", answer.status_code)


async def tell(
    context: HandlerContext, body: dict[str, Any], reply: Reply, *, replace_original: bool = False
) -> None:
    """`respond` from a database thread; posted directly when the database, where the outbox
    is, does not answer: the user is told now rather than never. A reply whose commit is the
    interaction's first, refused as a repeat, was queued by its earlier delivery: nothing is
    told again (a refusal clicked once and delivered to two instances was a listener's error,
    an HTTP 500 and a traceback)."""
    try:
        await in_database_thread(respond, context, body, reply, replace_original=replace_original)
    except RepeatedDeliveryError as repeat:
        logger.info("not telling a repeated delivery again: %s", repeat)
    except Exception as error:
        if not is_transient(error):
            raise
        logger.warning("could not queue a reply (%s): posting it directly", error)
        await respond_directly(body, reply, replace_original=replace_original)


def dm(context: HandlerContext, user_id: str, trigger_id: str, reply: Reply) -> None:
    """Queue a direct message (a modal has no response_url to answer on)."""
    message = Outbound(key=f"dm/{trigger_id}", channel_id=user_id, text=reply.text)
    with context.sessions.begin() as session:
        add_message(session, message, now=context.clock())
    context.wake()
