"""The outbox sender: delivers pending rows to Slack, in order, within Slack's rate limits.

Ordering: rows form lanes. Replies of one thread form a lane (FIFO), updates of one message form
a lane (only the latest is sent; older pending ones are coalesced), posts to one response_url
form a lane, and top-level posts of one channel form a lane. Only a lane's head may be sent, so a
retried message is never overtaken. A reply waits until its root has a `ts`; an update waits
until its target has one.

Pacing: per channel, a token bucket of `channel_burst` calls refilled one per `channel_interval`
(Slack: about 1 message/s/channel, short bursts allowed). A 429's `Retry-After` holds the whole
channel until it has elapsed, counted from when the answer arrived, and survives a restart (the
row keeps `next_attempt_at`). A channel's first call after a restart or a change of leader goes
on from the calls Slack accepted there lately (`sent_at`), not with a burst of its own.
Transient failures back off exponentially up to `max_backoff`; an auth error pauses every send
(nothing is dropped).

Crash safety: an attempt is committed before the call and the row is marked sent only after
Slack answered with its `ts`. A kill between Slack's answer and that commit makes the message go
out again after the restart: the one accepted duplicate. At most one call per channel is in
flight at a time, so a kill duplicates at most one message per channel being sent to (see
docs/outbox.md).

One sender at a time: the attempt claims the row for its sender (`claimed_by`) until
`next_attempt_at`, `claim_ttl` later, and other senders leave a claimed row (and its lane) alone
until then. A sender never starts a call later than `start_within` after its claim (it was
paused, its database stalled), so a call it starts is answered or timed out before its claim
ends: a leader superseded with calls in flight cannot send a message its successor sends too.

Moot messages: a row may say what it depends on (`depends_on`, bot/outbox/moot.py: a reminder's
ticket as it was decided on). It is judged again when it heads its lane, and dropped instead of
sent once that no longer holds: a warning queued before its ticket was resolved pings nobody.

Edits that change nothing: a message's row keeps what Slack shows of it (`shown_digest`: its
post's or its last edit's text and blocks that Slack accepted; cleared while an edit's outcome
is unknown). An edit saying the same is settled (`coalesced`, "unchanged") without a call.
"""

import asyncio
import contextlib
import dataclasses
import hashlib
import logging
import math
import random
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.messages import Messages
from bot.outbox.moot import Moot, TicketDependency, moot_messages
from bot.slack.api import ApiResult, Outcome, SlackApi
from bot.slack.render import clip
from bot.storage import outbox as repo
from bot.storage.database import is_transient, reading
from bot.storage.models import OutboxMessage, OutboxOperation, OutboxStatus
from bot.storage.threads import in_database_thread

logger = logging.getLogger(__name__)

FAILURE_KEY_PREFIX = "outbox-failed/"
# last_error of a row answered 429 (or `ratelimited`/`rate_limited`): its channel is held
RATE_LIMITED = "ratelimited"
# Slack's errors that refuse every message of a channel, not one message's content.
CHANNEL_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "restricted_action",
        "restricted_action_read_only_channel",
        "restricted_action_thread_only_channel",
        "restricted_action_non_threadable_channel",
    }
)

# chat.update's answer once the message it edits was deleted in Slack.
MESSAGE_GONE = "message_not_found"
# Slack refuses a message's layout or length: it goes once more as plain text, blocks dropped
# (a root failed would take its whole thread with it).
LAYOUT_ERRORS = frozenset(
    {"invalid_blocks", "invalid_blocks_format", "msg_blocks_too_long", "msg_too_long"}
)
PLAIN_TEXT_LIMIT = 4_000  # Slack: "limit the number of characters in the text field to 4,000"


@dataclass(frozen=True)
class SenderConfig:
    """Pacing, retry and reporting knobs; the defaults follow Slack's documented limits."""

    channel_interval: float = 1.0  # seconds per call per channel, sustained
    channel_burst: int = 3  # calls a quiet channel may take at once
    base_backoff: float = 1.0
    max_backoff: float = 300.0
    poll_interval: float = 1.0  # idle re-read of the table (wake() makes it immediate)
    stats_interval: float = 60.0  # how often pending/failed counts are logged
    max_give_way: float = 0.5  # longest a pass waits for in-flight requests to be answered
    # After another instance's ring: how long without one before its burst counts as answered.
    ring_settle: float = 0.05
    min_pass_interval: float = 0.2  # between the starts of two passes, unless one has more to send
    # An attempt's claim on its row: no other sender touches the row for `claim_ttl`, and this
    # one starts the call within `start_within` of the claim or not at all. The claim must
    # outlast the start, the transport's timeout (10 s) and the hosts' clock skew.
    claim_ttl: float = 30.0
    start_within: float = 10.0
    alerts_channel: str | None = None  # where a message failed for good is reported
    # Told by DM when the alert channel itself refuses messages (a report there would be lost).
    alerts_channel_watchers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Send:
    """One call to make, resolved from a row and the rows it depends on."""

    id: int
    key: str
    operation: OutboxOperation
    channel: str | None  # rate-limit key; None for response_url posts
    payload: dict[str, Any]  # its text and blocks only once chosen to go (see _write_chosen)
    attempts: int
    response_url: str | None = None
    target_ts: str | None = None
    render: str | None = None  # written by a renderer once chosen to go (see _write_chosen)
    target_key: str | None = None  # an edit's: the message it edits
    target_shown: str | None = None  # what Slack shows of that message (`repo.digest`), if known
    digest: str | None = None  # a post's or an edit's: what it says, once written


# Writes a message when it is sent: (a read session, the argument) -> (text, blocks).
Renderer = Callable[[Session, str], tuple[str, list[dict[str, Any]] | None]]


@dataclass(frozen=True)
class _Failure:
    """A pending row that can never be sent (its parent will never have a `ts`): it fails for
    good."""

    message_id: int
    error: str
    report: bool = True


@dataclass
class Plan:
    """What one pass may send, when a waiting head becomes due, and channels a 429 holds."""

    sends: list[Send] = field(default_factory=list)
    next_due: datetime | None = None
    holds: dict[str, datetime] = field(default_factory=dict)
    # Calls Slack accepted lately in channels this sender has not called yet (another sender's,
    # before a restart or a change of leader), by channel.
    recent: dict[str, list[datetime]] = field(default_factory=dict)


@dataclass
class _Bucket:
    tokens: float
    at: float
    held_until: float = 0.0


class ChannelPacer:
    """Per-channel token buckets on a monotonic clock; pure bookkeeping, no I/O."""

    def __init__(self, *, interval: float, burst: int) -> None:
        self.interval = interval
        self.burst = max(1, burst)
        self._buckets: dict[str, _Bucket] = {}

    def _tokens(self, bucket: _Bucket, now: float) -> float:
        return min(float(self.burst), bucket.tokens + (now - bucket.at) / self.interval)

    def ready_at(self, channel: str, now: float) -> float:
        """The earliest monotonic instant a call to `channel` may start."""
        bucket = self._buckets.get(channel)
        if bucket is None:
            return now
        tokens = self._tokens(bucket, now)
        ready = now if tokens >= 1.0 else now + (1.0 - tokens) * self.interval
        return max(ready, bucket.held_until)

    def take(self, channel: str, now: float) -> None:
        """A call to `channel` starts now."""
        bucket = self._buckets.setdefault(channel, _Bucket(float(self.burst), now))
        bucket.tokens, bucket.at = self._tokens(bucket, now) - 1.0, now

    def give_back(self, channel: str) -> None:
        """The call `take` counted was not made after all."""
        bucket = self._buckets.get(channel)
        if bucket is not None:
            bucket.tokens = min(float(self.burst), bucket.tokens + 1.0)

    def answered(self, channel: str, now: float) -> None:
        """The call's answer arrived: Slack counted it somewhere before `now`, so the refill
        restarts from here (measuring from the start would let a slow first call and a fast
        second one arrive closer together than Slack allows)."""
        bucket = self._buckets.get(channel)
        if bucket is not None and now > bucket.at:
            bucket.at = now

    def channels(self) -> frozenset[str]:
        """The channels called or held since this pacer started."""
        return frozenset(self._buckets)

    def seed(self, channel: str, calls: list[float]) -> None:
        """Calls to `channel` another sender made (their answers' monotonic instants, past):
        a channel this pacer has not called yet goes on from where they left its bucket,
        instead of with a burst Slack would answer 429."""
        if channel in self._buckets or not calls:
            return
        ordered = sorted(calls)
        bucket = _Bucket(float(self.burst), ordered[0])
        for at in ordered:
            bucket.tokens, bucket.at = self._tokens(bucket, at) - 1.0, at
        self._buckets[channel] = bucket

    def learn_hold(self, channel: str, until: float, now: float) -> None:
        """A 429 told to another sender, or before a restart, holds `channel` until `until`
        here too: a channel not called yet starts with no burst, as after `hold`; one called
        before keeps its tokens (the hold only delays them)."""
        bucket = self._buckets.get(channel)
        if bucket is None:
            self.hold(channel, until, now)
        else:
            bucket.held_until = max(bucket.held_until, until)

    def hold(self, channel: str, until: float, now: float) -> None:
        """Slack said 429: no call to `channel` before `until`, and no burst right after."""
        bucket = self._buckets.setdefault(channel, _Bucket(0.0, now))
        bucket.tokens, bucket.at = 0.0, now
        bucket.held_until = max(bucket.held_until, until)


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
        quiet: asyncio.Event | None = None,
        instance: str = "outbox",
    ) -> None:
        self._sessions = sessions
        # The claims of this process; those of an earlier process of `instance` (restarted
        # after a crash: the one that claimed is gone) are taken over at once, as its lease is.
        self._instance = instance
        self.holder = f"{instance}#{secrets.token_hex(4)}"
        self._renderers: dict[str, Renderer] = {}
        self._quiet = quiet
        self._api = api
        self._messages = messages
        self._clock = clock
        self._monotonic = monotonic
        self.config = config or SenderConfig()
        self._pacer = ChannelPacer(
            interval=self.config.channel_interval, burst=self.config.channel_burst
        )
        self._paused_until = 0.0
        self._rung_at = -math.inf  # (monotonic) another instance's last commit
        self._wake: asyncio.Event | None = None
        self._stop: asyncio.Event | None = None  # run()'s: a settle retried gives up on it
        self._loop: asyncio.AbstractEventLoop | None = None
        # Calls awaiting Slack's answer, by row id, and their channels: a pass goes on without
        # waiting for them (Slack hanging on one channel must not hold up the others), and
        # never starts a second call for a row or a channel that has one in flight.
        self._in_flight: dict[int, asyncio.Task[bool]] = {}
        self._calling: set[str] = set()

    def add_renderer(self, name: str, renderer: Renderer) -> None:
        """Let rows whose `render` is "name:…" be written by `renderer` when they are sent."""
        self._renderers[name] = renderer

    def wake(self) -> None:
        """Ask for a pass now (callable from any thread, e.g. after a service commits)."""
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    def rung(self) -> None:
        """Another instance committed a command (its doorbell rang): ask for a pass, which gives
        way to that instance's burst as to this one's requests (callable from any thread)."""
        self._rung_at = self._monotonic()
        self.wake()

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set; the calls in flight are answered and settled first."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._stop = stop
        try:
            await self._run(stop)
        finally:
            if self._in_flight:
                await asyncio.gather(*self._in_flight.values(), return_exceptions=True)

    async def _run(self, stop: asyncio.Event) -> None:
        assert self._wake is not None
        next_stats = self._monotonic()
        while not stop.is_set():
            await self._give_way()
            self._wake.clear()  # before the pass: a wake() during it triggers the next one
            started = self._monotonic()
            try:
                delay = await self.deliver_due()
            except Exception:
                logger.exception("outbox pass failed; retrying")
                delay = self.config.poll_interval
            if self._monotonic() >= next_stats:
                next_stats = self._monotonic() + self.config.stats_interval
                await self._log_stats()
            if delay <= 0:
                continue
            waits = {asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())}
            _, pending = await asyncio.wait(
                waits, timeout=delay, return_when=asyncio.FIRST_COMPLETED
            )
            for task in pending:
                task.cancel()
            # Woken early (a burst of commits): gather what the next moments bring into one
            # pass, which reads every lane's head, instead of one pass per commit.
            rest = started + self.config.min_pass_interval - self._monotonic()
            if rest > 0 and not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), rest)

    async def _give_way(self) -> None:
        """Let commands being answered finish first, here and on the other instances (up to
        `max_give_way`): Slack needs their ack within 3 s, while a message may wait a moment,
        and a pass's CPU is taken from them on a host they share. Here, the requests in
        flight tell; elsewhere, the doorbell: one answering a burst rings at each commit."""
        deadline = self._monotonic() + self.config.max_give_way
        while (now := self._monotonic()) < deadline:
            if self._quiet is not None and not self._quiet.is_set():
                with contextlib.suppress(TimeoutError):  # waited long enough: deliver anyway
                    await asyncio.wait_for(self._quiet.wait(), deadline - now)
                continue
            settling = self._rung_at + self.config.ring_settle - now
            if settling <= 0:
                return
            await asyncio.sleep(min(settling, deadline - now))

    async def deliver_due(self) -> float:
        """One pass: send what may be sent now; return how long to wait before the next pass."""
        mono = self._monotonic()
        if mono < self._paused_until:
            return min(self._paused_until - mono, self.config.poll_interval)
        # Rows in flight before the read may have been settled since: their row as read is
        # stale (a retry's new `next_attempt_at` unseen), so they wait for the next pass too.
        flying, calling = set(self._in_flight), set(self._calling)
        plan = await in_database_thread(self._plan, frozenset(flying), self._pacer.channels())
        flying |= self._in_flight.keys()
        calling |= self._calling
        mono, now = self._monotonic(), self._clock()
        for channel, calls in plan.recent.items():
            self._pacer.seed(channel, [mono - (now - at).total_seconds() for at in calls])
        for channel, until in plan.holds.items():
            # A 429 answered before a restart, or to another sender (a leader superseded with
            # its call in flight): the channel waits for it here too, known or not.
            self._pacer.learn_hold(channel, mono + (until - now).total_seconds(), mono)
        chosen: list[Send] = []
        busy: set[str] = set()
        wait = self.config.poll_interval
        if plan.next_due is not None:
            wait = min(wait, (plan.next_due - now).total_seconds())
        for send in plan.sends:
            if send.id in flying:
                continue  # its answer is awaited; the answer wakes the next pass
            if send.channel is None:
                chosen.append(send)
                continue
            if send.channel in busy or send.channel in calling:
                continue  # one call per channel in flight: bounds duplicates after a kill
            ready = self._pacer.ready_at(send.channel, mono)
            if ready > mono:
                wait = min(wait, ready - mono)
                continue
            busy.add(send.channel)
            self._pacer.take(send.channel, mono)
            chosen.append(send)
        if chosen:
            try:
                chosen, claimed, started, unchanged = await in_database_thread(
                    self._prepare, chosen
                )
            except Exception:
                logger.exception("outbox: could not prepare the sends; they stay pending")
                return self.config.poll_interval
            # Others were delivered, failed or attempted meanwhile (another instance).
            for send in chosen:
                if send.id in started:
                    self._launch(send, claimed)
                elif send.id in unchanged:
                    logger.debug("outbox: %s changes nothing Slack shows; not sent", send.key)
                    if send.channel is not None:
                        self._pacer.give_back(send.channel)
                    wait = 0.0  # as an answer would: its channel's next message may go
        return max(0.0, wait)

    def _launch(self, send: Send, claimed: float) -> None:
        """Start the call for `send` (claimed at the monotonic instant `claimed`) without
        waiting for its answer; once it is settled, its lane (and its channel) may move on, so
        the answer wakes the next pass."""
        task = asyncio.create_task(self._deliver(send, claimed), name=f"outbox-send-{send.id}")
        self._in_flight[send.id] = task
        if send.channel is not None:
            self._calling.add(send.channel)

        def landed(_: "asyncio.Task[bool]") -> None:
            self._in_flight.pop(send.id, None)
            if send.channel is not None:
                self._calling.discard(send.channel)
            if self._wake is not None:
                self._wake.set()

        task.add_done_callback(landed)

    def _plan(
        self, flying: frozenset[int] = frozenset(), paced: frozenset[str] = frozenset()
    ) -> Plan:
        """Read the lanes' heads (`list_pending`), coalesce superseded updates, fail orphans,
        drop the moot heads (`_moot`); return the lane heads that may go, without their text
        and blocks: those are read, or written at send time, once chosen (`_write_chosen`).
        Rows of `flying` have a call awaiting Slack's answer: never coalesced, since the answer
        settles them (a row no longer pending would lose it, a failure unreported). For the
        channels of the sends not `paced` yet, the calls Slack accepted lately (`recent`).

        The rows are read without taking SQLite's write lock, which commands wait for; the
        lock is taken only when something is to be marked (the marks re-check the status).
        """
        now = self._clock()
        plan = Plan()
        with reading(self._sessions) as session:
            rows = repo.list_pending(session)
            lanes: dict[tuple[str, str], list[repo.Routing]] = {}
            for row in rows:
                lanes.setdefault(_lane(row), []).append(row)
            deps = repo.get_by_keys(
                session, {k for row in rows for k in (row.thread_key, row.target_key) if k}
            )
            superseded: list[int] = []
            heads: list[repo.Routing] = []
            for lane, members in lanes.items():
                claims = [m.next_attempt_at for m in members if self._claimed_elsewhere(m, now)]
                if claims:  # another sender's call is in flight: its answer settles the lane
                    if plan.next_due is None or min(claims) < plan.next_due:
                        plan.next_due = min(claims)
                    continue
                head = members[0]
                if lane[0] == "target" and len(members) > 1:
                    superseded += [m.id for m in members[:-1] if m.id not in flying]
                    head = members[-1]
                for row in members:
                    if (
                        row.last_error == RATE_LIMITED
                        and row.next_attempt_at > now
                        and row.claimed_by is None
                    ):
                        channel = _pace_channel(row, deps)
                        if channel is not None:
                            held = plan.holds.get(channel)
                            plan.holds[channel] = max(held or now, row.next_attempt_at)
                if head.next_attempt_at > now and not self._takes_over(head):
                    if plan.next_due is None or head.next_attempt_at < plan.next_due:
                        plan.next_due = head.next_attempt_at
                    continue
                heads.append(head)
            moot = self._moot(session, heads, flying, now)
            failures: list[_Failure] = []
            for head in heads:
                if head.id in moot:
                    continue
                resolved = self._resolve(head, deps)
                if isinstance(resolved, _Failure):
                    failures.append(resolved)
                elif resolved is not None:
                    plan.sends.append(resolved)
            unpaced = {s.channel for s in plan.sends if s.channel is not None} - paced
            if unpaced:
                window = timedelta(seconds=self.config.channel_burst * self.config.channel_interval)
                recent = repo.list_recent_calls(session, since=now - window)
                plan.recent = {c: calls for c, calls in recent.items() if c in unpaced}
        if superseded or failures or moot:
            with self._sessions.begin() as session:
                repo.mark_coalesced(session, superseded)
                for failure in failures:
                    message = session.get_one(OutboxMessage, failure.message_id)
                    self._fail(session, message, failure.error, report=failure.report)
                for head in heads:
                    if head.id in moot:
                        self._drop(session, head, moot[head.id])
        if moot:  # the next message of each of their lanes may go at once
            plan.next_due = now
        turns = _turns(heads, lanes)
        plan.sends.sort(key=lambda send: turns[send.id])
        return plan

    @staticmethod
    def _moot(
        session: Session, heads: list[repo.Routing], flying: frozenset[int], now: datetime
    ) -> dict[int, Moot]:
        """The lane heads that depend on something no longer true (a reminder of a ticket
        resolved meanwhile), and why: checked when their turn comes, however long they
        waited for it. Not those in flight: their answer settles them; nor those attempted
        before (a call that timed out may have reached Slack: recorded as dropped, it would
        be a page nobody knows was sent). A dependency this version cannot read (written by
        a newer one) is logged, and its message goes."""
        dependencies: dict[int, TicketDependency] = {}
        for head in heads:
            depends_on = head.depends_on
            if depends_on is None or head.id in flying or head.attempts:
                continue
            try:
                dependencies[head.id] = TicketDependency.from_json(depends_on)
            except (KeyError, TypeError, ValueError):
                logger.error(
                    "outbox: %s depends on %r, unknown here; it goes", head.key, depends_on
                )
        return moot_messages(session, dependencies, now=now) if dependencies else {}

    @staticmethod
    def _drop(session: Session, head: repo.Routing, reason: Moot) -> None:
        if repo.mark_dropped(session, head.id, seen_attempts=head.attempts, reason=reason):
            logger.info("outbox: %s dropped, moot: %s", head.key, reason)

    def _takes_over(self, row: repo.Routing) -> bool:
        """Whether `row` is claimed by an earlier process of this instance: it restarted, so
        the process that claimed is gone (as for the lease, see bot/services/leader.py)."""
        claimant = row.claimed_by
        return (
            claimant is not None
            and claimant != self.holder
            and claimant.rsplit("#", 1)[0] == self._instance
        )

    def _claimed_elsewhere(self, row: repo.Routing, now: datetime) -> bool:
        """Whether another sender's claim on `row` still runs (its call may be in flight)."""
        return (
            row.claimed_by is not None
            and row.claimed_by != self.holder
            and row.next_attempt_at > now
            and not self._takes_over(row)
        )

    def _resolve(self, row: repo.Routing, deps: dict[str, repo.Routing]) -> Send | _Failure | None:
        """The call for `row`, but what it says (`_write_chosen`); None while it waits; a
        `_Failure` when it is to fail."""
        parent_key = row.thread_key or row.target_key
        channel = row.channel_id
        parent_ts: str | None = None
        parent_shown: str | None = None
        if parent_key is not None:
            parent = deps.get(parent_key)
            if parent is None:
                return _Failure(row.id, f"unknown parent message {parent_key!r}")
            if parent.status == OutboxStatus.PENDING:
                return None
            if parent.status != OutboxStatus.SENT or parent.ts is None:
                # The parent's own failure was reported; one report per root is enough.
                error = f"parent message {parent_key!r} was not delivered"
                return _Failure(row.id, error, report=False)
            channel, parent_ts = parent.sent_channel_id or parent.channel_id, parent.ts
            parent_shown = parent.shown_digest
        payload: dict[str, Any] = {}
        if row.operation in repo.RESPONSES:
            replace = row.operation is OutboxOperation.REPLACE
            payload |= {"response_type": "ephemeral", "replace_original": replace}
            return Send(
                row.id,
                row.key,
                row.operation,
                None,
                payload,
                row.attempts,
                row.response_url,
            )
        payload["channel"] = channel
        if row.operation is OutboxOperation.UPDATE:
            payload["ts"] = parent_ts
            return Send(
                row.id,
                row.key,
                row.operation,
                channel,
                payload,
                row.attempts,
                target_ts=parent_ts,
                target_key=row.target_key,
                target_shown=parent_shown,
            )
        if parent_ts is not None:
            payload["thread_ts"] = parent_ts
        if row.operation is not OutboxOperation.EPHEMERAL:
            payload["unfurl_links"] = False
        return Send(row.id, row.key, row.operation, channel, payload, row.attempts)

    def _prepare(self, sends: list[Send]) -> tuple[list[Send], float, set[int], set[int]]:
        """The sends chosen for this pass as written (`_write_chosen`), the monotonic instant
        of their claim, the ids whose attempt started and those of the edits settled without
        a call, Slack showing what they say already (`_start_attempts`): one hop to the
        database threads."""
        sends = self._write_chosen(sends)
        claimed = self._monotonic()  # before the claim's commit: errs on the safe side
        started, unchanged = self._start_attempts(sends)
        return sends, claimed, started, unchanged

    def _write_chosen(self, sends: list[Send]) -> list[Send]:
        """The sends chosen for this pass with what they say, read now, only for them: a
        backlog's messages are not read at each pass while they wait for their turn. Those
        written at send time are written now (so a message waiting for its turn, or
        superseded meanwhile, is never written). One whose database is away for a moment is
        left pending for the next pass; the others go."""
        with reading(self._sessions) as session:
            contents = repo.get_contents(session, [send.id for send in sends])
        ready: list[Send] = []
        for send in sends:
            content = contents.get(send.id)
            if content is None:
                continue  # no longer in the table: nothing to send
            send = _with_content(send, content)
            if send.render is not None:
                try:
                    send = self._render(send)
                except Exception as error:
                    if not is_transient(error):
                        raise
                    logger.warning("outbox: cannot write %s now (%s); next pass", send.key, error)
                    continue
            if send.operation in _SHOWN:
                written = repo.digest(send.payload["text"], send.payload.get("blocks"))
                send = dataclasses.replace(send, digest=written)
            ready.append(send)
        return ready

    def _render(self, send: Send) -> Send:
        """`send` as its renderer ("renderer:argument") writes it now, in a read session of
        its own. A renderer missing in this process, or one that fails, must neither stop the
        outbox nor lose the message (a root carries its ticket's thread): the row's own content
        goes instead (its fallback text, or what was last sent of it), and the error is logged.
        A database away for a moment (`is_transient`) raises: the send waits for the next pass."""
        assert send.render is not None
        name, _, argument = send.render.partition(":")
        renderer = self._renderers.get(name)
        if renderer is None:
            logger.error("outbox: no renderer %r here; %s goes as it was queued", name, send.key)
            return send
        try:
            with reading(self._sessions) as session:
                text, blocks = renderer(session, argument)
        except Exception as error:
            if is_transient(error):
                raise
            logger.exception("outbox: writing %s failed; it goes as it was queued", send.key)
            return send
        payload = {**send.payload, "text": text}
        payload.pop("blocks", None)  # what an earlier attempt wrote, kept on the row
        if blocks is not None:
            payload["blocks"] = blocks
        return dataclasses.replace(send, payload=payload)

    async def _deliver(self, send: Send, claimed: float) -> bool:
        """Call and settle an attempt already recorded; False if it could not be settled, or
        not started: too long after its claim (this process was paused, or its database
        stalled), another sender may be about to send it once the claim ends, and this call
        could reach Slack after that. The row waits for the end of its claim."""
        late = self._monotonic() - claimed
        if late > self.config.start_within:
            logger.warning(
                "outbox: %s was claimed %.0f s ago; not sending it now, it goes again once "
                "its claim has ended",
                send.key,
                late,
            )
            return False
        try:
            result = await self._call(send)
            if result.outcome is Outcome.RATE_LIMITED and result.retry_after is None:
                # A rate limit told in the body, without Retry-After: wait as for a transient
                # error (growing with the attempts), but never less than a channel's interval.
                wait = max(self.config.channel_interval, self._backoff(send.attempts + 1))
                result = dataclasses.replace(result, retry_after=wait)
            if send.channel is not None:
                # Counted from the answer's arrival, which is after Slack started its count.
                answered = self._monotonic()
                self._pacer.answered(send.channel, answered)
                if result.outcome is Outcome.RATE_LIMITED:
                    until = answered + self._retry_after(result)
                    self._pacer.hold(send.channel, until, answered)
            await self._settle_when_possible(send, result)
        except Exception:
            logger.exception("outbox: delivering %s failed; it stays pending", send.key)
            return False
        return True

    async def _settle_when_possible(self, send: Send, result: ApiResult) -> None:
        """Settle the answer; while the database is away for a moment (`is_transient`), try
        again, 1 s doubling up to `max_backoff`, until the sender stops. Given up, the row
        stays pending and Slack is sent the message again: for a post, a second copy. So the
        answer is kept, and the row stays in flight (its lane and channel wait) meanwhile."""
        delay = self.config.base_backoff
        while True:
            try:
                await in_database_thread(self._settle, send, result)
                return
            except Exception as error:
                if not is_transient(error) or self._stop is None or self._stop.is_set():
                    raise
                logger.warning(
                    "outbox: cannot record Slack's answer to %s now (%s); again in %.0f s",
                    send.key,
                    type(error).__name__,
                    delay,
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), delay)
            delay = min(delay * 2, self.config.max_backoff)

    def _start_attempts(self, sends: list[Send]) -> tuple[set[int], set[int]]:
        """Commit the attempts before any call: the crash-safety half of the protocol. A
        message written at send time keeps what was written, as evidence of what was sent.
        An edit saying exactly what Slack shows of its message (as last posted or edited with
        success) is settled instead, without a call: a chat.update for nothing is one call less
        for those that matter. The ids whose attempt started, and those settled so."""
        if not sends:
            return set(), set()
        until = self._clock() + timedelta(seconds=self.config.claim_ttl)
        written = {
            send.id: (send.payload["text"], send.payload.get("blocks"))
            for send in sends
            if send.render is not None
        }
        with self._sessions.begin() as session:
            unchanged = {
                send.id
                for send in sends
                if send.target_key is not None
                and send.digest is not None
                and send.digest == send.target_shown
                and repo.mark_unchanged(
                    session,
                    send.id,
                    seen_attempts=send.attempts,
                    target_key=send.target_key,
                    shown=send.digest,
                    written=written.get(send.id),
                )
            }
            seen = {send.id: send.attempts for send in sends if send.id not in unchanged}
            targets = {
                send.id: send.target_key
                for send in sends
                if send.target_key is not None and send.id not in unchanged
            }
            started = repo.mark_attempts(
                session, seen, holder=self.holder, until=until, written=written, targets=targets
            )
        return started, unchanged

    async def _call(self, send: Send) -> ApiResult:
        if send.operation in repo.RESPONSES:
            assert send.response_url is not None
            return await self._api.post_response(send.response_url, send.payload)
        method = {
            OutboxOperation.POST: "chat.postMessage",
            OutboxOperation.UPDATE: "chat.update",
            OutboxOperation.EPHEMERAL: "chat.postEphemeral",
        }[send.operation]
        return await self._api.call(method, send.payload)

    def _settle(self, send: Send, result: ApiResult) -> None:
        """Record the outcome of one call."""
        now = self._clock()
        with self._sessions.begin() as session:
            if result.outcome is Outcome.OK:
                ts = result.data.get("ts") or result.data.get("message_ts") or send.target_ts
                channel = result.data.get("channel") or send.channel
                posted = send.digest if send.operation is OutboxOperation.POST else None
                sent = repo.mark_sent(
                    session, send.id, ts=ts, channel_id=channel, now=now, shown=posted
                )
                if sent and send.target_key is not None and send.digest is not None:
                    repo.mark_shown(
                        session,
                        send.target_key,
                        shown=send.digest,
                        edit_id=send.id,
                        attempts=send.attempts + 1,
                    )
                return
            error = result.error or result.outcome.value
            if result.outcome is Outcome.PERMANENT:
                row = session.get_one(OutboxMessage, send.id)
                plain = _plain(send) if error in LAYOUT_ERRORS else None
                if plain is None:
                    self._fail(session, row, error)
                    return
                logger.error(
                    "outbox: Slack refused %s (%s); it goes again as plain text", send.key, error
                )
                repo.mark_retry(
                    session, send.id, holder=self.holder, error=error, retry_at=now, rewritten=plain
                )
                self._report(session, row, error, "outbox.sent_plain", suffix="/plain")
                return
            if result.outcome is Outcome.RATE_LIMITED:
                error, delay = RATE_LIMITED, self._retry_after(result)
                logger.info(
                    "outbox: %s rate-limited (%s); its channel waits %.0f s",
                    send.key,
                    result.error,
                    delay,
                )
            else:
                delay = self._backoff(send.attempts + 1)
                if result.outcome is Outcome.AUTH:
                    self._paused_until = self._monotonic() + delay
                    logger.error(
                        "outbox: Slack refuses the bot token (%s): set a valid SLACK_BOT_TOKEN "
                        "(install the app again if it was removed) and restart; every message "
                        "waits, none is lost; trying again in %.0f s",
                        error,
                        delay,
                    )
                else:
                    logger.warning(
                        "outbox: %s failed (%s); retry in %.1f s", send.key, error, delay
                    )
            retry_at = now + timedelta(seconds=delay)
            repo.mark_retry(session, send.id, holder=self.holder, error=error, retry_at=retry_at)

    def _retry_after(self, result: ApiResult) -> float:
        return self.config.channel_interval if result.retry_after is None else result.retry_after

    def _backoff(self, attempts: int) -> float:
        exponent = float(2 ** min(attempts - 1, 20))
        ceiling = min(self.config.max_backoff, self.config.base_backoff * exponent)
        return ceiling / 2 + random.uniform(0, ceiling / 2)  # jitter: no thundering herd

    def _fail(
        self, session: Session, row: OutboxMessage, error: str, *, report: bool = True
    ) -> None:
        """Mark `row` failed for good and report it once in the alert channel; when the alert
        channel itself refuses messages, tell its watchers by DM instead, once a day."""
        if not repo.mark_failed(session, row.id, error=error):
            return
        logger.error("outbox: %s failed for good: %s", row.key, error)
        if self.config.alerts_channel is None:
            return
        channel = _channel_of(session, row)
        if channel == self.config.alerts_channel and error in CHANNEL_ERRORS:
            self._report_alerts_channel_down(session, channel, error)
            return
        if not report:
            return
        name = "outbox.edit_target_gone" if error == MESSAGE_GONE else "outbox.failed"
        self._report(session, row, error, name)

    def _report(
        self, session: Session, row: OutboxMessage, error: str, name: str, *, suffix: str = ""
    ) -> None:
        """Tell the alert channel what became of `row` (message `name` of the catalog), once:
        a report is itself an outbox row, keyed by what it reports. Every change of a ticket
        edits its root: a root deleted in Slack would be reported at each change, so the edits
        of one message report each error once."""
        if self.config.alerts_channel is None or row.key.startswith(FAILURE_KEY_PREFIX):
            return
        reported = row.key
        if row.operation is OutboxOperation.UPDATE and row.target_key is not None:
            reported = f"{row.target_key}/edits/{error}"
        preview = row.text[:200].replace("<", "&lt;").replace(">", "&gt;")
        text = self._messages.get(
            name,
            channel=_channel_of(session, row) or "?",
            error=error,
            key=row.key,
            preview=preview,
        )
        report_message = repo.Outbound(
            key=failure_key(reported + suffix), text=text, channel_id=self.config.alerts_channel
        )
        repo.add_message(session, report_message, now=self._clock())

    def _report_alerts_channel_down(self, session: Session, channel: str, error: str) -> None:
        """A DM to each watcher, once a day for each error: every alert goes to this channel,
        so at 3 a.m. nobody would see anything, nor a report posted there."""
        day = self._clock().date().isoformat()
        text = self._messages.get("outbox.alerts_channel_failed", channel=channel, error=error)
        for user_id in self.config.alerts_channel_watchers:
            key = f"{FAILURE_KEY_PREFIX}channel/{channel}/{error}/{day}/{user_id}"
            repo.add_message(
                session,
                repo.Outbound(key=key[: repo.MAX_KEY_LENGTH], text=text, channel_id=user_id),
                now=self._clock(),
            )

    async def _log_stats(self) -> None:
        try:
            stats = await in_database_thread(self._stats)
        except Exception as error:
            logger.warning("outbox: stats unavailable: %s", type(error).__name__)
            return
        if stats.pending or stats.failed:
            age = stats.oldest_pending_age
            logger.info(
                "outbox: %d pending (oldest %s), %d failed",
                stats.pending,
                "-" if age is None else f"{age.total_seconds():.0f} s",
                stats.failed,
            )

    def _stats(self) -> repo.OutboxStats:
        with reading(self._sessions) as session:
            return repo.get_stats(session, now=self._clock())


def failure_key(key: str) -> str:
    """The idempotency key of the alert-channel report of `key`'s failure (fits the column)."""
    report_key = FAILURE_KEY_PREFIX + key
    if len(report_key) <= repo.MAX_KEY_LENGTH:
        return report_key
    return FAILURE_KEY_PREFIX + hashlib.sha256(key.encode()).hexdigest()


def _plain(send: Send) -> repo.Written | None:
    """What `send` says as plain text, once Slack refused its layout or length: its text
    clipped, no blocks (an edit's `[]` clears those of the message: chat.update keeps them
    unless told). None when it already was plain: sent so, it failed for its own sake."""
    text = str(send.payload.get("text") or "")
    if not send.payload.get("blocks") and len(text) <= PLAIN_TEXT_LIMIT:
        return None
    return clip(text, PLAIN_TEXT_LIMIT), [] if send.operation is OutboxOperation.UPDATE else None


def _with_content(send: Send, content: repo.Content) -> Send:
    """`send` saying what its row says (a renderer may write it again: `_render`)."""
    payload = {**send.payload, "text": content.text}
    if content.blocks is not None:
        payload["blocks"] = content.blocks
    if send.operation is OutboxOperation.EPHEMERAL:
        payload["user"] = content.user_id
    return dataclasses.replace(send, payload=payload, render=content.render)


def _channel_of(session: Session, row: OutboxMessage) -> str | None:
    """Where `row` was to go: its channel, or for an edit or a reply its parent's (roots are
    keyed, not addressed)."""
    if row.channel_id is not None:
        return row.channel_id
    parent = row.target_key or row.thread_key
    if parent is None:
        return None
    found = repo.get_by_keys(session, {parent}).get(parent)
    return None if found is None else found.sent_channel_id or found.channel_id


def _turns(
    heads: list[repo.Routing], lanes: dict[tuple[str, str], list[repo.Routing]]
) -> dict[int, tuple[int, int, int]]:
    """The order in which lane heads take their channel's next call: writing order, except
    that a new alert (an outage's or a storm's root) goes first, and an edit of a message goes
    before the replies queued in its thread.

    At one call a second per channel, an outage confirmed behind 20 routine replies would be
    told 20 s late. And a message shows the state now (a storm root's count, a ticket's
    clocks), its replies the history: behind 49 replies, a storm root's edit to "50 servers
    down" would wait 49 s.
    """
    turns: dict[int, tuple[int, int, int]] = {}
    for head in heads:
        if head.target_key is None:
            alert = head.thread_key is None and _ALERT_ROOT.fullmatch(head.key) is not None
            turns[head.id] = (0 if alert else 1, head.id, 1)
            continue
        replies = lanes.get(("thread", head.target_key))
        turns[head.id] = (1, min(head.id, replies[0].id) if replies else head.id, 0)
    return turns


# What a message may be edited from: a post, and an edit (what Slack shows of the message).
_SHOWN = frozenset({OutboxOperation.POST, OutboxOperation.UPDATE})
_ALERT_ROOT = re.compile(r"(?:outage|storm)-\d+/root")  # keys of bot/services/alerts.py


def _lane(row: repo.Routing) -> tuple[str, str]:
    if row.target_key is not None:
        return ("target", row.target_key)
    if row.thread_key is not None:
        return ("thread", row.thread_key)
    if row.operation in repo.RESPONSES:
        return ("response", row.response_url or row.key)
    return ("channel", row.channel_id or "")


def _pace_channel(row: repo.Routing, deps: dict[str, repo.Routing]) -> str | None:
    """The channel `row` is paced on, as `_resolve` computes it; None for responses."""
    if row.operation in repo.RESPONSES:
        return None
    parent_key = row.thread_key or row.target_key
    if parent_key is None:
        return row.channel_id
    parent = deps.get(parent_key)
    return None if parent is None else parent.sent_channel_id or parent.channel_id
