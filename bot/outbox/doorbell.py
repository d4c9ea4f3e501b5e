"""The outbox's doorbell: an instance that does not lead wakes the leader's sender at once.

Only the leader runs the outbox sender. A command answered by another instance (another
worker, another host) queues its messages in the database, where the leader's sender finds them
at its next poll, up to `SenderConfig.poll_interval` later. The doorbell removes that wait: after
each commit, an instance that does not lead rings it, and the leader, which answers it while it
leads, wakes its sender. A ring is a hint, never the message itself: one that is lost (no leader
yet, a leader changing, a database restarting) leaves the message to the poll, as before.

- **PostgreSQL**: `NOTIFY supportbot_outbox` / `LISTEN supportbot_outbox`, for instances on any
  host sharing the database. Each side has its own connection and thread, so a ring never waits
  on the database in a command's path, and the listener never holds a pooled connection.
- **SQLite** (one host: workers, or instances sharing the file): a Unix datagram socket in
  Linux's abstract namespace, named after the database file. The leader binds it, so the name
  goes with the process that holds it: a killed leader leaves nothing behind. Elsewhere than
  Linux, and for an in-memory database, there is no doorbell: the poll alone delivers.
"""

import asyncio
import contextlib
import hashlib
import logging
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Engine

logger = logging.getLogger(__name__)

CHANNEL = "supportbot_outbox"  # the PostgreSQL notification channel
RETRY_SECONDS = 1.0  # before binding or connecting again (connecting: doubled while failing)
MAX_RETRY_SECONDS = 30.0
LIVENESS_SECONDS = 30.0  # a listener with nothing to hear checks its connection this often
KEEPALIVES = {  # libpq: give up connecting after 5 s; find a dead peer within about a minute
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
}


class Doorbell(Protocol):
    def ring(self) -> None:
        """Tell the leader there may be something to send; never blocks, never raises."""

    async def answer(self, wake: Callable[[], None], stop: asyncio.Event) -> None:
        """Call `wake` at each ring until `stop` is set (while this instance leads)."""

    def close(self) -> None:
        """Release what `ring` holds."""


def doorbell_for(engine: Engine) -> Doorbell:
    """The doorbell of the instances sharing `engine`'s database."""
    url = engine.url
    if url.get_backend_name() == "postgresql":
        return PostgresDoorbell(engine)
    database = url.database or ""
    if sys.platform != "linux" or database in ("", ":memory:") or database.startswith("file:"):
        return NoDoorbell()
    digest = hashlib.sha256(str(Path(database).resolve()).encode()).hexdigest()[:32]
    return UnixDoorbell(f"\0supportbot-outbox-{digest}")


class NoDoorbell:
    """One instance alone (or no way to reach the others): the sender's poll delivers."""

    def ring(self) -> None:
        pass

    async def answer(self, wake: Callable[[], None], stop: asyncio.Event) -> None:
        await stop.wait()

    def close(self) -> None:
        pass


class UnixDoorbell:
    """A datagram socket named `address` (abstract namespace), bound by the leader."""

    def __init__(self, address: str) -> None:
        self.address = address
        self._ringer: socket.socket | None = None
        self._lock = threading.Lock()  # rings come from the database threads

    def ring(self) -> None:
        with self._lock:
            try:
                if self._ringer is None:
                    self._ringer = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                    self._ringer.setblocking(False)
                self._ringer.sendto(b"!", self.address)
            except (ConnectionRefusedError, FileNotFoundError):
                logger.debug("outbox doorbell: no leader answers; the poll will deliver")
            except BlockingIOError:
                pass  # the leader's queue is full of rings it has not read: it is awake
            except OSError as error:  # a ring runs after a commit: it must not fail the command
                logger.warning("outbox doorbell: could not ring (%r); the poll will deliver", error)

    async def answer(self, wake: Callable[[], None], stop: asyncio.Event) -> None:
        listener = await self._bind(stop)
        if listener is None:
            return
        loop = asyncio.get_running_loop()

        def drain() -> None:
            with contextlib.suppress(BlockingIOError):
                while listener.recv(64):
                    pass
            wake()

        loop.add_reader(listener.fileno(), drain)
        try:
            await stop.wait()
        finally:
            loop.remove_reader(listener.fileno())
            listener.close()

    async def _bind(self, stop: asyncio.Event) -> socket.socket | None:
        """The bound socket; while the previous leader still holds the name, try again every
        RETRY_SECONDS until it lets go or `stop` is set (then None)."""
        told = False
        while not stop.is_set():
            listener = None
            try:
                listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                listener.setblocking(False)
                listener.bind(self.address)
            except OSError as error:
                if listener is not None:
                    listener.close()
                log = logger.debug if told else logger.warning  # once: a handover takes a moment
                log(
                    "outbox doorbell: cannot answer yet (%s); trying every %.0f s",
                    error,
                    RETRY_SECONDS,
                )
                told = True
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), RETRY_SECONDS)
                continue
            return listener
        return None

    def close(self) -> None:
        with self._lock:
            if self._ringer is not None:
                self._ringer.close()
                self._ringer = None


class PostgresDoorbell:
    """NOTIFY and LISTEN on `CHANNEL`, each on a connection of its own."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._rung = threading.Event()
        self._closed = threading.Event()
        self._ringer: threading.Thread | None = None
        self._lock = threading.Lock()

    def _connect(self) -> Any:
        """A psycopg connection in autocommit, outside the engine's pool (held for long), with
        KEEPALIVES: it gives up connecting after 5 s and notices a dead peer."""
        dialect = self._engine.dialect
        args, kwargs = dialect.create_connect_args(self._engine.url)
        kwargs = {**KEEPALIVES, **kwargs}  # the URL's own settings win
        return dialect.loaded_dbapi.connect(*args, **kwargs, autocommit=True)

    def ring(self) -> None:
        with self._lock:
            if self._ringer is None and not self._closed.is_set():
                ringer = threading.Thread(
                    target=self._ring_forever, name="outbox-doorbell", daemon=True
                )
                try:
                    ringer.start()
                except RuntimeError as error:  # no thread to be had: the poll delivers
                    logger.warning("outbox doorbell: cannot ring (%s)", error)
                    return
                self._ringer = ringer
        self._rung.set()

    def _ring_forever(self) -> None:
        """NOTIFY once per wake-up of this thread, however many rings came meanwhile."""
        connection = None
        delay = RETRY_SECONDS
        while True:
            self._rung.wait()
            if self._closed.is_set():
                break
            self._rung.clear()
            try:
                connection = self._notify(connection)
                delay = RETRY_SECONDS
            except Exception as error:  # the poll delivers meanwhile; this ring is tried again
                logger.warning(
                    "outbox doorbell: could not ring (%r); retrying in %.0f s", error, delay
                )
                connection = None
                self._rung.set()
                self._closed.wait(delay)
                delay = min(delay * 2, MAX_RETRY_SECONDS)
        if connection is not None:
            connection.close()

    def _notify(self, connection: Any) -> Any:
        """NOTIFY on `connection`, or on a new one if it was closed meanwhile (a server's idle
        timeout, a restart); the connection that rang."""
        if connection is not None:
            try:
                connection.execute(f"NOTIFY {CHANNEL}")
                return connection
            except Exception as error:
                logger.debug("outbox doorbell: connection lost (%r); reconnecting", error)
                with contextlib.suppress(Exception):
                    connection.close()
        connection = self._connect()
        try:
            connection.execute(f"NOTIFY {CHANNEL}")
        except Exception:
            connection.close()
            raise
        return connection

    async def answer(self, wake: Callable[[], None], stop: asyncio.Event) -> None:
        stopped = threading.Event()
        listener = threading.Thread(
            target=self._listen, args=(wake, stopped), name="outbox-listener", daemon=True
        )
        listener.start()
        try:
            await stop.wait()
        finally:
            stopped.set()
            await asyncio.to_thread(listener.join)

    def _listen(self, wake: Callable[[], None], stopped: threading.Event) -> None:
        delay = RETRY_SECONDS
        while not stopped.is_set():
            try:
                with self._connect() as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    wake()  # rings may have been missed while not listening
                    delay = RETRY_SECONDS
                    checked = time.monotonic()
                    while not stopped.is_set():
                        for _ in connection.notifies(timeout=0.5):
                            wake()
                        if time.monotonic() - checked > LIVENESS_SECONDS:
                            connection.execute("SELECT 1")  # a silent peer raises here
                            checked = time.monotonic()
            except Exception as error:  # the poll delivers meanwhile
                logger.warning(
                    "outbox doorbell: not listening (%r); retrying in %.0f s", error, delay
                )
                stopped.wait(delay)
                delay = min(delay * 2, MAX_RETRY_SECONDS)

    def close(self) -> None:
        """Let the ringer go (it closes its connection as it leaves); returns at once."""
        with self._lock:
            self._closed.set()
        self._rung.set()
