"""Host name lookups of the probes, on threads of their own.

`getaddrinfo` blocks, so asyncio runs it on the loop's default executor: a few threads, which
the Slack client's lookups use too. A lookup the DNS never answers holds its thread for the
resolver's whole timeout (10 s and more). When a client's DNS provider goes down, its names'
lookups would fill those threads and queue every other name behind them: healthy servers would
time out and be reported DOWN, and the outbox could not reach Slack to say so.

`HostLookup` runs the probes' lookups on a pool of their own, sized by the engine to the number
of probes that name their host (see `ProbeEngine.start`), and runs each distinct lookup once at
a time: a check that times out leaves its lookup running, and the next check of the same name
waits for that one instead of taking another thread. No lookup can then wait for a thread.
"""

import asyncio
import functools
import ipaddress
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

import aiohappyeyeballs
from aiohttp import ThreadedResolver
from aiohttp.abc import AbstractResolver

AddressInfo = list[tuple[Any, ...]]  # what socket.getaddrinfo returns
_Key = tuple[str, Any, int, int, int, int]


class HostLookup:
    """`getaddrinfo` on the probes' threads, one run at a time per distinct lookup."""

    def __init__(
        self, threads: int, *, getaddrinfo: Callable[..., AddressInfo] = socket.getaddrinfo
    ) -> None:
        self._threads = ThreadPoolExecutor(max(1, threads), thread_name_prefix="probe-dns")
        self._getaddrinfo = getaddrinfo
        self._in_flight: dict[_Key, asyncio.Future[AddressInfo]] = {}

    async def getaddrinfo(
        self,
        host: str,
        port: Any,
        *,
        family: int = 0,
        type: int = 0,
        proto: int = 0,
        flags: int = 0,
    ) -> AddressInfo:
        """As `loop.getaddrinfo`; raise `socket.gaierror` (an OSError) when the name fails."""
        key = (host, port, family, type, proto, flags)
        lookup = self._in_flight.get(key)
        if lookup is None:  # else this check shares the lookup in flight
            call = functools.partial(self._getaddrinfo, *key)
            lookup = asyncio.get_running_loop().run_in_executor(self._threads, call)
            self._in_flight[key] = lookup
            lookup.add_done_callback(functools.partial(self._looked_up, key))
        return await asyncio.shield(lookup)  # a check timing out leaves the lookup running

    def resolving(self, host: str) -> bool:
        """Whether a lookup of `host` is in flight (a check timing out may have waited on it)."""
        return any(key[0] == host for key in self._in_flight)

    async def getnameinfo(self, sockaddr: tuple[Any, ...], flags: int = 0) -> tuple[str, str]:
        """As `loop.getnameinfo` (aiohttp asks it of link-local IPv6 addresses)."""
        call = functools.partial(socket.getnameinfo, sockaddr, flags)
        return await asyncio.get_running_loop().run_in_executor(self._threads, call)

    def resolver(self) -> AbstractResolver:
        """An aiohttp resolver doing its lookups here: aiohttp's own threaded one, whose loop
        is only asked for `getaddrinfo` and `getnameinfo`."""
        return ThreadedResolver(loop=cast(asyncio.AbstractEventLoop, self))

    def close(self) -> None:
        """Drop the lookups queued; the threads blocked in the resolver end with it."""
        self._threads.shutdown(wait=False, cancel_futures=True)
        self._in_flight.clear()

    def _looked_up(self, key: _Key, lookup: "asyncio.Future[AddressInfo]") -> None:
        if self._in_flight.get(key) is lookup:
            del self._in_flight[key]
        if not lookup.cancelled():
            lookup.exception()  # retrieved: every check that waited for it may have given up


HAPPY_EYEBALLS_DELAY_S = 0.25  # aiohttp's: the next address is tried if one has not answered


async def connect(
    infos: AddressInfo, host: str, **options: Any
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connection to the first of `host`'s addresses (`infos`) that accepts one. As aiohttp
    does for the HTTP probes (Happy Eyeballs, RFC 8305): in the resolver's order, the next
    address tried when the previous one has not answered within 250 ms, the others still
    awaited; each socket address whole (a link-local IPv6 keeps its scope). Waiting on the
    first address alone, a name with one dead address among several failed every TCP check
    while its HTTP check passed. `options` as for `asyncio.open_connection` (`ssl`: the
    certificate is checked against `host`). An OSError if no address accepts."""
    if options.get("ssl"):
        options.setdefault("server_hostname", host)
    if not infos:
        raise OSError(f"no address for {host}")
    sock = await aiohappyeyeballs.start_connection(
        infos, happy_eyeballs_delay=HAPPY_EYEBALLS_DELAY_S
    )
    return await asyncio.open_connection(sock=sock, **options)


def is_address(host: str) -> bool:
    """Whether `host` is an IP address literal, which needs no lookup."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
