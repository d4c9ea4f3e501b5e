"""The sweep engine: every probe on its own schedule over one ICMP socket and one HTTP pool.

Checks are launched from one scheduler loop (a heap of due instants). ICMP requests cost no task
each: the shared pinger hands back the outcomes of each socket read (or timer) as one batch. TCP
and HTTP checks run as tasks behind a semaphore (`concurrency`). Each result is folded into the
probe's state in memory; only state changes (transitions, and streaks that are not settled) are
written, by one writer, in the same transaction as the outages they open or close.
"""

import asyncio
import heapq
import ipaddress
import logging
import socket
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.config.catalog import HttpProbe, IcmpProbe, ServerSpec, TcpProbe
from bot.probes.errors import english, probe_error
from bot.probes.http import HttpProber
from bot.probes.icmp import IcmpPinger, IcmpUnavailableError, Outcome
from bot.probes.lookup import AddressInfo, HostLookup, is_address
from bot.probes.result import NO_DETAILS, ProbeResult, ProbeSpec, probe_key
from bot.probes.rollup import Bucket, HourlyRollups, Rollup
from bot.probes.state import (
    CertificateExpiring,
    OutageClosed,
    OutageOpened,
    ProbeEvent,
    StreakState,
    Transition,
    advance,
    certificate_notice,
    lengthen,
    needs_write,
    next_check_at,
    outage_change,
    settled_outcome,
)
from bot.probes.tcp import probe_tcp
from bot.storage.database import transaction
from bot.storage.models import ProbeStatus
from bot.storage.probes import (
    add_outage,
    close_outage,
    list_open_outages,
    list_probe_states,
    save_probe_states,
    save_rollups,
)
from bot.storage.threads import in_database_thread

log = logging.getLogger(__name__)

EventHandler = Callable[[ProbeEvent], Awaitable[None]]
TransactionHook = Callable[[Session, ProbeEvent], None]
ResultSink = Callable[[ProbeResult], None]

LAUNCH_BATCH = 256  # checks launched before yielding, so replies are read while we send
MAX_SLEEP = timedelta(seconds=1)  # the loop also rolls hours and flushes counters
WRITE_BATCH_WINDOW_S = 0.05  # results arriving together are written in one transaction
RESOLVE_TTL_S = 300.0
HOUR = timedelta(hours=1)
CERTIFICATE_RETELL = timedelta(hours=1)  # an expiring certificate handed to the alerts again


@dataclass(slots=True, eq=False)
class _Probe:
    key: str
    server_id: str
    host: str
    spec: ProbeSpec
    address: str | None  # IPv4 literal for ICMP; None when `host` needs resolving
    state: StreakState  # set with set_state()
    timeout_s: float
    icmp: bool
    bucket: Bucket  # this hour's rollup counters
    saved: StreakState | None = None  # the state last written to the database
    # Most results only lengthen a settled streak (the 500th success while UP): those are
    # counted here instead of building a new state each; `current()` folds them in.
    settled_outcome: bool | None = None  # state.settled_outcome(state)
    lengthened: int = 0
    lengthened_at: datetime | None = None
    lengthened_error: str | None = None
    # The check in flight (a probe has at most one): when it started, who waits for it.
    at: datetime | None = None
    done: "ResultSink | None" = None

    def set_state(self, state: StreakState) -> None:
        """Replace the state (and forget results counted in place: `state` includes them)."""
        self.state, self.lengthened = state, 0
        self.settled_outcome = settled_outcome(state)

    def current(self) -> StreakState:
        """The probe's state, lengthened by the results counted in place."""
        if self.lengthened:
            assert self.lengthened_at is not None
            self.state = lengthen(
                self.state, self.lengthened, self.lengthened_at, self.lengthened_error
            )
            self.lengthened = 0
        return self.state


class ProbeEngine:
    """Checks every probe of `servers`, keeps up/down state, opens and closes outages."""

    def __init__(
        self,
        servers: Sequence[ServerSpec],
        sessions: sessionmaker[Session],
        clock: Callable[[], datetime],
        *,
        concurrency: int = 100,
        icmp_in_flight: int = 16384,
        on_event: EventHandler | None = None,
        in_transaction: TransactionHook | None = None,
        http_ssl: ssl.SSLContext | bool = True,
        http_reuse: bool = False,
        flush_every: timedelta = timedelta(minutes=5),
        getaddrinfo: Callable[..., AddressInfo] = socket.getaddrinfo,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._concurrency = concurrency
        self._on_event = on_event
        self._in_transaction = in_transaction
        self._http_ssl = http_ssl
        self._http_reuse = http_reuse
        self._flush_every = flush_every
        self._rollups = HourlyRollups(clock())
        self._hour_end = self._rollups.hour + HOUR
        self._probes: dict[str, _Probe] = {}
        self._by_server: dict[str, list[_Probe]] = {}
        for server in servers:
            for spec in server.probes:
                key = probe_key(server, spec)
                if key in self._probes:
                    raise ValueError(f"two probes have the same key {key!r}")
                probe = _Probe(
                    key,
                    server.id,
                    server.host,
                    spec,
                    _ipv4(server.host),
                    StreakState(key),
                    spec.timeout.total_seconds(),
                    isinstance(spec, IcmpProbe),
                    self._rollups.bucket(key),
                )
                self._probes[key] = probe
                self._by_server.setdefault(server.id, []).append(probe)
        self._slots = asyncio.Semaphore(concurrency)
        self._icmp_limit = icmp_in_flight
        self._icmp_in_flight = 0
        self._icmp_room = asyncio.Event()  # set when an ICMP request completes at the limit
        self._pinger: IcmpPinger[_Probe] | None = None
        self._icmp_error = probe_error("probe.error.icmp_not_started")
        # IPv6 targets have a socket of their own, opened at the first one (most fleets have
        # none); the reason it could not be, once tried.
        self._pinger6: IcmpPinger[_Probe] | None = None
        self._icmp6_error: str | None = None
        self._http: HttpProber | None = None
        self._dirty: dict[str, _Probe] = {}
        self._events: list[ProbeEvent] = []
        self._rollup_rows: list[Rollup] = []
        self._heap: list[tuple[float, int, str]] = []
        self._pushed = 0
        self._sleep_until = float("inf")
        self._tasks: set[asyncio.Task[None]] = set()
        # ICMP: host -> (its addresses of one family, expiry)
        self._resolved: dict[str, tuple[tuple[str, ...], float]] = {}
        # Host names are looked up on threads of the probes' own, enough for every probe that
        # names its host: a name whose DNS does not answer queues no other (`lookup.py`).
        self._lookups = sum(_looks_up(probe) for probe in self._probes.values())
        self._lookup: HostLookup | None = None
        self._getaddrinfo = getaddrinfo  # the resolver behind it (a test's names)
        self._write_lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._writer_wake = asyncio.Event()
        self._started = False
        self._running = False
        self._closing = False
        # Servers whose open outage has no DOWN probe in the catalog (the failing probe was
        # removed or changed): their probes are confirmed again, and the outage ends on them.
        self._unbacked: set[str] = set()
        # (probe key, certificate's notAfter, notice) -> when last handed to the alerts: again
        # an hour later (a silenced server gets it when its silence is over) and after a
        # restart; the alerts' outbox keys post each one once.
        self._certificate_notices: dict[tuple[str, datetime, int], datetime] = {}

    @property
    def keys(self) -> list[str]:
        """Every probe key, in catalog order."""
        return list(self._probes)

    @property
    def icmp_mode(self) -> str:
        """`raw`, `unprivileged` (datagram socket) or `unavailable` once started."""
        if self._pinger is None:
            return "unavailable"
        return "raw" if self._pinger.privileged else "unprivileged"

    def state(self, key: str) -> StreakState:
        """The in-memory state of one probe."""
        return self._probes[key].current()

    @property
    def running(self) -> bool:
        """Whether `run()` is checking probes (its start done, its stop not begun)."""
        return self._running

    async def __aenter__(self) -> "ProbeEngine":
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Load persisted states, open the ICMP socket and the HTTP pool."""
        if self._started:
            return
        states, open_outages = await in_database_thread(self._load)
        if self._events or self._dirty:
            # Left by a run that stopped with the database away (a leader stepping down): the
            # states just read replace those, so their transitions and outages are void. Kept,
            # they would open an outage for a server found up since, and it would stay open.
            log.warning(
                "dropping %d probe events and %d states the last run could not write; "
                "the probes confirm their servers' status again",
                len(self._events),
                len(self._dirty),
            )
            for key in self._dirty.keys() - states.keys():  # never written: from the start
                self._probes[key].set_state(StreakState(key))
            self._events.clear()
            self._dirty.clear()
        for key, state in states.items():
            probe = self._probes[key]
            probe.set_state(state)
            probe.saved = state
        self._warn_inconsistent_outages(open_outages)
        self._roll(self._clock())  # nothing counted yet: this only starts the current hour
        specs = [probe.spec for probe in self._probes.values()]
        if any(isinstance(spec, IcmpProbe) for spec in specs):
            try:
                self._pinger = await IcmpPinger.open(self._on_pings)
            except IcmpUnavailableError as exc:
                self._icmp_error = probe_error("probe.error.icmp_unavailable", reason=str(exc))
                log.error("every icmp probe will fail: %s", english(self._icmp_error))
            else:
                if not self._pinger.privileged:
                    log.warning("no raw ICMP socket (not root?): using the unprivileged one")
        self._lookup = HostLookup(self._lookups, getaddrinfo=self._getaddrinfo)
        if any(isinstance(spec, HttpProbe) for spec in specs):
            self._http = HttpProber(
                limit=self._concurrency,
                ssl_context=self._http_ssl,
                reuse=self._http_reuse,
                lookup=self._lookup,
            )
        self._closing = False
        self._started = True

    async def close(self) -> None:
        """Stop in-flight checks, write the partial hour's rollups and every counter, close."""
        if not self._started:
            return
        self._closing = True  # results cut short by the shutdown are not probe failures
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._pinger is not None:
            self._pinger.close()
            self._pinger = None
        if self._pinger6 is not None:
            self._pinger6.close()
            self._pinger6 = None
        self._icmp6_error = None
        self._rollup_rows.extend(self._rollups.roll(self._clock()))
        self._mark_counters_dirty()
        await self.flush()
        if self._http is not None:
            await self._http.close()
            self._http = None
        if self._lookup is not None:
            self._lookup.close()
            self._lookup = None
        self._started = False

    async def check_once(self, key: str) -> ProbeResult:
        """Check one probe now, fold the result into its state and persist what changed."""
        await self.start()
        future: asyncio.Future[ProbeResult] = asyncio.get_running_loop().create_future()
        await self._launch(self._probes[key], self._clock(), future.set_result)
        result = await future
        await self.flush()
        return result

    async def sweep(self, keys: Sequence[str] | None = None) -> list[ProbeResult]:
        """Check every probe (or `keys`) once, concurrently, and persist what changed."""
        await self.start()
        probes = self._probes
        wanted = list(probes.values()) if keys is None else [probes[key] for key in keys]
        results: list[ProbeResult] = []
        finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def collect(result: ProbeResult) -> None:
            results.append(result)
            if len(results) == len(wanted) and not finished.done():
                finished.set_result(None)

        at = self._clock()
        for index, probe in enumerate(wanted):
            if not self._launch_now(probe, at, collect):
                await self._launch(probe, at, collect)
            if index % LAUNCH_BATCH == LAUNCH_BATCH - 1:
                await asyncio.sleep(0)
                at = self._clock()
        if wanted:
            await finished
        await self.flush()
        return results

    async def run(self, stop: asyncio.Event) -> None:
        """Check every probe on its schedule until `stop` is set, then close."""
        await self.start()
        self._running = True
        now = self._clock()
        for probe in self._probes.values():
            self._schedule(probe, now)
        writer = asyncio.create_task(self._write_continuously())
        relay = asyncio.create_task(_set_when(stop, self._wake))
        next_flush = now + self._flush_every
        try:
            while not stop.is_set():
                now = self._clock()
                await self._launch_due(now)
                if now >= self._hour_end:
                    self._roll(now)
                if now >= next_flush:
                    self._mark_counters_dirty()
                    next_flush = now + self._flush_every
                await self._sleep(now)
        finally:
            self._running = False
            relay.cancel()
            writer.cancel()
            await asyncio.gather(relay, writer, return_exceptions=True)
            self._heap.clear()
            await self.close()

    async def flush(self) -> bool:
        """Write pending states, outage events and rollups in one transaction; False on failure."""
        async with self._write_lock:
            dirty, self._dirty = self._dirty, {}
            events, self._events = self._events, []
            rows, self._rollup_rows = self._rollup_rows, []
            if not (dirty or events or rows):
                return True
            states = [(probe, probe.current()) for probe in dirty.values()]
            try:
                written = await in_database_thread(self._write, states, events, rows)
            except SQLAlchemyError:
                log.exception(
                    "cannot persist %d probe states, %d events, %d rollups; will retry",
                    len(states),
                    len(events),
                    len(rows),
                )
                for key, probe in dirty.items():
                    self._dirty.setdefault(key, probe)
                self._events[:0] = events
                self._rollup_rows[:0] = rows
                return False
            for probe, state in states:
                probe.saved = state
        for event in written:
            await self._emit(event)
        return True

    # -- scheduling and launching ------------------------------------------------------------

    def _schedule(self, probe: _Probe, due: datetime) -> None:
        due_ts = due.timestamp()
        self._pushed += 1
        heapq.heappush(self._heap, (due_ts, self._pushed, probe.key))
        if due_ts < self._sleep_until:
            self._wake.set()

    async def _launch_due(self, now: datetime) -> None:
        now_ts, heap, launched = now.timestamp(), self._heap, 0
        while heap and heap[0][0] <= now_ts:
            _due, _number, key = heapq.heappop(heap)
            probe = self._probes[key]
            if not self._launch_now(probe, now, None):
                await self._launch(probe, now, None)
            launched += 1
            if launched % LAUNCH_BATCH == 0:
                await asyncio.sleep(0)

    async def _sleep(self, now: datetime) -> None:
        delay = MAX_SLEEP.total_seconds()
        if self._heap:
            delay = min(delay, self._heap[0][0] - now.timestamp())
        if delay <= 0:
            return
        self._sleep_until = now.timestamp() + delay
        self._wake.clear()
        try:
            await asyncio.wait_for(self._wake.wait(), delay)
        except TimeoutError:
            pass  # the usual way to wake up
        finally:
            self._sleep_until = float("inf")

    async def _launch(self, probe: _Probe, at: datetime, done: ResultSink | None) -> None:
        while not self._launch_now(probe, at, done):
            self._icmp_room.clear()
            await self._icmp_room.wait()
            at = self._clock()

    def _launch_now(self, probe: _Probe, at: datetime, done: ResultSink | None) -> bool:
        """Start the check; False when ICMP is at its in-flight limit (nothing was started)."""
        pinger = self._pinger
        if probe.icmp and pinger is not None and probe.address is not None:
            if self._icmp_in_flight >= self._icmp_limit:
                return False
            self._icmp_in_flight += 1
            probe.at, probe.done = at, done
            pinger.ping(probe.address, probe.timeout_s, probe)
        elif not probe.icmp:
            self._spawn(self._check(probe, done))
        elif pinger is None:
            result = ProbeResult(probe.key, False, at, error=self._icmp_error)
            self._complete(probe, result, done, self._clock())
        else:
            self._spawn(self._resolve_and_ping(probe, at, done))
        return True

    def _ping(
        self,
        pinger: IcmpPinger[_Probe],
        probe: _Probe,
        addresses: tuple[str, ...],
        at: datetime,
        done: ResultSink | None,
    ) -> None:
        """Ping a name's addresses: its attempts go to each in turn (`IcmpPinger.ping`)."""
        self._icmp_in_flight += 1
        probe.at, probe.done = at, done
        pinger.ping(addresses[0], probe.timeout_s, probe, addresses[1:])

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_pings(self, outcomes: list[Outcome[_Probe]]) -> None:
        """Fold the ICMP outcomes of one socket read (or one timer), with one clock reading."""
        self._icmp_in_flight -= len(outcomes)
        if self._icmp_in_flight < self._icmp_limit:
            self._icmp_room.set()
        now = self._clock()
        for probe, rtt, error in outcomes:
            at, done, probe.at, probe.done = probe.at, probe.done, None, None
            if self._closing or at is None:
                continue
            if rtt is None:
                result = ProbeResult(probe.key, False, at, None, error, NO_DETAILS)
            else:
                result = ProbeResult(probe.key, True, at, timedelta(0, rtt), None, NO_DETAILS)
            self._complete(probe, result, done, now)

    async def _resolve_and_ping(self, probe: _Probe, at: datetime, done: ResultSink | None) -> None:
        try:
            # The resolver's own retries take 10 s and more when DNS does not answer: the
            # probe's timeout bounds the check, as for TCP and HTTP.
            async with asyncio.timeout(probe.timeout_s):
                addresses = await self._resolve(probe.host)
        except TimeoutError:  # an OSError too: first
            error = probe_error(
                "probe.error.resolve_timeout", host=probe.host, seconds=probe.timeout_s
            )
            self._complete(
                probe, ProbeResult(probe.key, False, at, error=error), done, self._clock()
            )
            return
        except NoAddressError:
            error = probe_error("probe.error.no_address", host=probe.host)
            self._complete(
                probe, ProbeResult(probe.key, False, at, error=error), done, self._clock()
            )
            return
        except OSError as exc:
            reason = exc.strerror or str(exc)
            error = probe_error("probe.error.resolve", host=probe.host, reason=reason)
            self._complete(
                probe, ProbeResult(probe.key, False, at, error=error), done, self._clock()
            )
            return
        pinger = self._pinger
        if ":" in addresses[0]:  # IPv6
            pinger = await self._open_icmp6()
            if pinger is None:
                error = self._icmp6_error or probe_error("probe.error.icmp_closing")
                result = ProbeResult(probe.key, False, at, error=error)
                self._complete(probe, result, done, self._clock())
                return
        while self._icmp_in_flight >= self._icmp_limit:
            self._icmp_room.clear()
            await self._icmp_room.wait()
        if pinger is not None and not self._closing:  # else closed while resolving
            self._ping(pinger, probe, addresses, at, done)

    async def _open_icmp6(self) -> IcmpPinger[_Probe] | None:
        """The IPv6 pinger, opened at the first IPv6 target; None if it cannot be."""
        if self._pinger6 is None and self._icmp6_error is None and not self._closing:
            try:
                self._pinger6 = await IcmpPinger.open(self._on_pings, ipv6=True)
            except IcmpUnavailableError as exc:
                self._icmp6_error = probe_error("probe.error.icmp6_unavailable", reason=str(exc))
                log.error("every IPv6 icmp probe will fail: %s", english(self._icmp6_error))
        return self._pinger6

    async def _resolve(self, host: str) -> tuple[str, ...]:
        """The addresses of `host` (cached), in the resolver's order: its IPv4 ones, else its
        IPv6 ones, written as `ipaddress` does (as the socket reports its replies' source), or
        an address literal so written; raise OSError.

        One family, since a check's attempts go over one socket (`IcmpPinger.ping`). IPv4 when
        the name has any, as before; a name with IPv6 addresses only (no A record) was looked
        up for IPv4 alone and failed every check with `cannot resolve`, while it answered."""
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            pass  # a name, not an address literal
        else:
            return (str(literal),)
        loop = asyncio.get_running_loop()
        cached = self._resolved.get(host)
        if cached is not None and cached[1] > loop.time():
            return cached[0]
        assert self._lookup is not None  # started
        infos = await self._lookup.getaddrinfo(host, None, type=socket.SOCK_RAW)
        addresses = _one_family(infos)
        self._resolved[host] = (addresses, loop.time() + RESOLVE_TTL_S)
        return addresses

    async def _check(self, probe: _Probe, done: ResultSink | None) -> None:
        async with self._slots:
            at = self._clock()
            spec = probe.spec
            try:
                if isinstance(spec, TcpProbe):
                    timeout_s = spec.timeout.total_seconds()
                    result = await probe_tcp(
                        probe.key,
                        probe.host,
                        spec.port,
                        timeout_s=timeout_s,
                        at=at,
                        lookup=self._lookup,
                    )
                else:
                    assert isinstance(spec, HttpProbe)
                    assert self._http is not None
                    result = await self._http.check(probe.key, spec, at=at)
            except Exception as exc:  # a bug in a checker must not stop the probe's schedule
                log.exception("%s: the check itself failed", probe.key)
                error = probe_error("probe.error.crashed", error=repr(exc))
                result = ProbeResult(probe.key, False, at, error=error)
        self._complete(probe, result, done, self._clock())

    # -- folding results ---------------------------------------------------------------------

    def _complete(
        self, probe: _Probe, result: ProbeResult, done: ResultSink | None, now: datetime
    ) -> None:
        """Fold `result`, known at `now`, schedule the next check and hand the result over."""
        if result.at >= self._hour_end:
            self._roll(result.at)
        latency = result.latency
        probe.bucket.add(result.ok, None if latency is None else latency.total_seconds() * 1000)
        if result.ok is probe.settled_outcome:  # most results: nothing changes but counts
            probe.lengthened += 1
            probe.lengthened_at, probe.lengthened_error = result.at, result.error
        else:
            self._change(probe, result, now)
        if result.details.get("cert_expires_soon"):
            self._certificate_expiring(probe, result)
        if self._running:
            self._schedule(probe, next_check_at(probe.state, result, probe.spec))
        if done is not None:
            done(result)

    def _certificate_expiring(self, probe: _Probe, result: ProbeResult) -> None:
        """Hand the alerts each notice of an HTTPS certificate nearing its expiry, once."""
        spec = probe.spec
        assert isinstance(spec, HttpProbe)
        expires_at = datetime.fromisoformat(result.details["cert_expires_at"])
        notice = certificate_notice(expires_at - result.at, spec.cert_expiry_warning)
        handed = self._certificate_notices.get((probe.key, expires_at, notice))
        if handed is not None and result.at - handed < CERTIFICATE_RETELL:
            return
        self._certificate_notices[(probe.key, expires_at, notice)] = result.at
        expiring = CertificateExpiring(
            probe.key, probe.server_id, spec.url, expires_at, notice, spec.verify_tls
        )
        self._events.append(expiring)
        self._writer_wake.set()

    def _change(self, probe: _Probe, result: ProbeResult, now: datetime) -> None:
        """Fold a result that changes the state: maybe a transition, a write, an outage."""
        before = probe.current()
        after, transition = advance(before, result, probe.spec, now=now)
        probe.set_state(after)
        if needs_write(before, after):
            self._dirty[probe.key] = probe
            self._writer_wake.set()
        if transition is not None:
            self._events.extend(self._consequences(probe, before, transition))

    def _consequences(
        self, probe: _Probe, before: StreakState, transition: Transition
    ) -> list[ProbeEvent]:
        siblings = self._by_server[probe.server_id]
        statuses_after = [p.state.status for p in siblings]
        statuses_before = [before.status if p is probe else p.state.status for p in siblings]
        if probe.server_id in self._unbacked:
            statuses_before.append(ProbeStatus.DOWN)  # its open outage, whichever probe failed
            if ProbeStatus.DOWN in statuses_after or ProbeStatus.UP in statuses_after:
                self._unbacked.discard(probe.server_id)
        others = [p.state for p in siblings if p is not probe]
        change = outage_change(probe.server_id, statuses_before, statuses_after, transition, others)
        return [transition] if change is None else [transition, change]

    def _roll(self, at: datetime) -> None:
        self._rollup_rows.extend(self._rollups.roll(at))
        self._hour_end = self._rollups.hour + HOUR
        self._writer_wake.set()

    def _mark_counters_dirty(self) -> None:
        for probe in self._probes.values():
            if probe.lengthened or probe.state is not probe.saved:
                self._dirty[probe.key] = probe
        self._writer_wake.set()

    # -- persistence -------------------------------------------------------------------------

    def _load(self) -> tuple[dict[str, StreakState], set[str]]:
        with transaction(self._sessions) as session:
            # All rows, filtered here: an IN list of every key would hit SQLite's variable limit.
            states = {k: v for k, v in list_probe_states(session).items() if k in self._probes}
            open_outages = {outage.server_id for outage in list_open_outages(session)}
        return states, open_outages

    def _warn_inconsistent_outages(self, open_outages: set[str]) -> None:
        for server_id, probes in self._by_server.items():
            down = any(p.state.status is ProbeStatus.DOWN for p in probes)
            if down and server_id not in open_outages:
                log.warning("%s has a DOWN probe but no open outage", server_id)
            elif server_id in open_outages and not down:
                log.warning(
                    "%s has an open outage but no DOWN probe: confirming its probes again",
                    server_id,
                )
                # Forget their status (not their streaks' history in the database): the next
                # confirmed streak is a transition, which ends or continues the outage.
                for probe in probes:
                    probe.set_state(StreakState(probe.key))
                self._unbacked.add(server_id)

    def _write(
        self,
        states: list[tuple[_Probe, StreakState]],
        events: list[ProbeEvent],
        rows: list[Rollup],
    ) -> list[ProbeEvent]:
        written: list[ProbeEvent] = []
        with transaction(self._sessions) as session:
            save_probe_states(session, [(probe.server_id, state) for probe, state in states])
            for event in events:
                if isinstance(event, OutageOpened):
                    opened = add_outage(
                        session,
                        event.server_id,
                        started_at=event.started_at,
                        confirmed_at=event.confirmed_at,
                    )
                    event = replace(event, outage_id=opened.id)
                elif isinstance(event, OutageClosed):
                    closed = close_outage(session, event.server_id, ended_at=event.ended_at)
                    if closed is None:
                        log.warning("%s: no open outage to close", event.server_id)
                    else:
                        event = replace(event, outage_id=closed.id)
                if self._in_transaction is not None:
                    self._in_transaction(session, event)
                written.append(event)
            save_rollups(session, rows)
        return written

    async def _write_continuously(self) -> None:
        backoff = 1.0
        while True:
            await self._writer_wake.wait()
            await asyncio.sleep(WRITE_BATCH_WINDOW_S)
            self._writer_wake.clear()
            if await self.flush():
                backoff = 1.0
                continue
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 30.0)
            self._writer_wake.set()

    async def _emit(self, event: ProbeEvent) -> None:
        if self._on_event is None:
            return
        try:
            await self._on_event(event)
        except Exception:  # the engine must keep probing whatever the alerting does
            log.exception("on_event failed for %r", event)


async def _set_when(stop: asyncio.Event, wake: asyncio.Event) -> None:
    await stop.wait()
    wake.set()


def _looks_up(probe: _Probe) -> bool:
    """Whether checking `probe` looks a host name up (not for an address literal)."""
    if isinstance(probe.spec, HttpProbe):
        return not is_address(urlsplit(probe.spec.url).hostname or "")
    return not is_address(probe.host)


class NoAddressError(OSError):
    """A name the resolver knows, with neither an IPv4 nor an IPv6 address."""


def _one_family(infos: AddressInfo) -> tuple[str, ...]:
    """The IPv4 addresses of a lookup, else its IPv6 ones; each once, in the resolver's order
    (written by `inet_ntop`, as the socket reports its replies' source)."""
    for family in (socket.AF_INET, socket.AF_INET6):
        addresses = [str(info[4][0]) for info in infos if info[0] == family]
        if addresses:
            return tuple(dict.fromkeys(addresses))
    raise NoAddressError("no IPv4 or IPv6 address")


def _ipv4(host: str) -> str | None:
    try:
        return str(ipaddress.IPv4Address(host))
    except ValueError:
        return None
