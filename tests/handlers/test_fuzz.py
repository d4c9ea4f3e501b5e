"""Whatever a user types, the bot answers, never crashes, and never echoes a live mention."""

import asyncio
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import load_catalog
from bot.handlers.access import Authorizer
from bot.handlers.commands import intervention, sla
from bot.handlers.context import HandlerContext
from bot.handlers.errors import ack_with_reply
from bot.messages import Messages
from bot.services.alerts import AlertService
from bot.services.credits import CreditService
from bot.services.reports import ReportService
from bot.services.tickets import TicketService
from bot.storage.database import make_engine, make_sessionmaker, migrate
from tests.plugins.bot import EXAMPLE_CATALOG, OUTSIDER, TECH

MENTION = re.compile(r"<@[UW][A-Z0-9]+>")
WORDS = [
    "open", "claim", "show", "resume", "update", "wait", "resolve", "reassign", "quote",
    "refuse", "snooze", "list", "help", "status", "report", "credit", "silence", "request",
    "grant", "decline", "public", "2026-11", "INT-1", "1", "INT-999999999", "acme-web-01",
    "globex-db-01", "secours", "materiel", "hardware", "--at", "--at=12:00", "09:30",
    "2026-11-26T10:00", "<!here>", "<!channel>", "<@U01AAA>", "<@U01BBB|bob>", "&", "<", ">",
    "&lt;!everyone&gt;", "mine", "open", "acme", "2h", "-1h", "\x00", "\u202e", "é", "🔥",
]  # fmt: skip

texts = st.one_of(
    st.text(max_size=120),
    st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=12)), max_size=8).map(" ".join),
    st.builds(lambda w, n: f"{w} {'x' * n}", st.sampled_from(WORDS), st.integers(1900, 4100)),
)


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HandlerContext]:
    path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    catalog = load_catalog(Path(EXAMPLE_CATALOG))
    sessions = make_sessionmaker(engine)
    messages = Messages("en")

    def clock() -> datetime:
        return datetime(2026, 11, 27, 15, 0, tzinfo=UTC)

    tickets = TicketService(sessions, catalog, messages, clock=clock)
    yield HandlerContext(
        tickets=tickets,
        alerts=AlertService(tickets, sessions, messages, clock=clock),
        reports=ReportService(sessions, catalog, messages, clock=clock),
        credits=CreditService(sessions, catalog, messages, clock=clock),
        authorizer=Authorizer(catalog.team, AsyncWebClient(token="xoxb-unused")),
        messages=messages,
        sessions=sessions,
        clock=clock,
        wake=lambda: None,
    )
    engine.dispose()


async def answer(context: HandlerContext, name: str, text: str, user_id: str) -> dict[str, Any]:
    acks: list[dict[str, Any]] = []

    async def ack(**kwargs: Any) -> None:
        acks.append(kwargs)

    command = {"command": name, "text": text, "user_id": user_id, "channel_id": "C01ALERTS"}
    handler = intervention if name == "/intervention" else sla
    await ack_with_reply(ack, lambda: handler(context, command), context.messages)  # type: ignore[arg-type]
    assert len(acks) == 1
    return acks[0]


@settings(
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    text=texts,
    name=st.sampled_from(["/intervention", "/sla"]),
    user_id=st.sampled_from([TECH, OUTSIDER]),
)
def test_every_command_text_gets_a_safe_reply(
    context: HandlerContext, text: str, name: str, user_id: str
) -> None:
    """A reply always comes; no input `<` survives unescaped, so nothing pings anyone."""
    reply = asyncio.run(answer(context, name, text, user_id))
    shown = reply["text"] + repr(reply.get("blocks", ""))
    assert reply["text"]
    assert "Internal error" not in reply["text"], (name, text)
    assert "<" not in MENTION.sub("", shown), (name, text, shown)


@pytest.mark.parametrize(
    ("name", "text"),
    [("/sla", "status acme"), ("/sla", "silence 2h acme-web-01"), ("/intervention", "list")],
)
def test_a_word_of_invisible_characters_before_the_verb_does_not_hide_it(
    context: HandlerContext, name: str, text: str
) -> None:
    """A zero-width space pasted before the command, then a space: the same answer as
    without it, not the help."""
    plain = asyncio.run(answer(context, name, text, TECH))
    assert plain["text"] != asyncio.run(answer(context, name, "help", TECH))["text"]
    for invisible in ("\u200b ", "\u200b\u200e \u00a0"):
        assert asyncio.run(answer(context, name, invisible + text, TECH)) == plain
