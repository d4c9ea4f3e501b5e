"""A small Slack Web API transport for the outbox: one pooled session, every outcome as data.

slack_sdk's client opens an HTTP session per call and hides the status code and `Retry-After`
behind exceptions; the outbox needs both, cheaply, for every message. Everything else (Bolt,
interactive replies) keeps using slack_sdk.
"""

import enum
import json
from dataclasses import dataclass
from typing import Any

import aiohttp

# Slack errors worth retrying; every other error code is permanent for that message. The last
# two: the workspace is migrating to an Enterprise organization, "intermittently unavailable
# until the transition is complete".
TRANSIENT_ERRORS = frozenset(
    {
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
        "team_added_to_org",
        "org_login_required",
    }
)
# A rate limit told in an ok:false body: `ratelimited` (a 429's body), or `rate_limited`, which
# chat.postMessage and chat.postEphemeral document as "Application has posted too many messages".
RATE_LIMIT_ERRORS = frozenset({"ratelimited", "rate_limited"})
# Errors of the token, not of the message: the whole sender pauses instead of failing messages.
AUTH_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive"}
)


class Outcome(enum.Enum):
    """What the outbox does after a call."""

    OK = "ok"
    # HTTP 429, or a rate limit told in the body: wait `retry_after` seconds (None: not told)
    RATE_LIMITED = "rate_limited"
    TRANSIENT = "transient"  # network error, 5xx, Slack-side trouble: back off and retry
    AUTH = "auth"  # the token is refused: pause everything, lose nothing
    PERMANENT = "permanent"  # this message will never go through as it is


@dataclass(frozen=True)
class ApiResult:
    """One answer: what to do next, Slack's JSON, the error code, the Retry-After seconds."""

    outcome: Outcome
    data: dict[str, Any]
    error: str | None = None
    retry_after: float | None = None


class SlackApi:
    """POSTs JSON to `<base_url><method>` with the bot token; never raises for Slack's answers."""

    def __init__(self, base_url: str, token: str, *, timeout_s: float = 10.0) -> None:
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self._token = token
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    async def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self._timeout,
                connector=aiohttp.TCPConnector(limit=32),
                json_serialize=json.dumps,
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def call(self, method: str, payload: dict[str, Any]) -> ApiResult:
        """Call a Web API method; the outcome says what the caller should do next."""
        headers = {"Authorization": f"Bearer {self._token}"}
        return await self._post(self.base_url + method, payload, headers)

    async def post_response(self, response_url: str, payload: dict[str, Any]) -> ApiResult:
        """POST to an interaction's `response_url` (no token; answers plain `ok` or JSON)."""
        return await self._post(response_url, payload, {})

    async def _post(self, url: str, payload: dict[str, Any], headers: dict[str, str]) -> ApiResult:
        session = await self._client()
        try:
            async with session.post(url, json=payload, headers=headers) as response:
                body = await response.text()
                status = response.status
                retry_after = response.headers.get("Retry-After")
        except (aiohttp.ClientError, TimeoutError) as error:
            return ApiResult(Outcome.TRANSIENT, {}, f"network: {type(error).__name__}: {error}")
        if status == 429:
            return ApiResult(Outcome.RATE_LIMITED, {}, "ratelimited", _seconds(retry_after))
        if status >= 500:
            return ApiResult(Outcome.TRANSIENT, {}, f"http {status}")
        data = _json(body)
        if data is None:
            # response_url answers plain text: "ok", or an error such as 404 "expired_url" or
            # "used_url", which no retry will change. Other non-JSON answers are broken proxies.
            text = body.strip()
            if status == 200 and text in ("ok", ""):
                return ApiResult(Outcome.OK, {})
            if 400 <= status < 500:
                return ApiResult(Outcome.PERMANENT, {}, text[:100] or f"http {status}")
            return ApiResult(Outcome.TRANSIENT, {}, f"http {status}: unexpected body")
        if data.get("ok") is True:
            return ApiResult(Outcome.OK, data)
        code = str(data.get("error", f"http {status}"))
        if code in AUTH_ERRORS:
            return ApiResult(Outcome.AUTH, data, code)
        if code in RATE_LIMIT_ERRORS:
            told = None if retry_after is None else _seconds(retry_after)
            return ApiResult(Outcome.RATE_LIMITED, data, code, told)
        if code in TRANSIENT_ERRORS:
            return ApiResult(Outcome.TRANSIENT, data, code)
        return ApiResult(Outcome.PERMANENT, data, code)


def _seconds(header: str | None) -> float:
    try:
        return max(0.0, float(header)) if header is not None else 1.0
    except ValueError:
        return 1.0


def _json(body: str) -> dict[str, Any] | None:
    try:
        value = json.loads(body)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
