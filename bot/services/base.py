"""What every use case holds: the database, the catalog, the language, the clock, the sender."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.config import Catalog
from bot.messages import Messages


class Service:
    """Base of the services; `wake` is called after each commit that may have queued messages."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        catalog: Catalog,
        messages: Messages,
        *,
        clock: Callable[[], datetime],
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        self._sessions = sessions
        self.catalog = catalog
        self._messages = messages
        self._clock = clock
        self._wake = wake
        self._zone = catalog.zone

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        """One unit of work; the outbox sender is woken once it is committed."""
        with self._sessions.begin() as session:
            yield session
        self._wake()
