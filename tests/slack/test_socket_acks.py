"""The acks of commands written to a Socket Mode connection, until something shows Slack
read them (bot.slack.socket_acks)."""

import asyncio
from typing import Any

import pytest
from aiohttp import WSCloseCode
from slack_bolt.response import BoltResponse
from slack_sdk.socket_mode.request import SocketModeRequest

from bot.slack import socket_acks
from bot.slack.socket_acks import UnconfirmedAcks


class GivenUp:
    """A connection the client gave up (no pong within the heartbeat): closed, 1006."""

    def __init__(self) -> None:
        self.closed = False
        self.close_code: int | None = None

    def give_up(self) -> None:
        self.closed, self.close_code = True, WSCloseCode.ABNORMAL_CLOSURE

    def exception(self) -> BaseException | None:
        return None


class Client:
    def __init__(self, connection: GivenUp) -> None:
        self.current_session: Any = connection
        self.last_ping_pong_time: float | None = None


def command(n: int) -> SocketModeRequest:
    payload = {"response_url": f"https://hooks.example/{n}", "trigger_id": f"T{n}"}
    return SocketModeRequest(type="slash_commands", envelope_id=f"E{n}", payload=payload)


def test_an_ack_whose_reply_cannot_be_queued_does_not_leave_the_others_unanswered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two commands acked into a connection then given up; queueing the first's reply fails
    (the database away a moment): the second's is still queued, and the first's is tried
    again, rather than the watch dying with the error, unlogged, both left waiting for the
    next command."""
    monkeypatch.setattr(socket_acks, "CHECK_EVERY", 0.01)
    connection = GivenUp()
    answered: list[str] = []
    failures = [RuntimeError("database away")]

    async def lost(request: SocketModeRequest, response: BoltResponse) -> None:
        if request.envelope_id == "E1" and failures:
            raise failures.pop()
        answered.append(request.envelope_id)

    async def scenario() -> None:
        acks = UnconfirmedAcks(Client(connection), lost)  # type: ignore[arg-type]
        for n in (1, 2):
            acks.sent(command(n), BoltResponse(status=200, body='{"text": "done"}'))
        connection.give_up()
        for _ in range(200):
            if len(answered) == 2:
                break
            await asyncio.sleep(0.01)
        assert sorted(answered) == ["E1", "E2"]
        await acks.settle()

    asyncio.run(scenario())
