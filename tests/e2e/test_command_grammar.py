"""The grammar of `/intervention` and `/sla` through the running bot: a bad command is
answered with what exactly was wrong, in the team's language, and records nothing."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.storage.models import AuditEvent, Ticket
from tests.plugins.bot import TECH2, RunningBot, server_down

PARIS = ZoneInfo("Europe/Paris")
FRIDAY_4PM = datetime(2026, 11, 27, 16, 0, tzinfo=PARIS)


def recorded(bot: RunningBot) -> tuple[int, int]:
    """How many tickets and audit events the database holds."""
    with bot.sessions() as session:
        tickets = session.scalar(select(func.count()).select_from(Ticket)) or 0
        events = session.scalar(select(func.count()).select_from(AuditEvent)) or 0
        return tickets, events


def test_a_reassign_with_words_after_the_user_names_the_words_too_many(bot: RunningBot) -> None:
    """`reassign 1 @bob please` answered "`@bob please` is not a user", though @bob is one:
    the word to remove is `please`. Two users: the second is the one too many."""
    bot.clock.set(FRIDAY_4PM)
    bot.command("open acme-web-01 secours down")
    bot.command("claim 1")
    before = recorded(bot)
    assert bot.command(f"reassign 1 <@{TECH2}|bob> please") == (
        "Too many words: `please`. `reassign` takes one user: "
        "`/intervention reassign &lt;ticket&gt; &lt;@user&gt;`"
    )
    assert bot.command(f"reassign 1 <@{TECH2}|bob> <@U01AAA|alice>") == (
        "Too many words: `@alice`. `reassign` takes one user: "
        "`/intervention reassign &lt;ticket&gt; &lt;@user&gt;`"
    )
    assert recorded(bot) == before
    with bot.sessions() as session:
        assert session.get_one(Ticket, 1).assignee_id == "U01AAA"


def test_a_reassign_with_words_after_the_user_is_refused_in_french(
    french_bot: RunningBot,
) -> None:
    french_bot.clock.set(FRIDAY_4PM)
    french_bot.command("open acme-web-01 secours panne")
    french_bot.command("claim 1")
    assert french_bot.command(f"reassign 1 <@{TECH2}|bob> merci") == (
        "Mots en trop : `merci`. `reassign` ne prend qu'un utilisateur : "
        "`/intervention reassign &lt;ticket&gt; &lt;@utilisateur&gt;`"
    )


def test_list_of_an_unknown_client_quotes_it_as_typed(bot: RunningBot) -> None:
    """`list INT-1` answered "`int-1` is not a client": not what was typed."""
    reply = bot.command("list INT-1")
    assert reply.startswith("`INT-1` is not a client.")
    assert bot.command("list Nope").startswith("`Nope` is not a client.")
    assert bot.command("list MINE") == bot.command("list mine")
    assert bot.command("list OPEN") == bot.command("list open")


@pytest.mark.parametrize(
    ("command", "text", "expected"),
    [
        (
            "/intervention",
            "list mine acme",
            "Too many words: `acme`. Usage: `/intervention list [mine|open|&lt;client&gt;]`",
        ),
        (
            "/sla",
            "status acme globex-db-01",
            "Too many words: `globex-db-01`. "
            "Usage: `/sla status [&lt;client&gt;|&lt;server&gt;|&lt;ticket&gt;]`",
        ),
    ],
)
def test_list_and_status_name_the_words_too_many(
    bot: RunningBot, command: str, text: str, expected: str
) -> None:
    assert bot.command(text, command=command) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "open globex-db-01 secours",
            "The description is missing: "
            "`/intervention open &lt;server&gt; &lt;kind&gt; "
            "[--at HH:MM|ISO-8601] &lt;description…&gt;`",
        ),
        (
            "open globex-db-01 secours --at 15:30",
            "The description is missing: "
            "`/intervention open &lt;server&gt; &lt;kind&gt; "
            "[--at HH:MM|ISO-8601] &lt;description…&gt;`",
        ),
        (
            "open globex-db-01 secours --at",
            "`--at` takes the time of the call: `--at 15:30`, `--at 15h30` or an ISO-8601 "
            "instant, then the description.",
        ),
        (
            "open globex-db-01 secours --at=",
            "`--at` takes the time of the call: `--at 15:30`, `--at 15h30` or an ISO-8601 "
            "instant, then the description.",
        ),
    ],
)
def test_an_open_missing_its_description_or_call_time_says_which(
    bot: RunningBot, text: str, expected: str
) -> None:
    """Not only the usage, which leaves the technician to find what they left out."""
    bot.clock.set(FRIDAY_4PM)
    assert bot.command(text) == expected
    assert recorded(bot) == (0, 0)


def test_an_open_missing_its_description_is_refused_in_french(french_bot: RunningBot) -> None:
    french_bot.clock.set(FRIDAY_4PM)
    assert french_bot.command("open globex-db-01 secours --at 15h") == (
        "La description manque : "
        "`/intervention open &lt;serveur&gt; &lt;type&gt; "
        "[--at HH:MM|ISO-8601] &lt;description…&gt;`"
    )
    assert french_bot.command("open globex-db-01 secours --at") == (
        "`--at` prend l'heure de l'appel : `--at 15:30`, `--at 15h30` ou une date ISO-8601, "
        "puis la description."
    )
    assert recorded(french_bot) == (0, 0)


@pytest.mark.parametrize("ref", ["\u0661", "INT-\u0664\u0662", "\uff14\uff12"])
def test_a_ticket_written_in_other_digits_is_not_a_ticket(bot: RunningBot, ref: str) -> None:
    """`<ticket>` is `INT-42` or `42`: Arabic-Indic or full-width digits were acted on as the
    ticket they stand for, and the audit keeps the command as typed, which the team does not
    read as the ticket it changed."""
    bot.clock.set(FRIDAY_4PM)
    bot.command("open acme-web-01 secours down")
    before = recorded(bot)
    assert bot.command(f"claim {ref}") == f"`{ref}` is not a ticket: write `INT-42` or `42`."
    assert recorded(bot) == before


def test_a_snooze_or_a_month_written_in_other_digits_is_refused(bot: RunningBot) -> None:
    bot.clock.set(FRIDAY_4PM)
    bot.command("open acme-web-01 secours down")
    before = recorded(bot)
    assert bot.command("snooze 1 \u0663\u0660m").startswith(
        "`\u0663\u0660m` is not a snooze duration"
    )
    month = "\u0662\u0660\u0662\u0666-\u0661\u0661"
    assert bot.command(f"report {month}", command="/sla").startswith(
        f"`{month}` is one word too many or unreadable."
    )
    assert recorded(bot) == before


def test_a_call_time_written_in_other_digits_is_unreadable(bot: RunningBot) -> None:
    bot.clock.set(FRIDAY_4PM)
    reply = bot.command("open globex-db-01 secours --at \u0661\u0665:\u0663\u0660 slow")
    assert reply.startswith("Unreadable call time")
    assert recorded(bot) == (0, 0)


def test_free_text_keeps_its_line_breaks_as_a_modal_s_does(bot: RunningBot) -> None:
    """Slack sends Shift+Enter in a command as a newline: a description or an update written
    as lines (steps, a list for the client) was recorded as one line, though the same update
    typed in the modal keeps them."""
    bot.clock.set(FRIDAY_4PM)
    assert bot.command(
        "open acme-web-01 secours site down\n- home page 502\n- admin ok"
    ).startswith("INT-1 registered")
    bot.command("update 1 Restarted php-fpm.\n\nNext:\tcheck the logs")
    bot.command("resolve 1 fixed:\n1. php-fpm\n2. cache")
    with bot.sessions() as session:
        ticket = session.get_one(Ticket, 1)
        assert ticket.description == "site down\n- home page 502\n- admin ok"
        details = session.scalars(
            select(AuditEvent.details)
            .where(AuditEvent.action.in_(("ticket.updated", "ticket.resolved")))
            .order_by(AuditEvent.id)
        ).all()
    assert details[0]["text"] == "Restarted php-fpm.\n\nNext:\tcheck the logs"
    assert details[1]["note"] == "fixed:\n1. php-fpm\n2. cache"


def test_the_open_modal_keeps_the_description_s_line_breaks(bot: RunningBot) -> None:
    from bot.slack.ids import (
        OPEN_AT_BLOCK,
        OPEN_DESCRIPTION_BLOCK,
        OPEN_INPUT,
        OPEN_KIND_BLOCK,
        OPEN_SERVER_BLOCK,
        View,
    )

    bot.clock.set(FRIDAY_4PM)
    outage_id = server_down(bot, "acme-web-01", FRIDAY_4PM)

    def typed(value: str) -> dict[str, dict[str, str]]:
        return {OPEN_INPUT: {"type": "plain_text_input", "value": value}}

    fields = {
        OPEN_SERVER_BLOCK: typed("acme-web-01"),
        OPEN_KIND_BLOCK: {
            OPEN_INPUT: {"type": "static_select", "selected_option": {"value": "secours"}}
        },
        OPEN_AT_BLOCK: typed("15:55"),
        OPEN_DESCRIPTION_BLOCK: typed("site down\n- home page 502"),
    }
    opened = bot.slack.send_view_submission(
        View.OPEN_INTERVENTION, fields, user_id="U01AAA", private_metadata=str(outage_id)
    )
    assert opened.body == ""
    with bot.sessions() as session:
        assert session.scalars(select(Ticket.description)).one() == "site down\n- home page 502"


def test_the_length_limits_count_the_text_as_typed_not_slack_s_encoding(bot: RunningBot) -> None:
    """Slack sends a typed `<` as `&lt;`: an update of 800 `<` (an HTML error page pasted for
    the client) was refused as a command over 3000 characters, though the limit of an update
    is 2000 and the whole command typed was 809."""
    bot.clock.set(FRIDAY_4PM)
    bot.command("open acme-web-01 secours down")
    assert bot.command("update 1 " + "&lt;" * 800).startswith("Client update on INT-1")
    assert bot.command("update 1 " + "&amp;" * 2001) == "Text too long (at most 2000 characters)."
    assert bot.command("update 1 " + "&amp;" * 3000) == (
        "Command too long (at most 3000 characters)."
    )
    with bot.sessions() as session:
        texts = session.scalars(
            select(AuditEvent.details).where(AuditEvent.action == "ticket.updated")
        ).all()
    assert [details["text"] for details in texts] == ["<" * 800]


def test_a_silence_s_or_credit_s_length_counts_the_text_as_typed(bot: RunningBot) -> None:
    bot.clock.set(FRIDAY_4PM)
    reply = bot.command("silence globex-db-01 1h " + "&lt;" * 800, command="/sla")
    assert reply.startswith("Alerts for `globex-db-01` silenced until")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "open globex-db-01",
            "The kind is missing: `/intervention open globex-db-01 &lt;kind&gt; "
            "&lt;description…&gt;` (kinds: secours|incident, maintenance, utilisation|usage, "
            "materiel|hardware, reseau|network)",
        ),
        (
            "open Matériel",
            "The server is missing: `/intervention open &lt;server&gt; Matériel "
            "&lt;description…&gt;`",
        ),
    ],
)
def test_an_open_of_one_word_says_whether_the_kind_or_the_server_is_missing(
    bot: RunningBot, text: str, expected: str
) -> None:
    assert bot.command(text) == expected
    assert recorded(bot) == (0, 0)


def test_an_open_of_one_word_is_refused_in_french(french_bot: RunningBot) -> None:
    assert french_bot.command("open globex-db-01") == (
        "Le type manque : `/intervention open globex-db-01 &lt;type&gt; &lt;description…&gt;` "
        "(types : secours|incident, maintenance, utilisation|usage, materiel|hardware, "
        "reseau|network)"
    )
    assert french_bot.command("open reseau") == (
        "Le serveur manque : `/intervention open &lt;serveur&gt; reseau &lt;description…&gt;`"
    )


def test_a_call_date_and_time_written_with_a_space_is_the_call_time(bot: RunningBot) -> None:
    """`--at 2026-11-27 15:30` (as RFC 3339 and people write it) answered that the call time
    `2026-11-27` has no time of day, though its time came next."""
    bot.clock.set(FRIDAY_4PM)
    reply = bot.command("open globex-db-01 secours --at 2026-11-27 15:30 slow")
    assert reply.startswith("INT-1 registered: incident on globex-db-01 (Globex SAS), called at ")
    assert "2026-11-27 15:30" in reply
    bot.command("open globex-db-01 secours --at 2026-11-27 14:30+01:00 slow again")
    with bot.sessions() as session:
        tickets = session.scalars(select(Ticket).order_by(Ticket.id)).all()
        assert [(t.called_at, t.description) for t in tickets] == [
            (datetime(2026, 11, 27, 15, 30, tzinfo=PARIS), "slow"),
            (datetime(2026, 11, 27, 14, 30, tzinfo=PARIS), "slow again"),
        ]
    assert bot.command("open globex-db-01 secours --at 2026-11-27 slow").startswith(
        "Call time `2026-11-27` has no time of day"
    )
