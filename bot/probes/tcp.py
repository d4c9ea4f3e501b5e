"""TCP probe: can a connection to the port be opened within the timeout?"""

import asyncio
import logging
import os
import socket
import time
from datetime import datetime, timedelta

from bot.probes.errors import probe_error
from bot.probes.lookup import HostLookup, connect, is_address
from bot.probes.result import ProbeResult

log = logging.getLogger(__name__)


async def probe_tcp(
    key: str,
    host: str,
    port: int,
    *,
    timeout_s: float,
    at: datetime,
    lookup: HostLookup | None = None,
) -> ProbeResult:
    """Open and close one connection; a refusal or a timeout is a failed result. A host name is
    looked up by `lookup` (the engine's), else on the loop's default executor."""
    started = time.perf_counter()
    resolving = lookup is not None and not is_address(host)
    try:
        async with asyncio.timeout(timeout_s):
            if lookup is not None and resolving:
                infos = await lookup.getaddrinfo(host, port, type=socket.SOCK_STREAM)
                resolving = False
                _reader, writer = await connect(infos, host)
            else:
                _reader, writer = await asyncio.open_connection(host, port)
    except TimeoutError:
        if resolving:  # as the ICMP probe says it: the DNS, not the server, did not answer
            error = probe_error("probe.error.resolve_timeout", host=host, seconds=timeout_s)
        else:
            error = probe_error("probe.error.no_connection", seconds=timeout_s)
        return ProbeResult(key, ok=False, at=at, error=error)
    except socket.gaierror as exc:  # its errno is the resolver's (-2), which strerror() lacks
        error = probe_error("probe.error.resolve", host=host, reason=exc.strerror or str(exc))
        return ProbeResult(key, ok=False, at=at, error=error)
    except OSError as exc:
        return ProbeResult(key, ok=False, at=at, error=describe_os_error(exc))
    latency = timedelta(seconds=time.perf_counter() - started)
    writer.close()
    try:
        await writer.wait_closed()
    except OSError as exc:  # the peer reset the connection we were closing: it did accept it
        log.debug("%s: closing the probe connection: %s", key, exc)
    return ProbeResult(key, ok=True, at=at, latency=latency)


def describe_os_error(exc: OSError) -> str:
    """`Connection refused` rather than asyncio's `Connect call failed ('10.0.0.1', 22)`: the
    system's words, stored as they are (not a catalog key)."""
    if exc.errno:
        return os.strerror(exc.errno)
    return str(exc) or type(exc).__name__
