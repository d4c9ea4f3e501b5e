"""The grammar of `/intervention` and `/sla`, parsed without a database."""

import pytest

from bot.errors import UserFacingError
from bot.grammar import Open, TicketAct, parse_intervention, parse_month
from bot.sla import TicketKind


@pytest.mark.parametrize("flag", ["--AT 09:30", "--At=09:30", "\u2014AT 09:30"])
def test_the_at_flag_is_read_in_any_case(flag: str) -> None:
    """Verbs and kinds are read in any case: `--AT` (caps lock on) is the call time too, not
    the first words of the description with the clock started now."""
    parsed = parse_intervention(f"open acme-web-01 secours {flag} site down")
    assert parsed == Open("acme-web-01", TicketKind.SECOURS, "09:30", "site down")


def test_a_description_may_start_with_a_word_that_starts_like_the_at_flag() -> None:
    """Only `--at` is the flag: `--attention` is the description's, not a usage error."""
    parsed = parse_intervention("open acme-web-01 secours --attention: site down")
    assert parsed == Open("acme-web-01", TicketKind.SECOURS, None, "--attention: site down")


def test_the_at_flag_after_the_description_is_refused_in_any_case() -> None:
    with pytest.raises(UserFacingError) as refused:
        parse_intervention("open acme-web-01 secours site down --AT 09:30")
    assert refused.value.key == "usage.at_first"


@pytest.mark.parametrize("flag", ["--at09:30", "--AT09:30", "\u2014at09:30"])
def test_the_at_flag_glued_to_its_time_is_the_call_time(flag: str) -> None:
    """A space forgotten after `--at` is the call time too, not the first word of the
    description with the clock started now: the call at 09:30 would be silently lost."""
    parsed = parse_intervention(f"open acme-web-01 secours {flag} site down")
    assert parsed == Open("acme-web-01", TicketKind.SECOURS, "09:30", "site down")


def test_the_at_flag_glued_to_its_time_after_the_description_is_refused() -> None:
    with pytest.raises(UserFacingError) as refused:
        parse_intervention("open acme-web-01 secours site down --at09:30")
    assert refused.value.key == "usage.at_first"


def test_joined_emoji_keep_their_joiner_and_overrides_are_dropped() -> None:
    """👩‍💻 is 👩, a zero-width joiner and 💻: without the joiner it shows as two emoji. A
    direction override and a zero-width space are still dropped."""
    parsed = parse_intervention("update 4\u200b2 \U0001f469\u200d\U0001f4bb on it\u202e")
    assert parsed == TicketAct("update", 42, "\U0001f469\u200d\U0001f4bb on it")


def test_a_month_before_the_first_year_is_said_too_early_not_unreadable() -> None:
    with pytest.raises(UserFacingError) as refused:
        parse_month("1999-01")
    assert (refused.value.key, refused.value.values) == (
        "usage.month_too_early",
        {"value": "1999-01", "first": 2000},
    )
    assert parse_month("2000-01") == (2000, 1)
