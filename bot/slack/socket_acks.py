"""Socket Mode acks that may not have reached Slack, though they were written without error.

A connection gone silent (a cut that loses packets) takes what is written into it without
error until the client gives it up, seconds later: an ack written then never reaches Slack,
which tells the user that the command failed while it was carried out. Nothing answers an ack;
what shows that Slack read it is an answer to something sent after it on the same connection:
the pong of the SDK's next ping (its data is the ping's send time, kept by the client as
`last_ping_pong_time`), or the close frame answering the client's own close (a reconnection,
a stop). An ack the connection was given up with, abnormally, before either is handed to
`lost`, whose reply may then be shown twice, rather than the command be typed again.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from aiohttp import ClientWebSocketResponse, WSCloseCode
from slack_bolt.response import BoltResponse
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest

logger = logging.getLogger(__name__)

CHECK_EVERY = 0.25  # seconds between two looks at the acks not yet confirmed
GIVE_UP_AFTER = 60.0  # seconds after which an ack neither confirmed nor lost is forgotten

LostAck = Callable[[SocketModeRequest, BoltResponse], Awaitable[None]]


@dataclass(frozen=True)
class _SentAck:
    connection: ClientWebSocketResponse
    sent_at: float  # time.time(), as the SDK stamps its pings
    request: SocketModeRequest
    response: BoltResponse
    failed: bool = False  # handing it to `lost` failed once: tried again, logged once


class UnconfirmedAcks:
    """The acks of slash commands written to a Socket Mode connection and not yet shown read."""

    def __init__(self, client: SocketModeClient, lost: LostAck) -> None:
        self._client = client
        self._lost = lost
        self._acks: list[_SentAck] = []
        self._watch: asyncio.Task[None] | None = None

    def sent(self, request: SocketModeRequest, response: BoltResponse) -> None:
        """The ack of `request` was just written without error (to the current connection)."""
        connection = self._client.current_session
        if connection is None or request.type != "slash_commands":
            return  # a click's outcome goes through the outbox; a modal's answer has no url
        self._acks.append(_SentAck(connection, time.time(), request, response))
        if self._watch is None or self._watch.done():
            self._watch = asyncio.create_task(self._run(), name="socket-mode-acks")

    async def _run(self) -> None:
        while self._acks:
            await asyncio.sleep(CHECK_EVERY)
            await self._check()

    async def _check(self) -> None:
        waiting = []
        for ack in self._acks:
            read = self._read(ack)
            if read is None:
                waiting.append(ack)
            elif not read:
                if not ack.failed:
                    logger.warning("Socket Mode: the ack of a command may not have reached Slack")
                try:
                    await self._lost(ack.request, ack.response)
                except Exception:  # the database away, say: the others are still handed over
                    if time.time() - ack.sent_at > GIVE_UP_AFTER:
                        logger.exception("Socket Mode: a command's lost ack was not answered")
                    else:
                        if not ack.failed:
                            logger.warning(
                                "Socket Mode: a lost ack's reply was not queued; trying again",
                                exc_info=True,
                            )
                        waiting.append(replace(ack, failed=True))
        self._acks = waiting

    def _read(self, ack: _SentAck) -> bool | None:
        """Whether Slack read the ack: True, False (given up with it), None (not known yet)."""
        connection = ack.connection
        pong = self._client.last_ping_pong_time
        if self._client.current_session is connection and pong is not None and pong >= ack.sent_at:
            return True  # a ping written after the ack was answered
        if connection.closed:  # by a close frame either way, or given up (1006)
            code = connection.close_code
            return code not in (None, WSCloseCode.ABNORMAL_CLOSURE) and not connection.exception()
        if time.time() - ack.sent_at > GIVE_UP_AFTER:
            return True  # open and silent this long: not given up, not known; forgotten
        return None

    async def settle(self) -> None:
        """After the connection was closed (a stop): hand over the acks it was given up with."""
        if self._watch is not None:
            self._watch.cancel()
        await self._check()
        self._acks.clear()
