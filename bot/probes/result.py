"""What a probe returns: a value, never an exception; and the stable key that names a probe."""

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

from bot.config.catalog import HttpProbe, IcmpProbe, ServerSpec, TcpProbe

ProbeSpec = IcmpProbe | TcpProbe | HttpProbe
NO_DETAILS: Mapping[str, Any] = MappingProxyType({})
KEY_LENGTH = 200  # probe_states.key and probe_rollups.key are String(200)


@dataclass(slots=True)
class ProbeResult:
    """One check of one probe; `at` is the UTC instant the check started. Read-only by convention.

    Not `frozen`: a frozen dataclass's `__init__` calls `object.__setattr__` once per field,
    which made building the result a tenth of an ICMP probe's CPU (see docs/probes.md).
    """

    key: str
    ok: bool
    at: datetime
    latency: timedelta | None = None
    error: str | None = None  # a catalog key and its values, or text (bot/probes/errors.py)
    details: Mapping[str, Any] = field(default_factory=lambda: NO_DETAILS)


def probe_key(server: ServerSpec, probe: ProbeSpec) -> str:
    """Stable key such as `acme-web-01/icmp`, `acme-web-01/tcp:22`, `acme-web-01/http:<url>`."""
    key = f"{server.id}/{probe.key_part}"  # the catalog refuses two equal parts on one server
    if len(key) <= KEY_LENGTH:
        return key
    # A very long URL: keep a readable prefix and make it unique with a digest of the whole key.
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return f"{key[: KEY_LENGTH - len(digest) - 1]}#{digest}"
