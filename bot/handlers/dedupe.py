"""Bolt middleware: an event, action or command delivered again is acked and ignored.

Slack retries Events API deliveries (`X-Slack-Retry-Num`) and Socket Mode may redeliver an
envelope; the identity of a delivery is its `event_id`, or the `trigger_id` Slack mints for each
slash command and click. A modal's submission is known by its view's id: a modal whose ack did
not reach Slack stays open, and the technician submits it again with a new `trigger_id`.

Events are recorded in their own transaction before their listener runs. A slash command, a
click or a modal's submission is recorded by the first transaction it commits, inside it (a
session event, `before_commit`): its key commits with its effect or not at all, under the time
limit of its answer (`bot.handlers.budget`), and its one write transaction is the only one it
pays. A repeat of one that changed something, or was refused and audited, is refused there
(`RepeatedDeliveryError`), on any worker, even after a restart. One that only read (`show`,
`list`, `/sla status`, `help`) leaves none: a repeat reaching the same process is recognised in
memory, one reaching another worker is answered again, which changes nothing. A submission is
not recognised in memory, and its refusal records no key (`refusal`): the modal stays open, and
is submitted again, corrected.
"""

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ParamSpec, TypeVar

from slack_bolt.async_app import AsyncApp
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from bot.storage.inbound import mark_received
from bot.storage.threads import in_database_thread

logger = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

RECENT_KEYS = 10_000  # remembered in memory per process: Slack redelivers within minutes


class RepeatedDeliveryError(Exception):
    """This command was delivered and carried out before: ack it and do nothing."""


@dataclass
class _Delivery:
    """The command being handled: shared by every copy of the context (threads it hops to)."""

    key: str
    recorded: bool = False


_delivery: ContextVar[_Delivery | None] = ContextVar("supportbot_delivery", default=None)


def delivery_key(body: dict[str, Any]) -> str | None:
    """A stable identity for one delivery of `body`, or None when it has none."""
    if event_id := body.get("event_id"):
        return f"event:{event_id}"
    if body.get("type") == "view_submission" and (view_id := body.get("view", {}).get("id")):
        return f"view:{view_id}"
    if trigger_id := body.get("trigger_id"):
        kind = body.get("type") or body.get("command") or "command"
        return f"trigger:{kind}:{trigger_id}"
    actions = body.get("actions")
    if isinstance(actions, list) and actions and (action_ts := actions[0].get("action_ts")):
        return f"action:{body.get('user', {}).get('id')}:{action_ts}"
    return None


class _Deduplicate(AsyncMiddleware):
    """The middleware: a class of Bolt's rather than a function, for which Bolt would build
    the arguments at every request."""

    def __init__(self, first_time: Callable[[str], bool]) -> None:
        self._first_time = first_time  # records an event's key: False if it was already
        self._recent: OrderedDict[str, None] = OrderedDict()  # touched on the event loop only

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse:
        key = delivery_key(req.body)
        if key is None:
            await next()
            return resp
        if key.startswith("view:"):
            # Submitted again only when it did not close: refused for a field (nothing was
            # recorded, it is carried out), or its ack lost (recorded, its commit refuses it).
            _delivery.set(_Delivery(key))
            await next()
            return resp
        recent = self._recent
        if key in recent:
            logger.info("ignoring a repeated delivery: %s", key)
            return BoltResponse(status=200, body="")
        recent[key] = None
        if len(recent) > RECENT_KEYS:
            recent.popitem(last=False)
        if req.body.get("command") or req.body.get("type") in ("view_submission", "block_actions"):
            # Recorded by its own transaction: a separate one before it would wait, on SQLite,
            # for the writers' lock outside the answer's time limit, and commit after it.
            _delivery.set(_Delivery(key))
            await next()
            return resp
        try:
            first = await in_database_thread(self._first_time, key)
        except Exception:
            recent.pop(key, None)  # not recorded: Slack's retry of it must be carried out
            raise
        if first:
            await next()  # Bolt runs the listeners once every global middleware has said next
            return resp
        logger.info("ignoring a repeated delivery: %s", key)
        return BoltResponse(status=200, body="")


def refusal(func: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """`func(...)`, the audit of a refusal. A command's or a click's records its delivery, as
    any commit of it does: delivered again, it is refused as a repeat, audited once. A modal
    submission's does not: the modal stays open, and its next submission, with the same view
    id, may be a technician's corrected one or a repeat, refused and audited anew."""
    delivery = _delivery.get()
    if delivery is None or not delivery.key.startswith("view:"):
        return func(*args, **kwargs)
    token = _delivery.set(None)
    try:
        return func(*args, **kwargs)
    finally:
        _delivery.reset(token)


def register(app: AsyncApp, sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> None:
    """Install the de-duplication middleware on `app`, and the recording of commands' keys on
    the transactions of `sessions`."""

    def first_time(key: str) -> bool:
        with sessions.begin() as session:
            return mark_received(session, key, now=clock())

    def record_command(session: Session) -> None:
        delivery = _delivery.get()
        if delivery is None or delivery.recorded:
            return
        delivery.recorded = True
        if not mark_received(session, delivery.key, now=clock()):
            raise RepeatedDeliveryError(delivery.key)  # fails the commit: it rolls back

    event.listen(sessions, "before_commit", record_command)

    app.middleware(_Deduplicate(first_time))
