"""The revision rule, checked in every test: a transaction that changes what `OpenTicketCache`
keeps of a ticket (its columns in `TicketRecord`, its clocks, its pauses) bumps the ticket's
revision before it commits.

`list` and `/sla status` reload a ticket only when its revision moved, so a use case that
forgot the bump would show a stale ticket. The check sees what goes through the ORM's flush;
Core statements are not seen: a use case writing a ticket with one must bump its revision too.
"""

from collections.abc import Iterator
from dataclasses import fields
from typing import Any

import pytest
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from bot.storage.models import Clock, Ticket, TicketPause
from bot.storage.open_tickets import ClockRecord, PauseRecord, TicketRecord

KEPT = {
    Ticket: {f.name for f in fields(TicketRecord)} - {"clocks", "pauses", "revision"},
    Clock: {f.name for f in fields(ClockRecord)},
    TicketPause: {f.name for f in fields(PauseRecord)},
}
STATE = "revision_rule"  # in Session.info: sets of ticket ids "touched", "bumped", "created"


def _noted(session: Session) -> dict[str, set[int]]:
    empty: dict[str, set[int]] = {"touched": set(), "bumped": set(), "created": set()}
    return session.info.setdefault(STATE, empty)  # type: ignore[no-any-return]


def _note_changes(session: Session, _context: Any, _instances: Any) -> None:
    noted = _noted(session)
    for obj in [*session.new, *session.dirty, *session.deleted]:
        kept = KEPT.get(type(obj))
        if kept is None:
            continue
        ticket = obj if isinstance(obj, Ticket) else obj.__dict__.get("ticket")
        ticket_id = ticket.id if ticket is not None else obj.ticket_id
        if ticket_id is None or (ticket is not None and ticket in session.new):
            continue  # a new ticket: no process has read it yet
        state = inspect(obj)
        changed = any(state.attrs[name].history.has_changes() for name in kept)
        if changed or obj in session.new or obj in session.deleted:
            noted["touched"].add(ticket_id)
        if isinstance(obj, Ticket) and state.attrs["revision"].history.has_changes():
            noted["bumped"].add(ticket_id)


def _note_created(session: Session, _context: Any) -> None:
    """After the flush that inserts a ticket (its id known): no process has read it yet, so
    the rest of its first transaction may change it freely."""
    _noted(session)["created"].update(obj.id for obj in session.new if isinstance(obj, Ticket))


def _check(session: Session) -> None:
    noted = session.info.pop(STATE, None)
    if noted and (missing := noted["touched"] - noted["bumped"] - noted["created"]):
        raise AssertionError(
            f"tickets {sorted(missing)} changed without a revision bump: list and /sla status"
            " would go on showing them as they were (see OpenTicketCache)"
        )


def _forget(session: Session, *_args: Any) -> None:
    session.info.pop(STATE, None)


@pytest.fixture(autouse=True)
def revision_rule() -> Iterator[None]:
    listeners: list[tuple[str, Any]] = [
        ("before_flush", _note_changes),
        ("after_flush", _note_created),
        ("after_commit", _check),
        ("after_rollback", _forget),
    ]
    for name, listener in listeners:
        event.listen(Session, name, listener)
    yield
    for name, listener in listeners:
        event.remove(Session, name, listener)
