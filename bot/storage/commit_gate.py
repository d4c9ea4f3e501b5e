"""Work whose answer is due by a deadline either commits in time or never commits.

Slack shows a command's answer only if it comes within 3 s. A command stuck behind a lock (a
long writer on SQLite, a row another transaction holds on PostgreSQL) is answered "nothing was
done" when its time is up; its database work, still waiting in a thread that cannot be
interrupted, must then not commit when the lock frees, or the technician who tries again does it
twice. The handler that waits (`bot.handlers.budget`) gives the work a `CommitGate` through a
context variable (`in_database_thread` carries it into the database thread); the engine asks the
gate before every commit (`make_engine`).

A gate is abandoned only while no commit has begun: once one has, the handler waits for the
outcome instead of answering that nothing was done.
"""

import enum
import threading
from contextvars import ContextVar

from bot.errors import UserFacingError


class WorkAbandonedError(UserFacingError):
    """The work's answer was due and it had not committed: it did not and will not."""

    def __init__(self) -> None:
        super().__init__("error.too_slow")


class _State(enum.Enum):
    PENDING = "pending"
    COMMITTING = "committing"  # a commit has begun: the work can no longer be abandoned
    ABANDONED = "abandoned"


class CommitGate:
    """Whether one piece of work may still commit; shared by the handler and the work's thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state = _State.PENDING

    def abandon(self) -> bool:
        """Forbid every commit from now on, unless one has begun (then False)."""
        with self._lock:
            if self._state is _State.COMMITTING:
                return False
            self._state = _State.ABANDONED
            return True

    def check(self) -> None:
        """Raise if the work was abandoned: it is not worth starting."""
        if self._state is _State.ABANDONED:
            raise WorkAbandonedError

    def enter_commit(self) -> None:
        """Called before each commit: raise if abandoned, else make abandoning impossible."""
        with self._lock:
            self.check()
            self._state = _State.COMMITTING


current_gate: ContextVar[CommitGate | None] = ContextVar("commit_gate", default=None)


def before_commit(_connection: object) -> None:
    """The engine's `commit` listener: the current work's gate, if any, must let it through."""
    gate = current_gate.get()
    if gate is not None:
        gate.enter_commit()


def before_work() -> None:
    """Raise if the current work was abandoned while it waited for a database thread."""
    gate = current_gate.get()
    if gate is not None:
        gate.check()
