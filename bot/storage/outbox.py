"""Outbox repository: messages written with the state change that caused them, sent later."""

import hashlib
import json
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, case, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from bot.storage.database import insert_new
from bot.storage.models import OutboxMessage, OutboxOperation, OutboxStatus

MAX_KEY_LENGTH = 200  # the width of outbox_messages.key
RESPONSES = (OutboxOperation.RESPONSE, OutboxOperation.REPLACE)  # posts to a response_url


@dataclass(frozen=True)
class Outbound:
    """A message to send. `key` makes it idempotent: the same key is written once."""

    key: str
    text: str
    channel_id: str | None = None
    blocks: list[dict[str, Any]] | None = None
    operation: OutboxOperation = OutboxOperation.POST
    thread_key: str | None = None  # reply in the thread of the message with this key
    target_key: str | None = None  # for UPDATE: the message with this key is edited
    user_id: str | None = None  # for EPHEMERAL: the one user who sees it
    response_url: str | None = None  # for RESPONSE and REPLACE
    # "renderer:argument": the sender writes text and blocks when it sends (`text` is then
    # the fallback, sent if the renderer is missing or fails); see OutboxSender.add_renderer.
    render: str | None = None
    # What a post depends on (see bot/outbox/moot.py): the sender drops it, instead of sending
    # it, once that no longer holds when its turn comes. Not for updates, which coalesce.
    depends_on: dict[str, Any] | None = None


def add_message(session: Session, message: Outbound, *, now: datetime) -> bool:
    """Queue `message` in the caller's transaction; False if its key was already queued."""
    statement = insert_new(session, OutboxMessage, unique=("key",), returning="id")
    # RETURNING, not rowcount: psycopg reports no rowcount for INSERT … ON CONFLICT DO NOTHING.
    return session.execute(statement, _row(message, now)).scalar_one_or_none() is not None


def add_messages(session: Session, messages: list[Outbound], *, now: datetime) -> None:
    """Queue `messages` in the caller's transaction, in one statement; a key already queued
    is skipped, as `add_message` does (without saying which)."""
    statement = insert_new(session, OutboxMessage, unique=("key",), returning=None)
    session.connection().execute(statement, [_row(message, now) for message in messages])


def _row(message: Outbound, now: datetime) -> dict[str, Any]:
    if not message.key or len(message.key) > MAX_KEY_LENGTH:
        raise ValueError(f"an outbox key is 1 to {MAX_KEY_LENGTH} characters: {message.key!r}")
    return {
        "key": message.key,
        "operation": message.operation,
        "channel_id": message.channel_id,
        "user_id": message.user_id,
        "thread_key": message.thread_key,
        "target_key": message.target_key,
        "response_url": message.response_url,
        "text": message.text,
        "blocks": message.blocks,
        "render": message.render,
        "depends_on": message.depends_on,
        "status": OutboxStatus.PENDING,
        "attempts": 0,
        "created_at": now,
        "next_attempt_at": now,
    }


@dataclass(frozen=True)
class Routing:
    """What planning a pass reads of a message: where it goes and how it stands (its text,
    blocks and recipient are read only once it is chosen to go, `get_contents`). A plain
    record: a pass reads every lane's head, and ORM objects cost several times more to load."""

    id: int
    key: str
    operation: OutboxOperation
    channel_id: str | None
    thread_key: str | None
    target_key: str | None
    response_url: str | None
    status: OutboxStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    ts: str | None
    sent_channel_id: str | None
    claimed_by: str | None  # the sender whose call is in flight, until next_attempt_at
    depends_on: dict[str, Any] | None  # judged when the message heads its lane (outbox/moot.py)
    shown_digest: str | None  # of a posted message: what Slack shows of it (`digest`), if known


# The sender's reads at every pass, built once (building a statement costs about as much as
# running it).
_ROUTING = select(*(getattr(OutboxMessage, f.name) for f in fields(Routing)))
_BY_KEYS = _ROUTING.where(OutboxMessage.key.in_(bindparam("keys", expanding=True)))
_CONTENTS = select(
    OutboxMessage.id,
    OutboxMessage.text,
    OutboxMessage.blocks,
    OutboxMessage.user_id,
    OutboxMessage.render,
).where(OutboxMessage.id.in_(bindparam("ids", expanding=True)))

# The lanes but edits, as the sender groups them (`bot.outbox.sender._lane`): a thread's
# replies, a response_url's posts, a channel's top-level posts.
_PENDING = OutboxMessage.status == OutboxStatus.PENDING
_RESPONSE = OutboxMessage.operation.in_(RESPONSES)
_LANE_KIND = case((OutboxMessage.thread_key.is_not(None), 0), (_RESPONSE, 1), else_=2)
_LANE_KEY = case(
    (OutboxMessage.thread_key.is_not(None), OutboxMessage.thread_key),
    (_RESPONSE, func.coalesce(OutboxMessage.response_url, OutboxMessage.key)),
    else_=func.coalesce(OutboxMessage.channel_id, ""),
)
# The oldest pending message of each of them: what may go next in each.
_LANE_HEADS = (
    select(func.min(OutboxMessage.id))
    .where(_PENDING, OutboxMessage.target_key.is_(None))
    .group_by(_LANE_KIND, _LANE_KEY)
)
# What planning a pass needs: those heads, every pending edit (an edit lane is coalesced into
# its latest) and every row attempted (a claim in flight, a channel a 429 holds).
_PLANNED = _ROUTING.where(
    _PENDING,
    or_(
        OutboxMessage.id.in_(_LANE_HEADS),
        OutboxMessage.target_key.is_not(None),
        OutboxMessage.attempts > 0,
    ),
).order_by(OutboxMessage.id)


def list_pending(session: Session) -> list[Routing]:
    """What the sender plans a pass from, in writing order: of the pending messages, the
    oldest of each lane but edits (a thread's replies, a channel's top-level posts, a
    response_url's posts), every edit (only all of an edit lane's messages can be coalesced
    into its latest), and every message attempted (another sender's claim holds its lane, a
    429 its channel). Not the rest of a backlog (1 message a second per channel after a burst
    or a Slack outage): a lane's next message is read once it heads its lane."""
    return [Routing(*row) for row in session.execute(_PLANNED)]


def list_recent_calls(session: Session, *, since: datetime) -> dict[str, list[datetime]]:
    """When Slack accepted the messages it accepted since `since`, by the channel they are
    paced on (a post's own, a reply's or an edit's where Slack put it): a sender that did not
    make those calls (restarted, or the next leader) goes on from where they left the channel's
    rate. Read through `ix_outbox_due`: a delivered message's `next_attempt_at` is the end of
    its last claim, which outlasts the call's answer."""
    rows = session.execute(
        select(
            func.coalesce(OutboxMessage.channel_id, OutboxMessage.sent_channel_id),
            OutboxMessage.sent_at,
        ).where(
            OutboxMessage.status == OutboxStatus.SENT,
            OutboxMessage.next_attempt_at >= since,
            OutboxMessage.sent_at >= since,
            OutboxMessage.operation.not_in(RESPONSES),
        )
    )
    calls: dict[str, list[datetime]] = {}
    for channel, sent_at in rows:
        if channel is not None and sent_at is not None:
            calls.setdefault(channel, []).append(sent_at)
    return calls


@dataclass(frozen=True)
class Content:
    """What a message says and to whom, read only for messages about to be sent."""

    text: str
    blocks: list[dict[str, Any]] | None
    user_id: str | None  # an ephemeral's recipient
    render: str | None = None


def get_contents(session: Session, message_ids: list[int]) -> dict[int, Content]:
    """Text, blocks and recipients of these messages, by id."""
    if not message_ids:
        return {}
    rows = session.execute(_CONTENTS, {"ids": message_ids})
    return {row.id: Content(row.text, row.blocks, row.user_id, row.render) for row in rows}


def list_failed(session: Session, *, limit: int = 100) -> list[OutboxMessage]:
    """Messages failed for good, most recent first."""
    return _latest(session, OutboxStatus.FAILED, limit)


def list_dropped(session: Session, *, limit: int = 100) -> list[OutboxMessage]:
    """Messages dropped as moot (`last_error` says why), most recent first."""
    return _latest(session, OutboxStatus.DROPPED, limit)


def count_pending_errors(session: Session) -> dict[str, int]:
    """The errors pending messages are retried after (Slack's code, or the part of a network
    error before its details), and how many messages each holds up."""
    rows = session.execute(
        select(OutboxMessage.last_error, func.count())
        .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.last_error.is_not(None))
        .group_by(OutboxMessage.last_error)
    )
    counts: dict[str, int] = {}
    for error, count in rows:
        kind = ":".join(str(error).split(":")[:2])  # "network: ClientConnectorError"
        counts[kind] = counts.get(kind, 0) + count
    return counts


def _latest(session: Session, status: OutboxStatus, limit: int) -> list[OutboxMessage]:
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status == status)
            .order_by(OutboxMessage.id.desc())
            .limit(limit)
        )
    )


def get_by_keys(session: Session, keys: set[str]) -> dict[str, Routing]:
    """The messages with these keys, by key (any status)."""
    if not keys:
        return {}
    rows = session.execute(_BY_KEYS, {"keys": list(keys)})
    return {routing.key: routing for routing in (Routing(*row) for row in rows)}


def pending_dms(session: Session, prefix: str, user_id: str) -> list[Routing]:
    """The pending direct messages to `user_id` whose key starts with `prefix`, in writing
    order (a ticket's warnings: `INT-42/gtr/75/dm/U01AAA`, or one handed back to them,
    `…/dm/U01AAA/7`): their recipient is read from what they depend on, not from the key."""
    rows = session.execute(
        _ROUTING.where(_PENDING, OutboxMessage.key.startswith(prefix, autoescape=True)).order_by(
            OutboxMessage.id
        )
    )
    return [
        routing
        for routing in (Routing(*row) for row in rows)
        if "/dm/" in routing.key and (routing.depends_on or {}).get("user") == user_id
    ]


# Text and blocks of a message written at send time (`Outbound.render`).
Written = tuple[str, list[dict[str, Any]] | None]

UNCHANGED = "unchanged"  # last_error of an edit settled without a call: Slack shows it already


def digest(text: str, blocks: list[dict[str, Any]] | None) -> str:
    """What a message says (its text and blocks) as one value, to tell whether an edit would
    change what Slack shows (`shown_digest`): a sha256, blocks' keys in any order."""
    content = json.dumps([text, blocks], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(content.encode()).hexdigest()


def mark_attempts(
    session: Session,
    seen: dict[int, int],
    *,
    holder: str,
    until: datetime,
    written: dict[int, Written] | None = None,
    targets: dict[int, str] | None = None,
) -> set[int]:
    """`mark_attempt` for several messages (id -> attempts read) in one transaction, the edits
    among them with the key of the message they edit (`targets`); the ids whose attempt may
    start."""
    written = written or {}
    targets = targets or {}
    return {
        message_id
        for message_id, attempts in seen.items()
        if mark_attempt(
            session,
            message_id,
            seen_attempts=attempts,
            holder=holder,
            until=until,
            written=written.get(message_id),
            target_key=targets.get(message_id),
        )
    }


def mark_attempt(
    session: Session,
    message_id: int,
    *,
    seen_attempts: int,
    holder: str,
    until: datetime,
    written: Written | None = None,
    target_key: str | None = None,
) -> bool:
    """Record that a delivery attempt starts (committed before the call), with what a message
    written at send time says this time, and claim the row for `holder` until `until` (other
    senders leave it alone until then: `OutboxSender._claimed_elsewhere`); False if the row
    was delivered, failed or attempted by someone else since it was read with `seen_attempts`.
    For an edit of the message keyed `target_key`, what Slack shows of that message is unknown
    from now on, until Slack accepts the edit (`mark_shown`): a call that times out may have
    reached it."""
    values: dict[str, Any] = {
        "attempts": OutboxMessage.attempts + 1,
        "next_attempt_at": until,
        "claimed_by": holder,
    }
    if written is not None:
        values["text"], values["blocks"] = written
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.attempts == seen_attempts,
        )
        .values(values)
    )
    started = bool(result.rowcount == 1)  # type: ignore[attr-defined]
    if started and target_key is not None:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.key == target_key, OutboxMessage.shown_digest.is_not(None))
            .values(shown_digest=None)
        )
    return started


def mark_sent(
    session: Session,
    message_id: int,
    *,
    ts: str | None,
    channel_id: str | None,
    now: datetime,
    shown: str | None = None,
) -> bool:
    """Delivered: Slack answered with `ts` (None for ephemerals and responses, which have none).
    A post's `shown` is the `digest` of what it said, which its edits are compared with."""
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == OutboxStatus.PENDING)
        .values(
            status=OutboxStatus.SENT,
            ts=ts,
            sent_channel_id=channel_id,
            sent_at=now,
            last_error=None,
            claimed_by=None,
            shown_digest=shown,
        )
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def mark_shown(
    session: Session, target_key: str, *, shown: str, edit_id: int, attempts: int
) -> None:
    """Slack accepted edit `edit_id` of the message keyed `target_key`, which now shows
    `shown` (a `digest`); unless the edit was attempted again since its attempt number
    `attempts` (a sender that took over after its claim ended): then what Slack shows stays
    unknown."""
    edit = aliased(OutboxMessage)
    session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.key == target_key,
            exists().where(
                edit.id == edit_id,
                edit.status == OutboxStatus.SENT,
                edit.attempts == attempts,
            ),
        )
        .values(shown_digest=shown)
    )


def mark_unchanged(
    session: Session,
    message_id: int,
    *,
    seen_attempts: int,
    target_key: str,
    shown: str,
    written: Written | None = None,
) -> bool:
    """Settled without a call (`coalesced`, `last_error` "unchanged"): an edit saying what
    the message keyed `target_key` shows already (`shown`, a `digest`), with what it was
    written as if it is written at send time. False if, since it was read, the row was
    delivered, failed or attempted, or that message was edited or is being edited."""
    target = aliased(OutboxMessage)
    values: dict[str, Any] = {
        "status": OutboxStatus.COALESCED,
        "last_error": UNCHANGED,
        "claimed_by": None,
    }
    if written is not None:
        values["text"], values["blocks"] = written
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.attempts == seen_attempts,
            exists().where(target.key == target_key, target.shown_digest == shown),
        )
        .values(values)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def mark_retry(
    session: Session,
    message_id: int,
    *,
    holder: str,
    error: str,
    retry_at: datetime,
    rewritten: Written | None = None,
) -> None:
    """Not delivered this time: try again at `retry_at`, saying `rewritten` (its text and
    blocks, no longer written at send time) if given. Only while `holder` still claims the
    row: once its claim ran out, another sender may be sending it, and must keep its claim."""
    values: dict[str, Any] = {"last_error": error, "next_attempt_at": retry_at}
    if rewritten is not None:
        values |= {"text": rewritten[0], "blocks": rewritten[1], "render": None}
    session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            OutboxMessage.status == OutboxStatus.PENDING,
            or_(OutboxMessage.claimed_by == holder, OutboxMessage.claimed_by.is_(None)),
        )
        .values(**values, claimed_by=None)
    )


def mark_failed(session: Session, message_id: int, *, error: str) -> bool:
    """Failed for good with `error`; False if it was no longer pending."""
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == OutboxStatus.PENDING)
        .values(status=OutboxStatus.FAILED, last_error=error, claimed_by=None)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def mark_dropped(session: Session, message_id: int, *, seen_attempts: int, reason: str) -> bool:
    """Not sent: moot when its turn came, for `reason`; False if it was delivered, failed or
    attempted (by another sender) since it was read with `seen_attempts`."""
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.attempts == seen_attempts,
        )
        .values(status=OutboxStatus.DROPPED, last_error=reason, claimed_by=None)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def mark_coalesced(session: Session, message_ids: list[int]) -> None:
    """Pending updates superseded by a later update of the same message."""
    if message_ids:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(message_ids), OutboxMessage.status == OutboxStatus.PENDING)
            .values(status=OutboxStatus.COALESCED)
        )


@dataclass(frozen=True)
class OutboxStats:
    """What /healthz and the logs show about the outbox."""

    pending: int
    failed: int
    oldest_pending_age: timedelta | None
    dropped: int = 0  # moot when their turn came: not a fault, so not in /healthz

    def to_json(self) -> dict[str, Any]:
        """The /healthz form: counts, and the age in seconds (None when nothing is pending)."""
        age = self.oldest_pending_age
        return {
            "pending": self.pending,
            "failed": self.failed,
            "oldest_pending_age_s": None if age is None else round(age.total_seconds(), 1),
        }


def get_stats(session: Session, *, now: datetime) -> OutboxStats:
    """Pending, failed and dropped counts and the age of the oldest pending message."""
    rows = session.execute(
        select(OutboxMessage.status, func.count())
        .where(
            OutboxMessage.status.in_(
                [OutboxStatus.PENDING, OutboxStatus.FAILED, OutboxStatus.DROPPED]
            )
        )
        .group_by(OutboxMessage.status)
    )
    counts: dict[OutboxStatus, int] = {status: count for status, count in rows}
    oldest = session.scalar(
        select(func.min(OutboxMessage.created_at)).where(
            OutboxMessage.status == OutboxStatus.PENDING
        )
    )
    return OutboxStats(
        pending=counts.get(OutboxStatus.PENDING, 0),
        failed=counts.get(OutboxStatus.FAILED, 0),
        oldest_pending_age=None if oldest is None else now - oldest,
        dropped=counts.get(OutboxStatus.DROPPED, 0),
    )
