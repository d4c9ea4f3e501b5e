"""The Socket Mode side of the emulator: the bot's WebSocket connections, envelopes and acks.

The handshake is Slack's: the bot calls apps.connections.open with its xapp- token, opens the
returned ws:// URL (one-use ticket), receives {"type": "hello", ...}, then gets envelopes
{envelope_id, type, payload, accepts_response_payload[, retry_attempt, retry_reason]} and answers
each with {"envelope_id": ..., "payload"?: ...}, and answers the client's pings.

What Slack does to connections is here too: it asks a client to reconnect (`disconnect`, with
`refresh_requested`, `warning` or `link_disabled`) and closes the old connection a few seconds
later; a connection may also drop without a close frame (a network cut that resets it), or go
silent (a cut where packets are lost: nothing crosses either way, the bot's pings go unanswered),
and a slow link answers the bot's pings late (`pong_delay_s`). An Events API envelope
whose connection went away before its ack is delivered again over the next one, with the next
`retry_attempt`; the ack of any envelope is taken from whichever connection sends it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import Callable
from typing import Any

from aiohttp import WSMsgType, web

from bot.sandbox.records import JsonDict

logger = logging.getLogger(__name__)


class SocketModeHub:
    """Accepts the bot's Socket Mode connections and delivers envelopes to the newest one."""

    def __init__(
        self,
        *,
        app_id: str,
        redeem_ticket: Callable[[str], bool],
        on_ping: Callable[[], None] = lambda: None,
    ) -> None:
        self._app_id = app_id
        self._on_ping = on_ping  # told of each ping the bot sends
        self._redeem_ticket = redeem_ticket
        self._sockets: list[web.WebSocketResponse] = []
        self._requests: dict[web.WebSocketResponse, web.Request] = {}
        self._gone: dict[web.WebSocketResponse, asyncio.Event] = {}  # set once it closed
        self._closing: set[asyncio.Task[None]] = set()
        self._silenced: set[web.WebSocketResponse] = set()  # cut: nothing crosses any more
        self.pong_delay_s = 0.0  # how late the bot's pings are answered (a slow link)
        self.refusing: int | None = 0  # handshakes still to refuse (None: every one)
        self._pending: dict[str, asyncio.Future[JsonDict]] = {}
        self._sent: dict[str, JsonDict] = {}
        self._connected = asyncio.Condition()
        self.acks: list[JsonDict] = []

    @property
    def connections(self) -> int:
        """How many bot connections are open (a silenced one is not: nothing crosses it)."""
        return sum(1 for ws in self._sockets if self._open(ws))

    def _open(self, ws: web.WebSocketResponse) -> bool:
        return not ws.closed and ws not in self._silenced

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """The aiohttp handler of the ws:// URL apps.connections.open handed out."""
        if self.refusing is None or self.refusing > 0:  # a proxy refusing the upgrade, say
            self.refusing = None if self.refusing is None else self.refusing - 1
            raise web.HTTPServiceUnavailable(text="websocket_refused")
        if not self._redeem_ticket(request.query.get("ticket", "")):
            raise web.HTTPUnauthorized(text="invalid_ticket")
        ws = web.WebSocketResponse(autoping=False)  # pongs are answered here, late on a slow link
        await ws.prepare(request)
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": self.connections + 1,
                "debug_info": {
                    "host": "slack-emulator",
                    "build_number": 1,
                    "approximate_connection_time": 18060,
                },
                "connection_info": {"app_id": self._app_id},
            }
        )
        async with self._connected:
            self._sockets.append(ws)
            self._requests[ws] = request
            self._gone[ws] = asyncio.Event()
            self._connected.notify_all()
        try:
            async for message in ws:
                if message.type == WSMsgType.PING:
                    self._answer_ping(ws, message.data)
                elif message.type == WSMsgType.TEXT:
                    self._receive(message.data)
                elif message.type == WSMsgType.ERROR:
                    logger.warning("socket mode connection error: %s", ws.exception())
        finally:
            async with self._connected:
                self._sockets.remove(ws)
                del self._requests[ws]
                self._silenced.discard(ws)
                self._gone.pop(ws).set()
        return ws

    def _answer_ping(self, ws: web.WebSocketResponse, data: bytes) -> None:
        self._on_ping()
        task = asyncio.create_task(self._pong_later(ws, data, self.pong_delay_s))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    @staticmethod
    async def _pong_later(ws: web.WebSocketResponse, data: bytes, delay_s: float) -> None:
        if delay_s > 0:
            await asyncio.sleep(delay_s)
        if not ws.closed:
            with contextlib.suppress(ConnectionError):  # gone meanwhile
                await ws.pong(data)

    def _receive(self, data: str) -> None:
        ack = json.loads(data)
        if not isinstance(ack, dict) or "envelope_id" not in ack:
            logger.warning("unexpected socket mode message from the bot: %s", data)
            return
        self.acks.append(ack)
        future = self._pending.get(str(ack["envelope_id"]))
        if future is not None and not future.done():
            future.set_result(ack)

    async def wait_connected(self, timeout_s: float) -> web.WebSocketResponse:
        """The newest open connection, waiting up to `timeout_s` for one."""
        async with asyncio.timeout(timeout_s), self._connected:
            await self._connected.wait_for(lambda: self.connections > 0)
            return next(ws for ws in reversed(self._sockets) if self._open(ws))

    async def deliver(
        self,
        kind: str,
        payload: JsonDict,
        *,
        timeout_s: float,
        envelope_id: str | None = None,
        retry_attempt: int = 0,
        retry_reason: str = "",
    ) -> tuple[str, JsonDict]:
        """Send one envelope and wait for its ack: (envelope_id, ack message). An Events API
        envelope whose connection goes away unacked is sent again over the next connection,
        with the next retry_attempt (`retry_reason` "timeout")."""
        envelope: JsonDict = {
            "envelope_id": envelope_id or secrets.token_hex(18),
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
        }
        if kind == "events_api":
            envelope.update(retry_attempt=retry_attempt, retry_reason=retry_reason)
        eid = str(envelope["envelope_id"])
        self._sent[eid] = envelope
        future: asyncio.Future[JsonDict] = asyncio.get_running_loop().create_future()
        self._pending[eid] = future
        try:
            async with asyncio.timeout(timeout_s):
                while True:
                    ws = await self.wait_connected(timeout_s)
                    gone = self._gone[ws]
                    await ws.send_str(json.dumps(envelope))
                    if kind != "events_api":
                        return eid, await future
                    closed = asyncio.ensure_future(gone.wait())
                    try:
                        await asyncio.wait((future, closed), return_when=asyncio.FIRST_COMPLETED)
                    finally:
                        closed.cancel()
                    if future.done():
                        return eid, future.result()
                    envelope = {
                        **envelope,
                        "retry_attempt": int(envelope["retry_attempt"]) + 1,
                        "retry_reason": "timeout",
                    }
                    self._sent[eid] = envelope
        except TimeoutError as exc:
            raise TimeoutError(
                f"the bot did not ack envelope {eid} ({kind}) in {timeout_s}s"
            ) from exc
        finally:
            self._pending.pop(eid, None)

    def sent(self, envelope_id: str) -> JsonDict:
        """An envelope delivered earlier (for redelivery)."""
        return self._sent[envelope_id]

    async def disconnect_all(
        self, reason: str = "refresh_requested", *, close_after_s: float | None = None
    ) -> None:
        """Ask every connected client to reconnect, as Slack does before recycling a host; with
        `close_after_s`, close those connections that long afterwards, as Slack then does."""
        asked = [ws for ws in self._sockets if self._open(ws)]
        for ws in asked:
            await ws.send_json(
                {"type": "disconnect", "reason": reason, "debug_info": {"host": "slack-emulator"}}
            )
        if close_after_s is not None:
            task = asyncio.create_task(self._close_later(asked, close_after_s))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    async def _close_later(self, sockets: list[web.WebSocketResponse], delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        for ws in sockets:
            await ws.close(code=1000, message=b"disconnected")

    async def close_all(self, code: int = 1000, message: bytes = b"") -> None:
        """Close every connection with a close frame (Slack ending them); a silenced one, whose
        close frame would never be answered, is cut."""
        for ws in list(self._sockets):
            if ws in self._silenced:
                self._abort(ws)
            else:
                await ws.close(code=code, message=message)

    def drop_all(self) -> None:
        """Cut every connection without a close frame, as a network failure does."""
        for ws in list(self._sockets):
            self._abort(ws)

    def _abort(self, ws: web.WebSocketResponse) -> None:
        transport = self._requests[ws].transport
        if transport is not None:
            transport.abort()

    def silence_all(self) -> None:
        """Let nothing cross the open connections any more, either way, without closing them:
        a network cut that loses packets. The bot's pings go unanswered, what it sends is not
        read, and envelopes wait for a connection that works."""
        for ws in list(self._sockets):
            if not ws.closed:
                self._silenced.add(ws)
                transport = self._requests[ws].transport
                if transport is not None:
                    transport.pause_reading()

    async def close(self) -> None:
        """Close every connection (server shutdown)."""
        for task in list(self._closing):
            task.cancel()
        await self.close_all(1001, b"server shutdown")


def ack_payload(ack: JsonDict) -> Any:
    """The payload of an ack message, or None when the bot acked without one."""
    return ack.get("payload")
