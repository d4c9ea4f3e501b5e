"""Bolt middleware: an event, action or command delivered again is acked and ignored.

Slack retries Events API deliveries (`X-Slack-Retry-Num`) and Socket Mode may redeliver an
envelope; the identity of a delivery is its `event_id`, or the `trigger_id` Slack mints for each
slash command, click and submission.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from sqlalchemy.orm import Session, sessionmaker

from bot.storage.inbound import mark_received

logger = logging.getLogger(__name__)


def delivery_key(body: dict[str, Any]) -> str | None:
    """A stable identity for one delivery of `body`, or None when it has none."""
    if event_id := body.get("event_id"):
        return f"event:{event_id}"
    if trigger_id := body.get("trigger_id"):
        kind = body.get("type") or body.get("command") or "command"
        return f"trigger:{kind}:{trigger_id}"
    actions = body.get("actions")
    if isinstance(actions, list) and actions and (action_ts := actions[0].get("action_ts")):
        return f"action:{body.get('user', {}).get('id')}:{action_ts}"
    return None


def register(app: AsyncApp, sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> None:
    """Install the de-duplication middleware on `app`."""

    def first_time(key: str) -> bool:
        with sessions.begin() as session:
            return mark_received(session, key, now=clock())

    async def deduplicate(
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[None]],
    ) -> BoltResponse:
        key = delivery_key(req.body)
        if key is None or await asyncio.to_thread(first_time, key):
            await next()  # Bolt runs the listeners once every global middleware has said next
            return resp
        logger.info("ignoring a repeated delivery: %s", key)
        return BoltResponse(status=200, body="")

    app.middleware(deduplicate)
