"""The local mode's console shows the bot's text as Slack would show it."""

import asyncio

import pytest

from bot.config import Team
from bot.sandbox import SlackEmulator
from bot.sandbox.console import _serve, add_team, as_shown


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        ("`claim &lt;ticket&gt;`: take it", "`claim <ticket>`: take it"),
        ("R&amp;D &lt;3", "R&D <3"),
        ("&amp;lt; typed by a user", "&lt; typed by a user"),  # one level of escaping only
        ("<@U01AAA> claimed INT-1", "<@U01AAA> claimed INT-1"),  # mentions are left as sent
    ],
)
def test_slack_escapes_are_shown_as_the_characters_they_stand_for(sent: str, shown: str) -> None:
    """The console printed `/intervention help` with `&lt;ticket&gt;` where Slack shows
    `<ticket>`."""
    assert as_shown(sent) == shown


def team(**fields: object) -> Team:
    return Team.model_validate({"alerts_channel": "C01ALERTS", **fields})


def test_the_console_acts_as_the_first_technician_the_catalog_lists() -> None:
    """The README says "the catalog's first technician": it was the one whose id sorts first."""
    slack = SlackEmulator()
    assert add_team(slack, team(technicians=["U02ZOE", "U01AAA"])) == "U02ZOE"


def test_with_a_user_group_catalog_the_console_user_is_a_member() -> None:
    """A catalog naming its technicians by user group left the console's user out of a group
    the local Slack did not have: every command was refused as from a non-technician."""
    slack = SlackEmulator()
    user_id = add_team(slack, team(usergroup="S01TECHS"))
    answer = slack.call("usergroups.users.list", {"usergroup": "S01TECHS"}, slack.bot_token)
    assert answer.body["ok"], answer.body
    assert answer.body["users"] == [user_id]


def test_an_unknown_command_is_named_not_sent(capsys: pytest.CaptureFixture[str]) -> None:
    """A typo such as `/interventon` reached Bolt, whose answer was a developer's hint (how to
    write a listener) and `{"error": "unhandled request"}`; Slack itself would not send it."""

    async def scenario() -> None:
        lines: asyncio.Queue[str] = asyncio.Queue()
        for line in ("/interventon help\n", ""):  # "" is the end of the input
            lines.put_nowait(line)
        # Never started: anything sent to it would fail and be logged instead of answered.
        await _serve(SlackEmulator(), lines, user_id="U01AAA", channel_id="C01ALERTS")

    asyncio.run(scenario())
    out = capsys.readouterr().out
    assert "unknown command /interventon: the bot answers /intervention and /sla" in out


def test_the_end_of_the_input_says_the_console_is_closed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Ctrl-D closed the console without a word: the bot ran on, and every command typed after
    it was ignored as if the bot had hung."""

    async def scenario() -> None:
        lines: asyncio.Queue[str] = asyncio.Queue()
        lines.put_nowait("")  # what readline() returns at the end of the input
        await _serve(SlackEmulator(), lines, user_id="U01AAA", channel_id="C01ALERTS")

    asyncio.run(scenario())
    out = capsys.readouterr().out
    assert "End of input: the console is closed; the bot keeps running. Ctrl-C stops it." in out
