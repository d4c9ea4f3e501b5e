"""ICMP echo for every target over ONE socket: replies are matched to requests by (id, sequence).

icmplib opens the socket (raw when privileged, the kernel's unprivileged "ping" datagram socket
otherwise) and reports permission problems. Sending and receiving bypass icmplib's per-packet
path (a getaddrinfo and two setsockopt calls per send, one awaited `sock_recv` per reply), which
costs several times the CPU of this module's: one reader callback drains every reply, one timer
expires every request that got no answer, and outcomes are handed over in batches (one per
socket read or timer), so the caller folds them with one clock reading (see docs/probes.md).

A check is up to `ATTEMPTS` echo requests, the next sent when none has been answered a third of
the timeout later, each answerable until the check's deadline: one lost packet (a congested
link) no longer fails a check, and a slow reply to the first one still counts. A host name
with several addresses has its attempts sent to each in turn: one dead address among them
does not fail the check, as it does not stop a visitor (see `lookup.connect`).
"""

import asyncio
import errno
import ipaddress
import logging
import random
import socket
import struct
import sys
import time
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

from icmplib import ICMPv4Socket, ICMPv6Socket
from icmplib.exceptions import ICMPLibError

from bot.probes.errors import probe_error

log = logging.getLogger(__name__)

Token = TypeVar("Token")
# What a request gets back: the caller's token, then the round-trip time in seconds and None,
# or None and the reason it failed.
Outcome = tuple[Token, float | None, str | None]
Deliver = Callable[[list[Outcome[Token]]], None]

ECHO_REPLY, DEST_UNREACHABLE, ECHO_REQUEST, TIME_EXCEEDED = 0, 3, 8, 11
DEST_UNREACHABLE_V6, TIME_EXCEEDED_V6, ECHO_REQUEST_V6, ECHO_REPLY_V6 = 1, 3, 128, 129  # RFC 4443
IPV6_HEADER, NEXT_HEADER_ICMPV6 = 40, 58  # the quoted request's header: its size, and ICMPv6's
SOL_RAW, ICMP_FILTER = 255, 1  # linux/icmp.h: drop unwanted ICMP types in the kernel
SO_RCVBUFFORCE = 33  # linux/socket.h; Python's socket module does not export it
RECEIVE_BUFFER = 8 * 1024 * 1024  # a burst of 10,000 replies must fit while the loop is busy
TIMER_SLACK_S = 0.025  # timeouts fire in batches: one wake-up per 25 ms, not one per request
DRAIN_LIMIT = 4096  # replies read per readiness callback before yielding to the loop
MAX_IN_FLIGHT = 0xFFFF  # one sequence number each
PAYLOAD = b"supportbot-probe".ljust(56, b".")  # 64-byte packets, as ping and fping send
TIMEOUT = probe_error("probe.error.icmp.timeout")  # the reasons are catalog keys (errors.py)
ATTEMPTS = 3  # echo requests a check may send, a third of its timeout apart
_HEADER = struct.Struct("!BBHHH")  # type, code, checksum, identifier, sequence
# An IP packet without options (IHL 5): version and IHL, 11 bytes, the source address, the
# destination, then the ICMP header; one unpack per reply.
_RAW_ECHO = struct.Struct("!B11x4s4xBBHHH")
_pack_header = _HEADER.pack
_monotonic = time.monotonic
_UNREACHABLE = {
    code: probe_error(f"probe.error.icmp.{name}")
    for code, name in {
        0: "net_unreachable",  # network unreachable
        1: "host_unreachable",
        3: "port_unreachable",
        9: "network_prohibited",  # network administratively prohibited
        10: "host_prohibited",
        13: "prohibited",  # communication administratively prohibited
    }.items()
}
# RFC 4443 §3.1, in the words of its codes; "unreachable" where the network says the address
# is, as IPv4's network and host unreachable (the ticket kind suggested reads it: `reseau`).
_UNREACHABLE_V6 = {
    code: probe_error(f"probe.error.icmp.{name}")
    for code, name in {
        0: "no_route",  # network unreachable (no route to destination)
        1: "prohibited",  # communication administratively prohibited
        2: "beyond_scope",  # beyond scope of source address
        3: "address_unreachable",
        4: "port_unreachable",
        5: "policy_failed",  # source address failed ingress/egress policy
        6: "reject_route",  # reject route to destination
    }.items()
}
_TTL_EXCEEDED = probe_error("probe.error.icmp.ttl_exceeded")
_HOP_LIMIT_EXCEEDED = probe_error("probe.error.icmp.hop_limit")
_CLOSED = probe_error("probe.error.icmp.closed")


class IcmpUnavailableError(Exception):
    """Neither a raw nor an unprivileged ICMP socket can be opened here."""


def _payload_sum(payload: bytes) -> int:
    padded = payload + b"\0" * (len(payload) % 2)
    return sum(struct.unpack(f"!{len(padded) // 2}H", padded))


_PAYLOAD_SUM = _payload_sum(PAYLOAD)


# A request in flight, a tuple (the cheapest object to build per packet): (sequence, address,
# monotonic time sent, monotonic instant of its entry in the timeout queues (when the next
# attempt is sent, or for the last one the check's deadline), caller's token, the source a
# reply must come from: packed as in the IP header on a raw socket, else the address as
# recvfrom() reports it, the check's monotonic deadline, the addresses its attempts go to in
# turn, or none for one address).
_Request = tuple[int, str, float, float, Token, bytes | str, float, tuple[str, ...]]
# Per attempt (first, second, ...), the queue entries of one timeout: instants, sequences.
_Steps = list[tuple[deque[float], deque[int]]]


class IcmpPinger(Generic[Token]):
    """Pings many addresses of one family concurrently over one socket; outcomes are values, in
    batches. IPv6 (`ipv6=True`, addresses as `ipaddress` writes them) has a socket of its own."""

    def __init__(
        self,
        icmp_socket: ICMPv4Socket | ICMPv6Socket,
        deliver: Deliver[Token],
        *,
        privileged: bool,
        ipv6: bool = False,
    ) -> None:
        self._icmp_socket = icmp_socket  # keeps icmplib's wrapper (and so the socket) alive
        self._sock: socket.socket = icmp_socket.sock
        self._sock.setblocking(False)
        self._deliver = deliver
        self.privileged = privileged
        self.ipv6 = ipv6
        # Only a raw IPv4 socket reads IP headers (and sources packed as in them): an ICMPv6
        # socket, raw or not, delivers the ICMP message alone, its source from recvfrom.
        self._raw_v4 = privileged and not ipv6
        # A raw ICMPv6 socket gets the host's ICMPv6 errors too (an unprivileged socket, of
        # either family, gets none): a destination-unreachable fails the check at once, as IPv4.
        self._errors_v6 = privileged and ipv6
        self._reply_type = ECHO_REPLY_V6 if ipv6 else ECHO_REPLY
        self._ident = random.getrandbits(16) if privileged else 0
        # All but the sequence. The kernel computes an ICMPv6 checksum itself (RFC 3542).
        request_type = ECHO_REQUEST_V6 if ipv6 else ECHO_REQUEST
        self._request_type = request_type
        self._partial_sum = (request_type << 8) + self._ident + _PAYLOAD_SUM
        self._sequence = random.getrandbits(16)
        self._pending: dict[int, _Request[Token]] = {}  # by sequence
        # Per timeout and attempt, the instants (next attempt due, or deadline) and sequences of
        # the requests in the order they were sent, which is instant order: expiring is popping
        # from the left (no heap, no timer per request). Plain numbers, not the requests:
        # nothing here for the garbage collector.
        self._deadlines: dict[float, _Steps] = {}
        # The sequences of one check's attempts, by each of them, for checks past their first:
        # an answer to any of them ends the check and forgets the others.
        self._attempts: dict[int, list[int]] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = float("inf")
        self._backlog: deque[tuple[_Request[Token], bytes]] = deque()
        self._loop = asyncio.get_running_loop()
        self._tune_socket()
        self._buffer = bytearray(2048)  # every datagram is read into it
        reader = self._read_raw if self._raw_v4 else self._read_datagrams
        self._loop.add_reader(self._sock.fileno(), reader)

    @classmethod
    async def open(cls, deliver: Deliver[Token], *, ipv6: bool = False) -> "IcmpPinger[Token]":
        """Open a raw socket, or the unprivileged datagram socket; raise IcmpUnavailableError."""
        errors: list[str] = []
        kind_of_socket = ICMPv6Socket if ipv6 else ICMPv4Socket
        for privileged in (True, False):
            try:
                icmp_socket = kind_of_socket(privileged=privileged)
                return cls(icmp_socket, deliver, privileged=privileged, ipv6=ipv6)
            except (ICMPLibError, OSError) as exc:
                kind = "raw" if privileged else "unprivileged"
                errors.append(f"{kind} socket: {exc or type(exc).__name__}")
        raise IcmpUnavailableError("; ".join(errors))

    @property
    def in_flight(self) -> int:
        """Requests sent (or queued) and not yet answered or timed out."""
        return len(self._pending)

    def _tune_socket(self) -> None:
        options = (SO_RCVBUFFORCE, socket.SO_RCVBUF) if sys.platform == "linux" else ()
        for option in options:
            try:
                self._sock.setsockopt(socket.SOL_SOCKET, option, RECEIVE_BUFFER)
                break
            except OSError as exc:  # RCVBUFFORCE needs CAP_NET_ADMIN; RCVBUF is capped
                log.debug("cannot set the ICMP receive buffer with option %s: %s", option, exc)
        if self._raw_v4:
            wanted = (1 << ECHO_REPLY) | (1 << DEST_UNREACHABLE) | (1 << TIME_EXCEEDED)
            try:
                self._sock.setsockopt(SOL_RAW, ICMP_FILTER, struct.pack("I", ~wanted & 0xFFFFFFFF))
            except OSError as exc:  # not Linux: the reader filters by type instead
                log.debug("ICMP_FILTER unavailable: %s", exc)

    def ping(
        self, address: str, timeout_s: float, token: Token, others: tuple[str, ...] = ()
    ) -> None:
        """Send one echo request to an address of the socket's family, and to `others` in turn
        (after `address`) if it is not answered; the outcome is delivered once, later."""
        pending = self._pending
        if len(pending) >= MAX_IN_FLIGHT:
            self._fail_soon(token, "too many ICMP requests in flight")
            return
        sequence = (self._sequence + 1) & 0xFFFF
        while sequence in pending:
            sequence = (sequence + 1) & 0xFFFF
        try:
            source = socket.inet_aton(address) if self._raw_v4 else address
        except OSError:
            self._fail_soon(token, f"not an IPv4 address: {address!r}")
            return
        addresses = (address, *others) if others else ()
        self._sequence = sequence
        sent = _monotonic()
        retry_at = sent + timeout_s / ATTEMPTS
        request = (sequence, address, sent, retry_at, token, source, sent + timeout_s, addresses)
        pending[sequence] = request
        steps = self._deadlines.get(timeout_s)
        if steps is None:
            steps = self._deadlines[timeout_s] = [(deque(), deque()) for _ in range(ATTEMPTS)]
        queues = steps[0]
        queues[0].append(retry_at)
        queues[1].append(sequence)
        if retry_at < self._timer_at:
            self._arm(retry_at)
        self._send(request, self._packet(sequence))

    def _packet(self, sequence: int) -> bytes:
        # The checksum adds this sequence to the precomputed sum of the other words (RFC 1071).
        checksum = self._partial_sum + sequence
        checksum = (checksum & 0xFFFF) + (checksum >> 16)
        checksum = (checksum & 0xFFFF) + (checksum >> 16)
        header = _pack_header(self._request_type, 0, ~checksum & 0xFFFF, self._ident, sequence)
        return header + PAYLOAD

    def _send(self, request: _Request[Token], packet: bytes) -> None:
        address = request[1]
        if not self._backlog:
            try:
                self._sock.sendto(packet, (address, 0))
                return
            except (BlockingIOError, InterruptedError):
                pass
            except OSError as exc:
                if exc.errno != errno.ENOBUFS:
                    self._send_failed(request, exc)
                    return
        self._queue(request, packet)

    def _retry(self, request: _Request[Token], steps: _Steps, attempt: int) -> None:
        """Send the check's next attempt (`attempt`, from 0): no answer to the previous one yet."""
        pending = self._pending
        sequence = request[0]
        # Attempts a third of the timeout apart, from the first one's sending: the last one's
        # instant is the check's deadline, which any attempt may be answered by.
        step = (request[6] - request[3]) / (ATTEMPTS - attempt)
        point = request[6] if attempt == ATTEMPTS - 1 else request[3] + step
        if len(pending) >= MAX_IN_FLIGHT:  # no sequence to spare: wait on the requests sent
            pending[sequence] = retried = (*request[:3], point, *request[4:])
        else:
            sequence = (self._sequence + 1) & 0xFFFF
            while sequence in pending:
                sequence = (sequence + 1) & 0xFFFF
            self._sequence = sequence
            address, source, addresses = request[1], request[5], request[7]
            if addresses:  # the name's next address
                address = addresses[attempt % len(addresses)]
                source = socket.inet_aton(address) if self._raw_v4 else address
            token, deadline = request[4], request[6]
            retried = (sequence, address, _monotonic(), point, token, source, deadline, addresses)
            pending[sequence] = retried
            attempts = self._attempts.get(request[0])
            if attempts is None:
                attempts = self._attempts[request[0]] = [request[0]]
            attempts.append(sequence)
            self._attempts[sequence] = attempts
            self._send(retried, self._packet(sequence))
        if pending.get(sequence) is retried:  # else its send failed: the check is over
            steps[attempt][0].append(point)
            steps[attempt][1].append(sequence)

    def _forget_attempts(self, sequence: int) -> None:
        """The check of `sequence` is over: its other attempts are no longer awaited."""
        attempts = self._attempts.pop(sequence, None)
        if attempts is not None:
            for other in attempts:
                if other != sequence:
                    del self._attempts[other]
                    self._pending.pop(other, None)

    def close(self) -> None:
        """Stop reading, fail every pending request, close the socket."""
        if self._sock.fileno() >= 0:
            self._loop.remove_reader(self._sock.fileno())
            self._loop.remove_writer(self._sock.fileno())
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        pending, self._pending = self._pending, {}
        attempts, self._attempts = self._attempts, {}
        self._deadlines.clear()
        self._backlog.clear()
        # One outcome a check: of a check's attempts, its latest.
        checks = [r for r in pending.values() if attempts.get(r[0], (r[0],))[-1] == r[0]]
        if checks:
            self._deliver([(r[4], None, _CLOSED) for r in checks])
        self._icmp_socket.close()

    def _try_send(self, request: _Request[Token], packet: bytes) -> bool:
        """Send now; False when the socket cannot take the packet yet (the caller queues it)."""
        try:
            self._sock.sendto(packet, (request[1], 0))
        except (BlockingIOError, InterruptedError):
            return False
        except OSError as exc:
            if exc.errno == errno.ENOBUFS:
                return False
            self._send_failed(request, exc)
        return True

    def _send_failed(self, request: _Request[Token], exc: OSError) -> None:
        if self._pending.pop(request[0], None) is request:
            self._forget_attempts(request[0])
            reason = exc.strerror or str(exc)
            self._fail_soon(request[4], probe_error("probe.error.icmp.send_failed", reason=reason))

    def _fail_soon(self, token: Token, error: str) -> None:
        """Deliver a failure from the loop, not from inside `ping()` (the caller is launching)."""
        failed: list[Outcome[Token]] = [(token, None, error)]
        self._loop.call_soon(self._deliver, failed)

    def _queue(self, request: _Request[Token], packet: bytes) -> None:
        if not self._backlog:
            self._loop.add_writer(self._sock.fileno(), self._flush_backlog)
        self._backlog.append((request, packet))

    def _flush_backlog(self) -> None:
        pending = self._pending
        while self._backlog:
            request, packet = self._backlog[0]
            wanted = pending.get(request[0]) is request  # else it timed out while queued
            if wanted and not self._try_send(request, packet):
                return  # still full: wait for the next writable callback
            self._backlog.popleft()
        self._loop.remove_writer(self._sock.fileno())

    def _arm(self, deadline: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = deadline
        delay = deadline - time.monotonic() + TIMER_SLACK_S
        self._timer = self._loop.call_later(delay, self._expire)

    def _expire(self) -> None:
        self._timer, self._timer_at = None, float("inf")
        now = time.monotonic()
        pending = self._pending
        expired: list[Outcome[Token]] = []
        earliest = float("inf")
        last = ATTEMPTS - 1
        for steps in self._deadlines.values():
            # In attempt order: a retry sent here is queued in the next attempt's queue, which
            # is then read in this same pass.
            for attempt, (instants, sequences) in enumerate(steps):
                while instants:
                    instant = instants[0]
                    request = pending.get(sequences[0])
                    if request is None or request[3] != instant:
                        instants.popleft()  # answered or failed already
                        sequences.popleft()
                        continue
                    if instant > now:
                        earliest = min(earliest, instant)
                        break
                    instants.popleft()
                    sequence = sequences.popleft()
                    if attempt < last:
                        self._retry(request, steps, attempt + 1)
                        continue
                    del pending[sequence]
                    if self._attempts:
                        self._forget_attempts(sequence)
                    expired.append((request[4], None, TIMEOUT))
        if earliest < float("inf"):
            self._arm(earliest)
        if expired:
            self._deliver(expired)

    def _read_raw(self) -> None:
        """Drain a raw socket: every datagram is an IP packet, its source in the IP header."""
        recv_into, buffer, pending = self._sock.recv_into, self._buffer, self._pending
        attempts = self._attempts
        unpack_packet, unpack_header = _RAW_ECHO.unpack_from, _HEADER.unpack_from
        ident = self._ident
        outcomes: list[Outcome[Token]] = []
        for _ in range(DRAIN_LIMIT):
            try:
                size = recv_into(buffer)  # no bytes object, no source formatted as text
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                log.warning("icmp receive failed: %s", exc)
                break
            received = _monotonic()
            if size < _RAW_ECHO.size:
                continue
            version_ihl, source, kind, code, _sum, reply_ident, sequence = unpack_packet(buffer)
            offset = (version_ihl & 0x0F) * 4
            if offset != 20:  # IP options: the ICMP header starts further
                if size < offset + 8:
                    continue
                kind, code, _sum, reply_ident, sequence = unpack_header(buffer, offset)
            if kind == ECHO_REPLY:
                request = pending.get(sequence)
                if request is None or reply_ident != ident or request[5] != source:
                    continue  # another process's ping, or a late reply
                del pending[sequence]
                if attempts:  # a check past its first attempt: forget the others
                    self._forget_attempts(sequence)
                outcomes.append((request[4], received - request[2], None))
            elif kind in (DEST_UNREACHABLE, TIME_EXCEEDED):
                failed = self._on_error(bytes(buffer[:size]), offset, kind, code)
                if failed is not None:
                    outcomes.append(failed)
        if outcomes:
            self._deliver(outcomes)

    def _read_datagrams(self) -> None:
        """Drain an unprivileged ICMP socket (ICMP messages only, already ours: the kernel
        rewrites the identifier; errors not delivered) or an ICMPv6 one (raw: every echo reply
        and error of the host, ours by their identifier)."""
        recvfrom_into, buffer, pending = self._sock.recvfrom_into, self._buffer, self._pending
        attempts, reply_type, errors_v6 = self._attempts, self._reply_type, self._errors_v6
        ident = self._ident if self.privileged else None
        unpack_header = _HEADER.unpack_from
        outcomes: list[Outcome[Token]] = []
        for _ in range(DRAIN_LIMIT):
            try:
                size, sender = recvfrom_into(buffer)  # (host, port[, flowinfo, scope])
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                log.warning("icmp receive failed: %s", exc)
                break
            received = _monotonic()
            if size < 8:
                continue
            kind, code, _sum, reply_ident, sequence = unpack_header(buffer)
            if kind == reply_type:
                request = pending.get(sequence)
                if request is None or request[5] != sender[0]:
                    continue  # a late reply
                if ident is not None and reply_ident != ident:
                    continue  # another process's ping
                del pending[sequence]
                if attempts:  # a check past its first attempt: forget the others
                    self._forget_attempts(sequence)
                outcomes.append((request[4], received - request[2], None))
            elif errors_v6 and kind in (DEST_UNREACHABLE_V6, TIME_EXCEEDED_V6):
                failed = self._on_error_v6(bytes(buffer[:size]), kind, code)
                if failed is not None:
                    outcomes.append(failed)
        if outcomes:
            self._deliver(outcomes)

    def _on_error(self, data: bytes, offset: int, kind: int, code: int) -> Outcome[Token] | None:
        # The error quotes our request's IP header and its first 8 bytes (RFC 792).
        inner = offset + 8
        if len(data) < inner + 20:
            return None
        inner_offset = inner + (data[inner] & 0x0F) * 4
        if len(data) < inner_offset + 8:
            return None
        quoted_kind, _code, _checksum, quoted_ident, sequence = _HEADER.unpack_from(
            data, inner_offset
        )
        if quoted_kind != ECHO_REQUEST or quoted_ident != self._ident:
            return None
        if kind == DEST_UNREACHABLE:
            reason = _UNREACHABLE.get(code) or _unreachable(code)
        else:
            reason = _TTL_EXCEEDED
        return self._refused(sequence, reason)

    def _on_error_v6(self, data: bytes, kind: int, code: int) -> Outcome[Token] | None:
        # The error quotes as much of our request as fits, from its IPv6 header (RFC 4443 §2.4):
        # the request is ours by its identifier and sequence, sent to the quoted destination.
        inner = 8
        if len(data) < inner + IPV6_HEADER + 8 or data[inner + 6] != NEXT_HEADER_ICMPV6:
            return None  # cut short, or extension headers, which our requests do not carry
        quoted_kind, _code, _checksum, quoted_ident, sequence = _HEADER.unpack_from(
            data, inner + IPV6_HEADER
        )
        if quoted_kind != ECHO_REQUEST_V6 or quoted_ident != self._ident:
            return None
        request = self._pending.get(sequence)
        destination = data[inner + 24 : inner + IPV6_HEADER]
        if request is None or destination != ipaddress.IPv6Address(request[1]).packed:
            return None
        if kind == DEST_UNREACHABLE_V6:
            reason = _UNREACHABLE_V6.get(code) or _unreachable(code)
        else:
            reason = _HOP_LIMIT_EXCEEDED
        return self._refused(sequence, reason)

    def _refused(self, sequence: int, reason: str) -> Outcome[Token] | None:
        """The outcome of the request `sequence`, which an ICMP error refused, or None."""
        request = self._pending.get(sequence)
        if request is None:
            return None
        if request[7]:  # one of a name's addresses refused: the others may answer by the
            return None  # deadline (the attempts go on), as they may when it is silent
        del self._pending[sequence]
        self._forget_attempts(sequence)
        return request[4], None, reason


def _unreachable(code: int) -> str:
    return probe_error("probe.error.icmp.unreachable_code", code=code)


async def ping_once(address: str, timeout_s: float) -> tuple[float | None, str | None]:
    """Open a socket, ping one address, close it: (rtt seconds, None) or (None, error)."""
    done: asyncio.Future[tuple[float | None, str | None]] = (
        asyncio.get_running_loop().create_future()
    )

    def settle(outcomes: list[Outcome[None]]) -> None:
        for _token, rtt, error in outcomes:
            if not done.done():
                done.set_result((rtt, error))

    pinger = await IcmpPinger.open(settle)
    try:
        pinger.ping(address, timeout_s, None)
        return await done
    finally:
        pinger.close()
