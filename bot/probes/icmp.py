"""ICMP echo for every target over ONE socket: replies are matched to requests by (id, sequence).

icmplib opens the socket (raw when privileged, the kernel's unprivileged "ping" datagram socket
otherwise) and reports permission problems. Sending and receiving bypass icmplib's per-packet
path (a getaddrinfo and two setsockopt calls per send, one awaited `sock_recv` per reply), which
costs several times the CPU of this module's: one reader callback drains every reply, and one
timer expires every request that got no answer (see docs/probes.md for the measurements).
"""

import asyncio
import errno
import heapq
import logging
import random
import socket
import struct
import time
from collections import deque
from collections.abc import Callable

from icmplib import ICMPv4Socket
from icmplib.exceptions import ICMPLibError

log = logging.getLogger(__name__)

# Called once per request: round-trip time in seconds, or None and the reason it failed.
PingCallback = Callable[[float | None, str | None], None]

ECHO_REPLY, DEST_UNREACHABLE, ECHO_REQUEST, TIME_EXCEEDED = 0, 3, 8, 11
SOL_RAW, ICMP_FILTER = 255, 1  # linux/icmp.h: drop unwanted ICMP types in the kernel
RECEIVE_BUFFER = 8 * 1024 * 1024  # a burst of 10,000 replies must fit while the loop is busy
TIMER_SLACK_S = 0.025  # timeouts fire in batches: one wake-up per 25 ms, not one per request
DRAIN_LIMIT = 4096  # replies read per readiness callback before yielding to the loop
PAYLOAD = b"supportbot-probe".ljust(56, b".")  # 64-byte packets, as ping and fping send
_HEADER = struct.Struct("!BBHHH")
_UNREACHABLE = {
    0: "network unreachable",
    1: "host unreachable",
    3: "port unreachable",
    9: "network administratively prohibited",
    10: "host administratively prohibited",
    13: "communication administratively prohibited",
}


class IcmpUnavailableError(Exception):
    """Neither a raw nor an unprivileged ICMP socket can be opened here."""


def _payload_sum(payload: bytes) -> int:
    padded = payload + b"\0" * (len(payload) % 2)
    return sum(struct.unpack(f"!{len(padded) // 2}H", padded))


_PAYLOAD_SUM = _payload_sum(PAYLOAD)


def echo_request(ident: int, sequence: int) -> bytes:
    """An ICMP echo request; the checksum adds the header words to the payload's precomputed sum."""
    total = (ECHO_REQUEST << 8) + ident + sequence + _PAYLOAD_SUM
    total = (total & 0xFFFF) + (total >> 16)
    total = (total & 0xFFFF) + (total >> 16)
    return _HEADER.pack(ECHO_REQUEST, 0, ~total & 0xFFFF, ident, sequence) + PAYLOAD


class IcmpPinger:
    """Pings many IPv4 addresses concurrently over one socket; outcomes are values."""

    def __init__(self, icmp_socket: ICMPv4Socket, *, privileged: bool) -> None:
        self._icmp_socket = icmp_socket  # keeps icmplib's wrapper (and so the socket) alive
        self._sock: socket.socket = icmp_socket.sock
        self._sock.setblocking(False)
        self.privileged = privileged
        self._ident = random.getrandbits(16) if privileged else 0
        self._sequence = random.getrandbits(16)
        self._sent = 0
        # sequence -> (send number, address, perf_counter at send, callback)
        self._pending: dict[int, tuple[int, str, float, PingCallback]] = {}
        self._deadlines: list[tuple[float, int, int]] = []  # (loop time, send number, sequence)
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = float("inf")
        self._backlog: deque[tuple[int, int, str, bytes]] = deque()
        self._loop = asyncio.get_running_loop()
        self._tune_socket()
        self._loop.add_reader(self._sock.fileno(), self._on_readable)

    @classmethod
    async def open(cls) -> "IcmpPinger":
        """Open a raw socket, or the unprivileged datagram socket; raise IcmpUnavailableError."""
        errors: list[str] = []
        for privileged in (True, False):
            try:
                return cls(ICMPv4Socket(privileged=privileged), privileged=privileged)
            except (ICMPLibError, OSError) as exc:
                kind = "raw" if privileged else "unprivileged"
                errors.append(f"{kind} socket: {exc or type(exc).__name__}")
        raise IcmpUnavailableError("; ".join(errors))

    @property
    def in_flight(self) -> int:
        """Requests sent (or queued) and not yet answered or timed out."""
        return len(self._pending)

    def _tune_socket(self) -> None:
        for option in (getattr(socket, "SO_RCVBUFFORCE", None), socket.SO_RCVBUF):
            if option is None:
                continue
            try:
                self._sock.setsockopt(socket.SOL_SOCKET, option, RECEIVE_BUFFER)
                break
            except OSError as exc:
                log.debug("cannot set the ICMP receive buffer with option %s: %s", option, exc)
        if self.privileged:
            wanted = (1 << ECHO_REPLY) | (1 << DEST_UNREACHABLE) | (1 << TIME_EXCEEDED)
            try:
                self._sock.setsockopt(SOL_RAW, ICMP_FILTER, struct.pack("I", ~wanted & 0xFFFFFFFF))
            except OSError as exc:  # not Linux: the reader filters by type instead
                log.debug("ICMP_FILTER unavailable: %s", exc)

    def ping(self, address: str, timeout_s: float, callback: PingCallback) -> None:
        """Send one echo request to an IPv4 address; `callback` runs once, from the event loop."""
        sequence = self._next_sequence()
        if sequence is None:
            self._loop.call_soon(callback, None, "too many ICMP requests in flight")
            return
        self._sent += 1
        number = self._sent
        self._pending[sequence] = (number, address, time.perf_counter(), callback)
        deadline = self._loop.time() + timeout_s
        heapq.heappush(self._deadlines, (deadline, number, sequence))
        if deadline < self._timer_at:
            self._arm(deadline)
        packet = echo_request(self._ident, sequence)
        if self._backlog or not self._try_send(sequence, address, packet):
            self._queue(number, sequence, address, packet)

    async def ping_once(self, address: str, timeout_s: float) -> tuple[float | None, str | None]:
        """Ping one address and wait for the outcome: (rtt seconds, None) or (None, error)."""
        done: asyncio.Future[tuple[float | None, str | None]] = self._loop.create_future()

        def settle(rtt: float | None, error: str | None) -> None:
            if not done.done():
                done.set_result((rtt, error))

        self.ping(address, timeout_s, settle)
        return await done

    def close(self) -> None:
        """Stop reading, fail every pending request, close the socket."""
        if self._sock.fileno() >= 0:
            self._loop.remove_reader(self._sock.fileno())
            self._loop.remove_writer(self._sock.fileno())
        if self._timer is not None:
            self._timer.cancel()
        pending, self._pending = self._pending, {}
        for _number, _address, _sent, callback in pending.values():
            callback(None, "icmp socket closed")
        self._icmp_socket.close()

    def _next_sequence(self) -> int | None:
        if len(self._pending) >= 0xFFFF:
            return None
        sequence = (self._sequence + 1) & 0xFFFF
        while sequence in self._pending:
            sequence = (sequence + 1) & 0xFFFF
        self._sequence = sequence
        return sequence

    def _try_send(self, sequence: int, address: str, packet: bytes) -> bool:
        """Send now; False when the socket cannot take the packet yet (the caller queues it)."""
        try:
            self._sock.sendto(packet, (address, 0))
        except (BlockingIOError, InterruptedError):
            return False
        except OSError as exc:
            if exc.errno == errno.ENOBUFS:
                return False
            self._fail(sequence, f"send failed: {exc.strerror or exc}")
        return True

    def _queue(self, number: int, sequence: int, address: str, packet: bytes) -> None:
        if not self._backlog:
            self._loop.add_writer(self._sock.fileno(), self._flush_backlog)
        self._backlog.append((number, sequence, address, packet))

    def _flush_backlog(self) -> None:
        while self._backlog:
            number, sequence, address, packet = self._backlog[0]
            entry = self._pending.get(sequence)
            wanted = entry is not None and entry[0] == number  # else it timed out while queued
            if wanted and not self._try_send(sequence, address, packet):
                return  # still full: wait for the next writable callback
            self._backlog.popleft()
        self._loop.remove_writer(self._sock.fileno())

    def _fail(self, sequence: int, error: str) -> None:
        entry = self._pending.pop(sequence, None)
        if entry is not None:
            self._loop.call_soon(entry[3], None, error)

    def _arm(self, deadline: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = deadline
        self._timer = self._loop.call_at(deadline + TIMER_SLACK_S, self._expire)

    def _expire(self) -> None:
        self._timer, self._timer_at = None, float("inf")
        now = self._loop.time()
        deadlines, pending = self._deadlines, self._pending
        while deadlines and deadlines[0][0] <= now:
            _deadline, number, sequence = heapq.heappop(deadlines)
            entry = pending.get(sequence)
            if entry is not None and entry[0] == number:
                del pending[sequence]
                entry[3](None, "timeout: no echo reply")
        if deadlines:
            self._arm(deadlines[0][0])

    def _on_readable(self) -> None:
        recvfrom, pending = self._sock.recvfrom, self._pending
        unpack_from = _HEADER.unpack_from
        raw, ident = self.privileged, self._ident
        for _ in range(DRAIN_LIMIT):
            try:
                data, source = recvfrom(2048)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.warning("icmp receive failed: %s", exc)
                return
            now = time.perf_counter()
            offset = (data[0] & 0x0F) * 4 if raw else 0
            if len(data) < offset + 8:
                continue
            kind, code, _checksum, reply_ident, sequence = unpack_from(data, offset)
            if kind == ECHO_REPLY:
                entry = pending.get(sequence)
                if entry is None or (raw and reply_ident != ident) or entry[1] != source[0]:
                    continue  # another process's ping, or a late reply
                del pending[sequence]
                entry[3](now - entry[2], None)
            elif raw and kind in (DEST_UNREACHABLE, TIME_EXCEEDED):
                self._on_error(data, offset, kind, code)

    def _on_error(self, data: bytes, offset: int, kind: int, code: int) -> None:
        # The error quotes our request's IP header and its first 8 bytes (RFC 792).
        inner = offset + 8
        if len(data) < inner + 20:
            return
        inner_offset = inner + (data[inner] & 0x0F) * 4
        if len(data) < inner_offset + 8:
            return
        quoted_kind, _code, _checksum, quoted_ident, sequence = _HEADER.unpack_from(
            data, inner_offset
        )
        if quoted_kind != ECHO_REQUEST or quoted_ident != self._ident:
            return
        if kind == DEST_UNREACHABLE:
            reason = _UNREACHABLE.get(code, f"destination unreachable (code {code})")
        else:
            reason = "time to live exceeded"
        self._fail(sequence, reason)
