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


async def connect(
    infos: AddressInfo, host: str, **options: Any
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connection to the first of `host`'s addresses (`infos`) that accepts one, in the
    resolver's order, as `asyncio.open_connection` tries a name's; each socket address whole (a
    link-local IPv6 keeps its scope). `options` as for `asyncio.open_connection` (`ssl`: the
    certificate is checked against `host`). The last refusal if no address accepts."""
    loop = asyncio.get_running_loop()
    if options.get("ssl"):
        options.setdefault("server_hostname", host)
    error: OSError = OSError(f"no address for {host}")
    for family, kind, proto, _name, address in infos:
        sock = socket.socket(family, kind, proto)
        try:
            sock.setblocking(False)
            await loop.sock_connect(sock, address)
        except OSError as exc:
            sock.close()
            error = exc
            continue
        except BaseException:  # cancelled: the check's time is up
            sock.close()
            raise
        return await asyncio.open_connection(sock=sock, **options)
    raise error


def is_address(host: str) -> bool:
    """Whether `host` is an IP address literal, which needs no lookup."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
