"""`supportbot report` and `supportbot audit`: CSV that parses back to the report's numbers,
JSON valid against docs/report.schema.json, the evidence timeline, clean errors on bad input."""

import argparse
import csv
import io
import json
import os
import signal
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import jsonschema
import pytest
from sqlalchemy import update
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker

from bot.__main__ import main
from bot.cli import audit, report
from bot.services.tickets import root_edit
from bot.storage.models import OutboxMessage, OutboxStatus
from bot.storage.outbox import Outbound, add_message
from tests.services.history import EXAMPLE_CATALOG, REPORT_AT, build_history

SCHEMA = Path(__file__).parents[2] / "docs" / "report.schema.json"


def supportbot(*argv: str) -> int:
    """The two subcommands under test, parsed as `supportbot` parses them."""
    parser = argparse.ArgumentParser(prog="supportbot")
    subparsers = parser.add_subparsers(dest="command", required=True)
    report.register(subparsers)
    audit.register(subparsers)
    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code


@pytest.fixture
def cli_env(
    sessions: sessionmaker[Session], database_url: URL, monkeypatch: pytest.MonkeyPatch
) -> sessionmaker[Session]:
    """The month of history in the database the CLI reads (settings from the environment)."""
    build_history(sessions)
    monkeypatch.setenv(
        "SUPPORTBOT_DATABASE_URL", database_url.render_as_string(hide_password=False)
    )
    monkeypatch.setenv("SUPPORTBOT_CATALOG", str(EXAMPLE_CATALOG))
    monkeypatch.setenv("SUPPORTBOT_LANGUAGE", "en")
    return sessions


AS_OF = REPORT_AT.isoformat()


def test_csv_is_one_row_per_ticket_and_parses_back_to_the_same_numbers(
    cli_env: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    """Row count, kinds, consumed seconds, pauses and the month's credits match the report."""
    assert supportbot("report", "--month", "2026-11", "--format", "csv", "--as-of", AS_OF) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["ticket"] for r in rows] == [f"INT-{n}" for n in (3, 4, 5, 6, 7, 8, 9, 11, 12, 2, 10)]
    acme = [r for r in rows if r["client_id"] == "acme"]
    assert sum(r["kind"] == "materiel" for r in acme) == 3
    assert sum(int(r["paused_seconds"]) for r in acme) == 2 * 3600
    assert {r["ticket"]: int(r["consumed_seconds"]) for r in acme if r["clock"]} == {
        "INT-3": 3600,
        "INT-4": 5 * 3600,
        "INT-8": 10 * 3600,
        "INT-9": 2 * 3600,
        "INT-11": 13 * 3600,
        "INT-12": 9 * 3600,
    }
    this_month = [r for r in rows if r["credit_month"] == "2026-11"]
    assert sum(Decimal(r["credit_amount"]) for r in this_month) == Decimal("269.50")
    assert [r["restored_by"] for r in acme if r["restored_by"]] == ["probe", "hand", "hand", "hand"]
    assert {r["called_at_local"][:16] for r in rows if r["ticket"] == "INT-2"} == {
        "2026-11-01T00:30"
    }


def test_json_validates_against_the_committed_schema(
    cli_env: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    """The whole structure, with money as exact decimal strings."""
    assert supportbot("report", "--month", "2026-11", "--format", "json", "--as-of", AS_OF) == 0
    data = json.loads(capsys.readouterr().out)
    jsonschema.validate(data, json.loads(SCHEMA.read_text(encoding="utf-8")))
    acme = next(c for c in data["clients"] if c["id"] == "acme")
    assert acme["credits"]["by_state"]["granted"] == {"count": 1, "amount": "60.00"}
    assert acme["credits"]["cap"] == "120.00"
    assert acme["outages"]["downtime_seconds"] == 11 * 3600 + 600
    assert acme["allowance"] == {"used": 2, "allowed": 2}


def test_a_ticket_carried_over_is_marked_in_the_json_the_schema_describes(
    cli_env: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    """December lists INT-12 (called on Nov 30) for its credit: the JSON says the month of its
    call, and still validates; the CSV's added columns come after the older ones."""
    assert supportbot("report", "--month", "2026-12", "--format", "json", "--as-of", AS_OF) == 0
    data = json.loads(capsys.readouterr().out)
    jsonschema.validate(data, json.loads(SCHEMA.read_text(encoding="utf-8")))
    acme = next(c for c in data["clients"] if c["id"] == "acme")
    assert acme["removed_at"] is None
    assert [(t["ref"], t["in_month"], t["called_month"]) for t in acme["tickets"]] == [
        ("INT-12", False, "2026-11")
    ]
    assert supportbot("report", "--month", "2026-12", "--format", "csv", "--as-of", AS_OF) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header.endswith(",credit_full_amount,called_month,client_removed_at_utc")
    assert row.endswith(",2026-11,")


def test_text_and_one_client(
    cli_env: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    """`--client` narrows the report; text is the Slack summary."""
    assert supportbot("report", "--month", "2026-11", "--client", "GLOBEX", "--as-of", AS_OF) == 0
    out = capsys.readouterr().out
    assert "*Globex SAS* (`globex`)" in out
    assert "ACME" not in out
    assert "requested 149.50 €" in out


def test_as_of_reads_the_report_as_it_stood_at_that_instant(
    cli_env: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    """Before any ticket: none; on Nov 26, INT-10's credit (requested on Dec 2) is eligible."""
    argv = ("report", "--month", "2026-11", "--client", "globex", "--format", "text")
    assert supportbot(*argv, "--as-of", "2026-10-15T00:00+02:00") == 0
    out = capsys.readouterr().out
    assert "Tickets: 0 (-)" in out
    assert "INT-" not in out
    assert supportbot(*argv, "--as-of", "2026-11-26T00:00+01:00") == 0
    out = capsys.readouterr().out
    assert supportbot(*argv, "--as-of", "2026-11-26T00:00") == 0  # local time: the same
    assert capsys.readouterr().out == out
    assert "Tickets: 2 " in out
    assert "1 eligible 149.50 €, 0 requested 0.00 €" in out


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (("--month", "2026-13"), "not a month"),
        (("--month", "nov"), "not a month"),
        (("--month", "1999-12"), "1999-12: reports start at 2000-01"),  # was "not a month"
        (("--month", "2026-11", "--client", "nobody"), "unknown client"),
        # A report of zeros ("allowance 0/2", "cap 120.00 €") as if under contract then.
        (
            ("--month", "2025-12", "--client", "ACME"),
            "acme was not a client in December 2025 (a client from 2026-01-01)",
        ),
        (("--month", "2026-11", "--as-of", "yesterday"), "not an instant"),
        # Read as `sla due --start` reads it: taken silently as the first 02:30 before.
        (
            ("--month", "2026-10", "--as-of", "2026-10-25T02:30"),
            "'2026-10-25T02:30' is ambiguous in Europe/Paris, where the clocks go back",
        ),
        (("--month", "2026-03", "--as-of", "2026-03-29T02:30"), "does not exist in Europe/Paris"),
        # These two ended in an OverflowError and a ValueError traceback.
        (("--month", "2026-11", "--as-of", "0001-01-01T00:00"), "between years 1 and 9999"),
        (("--month", "9999-12", "--as-of", "2026-11-30T12:00"), "between years 1 and 9999"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(
    cli_env: sessionmaker[Session],
    capsys: pytest.CaptureFixture[str],
    argv: tuple[str, ...],
    error: str,
) -> None:
    assert supportbot("report", *argv) == 2
    assert error in capsys.readouterr().err


@pytest.mark.parametrize(
    ("language", "ticket", "error"),
    [
        # Too big for any ticket's id: it said "not a ticket: … (write INT-42 or 42)".
        ("en", "INT-99999999999999999999", "Ticket INT-99999999999999999999 does not exist."),
        ("en", "INT-12345678901", "Ticket INT-12345678901 does not exist."),
        ("en", "INT-4x", "INT-4x is not a ticket: write INT-42 or 42."),
        # In the configured language, as the bot would reply: it said "no such ticket".
        ("fr", "INT-12345678901", "Le ticket INT-12345678901 n'existe pas."),
        ("fr", "99999999999999999999", "Le ticket INT-99999999999999999999 n'existe pas."),
        ("fr", "douze", "douze n'est pas un ticket : écrivez INT-42 ou 42."),
    ],
)
def test_audit_of_no_ticket_says_why_in_the_configured_language(
    cli_env: sessionmaker[Session],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    language: str,
    ticket: str,
    error: str,
) -> None:
    monkeypatch.setenv("SUPPORTBOT_LANGUAGE", language)
    assert supportbot("audit", ticket) == 2
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", error + "\n")


def test_audit_json_is_the_whole_evidence_timeline(
    cli_env: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    """INT-8: registration, probe-confirmed outage and restoration, resolution, credit moves,
    each instant in UTC and local time."""
    assert supportbot("audit", "INT-8", "--format", "json") == 0
    data = json.loads(capsys.readouterr().out)
    actions = [e["action"] for e in data["events"]]
    for expected in (
        "ticket.opened",
        "outage.first_failure",
        "outage.confirmed_down",
        "gtr.started",
        "outage.restored",
        "gtr.stopped",
        "clock.restored",
        "ticket.resolved",
        "credit.requested",
        "credit.declined",
    ):
        assert expected in actions
    assert actions.index("outage.first_failure") < actions.index("ticket.opened")
    assert actions.count("credit.declined") == 1  # the move's audit event, not the ledger too
    (declined,) = [e for e in data["events"] if e["action"] == "credit.declined"]
    assert declined["details"]["from"] == "requested"  # the audit event's, with the amount
    stop = next(e for e in data["events"] if e["action"] == "gtr.stopped")
    assert stop["actor"] == "probe"
    assert stop["details"]["confirmed_by_probe"] is True
    assert stop["at"] == "2026-11-09T18:00:00+00:00"
    assert stop["at_local"] == "2026-11-09T19:00:00+01:00"
    assert data["called_at"] == {
        "utc": "2026-11-09T08:00:00+00:00",
        "local": "2026-11-09T09:00:00+01:00",
    }
    (credit,) = data["credits"]
    assert (credit["state"], credit["month"]) == ("declined", "2026-11")
    assert credit["amount"] == credit["full_amount"]  # priced as the month's report does
    assert supportbot("audit", "INT-8") == 0
    last = capsys.readouterr().out.splitlines()[-2]
    assert last == f"credit GTR: declined, {credit['amount']} € for 2026-11"


def test_audit_lists_warnings_slack_accepted_with_their_ts(
    cli_env: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    """Sent outbox rows under `INT-4/` (a warning here) appear with their ts; pending ones not."""
    sent_at = datetime(2026, 11, 3, 12, 0, 1, tzinfo=UTC)
    with cli_env.begin() as session:
        add_message(
            session,
            Outbound(key="INT-4/gti/75", text="GTI of INT-4 at 75%", channel_id="U01AAA"),
            now=sent_at,
        )
        # The root's edit at that threshold is not a warning of its own.
        add_message(session, root_edit(4, "INT-4/gti/75/root", "INT-4 title"), now=sent_at)
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.key.in_(["INT-4/gti/75", "INT-4/gti/75/root"]))
            .values(status=OutboxStatus.SENT, ts="1793710801.000100", sent_at=sent_at)
        )
    assert supportbot("audit", "4") == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "INT-4 (maintenance, acme/acme-web-01)"
    assert "2026-11-03T13:00:01+01:00  -            message.warning" in out
    assert "ts: 1793710801.000100" in out
    assert out.count("message.warning") == 1
    assert out.count("message.root") == 1  # the edit; the root and thread posts were never sent
    assert "ticket.waiting" in out
    assert "ticket.resumed" in out


def test_report_of_a_month_not_yet_begun_is_refused(
    cli_env: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    """A month to come has nothing to report: no table of zeros (`--as-of` a past instant may
    still read a month as it stood before it began: nothing yet)."""
    assert supportbot("report", "--month", "2999-01") == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "2999-01 has not begun" in captured.err


def test_a_catalog_without_the_calendar_of_the_clocks_exits_2_naming_it(
    cli_env: sessionmaker[Session],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`business` renamed `ouvrables` in the catalog: the month's clocks still run on
    `business`; the report says so instead of a ValueError traceback."""
    renamed = tmp_path / "catalog.toml"
    renamed.write_text(
        EXAMPLE_CATALOG.read_text()
        .replace("[calendars.business]", "[calendars.ouvrables]")
        .replace('calendar = "business"', 'calendar = "ouvrables"')
    )
    monkeypatch.setenv("SUPPORTBOT_CATALOG", str(renamed))
    assert supportbot("report", "--month", "2026-11", "--as-of", AS_OF) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "calendars.business: missing, but the clocks of" in captured.err
    # `run` refuses it too: check-config, as `run` reads the settings, used to say OK.
    assert main(["check-config"]) == 2
    captured = capsys.readouterr()
    assert "OK" not in captured.out
    assert f"{renamed}: 1 problem(s)" in captured.err
    assert "calendars.business: missing, but the clocks of" in captured.err
    # Named with --catalog, as the README checks an edited catalog, against the same database.
    assert main(["check-config", "--catalog", str(renamed)]) == 2
    captured = capsys.readouterr()
    assert "OK" not in captured.out
    assert "calendars.business: missing, but the clocks of" in captured.err


def test_a_report_as_of_the_future_says_its_figures_are_not_facts(
    cli_env: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    """Read as of an instant to come, a clock still running shows breached and an open outage
    goes on: the report printed them as it prints what happened, without a word."""
    argv = ("report", "--month", "2026-11", "--client", "globex")
    assert supportbot(*argv, "--as-of", "2999-01-01T00:00") == 0
    assert "--as-of 2999-01-01T00:00 is in the future" in capsys.readouterr().err
    assert supportbot(*argv, "--as-of", "2026-11-26T00:00") == 0
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("client", ["acme", "ACME"])
def test_a_client_of_the_catalog_not_yet_recorded_is_said_so_not_unknown(
    database_url: URL,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    client: str,
) -> None:
    """A database migrated but never run on (or a client added to the catalog since the bot
    last started) has no record of the client: it said "unknown client: 'acme'" and
    "clients: -", of a client the catalog and `check-config` name."""
    monkeypatch.setenv(
        "SUPPORTBOT_DATABASE_URL", database_url.render_as_string(hide_password=False)
    )
    monkeypatch.setenv("SUPPORTBOT_CATALOG", str(EXAMPLE_CATALOG))
    monkeypatch.setenv("SUPPORTBOT_LANGUAGE", "en")
    assert supportbot("report", "--month", "2026-11", "--client", client) == 2
    assert capsys.readouterr().err == (
        f"{client!r} is a client of the catalog the database has no record of yet: it is"
        " recorded when `supportbot run` starts with this catalog\n"
    )
    # A name neither has: no "clients: -" line of nothing.
    assert supportbot("report", "--month", "2026-11", "--client", "nobody") == 2
    assert capsys.readouterr().err == "unknown client: 'nobody' (the database has no client yet)\n"


@pytest.mark.parametrize("format_", ["text", "json"])
def test_audit_on_a_catalog_without_the_calendar_of_its_clocks_exits_2_naming_it(
    cli_env: sessionmaker[Session],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    format_: str,
) -> None:
    """`business` renamed in the catalog: `audit INT-8` ended in a ValueError traceback
    (exit 1) where `report` names the calendar the clocks still run on."""
    renamed = tmp_path / "catalog.toml"
    renamed.write_text(
        EXAMPLE_CATALOG.read_text()
        .replace("[calendars.business]", "[calendars.ouvrables]")
        .replace('calendar = "business"', 'calendar = "ouvrables"')
    )
    monkeypatch.setenv("SUPPORTBOT_CATALOG", str(renamed))
    assert supportbot("audit", "INT-8", "--format", format_) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"{renamed}: calendars.business: missing, but the clocks of")


def test_outbox_send_on_a_catalog_without_the_calendar_of_the_clocks_exits_2_naming_it(
    cli_env: sessionmaker[Session],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`run` refuses it; `outbox send` started, and every ticket root it rendered logged a
    ValueError traceback ("unknown calendar 'business'") and went as queued."""
    renamed = tmp_path / "catalog.toml"
    renamed.write_text(
        EXAMPLE_CATALOG.read_text()
        .replace("[calendars.business]", "[calendars.ouvrables]")
        .replace('calendar = "business"', 'calendar = "ouvrables"')
    )
    monkeypatch.setenv("SUPPORTBOT_CATALOG", str(renamed))
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("SUPPORTBOT_SLACK_API_URL", "http://127.0.0.1:9/api/")
    # Fixed, this returns at once; broken, it would send until SIGTERM: stop it after 20 s.
    signal.signal(signal.SIGALRM, lambda *_: os.kill(os.getpid(), signal.SIGTERM))
    signal.alarm(20)
    try:
        assert main(["outbox", "send"]) == 2
    finally:
        signal.alarm(0)
    captured = capsys.readouterr()
    assert f"{renamed}: 1 problem(s)" in captured.err
    assert "calendars.business: missing, but the clocks of" in captured.err
