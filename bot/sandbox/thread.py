"""The emulator for sync code: it runs on its own event loop in a background thread."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from bot.sandbox.emulator import FORM, SlackEmulator
from bot.sandbox.loop import LoopThread
from bot.sandbox.records import BotReply, JsonDict, OpenedView, Via
from bot.sandbox.workspace import Workspace


class EmulatorThread(Workspace):
    """A started SlackEmulator for sync callers; shares its state, so every reader works here.

    Use as a context manager; `send_*` block until the bot answered (bounded by timeout_s).
    """

    def __init__(self, emulator: SlackEmulator | None = None) -> None:
        self.emulator = emulator or SlackEmulator()
        self._s = self.emulator._s
        self._loop = LoopThread("slack-emulator")

    def __enter__(self) -> EmulatorThread:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> EmulatorThread:
        """Start the loop thread and the server."""
        self._loop.start()
        self._loop.run(self.emulator.start(), self.emulator.timeout_s)
        return self

    def stop(self) -> None:
        """Stop the server, then the loop thread."""
        try:
            self._loop.run(self.emulator.stop(), self.emulator.timeout_s)
        finally:
            self._loop.stop()

    @property
    def bot_url(self) -> str | None:
        """Where HTTP-mode requests to the bot go."""
        return self.emulator.bot_url

    @bot_url.setter
    def bot_url(self, url: str | None) -> None:
        self.emulator.bot_url = url

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The emulator's event loop, for code that drives the `emulator` itself (a console)."""
        return self._loop.loop

    @property
    def socket_connections(self) -> int:
        """How many Socket Mode connections the bot holds open."""
        return self.emulator.socket_connections

    @property
    def socket_acks(self) -> list[JsonDict]:
        """Every Socket Mode ack received, in order."""
        return self.emulator.socket_acks

    def _wait(self, coro: Any) -> Any:
        # One second on top of the emulator's own timeouts so theirs fire first, with context.
        return self._loop.run(coro, self.emulator.timeout_s + 1.0)

    def wait_for_socket(self, timeout_s: float | None = None) -> None:
        """Wait until the bot has a Socket Mode connection open."""
        self._wait(self.emulator.wait_for_socket(timeout_s))

    def disconnect_sockets(
        self, reason: str = "refresh_requested", *, close_after_s: float | None = None
    ) -> None:
        """Send Slack's `disconnect` message to every Socket Mode connection; with
        `close_after_s`, close them that long afterwards, as Slack does."""
        self._wait(self.emulator.disconnect_sockets(reason, close_after_s=close_after_s))

    def close_sockets(self, code: int = 1000) -> None:
        """Close every Socket Mode connection with a close frame."""
        self._wait(self.emulator.close_sockets(code))

    def refuse_sockets(self, times: int | None = 1) -> None:
        """Refuse the next `times` WebSocket handshakes with a 503 (None: until set again)."""
        self.emulator.refuse_sockets(times)

    def drop_sockets(self) -> None:
        """Cut every Socket Mode connection without a close frame (a network failure)."""
        self._wait(self.emulator.drop_sockets())

    def silence_sockets(self) -> None:
        """Let nothing cross the Socket Mode connections any more, without closing them (a
        network cut that loses packets: the bot's pings go unanswered)."""
        self._wait(self.emulator.silence_sockets())

    @property
    def socket_pings(self) -> int:
        """How many pings the bot sent over its Socket Mode connections."""
        return self.emulator.socket_pings

    def delay_pongs(self, seconds: float) -> None:
        """Answer the bot's Socket Mode pings `seconds` late (a slow link); 0 restores."""
        self.emulator.delay_pongs(seconds)

    def send_http(
        self,
        body: str,
        content_type: str = FORM,
        *,
        headers: Mapping[str, str] | None = None,
        forge_signature: bool = False,
        timestamp: int | None = None,
    ) -> BotReply:
        """POST a signed request to `bot_url` and return the bot's HTTP answer."""
        reply: BotReply = self._wait(
            self.emulator.send_http(
                body,
                content_type,
                headers=headers,
                forge_signature=forge_signature,
                timestamp=timestamp,
            )
        )
        return reply

    def send_envelope(
        self,
        kind: str,
        payload: JsonDict,
        *,
        envelope_id: str | None = None,
        retry_attempt: int = 0,
        retry_reason: str = "",
    ) -> BotReply:
        """Deliver a Socket Mode envelope and return the bot's ack."""
        reply: BotReply = self._wait(
            self.emulator.send_envelope(
                kind,
                payload,
                envelope_id=envelope_id,
                retry_attempt=retry_attempt,
                retry_reason=retry_reason,
            )
        )
        return reply

    def sent_envelope(self, envelope_id: str) -> JsonDict:
        """The envelope last sent under `envelope_id` (its retry_attempt, say)."""
        return self.emulator.sent_envelope(envelope_id)

    def redeliver(self, envelope_id: str, *, retry_reason: str = "timeout") -> BotReply:
        """Send an envelope again with the same envelope_id and the next retry_attempt."""
        reply: BotReply = self._wait(
            self.emulator.redeliver(envelope_id, retry_reason=retry_reason)
        )
        return reply

    def send_slash_command(
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
        reply: BotReply = self._wait(
            self.emulator.send_slash_command(
                command,
                text,
                user_id=user_id,
                channel_id=channel_id,
                via=via,
                forge_signature=forge_signature,
            )
        )
        return reply

    def send_interactive(
        self, payload: JsonDict, *, via: Via = "http", forge_signature: bool = False
    ) -> BotReply:
        """Send any interactivity payload (block_actions, view_submission, shortcut…)."""
        reply: BotReply = self._wait(
            self.emulator.send_interactive(payload, via=via, forge_signature=forge_signature)
        )
        return reply

    def send_block_action(
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
        reply: BotReply = self._wait(
            self.emulator.send_block_action(
                action_id,
                user_id=user_id,
                channel_id=channel_id,
                message_ts=message_ts,
                block_id=block_id,
                value=value,
                via=via,
                forge_signature=forge_signature,
            )
        )
        return reply

    def click(
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
        reply: BotReply = self._wait(
            self.emulator.click(channel_id, ts, action_id, user_id=user_id, value=value, via=via)
        )
        return reply

    def send_view_submission(
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
        reply: BotReply = self._wait(
            self.emulator.send_view_submission(
                callback_id,
                values,
                user_id=user_id,
                private_metadata=private_metadata,
                view_id=view_id,
                via=via,
                forge_signature=forge_signature,
            )
        )
        return reply

    def submit_view(
        self,
        view: OpenedView,
        values: dict[str, dict[str, Any]],
        *,
        user_id: str | None = None,
        via: Via = "http",
    ) -> BotReply:
        """Submit a modal the bot opened, with its callback_id and private_metadata."""
        reply: BotReply = self._wait(
            self.emulator.submit_view(view, values, user_id=user_id, via=via)
        )
        return reply

    def send_event(
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
        reply: BotReply = self._wait(
            self.emulator.send_event(
                event,
                event_id=event_id,
                retry_num=retry_num,
                retry_reason=retry_reason,
                via=via,
                forge_signature=forge_signature,
            )
        )
        return reply
