"""Leadership: of all the instances sharing a database, exactly one runs the timers.

Every instance campaigns for the `scheduler` lease every `renew_every`; the holder renews it, the
others find it held and stay followers. The lease lasts `ttl`, so when the leader dies another
instance takes over within `ttl + renew_every` (15 s + 5 s by default, under the 30 s promise).
A leader that cannot renew (database unreachable, renewal slower than the lease) steps down at
once, before its lease can have expired, so two leaders never overlap by design; the outbox keys
make even an overlap harmless (a message is queued once), and its claims let one sender send it
(a leader paused with calls in flight finishes them, or gives them up, before its successor may
send the same messages: see bot/outbox/sender.py).

The lease is judged with `clock`, the real wall clock shared by the processes (clocks of hosts
must agree within a few seconds), never the domain clock tests move.

The lease's holder is the instance id and a token of the process (`bot-a#1f2e3d4c`): a process
restarted under its instance id takes the lease of its earlier self back at once, at its first
campaign, but two live processes of one id are still told apart. The earlier one, alive after
all (an orphan worker, a copy started by mistake), fails its next renewal and steps down; it
never takes the lease back, nor releases its successor's.
"""

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.storage.database import reading
from bot.storage.leases import get_lease, mark_lease_held, mark_lease_released

logger = logging.getLogger(__name__)

SCHEDULER_LEASE = "scheduler"
LEASE_TTL = timedelta(seconds=15)
RENEW_EVERY = timedelta(seconds=5)

Duty = Callable[[], Awaitable[None]]


class Leadership:
    """Campaigns for the lease; calls `lead()` on winning it and `follow()` on losing it."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        instance: str,
        *,
        clock: Callable[[], datetime],
        lead: Duty,
        follow: Duty,
        name: str = SCHEDULER_LEASE,
        ttl: timedelta = LEASE_TTL,
        renew_every: timedelta = RENEW_EVERY,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if renew_every * 2 >= ttl:
            raise ValueError("renew_every must be well under half the lease ttl")
        self._sessions = sessions
        self.instance = instance
        self._clock = clock
        self._lead, self._follow = lead, follow
        self.name, self.ttl, self.renew_every = name, ttl, renew_every
        self._monotonic = monotonic
        self._holder = f"{instance}#{secrets.token_hex(4)}"  # this process's, in the lease
        self._succeeding = True  # until a campaign answers: may take the lease of our id
        self.is_leader = False
        self._held_until = 0.0  # monotonic instant our lease surely still lasts
        # Its own thread: a renewal never queues behind the commands on the database threads,
        # so a burst of them cannot make the leader miss its lease.
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="leadership")

    def campaign(self) -> bool:
        """Take or renew the lease (blocking I/O); True if this instance holds it now."""
        with self._sessions.begin() as session:
            return mark_lease_held(
                session,
                self.name,
                holder=self._holder,
                now=self._clock(),
                ttl=self.ttl,
                succeeds=self.instance if self._succeeding else None,
            )

    def resign(self) -> None:
        """Give the lease up (blocking I/O), so another instance takes over without waiting."""
        with self._sessions.begin() as session:
            mark_lease_released(session, self.name, holder=self._holder)

    def current_leader(self) -> str | None:
        """The instance holding an unexpired lease, if any (blocking I/O)."""
        with reading(self._sessions) as session:
            lease = get_lease(session, self.name)
            if lease is None or lease.expires_at < self._clock():
                return None
            return lease.holder.rsplit("#", 1)[0]  # the instance, without its process token

    async def step(self) -> bool:
        """One campaign round; start or stop the leader's duties when the outcome changed."""
        started = self._monotonic()
        try:
            won = await asyncio.wait_for(
                asyncio.get_running_loop().run_in_executor(self._thread, self.campaign),
                timeout=self.renew_every.total_seconds(),
            )
            self._succeeding = False  # answered: from now on, only our own lease is ours
        except Exception as error:  # any failure to renew means stepping down at once
            if self.is_leader:
                logger.error("leadership: could not renew the lease (%r); stepping down", error)
            else:
                logger.warning("leadership: campaign failed: %r", error)
            won = False
        if won:
            # Counted from before the call: the lease was written no earlier than that.
            self._held_until = started + self.ttl.total_seconds()
        if won and not self.is_leader:
            logger.info(
                "leadership: %s now leads (runs the scheduler and the outbox)", self.instance
            )
            self.is_leader = True
            await self._lead()
        elif not won and self.is_leader:
            logger.warning("leadership: %s no longer leads", self.instance)
            self.is_leader = False
            await self._follow()
        return won

    async def run(self, stop: asyncio.Event) -> None:
        """Campaign every `renew_every` until `stop`; then step down and give the lease up."""
        while not stop.is_set():
            await self.step()
            wait = self.renew_every.total_seconds()
            if self.is_leader:
                # Never sleep past the lease's end: renew with a margin left.
                margin = self._held_until - self._monotonic() - self.renew_every.total_seconds()
                wait = max(0.0, min(wait, margin))
            with contextlib.suppress(TimeoutError):  # the renewal period elapsed: go on
                await asyncio.wait_for(stop.wait(), timeout=wait)
        await self.step_down()

    async def step_down(self) -> None:
        """Stop the leader's duties when leading, and give the lease up in any case: a campaign
        that timed out may still have taken it (a release by another holder changes nothing)."""
        if self.is_leader:
            self.is_leader = False
            await self._follow()
        try:
            await asyncio.wait_for(
                asyncio.get_running_loop().run_in_executor(self._thread, self.resign),
                timeout=self.renew_every.total_seconds(),
            )
        except Exception:
            logger.exception("leadership: could not release the lease; it expires by itself")

    def close(self) -> None:
        """Let the campaign thread go (after the last step or step_down)."""
        self._thread.shutdown(wait=False, cancel_futures=True)
