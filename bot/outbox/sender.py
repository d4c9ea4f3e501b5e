"""The outbox sender: delivers pending rows to Slack, in order, within Slack's rate limits.

Ordering: rows form lanes. Replies of one thread form a lane (FIFO), updates of one message form
a lane (only the latest is sent; older pending ones are coalesced), and top-level posts of one
channel form a lane. Only a lane's head may be sent, so a retried message is never overtaken.
A reply waits until its root has a `ts`; an update waits until its target has one.

Pacing: one call per channel per `channel_interval` (Slack allows about 1 message/s/channel), a
429's `Retry-After` holds the whole channel until it has elapsed, transient failures back off
exponentially up to `max_backoff`, and an auth error pauses every send (nothing is dropped).

Crash safety: an attempt is committed before the call and the row is marked sent only after
Slack answered with its `ts`. A kill between Slack's answer and that commit makes the message go
out again after the restart: the one accepted duplicate. At most one message per channel lane is
in flight at a time, so a kill duplicates at most one message per channel being sent to.
"""

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.messages import Messages
from bot.slack.api import ApiResult, Outcome, SlackApi
from bot.storage import outbox as repo
from bot.storage.models import OutboxMessage, OutboxOperation, OutboxStatus

logger = logging.getLogger(__name__)

FAILURE_KEY_PREFIX = "outbox-failed/"


@dataclass(frozen=True)
class SenderConfig:
    channel_interval: float = 1.0
    base_backoff: float = 1.0
    max_backoff: float = 300.0
    poll_interval: float = 1.0
    batch: int = 500
    alerts_channel: str | None = None  # where a message failed for good is reported


@dataclass(frozen=True)
class Send:
    """One call to make, resolved from a row and the rows it depends on."""

    id: int
    key: str
    operation: OutboxOperation
    channel: str | None  # rate-limit key; None for response_url posts
    payload: dict[str, Any]
    attempts: int
    response_url: str | None = None
    target_ts: str | None = None


@dataclass
class Plan:
    sends: list[Send] = field(default_factory=list)
    next_due: datetime | None = None


class OutboxSender:
    """Delivers the outbox; `run()` loops until stopped, `deliver_due()` does one pass."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        api: SlackApi,
        messages: Messages,
        *,
        clock: Callable[[], datetime],
        monotonic: Callable[[], float] = time.monotonic,
        config: SenderConfig | None = None,
    ) -> None:
        self._sessions = sessions
        self._api = api
        self._messages = messages
        self._clock = clock
        self._monotonic = monotonic
        self.config = config or SenderConfig()
        self._channel_ready: dict[str, float] = {}
        self._paused_until = 0.0
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def wake(self) -> None:
        """Ask for a pass now (callable from any thread, e.g. after a service commits)."""
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        while not stop.is_set():
            try:
                delay = await self.deliver_due()
            except Exception:
                logger.exception("outbox pass failed; retrying")
                delay = self.config.poll_interval
            self._wake.clear()
            waits = {asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())}
            _, pending = await asyncio.wait(
                waits, timeout=delay, return_when=asyncio.FIRST_COMPLETED
            )
            for task in pending:
                task.cancel()

    async def deliver_due(self) -> float:
        """One pass: send what may be sent now; return how long to wait before the next pass."""
        mono = self._monotonic()
        if mono < self._paused_until:
            return min(self._paused_until - mono, self.config.poll_interval)
        plan = await asyncio.to_thread(self._plan)
        chosen: list[Send] = []
        busy: set[str] = set()
        wait = self.config.poll_interval
        for send in plan.sends:
            if send.channel is None:
                chosen.append(send)
                continue
            if send.channel in busy:
                continue
            ready = self._channel_ready.get(send.channel, 0.0)
            if ready > mono:
                wait = min(wait, ready - mono)
                continue
            busy.add(send.channel)
            chosen.append(send)
        if plan.next_due is not None:
            wait = min(wait, max(0.0, (plan.next_due - self._clock()).total_seconds()))
        if chosen:
            await asyncio.gather(*(self._deliver(send) for send in chosen))
            wait = min(wait, self._earliest_ready() - self._monotonic())
        return max(0.0, wait)

    def _earliest_ready(self) -> float:
        now = self._monotonic()
        upcoming = [ready for ready in self._channel_ready.values() if ready > now]
        return min(upcoming, default=now + self.config.poll_interval)

    def _plan(self) -> Plan:
        """Read pending rows, coalesce superseded updates, fail orphans; return lane heads."""
        now = self._clock()
        plan = Plan()
        with self._sessions.begin() as session:
            rows = repo.list_pending(session, limit=self.config.batch)
            lanes: dict[tuple[str, str], list[OutboxMessage]] = {}
            for row in rows:
                lanes.setdefault(_lane(row), []).append(row)
            deps = repo.get_by_keys(
                session, {k for row in rows for k in (row.thread_key, row.target_key) if k}
            )
            superseded: list[int] = []
            for lane, members in lanes.items():
                head = members[0]
                if lane[0] == "target" and len(members) > 1:
                    superseded += [m.id for m in members[:-1]]
                    head = members[-1]
                if head.next_attempt_at > now:
                    if plan.next_due is None or head.next_attempt_at < plan.next_due:
                        plan.next_due = head.next_attempt_at
                    continue
                send = self._resolve(session, head, deps)
                if send is not None:
                    plan.sends.append(send)
            repo.mark_coalesced(session, superseded)
        plan.sends.sort(key=lambda s: s.id)
        return plan

    def _resolve(
        self, session: Session, row: OutboxMessage, deps: dict[str, OutboxMessage]
    ) -> Send | None:
        """The call for `row`, or None while it waits (or after failing it)."""
        payload: dict[str, Any] = {"text": row.text}
        if row.blocks is not None:
            payload["blocks"] = row.blocks
        parent_key = row.thread_key or row.target_key
        channel = row.channel_id
        parent_ts: str | None = None
        if parent_key is not None:
            parent = deps.get(parent_key)
            if parent is None:
                self._fail(session, row, f"unknown parent message {parent_key!r}")
                return None
            if parent.status == OutboxStatus.PENDING:
                return None
            if parent.status != OutboxStatus.SENT or parent.ts is None:
                self._fail(session, row, f"parent message {parent_key!r} was not delivered")
                return None
            channel, parent_ts = parent.sent_channel_id or parent.channel_id, parent.ts
        if row.operation is OutboxOperation.RESPONSE:
            payload |= {"response_type": "ephemeral", "replace_original": False}
            return Send(
                row.id, row.key, row.operation, None, payload, row.attempts, row.response_url
            )
        payload["channel"] = channel
        if row.operation is OutboxOperation.UPDATE:
            payload["ts"] = parent_ts
            return Send(
                row.id, row.key, row.operation, channel, payload, row.attempts, None, parent_ts
            )
        if parent_ts is not None:
            payload["thread_ts"] = parent_ts
        if row.operation is OutboxOperation.EPHEMERAL:
            payload["user"] = row.user_id
        else:
            payload["unfurl_links"] = False
        return Send(row.id, row.key, row.operation, channel, payload, row.attempts)

    async def _deliver(self, send: Send) -> None:
        try:
            started = await asyncio.to_thread(self._transaction, repo.mark_attempt, send.id)
            if not started:
                return  # delivered or failed meanwhile (another pass, another instance)
            result = await self._call(send)
            await asyncio.to_thread(self._settle, send, result)
        except Exception:
            logger.exception("outbox: delivering %s failed; it stays pending", send.key)

    async def _call(self, send: Send) -> ApiResult:
        if send.channel is not None:
            self._channel_ready[send.channel] = self._monotonic() + self.config.channel_interval
        if send.operation is OutboxOperation.RESPONSE:
            assert send.response_url is not None
            return await self._api.post_response(send.response_url, send.payload)
        method = {
            OutboxOperation.POST: "chat.postMessage",
            OutboxOperation.UPDATE: "chat.update",
            OutboxOperation.EPHEMERAL: "chat.postEphemeral",
        }[send.operation]
        return await self._api.call(method, send.payload)

    def _transaction(self, action: Callable[..., bool], message_id: int) -> bool:
        with self._sessions.begin() as session:
            return action(session, message_id, now=self._clock())

    def _settle(self, send: Send, result: ApiResult) -> None:
        """Record the outcome of one call."""
        now = self._clock()
        with self._sessions.begin() as session:
            if result.outcome is Outcome.OK:
                ts = result.data.get("ts") or result.data.get("message_ts") or send.target_ts
                channel = result.data.get("channel") or send.channel
                repo.mark_sent(session, send.id, ts=ts, channel_id=channel, now=now)
                return
            error = result.error or result.outcome.value
            if result.outcome is Outcome.PERMANENT:
                row = session.get_one(OutboxMessage, send.id)
                self._fail(session, row, error)
                return
            if result.outcome is Outcome.RATE_LIMITED:
                delay = result.retry_after or self.config.channel_interval
                if send.channel is not None:
                    self._channel_ready[send.channel] = self._monotonic() + delay
            else:
                delay = self._backoff(send.attempts + 1)
                if result.outcome is Outcome.AUTH:
                    self._paused_until = self._monotonic() + delay
                    logger.error(
                        "outbox: Slack refused the token (%s); pausing %.0f s", error, delay
                    )
                else:
                    logger.warning(
                        "outbox: %s failed (%s); retry in %.1f s", send.key, error, delay
                    )
            repo.mark_retry(session, send.id, error=error, retry_at=now + timedelta(seconds=delay))

    def _backoff(self, attempts: int) -> float:
        exponent = float(2 ** min(attempts - 1, 20))
        ceiling = min(self.config.max_backoff, self.config.base_backoff * exponent)
        return ceiling / 2 + random.uniform(0, ceiling / 2)  # jitter: no thundering herd

    def _fail(self, session: Session, row: OutboxMessage, error: str) -> None:
        """Mark `row` failed for good and report it once in the alert channel."""
        if not repo.mark_failed(session, row.id, error=error):
            return
        logger.error("outbox: %s failed for good: %s", row.key, error)
        if self.config.alerts_channel is None or row.key.startswith(FAILURE_KEY_PREFIX):
            return
        preview = row.text[:200].replace("<", "&lt;").replace(">", "&gt;")
        text = self._messages.get(
            "outbox.failed",
            channel=row.channel_id or "?",
            error=error,
            key=row.key,
            preview=preview,
        )
        report = repo.Outbound(
            key=FAILURE_KEY_PREFIX + row.key, text=text, channel_id=self.config.alerts_channel
        )
        repo.add_message(session, report, now=self._clock())


def _lane(row: OutboxMessage) -> tuple[str, str]:
    if row.target_key is not None:
        return ("target", row.target_key)
    if row.thread_key is not None:
        return ("thread", row.thread_key)
    if row.operation is OutboxOperation.RESPONSE:
        return ("response", row.key)
    return ("channel", row.channel_id or "")
