"""Warnings, breaches and nudges as the team reads them, in French first."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.messages import Messages
from bot.sla import ClockKind
from bot.sla.warnings import PlannedWarning, threshold_label
from bot.slack.reminders_render import Subject, breach_message, warning_message
from bot.storage.models import CreditState

PARIS = ZoneInfo("Europe/Paris")
FR = Messages("fr")
EN = Messages("en")
DEADLINE = datetime(2026, 11, 27, 13, 5, tzinfo=UTC)
SUBJECT = Subject(
    ticket_id=8, ref="INT-8", server_id="web-01", client_name="Globex", assignee_id=None
)


def test_a_breach_past_the_cap_says_in_french_that_its_credit_is_nil_not_the_cap() -> None:
    """ "les avoirs … atteignent déjà le plafond, celui-ci est à 0" reads as "the cap is 0": the
    English says this breach's credit is 0."""
    text, _ = breach_message(
        SUBJECT, ClockKind.GTR, deadline=DEADLINE, credit=False, late=False, messages=FR, zone=PARIS
    )
    assert "celui-ci" not in text
    assert "le plafond, donc l'avoir de ce dépassement est nul" in text


def test_a_warning_at_a_fraction_of_a_percent_writes_its_decimal_comma_in_french() -> None:
    """`warn_at = [0.333]` warns "à 33,3 %" in French, as every other French number."""
    warning = PlannedWarning(
        due_at=DEADLINE, fraction=0.333, key="INT-8/gtr/33.3", threshold=threshold_label(0.333)
    )
    values = {
        "remaining": timedelta(hours=2),
        "deadline": DEADLINE,
        "late": False,
        "zone": PARIS,
    }
    french, _ = warning_message(SUBJECT, ClockKind.GTR, warning, messages=FR, **values)
    english, _ = warning_message(SUBJECT, ClockKind.GTR, warning, messages=EN, **values)
    assert "GTR à 33,3 % :" in french
    assert "GTR at 33.3%:" in english


def test_a_breach_whose_credit_was_moved_first_says_so_in_french_and_english() -> None:
    """Requested, granted or declined before the announcement: no "may request" any more."""
    values = {"deadline": DEADLINE, "credit": True, "late": False, "zone": PARIS}
    french, _ = breach_message(
        SUBJECT,
        ClockKind.GTR,
        moved=(CreditState.REQUESTED, Decimal("60.00")),
        messages=FR,
        **values,  # type: ignore[arg-type]
    )
    english, _ = breach_message(
        SUBJECT,
        ClockKind.GTR,
        moved=(CreditState.DECLINED, Decimal("0.00")),
        messages=EN,
        **values,  # type: ignore[arg-type]
    )
    assert "son avoir est déjà demandé (60,00 €)" in french
    assert "peut demander" not in french
    assert "its credit is already declined (0.00 €)" in english
    eligible, _ = breach_message(
        SUBJECT,
        ClockKind.GTR,
        moved=(CreditState.ELIGIBLE, Decimal("60.00")),
        messages=EN,
        **values,  # type: ignore[arg-type]
    )
    assert "the client may request a credit" in eligible


def test_a_breach_under_a_cap_of_0_says_in_french_the_cap_is_0_not_that_it_was_reached() -> None:
    """Nothing taken of a cap of 0 €: the cap is why, not the month's earlier credits."""
    french, _ = breach_message(
        SUBJECT,
        ClockKind.GTI,
        deadline=DEADLINE,
        credit=False,
        late=False,
        messages=FR,
        zone=PARIS,
        cap=(Decimal("0.00"), Decimal("0.00")),
    )
    assert "le plafond mensuel des avoirs est de 0,00 €, donc l'avoir de ce dépassement" in french
    assert "atteignent déjà" not in french
    reached, _ = breach_message(
        SUBJECT,
        ClockKind.GTI,
        deadline=DEADLINE,
        credit=False,
        late=False,
        messages=FR,
        zone=PARIS,
        cap=(Decimal("120.00"), Decimal("120.00")),
    )
    assert "atteignent déjà le plafond" in reached
