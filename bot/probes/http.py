"""HTTP(S) probe over one shared aiohttp session: status, optional keyword, latency, TLS expiry."""

import asyncio
import logging
import re
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp.http_exceptions import HttpProcessingError

from bot.config.catalog import HttpProbe
from bot.probes.errors import english, probe_error
from bot.probes.lookup import HostLookup, connect, is_address
from bot.probes.result import ProbeResult
from bot.probes.tcp import describe_os_error

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024  # the keyword must appear in the first MiB
CERT_TTL_S = 3600.0  # a certificate is read again at most once an hour per host and port
USER_AGENT = "supportbot-probe/1"


class HttpProber:
    """One aiohttp session (one connection pool) for every HTTP probe of the engine."""

    def __init__(
        self,
        *,
        limit: int = 100,
        ssl_context: ssl.SSLContext | bool = True,
        reuse: bool = False,
        lookup: HostLookup | None = None,
    ) -> None:
        # Without reuse every check opens a fresh connection, so it tests the handshake (and sees
        # the certificate) the way a new visitor would; a pooled connection could hide an outage.
        # No cap per host: a probe has one check in flight at most, so the catalog bounds what
        # one host gets, and a check queued behind others would time out waiting, not failing.
        connector = aiohttp.TCPConnector(
            limit=limit,
            limit_per_host=0,
            force_close=not reuse,
            ttl_dns_cache=300,
            resolver=lookup.resolver() if lookup is not None else None,  # else the loop's threads
            ssl=ssl_context
            if isinstance(ssl_context, ssl.SSLContext)
            else ssl_context is not False,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            headers={"User-Agent": USER_AGENT},
            auto_decompress=True,
            trace_configs=[_progress_tracing()],
        )
        self._ssl: ssl.SSLContext | bool = ssl_context
        self._lookup = lookup
        # (host, port) -> (loop time the entry expires, notAfter of the certificate)
        self._certificates: dict[tuple[str, int], tuple[float, datetime]] = {}

    async def close(self) -> None:
        """Close the pool."""
        await self._session.close()

    async def check(self, key: str, probe: HttpProbe, *, at: datetime) -> ProbeResult:
        """GET the URL once; wrong status, missing keyword or any error is a failed result."""
        details: dict[str, Any] = {}
        timeout_s = probe.timeout.total_seconds()
        started = time.perf_counter()
        progress = _Progress()
        try:
            async with asyncio.timeout(timeout_s):
                # ssl=True keeps the pool's own setting (verified); False verifies nothing.
                request = self._session.get(
                    probe.url,
                    allow_redirects=False,
                    ssl=probe.verify_tls,
                    trace_request_ctx=progress,
                )
                async with request as response:
                    details["status"] = response.status
                    location = response.headers.get("Location")
                    body = await read_head(response.content, MAX_BODY) if probe.keyword else b""
                    charset = response.charset or "utf-8"
                    url = response.url
        except TimeoutError:
            host = urlsplit(probe.url).hostname or ""
            # aiohttp shares a lookup in flight: a check that joined one is not traced as
            # resolving, but it waited on that lookup all the same.
            if self._lookup is not None and self._lookup.resolving(host):
                progress.resolving = True
            return ProbeResult(key, False, at, error=progress.timeout(host, timeout_s))
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            return ProbeResult(key, False, at, error=_describe(exc), details=details)
        latency = timedelta(seconds=time.perf_counter() - started)
        if url.scheme == "https" and url.host is not None and url.port is not None:
            expires_at = await self._certificate_expiry(
                url.host, url.port, timeout_s, verify=probe.verify_tls
            )
            if expires_at is not None:
                details["cert_expires_at"] = expires_at.isoformat()
                details["cert_days_left"] = cert_days_left(expires_at, at)
                details["cert_expires_soon"] = expires_at - at < probe.cert_expiry_warning
        error = None
        status, expected = details["status"], probe.expect_status
        if status != expected:
            if location and 300 <= status < 400:  # not followed: say where to
                error = probe_error(
                    "probe.error.status_redirect",
                    status=status,
                    expected=expected,
                    location=location,
                )
            else:
                error = probe_error("probe.error.status", status=status, expected=expected)
        elif probe.keyword and probe.keyword not in _text(body, charset):
            error = probe_error("probe.error.keyword", keyword=repr(probe.keyword))
        return ProbeResult(key, error is None, at, latency, error, details)

    async def _certificate_expiry(
        self, host: str, port: int, timeout_s: float, *, verify: bool = True
    ) -> datetime | None:
        """notAfter of the server's certificate, read on a separate handshake, cached an hour.

        aiohttp releases the connection (and its TLS object) before the caller sees the
        response, so the certificate is read on a connection of our own, once an hour at most.
        """
        loop = asyncio.get_running_loop()
        cached = self._certificates.get((host, port))
        if cached is not None and cached[0] > loop.time():
            return cached[1]
        if not verify:
            context = _context(False)
        elif isinstance(self._ssl, ssl.SSLContext):
            context = self._ssl
        else:
            context = _context(self._ssl)
        try:
            async with asyncio.timeout(timeout_s):
                if self._lookup is None or is_address(host):
                    _reader, writer = await asyncio.open_connection(host, port, ssl=context)
                else:  # looked up on the probes' threads, as the check's own connection was
                    infos = await self._lookup.getaddrinfo(host, port, type=socket.SOCK_STREAM)
                    _reader, writer = await connect(infos, host, ssl=context)
        except (TimeoutError, OSError) as exc:
            log.warning(
                "%s:%s: cannot read the certificate: %s", host, port, english(_describe(exc))
            )
            return None
        try:
            ssl_object = writer.get_extra_info("ssl_object")
            der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
            expires_at = certificate_not_after(der) if der else None
        except ValueError as exc:
            log.warning("%s:%s: cannot read the certificate's expiry: %s", host, port, exc)
            expires_at = None
        finally:
            writer.close()
        if expires_at is not None:
            self._certificates[(host, port)] = (loop.time() + CERT_TTL_S, expires_at)
        return expires_at


async def read_head(stream: aiohttp.StreamReader, limit: int) -> bytes:
    """The first `limit` bytes of the body (all of it if shorter).

    `StreamReader.read(n)` returns as soon as some bytes are buffered (one network read), so a
    keyword past the first chunk of a longer or slower page would not be seen without a loop.
    """
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = await stream.read(limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def cert_days_left(expires_at: datetime, at: datetime) -> int:
    """Whole days from `at` until the certificate expires (negative once it has)."""
    return (expires_at - at) // timedelta(days=1)


def _text(body: bytes, charset: str) -> str:
    """The body as text; a charset Python does not know (`charset=utf8mb4`) is read as UTF-8."""
    try:
        return body.decode(charset, errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


def _context(verify: bool) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


@dataclass
class _Progress:
    """How far one check got, from aiohttp's tracing: what its timeout is to blame on."""

    resolving: bool = False  # a lookup of the host name began and has not ended
    connected: bool = False  # a connection (TLS included) was opened or taken from the pool

    def timeout(self, host: str, timeout_s: float) -> str:
        if self.resolving and not self.connected:  # as the TCP and ICMP probes say it
            return probe_error("probe.error.resolve_timeout", host=host, seconds=timeout_s)
        if not self.connected:
            return probe_error("probe.error.no_connection", seconds=timeout_s)
        return probe_error("probe.error.timeout", seconds=timeout_s)


def _progress_tracing() -> aiohttp.TraceConfig:
    """Tracing that keeps each check's `_Progress` (its `trace_request_ctx`) up to date."""
    tracing = aiohttp.TraceConfig()

    def mark(**changes: bool) -> Callable[..., Awaitable[None]]:
        async def on_signal(_session: object, context: SimpleNamespace, _params: object) -> None:
            progress = context.trace_request_ctx
            if isinstance(progress, _Progress):
                for name, value in changes.items():
                    setattr(progress, name, value)

        return on_signal

    tracing.on_dns_resolvehost_start.append(mark(resolving=True))
    tracing.on_dns_resolvehost_end.append(mark(resolving=False))
    tracing.on_connection_create_end.append(mark(connected=True))
    tracing.on_connection_reuseconn.append(mark(connected=True))
    return tracing


def _describe(exc: BaseException) -> str:
    if type(exc) is aiohttp.ClientConnectorError:  # not its DNS, TLS and certificate kinds
        # aiohttp quotes asyncio's "Connect call failed ('10.0.0.1', 80)" for a refusal.
        return probe_error(
            "probe.error.connect",
            host=exc.host,
            port=str(exc.port),
            reason=describe_os_error(exc.os_error),
        )
    # aiohttp's own texts of these quote its connection key and the error's tuple of args.
    if isinstance(exc, aiohttp.ClientConnectorDNSError):  # as the tcp probe says it
        reason = exc.os_error.strerror or str(exc.os_error)
        return probe_error("probe.error.resolve", host=exc.host, reason=reason)
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        error = exc.certificate_error
        refused = getattr(error, "verify_message", None) or getattr(error, "reason", None)
        return probe_error(
            "probe.error.tls_certificate",
            host=exc.host,
            port=str(exc.port),
            reason=str(refused or error),
        )
    if isinstance(exc, aiohttp.ClientConnectorSSLError):  # e.g. a port that does not speak TLS
        # "[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)": the words only.
        text = exc.os_error.strerror or str(exc.os_error)
        reason = re.sub(r"^\[[^]]*\] | \(_ssl\.c:\d+\)$", "", text)
        return probe_error(
            "probe.error.tls_handshake", host=exc.host, port=str(exc.port), reason=reason
        )
    if isinstance(exc, aiohttp.ClientResponseError):
        # No status is checked and no redirect followed: this is aiohttp's parser refusing the
        # answer (a port that does not speak HTTP). Its "400" is its own, not the server's.
        return probe_error("probe.error.invalid_answer", reason=_parser_message(exc.message))
    if isinstance(exc, aiohttp.ClientPayloadError) and isinstance(
        exc.__cause__, HttpProcessingError
    ):  # a body cut short or undecodable; its text quotes the parser's "400" too
        reason = _parser_message(exc.__cause__.message)
        return probe_error("probe.error.invalid_body", reason=reason)
    text = str(exc)  # the exception's own words only: stored as they are, in any language
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _parser_message(message: str) -> str:
    """aiohttp's parser message on one line, without the caret under the offending byte."""
    lines = (line.strip() for line in message.splitlines())
    return " ".join(line for line in lines if line not in ("", "^"))


def _tlv(data: bytes, offset: int) -> tuple[int, int, int]:
    """(tag, start of the value, end of the value) of the DER element at `offset`."""
    if offset + 2 > len(data):
        raise ValueError("truncated DER")
    tag, length = data[offset], data[offset + 1]
    start = offset + 2
    if length & 0x80:
        size = length & 0x7F
        if size == 0 or size > 4 or start + size > len(data):
            raise ValueError("bad DER length")
        length = int.from_bytes(data[start : start + size], "big")
        start += size
    if start + length > len(data):
        raise ValueError("truncated DER")
    return tag, start, start + length


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    children = []
    while start < end:
        element = _tlv(data, start)
        children.append(element)
        start = element[2]
    return children


def certificate_not_after(der: bytes) -> datetime:
    """The notAfter instant of a DER X.509 certificate (RFC 5280 §4.1.2.5)."""
    _tag, start, end = _tlv(der, 0)
    _tbs_tag, tbs_start, tbs_end = _children(der, start, end)[0]
    fields = _children(der, tbs_start, tbs_end)
    first = 1 if fields[0][0] == 0xA0 else 0  # [0] version is optional
    _tag, validity_start, validity_end = fields[first + 3]  # serial, algorithm, issuer, validity
    tag, value_start, value_end = _children(der, validity_start, validity_end)[1]
    text = der[value_start:value_end].decode("ascii")
    if tag == 0x17:  # UTCTime YYMMDDHHMMSSZ: years 50-99 are 19xx
        year = int(text[:2])
        text = f"{1900 + year if year >= 50 else 2000 + year}{text[2:]}"
    elif tag != 0x18:  # GeneralizedTime YYYYMMDDHHMMSSZ
        raise ValueError(f"unexpected time tag {tag:#x}")
    return datetime.strptime(text, "%Y%m%d%H%M%SZ").replace(tzinfo=UTC)
