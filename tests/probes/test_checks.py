"""Real probes against local servers: TCP, HTTP, HTTPS with a generated certificate, ICMP."""

import asyncio
import shutil
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy.orm import Session, sessionmaker

from bot.config.catalog import HttpProbe
from bot.probes.engine import ProbeEngine
from bot.probes.errors import english
from bot.probes.http import HttpProber, certificate_not_after
from bot.probes.icmp import ping_once
from bot.probes.result import ProbeResult
from bot.probes.state import CertificateExpiring, ProbeEvent
from bot.probes.tcp import probe_tcp
from bot.storage.database import transaction
from bot.storage.models import ProbeStatus
from bot.storage.probes import list_probe_states
from tests.probes.support import T0, Clock, seed, server, unavailable


def test_tcp_probe_is_up_while_the_port_listens_then_refused() -> None:
    """A listening port answers; once the server stops, the probe fails with the refusal."""

    async def scenario() -> None:
        listener = await asyncio.start_server(lambda _r, w: w.close(), "127.0.0.1", 0)
        port = listener.sockets[0].getsockname()[1]
        up = await probe_tcp("k", "127.0.0.1", port, timeout_s=2, at=T0)
        listener.close()
        await listener.wait_closed()
        down = await probe_tcp("k", "127.0.0.1", port, timeout_s=2, at=T0)
        assert up.ok
        assert up.latency is not None
        assert up.latency > timedelta(0)
        assert not down.ok
        assert english(down.error) is not None
        assert "refused" in english(down.error).lower()
        assert down.at == T0

    asyncio.run(scenario())


class _NoSuchNameLoop(asyncio.SelectorEventLoop):
    """An event loop whose resolver knows no name: nothing is asked of the machine's DNS."""

    async def getaddrinfo(self, host: object, *_args: object, **_kwargs: object) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


def test_tcp_probe_of_a_name_that_does_not_resolve_says_so() -> None:
    """A host name the resolver does not know: the error names it, not `Unknown error -2`."""
    loop = _NoSuchNameLoop()
    try:
        down = loop.run_until_complete(probe_tcp("k", "db.invalid", 22, timeout_s=2, at=T0))
    finally:
        loop.close()
    assert not down.ok
    assert english(down.error) == "cannot resolve db.invalid: Name or service not known"


async def _pages(request: web.Request) -> web.StreamResponse:
    if request.path == "/long":
        return await _long_page(request)
    if request.path == "/odd-charset":
        return web.Response(
            body=b"hello from supportbot", headers={"Content-Type": "text/html; charset=utf8mb4"}
        )
    if request.path == "/error":
        return web.Response(status=503, text="maintenance")
    if request.path == "/moved":
        raise web.HTTPMovedPermanently("https://shop.example/ok")
    if request.path == "/slow":
        await asyncio.sleep(3)
    if request.path.startswith("/busy"):
        await asyncio.sleep(0.5)
    return web.Response(text="hello from supportbot" if request.path == "/ok" else "nothing")


async def _long_page(request: web.Request) -> web.StreamResponse:
    """300 KB of filler, then the keyword: sent in two parts, as a page longer than one read."""
    response = web.StreamResponse()
    response.content_type = "text/html"
    await response.prepare(request)
    await response.write(b"<p>filler</p>" * 23_000)
    await asyncio.sleep(0.05)  # the client reads the first part before the second arrives
    await response.write(b"<p>hello from supportbot</p>")
    await response.write_eof()
    return response


@asynccontextmanager
async def web_server(ssl_context: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    """A local aiohttp server on 127.0.0.1; yields its port."""
    app = web.Application()
    app.router.add_get("/{tail:.*}", _pages)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
    await site.start()
    assert runner.addresses
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


def http_probe(url: str, **options: object) -> HttpProbe:
    return HttpProbe.model_validate({"type": url.split(":")[0], "url": url, **options})


def test_http_probe_checks_status_keyword_and_latency() -> None:
    """200 with the keyword is up; a wrong status, a missing keyword, a timeout are down."""

    async def scenario() -> None:
        async with web_server() as port:
            base = f"http://127.0.0.1:{port}"
            prober = HttpProber()
            try:
                ok = await prober.check("k", http_probe(f"{base}/ok", keyword="supportbot"), at=T0)
                status = await prober.check("k", http_probe(f"{base}/error"), at=T0)
                expected = await prober.check(
                    "k", http_probe(f"{base}/error", expect_status=503), at=T0
                )
                keyword = await prober.check(
                    "k", http_probe(f"{base}/other", keyword="supportbot"), at=T0
                )
                slow = await prober.check("k", http_probe(f"{base}/slow", timeout="1s"), at=T0)
            finally:
                await prober.close()
        assert ok.ok
        assert ok.details["status"] == 200
        assert ok.latency is not None
        assert timedelta(0) < ok.latency < timedelta(seconds=1)
        assert (status.ok, english(status.error)) == (False, "status 503, expected 200")
        assert expected.ok
        assert (keyword.ok, english(keyword.error)) == (False, "keyword 'supportbot' not found")
        assert not slow.ok
        assert english(slow.error) is not None
        assert english(slow.error) == "timeout: no answer in 1 s"  # connected: the server is slow

    asyncio.run(scenario())


def test_http_probe_of_a_redirect_says_where_it_leads() -> None:
    """Redirects are not followed: the failure names where the URL leads (typically http to
    https), so the on-call can fix the probe's URL or the server without fetching it."""

    async def scenario() -> ProbeResult:
        async with web_server() as port:
            prober = HttpProber()
            try:
                return await prober.check("k", http_probe(f"http://127.0.0.1:{port}/moved"), at=T0)
            finally:
                await prober.close()

    result = asyncio.run(scenario())
    assert (result.ok, english(result.error)) == (
        False,
        "status 301, expected 200, redirects to https://shop.example/ok",
    )


def test_http_keyword_is_found_past_the_first_chunk_of_a_long_page() -> None:
    """The keyword is searched in the first MiB, not in whatever the first read returned."""

    async def scenario() -> None:
        async with web_server() as port:
            prober = HttpProber()
            try:
                probe = http_probe(f"http://127.0.0.1:{port}/long", keyword="supportbot")
                result = await prober.check("k", probe, at=T0)
            finally:
                await prober.close()
        assert (result.ok, english(result.error)) == (True, None)

    asyncio.run(scenario())


def test_http_keyword_is_found_in_a_page_whose_charset_python_does_not_know() -> None:
    """`charset=utf8mb4` (unknown to Python) is read as UTF-8: UP, not a probe error."""

    async def scenario() -> None:
        async with web_server() as port:
            prober = HttpProber()
            try:
                probe = http_probe(f"http://127.0.0.1:{port}/odd-charset", keyword="supportbot")
                result = await prober.check("k", probe, at=T0)
            finally:
                await prober.close()
        assert (result.ok, english(result.error)) == (True, None)

    asyncio.run(scenario())


def check_raw(answer: bytes, **probe: Any) -> ProbeResult:
    """An HTTP probe of a local server that reads the request, writes `answer` and closes."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(100)
        writer.write(answer)
        await writer.drain()
        writer.close()

    async def scenario() -> ProbeResult:
        listener = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = listener.sockets[0].getsockname()[1]
        prober = HttpProber()
        try:
            return await prober.check("k", http_probe(f"http://127.0.0.1:{port}/", **probe), at=T0)
        finally:
            await prober.close()
            listener.close()
            await listener.wait_closed()

    return asyncio.run(scenario())


def test_http_probe_of_a_port_that_does_not_speak_http_says_so_without_a_status() -> None:
    """An SSH banner where HTTP was expected: the error reads as such, on one line, and does
    not claim the server answered 400 (aiohttp's code for an answer it cannot parse)."""
    result = check_raw(b"SSH-2.0-OpenSSH_9.6\r\n")
    assert not result.ok
    assert english(result.error) is not None
    assert english(result.error).startswith("invalid HTTP answer: Bad status line")
    assert "SSH-2.0-OpenSSH_9.6" in english(result.error)
    assert "400" not in english(result.error)
    assert "\n" not in english(result.error)


def test_http_page_cut_short_says_so_without_a_status() -> None:
    """The server dies after 3 bytes of a 100-byte page: the keyword probe fails saying the
    body was cut short, not `ContentLengthError: 400` (the server answered 200)."""
    result = check_raw(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc", keyword="supportbot")
    assert not result.ok
    assert result.details["status"] == 200
    assert english(result.error) == (
        "invalid HTTP body: Not enough data to satisfy content length header"
        " (received 3 of 100 bytes)."
    )


def test_http_probe_of_a_closed_port_says_the_connection_was_refused() -> None:
    """The reason an on-call can act on, as the tcp probe gives it, not "Connect call failed"."""

    async def scenario() -> None:
        async with web_server() as port:
            pass  # the port is closed again: nothing listens on it
        prober = HttpProber()
        try:
            result = await prober.check("k", http_probe(f"http://127.0.0.1:{port}/ok"), at=T0)
        finally:
            await prober.close()
        assert (result.ok, english(result.error)) == (
            False,
            f"cannot connect to 127.0.0.1:{port}: Connection refused",
        )

    asyncio.run(scenario())


def test_many_probes_of_one_host_at_once_are_not_queued_into_timeouts() -> None:
    """Fifty sites behind one address and port (a shared front end), each answering in half a
    second, checked at the same instant with a 2 s timeout: every one answers in time. A cap
    of connections per host queued them, and the last ones failed "timeout" waiting their
    turn, with nothing wrong on the server."""

    async def scenario() -> None:
        async with web_server() as port:
            prober = HttpProber()
            try:
                results = await asyncio.gather(
                    *(
                        prober.check(
                            f"k{n}",
                            http_probe(f"http://127.0.0.1:{port}/busy/{n}", timeout="2s"),
                            at=T0,
                        )
                        for n in range(50)
                    )
                )
            finally:
                await prober.close()
        assert [english(result.error) for result in results if not result.ok] == []

    asyncio.run(scenario())


def _self_signed(directory: Path, days: int) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        unavailable("the openssl command is needed to generate a test certificate")
    cert, key = directory / "cert.pem", directory / "key.pem"
    options = ["-x509", "-newkey", "rsa:2048", "-nodes", "-days", str(days)]
    names = ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
    subprocess.run(
        ["openssl", "req", *options, "-keyout", str(key), "-out", str(cert), *names],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_https_probe_reports_the_days_left_on_the_certificate(tmp_path: Path) -> None:
    """The expiry of a certificate generated for the test is read and counted in whole days;
    a client that does not trust it fails, unless the probe says not to verify it."""
    cert, key = _self_signed(tmp_path, days=30)
    end = subprocess.run(
        ["openssl", "x509", "-enddate", "-noout", "-in", str(cert)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    not_after = datetime.fromtimestamp(ssl.cert_time_to_seconds(end.removeprefix("notAfter=")), UTC)
    at = not_after - timedelta(days=12, hours=1)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    trusted = ssl.create_default_context(cafile=str(cert))  # trusts it for this client only

    async def scenario() -> None:
        async with web_server(server_context) as port:
            url = f"https://127.0.0.1:{port}/ok"
            prober = HttpProber(ssl_context=trusted)
            untrusting = HttpProber()
            try:
                result = await prober.check("k", http_probe(url, keyword="supportbot"), at=at)
                refused = await untrusting.check("k", http_probe(url), at=at)
                unverified = await untrusting.check("k", http_probe(url, verify_tls=False), at=at)
            finally:
                await prober.close()
                await untrusting.close()
        assert result.ok, english(result.error)
        assert result.details["cert_days_left"] == 12
        assert result.details["cert_expires_at"] == not_after.isoformat()
        assert result.details["cert_expires_soon"] is True  # under the 14-day default
        assert not refused.ok
        assert english(refused.error) is not None
        assert "certificate" in english(refused.error).lower()
        # `verify_tls = false` (a self-signed or internal certificate): up, expiry still read.
        assert unverified.ok, english(unverified.error)
        assert unverified.details["cert_days_left"] == 12

    asyncio.run(scenario())
    der = ssl.PEM_cert_to_DER_cert(cert.read_text())
    assert certificate_not_after(der) == not_after


def test_tls_and_name_failures_of_an_http_probe_read_as_what_went_wrong(tmp_path: Path) -> None:
    """The reason an on-call can act on, on one line, not aiohttp's repr of its connection key
    and of the error's arguments (`Cannot connect to host … ssl:True [SSLCertVerificationError:
    (1, '[SSL: CERTIFICATE_VERIFY_FAILED] …')]`)."""
    cert, key = _self_signed(tmp_path, days=30)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    trusted = ssl.create_default_context(cafile=str(cert))  # for 127.0.0.1, not for localhost

    async def scenario() -> tuple[int, list[str | None]]:
        async with web_server(server_context) as tls, web_server() as plain:
            untrusting, prober = HttpProber(), HttpProber(ssl_context=trusted)
            urls = [
                (untrusting, f"https://127.0.0.1:{tls}/ok"),
                (prober, f"https://localhost:{tls}/ok"),
                (untrusting, f"https://127.0.0.1:{plain}/ok"),
            ]
            try:
                return tls, [
                    english((await p.check("k", http_probe(url), at=T0)).error) for p, url in urls
                ]
            finally:
                await untrusting.close()
                await prober.close()

    tls_port, errors = asyncio.run(scenario())
    assert errors[0] == f"TLS certificate of 127.0.0.1:{tls_port} refused: self-signed certificate"
    assert errors[1] == (
        f"TLS certificate of localhost:{tls_port} refused: Hostname mismatch, certificate is"
        " not valid for 'localhost'."
    )
    assert errors[2] is not None
    assert errors[2].startswith("TLS handshake with 127.0.0.1:")
    assert errors[2].endswith(" failed: wrong version number")

    async def unknown_name() -> ProbeResult:
        prober = HttpProber()
        try:
            return await prober.check("k", http_probe("http://web.invalid/health"), at=T0)
        finally:
            await prober.close()

    no_such_name = _NoSuchNameLoop()
    try:
        down = no_such_name.run_until_complete(unknown_name())
    finally:
        no_such_name.close()
    assert (down.ok, english(down.error)) == (
        False,
        "cannot resolve web.invalid: Name or service not known",
    )


def test_an_expiring_certificate_is_handed_to_the_alerts_once_a_notice(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    """A certificate 10 days from expiring (under the 14-day warning): one event at the first
    check, none at the next, one more once 7 days or less are left; in the write transaction,
    where the alerts post it."""
    cert, key = _self_signed(tmp_path, days=10)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    trusted = ssl.create_default_context(cafile=str(cert))
    seen: list[CertificateExpiring] = []

    def hook(_session: Session, event: ProbeEvent) -> None:
        if isinstance(event, CertificateExpiring):
            seen.append(event)

    async def scenario() -> None:
        async with web_server(server_context) as port:
            url = f"https://127.0.0.1:{port}/ok"
            shop = server("shop", "127.0.0.1", {"type": "https", "url": url})
            seed(sessions, [shop])
            clock = Clock(datetime.now(UTC))
            engine = ProbeEngine([shop], sessions, clock, http_ssl=trusted, in_transaction=hook)
            async with engine:
                for advance in (0, 60, 4 * 86400):  # the last: 6 days left
                    clock.advance(advance)
                    result = (await engine.sweep())[0]
                    assert result.ok, english(result.error)
                    await engine.flush()

    asyncio.run(scenario())
    assert [event.notice for event in seen] == [14, 7]
    assert {(event.key, event.server_id) for event in seen} == {(seen[0].key, "shop")}
    assert seen[0].url.startswith("https://127.0.0.1:")
    assert seen[0].expires_at == seen[1].expires_at


def test_icmp_to_localhost_answers() -> None:
    """An echo request to 127.0.0.1 gets a reply with a round-trip time."""

    async def scenario() -> None:
        rtt, error = await ping_once("127.0.0.1", 2.0)
        assert error is None
        assert rtt is not None
        assert 0 < rtt < 1

    asyncio.run(scenario())


def test_one_icmp_socket_matches_every_reply_to_its_target(
    sessions: sessionmaker[Session],
) -> None:
    """49 loopback targets in one sweep over one socket: every probe UP, states persisted."""
    servers = [
        server(f"lo-{i}", f"127.0.0.{i}", {"type": "icmp", "timeout": "2s"}) for i in range(2, 51)
    ]
    seed(sessions, servers)
    clock = Clock()

    async def scenario() -> None:
        async with ProbeEngine(servers, sessions, clock) as engine:
            first = await engine.sweep()
            clock.advance(5)
            await engine.sweep()
            assert {result.key for result in first} == {f"lo-{i}/icmp" for i in range(2, 51)}
            assert all(result.ok for result in first), [english(r.error) for r in first if not r.ok]
            assert {engine.state(key).status for key in engine.keys} == {ProbeStatus.UP}

    asyncio.run(scenario())
    with transaction(sessions) as session:
        states = list_probe_states(session)
    assert len(states) == 49
    assert {state.status for state in states.values()} == {ProbeStatus.UP}
    assert {state.streak_started_at for state in states.values()} == {T0}


def test_an_icmp_probe_of_an_ipv6_address_answers(sessions: sessionmaker[Session]) -> None:
    """A server at ::1 answers pings: its ICMP probe is UP. It used to fail every check with
    `only IPv4 is supported`: a server that answered was in outage from the day it was added."""
    servers = [server("six", "::1", {"type": "icmp", "timeout": "2s"})]
    seed(sessions, servers)

    async def scenario() -> list[ProbeResult]:
        async with ProbeEngine(servers, sessions, Clock()) as engine:
            return await engine.sweep()

    (result,) = asyncio.run(scenario())
    assert (result.key, result.ok, english(result.error)) == ("six/icmp", True, None)
    assert result.latency is not None
