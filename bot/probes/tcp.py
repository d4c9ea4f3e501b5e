"""TCP probe: can a connection to the port be opened within the timeout?"""

import asyncio
import logging
import os
import socket
import time
from datetime import datetime, timedelta

from bot.probes.result import ProbeResult

log = logging.getLogger(__name__)


async def probe_tcp(
    key: str, host: str, port: int, *, timeout_s: float, at: datetime
) -> ProbeResult:
    """Open and close one connection; a refusal or a timeout is a failed result."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout_s):
            _reader, writer = await asyncio.open_connection(host, port)
    except TimeoutError:
        return ProbeResult(key, ok=False, at=at, error=f"timeout: no connection in {timeout_s:g} s")
    except socket.gaierror as exc:  # its errno is the resolver's (-2), which strerror() lacks
        error = f"cannot resolve {host}: {exc.strerror or exc}"
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
    """`Connection refused` rather than asyncio's `Connect call failed ('10.0.0.1', 22)`."""
    if exc.errno:
        return os.strerror(exc.errno)
    return str(exc) or type(exc).__name__
