"""The probes' own lookups: one run at a time per name, and what a failed one says."""

import asyncio
import socket
import ssl
import threading
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy.orm import Session, sessionmaker

from bot.probes.engine import ProbeEngine
from bot.probes.errors import english
from bot.probes.http import HttpProber
from bot.probes.lookup import HostLookup
from bot.probes.result import ProbeResult
from bot.probes.tcp import probe_tcp
from tests.probes.support import T0, Clock, seed, server
from tests.probes.test_checks import _self_signed, http_probe, web_server


def test_checks_of_a_name_share_its_lookup_in_flight() -> None:
    """A name whose DNS hangs takes one thread however many checks wait for it; when it
    answers, they all get the answer."""
    asked: list[str] = []
    answer = threading.Event()

    def getaddrinfo(host: str, *_args: Any) -> list[tuple[Any, ...]]:
        asked.append(host)
        assert answer.wait(10)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 22))]

    async def scenario() -> list[list[tuple[Any, ...]]]:
        lookup = HostLookup(1, getaddrinfo=getaddrinfo)
        try:
            first = asyncio.ensure_future(lookup.getaddrinfo("slow.test", 22))
            with pytest.raises(TimeoutError):  # gives up; the lookup goes on for the others
                await asyncio.wait_for(lookup.getaddrinfo("slow.test", 22), 0.05)
            later = asyncio.ensure_future(lookup.getaddrinfo("slow.test", 22))
            await asyncio.sleep(0.05)
            answer.set()
            return [await first, await later]
        finally:
            lookup.close()

    first, later = asyncio.run(scenario())
    assert asked == ["slow.test"]
    assert first == later == [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 22))]


def test_a_tcp_probe_of_an_unknown_name_says_so_through_the_lookup() -> None:
    def getaddrinfo(*_args: Any) -> list[tuple[Any, ...]]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    async def scenario() -> str | None:
        lookup = HostLookup(1, getaddrinfo=getaddrinfo)
        try:
            result = await probe_tcp("k", "db.invalid", 22, timeout_s=2, at=T0, lookup=lookup)
        finally:
            lookup.close()
        return english(result.error)

    assert asyncio.run(scenario()) == "cannot resolve db.invalid: Name or service not known"


def test_a_tcp_probe_tries_the_next_address_when_the_first_refuses() -> None:
    """As `asyncio.open_connection` does with a name: the addresses in the resolver's order."""

    async def scenario() -> tuple[bool, str | None]:
        server = await asyncio.start_server(lambda _r, w: w.close(), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        closed = socket.socket()  # bound, never listening: connecting to it is refused
        closed.bind(("127.0.0.2", port))

        def getaddrinfo(*_args: Any) -> list[tuple[Any, ...]]:
            return [
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.2", port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port)),
            ]

        lookup = HostLookup(1, getaddrinfo=getaddrinfo)
        try:
            result = await probe_tcp("k", "two.test", port, timeout_s=2, at=T0, lookup=lookup)
        finally:
            lookup.close()
            closed.close()
            server.close()
            await server.wait_closed()
        return result.ok, english(result.error)

    assert asyncio.run(scenario()) == (True, None)


def test_http_checks_sharing_a_hung_lookup_all_say_it_is_the_name() -> None:
    """Two HTTP probes of one host, then the next check of the first, while its DNS hangs:
    aiohttp shares the lookup in flight, and every one of them waited on it, not on a
    connection."""
    release = threading.Event()

    def getaddrinfo(*_args: Any) -> list[tuple[Any, ...]]:
        release.wait(10)
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    async def scenario() -> list[str | None]:
        lookup = HostLookup(4, getaddrinfo=getaddrinfo)
        prober = HttpProber(lookup=lookup)
        first, second = (http_probe(f"http://slow.test/{n}", timeout="1s") for n in "ab")
        try:
            results = [
                *await asyncio.gather(
                    prober.check("a", first, at=T0), prober.check("b", second, at=T0)
                ),
                await prober.check("a", first, at=T0),  # the next sweep: it still hangs
            ]
        finally:
            release.set()
            await prober.close()
            lookup.close()
        return [english(result.error) for result in results]

    assert asyncio.run(scenario()) == ["cannot resolve slow.test: no answer in 1 s"] * 3


def test_an_https_probe_of_a_name_reads_its_certificate_through_the_lookup(
    tmp_path: Path,
) -> None:
    """The certificate's own connection looks its host up on the probes' threads too: a name
    only they know (the machine's DNS does not) still has its expiry read."""
    cert, key = _self_signed(tmp_path, days=30)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    asked: list[str] = []

    def getaddrinfo(host: str, port: int, *_args: Any) -> list[tuple[Any, ...]]:
        asked.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    async def scenario() -> dict[str, Any]:
        async with web_server(server_context) as port:
            lookup = HostLookup(2, getaddrinfo=getaddrinfo)
            prober = HttpProber(lookup=lookup)
            try:
                url = f"https://tls.test:{port}/ok"
                result = await prober.check("k", http_probe(url, verify_tls=False), at=T0)
            finally:
                await prober.close()
                lookup.close()
        assert result.ok, english(result.error)
        return result.details

    details = asyncio.run(scenario())
    assert "cert_days_left" in details
    assert asked == ["tls.test", "tls.test"]  # the check's connection, then the certificate's


def _ipv6_only(
    host: str, port: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0
) -> list[tuple[Any, ...]]:
    """A DNS that knows six.test by its AAAA record (::1) alone: asked for IPv4, no address."""
    if host != "six.test":
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    if family == socket.AF_INET:
        raise socket.gaierror(socket.EAI_NODATA, "No address associated with hostname")
    return socket.getaddrinfo("::1", port, socket.AF_INET6, type, proto)


def test_a_name_with_only_ipv6_addresses_is_up_for_every_kind_of_probe(
    sessions: sessionmaker[Session],
) -> None:
    """six.test has an IPv6 address and no IPv4 one, and answers pings, connections and
    requests: every kind of probe finds it up, as it finds a name with an IPv4 address. The
    ICMP probe looked its name up for IPv4 addresses only and said `cannot resolve six.test`:
    the server was in outage from the day it was added."""

    async def scenario() -> list[ProbeResult]:
        runner = web.AppRunner(web.Application())  # answers 404
        await runner.setup()
        site = web.TCPSite(runner, "::1", 0)
        await site.start()
        port = runner.addresses[0][1]
        servers = [
            server("six-icmp", "six.test", {"type": "icmp", "timeout": "2s"}),
            server("six-tcp", "six.test", {"type": "tcp", "port": port, "timeout": "2s"}),
            server("six-http", "six.test", {"type": "http", "url": f"http://six.test:{port}/",
                                            "expect_status": 404, "timeout": "2s"}),
        ]  # fmt: skip
        seed(sessions, servers)
        engine = ProbeEngine(servers, sessions, Clock(), getaddrinfo=_ipv6_only)
        try:
            async with engine:
                return await engine.sweep()
        finally:
            await runner.cleanup()

    results = asyncio.run(scenario())
    by_server = {result.key.split("/")[0]: (result.ok, english(result.error)) for result in results}
    assert by_server == {name: (True, None) for name in ("six-icmp", "six-tcp", "six-http")}
