"""Durations as a technician reads them: to the minute, never contradicting the verdict."""

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject, SectionBlock

from bot.messages import Messages
from bot.sandbox import parse_blocks
from bot.slack.render import (
    OpenTicket,
    already_open,
    clip,
    context,
    duration,
    escape,
    local_time,
    monitoring_lines,
    section,
    taken,
    ticket_list,
)
from bot.storage.probes import DownServer

MINUTE = timedelta(minutes=1)
EN = Messages("en")


@pytest.mark.parametrize(
    ("consumed", "budget", "shown"),
    [
        (timedelta(minutes=6, seconds=7), 6 * MINUTE, "7m"),  # breached: over the budget
        (timedelta(minutes=6, seconds=40), 6 * MINUTE, "7m"),  # nearest is over already
        (timedelta(minutes=5, seconds=50), 6 * MINUTE, "6m"),  # met, to the nearest minute
        (6 * MINUTE, 6 * MINUTE, "6m"),  # exactly the budget is met
        (timedelta(hours=5, seconds=10), timedelta(hours=4), "5h"),  # far over: the nearest
    ],
)
def test_taken_never_reads_within_the_budget_once_over_it(
    consumed: timedelta, budget: timedelta, shown: str
) -> None:
    assert taken(consumed, budget, EN) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (timedelta(seconds=20), "&lt;1m"),
        (timedelta(0), "0m"),
        (timedelta(seconds=40), "1m"),
        (timedelta(hours=1, minutes=30), "1h30m"),
    ],
)
def test_a_duration_under_half_a_minute_is_not_none(value: timedelta, shown: str) -> None:
    """Time left, an outage of 20 s: "<1m" (escaped for Slack's text format), not "0m"."""
    assert duration(value, EN) == shown


@pytest.mark.parametrize(
    ("value", "french", "english"),
    [
        (timedelta(days=1, hours=5), "1j5h", "1d5h"),
        (timedelta(days=2, minutes=1), "2j1m", "2d1m"),
        (timedelta(hours=23, minutes=59), "23h59m", "23h59m"),
    ],
)
def test_a_day_is_a_jour_in_french(value: timedelta, french: str, english: str) -> None:
    """French writes days as "j" (jours): "1j5h", not the catalog's "1d5h"."""
    assert duration(value, Messages("fr")) == french
    assert duration(value, EN) == english
    assert taken(value, timedelta(hours=4), Messages("fr")) == french
    assert taken(value, timedelta(hours=4), EN) == english


@pytest.mark.parametrize("extra", range(6))
def test_a_clipped_text_ends_with_an_ellipsis_never_inside_an_escape(extra: int) -> None:
    """Cut anywhere in a run of `&lt;`, the text ends with whole entities, then "…"."""
    text = "x" * extra + escape("<" * 100)
    clipped = clip(text, 50)
    assert len(clipped) <= 50
    assert clipped.endswith("&lt;…")
    assert clip("short", 50) == "short"


@pytest.mark.parametrize("limit", range(30, 45))
def test_a_clipped_text_never_ends_inside_a_mention(limit: int) -> None:
    """A servers' list clipped where a line ends with who acknowledged it: a mention cut to
    `<@U01A…` is no mention, and Slack reads the rest of the text as its link. The cut falls
    before it; the mentions kept are whole."""
    line = "`web-01` down · acknowledged by <@U01AAA>"
    clipped = clip("\n".join([line] * 10), limit)
    assert len(clipped) <= limit
    assert clipped.endswith("…")
    assert clipped.count("<") == clipped.count(">")


def test_the_open_tickets_of_a_server_are_named_with_their_assignee_in_french() -> None:
    """One or several, claimed or not: the count agrees, the unclaimed one says so."""
    one = [OpenTicket("INT-1", "secours", "U01BBB")]
    assert already_open("acme-web-01", "INT-3", one, Messages("fr")) == (
        ":warning: acme-web-01 a déjà 1 ticket ouvert : INT-1 (secours, <@U01BBB>). "
        "Vérifiez que le ticket INT-3 n'est pas un doublon."
    )
    two = [*one, OpenTicket("INT-2", "materiel", None)]
    assert (
        "a déjà 2 tickets ouverts : INT-1 (secours, <@U01BBB>), INT-2 (matériel, à prendre)."
        in (already_open("acme-web-01", "INT-3", two, Messages("fr")))
    )


def test_a_server_with_many_open_tickets_gets_a_warning_not_a_list() -> None:
    """Three are named, the others counted: 60 open tickets do not make a 60-item reply."""
    many = [OpenTicket(f"INT-{n}", "reseau", None) for n in range(1, 61)]
    warning = already_open("globex-db-01", "INT-61", many, Messages("en"))
    assert warning == (
        ":warning: globex-db-01 already has 60 open tickets: INT-1 (network, unclaimed), "
        "INT-2 (network, unclaimed), INT-3 (network, unclaimed), and 57 more. "
        "Check that INT-61 is not a duplicate."
    )
    assert "et 57 autres." in already_open("globex-db-01", "INT-61", many, Messages("fr"))


PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(
    ("at", "shown"),
    [
        (datetime(2026, 10, 25, 0, 40, tzinfo=UTC), "2026-10-25 02:40 CEST"),
        (datetime(2026, 10, 25, 1, 10, tzinfo=UTC), "2026-10-25 02:10 CET"),
        (datetime(2026, 10, 25, 2, 10, tzinfo=UTC), "2026-10-25 03:10"),
        (datetime(2026, 10, 24, 23, 59, tzinfo=UTC), "2026-10-25 01:59"),
        (datetime(2026, 3, 29, 1, 0, tzinfo=UTC), "2026-03-29 03:00"),
        (datetime(2026, 11, 27, 17, 0, tzinfo=UTC), "2026-11-27 18:00"),
    ],
)
def test_a_local_time_the_autumn_change_repeats_says_which_one_it_is(
    at: datetime, shown: str
) -> None:
    """02:00-03:00 happens twice on 2026-10-25 in Paris: 02:10 after 02:40 is the second one
    (CET), and says so, or a deadline reads as earlier than the call. Other times are as
    before."""
    assert local_time(at, PARIS) == shown


def test_sla_status_names_every_server_of_a_storm_in_its_blocks() -> None:
    """60 servers down while tickets are open: Slack shows the blocks, and each server is in
    them, not the first 40-odd and an ellipsis."""
    acknowledged = EN.get("status.acknowledged", user="U01AAA")
    notes = [
        EN.get(
            "status.down",
            server=f"customer-{n:02d}-web.example",
            since="2026-11-27 16:00",
            duration="1h",
            acknowledged=acknowledged,
        )
        for n in range(60)
    ]
    _, blocks = ticket_list("3 open tickets", [], EN, ZoneInfo("Europe/Paris"), [], notes=notes)
    parse_blocks(blocks)  # within Slack's limits
    shown = "\n".join(block["text"]["text"] for block in blocks)
    assert all(f"`customer-{n:02d}-web.example`" in shown for n in range(60))


@pytest.mark.parametrize("text", ["*INT-1* network · `db-01` · &lt;1m", "", "ab\n" * 966])
def test_a_list_s_blocks_written_directly_are_what_the_models_write(text: str) -> None:
    """A list's sections and footer skip slack_sdk's models: Slack receives the same JSON,
    keys in the same order."""
    assert json.dumps(section(text)) == json.dumps(
        SectionBlock(text=MarkdownTextObject(text=text)).to_dict()
    )
    assert json.dumps(context(text)) == json.dumps(
        ContextBlock(elements=[MarkdownTextObject(text=text)]).to_dict()
    )


def test_a_server_down_under_a_minute_and_acknowledged_keeps_its_mention() -> None:
    """ "(<1m) · pris en compte par <@U01AAA>": Slack reads a raw "<" up to the next ">" as a
    link, and the mention with it. The "<" of "<1m" is escaped; the mention stays one."""
    now = datetime(2026, 11, 27, 15, 0, 20, tzinfo=UTC)
    down = DownServer("web-01", now - timedelta(seconds=20), acknowledged_by="U01AAA")
    (line,) = monitoring_lines([down], [], Messages("fr"), PARIS, now)
    assert line == (
        ":red_circle: `web-01` en panne depuis 2026-11-27 16:00 (&lt;1m) · "
        "pris en compte par <@U01AAA>"
    )


def test_the_two_instants_of_the_repeated_hour_given_in_local_time_keep_their_zones() -> None:
    """02:30 CEST and 02:30 CET of 2026-10-25, given as Paris times, compare and hash alike:
    kept by the local time, the first shown named the other's zone too."""
    summer = datetime(2026, 10, 25, 2, 30, tzinfo=PARIS, fold=0)
    winter = datetime(2026, 10, 25, 2, 30, tzinfo=PARIS, fold=1)
    assert local_time(summer, PARIS) == "2026-10-25 02:30 CEST"
    assert local_time(winter, PARIS) == "2026-10-25 02:30 CET"


def test_sla_status_gives_every_client_s_allowance_in_its_blocks() -> None:
    """A storm's tickets, each of another client: one allowance line per client, all of them
    in the blocks Slack shows, not the first 30-odd and an ellipsis."""
    footer = [
        EN.get(
            "status.allowance",
            client=f"Société des Établissements Lambert &amp; Fils n°{n:02d}",
            level="premium",
            used=n % 7,
            allowed=6,
        )
        for n in range(45)
    ]
    _, blocks = ticket_list("45 open tickets", [], EN, PARIS, footer)
    parse_blocks(blocks)  # within Slack's limits
    shown = "\n".join(e["text"] for b in blocks if b["type"] == "context" for e in b["elements"])
    assert all(line in shown.splitlines() for line in footer)


def test_a_list_with_every_part_at_its_most_stays_within_50_blocks() -> None:
    """2,000 servers down and 600 clients' allowances: the message keeps to Slack's 50 blocks,
    what does not fit ends in "…", and the allowances start where they did."""
    notes = [f":red_circle: `server-{n:04d}` down since 2026-11-27 16:00 (1h)" for n in range(2000)]
    footer = [f"Client {n:03d} (premium): 1/6 interventions this month" for n in range(600)]
    _, blocks = ticket_list("3 open tickets", [], EN, PARIS, footer, notes=notes)
    assert len(parse_blocks(blocks)) == 50
    assert blocks[-1]["elements"][0]["text"].endswith("…")
    contexts = [b["elements"][0]["text"] for b in blocks if b["type"] == "context"]
    assert contexts[0].startswith(footer[0])
