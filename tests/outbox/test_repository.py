"""The outbox table: idempotent writes and the numbers /healthz shows."""

from datetime import timedelta

import pytest
from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.storage.models import OutboxMessage, OutboxOperation, OutboxStatus
from bot.storage.outbox import (
    Outbound,
    add_message,
    add_messages,
    digest,
    get_stats,
    list_pending,
    mark_attempt,
    mark_failed,
    mark_sent,
    mark_shown,
    mark_unchanged,
)
from tests.outbox.harness import edit, utc_now


def test_writing_the_same_key_twice_keeps_one_row(sessions: sessionmaker[Session]) -> None:
    """The second add_message of a key is a no-op that says so, even in another transaction."""
    message = Outbound(key="INT-42/gtr/75", text="GTR 75 %", channel_id="C1")
    with sessions.begin() as session:
        assert add_message(session, message, now=utc_now()) is True
        assert add_message(session, message, now=utc_now()) is False
    with sessions.begin() as session:
        changed = Outbound(key="INT-42/gtr/75", text="another text", channel_id="C2")
        assert add_message(session, changed, now=utc_now()) is False
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
        assert session.scalars(select(OutboxMessage.text)).one() == "GTR 75 %"


def test_several_messages_are_queued_in_one_statement_skipping_keys_already_queued(
    sessions: sessionmaker[Session],
) -> None:
    """What a command queues (its thread post and its root's edit) goes in one INSERT; a key
    already queued keeps its row, as with add_message."""
    with sessions.begin() as session:
        add_message(
            session, Outbound(key="INT-1/event/1", text="first", channel_id="C1"), now=utc_now()
        )
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    with sessions.begin() as session:
        engine = session.get_bind()
        event.listen(engine, "before_cursor_execute", seen)
        try:
            add_messages(
                session,
                [
                    Outbound(key="INT-1/event/1", text="again", channel_id="C1"),
                    Outbound(key="INT-1/event/2", text="second", channel_id="C1"),
                    Outbound(key="INT-1/root/r2", text="edit", channel_id="C1"),
                ],
                now=utc_now(),
            )
        finally:
            event.remove(engine, "before_cursor_execute", seen)
    assert [s.split()[0] for s in statements if not s.startswith("BEGIN")] == ["INSERT"]
    with sessions() as session:
        rows = session.execute(select(OutboxMessage.key, OutboxMessage.text)).all()
    texts = {key: text for key, text in rows}
    assert texts == {"INT-1/event/1": "first", "INT-1/event/2": "second", "INT-1/root/r2": "edit"}
    with pytest.raises(ValueError, match="outbox key"), sessions.begin() as session:
        add_messages(session, [Outbound(key="", text="x", channel_id="C1")], now=utc_now())


def test_a_message_rolled_back_with_its_state_change_is_not_queued(
    sessions: sessionmaker[Session],
) -> None:
    """The row lives in the caller's transaction: a rollback takes it away with the rest."""

    def change_state_then_fail() -> None:
        with sessions.begin() as session:
            message = Outbound(key="INT-1/open", text="x", channel_id="C1")
            add_message(session, message, now=utc_now())
            raise RuntimeError("the state change failed")

    with pytest.raises(RuntimeError):
        change_state_then_fail()
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_a_key_longer_than_the_column_is_refused(sessions: sessionmaker[Session]) -> None:
    """A key that would be truncated (or rejected by PostgreSQL) fails at the call site."""
    with pytest.raises(ValueError, match="outbox key"), sessions.begin() as session:
        add_message(session, Outbound(key="k" * 201, text="x", channel_id="C1"), now=utc_now())


def test_a_pass_reads_each_lane_s_head_every_edit_and_every_attempted_message(
    sessions: sessionmaker[Session],
) -> None:
    """What the sender plans from: the oldest pending message of each thread, channel and
    response_url (a reply heads its thread's lane, whatever its channel), every pending edit
    (coalesced into the latest) and every attempted message (a claim, a 429 holding its
    channel), in writing order; not the rest of a backlog."""
    url = "https://hooks.slack.test/1"
    with sessions.begin() as session:
        for message in [
            Outbound(key="root", text="root", channel_id="C1"),
            Outbound(key="p1", text="p1", channel_id="C1"),
            Outbound(key="r1", text="r1", channel_id="C1", thread_key="root"),
            edit("e1", "e1", of="root"),
            Outbound(key="p2", text="p2", channel_id="C1"),
            Outbound(key="a1", text="a1", operation=OutboxOperation.REPLACE, response_url=url),
            Outbound(key="r2", text="r2", thread_key="root"),
            edit("e2", "e2", of="root"),
            Outbound(key="a2", text="a2", operation=OutboxOperation.RESPONSE, response_url=url),
            Outbound(
                key="x",
                text="x",
                channel_id="C1",
                user_id="U1",
                operation=OutboxOperation.EPHEMERAL,
            ),
            Outbound(key="d1", text="d1", channel_id="U2"),
            Outbound(key="p3", text="p3", channel_id="C1"),
        ]:
            add_message(session, message, now=utc_now())
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.key == "root")
            .values(status=OutboxStatus.SENT, ts="1.1")
        )
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.key == "p3")
            .values(attempts=1, claimed_by="other#1", next_attempt_at=utc_now() + timedelta(30))
        )
    with sessions() as session:
        keys = [row.key for row in list_pending(session)]
    assert keys == ["p1", "r1", "e1", "a1", "e2", "d1", "p3"]


def test_stats_count_pending_and_failed_and_age_the_oldest_pending(
    sessions: sessionmaker[Session],
) -> None:
    """Pending and failed are counted apart; the age is that of the oldest pending row."""
    start = utc_now()
    with sessions.begin() as session:
        add_message(session, Outbound(key="a", text="a", channel_id="C1"), now=start)
        add_message(
            session, Outbound(key="b", text="b", channel_id="C1"), now=start + timedelta(minutes=1)
        )
        add_message(session, Outbound(key="c", text="c", channel_id="C1"), now=start)
    with sessions.begin() as session:
        row = session.scalars(select(OutboxMessage).where(OutboxMessage.key == "c")).one()
        assert mark_failed(session, row.id, error="channel_not_found")
        assert not mark_failed(session, row.id, error="again")
    with sessions() as session:
        stats = get_stats(session, now=start + timedelta(minutes=5))
    assert (stats.pending, stats.failed) == (2, 1)
    assert stats.to_json() == {"pending": 2, "failed": 1, "oldest_pending_age_s": 300.0}


def _root_shown_and_edit(sessions: sessionmaker[Session], shown: str) -> tuple[int, int]:
    """A root posted (Slack showing `shown`) and a pending edit of it: their ids."""
    with sessions.begin() as session:
        add_message(session, Outbound(key="root", text="A", channel_id="C1"), now=utc_now())
        add_message(session, edit("root/r1", "A", of="root"), now=utc_now())
        root, edited = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert mark_sent(session, root.id, ts="1.1", channel_id="C1", now=utc_now(), shown=shown)
        return root.id, edited.id


def test_an_edit_is_settled_unchanged_only_while_the_message_shows_what_it_says(
    sessions: sessionmaker[Session],
) -> None:
    """`mark_unchanged` re-checks what the message shows when it settles: an attempt of an
    edit of it started meanwhile (by another sender) makes what it shows unknown, and the edit
    stays pending, to be sent."""
    shown = digest("A", None)
    _, edit_id = _root_shown_and_edit(sessions, shown)
    until = utc_now() + timedelta(seconds=30)
    with sessions.begin() as session:
        add_message(session, edit("root/r0", "B", of="root"), now=utc_now())
        other = session.scalars(select(OutboxMessage.id).where(OutboxMessage.key == "root/r0"))
        assert mark_attempt(
            session, other.one(), seen_attempts=0, holder="b#1", until=until, target_key="root"
        )
    with sessions.begin() as session:
        assert not mark_unchanged(session, edit_id, seen_attempts=0, target_key="root", shown=shown)
    with sessions() as session:
        row = session.get_one(OutboxMessage, edit_id)
        assert row.status is OutboxStatus.PENDING
        assert (
            session.scalar(select(OutboxMessage.shown_digest).where(OutboxMessage.key == "root"))
            is None
        )


def test_an_edit_slack_accepted_is_what_the_message_shows_unless_attempted_again(
    sessions: sessionmaker[Session],
) -> None:
    """`mark_shown` after an edit's answer: the message now shows it; but not when the edit
    was attempted again since (a sender that took over once the claim ended: which of the two
    calls Slack applied last is unknown)."""
    root_id, edit_id = _root_shown_and_edit(sessions, digest("A", None))
    until = utc_now() + timedelta(seconds=30)

    def shown() -> str | None:
        with sessions() as session:
            return session.get_one(OutboxMessage, root_id).shown_digest

    with sessions.begin() as session:
        assert mark_attempt(
            session, edit_id, seen_attempts=0, holder="a#1", until=until, target_key="root"
        )
    assert shown() is None
    with sessions.begin() as session:
        assert mark_attempt(
            session, edit_id, seen_attempts=1, holder="b#1", until=until, target_key="root"
        )
        assert mark_sent(session, edit_id, ts="1.1", channel_id="C1", now=utc_now())
        mark_shown(session, "root", shown=digest("A!", None), edit_id=edit_id, attempts=1)
    assert shown() is None  # the first attempt's answer: the second one may have come after
    with sessions.begin() as session:
        mark_shown(session, "root", shown=digest("A!", None), edit_id=edit_id, attempts=2)
    assert shown() == digest("A!", None)
