"""The one boundary where exceptions become replies."""

import logging
from collections.abc import Awaitable, Callable

from slack_bolt.async_app import AsyncAck

from bot.errors import UserFacingError
from bot.handlers.budget import answer_within
from bot.handlers.dedupe import RepeatedDeliveryError
from bot.messages import Messages
from bot.services.tickets import Reply
from bot.slack.render import escape
from bot.storage.database import is_transient

logger = logging.getLogger(__name__)


def render_error(error: Exception, messages: Messages, *, plain: bool = False) -> str:
    """The reply for `error`: a UserFacingError's own text, a generic one for anything else.
    `plain`: for a modal's errors, which Slack shows as plain text, where an escape would show
    as typed (`&amp;`) rather than as what the user wrote."""
    if isinstance(error, UserFacingError):
        # Values often echo user input: escaped here, once, for every error a message shows.
        values = {
            k: escape(v) if isinstance(v, str) and not plain else v for k, v in error.values.items()
        }
        return messages.get(error.key, **values)
    if is_transient(error):  # not a bug: the user is to try again, not to call for help
        logger.warning("command failed: database unavailable: %s", error)
        return messages.get("error.database_unavailable")
    logger.error("command failed", exc_info=error)
    return messages.get("error.internal")


async def ack_with_reply(
    ack: AsyncAck, compute: Callable[[], Awaitable[Reply]], messages: Messages
) -> None:
    """Ack with the computed reply, or with the rendered error if computing it raises or is not
    done in time (then nothing it did is committed).

    Slack needs an ack within 3 s whatever happens, so nothing escapes this function.
    """
    try:
        reply = await answer_within(compute)
    except RepeatedDeliveryError as repeat:
        logger.info("ignoring a repeated delivery: %s", repeat)
        await ack()
        return
    except Exception as error:
        reply = Reply(render_error(error, messages))
    if reply.blocks:
        await ack(response_type="ephemeral", text=reply.text, blocks=reply.blocks)
    else:
        await ack(response_type="ephemeral", text=reply.text)
