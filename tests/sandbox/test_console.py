"""The local mode's console shows the bot's text as Slack would show it, and lets its user
type slash commands, click the buttons it prints and fill in the modals the bot opens."""

import asyncio
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.config import Team
from bot.sandbox import SlackEmulator
from bot.sandbox.console import Console, add_team, as_shown
from bot.storage.models import AuditEvent
from bot.storage.probes import add_outage
from tests.plugins.bot import ALERTS, TECH, TECH2, RunningBot


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


def typed_offline(capsys: pytest.CaptureFixture[str], *lines: str) -> str:
    """What the console prints for `lines` then the end of input ("", what readline() returns
    then), with no bot: its emulator is never started, so anything sent would fail (logged)."""

    async def scenario() -> None:
        console = Console(SlackEmulator(), user_id="U01AAA", channel_id="C01ALERTS")
        for line in (*lines, ""):
            console.inbox.put_nowait(line)
        await console.serve()

    asyncio.run(scenario())
    return capsys.readouterr().out


def test_an_unknown_command_is_named_not_sent(capsys: pytest.CaptureFixture[str]) -> None:
    """A typo such as `/interventon` reached Bolt, whose answer was a developer's hint (how to
    write a listener) and `{"error": "unhandled request"}`; Slack itself would not send it."""

    out = typed_offline(capsys, "/interventon help\n")
    assert "unknown command /interventon: the bot answers /intervention and /sla" in out


def test_the_end_of_the_input_says_the_console_is_closed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Ctrl-D closed the console without a word: the bot ran on, and every command typed after
    it was ignored as if the bot had hung."""

    out = typed_offline(capsys)
    assert "End of input: the console is closed; the bot keeps running. Ctrl-C stops it." in out


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ("click 7", "no button 7: none yet"),
        ("U01BBB click 0", "no button 0: none yet"),
        ("click two", "no button two: none yet"),
        ("click", "click takes the number of a button printed as [N Label] (none yet)"),
    ],
)
def test_a_click_on_no_printed_button_is_refused_with_the_reason(
    capsys: pytest.CaptureFixture[str], line: str, said: str
) -> None:
    """A number no button was printed with is named, and nothing is sent to the bot."""
    assert said in typed_offline(capsys, line + "\n").splitlines()


# -- clicking and filling in modals, against the real bot ----------------------------------------

PARIS = ZoneInfo("Europe/Paris")
FRIDAY_4PM = datetime(2026, 11, 27, 16, 0, tzinfo=PARIS)


class Transcript:
    """The console's output, line by line; a test waits for a line as it waits for Slack."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._changed = threading.Condition()

    def __call__(self, text: str) -> None:
        with self._changed:
            self.lines.extend(text.splitlines())
            self._changed.notify_all()

    def mark(self) -> int:
        """How many lines are printed so far: `wait_for(after=…)` looks only at later ones."""
        with self._changed:
            return len(self.lines)

    def wait_for(self, pattern: str, *, after: int = 0, timeout_s: float = 15) -> re.Match[str]:
        """The first line from the `after`-th on that matches `pattern`, once printed."""
        compiled = re.compile(pattern)

        def found() -> re.Match[str] | None:
            return next(filter(None, map(compiled.search, self.lines[after:])), None)

        with self._changed:
            if not self._changed.wait_for(found, timeout_s):
                raise AssertionError(f"never printed {pattern!r}:\n" + "\n".join(self.lines))
            match = found()
            assert match is not None
            return match


@contextmanager
def console(bot: RunningBot) -> Iterator[tuple[Callable[[str], None], Transcript]]:
    """The console of the local mode, acting as TECH on the emulator's loop (as `make run`
    runs it); yields a function that types a line, and what the console prints."""
    transcript = Transcript()
    emulator = bot.slack.emulator
    running = Console(emulator, user_id=TECH, channel_id=ALERTS, out=transcript)
    running.attach()
    serving = asyncio.run_coroutine_threadsafe(running.serve(), bot.slack.loop)

    def type_line(line: str) -> None:
        bot.slack.loop.call_soon_threadsafe(running.inbox.put_nowait, line + "\n")

    try:
        yield type_line, transcript
    finally:
        bot.slack.loop.call_soon_threadsafe(running.inbox.put_nowait, "")  # end of input
        serving.result(10)


def audit_actions(bot: RunningBot) -> list[tuple[str, str, str | None]]:
    with bot.sessions() as session:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.ticket_id == 1).order_by(AuditEvent.id)
        )
        return [(row.action, row.actor_id, row.command) for row in rows]


def test_clicking_claim_on_a_ticket_root_claims_it_as_the_user_named(bot: RunningBot) -> None:
    """The root's buttons are printed numbered; `U01BBB click N` claims the ticket for U01BBB,
    through a signed block_actions payload, and the root printed again keeps its numbers."""
    with console(bot) as (type_line, transcript):
        type_line("/intervention open acme-web-01 secours Site down")
        buttons = transcript.wait_for(r"\[(\d+) Claim\] \[(\d+) Post update\] \[(\d+) Resolve\]")
        claim, update, resolve = buttons.groups()
        type_line(f"U01BBB click {claim}")
        transcript.wait_for(r"only U01BBB sees: INT-1 claimed by <@U01BBB>")
        transcript.wait_for(rf"^  \[{update} Post update\] \[{resolve} Resolve\]$")
    assert [(action, actor) for action, actor, _ in audit_actions(bot)] == [
        ("ticket.opened", TECH),
        ("ticket.claimed", TECH2),
    ]


def test_resolve_on_a_down_server_then_resolve_anyway_resolves_it(bot: RunningBot) -> None:
    """Probes still see the server down: Resolve asks to confirm, only to the clicker, and its
    Resolve anyway button (which no command stands for) is numbered and clickable too."""
    bot.clock.set(FRIDAY_4PM)
    with bot.sessions.begin() as session:
        add_outage(
            session,
            "acme-web-01",
            started_at=FRIDAY_4PM - timedelta(minutes=5),
            confirmed_at=FRIDAY_4PM - timedelta(minutes=4),
        )
    with console(bot) as (type_line, transcript):
        type_line("/intervention open acme-web-01 materiel disk errors")
        resolve = transcript.wait_for(r"\[(\d+) Resolve\]")[1]
        type_line(f"click {resolve}")
        transcript.wait_for(r"only U01AAA sees: .*still see acme-web-01 down")
        anyway = transcript.wait_for(r"^  \[(\d+) Resolve anyway\]$")[1]
        assert int(anyway) > int(resolve)
        type_line(f"click {anyway}")
        transcript.wait_for(r"only U01AAA sees: INT-1 resolved by <@U01AAA>")
    assert [action for action, _, _ in audit_actions(bot)] == ["ticket.opened", "ticket.resolved"]


def test_post_update_s_modal_is_filled_in_through_prompts(bot: RunningBot) -> None:
    """The modal Post update opens is printed with its field; what is typed is submitted as
    Slack submits a view, and the update is recorded."""
    with console(bot) as (type_line, transcript):
        type_line("/intervention open acme-web-01 secours Site down")
        update = transcript.wait_for(r"\[(\d+) Post update\]")[1]
        type_line(f"click {update}")
        transcript.wait_for(r"^\[modal for U01AAA\] Client update$")
        transcript.wait_for(r"^  What the client was told \(required\):")
        type_line("rebooted the VM")
        transcript.wait_for(r"Enter sends it \(Save\); n cancels:")
        type_line("")
        transcript.wait_for(r"^\[modal\] Client update: sent$")
        transcript.wait_for(r"rebooted the VM")
    assert audit_actions(bot)[-1] == ("ticket.updated", TECH, "[modal] update INT-1")


def test_a_modal_the_bot_refuses_says_why_and_asks_for_the_field_again(bot: RunningBot) -> None:
    """The ticket was resolved while the update was typed: the bot's response_action errors
    are printed by the field, the field is asked again, and `n` then cancels, sending nothing."""
    with console(bot) as (type_line, transcript):
        type_line("/intervention open acme-web-01 secours Site down")
        update = transcript.wait_for(r"\[(\d+) Post update\]")[1]
        type_line(f"click {update}")
        transcript.wait_for(r"^  What the client was told \(required\):$")
        bot.command("resolve 1 done", user_id=TECH2)
        type_line("told the client: restarting nginx")
        type_line("")
        transcript.wait_for(r"^\[modal\] Client update: the bot refused it")
        transcript.wait_for(r"^  What the client was told: INT-1 is already resolved\.$")
        transcript.wait_for(
            r"^  What the client was told \(required\) \[told the client: restarting nginx\]:$"
        )
        asked = transcript.mark()
        type_line("")  # keeps the text
        transcript.wait_for(r"Enter sends it", after=asked)
        type_line("n")
        transcript.wait_for(r"^\[modal\] Client update: cancelled, nothing sent to the bot$")
    assert [action for action, _, _ in audit_actions(bot)] == ["ticket.opened", "ticket.resolved"]
