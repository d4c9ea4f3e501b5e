"""The emulated workspace: its state and the Web API semantics, thread-safe and free of I/O.

Web API methods run on the emulator's event loop while tests read from their own thread, so every
access takes one re-entrant lock; readers get immutable snapshots. A condition on that lock lets
tests wait for the bot (`wait_until`) instead of sleeping.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, NamedTuple, TypeVar

from bot.sandbox.faults import MESSAGE_METHODS, ChannelRateLimiter, Faults
from bot.sandbox.limits import MAX_VIEW_BLOCKS, BlocksError, parse_blocks, text_too_long
from bot.sandbox.records import (
    ApiCall,
    Edit,
    Ephemeral,
    JsonDict,
    Message,
    OpenedView,
    ResponsePost,
)

T = TypeVar("T")
Origin = Literal["slash_command", "block_actions", "view_submission"]
# (channel, thread_ts, ts, text) of a message posted or updated
MessageObserver = Callable[[str, str | None, str, str], None]
# (channel, user_id, ts, text) of an ephemeral message shown to user_id
EphemeralObserver = Callable[[str, str, str, str], None]
# a modal the bot opened with views.open
ViewObserver = Callable[[OpenedView], None]
# what a call changed, told to the observers once the lock is released
Note = Message | Ephemeral | OpenedView

APP_TOKEN_METHODS = frozenset({"apps.connections.open"})
RESPONSE_URL_MAX_USES = 5  # Slack accepts five posts per response_url…
RESPONSE_URL_TTL_S = 30 * 60.0  # …within 30 minutes of the interaction


class ApiResult(NamedTuple):
    """An HTTP answer of the Web API: status, JSON body, extra headers."""

    status: int
    body: JsonDict
    headers: dict[str, str]


class ApiError(Exception):
    """A Web API call Slack would answer with ok:false `error`."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


class RateLimitedError(Exception):
    """A Web API call Slack would answer with HTTP 429."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"ratelimited, retry after {retry_after}s")
        self.retry_after = retry_after


@dataclass
class _Channel:
    id: str
    name: str
    is_member: bool = True
    is_im: bool = False
    users: tuple[str, ...] = ()
    is_archived: bool = False


@dataclass
class _User:
    id: str
    name: str
    real_name: str
    tz: str
    is_bot: bool
    email: str | None


@dataclass
class _ResponseUrl:
    id: str
    origin: Origin
    channel: str | None
    user: str
    source_ts: str | None
    uses: int = 0
    issued_at: float = 0.0  # monotonic


@dataclass
class _Trigger:
    user: str
    issued_at: float
    used: bool = False


@dataclass
class _State:
    bot_token: str
    app_token: str
    signing_secret: str
    team_id: str
    team_domain: str
    bot_user_id: str
    bot_id: str
    bot_name: str
    app_id: str
    trigger_ttl_s: float
    response_url_ttl_s: float
    wall_clock: Callable[[], float]
    monotonic: Callable[[], float]
    limiter: ChannelRateLimiter
    rate_limit: bool
    lock: threading.RLock = field(default_factory=threading.RLock)
    changed: threading.Condition = field(init=False)
    base_url: str | None = None
    last_ts_us: int = 0
    channels: dict[str, _Channel] = field(default_factory=dict)
    users: dict[str, _User] = field(default_factory=dict)
    usergroups: dict[str, list[str]] = field(default_factory=dict)
    messages: dict[str, list[Message]] = field(default_factory=dict)
    ephemerals: list[Ephemeral] = field(default_factory=list)
    responses: list[ResponsePost] = field(default_factory=list)
    response_urls: dict[str, _ResponseUrl] = field(default_factory=dict)
    triggers: dict[str, _Trigger] = field(default_factory=dict)
    views: list[OpenedView] = field(default_factory=list)
    calls: list[ApiCall] = field(default_factory=list)
    tickets: set[str] = field(default_factory=set)
    faults: Faults = field(default_factory=Faults)
    message_observers: list[MessageObserver] = field(default_factory=list)
    ephemeral_observers: list[EphemeralObserver] = field(default_factory=list)
    view_observers: list[ViewObserver] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.changed = threading.Condition(self.lock)


STATE_VERSION = 1  # of the file `Workspace.save` writes


class Workspace:
    """One Slack workspace with one installed bot: seed it, break it, read what the bot did.

    Rate limiting follows Slack's documented "1 message per second per channel, short bursts
    allowed" for chat.postMessage: a token bucket of `burst` messages refilled at 1/s per channel
    (see ChannelRateLimiter). Tokens, signing secret and ids are exposed as attributes; tokens and
    secret are random unless given.
    """

    _s: _State

    def __init__(
        self,
        *,
        bot_token: str | None = None,
        app_token: str | None = None,
        signing_secret: str | None = None,
        team_id: str = "T0SANDBOX",
        team_domain: str = "sandbox",
        bot_user_id: str = "U0SUPPORTBOT",
        bot_id: str = "B0SUPPORTBOT",
        bot_name: str = "supportbot",
        app_id: str = "A0SUPPORTBOT",
        rate_limit: bool = True,
        burst: int = 3,
        trigger_ttl_s: float = 3.0,
        response_url_ttl_s: float = RESPONSE_URL_TTL_S,
        wall_clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._s = _State(
            bot_token=bot_token or f"xoxb-{secrets.token_hex(12)}",
            app_token=app_token or f"xapp-1-{app_id}-{secrets.token_hex(12)}",
            signing_secret=signing_secret or secrets.token_hex(16),
            team_id=team_id,
            team_domain=team_domain,
            bot_user_id=bot_user_id,
            bot_id=bot_id,
            bot_name=bot_name,
            app_id=app_id,
            trigger_ttl_s=trigger_ttl_s,
            response_url_ttl_s=response_url_ttl_s,
            wall_clock=wall_clock,
            monotonic=monotonic,
            limiter=ChannelRateLimiter(per_second=1.0, burst=burst),
            rate_limit=rate_limit,
        )
        self._s.users[bot_user_id] = _User(bot_user_id, bot_name, bot_name, "UTC", True, None)

    # -- persistence (the local mode keeps its Slack across restarts) ------------------------

    def save(self, path: Path) -> None:
        """Write what a restarted workspace must still hold to `path`, atomically: channels,
        users and messages (with their edits), so that the bot's threads and edits of messages
        it posted before a restart still find them."""
        with self._s.lock:
            state = {
                "version": STATE_VERSION,
                "last_ts_us": self._s.last_ts_us,
                "channels": [asdict(channel) for channel in self._s.channels.values()],
                "users": [asdict(user) for user in self._s.users.values()],
                "messages": [asdict(m) for stored in self._s.messages.values() for m in stored],
            }
        partial = path.with_name(f"{path.name}.partial")
        partial.write_text(json.dumps(state))
        partial.replace(path)

    def state_mark(self) -> tuple[int, int, int]:
        """Changes when what `save` writes does: the last ts, the messages and their edits."""
        with self._s.lock:
            stored = [m for messages in self._s.messages.values() for m in messages]
            return self._s.last_ts_us, len(stored), sum(len(m.edits) for m in stored)

    def load(self, path: Path) -> int:
        """Restore what `save` wrote to `path`, before any other change; the number of
        messages restored. ValueError if the file is not such a state."""
        state = json.loads(path.read_text())
        if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
            raise ValueError(f"{path} is not a saved workspace (version {STATE_VERSION})")
        try:
            channels = [_Channel(**{**c, "users": tuple(c["users"])}) for c in state["channels"]]
            users = [_User(**user) for user in state["users"]]
            messages = [
                Message(**{**m, "edits": tuple(Edit(**edit) for edit in m["edits"])})
                for m in state["messages"]
            ]
            last_ts_us = int(state["last_ts_us"])
        except (KeyError, TypeError) as error:
            raise ValueError(f"{path} is not a saved workspace: {error!r}") from None
        with self._s.lock:
            self._s.last_ts_us = max(self._s.last_ts_us, last_ts_us)
            for channel in channels:
                self._s.channels[channel.id] = channel
                self._s.messages.setdefault(channel.id, [])
            self._s.users.update((user.id, user) for user in users)
            for message in messages:
                self._s.messages.setdefault(message.channel, []).append(message)
        return len(messages)

    # -- identity --------------------------------------------------------------------------

    @property
    def bot_token(self) -> str:
        """The bot token (xoxb-…) the Web API accepts."""
        return self._s.bot_token

    @property
    def app_token(self) -> str:
        """The app-level token (xapp-…) apps.connections.open accepts."""
        return self._s.app_token

    @property
    def signing_secret(self) -> str:
        """The secret the emulator signs requests to the bot with."""
        return self._s.signing_secret

    @property
    def team_id(self) -> str:
        """The workspace id."""
        return self._s.team_id

    @property
    def bot_user_id(self) -> str:
        """The bot's user id: the author of every message it posts."""
        return self._s.bot_user_id

    @property
    def bot_id(self) -> str:
        """The bot's bot id."""
        return self._s.bot_id

    @property
    def app_id(self) -> str:
        """The app id (api_app_id in payloads)."""
        return self._s.app_id

    @property
    def base_url(self) -> str:
        """The server's root URL, e.g. "http://127.0.0.1:PORT/"; only once started."""
        if self._s.base_url is None:
            raise RuntimeError("the emulator is not started")
        return self._s.base_url

    @property
    def api_url(self) -> str:
        """The Web API base URL to give slack_sdk clients as base_url."""
        return f"{self.base_url}api/"

    # -- seeding ---------------------------------------------------------------------------

    def add_channel(
        self, channel_id: str, name: str | None = None, *, is_member: bool = True
    ) -> None:
        """Create a channel; with is_member=False the bot is not in it (`not_in_channel`)."""
        with self._s.lock:
            self._s.channels[channel_id] = _Channel(
                channel_id, name or channel_id.lower(), is_member
            )
            self._s.messages.setdefault(channel_id, [])

    def set_membership(self, channel_id: str, *, is_member: bool) -> None:
        """Add the bot to, or remove it from, a channel."""
        with self._s.lock:
            self._channel(channel_id).is_member = is_member

    def archive_channel(self, channel_id: str) -> None:
        """Archive a channel: posts to it are refused with `is_archived`, as Slack does."""
        with self._s.lock:
            self._channel(channel_id).is_archived = True

    def delete_message(self, channel_id: str, ts: str) -> None:
        """A member (or an admin) deletes message `ts` in Slack: chat.update of it is then
        answered `message_not_found`. KeyError if there is no such message."""
        with self._s.lock:
            message = self._find(channel_id, ts)
            if message is None:
                raise KeyError(f"no message {ts} in {channel_id}")
            self._s.messages[channel_id].remove(message)
            self._s.changed.notify_all()

    def add_user(
        self,
        user_id: str,
        name: str | None = None,
        *,
        real_name: str | None = None,
        tz: str = "Europe/Paris",
        is_bot: bool = False,
        email: str | None = None,
    ) -> None:
        """Create (or replace) a workspace member."""
        handle = name or user_id.lower()
        with self._s.lock:
            self._s.users[user_id] = _User(user_id, handle, real_name or handle, tz, is_bot, email)

    def ensure_user(self, user_id: str) -> None:
        """Create the user with default attributes unless it exists."""
        with self._s.lock:
            if user_id not in self._s.users:
                self.add_user(user_id)

    def add_usergroup(self, usergroup_id: str, user_ids: Iterable[str]) -> None:
        """Create (or replace) a user group (e.g. the on-call group) and its members."""
        members = list(user_ids)
        with self._s.lock:
            for user_id in members:
                self.ensure_user(user_id)
            self._s.usergroups[usergroup_id] = members

    def open_dm(self, user_id: str) -> str:
        """The id of the bot's DM channel with a user ("D…", stable), creating it if needed."""
        with self._s.lock:
            return self._open_conversation((user_id,))

    # -- knobs -----------------------------------------------------------------------------

    @property
    def rate_limit(self) -> bool:
        """Whether chat.postMessage is rate limited per channel."""
        return self._s.rate_limit

    @rate_limit.setter
    def rate_limit(self, enabled: bool) -> None:
        with self._s.lock:
            self._s.rate_limit = enabled
            self._s.limiter.reset()

    def inject_429(
        self,
        ratio: float = 0.3,
        retry_after: tuple[int, int] = (1, 5),
        *,
        seed: int | None = None,
        methods: str | Iterable[str] | None = MESSAGE_METHODS,
    ) -> None:
        """Answer a random `ratio` of calls to `methods` (None: all) with 429 + Retry-After."""
        with self._s.lock:
            self._s.faults.inject_429(
                ratio=ratio, retry_after=retry_after, seed=seed, methods=methods
            )

    def inject_error(
        self, method: str | Iterable[str], error: str, *, times: int | None = 1
    ) -> None:
        """Answer the next `times` calls to `method` with ok:false `error` (None: until cleared)."""
        with self._s.lock:
            self._s.faults.inject_error(method, error, times=times)

    def inject_http_status(
        self,
        status: int = 500,
        *,
        times: int | None = 1,
        methods: str | Iterable[str] | None = None,
    ) -> None:
        """Answer the next `times` calls to `methods` (None: all) with HTTP `status`."""
        with self._s.lock:
            self._s.faults.inject_http_status(status, times=times, methods=methods)

    def stall(self, channel: str) -> None:
        """Hold every Web API answer about `channel` (a hung Slack) until `release()`; the other
        channels are answered as usual. A user group's id holds `usergroups.users.list` of it.
        `stalled_calls` counts the calls being held."""
        with self._s.lock:
            self._s.faults.stall(channel)

    def release(self, channel: str | None = None) -> None:
        """Answer the calls held by `stall(channel)` (None: every channel)."""
        with self._s.lock:
            self._s.faults.release(channel)

    @property
    def stalled_calls(self) -> int:
        """How many calls are being held by `stall()` right now."""
        return self._s.faults.stalled_calls

    def clear_faults(self) -> None:
        """Remove every injected fault."""
        with self._s.lock:
            self._s.faults.clear()

    def on_message(self, callback: MessageObserver) -> None:
        """Call `callback(channel, thread_ts, ts, text)` for every message posted or updated."""
        with self._s.lock:
            self._s.message_observers.append(callback)

    def on_ephemeral(self, callback: EphemeralObserver) -> None:
        """Call `callback(channel, user_id, ts, text)` for every ephemeral message shown."""
        with self._s.lock:
            self._s.ephemeral_observers.append(callback)

    def on_view(self, callback: ViewObserver) -> None:
        """Call `callback(view)` for every modal the bot opens."""
        with self._s.lock:
            self._s.view_observers.append(callback)

    # -- reading ---------------------------------------------------------------------------

    def messages(self, channel: str) -> list[Message]:
        """Roots and replies of a channel (current versions), in posting order."""
        with self._s.lock:
            return list(self._s.messages.get(self._resolve_for_read(channel), []))

    def roots(self, channel: str) -> list[Message]:
        """The channel's root messages, in posting order."""
        return [m for m in self.messages(channel) if m.thread_ts is None]

    def message(self, channel: str, ts: str) -> Message:
        """The current version of one message; KeyError if there is none with that ts."""
        with self._s.lock:
            found = self._find(self._resolve_for_read(channel), ts)
            if found is None:
                raise KeyError(f"no message {ts} in {channel}")
            return found

    def root(self, channel: str, ts: str) -> Message:
        """The root of the thread `ts` belongs to (the message itself if it is a root)."""
        found = self.message(channel, ts)
        return found if found.thread_ts is None else self.message(channel, found.thread_ts)

    def thread(self, channel: str, ts: str) -> list[Message]:
        """A thread: its root first, then the replies in posting order."""
        root = self.root(channel, ts)
        replies = [m for m in self.messages(channel) if m.thread_ts == root.ts]
        return [root, *replies]

    def dms(self, user_id: str) -> list[Message]:
        """Messages the bot sent in its DM with a user."""
        with self._s.lock:
            channel_id = self._dm_id((user_id,))
            return list(self._s.messages.get(channel_id, []))

    def ephemerals(self, user_id: str | None = None, channel: str | None = None) -> list[Ephemeral]:
        """Ephemeral messages, optionally only those shown to `user_id` or in `channel`."""
        with self._s.lock:
            return [
                e
                for e in self._s.ephemerals
                if (user_id is None or e.user == user_id)
                and (channel is None or e.channel == channel)
            ]

    def responses(
        self, user_id: str | None = None, channel: str | None = None
    ) -> list[ResponsePost]:
        """Posts the bot made to response_urls, optionally filtered."""
        with self._s.lock:
            return [
                r
                for r in self._s.responses
                if (user_id is None or r.user == user_id)
                and (channel is None or r.channel == channel)
            ]

    def views(self, user_id: str | None = None) -> list[OpenedView]:
        """Modals the bot opened, optionally only for one user."""
        with self._s.lock:
            return [v for v in self._s.views if user_id is None or v.user == user_id]

    @property
    def calls(self) -> list[ApiCall]:
        """Every Web API call answered so far, in order."""
        with self._s.lock:
            return list(self._s.calls)

    def calls_to(self, method: str) -> list[ApiCall]:
        """The answered calls to one Web API method."""
        return [c for c in self.calls if c.method == method]

    def early_retries(self) -> list[ApiCall]:
        """Calls made to a channel before the Retry-After of an earlier 429 for it had elapsed."""
        early: list[ApiCall] = []
        blocked_until: dict[str, float] = {}
        for call in self.calls:
            if call.channel is None:
                continue
            if call.at < blocked_until.get(call.channel, float("-inf")):
                early.append(call)
            if call.status == 429 and call.retry_after is not None:
                blocked_until[call.channel] = call.at + call.retry_after
        return early

    def wait_until(self, predicate: Callable[[], T | None], timeout_s: float = 5.0) -> T:
        """Block until `predicate()` is truthy and return it; TimeoutError after `timeout_s`.

        Wakes on every state change; call it from a test thread, never from the emulator's loop.
        """
        deadline = time.monotonic() + timeout_s
        with self._s.changed:
            while True:
                result = predicate()
                if result:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"condition not met within {timeout_s}s")
                self._s.changed.wait(remaining)

    def wait_for_messages(self, channel: str, count: int, timeout_s: float = 5.0) -> list[Message]:
        """Wait until `channel` holds at least `count` messages and return them all."""
        return self.wait_until(
            lambda: ms if len(ms := self.messages(channel)) >= count else None, timeout_s
        )

    # -- what the server and driver use --------------------------------------------------------

    def issue_trigger_id(self, user_id: str) -> str:
        """A fresh trigger_id for an interaction by `user_id`, valid for views.open."""
        with self._s.lock:
            now = self._s.wall_clock()
            trigger_id = f"{int(now)}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"
            self._s.triggers[trigger_id] = _Trigger(user_id, self._s.monotonic())
            return trigger_id

    def issue_response_url(
        self, origin: Origin, *, user_id: str, channel: str | None, source_ts: str | None = None
    ) -> str:
        """A fresh response_url served by the emulator, bound to an interaction."""
        url_id = secrets.token_urlsafe(18)
        with self._s.lock:
            self._s.response_urls[url_id] = _ResponseUrl(
                url_id, origin, channel, user_id, source_ts, issued_at=self._s.monotonic()
            )
            return f"{self.base_url}response/{url_id}"

    def issue_socket_ticket(self) -> str:
        """A one-use ticket for the Socket Mode WebSocket URL."""
        ticket = secrets.token_urlsafe(18)
        with self._s.lock:
            self._s.tickets.add(ticket)
        return ticket

    def redeem_socket_ticket(self, ticket: str) -> bool:
        """Whether `ticket` was issued and not used yet (it is used up)."""
        with self._s.lock:
            if ticket in self._s.tickets:
                self._s.tickets.discard(ticket)
                return True
            return False

    def user_name(self, user_id: str) -> str:
        """A user's handle (the id lowercased if unknown)."""
        with self._s.lock:
            user = self._s.users.get(user_id)
            return user.name if user else user_id.lower()

    def channel_name(self, channel_id: str) -> str:
        """A channel's name ("directmessage" for DMs, the id lowercased if unknown)."""
        with self._s.lock:
            channel = self._s.channels.get(channel_id)
            if channel is None:
                return channel_id.lower()
            return "directmessage" if channel.is_im else channel.name

    def call(self, method: str, params: JsonDict, token: str | None) -> ApiResult:
        """Answer one Web API call as Slack would, and log it in `calls`."""
        params = {k: v for k, v in params.items() if k != "token"}
        notes: list[Note] = []
        with self._s.lock:
            channel = str(params.get("channel") or "") or None
            retry_after: int | None = None
            status = 200
            headers: dict[str, str] = {}
            try:
                body = self._answer(method, params, token, notes)
            except RateLimitedError as exc:
                status, retry_after = 429, exc.retry_after
                headers["Retry-After"] = str(exc.retry_after)
                body = {"ok": False, "error": "ratelimited"}
            except ApiError as exc:
                body = {"ok": False, "error": exc.error, **exc.extra}
            except _HttpStatusError as exc:
                status, body = exc.status, {"ok": False, "error": "internal_error"}
            if isinstance(body.get("channel"), str):
                channel = body["channel"]
            self._s.calls.append(
                ApiCall(
                    method=method,
                    at=self._s.monotonic(),
                    params=params,
                    status=status,
                    ok=bool(body.get("ok")),
                    error=body.get("error"),
                    channel=channel,
                    retry_after=retry_after,
                )
            )
            self._s.changed.notify_all()
        self._notify(notes)
        return ApiResult(status, body, headers)

    def post_response(self, url_id: str, body: JsonDict) -> tuple[int, str]:
        """Handle a POST to a response_url: record it and apply it; (HTTP status, body text)."""
        notes: list[Note] = []
        with self._s.lock:
            result = self._post_response(url_id, body, notes)
            self._s.changed.notify_all()
        self._notify(notes)
        return result

    # -- internals -----------------------------------------------------------------------------

    def _notify(self, notes: list[Note]) -> None:
        # Observers run outside the lock so they may read the workspace.
        for note in notes:
            if isinstance(note, Message):
                for on_message in list(self._s.message_observers):
                    on_message(note.channel, note.thread_ts, note.ts, note.text)
            elif isinstance(note, OpenedView):
                for on_view in list(self._s.view_observers):
                    on_view(note)
            else:
                for on_ephemeral in list(self._s.ephemeral_observers):
                    on_ephemeral(note.channel, note.user, note.ts, note.text)

    def _answer(
        self, method: str, params: JsonDict, token: str | None, notes: list[Note]
    ) -> JsonDict:
        faults = self._s.faults
        status = faults.status_for(method)
        if status is not None:
            raise _HttpStatusError(status)
        handler = _METHODS.get(method)
        if handler is None:
            raise ApiError("unknown_method", req_method=method)
        self._authenticate(method, token)
        error = faults.error_for(method)
        if error is not None:
            raise ApiError(error)
        retry_after = faults.retry_after_for(method)
        if retry_after is not None:
            raise RateLimitedError(retry_after)
        return handler(self, params, notes)

    def _authenticate(self, method: str, token: str | None) -> None:
        expected, other = self._s.bot_token, self._s.app_token
        if method in APP_TOKEN_METHODS:
            expected, other = other, expected
        if not token:
            raise ApiError("not_authed")
        if token == other:
            raise ApiError("not_allowed_token_type")
        if not secrets.compare_digest(token.encode(), expected.encode()):
            raise ApiError("invalid_auth")

    def _next_ts(self) -> str:
        now_us = int(self._s.wall_clock() * 1_000_000)
        self._s.last_ts_us = max(now_us, self._s.last_ts_us + 1)
        seconds, micros = divmod(self._s.last_ts_us, 1_000_000)
        return f"{seconds}.{micros:06d}"

    def _channel(self, channel_id: str) -> _Channel:
        channel = self._s.channels.get(channel_id)
        if channel is None:
            raise KeyError(f"unknown channel {channel_id}")
        return channel

    def _dm_id(self, users: tuple[str, ...]) -> str:
        digest = hashlib.sha256(",".join(sorted(users)).encode()).hexdigest()[:10].upper()
        return ("D" if len(users) == 1 else "G") + digest

    def _open_conversation(self, users: tuple[str, ...]) -> str:
        for user_id in users:
            if user_id not in self._s.users:
                raise ApiError("user_not_found")
        channel_id = self._dm_id(users)
        if channel_id not in self._s.channels:
            name = "mpdm-" + "--".join(self._s.users[u].name for u in users)
            self._s.channels[channel_id] = _Channel(channel_id, name, True, len(users) == 1, users)
            self._s.messages[channel_id] = []
        return channel_id

    def _resolve_for_read(self, channel: str) -> str:
        if channel in self._s.channels:
            return channel
        if channel[:1] in ("U", "W") and channel in self._s.users:
            return self._dm_id((channel,))
        name = channel.removeprefix("#")
        return next((c.id for c in self._s.channels.values() if c.name == name), channel)

    def _resolve(self, channel: str, *, post: bool) -> str:
        """The channel id a Web API `channel` argument designates, as Slack resolves it."""
        if not channel:
            raise ApiError("channel_not_found")
        if channel[:1] in ("U", "W") and channel not in self._s.channels:
            if channel not in self._s.users:
                raise ApiError("channel_not_found")
            return self._open_conversation((channel,))
        channel_id = self._resolve_for_read(channel)
        found = self._s.channels.get(channel_id)
        if found is None:
            raise ApiError("channel_not_found")
        if post and found.is_archived:
            raise ApiError("is_archived")
        if post and not found.is_member:
            raise ApiError("not_in_channel")
        return channel_id

    def _find(self, channel_id: str, ts: str) -> Message | None:
        return next((m for m in self._s.messages.get(channel_id, []) if m.ts == ts), None)

    def _content(
        self, params: JsonDict, *, required: bool = True
    ) -> tuple[str | None, list[JsonDict] | None]:
        """(text, blocks) of a message call, None where absent; raises Slack's errors."""
        raw_text = params.get("text")
        text = None if raw_text is None else str(raw_text)
        blocks: list[JsonDict] | None = None
        if "blocks" in params and params["blocks"] is not None:
            try:
                blocks = parse_blocks(params["blocks"])
            except BlocksError as exc:
                raise ApiError(
                    "invalid_blocks",
                    errors=list(exc.messages),
                    response_metadata={"messages": [f"[ERROR] {m}" for m in exc.messages]},
                ) from exc
        if text is not None and text_too_long(text):
            raise ApiError("msg_too_long")
        if required and not text and not blocks and not params.get("attachments"):
            raise ApiError("no_text")
        return text, blocks

    def _thread_root(self, channel_id: str, thread_ts: Any) -> str | None:
        if thread_ts in (None, ""):
            return None
        parent = self._find(channel_id, str(thread_ts))
        if parent is None:
            raise ApiError("thread_not_found")
        # Replying to a reply lands in the same thread, like Slack.
        return parent.thread_ts or parent.ts

    def _add_message(self, message: Message, notes: list[Note]) -> Message:
        self._s.messages.setdefault(message.channel, []).append(message)
        notes.append(message)
        return message

    def _replace_message(
        self,
        old: Message,
        text: str | None,
        blocks: list[JsonDict] | None,
        notes: list[Note],
    ) -> Message:
        edit = Edit(old.text, old.blocks, self._s.wall_clock())
        new = replace(
            old,
            text=old.text if text is None else text,
            blocks=old.blocks if blocks is None else blocks,
            edits=(*old.edits, edit),
        )
        stored = self._s.messages[old.channel]
        stored[stored.index(old)] = new
        notes.append(new)
        return new

    def _bot_message(
        self,
        channel_id: str,
        text: str | None,
        blocks: list[JsonDict] | None,
        thread_ts: str | None,
        *,
        reply_broadcast: bool = False,
    ) -> Message:
        return Message(
            channel=channel_id,
            ts=self._next_ts(),
            text=text or "",
            blocks=blocks or [],
            thread_ts=thread_ts,
            user=self._s.bot_user_id,
            bot_id=self._s.bot_id,
            reply_broadcast=reply_broadcast and thread_ts is not None,
            posted_at=self._s.wall_clock(),
        )

    def _message_body(self, message: Message) -> JsonDict:
        body = message.to_payload()
        body.update(team=self._s.team_id, app_id=self._s.app_id)
        return body

    # -- Web API methods -------------------------------------------------------------------------

    def _auth_test(self, params: JsonDict, notes: list[Note]) -> JsonDict:
        return {
            "ok": True,
            "url": f"https://{self._s.team_domain}.slack.com/",
            "team": self._s.team_domain.capitalize(),
            "user": self._s.bot_name,
            "team_id": self._s.team_id,
            "user_id": self._s.bot_user_id,
            "bot_id": self._s.bot_id,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, params: JsonDict, notes: list[Note]) -> JsonDict:
        channel_id = self._resolve(str(params.get("channel") or ""), post=True)
        if self._s.rate_limit:
            retry_after = self._s.limiter.acquire(channel_id, self._s.monotonic())
            if retry_after is not None:
                raise RateLimitedError(retry_after)
        text, blocks = self._content(params)
        thread_ts = self._thread_root(channel_id, params.get("thread_ts"))
        message = self._bot_message(
            channel_id,
            text,
            blocks,
            thread_ts,
            reply_broadcast=_flag(params.get("reply_broadcast")),
        )
        self._add_message(message, notes)
        return {
            "ok": True,
            "channel": channel_id,
            "ts": message.ts,
            "message": self._message_body(message),
        }

    def _chat_update(self, params: JsonDict, notes: list[Note]) -> JsonDict:
        channel_id = self._resolve(str(params.get("channel") or ""), post=False)
        old = self._find(channel_id, str(params.get("ts") or ""))
        if old is None:
            raise ApiError("message_not_found")
        if old.user != self._s.bot_user_id:
            raise ApiError("cant_update_message")
        text, blocks = self._content(params, required=False)
        if text is None and blocks is None:
            raise ApiError("no_text")
        new = self._replace_message(old, text, blocks, notes)
        return {
            "ok": True,
            "channel": channel_id,
            "ts": new.ts,
            "text": new.text,
            "message": self._message_body(new),
        }

    def _chat_post_ephemeral(self, params: JsonDict, notes: list[Note]) -> JsonDict:
        channel_id = self._resolve(str(params.get("channel") or ""), post=True)
        user_id = str(params.get("user") or "")
        if user_id not in self._s.users:
            raise ApiError("user_not_in_channel")
        text, blocks = self._content(params)
        ephemeral = Ephemeral(
            channel=channel_id,
            ts=self._next_ts(),
            user=user_id,
            text=text or "",
            blocks=blocks or [],
            thread_ts=str(params["thread_ts"]) if params.get("thread_ts") else None,
            posted_at=self._s.wall_clock(),
        )
        self._s.ephemerals.append(ephemeral)
        notes.append(ephemeral)
        return {"ok": True, "message_ts": ephemeral.ts}

    def _conversations_open(self, params: JsonDict, notes: list[Note]) -> JsonDict:
        if params.get("channel"):
            channel_id = self._resolve(str(params["channel"]), post=False)
            return {"ok": True, "channel": {"id": channel_id}}
        raw = params.get("users") or ""
        users = tuple(raw) if isinstance(raw, list) else tuple(u for u in str(raw).split(",") if u)
        if not users:
            raise ApiError("users_list_not_supplied")
        already_open = self._dm_id(users) in self._s.channels
        channel_id = self._open_conversation(users)
        return {
            "ok": True,
            "no_op": already_open,
            "already_open": already_open,
            "channel": {"id": channel_id},
        }

    def _conversations_info(self, params: JsonDict, notes: list[Note]) -> JsonDict:
        channel = self._s.channels.get(str(params.get("channel") or ""))
        if channel is None:
            raise ApiError("channel_not_found")
        return {
            "ok": True,
            "channel": {
                "id": channel.id,
                "name": channel.name,
                "is_channel": not channel.is_im and channel.id.startswith("C"),
                "is_im": channel.is_im,
                "is_member": channel.is_member,
                "user": channel.users[0] if channel.is_im else None,
            },
        }

    def _users_info(self, params: JsonDict, notes: list[Note]) -> JsonDict:
        user = self._s.users.get(str(params.get("user") or ""))
        if user is None:
            raise ApiError("user_not_found")
        profile: JsonDict = {"real_name": user.real_name, "display_name": user.name}
        if user.email is not None:
            profile["email"] = user.email
        return {
            "ok": True,
            "user": {
                "id": user.id,
                "team_id": self._s.team_id,
                "name": user.name,
                "real_name": user.real_name,
                "tz": user.tz,
                "is_bot": user.is_bot,
                "deleted": False,
                "profile": profile,
            },
        }

    def _usergroups_users_list(self, params: JsonDict, notes: list[Note]) -> JsonDict:
        members = self._s.usergroups.get(str(params.get("usergroup") or ""))
        if members is None:
            raise ApiError("no_such_subteam")
        return {"ok": True, "users": list(members)}

    def _views_open(self, params: JsonDict, notes: list[Note]) -> JsonDict:
        trigger_id = str(params.get("trigger_id") or "")
        trigger = self._s.triggers.get(trigger_id)
        if trigger is None:
            raise ApiError("invalid_trigger_id")
        if trigger.used:
            raise ApiError("exchanged_trigger_id")
        if self._s.monotonic() - trigger.issued_at > self._s.trigger_ttl_s:
            raise ApiError("expired_trigger_id")
        view = params.get("view")
        if isinstance(view, str):
            try:
                view = json.loads(view)
            except json.JSONDecodeError as exc:
                raise ApiError("invalid_arguments") from exc
        if not isinstance(view, dict) or view.get("type") != "modal" or "title" not in view:
            raise ApiError("invalid_arguments")
        try:
            view["blocks"] = parse_blocks(view.get("blocks"), max_blocks=MAX_VIEW_BLOCKS)
        except BlocksError as exc:
            raise ApiError("invalid_arguments", errors=list(exc.messages)) from exc
        trigger.used = True
        view_id = "V" + secrets.token_hex(5).upper()
        opened = OpenedView(view_id, trigger_id, trigger.user, view, self._s.wall_clock())
        self._s.views.append(opened)
        notes.append(opened)
        full = {
            "id": view_id,
            "team_id": self._s.team_id,
            "app_id": self._s.app_id,
            "bot_id": self._s.bot_id,
            "private_metadata": "",
            "callback_id": "",
            "state": {"values": {}},
            "hash": secrets.token_hex(8),
            "root_view_id": view_id,
            "previous_view_id": None,
            **view,
        }
        return {"ok": True, "view": full}

    def _apps_connections_open(self, params: JsonDict, notes: list[Note]) -> JsonDict:
        ws_root = self.base_url.replace("http://", "ws://", 1)
        ticket = self.issue_socket_ticket()
        return {"ok": True, "url": f"{ws_root}link/?ticket={ticket}&app_id={self._s.app_id}"}

    # -- response_url ----------------------------------------------------------------------------

    def _post_response(self, url_id: str, body: JsonDict, notes: list[Note]) -> tuple[int, str]:
        target = self._s.response_urls.get(url_id)
        if target is None or self._s.monotonic() - target.issued_at > self._s.response_url_ttl_s:
            return 404, "expired_url"
        if target.uses >= RESPONSE_URL_MAX_USES:
            return 404, "used_url"
        target.uses += 1
        try:
            text, blocks = self._content(body, required=False)
        except ApiError as exc:
            return 400, exc.error
        response_type = str(body.get("response_type") or "ephemeral")
        replace_original = _flag(body.get("replace_original"))
        delete_original = _flag(body.get("delete_original"))
        thread_ts = str(body["thread_ts"]) if body.get("thread_ts") else None
        self._s.responses.append(
            ResponsePost(
                url=f"{self.base_url}response/{url_id}",
                origin=target.origin,
                channel=target.channel,
                user=target.user,
                response_type=response_type,
                text=text or "",
                blocks=blocks or [],
                replace_original=replace_original,
                delete_original=delete_original,
                thread_ts=thread_ts,
                posted_at=self._s.wall_clock(),
            )
        )
        source = (
            self._find(target.channel, target.source_ts)
            if target.channel is not None and target.source_ts is not None
            else None
        )
        if delete_original and source is not None:
            self._s.messages[source.channel].remove(source)
        elif replace_original and source is not None:
            self._replace_message(source, text, blocks, notes)
        elif response_type == "in_channel":
            if target.channel is None or target.channel not in self._s.channels:
                return 404, "channel_not_found"
            self._add_message(self._bot_message(target.channel, text, blocks, thread_ts), notes)
        elif not delete_original:
            ephemeral = Ephemeral(
                channel=target.channel or "",
                ts=self._next_ts(),
                user=target.user,
                text=text or "",
                blocks=blocks or [],
                thread_ts=thread_ts,
                source="response_url",
                posted_at=self._s.wall_clock(),
            )
            self._s.ephemerals.append(ephemeral)
            notes.append(ephemeral)
        return 200, "ok"


class _HttpStatusError(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() in ("true", "1", "yes")
    return bool(value)


_Handler = Callable[[Workspace, JsonDict, list[Note]], JsonDict]
_METHODS: dict[str, _Handler] = {
    "auth.test": Workspace._auth_test,
    "chat.postMessage": Workspace._chat_post_message,
    "chat.update": Workspace._chat_update,
    "chat.postEphemeral": Workspace._chat_post_ephemeral,
    "conversations.open": Workspace._conversations_open,
    "conversations.info": Workspace._conversations_info,
    "users.info": Workspace._users_info,
    "usergroups.users.list": Workspace._usergroups_users_list,
    "views.open": Workspace._views_open,
    "apps.connections.open": Workspace._apps_connections_open,
}
