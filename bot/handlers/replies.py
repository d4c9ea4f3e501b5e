"""Replies that reach the user after the ack, through the outbox: to an interaction's
response_url, or as a direct message."""

from typing import Any

from bot.handlers.context import HandlerContext
from bot.services.tickets import Reply
from bot.storage.models import OutboxOperation
from bot.storage.outbox import Outbound, add_message


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


def dm(context: HandlerContext, user_id: str, trigger_id: str, reply: Reply) -> None:
    """Queue a direct message (a modal has no response_url to answer on)."""
    message = Outbound(key=f"dm/{trigger_id}", channel_id=user_id, text=reply.text)
    with context.sessions.begin() as session:
        add_message(session, message, now=context.clock())
    context.wake()
