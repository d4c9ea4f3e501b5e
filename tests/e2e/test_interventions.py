"""/intervention end to end: the emulator sends signed commands, the bot answers, and the
ticket's story appears in its Slack thread, in its root message and in the audit trail."""

import concurrent.futures
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.engine import URL

from bot.sandbox import EmulatorThread, Message, ResponsePost, parse_blocks
from bot.slack.ids import (
    OPEN_AT_BLOCK,
    OPEN_DESCRIPTION_BLOCK,
    OPEN_INPUT,
    OPEN_KIND_BLOCK,
    OPEN_SERVER_BLOCK,
    Action,
    View,
)
from bot.storage.models import AuditEvent, Clock, Scope, Ticket, TicketStatus
from bot.storage.outbox import get_stats
from bot.storage.probes import add_outage
from tests.plugins.bot import (
    ALERTS,
    EXAMPLE_CATALOG,
    OUTSIDER,
    TECH,
    TECH2,
    RunningBot,
    server_down,
    start_bot,
    stop_bot,
)

PARIS = ZoneInfo("Europe/Paris")
FRIDAY_4PM = datetime(2026, 11, 27, 16, 0, tzinfo=PARIS)


def thread_of(bot: RunningBot, count: int) -> tuple[Message, list[Message]]:
    """The first root message in the alert channel and its replies, once `count` replies exist."""

    def ready() -> tuple[Message, list[Message]] | None:
        roots = bot.slack.roots(ALERTS)
        if not roots:
            return None
        replies = [m for m in bot.slack.thread(ALERTS, roots[0].ts) if m.is_reply]
        return (roots[0], replies) if len(replies) >= count else None

    return bot.slack.wait_until(ready, timeout_s=15)


def current_root(bot: RunningBot, contains: str) -> Message:
    """The first root message once its latest version contains `contains`."""
    return bot.slack.wait_until(
        lambda: next(
            (
                bot.slack.root(ALERTS, m.ts)
                for m in bot.slack.roots(ALERTS)
                if contains in bot.slack.root(ALERTS, m.ts).text
            ),
            None,
        ),
        timeout_s=15,
    )


def audit_actions(bot: RunningBot, ticket_id: int) -> list[tuple[str, str, str | None]]:
    with bot.sessions() as session:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.ticket_id == ticket_id).order_by(AuditEvent.id)
        )
        return [(row.action, row.actor_id, row.command) for row in rows]


def open_form(*, at: str, description: str) -> dict[str, dict[str, dict[str, Any]]]:
    """The values of the Open intervention modal as Slack submits them: acme-web-01, `secours`,
    the call time and the description as typed."""

    def typed(value: str) -> dict[str, dict[str, Any]]:
        return {OPEN_INPUT: {"type": "plain_text_input", "value": value}}

    return {
        OPEN_SERVER_BLOCK: typed("acme-web-01"),
        OPEN_KIND_BLOCK: {
            OPEN_INPUT: {"type": "static_select", "selected_option": {"value": "secours"}}
        },
        OPEN_AT_BLOCK: typed(at),
        OPEN_DESCRIPTION_BLOCK: typed(description),
    }


def test_a_ticket_lifecycle_is_told_in_its_thread_root_and_audit(bot: RunningBot) -> None:
    """open → claim → update → wait → resume → resolve, each in the thread, audited, root kept."""
    bot.clock.set(FRIDAY_4PM)
    assert bot.command("open acme-web-01 secours Site down since 15:50").startswith(
        "INT-1 registered: incident on acme-web-01 (ACME SARL), called at 2026-11-27 16:00."
    )
    assert "GTI met" in bot.command("claim INT-1")
    assert "Client update" in bot.command("update 1 told the client we restart nginx")
    # GTI stopped at the claim, and an incident has no GTR: nothing to pause.
    assert "No clock is running" in bot.command("wait 1 waiting for the root password")
    assert "resumed" in bot.command("resume INT-1")
    assert "resolved by <@U01AAA>" in bot.command("resolve 1 nginx restarted")

    root, replies = thread_of(bot, 5)
    assert root.text.startswith("INT-1 · incident · acme-web-01 · ACME SARL (essentiel)")
    assert [r.text.split(" ")[0:2] for r in replies] == [
        ["INT-1", "claimed"],
        ["Client", "update"],
        ["INT-1", "is"],
        ["INT-1", "resumed"],
        ["INT-1", "resolved"],
    ]
    final = current_root(bot, "resolved")
    assert final.action_ids() == []  # no buttons on a closed ticket
    assert audit_actions(bot, 1) == [
        ("ticket.opened", TECH, "/intervention open acme-web-01 secours Site down since 15:50"),
        ("ticket.claimed", TECH, "/intervention claim INT-1"),
        ("ticket.updated", TECH, "/intervention update 1 told the client we restart nginx"),
        ("ticket.waiting", TECH, "/intervention wait 1 waiting for the root password"),
        ("ticket.resumed", TECH, "/intervention resume INT-1"),
        ("ticket.resolved", TECH, "/intervention resolve 1 nginx restarted"),
    ]


def drained(bot: RunningBot) -> None:
    """Wait until the outbox has nothing pending: what the commands queued went, or was
    settled without a call."""

    def empty() -> bool | None:
        with bot.sessions() as session:
            return get_stats(session, now=datetime.now(UTC)).pending == 0 or None

    bot.slack.wait_until(empty, timeout_s=15)


def test_a_client_update_makes_no_call_to_edit_a_root_it_leaves_as_it_was(
    bot: RunningBot,
) -> None:
    """The root shows a claimed incident's GTI met, as of 16:00: a client update recorded at
    16:00 re-renders it as it is, and the bot makes no chat.update (Tier 3: one call less for
    those that matter); the thread is told. The resolution changes the root: one edit."""
    bot.clock.set(FRIDAY_4PM)
    bot.command("open acme-web-01 secours Site down since 15:50")
    bot.command("claim INT-1")
    current_root(bot, "in progress")
    drained(bot)
    edits = len(bot.slack.calls_to("chat.update"))
    assert "Client update" in bot.command("update 1 told the client we restart nginx")
    thread_of(bot, 2)
    drained(bot)
    assert len(bot.slack.calls_to("chat.update")) == edits
    assert "resolved by <@U01AAA>" in bot.command("resolve 1 nginx restarted")
    current_root(bot, "resolved")
    drained(bot)
    assert len(bot.slack.calls_to("chat.update")) == edits + 1


def test_wait_pauses_the_running_clock_and_says_so(bot: RunningBot) -> None:
    """A hardware ticket's GTR runs after the claim: waiting on the client pauses it."""
    bot.clock.set(FRIDAY_4PM)
    bot.command("open acme-web-01 materiel disk failing")
    bot.command("claim 1")
    assert bot.command("wait 1 client ships the disk") == (
        "INT-1 is waiting on the client (<@U01AAA>): client ships the disk. The clock is paused."
    )


def test_a_reason_that_ends_its_sentence_is_not_given_a_second_period(
    french_bot: RunningBot,
) -> None:
    """Technicians end their sentences: "…le mot de passe." is not told "passe.. Le délai"."""
    french_bot.clock.set(FRIDAY_4PM)
    french_bot.command("open acme-web-01 materiel disque en panne")
    french_bot.command("claim 1")
    assert french_bot.command("wait 1 le client doit envoyer le mot de passe.") == (
        "INT-1 en attente client (<@U01AAA>) : le client doit envoyer le mot de passe. "
        "Le délai est suspendu."
    )
    french_bot.command("resume 1")
    assert french_bot.command("wait 1 le disque est-il arrivé ?") == (
        "INT-1 en attente client (<@U01AAA>) : le disque est-il arrivé ? Le délai est suspendu."
    )


def test_show_tells_who_registered_the_ticket_in_its_blocks(bot: RunningBot) -> None:
    """Slack shows the blocks, not the text: who registered the ticket and when is in both."""
    bot.clock.set(FRIDAY_4PM)
    bot.command("open acme-web-01 secours --at 15:30 Site down")
    reply = bot.slack.send_slash_command(
        "/intervention", "show 1", user_id=TECH2, channel_id=ALERTS
    ).json()
    registered = "Registered by <@U01AAA> on 2026-11-27 16:00."
    assert registered in reply["text"]
    for shown_in_blocks in ("Site down", "*Assignee:* nobody", "15:30", "GTI 4h: 3h30m left"):
        assert shown_in_blocks in reply["text"]
    shown = [e["text"] for b in reply["blocks"] if b["type"] == "context" for e in b["elements"]]
    assert registered in shown
    assert reply["blocks"][-1]["type"] == "actions"  # the buttons stay last


def test_show_says_why_and_since_when_a_ticket_waits_on_the_client(bot: RunningBot) -> None:
    """The on-call taking over at night reads what the ticket waits for, and from whom."""
    bot.clock.set(FRIDAY_4PM)
    bot.command("open acme-web-01 secours Site down")
    bot.command("wait 1 root password <b>&</b> VPN codes", user_id=TECH2)
    reply = bot.slack.send_slash_command("/intervention", "show 1", user_id=TECH, channel_id=ALERTS)
    waiting = (
        "Waiting on the client since 2026-11-27 16:00 (<@U01BBB>): "
        "root password &lt;b&gt;&amp;&lt;/b&gt; VPN codes."
    )
    assert waiting in reply.json()["text"]
    shown = [
        e["text"] for b in reply.json()["blocks"] if b["type"] == "context" for e in b["elements"]
    ]
    assert any(waiting in text for text in shown)
    bot.command("resume 1", user_id=TECH2)
    assert "Waiting on the client" not in bot.command("show 1")


def test_sla_status_of_a_closed_ticket_says_who_closed_it_when_and_the_note(
    bot: RunningBot,
) -> None:
    """The on-call answering the client at night about "the ticket you closed yesterday"."""
    bot.clock.set(FRIDAY_4PM)
    bot.command("open acme-web-01 secours Site down")
    bot.clock.set(FRIDAY_4PM + timedelta(minutes=45))
    bot.command("resolve 1 cache <purged> & PHP restarted", user_id=TECH2)
    bot.clock.set(FRIDAY_4PM + timedelta(hours=11))  # 03:00 the next night
    reply = bot.slack.send_slash_command(
        "/sla", "status INT-1", user_id=TECH, channel_id=ALERTS
    ).json()
    closed = (
        "Resolved by <@U01BBB> on 2026-11-27 16:45. Note: cache &lt;purged&gt; &amp; PHP restarted."
    )
    assert closed in reply["text"]
    assert "GTI 4h: met (45m)" in reply["text"]
    shown = [e["text"] for b in reply["blocks"] if b["type"] == "context" for e in b["elements"]]
    assert any(closed in text for text in shown)


def test_claiming_your_own_ticket_or_reassigning_to_its_assignee_changes_nothing(
    bot: RunningBot,
) -> None:
    """Said plainly, with no thread post and no audit event."""
    bot.command("open acme-web-01 secours down")
    bot.command("claim 1")
    assert bot.command("claim 1") == "You already have INT-1."
    assert bot.command("claim 1", user_id=TECH2) == "INT-1 is already claimed by <@U01AAA>."
    assert bot.command("reassign 1 <@U01AAA>") == "INT-1 is already assigned to <@U01AAA>."
    assert audit_actions(bot, 1) == [
        ("ticket.opened", TECH, "/intervention open acme-web-01 secours down"),
        ("ticket.claimed", TECH, "/intervention claim 1"),
    ]


def test_reassigning_a_ticket_that_does_not_exist_says_so_before_who_it_would_go_to(
    bot: RunningBot,
) -> None:
    """`reassign 99 <@U09NOBODY>` answered "not a technician": INT-99 not existing (or INT-1
    being resolved) is the problem to fix first. Who may reassign is still checked before."""
    assert bot.command(f"reassign 99 <@{OUTSIDER}>") == "Ticket INT-99 does not exist."
    bot.command("open acme-web-01 secours down")
    bot.command("claim 1")
    assert bot.command(f"reassign 1 <@{OUTSIDER}>") == f"<@{OUTSIDER}> is not a technician."
    bot.command("resolve 1")
    assert bot.command(f"reassign 1 <@{OUTSIDER}>") == "INT-1 is already resolved."
    assert bot.command(f"reassign 99 <@{TECH2}>", user_id=OUTSIDER) == (
        "Only technicians may do that; the attempt is recorded."
    )


def test_claim_says_whether_gti_was_met_with_open_time_and_budget(bot: RunningBot) -> None:
    """Claimed 1 h after a Friday 16:00 call: GTI (4 h on business hours) met in 1h."""
    bot.clock.set(FRIDAY_4PM)
    bot.command("open acme-web-01 secours down")
    bot.clock.set(FRIDAY_4PM + timedelta(hours=1))
    assert bot.command("claim 1") == (
        "INT-1 claimed by <@U01AAA>. GTI met: 1h of open time, budget 4h."
    )


def test_claim_after_the_deadline_is_a_breach_counted_in_open_time(bot: RunningBot) -> None:
    """Friday 16:00 + 4 h of business hours is Saturday 10:00; a claim at 11:00 breached (5h)."""
    bot.clock.set(FRIDAY_4PM)
    bot.command("open acme-web-01 secours down")
    bot.clock.set(datetime(2026, 11, 28, 11, 0, tzinfo=PARIS))
    assert bot.command("claim 1") == (
        "INT-1 claimed by <@U01AAA>. GTI *breached*: 5h of open time, budget 4h."
    )
    with bot.sessions() as session:
        clock = session.scalars(select(Clock)).one()
        assert clock.stopped_at == datetime(2026, 11, 28, 11, 0, tzinfo=PARIS)


def test_a_ticket_past_the_allowance_is_out_of_scope_until_quoted(bot: RunningBot) -> None:
    """ACME's level allows 2 software interventions a month: the third runs no clock."""
    bot.clock.set(FRIDAY_4PM)
    bot.command("open acme-web-01 secours one")
    bot.command("open acme-web-01 maintenance two")
    reply = bot.command("open acme-web-01 utilisation three")
    assert "*out of scope*" in reply
    assert "(2/2)" in reply
    assert "quote INT-3" in reply
    assert "out of scope" in bot.command("claim 3")
    assert "no guaranteed delay" in bot.command("quote 3 client accepted 150 €")
    assert "unclaimed · out of scope, quoted" in bot.command("show 3")
    assert bot.command("claim 3") == "INT-3 claimed by <@U01AAA>."
    assert "in progress · out of scope, quoted" in bot.command("show 3")
    # Hardware does not count towards the allowance: still in scope, GTR running.
    assert "GTR 8h" in bot.command("open acme-web-01 materiel disk failure")
    with bot.sessions() as session:
        scopes = [t.scope for t in session.scalars(select(Ticket).order_by(Ticket.id))]
        assert scopes == [Scope.IN, Scope.IN, Scope.QUOTED, Scope.IN]
        assert session.scalar(select(Clock).where(Clock.ticket_id == 3)) is None


def test_a_second_ticket_on_a_server_names_the_open_ones_without_refusing(
    bot: RunningBot,
) -> None:
    """Two technicians taking the same call: the second ticket is registered, and its reply
    names the server's open tickets with their assignee, so the duplicate is noticed at once.
    Tickets of another server, and resolved ones, are not named."""
    bot.clock.set(FRIDAY_4PM)
    first = bot.command("open acme-web-01 secours site down", user_id=TECH2)
    assert ":warning:" not in first
    bot.command("claim 1", user_id=TECH2)
    assert "INT-1" not in bot.command("open globex-db-01 materiel disk failing")
    second = bot.command("open acme-web-01 secours the site is down")
    assert second.startswith("INT-3 registered: incident on acme-web-01")
    assert second.endswith(
        "\n:warning: acme-web-01 already has 1 open ticket: INT-1 (incident, <@U01BBB>). "
        "Check that INT-3 is not a duplicate."
    )
    bot.command("resolve 1 nginx restarted", user_id=TECH2)
    out_of_scope = bot.command("open acme-web-01 utilisation how to restart", user_id=TECH2)
    assert "*out of scope*" in out_of_scope  # the allowance (2) is used: still told
    assert out_of_scope.endswith(
        "\n:warning: acme-web-01 already has 1 open ticket: INT-3 (incident, unclaimed). "
        "Check that INT-4 is not a duplicate."
    )
    assert "already has 2 open tickets: INT-3 (incident, unclaimed), INT-4 (usage, unclaimed)" in (
        bot.command("open acme-web-01 materiel disk failing")
    )
    with bot.sessions() as session:
        assert len(session.scalars(select(Ticket)).all()) == 5


def test_a_server_typed_in_another_case_is_the_catalog_s(bot: RunningBot) -> None:
    """`ACME-WEB-01` is acme-web-01, as `GLOBEX` is the client globex."""
    bot.clock.set(FRIDAY_4PM)
    assert "on acme-web-01" in bot.command("open ACME-WEB-01 secours site down")
    assert "INT-1" in bot.command("status Acme-Web-01", command="/sla")
    assert "acme-web-01" in bot.command("silence ACME-web-01 1h reboot", command="/sla")
    with bot.sessions() as session:
        assert session.get_one(Ticket, 1).server_id == "acme-web-01"


def test_resolving_an_unclaimed_ticket_says_how_its_gti_ended(bot: RunningBot) -> None:
    """Resolving claims first: the GTI stops there, and the reply gives its verdict."""
    bot.clock.set(FRIDAY_4PM)
    bot.command("open acme-web-01 secours site down")
    bot.clock.advance(timedelta(minutes=10))
    assert bot.command("resolve 1 duplicate of INT-0") == (
        "INT-1 resolved by <@U01AAA>. GTI met: 10m of open time, budget 4h."
        " Note: duplicate of INT-0"
    )


def test_refuse_closes_an_out_of_scope_ticket(bot: RunningBot) -> None:
    """A refusal is recorded and the ticket is closed."""
    bot.clock.set(FRIDAY_4PM)
    for n in range(3):
        bot.command(f"open acme-web-01 secours request {n}")
    assert "refused (out of scope)" in bot.command("refuse INT-3 new software, not in contract")
    with bot.sessions() as session:
        ticket = session.get_one(Ticket, 3)
        assert (ticket.scope, ticket.status) == (Scope.REFUSED, TicketStatus.RESOLVED)
    for verb in ("claim", "resolve"):  # closed, but not "resolved": nobody worked on it
        assert (
            bot.command(f"{verb} INT-3") == "INT-3 is closed: out of scope, refused by the client."
        )


def test_quote_on_a_ticket_within_the_forfait_takes_it_out_with_its_clock(
    bot: RunningBot,
) -> None:
    """A request outside the forfait (new software) gets no guaranteed delay: quoting it
    withdraws its clock and frees its slot in the month's allowance."""
    bot.clock.set(FRIDAY_4PM)
    assert "GTI" in bot.command("open acme-web-01 maintenance install a Magento module")
    reply = bot.command("quote INT-1 quote of 300 € accepted")
    assert reply == (
        "Quote recorded for INT-1 by <@U01AAA>: out of scope, no guaranteed delay. The request"
        " is outside the forfait: its clocks are withdrawn, and it no longer counts towards the"
        " month's allowance. Note: quote of 300 € accepted"
    )
    assert "out of scope, quoted" in bot.command("show 1")
    # ACME's level allows 2 a month: INT-1 no longer takes one of them.
    assert "out of scope" not in bot.command("open acme-web-01 secours one")
    assert "out of scope" not in bot.command("open acme-web-01 secours two")
    assert "*out of scope*" in bot.command("open acme-web-01 secours three")
    with bot.sessions() as session:
        assert session.get_one(Ticket, 1).scope is Scope.QUOTED
        assert session.scalar(select(Clock).where(Clock.ticket_id == 1)) is None
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "ticket.quoted")
        ).one()
        (clock,) = event.details["left_forfait"]["clocks"]
        assert (clock["clock"], clock["state"]) == ("gti", "running")
        assert event.details["left_forfait"]["credits_withdrawn"] == []
    assert bot.command("quote 1") == "INT-1 is not waiting for a quote or a refusal."
    bot.command("open acme-web-01 materiel disk failure")  # INT-5: hardware, always covered
    assert bot.command("refuse INT-5") == (
        "INT-5 is a hardware ticket: the contract always covers it, it cannot leave the forfait."
    )
    with bot.sessions() as session:
        assert session.get_one(Ticket, 5).scope is Scope.IN


def test_leaving_the_forfait_withdraws_an_eligible_credit_not_a_requested_one(
    bot: RunningBot,
) -> None:
    from bot.storage.models import Credit, CreditState

    bot.clock.set(FRIDAY_4PM)
    bot.command("open acme-web-01 secours one")
    bot.command("open acme-web-01 secours two")
    bot.clock.set(datetime(2026, 11, 30, 15, 0, tzinfo=PARIS))  # both GTIs breached
    bot.command("claim 1")
    bot.command("claim 2")
    assert "requested" in bot.command("credit request INT-2", command="/sla")
    assert bot.command("refuse INT-2 new software") == (
        "INT-2 has a GTI credit requested: decline it first (`/sla credit decline INT-2`)"
        " if the request is outside the forfait."
    )
    assert "with the credit their breach made eligible" in bot.command("refuse INT-1")
    with bot.sessions() as session:
        credits = session.scalars(select(Credit)).all()
        assert [(c.ticket_id, c.state) for c in credits] == [(2, CreditState.REQUESTED)]
        scopes = [(t.id, t.scope) for t in session.scalars(select(Ticket).order_by(Ticket.id))]
        assert scopes == [(1, Scope.REFUSED), (2, Scope.IN)]
        assert [c.ticket_id for c in session.scalars(select(Clock))] == [2]


def test_at_backdates_the_call_and_the_clock_starts_then(bot: RunningBot) -> None:
    """`--at HH:MM` is local time (today's here); the GTI deadline counts from the call."""
    bot.clock.set(FRIDAY_4PM)
    reply = bot.command("open globex-db-01 secours --at 15:30 database slow")
    assert "called at 2026-11-27 15:30" in reply
    assert "due 2026-11-27 16:30" in reply  # premium GTI is 1 h on business hours
    iso = bot.command("open globex-db-01 reseau --at 2026-11-27T06:00:00+01:00 link down")
    assert "called at 2026-11-27 06:00" in iso
    with bot.sessions() as session:
        called = [t.called_at for t in session.scalars(select(Ticket).order_by(Ticket.id))]
    assert called == [
        datetime(2026, 11, 27, 15, 30, tzinfo=PARIS),
        datetime(2026, 11, 27, 6, 0, tzinfo=PARIS),
    ]


def test_at_takes_the_hour_alone_as_french_writes_it(french_bot: RunningBot) -> None:
    """`--at 15h` is 15:00, as `--at 15h30` is 15:30: it was "Heure d'appel illisible"."""
    french_bot.clock.set(FRIDAY_4PM)
    reply = french_bot.command("open acme-web-01 secours --at 15h Site down")
    assert "2026-11-27 15:00" in reply
    with french_bot.sessions() as session:
        ticket = session.scalars(select(Ticket)).one()
        assert ticket.called_at == datetime(2026, 11, 27, 15, 0, tzinfo=PARIS)


def test_at_in_the_hour_lived_twice_is_the_call_just_made(bot: RunningBot) -> None:
    """At 02:10 of the second 02:00-03:00 on 25 October, `--at 02:05` is 5 minutes ago: the
    24/7 GTR has 3h55m left, not 2h55m (the first 02:05, an hour earlier)."""
    bot.clock.set(datetime(2026, 10, 25, 1, 10, tzinfo=UTC))
    reply = bot.command("open globex-db-01 reseau --at 02:05 link down")
    assert "GTR 4h: 3h55m left, due 2026-10-25 06:05" in reply
    with bot.sessions() as session:
        ticket = session.scalars(select(Ticket)).one()
        assert ticket.called_at == datetime(2026, 10, 25, 1, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        ("16:30", "is in the future"),
        ("2026-11-26T15:59", "more than 24 h ago"),
        ("25:99", "Unreadable call time"),
        ("yesterday", "Unreadable call time"),
    ],
)
def test_call_times_in_the_future_or_too_old_are_refused(
    bot: RunningBot, at: str, expected: str
) -> None:
    """Never in the future, at most 24 h back, and a clear message otherwise."""
    bot.clock.set(FRIDAY_4PM)
    assert expected in bot.command(f"open globex-db-01 secours --at {at} slow")
    with bot.sessions() as session:
        assert session.scalar(select(Ticket)) is None


def test_at_after_the_description_is_refused_not_kept_as_text(bot: RunningBot) -> None:
    """`--at` after the description would silently be part of it, and the call time now."""
    for text in ("slow since --at 15:30", "slow --at=15:30"):
        reply = bot.command(f"open globex-db-01 secours {text}")
        assert reply.startswith("`--at` goes before the description")
    with bot.sessions() as session:
        assert session.scalar(select(Ticket)) is None


def test_at_typed_with_a_phone_s_dash_is_still_the_call_time(french_bot: RunningBot) -> None:
    """Phones and macOS turn a typed `--` into a dash: `—at 02:50` (or `–at=02:50`) is the
    call time, not the first words of the description with the clock started now."""
    french_bot.clock.set(datetime(2026, 11, 27, 3, 10, tzinfo=PARIS))
    for n, flag in enumerate(("\u2014at 02:50", "\u2013at=02:50"), start=1):
        reply = french_bot.command(f"open globex-db-01 reseau {flag} lien coupé")
        assert reply.startswith(
            f"INT-{n} enregistré : réseau sur globex-db-01 (Globex SAS), appel du 2026-11-27 02:50."
        )
    with french_bot.sessions() as session:
        tickets = session.scalars(select(Ticket).order_by(Ticket.id)).all()
        assert [(t.called_at, t.description) for t in tickets] == [
            (datetime(2026, 11, 27, 2, 50, tzinfo=PARIS), "lien coupé")
        ] * 2


def test_non_technicians_may_read_but_not_act_and_refusals_are_audited(bot: RunningBot) -> None:
    """An outsider's `open` is refused and recorded; list, show and /sla status still answer."""
    refused = bot.command("open acme-web-01 secours please", user_id=OUTSIDER)
    assert refused == "Only technicians may do that; the attempt is recorded."
    bot.command("open acme-web-01 secours real one")
    assert "Only technicians" in bot.command("claim 1", user_id=OUTSIDER)
    assert "Only technicians" in bot.command("claim 99", user_id=OUTSIDER)
    assert "INT-1" in bot.command("list", user_id=OUTSIDER)
    assert "INT-1" in bot.command("show 1", user_id=OUTSIDER)
    assert "INT-1" in bot.command("status", user_id=OUTSIDER, command="/sla")
    with bot.sessions() as session:
        refusals = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "refused").order_by(AuditEvent.id)
        ).all()
        # In the timeline of the ticket aimed at, when it exists.
        assert [(r.actor_id, r.command, r.ticket_id) for r in refusals] == [
            (OUTSIDER, "/intervention open acme-web-01 secours please", None),
            (OUTSIDER, "/intervention claim 1", 1),
            (OUTSIDER, "/intervention claim 99", None),
        ]
        assert session.get_one(Ticket, 1).assignee_id is None


GROUP_MEMBER = "U05GROUP"  # a technician through the Slack user group S01TECHS only


@pytest.fixture
def group_bot(slack: EmulatorThread, database_url: URL, tmp_path: Path) -> Iterator[RunningBot]:
    """The bot with a catalog whose technicians include the user group S01TECHS, whose only
    member is GROUP_MEMBER."""
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(
        EXAMPLE_CATALOG.read_text(encoding="utf-8").replace(
            "[team]\n", '[team]\nusergroup = "S01TECHS"\n'
        ),
        encoding="utf-8",
    )
    running, loop = start_bot(slack, database_url, catalog=catalog)
    slack.add_user(GROUP_MEMBER)
    slack.add_usergroup("S01TECHS", [GROUP_MEMBER])
    yield running
    stop_bot(running, loop)


def test_a_technician_of_the_user_group_is_not_refused_when_slack_cannot_list_it(
    group_bot: RunningBot,
) -> None:
    """Slack fails to list the technicians' group before the bot ever read it: a member is
    told to try again, not that only technicians may act, and no refusal is recorded."""
    group_bot.slack.inject_error("usergroups.users.list", "internal_error", times=1)
    assert group_bot.command("open acme-web-01 secours Site down", user_id=GROUP_MEMBER) == (
        "Slack did not say who the technicians are (user group S01TECHS), so nothing was "
        "done. Try again in a moment."
    )
    assert group_bot.command("open acme-web-01 secours Site down", user_id=GROUP_MEMBER).startswith(
        "INT-1 registered"
    )
    with group_bot.sessions() as session:
        assert [(e.action, e.actor_id) for e in session.scalars(select(AuditEvent))] == [
            ("ticket.opened", GROUP_MEMBER)
        ]


def test_a_disabled_user_group_says_why_its_members_may_not_act(group_bot: RunningBot) -> None:
    """The technicians' group disabled in Slack: its member is told what Slack answered, and
    that only the catalog's technicians act meanwhile, who still do. Theirs is a refusal, as
    an outsider's is: audited, on the ticket it aimed at."""
    group_bot.slack.inject_error("usergroups.users.list", "no_such_subteam", times=None)
    assert group_bot.command("open acme-web-01 secours Site down", user_id=GROUP_MEMBER) == (
        "Slack refuses to list the technicians' user group S01TECHS (`no_such_subteam`: "
        "disabled, deleted, or the app may not read user groups), so nothing was done. Only the "
        "technicians the catalog names may act until this is fixed."
    )
    assert group_bot.command("open acme-web-01 secours Site down").startswith("INT-1 registered")
    assert "so nothing was done" in group_bot.command("claim 1", user_id=GROUP_MEMBER)
    with group_bot.sessions() as session:
        refusals = session.scalars(select(AuditEvent).where(AuditEvent.action == "refused"))
        assert [(e.actor_id, e.command, e.ticket_id) for e in refusals] == [
            (GROUP_MEMBER, "/intervention open acme-web-01 secours Site down", None),
            (GROUP_MEMBER, "/intervention claim 1", 1),
        ]


def test_a_slack_slow_to_list_the_technicians_does_not_cost_their_command(
    group_bot: RunningBot,
) -> None:
    """Slack hangs on the technicians' user group: the member is told at once that Slack did
    not say (not that the database is slow), and the read, once answered, serves the next."""
    slack = group_bot.slack
    slack.stall("S01TECHS")
    assert group_bot.command("open acme-web-01 secours Site down", user_id=GROUP_MEMBER).startswith(
        "Slack did not say who the technicians are (user group S01TECHS)"
    )
    slack.release()
    slack.wait_until(lambda: slack.stalled_calls == 0 or None)
    assert group_bot.command("open acme-web-01 secours Site down", user_id=GROUP_MEMBER).startswith(
        "INT-1 registered"
    )


def test_ten_concurrent_claims_have_exactly_one_winner(
    slack: EmulatorThread, database_url: URL, tmp_path: Path
) -> None:
    """Ten technicians click at once: one claims, nine are told who has it."""
    technicians = [f"U0TECH{n:02d}" for n in range(10)]
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(
        EXAMPLE_CATALOG.read_text(encoding="utf-8").replace(
            'technicians = ["U01AAA", "U01BBB"]', f"technicians = {technicians!r}"
        ),
        encoding="utf-8",
    )
    bot, loop = start_bot(slack, database_url, catalog=catalog)
    try:
        bot.command("open acme-web-01 secours down", user_id=technicians[0])
        with concurrent.futures.ThreadPoolExecutor(10) as pool:
            replies = list(pool.map(lambda u: bot.command("claim 1", user_id=u), technicians))
        winners = [r for r in replies if "claimed by" in r and "already" not in r]
        assert len(winners) == 1
        winner = winners[0].split("<@")[1].split(">")[0]
        losers = [r for r in replies if r != winners[0]]
        assert losers == [f"INT-1 is already claimed by <@{winner}>."] * 9
        with bot.sessions() as session:
            assert session.get_one(Ticket, 1).assignee_id == winner
            claims = session.scalars(
                select(AuditEvent).where(AuditEvent.action == "ticket.claimed")
            ).all()
            assert len(claims) == 1
    finally:
        stop_bot(bot, loop)


def test_open_and_claim_over_socket_mode(slack: EmulatorThread, database_url: URL) -> None:
    """The same path works when the bot is connected over Socket Mode."""
    bot, loop = start_bot(slack, database_url, socket_mode=True)
    try:
        slack.wait_for_socket()
        opened = slack.send_slash_command(
            "/intervention", "open acme-web-01 secours down", user_id=TECH, channel_id=ALERTS,
            via="socket",
        )  # fmt: skip
        assert opened.text.startswith("INT-1 registered")
        claimed = slack.send_slash_command(
            "/intervention", "claim 1", user_id=TECH2, channel_id=ALERTS, via="socket"
        )
        assert claimed.text.startswith("INT-1 claimed by <@U01BBB>")
        _, replies = thread_of(bot, 1)
        assert "claimed by <@U01BBB>" in replies[0].text
    finally:
        stop_bot(bot, loop)


def test_buttons_claim_post_update_and_resolve(bot: RunningBot) -> None:
    """Claim, Post update (a modal) and Resolve on the root message do what the commands do."""
    bot.command("open acme-web-01 secours down")
    root = current_root(bot, "INT-1")
    assert root.action_ids() == [Action.CLAIM, Action.POST_UPDATE, Action.RESOLVE]
    bot.slack.click(ALERTS, root.ts, Action.CLAIM, user_id=TECH2)
    bot.slack.wait_until(lambda: "claimed by <@U01BBB>" in "".join(
        r.text for r in bot.slack.responses()) or None)  # fmt: skip
    bot.slack.click(ALERTS, root.ts, Action.POST_UPDATE, user_id=TECH2)
    view = bot.slack.wait_until(lambda: next(iter(bot.slack.views(TECH2)), None))
    blank = {"type": "plain_text_input", "value": "  "}
    refused = bot.slack.submit_view(view, {"update_text": {"text": blank}}, user_id=TECH2)
    assert refused.json()["errors"] == {"update_text": "Write what the client was told."}
    typed = {"type": "plain_text_input", "value": "rebooted the VM"}
    bot.slack.submit_view(view, {"update_text": {"text": typed}}, user_id=TECH2)
    bot.slack.wait_until(
        lambda: any("rebooted the VM" in m.text for m in bot.slack.messages(ALERTS)) or None
    )
    bot.slack.click(ALERTS, root.ts, Action.RESOLVE, user_id=TECH2)
    current_root(bot, "resolved")
    assert [a for a, _, _ in audit_actions(bot, 1)] == [
        "ticket.opened",
        "ticket.claimed",
        "ticket.updated",
        "ticket.resolved",
    ]


def test_resolve_anyway_replaces_its_confirmation_and_a_stale_click_changes_nothing(
    bot: RunningBot,
) -> None:
    """Two technicians are asked to confirm resolving INT-1 while probes see its server down.
    The first click resolves it and takes the place of its confirmation (no button left); the
    other confirmation, clicked after, and the first one clicked again (Slack may still show
    it), resolve nothing more: they say who closed the ticket, in place of the confirmation."""
    bot.clock.set(FRIDAY_4PM)
    server_down(bot, "acme-web-01", FRIDAY_4PM)
    bot.command("open acme-web-01 materiel disk errors")

    def confirmation(user_id: str) -> str:
        asked = bot.slack.send_slash_command(
            "/intervention", "resolve INT-1 swapped", user_id=user_id, channel_id=ALERTS
        ).json()
        assert "still see acme-web-01 down" in asked["text"]
        button = asked["blocks"][1]["elements"][0]
        assert button["action_id"] == Action.RESOLVE_ANYWAY
        return str(button["value"])

    def click(user_id: str, value: str, count: int) -> ResponsePost:
        bot.slack.send_block_action(
            Action.RESOLVE_ANYWAY, user_id=user_id, channel_id=ALERTS, value=value
        )
        posts = bot.slack.wait_until(lambda: bot.slack.responses()[count - 1 :] or None)
        return posts[0]

    mine, theirs = confirmation(TECH), confirmation(TECH2)
    done = click(TECH2, theirs, 1)
    assert done.user == TECH2
    assert done.replace_original
    assert done.text.startswith("INT-1 resolved by <@U01BBB>")
    assert done.blocks == []
    stale = "INT-1 was already closed by <@U01BBB>: this confirmation no longer applies"
    late = click(TECH, mine, 2)
    assert (late.user, late.replace_original, late.blocks) == (TECH, True, [])
    assert late.text.startswith(stale)
    again = click(TECH2, theirs, 3)
    assert (again.user, again.replace_original) == (TECH2, True)
    assert again.text.startswith(stale)
    assert [a for a, _, _ in audit_actions(bot, 1)] == ["ticket.opened", "ticket.resolved"]


def test_a_resolution_confirmed_while_down_is_audited_as_the_confirmation_clicked(
    bot: RunningBot,
) -> None:
    """The timeline tells Resolve on the root from Resolve anyway on the confirmation that
    `resolve` asked for while probes saw the server down (the GTR clock it stopped may have
    been stopped meanwhile): the click's command names the button it came from, refusals too."""
    bot.clock.set(FRIDAY_4PM)
    server_down(bot, "acme-web-01", FRIDAY_4PM)
    bot.command("open acme-web-01 materiel disk errors")
    asked = bot.slack.send_slash_command(
        "/intervention", "resolve INT-1 swapped", user_id=TECH, channel_id=ALERTS
    ).json()
    value = str(asked["blocks"][1]["elements"][0]["value"])
    for user, count in ((OUTSIDER, 1), (TECH, 2)):
        bot.slack.send_block_action(
            Action.RESOLVE_ANYWAY, user_id=user, channel_id=ALERTS, value=value
        )
        bot.slack.wait_until(lambda count=count: bot.slack.responses()[count - 1 :] or None)
    assert audit_actions(bot, 1)[1:] == [
        ("refused", OUTSIDER, "[button] resolve anyway INT-1"),
        ("ticket.resolved", TECH, "[button] resolve anyway INT-1"),
    ]


def test_post_update_is_refused_at_the_click_not_after_the_update_is_typed(
    bot: RunningBot,
) -> None:
    """An outsider's click, or a click on a ticket resolved meanwhile (the clicker's Slack
    still shows the button), opens no modal: the clicker is told at once, and the outsider's
    attempt is audited on the ticket."""
    bot.command("open acme-web-01 secours down")
    root = current_root(bot, "INT-1")
    bot.slack.click(ALERTS, root.ts, Action.POST_UPDATE, user_id=OUTSIDER)
    refused = bot.slack.wait_until(lambda: next(iter(bot.slack.responses(OUTSIDER)), None))
    assert refused.text == "Only technicians may do that; the attempt is recorded."
    bot.command("resolve 1 done")
    bot.slack.click(ALERTS, root.ts, Action.POST_UPDATE, user_id=TECH2)  # the root as posted
    closed = bot.slack.wait_until(lambda: next(iter(bot.slack.responses(TECH2)), None))
    assert closed.text == "INT-1 is already resolved."
    assert bot.slack.views(OUTSIDER) == []
    assert bot.slack.views(TECH2) == []
    assert audit_actions(bot, 1)[1] == ("refused", OUTSIDER, "[button] update INT-1")


def test_an_update_refused_on_submit_is_shown_in_the_modal_with_the_text_kept(
    bot: RunningBot,
) -> None:
    """A colleague resolved the ticket while the update was being typed: the modal stays open
    and says so, rather than closing on the text and refusing it in a DM."""
    bot.command("open acme-web-01 secours down")
    root = current_root(bot, "INT-1")
    bot.slack.click(ALERTS, root.ts, Action.POST_UPDATE, user_id=TECH2)
    view = bot.slack.wait_until(lambda: next(iter(bot.slack.views(TECH2)), None))
    bot.command("resolve 1 nginx restarted")
    typed = {"type": "plain_text_input", "value": "told the client: restarting nginx"}
    answer = bot.slack.submit_view(view, {"update_text": {"text": typed}}, user_id=TECH2).json()
    assert answer == {
        "response_action": "errors",
        "errors": {"update_text": "INT-1 is already resolved."},
    }
    assert [a for a, _, _ in audit_actions(bot, 1)] == ["ticket.opened", "ticket.resolved"]


def test_a_modal_submitted_again_after_its_ack_was_lost_is_recorded_once(bot: RunningBot) -> None:
    """Slack keeps a modal open when its submission's ack did not reach it (a Socket Mode
    connection cut, an answer past 3 s), and the technician submits it again with a new
    trigger_id: the update was posted twice, a ticket opened twice from an outage's modal. A
    submission is known by its view, which Slack closes at the first one acked."""
    bot.command("open acme-web-01 secours down")
    bot.slack.click(ALERTS, current_root(bot, "INT-1").ts, Action.POST_UPDATE, user_id=TECH2)
    view = bot.slack.wait_until(lambda: next(iter(bot.slack.views(TECH2)), None))
    typed = {"update_text": {"text": {"type": "plain_text_input", "value": "rebooted"}}}
    for _ in range(2):
        assert bot.slack.submit_view(view, typed, user_id=TECH2).text == ""
    assert [a for a, _, _ in audit_actions(bot, 1)] == ["ticket.opened", "ticket.updated"]


@pytest.mark.parametrize("value", ["abc", "", "-1", "\uff11", "1e5"])
def test_a_button_or_modal_naming_no_ticket_is_answered_not_crashed(
    bot: RunningBot, value: str
) -> None:
    """Slack sends back what the bot wrote; anything else (a forged or garbled payload) gets a
    plain answer, not "Internal error" nor an HTTP 500 that Slack shows as a connection error."""
    bad = "This button or form names nothing the bot can read: use the `/intervention` command"
    bad += " instead."
    click = bot.slack.send_block_action(Action.CLAIM, user_id=TECH, channel_id=ALERTS, value=value)
    assert click.status == 200
    assert bot.slack.wait_until(lambda: [r.text for r in bot.slack.responses(TECH)] or None) == [
        bad
    ]
    typed = {"update_text": {"text": {"type": "plain_text_input", "value": "told the client"}}}
    submitted = bot.slack.send_view_submission(
        View.UPDATE, typed, user_id=TECH, private_metadata=value
    )
    assert submitted.json() == {"response_action": "errors", "errors": {"update_text": bad}}
    opened = bot.slack.send_view_submission(
        View.OPEN_INTERVENTION, {}, user_id=TECH, private_metadata=value
    )
    assert opened.json()["errors"] == {"open_description": bad}


def test_a_modal_s_error_shows_what_was_typed_not_its_escape(bot: RunningBot) -> None:
    """Slack shows a modal's errors as plain text: `&` typed in a field is echoed as `&`, not
    as the `&amp;` a message would need."""
    bot.clock.set(FRIDAY_4PM)
    with bot.sessions.begin() as session:
        outage = add_outage(
            session,
            "acme-web-01",
            started_at=FRIDAY_4PM - timedelta(minutes=5),
            confirmed_at=FRIDAY_4PM - timedelta(minutes=4),
        )
        session.flush()
        outage_id = outage.id

    values = open_form(at="15h & <30>", description="site down")
    answer = bot.slack.send_view_submission(
        View.OPEN_INTERVENTION, values, user_id=TECH, private_metadata=str(outage_id)
    )
    assert answer.json()["errors"] == {
        OPEN_AT_BLOCK: (
            "Unreadable call time `15h & <30>`: write HH:MM (`15:30`, `15h30` or `15h`) or an "
            "ISO-8601 instant."
        )
    }


def test_an_open_modal_names_every_field_at_fault_at_once(french_bot: RunningBot) -> None:
    """An unknown server, a call time to come and a description of blanks are each shown on
    their own field, in the team's language, in one answer: not one at a time, the next only
    once the first is fixed and submitted again."""
    bot = french_bot
    bot.clock.set(FRIDAY_4PM)
    outage_id = server_down(bot, "acme-web-01", FRIDAY_4PM)

    values = open_form(at="17:30", description="   ")
    values[OPEN_SERVER_BLOCK] = {OPEN_INPUT: {"type": "plain_text_input", "value": "web-99"}}
    answer = bot.slack.send_view_submission(
        View.OPEN_INTERVENTION, values, user_id=TECH, private_metadata=str(outage_id)
    )
    assert answer.json() == {
        "response_action": "errors",
        "errors": {
            OPEN_SERVER_BLOCK: (
                "Serveur inconnu `web-99`. Serveurs : `acme-web-01`, `globex-db-01`."
            ),
            OPEN_AT_BLOCK: (
                "L'heure d'appel 2026-11-27 17:30 est dans le futur (pour un autre jour, "
                "donnez la date : `AAAA-MM-JJTHH:MM`)."
            ),
            OPEN_DESCRIPTION_BLOCK: "Décrivez l'intervention.",
        },
    }
    # A call time unreadable and a server id that cannot be one, with a description: both.
    values = open_form(at="25:00", description="site down")
    values[OPEN_SERVER_BLOCK] = {OPEN_INPUT: {"type": "plain_text_input", "value": "web 99"}}
    answer = bot.slack.send_view_submission(
        View.OPEN_INTERVENTION, values, user_id=TECH, private_metadata=str(outage_id)
    )
    assert set(answer.json()["errors"]) == {OPEN_SERVER_BLOCK, OPEN_AT_BLOCK}
    with bot.sessions() as session:
        assert session.scalars(select(Ticket)).all() == []


def test_text_typed_in_a_modal_is_kept_as_typed_not_decoded(bot: RunningBot) -> None:
    """Slack encodes `&`, `<` and `>` in a command's text, not in a modal's fields: an update
    or a description explaining `&lt;br&gt;` to the client keeps it, not `<br>`."""
    bot.clock.set(FRIDAY_4PM)
    outage_id = server_down(bot, "acme-web-01", FRIDAY_4PM)

    fields = open_form(at="15:55", description="page shows &lt;br&gt;")
    opened = bot.slack.send_view_submission(
        View.OPEN_INTERVENTION, fields, user_id=TECH, private_metadata=str(outage_id)
    )
    assert opened.body == ""
    update = {"update_text": {"text": {"type": "plain_text_input", "value": "write &amp; not &"}}}
    updated = bot.slack.send_view_submission(
        View.UPDATE, update, user_id=TECH, private_metadata="1"
    )
    assert updated.body == ""
    with bot.sessions() as session:
        assert session.scalars(select(Ticket.description)).one() == "page shows &lt;br&gt;"
        details = session.scalars(
            select(AuditEvent.details).where(AuditEvent.action == "ticket.updated")
        ).one()
    assert details["text"] == "write &amp; not &"


def test_an_outsider_s_update_modal_is_refused_whatever_its_text(bot: RunningBot) -> None:
    """A blank update from an outsider used to be asked for text, and no refusal recorded; a
    technician's blank one is still asked for text."""
    bot.command("open acme-web-01 secours down")
    blank = {"update_text": {"text": {"type": "plain_text_input", "value": "  "}}}
    for user, expected in (
        (OUTSIDER, "Only technicians may do that; the attempt is recorded."),
        (TECH, "Write what the client was told."),
    ):
        answer = bot.slack.send_view_submission(
            View.UPDATE, blank, user_id=user, private_metadata="1"
        )
        assert answer.json() == {"response_action": "errors", "errors": {"update_text": expected}}
    assert [(a, who) for a, who, _ in audit_actions(bot, 1)] == [
        ("ticket.opened", TECH),
        ("refused", OUTSIDER),
    ]


def test_an_out_of_scope_root_offers_no_resolve_until_quoted(bot: RunningBot) -> None:
    """Past the allowance, resolving is refused until a quote or a refusal is recorded: the
    root does not offer Resolve (nor Claim) until then, and offers both once quoted."""
    bot.clock.set(FRIDAY_4PM)
    for n in range(3):
        bot.command(f"open acme-web-01 secours request {n}")
    pending = current_root(bot, "INT-3")
    assert "out of scope" in pending.text
    assert pending.action_ids() == [Action.POST_UPDATE]
    bot.command("quote 3 client accepted 150 €")
    quoted = current_root(bot, "INT-3 · incident · acme-web-01 · ACME SARL (essentiel) — unclaimed")
    assert quoted.action_ids() == [Action.CLAIM, Action.POST_UPDATE, Action.RESOLVE]


def test_user_text_is_escaped_so_mentions_ping_nobody(bot: RunningBot) -> None:
    """`<!channel>` in a description or an update is shown, not broadcast."""
    bot.command("open acme-web-01 secours <!channel> & <@U01BBB> look")
    reply = bot.command("update 1 <!here> done")
    assert "<!here>" not in reply
    assert "&lt;!here&gt;" in reply
    root = current_root(bot, "INT-1")
    assert "<!channel>" not in str(root.blocks)
    assert "&lt;!channel&gt; &amp; &lt;@U01BBB&gt;" in str(root.blocks)


def test_status_lists_open_tickets_most_urgent_first_with_allowance(bot: RunningBot) -> None:
    """/sla status: running clocks by deadline, then the clients' allowance this month."""
    bot.clock.set(FRIDAY_4PM)
    bot.command("open acme-web-01 materiel disk")  # GTR 8 h business: due Saturday 14:00
    bot.command("open globex-db-01 secours slow")  # GTI 1 h business: due Friday 17:00
    status = bot.command("status", command="/sla")
    lines = status.splitlines()
    assert lines[0] == "2 tickets open"
    assert lines[1].startswith("*INT-2*")
    assert lines[2].startswith("*INT-1*")
    assert "due 2026-11-27 17:00" in lines[1]
    assert "ACME SARL (essentiel): 0/2 interventions this month" in status
    assert "Globex SAS (premium): 1/6 interventions this month" in status
    assert (
        bot.command("status acme", command="/sla").splitlines()[0] == "1 ticket open for ACME SARL"
    )
    assert bot.command("status globex-db-01", command="/sla").startswith("1 ticket open on")
    assert bot.command("status INT-2", command="/sla").startswith("*INT-2 · incident")
    # A word that starts like a ticket but is not one is looked up as a client or server.
    assert bot.command("status intermarche", command="/sla") == (
        "`intermarche` is neither a client, a server nor a ticket."
    )


def test_sla_reads_its_words_apart_whatever_the_space_between_them(bot: RunningBot) -> None:
    """A tab, or the no-break space macOS types with Option held, separates `/sla`'s words as
    it does `/intervention`'s: not "Unknown subcommand `status acme`"."""
    bot.command("open acme-web-01 materiel disk")
    for space in ("\t", "\u00a0", "\u202f"):
        assert bot.command(f"status{space}acme", command="/sla").startswith(
            "1 ticket open for ACME SARL"
        )
        assert bot.command(f"show{space}1").startswith("*INT-1 · hardware")


def test_sla_text_is_decoded_once_as_intervention_text_is(bot: RunningBot) -> None:
    """Typed `&lt;b&gt;` reaches the bot as `&amp;lt;b&amp;gt;`: a silence's reason keeps what
    was typed, as an update's text does, not `<b>`."""
    from bot.storage.models import Silence

    reply = bot.command("silence acme-web-01 1h write &amp;lt;b&amp;gt;", command="/sla")
    assert reply.startswith("Alerts for `acme-web-01` silenced until")
    with bot.sessions() as session:
        assert session.scalars(select(Silence.reason)).one() == "write &lt;b&gt;"


def test_list_of_something_else_than_a_client_says_what_list_takes(bot: RunningBot) -> None:
    """`list` takes mine, open or a client; a server or a ticket is for /sla status."""
    bot.command("open globex-db-01 secours slow")
    assert bot.command("list globex").startswith("1 ticket open for Globex SAS")
    for word in ("globex-db-01", "INT-1"):
        reply = bot.command(f"list {word}")
        assert reply.startswith(f"`{word}` is not a client. `list` takes `mine`, `open`")
        assert "`acme`, `globex`" in reply
        assert "`/sla status`" in reply


def test_audit_cli_prints_the_ticket_timeline(
    bot: RunningBot,
    database_url: URL,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`supportbot audit INT-1` lists who did what when, with the command typed."""
    from bot.__main__ import main

    bot.clock.set(FRIDAY_4PM)
    bot.command("open acme-web-01 secours down")
    bot.clock.set(FRIDAY_4PM + timedelta(minutes=20))
    bot.command("claim 1", user_id=TECH2)
    monkeypatch.setenv(
        "SUPPORTBOT_DATABASE_URL", database_url.render_as_string(hide_password=False)
    )
    monkeypatch.setenv("SUPPORTBOT_CATALOG", str(EXAMPLE_CATALOG))
    assert main(["audit", "INT-1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "INT-1 (secours, acme/acme-web-01)"
    assert lines[1].startswith(
        "2026-11-27T16:00:00+01:00  U01AAA       ticket.opened  «/intervention open acme-web-01"
    )
    claimed = next(line for line in lines if "ticket.claimed" in line)
    assert claimed.startswith("2026-11-27T16:20:00+01:00  U01BBB")
    assert "state: met" in "\n".join(lines)
    assert main(["audit", "INT-99"]) == 2
    assert main(["audit", "nope"]) == 2


def test_audit_cli_prints_one_line_per_instant_whatever_was_typed(
    bot: RunningBot,
    database_url: URL,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A command typed on several lines (pasted into Slack) is stored as typed, but printed
    on its line: an outsider's refused command could otherwise print lines of its own that
    read as acts of someone else."""
    from bot.__main__ import main

    bot.clock.set(FRIDAY_4PM)
    bot.command("open acme-web-01 secours down")
    forged = "2026-11-27T16:05:00+01:00  U01AAA       ticket.resolved  «/intervention resolve 1»"
    bot.command(f"resolve 1 fixed\n{forged}", user_id=OUTSIDER)
    bot.command("resolve 1 nginx restarted\u2028reason: OOM\r\nconfig: ok")
    with bot.sessions() as session:
        assert session.scalars(
            select(AuditEvent.command).where(AuditEvent.action == "refused")
        ).one() == (f"/intervention resolve 1 fixed\n{forged}")
    monkeypatch.setenv(
        "SUPPORTBOT_DATABASE_URL", database_url.render_as_string(hide_password=False)
    )
    monkeypatch.setenv("SUPPORTBOT_CATALOG", str(EXAMPLE_CATALOG))
    assert main(["audit", "INT-1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    instants = [line for line in lines if line[:1].isdigit()]
    assert [line.split()[1:3] for line in instants[:3]] == [
        ["U01AAA", "ticket.opened"],
        ["U09NOBODY", "refused"],
        ["U01AAA", "ticket.resolved"],
    ]
    assert instants[1].endswith(f"«/intervention resolve 1 fixed ⏎ {forged}»")
    assert instants[2].endswith(
        "«/intervention resolve 1 nginx restarted ⏎ reason: OOM ⏎ config: ok»"
    )
    assert not any(line.startswith("2026-11-27T16:05") for line in lines)


def test_a_late_claim_makes_the_gti_credit_eligible(bot: RunningBot) -> None:
    """A breached GTI opens an eligible credit, once, dated at the missed deadline."""
    from bot.storage.models import Credit, CreditState

    bot.clock.set(FRIDAY_4PM)
    bot.command("open acme-web-01 secours down")
    bot.command("open globex-db-01 secours slow")
    bot.clock.set(datetime(2026, 11, 28, 11, 0, tzinfo=PARIS))
    bot.command("claim 1")
    bot.command("claim 1", user_id=TECH2)
    with bot.sessions() as session:
        credits = session.scalars(select(Credit)).all()
        assert [(c.ticket_id, c.clock, c.state) for c in credits] == [
            (1, "gti", CreditState.ELIGIBLE)
        ]
        assert credits[0].breached_at == datetime(2026, 11, 28, 10, 0, tzinfo=PARIS)


def test_a_french_snooze_counts_days_in_j_as_the_bot_writes_them(french_bot: RunningBot) -> None:
    """French shows days as "j" ("1j5h"): `snooze 1 2j` is two days, and the usage says 7j."""
    french_bot.clock.set(FRIDAY_4PM)
    french_bot.command("open acme-web-01 secours site en panne")
    french_bot.command("claim 1")
    assert french_bot.command("snooze 1 2j") == (
        "Relances du ticket INT-1 repoussées jusqu'à 2026-11-29 16:00 par <@U01AAA>."
    )
    assert french_bot.command("snooze 1 8j").startswith(
        "`8j` n'est pas une durée de relance : de 1m à 7j,"
    )


def test_a_snooze_of_1h30_is_an_hour_and_a_half(french_bot: RunningBot) -> None:
    """French writes an hour and a half "1h30": the snooze takes it as `1h30m`."""
    french_bot.clock.set(FRIDAY_4PM)
    french_bot.command("open acme-web-01 secours site en panne")
    french_bot.command("claim 1")
    assert french_bot.command("snooze 1 1h30") == (
        "Relances du ticket INT-1 repoussées jusqu'à 2026-11-27 17:30 par <@U01AAA>."
    )


def test_show_of_a_ticket_waiting_for_a_long_reason_fits_slack_limits(bot: RunningBot) -> None:
    """A reason at the grammar's maximum, all `<` (escaped to `&lt;`), still shows."""
    bot.clock.set(FRIDAY_4PM)
    bot.command("open acme-web-01 secours Site down")
    bot.command("wait 1 " + "<" * 2000)
    reply = bot.slack.send_slash_command("/intervention", "show 1", user_id=TECH, channel_id=ALERTS)
    blocks = parse_blocks(reply.json()["blocks"])  # raises if Slack would refuse them
    shown = [e["text"] for b in blocks if b["type"] == "context" for e in b["elements"]]
    assert any("Waiting on the client since 2026-11-27 16:00" in text for text in shown)


def test_audit_cli_gives_the_instants_of_its_details_in_local_time(
    bot: RunningBot,
    database_url: URL,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The text timeline says its times are local: a deadline, a call time recorded late or a
    breach under a line are too, not UTC a line below a local one."""
    from bot.__main__ import main

    bot.clock.set(datetime(2026, 11, 27, 15, 0, tzinfo=UTC))  # 16:00 in Paris
    bot.command("open acme-web-01 secours --at 15:50 down")
    bot.clock.set(datetime(2026, 11, 28, 10, 0, tzinfo=UTC))
    bot.command("claim 1")
    monkeypatch.setenv(
        "SUPPORTBOT_DATABASE_URL", database_url.render_as_string(hide_password=False)
    )
    monkeypatch.setenv("SUPPORTBOT_CATALOG", str(EXAMPLE_CATALOG))
    monkeypatch.setattr("bot.cli.audit.utc_now", bot.clock)
    assert main(["audit", "INT-1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    details = {
        line.split(": ", 1)[0].strip(): line.split(": ", 1)[1]
        for line in lines[1:]
        if line.startswith(" ")
    }
    assert details["called_at"] == "2026-11-27T15:50:00+01:00"
    assert details["recorded_at"] == "2026-11-27T16:00:00+01:00"
    assert details["deadline"] == "2026-11-28T09:50:00+01:00"
    assert details["breached_at"] == "2026-11-28T09:50:00+01:00"
    assert lines[-1].endswith("local times in Europe/Paris")
    bot.command("open acme-web-01 secours install a CMS")  # INT-2, out of the forfait:
    bot.command("quote 2")  # its clock, in the audit, is in local time too
    assert main(["audit", "INT-2"]) == 0
    (left,) = [line for line in capsys.readouterr().out.splitlines() if "left_forfait" in line]
    assert left.split(": ", 1)[1] == (
        "{clocks: [{budget_seconds: 14400, clock: gti, consumed_seconds: 0,"
        " deadline: 2026-11-28T15:00:00+01:00, state: running}], credits_withdrawn: []}"
    )


def test_a_command_whose_text_says_payload_is_read_as_typed(bot: RunningBot) -> None:
    """Bolt reads a body holding the word `payload` as a click's, and found none in a command:
    the command was answered 404 and never carried out."""
    bot.command("open acme-web-01 secours Site down")
    assert "Client update" in bot.command("update 1 the payload server is back")


def test_a_ticket_number_too_big_to_exist_is_said_not_to_exist(bot: RunningBot) -> None:
    """Ten digits or more are still a ticket's number, written as the grammar says: the ticket
    does not exist, where the reply said `is not a ticket` (and `/sla status`, `neither a
    client, a server nor a ticket`). Leading zeros name the ticket as they do under ten."""
    bot.command("open acme-web-01 secours Site down")
    assert bot.command("show INT-0000000001").startswith("*INT-1 · incident")
    assert bot.command("claim 1000000000") == "Ticket INT-1000000000 does not exist."
    huge = "INT-" + "9" * 30
    assert bot.command(f"status {huge}", command="/sla") == f"Ticket {huge} does not exist."
    assert bot.command(f"credit request {huge}", command="/sla") == (
        f"Ticket {huge} does not exist."
    )


def test_closing_a_ticket_that_waits_on_the_client_says_the_wait_ends_with_it(
    bot: RunningBot,
) -> None:
    """Resolve, or refuse, ends the wait on the client with the ticket: its reply, its thread
    and its audit event say so and for how long, as `resume` does. The wait used to end
    unsaid: the timeline a client disputes showed it begin and never end."""
    bot.clock.set(FRIDAY_4PM)
    bot.command("open acme-web-01 materiel disk failing")
    bot.command("claim 1")
    bot.clock.advance(timedelta(minutes=10))
    bot.command("wait 1 client ships the disk")
    bot.clock.advance(timedelta(minutes=50))
    resolved = (
        "INT-1 resolved by <@U01AAA>. GTR met: 10m of open time, budget 8h. The wait on the"
        " client since 2026-11-27 16:10 (50m) ends with it. Note: swapped"
    )
    assert bot.command("resolve 1 swapped") == resolved
    _, replies = thread_of(bot, 3)
    assert replies[-1].text == resolved
    for n in range(2, 5):  # INT-4 is past ACME's allowance of 2
        bot.command(f"open acme-web-01 secours request {n}")
    bot.command("wait 4 client to confirm the quote")
    bot.clock.advance(timedelta(minutes=5))
    assert bot.command("refuse 4") == (
        "INT-4 refused (out of scope) by <@U01AAA>; ticket closed. The wait on the client since"
        " 2026-11-27 17:00 (5m) ends with it."
    )
    with bot.sessions() as session:
        ended = {
            event.ticket_id: event.details["wait_ended"]
            for event in session.scalars(
                select(AuditEvent).where(
                    AuditEvent.action.in_(["ticket.resolved", "ticket.refused"])
                )
            )
        }
    assert ended == {
        1: {"started_at": "2026-11-27T15:10:00+00:00", "paused_seconds": 3000},
        4: {"started_at": "2026-11-27T16:00:00+00:00", "paused_seconds": 300},
    }
    bot.command("open globex-db-01 reseau link down")
    assert "wait" not in bot.command("resolve 5")  # no wait, nothing said of one


def context_texts(blocks: list[dict[str, Any]]) -> list[str]:
    return [e["text"] for b in blocks if b["type"] == "context" for e in b["elements"]]


# As Slack sends `&` typed in a command: `&amp;`, five of the command's 3,000 characters each.
TYPED_AMPERSANDS = "&amp;" * 598


def test_show_of_a_ticket_waiting_for_a_long_reason_keeps_its_credit_hint(
    bot: RunningBot,
) -> None:
    """A reason as long as a command allows, all `&` (each escaped to `&amp;`), is cut, not
    the credit's state and the command to request it, which come after it."""
    bot.clock.set(FRIDAY_4PM)
    bot.command("open acme-web-01 secours Site down")
    bot.clock.set(datetime(2026, 11, 28, 11, 0, tzinfo=PARIS))
    bot.command("claim 1")  # GTI breached at 10:00: its credit is eligible
    bot.command("wait 1 " + TYPED_AMPERSANDS)
    reply = bot.slack.send_slash_command("/intervention", "show 1", user_id=TECH, channel_id=ALERTS)
    shown = context_texts(parse_blocks(reply.json()["blocks"]))
    hint = "GTI credit: eligible. At the client's request: `/sla credit request INT-1`."
    assert any(hint in text for text in shown)
    assert any(
        "Waiting on the client since 2026-11-28 11:00 (<@U01AAA>): &amp;" in t for t in shown
    )
    assert hint in reply.json()["text"]


def test_show_of_a_ticket_closed_with_a_long_note_keeps_its_credit_hint(
    bot: RunningBot,
) -> None:
    """A closing note of 500 `&` (2,500 characters escaped) and the credit's hint both show."""
    bot.clock.set(FRIDAY_4PM)
    bot.command("open acme-web-01 secours Site down")
    bot.clock.set(datetime(2026, 11, 28, 11, 0, tzinfo=PARIS))
    bot.command("resolve 1 " + TYPED_AMPERSANDS)  # claims it: GTI breached, credit eligible
    reply = bot.slack.send_slash_command("/sla", "status INT-1", user_id=TECH, channel_id=ALERTS)
    shown = context_texts(parse_blocks(reply.json()["blocks"]))
    hint = "GTI credit: eligible. At the client's request: `/sla credit request INT-1`."
    assert any(hint in text for text in shown)
    assert any("Note: " + "&amp;" * 10 in text for text in shown)
