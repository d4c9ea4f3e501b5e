"""The local Slack: a real aiohttp server speaking the Web API, response_urls and Socket Mode.

Point slack_sdk clients at `api_url` (base_url), Bolt's Socket Mode handler at the same client,
and HTTP-mode bots at nothing: the emulator signs and sends requests to `bot_url` itself.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from typing import Any, TypedDict, Unpack
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from bot.sandbox import driver
from bot.sandbox.records import BotReply, JsonDict, OpenedView, Via
from bot.sandbox.socket_mode import SocketModeHub
from bot.sandbox.workspace import Workspace

FORM = "application/x-www-form-urlencoded"


class WorkspaceOptions(TypedDict, total=False):
    """Keyword arguments of Workspace, accepted by SlackEmulator."""

    bot_token: str | None
    app_token: str | None
    signing_secret: str | None
    team_id: str
    team_domain: str
    bot_user_id: str
    bot_id: str
    bot_name: str
    app_id: str
    rate_limit: bool
    burst: int
    trigger_ttl_s: float
    response_url_ttl_s: float


class SlackEmulator(Workspace):
    """The emulator on the current event loop: `await start()`, drive the bot, `await stop()`."""

    def __init__(
        self,
        *,
        bot_url: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        timeout_s: float = 10.0,
        **options: Unpack[WorkspaceOptions],
    ) -> None:
        super().__init__(**options)
        self.bot_url = bot_url
        self.timeout_s = timeout_s
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._socket_pings = 0
        self._hub = SocketModeHub(
            app_id=self.app_id, redeem_ticket=self.redeem_socket_ticket, on_ping=self._pinged
        )

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on host:port (0: an ephemeral port); `api_url` is known afterwards."""
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/response/{url_id}", self._handle_response)
        app.router.add_get("/link/", self._hub.handle)
        app.on_shutdown.append(self._on_shutdown)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        host, port = self._runner.addresses[0][:2]
        self._s.base_url = f"http://{host}:{port}/"
        self._session = aiohttp.ClientSession()

    async def stop(self) -> None:
        """Close Socket Mode connections and the server (answering the stalled calls)."""
        self.release()
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _on_shutdown(self, app: web.Application) -> None:
        await self._hub.close()

    # -- HTTP handlers ---------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        params: JsonDict = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            try:
                params.update(await _read_body(request))
            except ValueError:
                return web.json_response({"ok": False, "error": "invalid_json"})
        authorization = request.headers.get("Authorization", "")
        token = authorization.removeprefix("Bearer ").strip() if authorization else None
        token = token or (str(params["token"]) if params.get("token") else None)
        await self._stalled(str(params.get("channel") or params.get("usergroup") or "") or None)
        result = self.call(request.match_info["method"], params, token)
        return web.json_response(result.body, status=result.status, headers=result.headers)

    async def _stalled(self, channel: str | None) -> None:
        """Wait while calls about `channel` (or user group) are stalled (`Workspace.stall`)."""
        with self._s.lock:
            gate = self._s.faults.stall_for(channel)
            if gate is None:
                return
            self._s.faults.stalled_calls += 1
            self._s.changed.notify_all()
        try:
            # A thread waits (bounded, so that it never outlives the loop for long).
            while not await asyncio.to_thread(gate.wait, 0.5):
                pass
        finally:
            with self._s.lock:
                self._s.faults.stalled_calls -= 1
                self._s.changed.notify_all()

    async def _handle_response(self, request: web.Request) -> web.Response:
        try:
            body = await _read_body(request)
        except ValueError:
            return web.Response(status=400, text="invalid_payload")
        status, text = self.post_response(request.match_info["url_id"], body)
        return web.Response(status=status, text=text)

    # -- driving the bot -------------------------------------------------------------------------

    @property
    def socket_connections(self) -> int:
        """How many Socket Mode connections the bot holds open."""
        return self._hub.connections

    @property
    def socket_acks(self) -> list[JsonDict]:
        """Every Socket Mode ack received, in order."""
        return list(self._hub.acks)

    async def wait_for_socket(self, timeout_s: float | None = None) -> None:
        """Wait until the bot has a Socket Mode connection open."""
        await self._hub.wait_connected(self.timeout_s if timeout_s is None else timeout_s)

    async def disconnect_sockets(
        self, reason: str = "refresh_requested", *, close_after_s: float | None = None
    ) -> None:
        """Send Slack's `disconnect` message to every Socket Mode connection; with
        `close_after_s`, close them that long afterwards, as Slack does."""
        await self._hub.disconnect_all(reason, close_after_s=close_after_s)

    async def close_sockets(self, code: int = 1000) -> None:
        """Close every Socket Mode connection with a close frame."""
        await self._hub.close_all(code)

    def refuse_sockets(self, times: int | None = 1) -> None:
        """Refuse the next `times` WebSocket handshakes with a 503 (None: until set again)."""
        self._hub.refusing = times

    async def drop_sockets(self) -> None:
        """Cut every Socket Mode connection without a close frame (a network failure)."""
        self._hub.drop_all()

    async def silence_sockets(self) -> None:
        """Let nothing cross the Socket Mode connections any more, without closing them (a
        network cut that loses packets: the bot's pings go unanswered)."""
        self._hub.silence_all()

    @property
    def socket_pings(self) -> int:
        """How many pings the bot sent over its Socket Mode connections."""
        with self._s.lock:
            return self._socket_pings

    def _pinged(self) -> None:
        with self._s.lock:
            self._socket_pings += 1
            self._s.changed.notify_all()

    def delay_pongs(self, seconds: float) -> None:
        """Answer the bot's Socket Mode pings `seconds` late (a slow link); 0 restores."""
        self._hub.pong_delay_s = seconds

    async def send_http(
        self,
        body: str,
        content_type: str = FORM,
        *,
        headers: Mapping[str, str] | None = None,
        forge_signature: bool = False,
        timestamp: int | None = None,
    ) -> BotReply:
        """POST a signed request to `bot_url` and return the bot's HTTP answer."""
        if self.bot_url is None:
            raise RuntimeError("bot_url is not set: the emulator does not know where the bot is")
        if self._session is None:
            raise RuntimeError("the emulator is not started")
        sent = {
            "Content-Type": content_type,
            **driver.signed_headers(
                self.signing_secret, body, timestamp=timestamp, forge=forge_signature
            ),
            **(headers or {}),
        }
        timeout = aiohttp.ClientTimeout(total=self.timeout_s)
        started = time.monotonic()
        async with self._session.post(
            self.bot_url, data=body.encode(), headers=sent, timeout=timeout
        ) as response:
            text = await response.text()
            return BotReply(
                response.status,
                text,
                "http",
                content_type=response.content_type,
                seconds=time.monotonic() - started,
            )

    async def send_envelope(
        self,
        kind: str,
        payload: JsonDict,
        *,
        envelope_id: str | None = None,
        retry_attempt: int = 0,
        retry_reason: str = "",
    ) -> BotReply:
        """Deliver a Socket Mode envelope and return the bot's ack (status 200, body = payload)."""
        started = time.monotonic()
        eid, ack = await self._hub.deliver(
            kind,
            payload,
            timeout_s=self.timeout_s,
            envelope_id=envelope_id,
            retry_attempt=retry_attempt,
            retry_reason=retry_reason,
        )
        acked = ack.get("payload")
        body = "" if acked is None else json.dumps(acked)
        return BotReply(
            200,
            body,
            "socket",
            envelope_id=eid,
            content_type="application/json",
            seconds=time.monotonic() - started,
        )

    def sent_envelope(self, envelope_id: str) -> JsonDict:
        """The envelope last sent under `envelope_id` (its retry_attempt, say)."""
        return self._hub.sent(envelope_id)

    async def redeliver(self, envelope_id: str, *, retry_reason: str = "timeout") -> BotReply:
        """Send an envelope again with the same envelope_id and the next retry_attempt."""
        previous = self._hub.sent(envelope_id)
        return await self.send_envelope(
            str(previous["type"]),
            previous["payload"],
            envelope_id=envelope_id,
            retry_attempt=int(previous.get("retry_attempt", 0)) + 1,
            retry_reason=retry_reason,
        )

    async def send_slash_command(
        self,
        command: str,
        text: str = "",
        *,
        user_id: str,
        channel_id: str,
        via: Via = "http",
        forge_signature: bool = False,
    ) -> BotReply:
        """Invoke a slash command as `user_id` in `channel_id`; the reply is the bot's ack."""
        form = driver.slash_command(self, command, text, user_id=user_id, channel_id=channel_id)
        if via == "socket":
            return await self.send_envelope("slash_commands", dict(form))
        return await self.send_http(urlencode(form), forge_signature=forge_signature)

    async def send_interactive(
        self, payload: JsonDict, *, via: Via = "http", forge_signature: bool = False
    ) -> BotReply:
        """Send any interactivity payload (block_actions, view_submission, shortcut…)."""
        if via == "socket":
            return await self.send_envelope("interactive", payload)
        body = urlencode({"payload": json.dumps(payload)})
        return await self.send_http(body, forge_signature=forge_signature)

    async def send_block_action(
        self,
        action_id: str,
        *,
        user_id: str,
        channel_id: str | None = None,
        message_ts: str | None = None,
        block_id: str | None = None,
        value: str | None = None,
        via: Via = "http",
        forge_signature: bool = False,
    ) -> BotReply:
        """Click `action_id`; with `message_ts`, on that stored message of `channel_id`."""
        message = None
        if message_ts is not None:
            if channel_id is None:
                raise ValueError("message_ts needs channel_id")
            message = self.message(channel_id, message_ts)
        payload = driver.block_actions(
            self,
            action_id,
            user_id=user_id,
            channel_id=channel_id,
            message=message,
            block_id=block_id,
            value=value,
        )
        return await self.send_interactive(payload, via=via, forge_signature=forge_signature)

    async def click(
        self,
        channel_id: str,
        ts: str,
        action_id: str,
        *,
        user_id: str,
        value: str | None = None,
        via: Via = "http",
    ) -> BotReply:
        """Click a button the bot rendered in message `ts`; LookupError if it is not there."""
        message = self.message(channel_id, ts)
        block_id, element = driver.find_element(message, action_id)
        payload = driver.block_actions(
            self,
            action_id,
            user_id=user_id,
            message=message,
            block_id=block_id or None,
            value=value,
            element=element,
        )
        return await self.send_interactive(payload, via=via)

    async def send_view_submission(
        self,
        callback_id: str,
        values: dict[str, dict[str, Any]],
        *,
        user_id: str,
        private_metadata: str = "",
        view_id: str | None = None,
        via: Via = "http",
        forge_signature: bool = False,
    ) -> BotReply:
        """Submit a modal: `values` is view.state.values (block_id -> action_id -> state)."""
        payload = driver.view_submission(
            self,
            callback_id,
            values,
            user_id=user_id,
            private_metadata=private_metadata,
            view_id=view_id,
        )
        return await self.send_interactive(payload, via=via, forge_signature=forge_signature)

    async def submit_view(
        self,
        view: OpenedView,
        values: dict[str, dict[str, Any]],
        *,
        user_id: str | None = None,
        via: Via = "http",
    ) -> BotReply:
        """Submit a modal the bot opened, with its callback_id and private_metadata."""
        payload = driver.view_submission(
            self,
            view.callback_id,
            values,
            user_id=user_id or view.user,
            private_metadata=view.private_metadata,
            view_id=view.view_id,
            view=view.view,
        )
        return await self.send_interactive(payload, via=via)

    async def send_event(
        self,
        event: JsonDict,
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        via: Via = "http",
        forge_signature: bool = False,
    ) -> BotReply:
        """Deliver an Events API event; `retry_num` marks it as Slack's n-th retry."""
        envelope = driver.event_callback(self, event, event_id=event_id)
        if via == "socket":
            return await self.send_envelope(
                "events_api",
                envelope,
                retry_attempt=retry_num or 0,
                retry_reason=retry_reason if retry_num else "",
            )
        headers = {}
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
        return await self.send_http(
            json.dumps(envelope),
            "application/json",
            headers=headers,
            forge_signature=forge_signature,
        )


async def _read_body(request: web.Request) -> JsonDict:
    """Parameters from a JSON, form or multipart body; ValueError when it is not parseable."""
    if request.content_type == "application/json":
        body = await request.json()
        if not isinstance(body, dict):
            raise ValueError("the JSON body is not an object")
        return body
    form = await request.post()
    return {k: v for k, v in form.items() if isinstance(v, str)}
