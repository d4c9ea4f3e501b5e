"""The grammar of `/intervention` and `/sla`, parsed without a database."""

from datetime import timedelta

import pytest

from bot.config import parse_duration
from bot.errors import UserFacingError
from bot.grammar import (
    Open,
    Reassign,
    ReportRequest,
    Snooze,
    TicketAct,
    parse_credit,
    parse_intervention,
    parse_month,
    parse_report,
    parse_silence,
)
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


@pytest.mark.parametrize("duration", ["30mn", "0m", "45s", "8d", "-5m", "2heures", "99999999999d"])
def test_a_silence_of_a_bad_duration_is_refused_naming_it(duration: str) -> None:
    """`/sla silence acme-web-01 30mn`: the reply names `30mn` and the durations allowed, not
    only the usage, which leaves the technician to guess which word was wrong."""
    with pytest.raises(UserFacingError) as refused:
        parse_silence(f"acme-web-01 {duration} reboot")
    assert (refused.value.key, refused.value.values) == (
        "usage.silence_duration",
        {"value": duration},
    )


@pytest.mark.parametrize("duration", ["1m", "2H", "1h30", "7j", "1D", "PT2H"])
def test_a_silence_duration_is_read_as_french_and_english_write_it(duration: str) -> None:
    assert parse_silence(f"acme-web-01 {duration}").duration == parse_duration(
        duration.lower().replace("j", "d")
    )


@pytest.mark.parametrize("month", ["2026-1", "11/2026", "2026/11", "2026-11-01", "2026.11"])
def test_a_report_month_mistyped_is_said_not_a_month_not_an_unknown_client(month: str) -> None:
    """`/sla report acme 2026-1` named `2026-1` an unknown client; it is a month mistyped."""
    with pytest.raises(UserFacingError) as refused:
        parse_report(f"acme {month}")
    assert (refused.value.key, refused.value.values) == ("usage.bad_month", {"value": month})


@pytest.mark.parametrize(
    ("text", "extra"),
    [("2026-11 2026-10", "2026-10"), ("acme globex", "globex"), ("public acme PUBLIC", "PUBLIC")],
)
def test_a_report_word_given_twice_is_named(text: str, extra: str) -> None:
    """A second month was read as a client (`Unknown client 2026-10`): every word the grammar
    has no room for is named."""
    with pytest.raises(UserFacingError) as refused:
        parse_report(text)
    assert (refused.value.key, refused.value.values) == ("usage.report_extra", {"value": extra})


def test_a_report_reads_its_words_in_any_order_and_case() -> None:
    assert parse_report("  2026-11   PUBLIC acme ") == ReportRequest("acme", (2026, 11), True)


@pytest.mark.parametrize("verb", ["requst", "accorder", "42"])
def test_a_credit_act_mistyped_is_named(verb: str) -> None:
    with pytest.raises(UserFacingError) as refused:
        parse_credit(f"{verb} INT-4")
    assert (refused.value.key, refused.value.values) == ("usage.credit_verb", {"value": verb})


@pytest.mark.parametrize("text", ["", "grant", "GRANT   "])
def test_a_credit_act_without_its_ticket_gets_the_usage(text: str) -> None:
    with pytest.raises(UserFacingError) as refused:
        parse_credit(text)
    assert refused.value.key == "usage.credit"


def test_a_silence_with_its_duration_first_says_the_server_comes_first() -> None:
    """`/sla silence 2h acme-web-01` called `acme-web-01` a bad duration: the words are
    swapped, and the reply shows them in their order."""
    with pytest.raises(UserFacingError) as refused:
        parse_silence("2h acme-web-01 reboot")
    assert (refused.value.key, refused.value.values) == (
        "usage.silence_order",
        {"duration": "2h", "server": "acme-web-01"},
    )


@pytest.mark.parametrize(
    ("text", "minutes", "reason"),
    [
        ("1h 30m reboot", 90, "reboot"),
        ("1h 30 reboot", 90, "reboot"),
        ("2 h reboot", 120, "reboot"),
        ("1j 2h", 26 * 60, ""),
        ("1h 5 servers down", 60, "5 servers down"),
        ("2h 30m2h", 120, "30m2h"),
    ],
)
def test_a_silence_duration_typed_with_a_space_is_read_whole(
    text: str, minutes: int, reason: str
) -> None:
    """`/sla silence acme-web-01 1h 30m reboot` silenced for 1h with the reason "30m reboot":
    the alerts came back half an hour early. A duration split by a space is read whole when the
    two words make one; otherwise the second word is the reason's."""
    parsed = parse_silence(f"acme-web-01 {text}")
    assert (parsed.duration, parsed.reason) == (timedelta(minutes=minutes), reason)


@pytest.mark.parametrize("duration", ["30mn", "0m", "45s", "8d", "-5m", "2heures", "30 min"])
def test_a_snooze_of_a_bad_duration_is_refused_naming_it(duration: str) -> None:
    """`/intervention snooze 42 30mn` answered with the usage alone, and `45s` was taken
    though the usage says 1m to 7d: the reply names the word, and the bounds hold."""
    with pytest.raises(UserFacingError) as refused:
        parse_intervention(f"snooze 42 {duration}")
    assert (refused.value.key, refused.value.values) == (
        "usage.snooze_duration",
        {"value": duration},
    )


@pytest.mark.parametrize(
    ("duration", "minutes"),
    [("1h 30m", 90), ("1h 30", 90), ("2 h", 120), ("1m", 1), ("7j", 7 * 1440)],
)
def test_a_snooze_duration_typed_with_a_space_is_read_whole(duration: str, minutes: int) -> None:
    """`/intervention snooze 42 1h 30m`, as `/sla silence` reads it, not a usage error."""
    assert parse_intervention(f"snooze INT-42 {duration}") == Snooze(42, timedelta(minutes=minutes))


def test_a_snooze_without_its_duration_gets_the_usage() -> None:
    with pytest.raises(UserFacingError) as refused:
        parse_intervention("snooze 42")
    assert refused.value.key == "usage.snooze"


@pytest.mark.parametrize(
    ("target", "named"),
    [
        ("@bob", "@bob"),  # typed, not picked from Slack's list: no user id
        ("<!subteam^S0123ABC|@techs>", "@techs"),  # a user group: one person takes a ticket
        ("<#C0123ABC|alerts>", "#alerts"),
        ("bob", "bob"),
    ],
)
def test_a_reassign_to_no_one_user_is_refused_naming_the_word(target: str, named: str) -> None:
    """`/intervention reassign 42 @techs` answered with the bare usage: the reply names what
    was given instead of one user, as Slack shows it (a group or channel by its name)."""
    with pytest.raises(UserFacingError) as refused:
        parse_intervention(f"reassign 42 {target}")
    assert (refused.value.key, refused.value.values) == ("usage.reassign_user", {"value": named})


@pytest.mark.parametrize("target", ["<@U01AAA>", "<@U01AAA|bob>", "<@W01AAA|bob.smith>"])
def test_a_reassign_reads_a_mention_with_or_without_its_name(target: str) -> None:
    assert parse_intervention(f"reassign INT-42 {target}") == Reassign(42, target[2:8])


@pytest.mark.parametrize(
    ("target", "named"),
    [
        ("<@U01AAA> <@U02BBB>", "<@U02BBB>"),
        ("<@U01AAA|bob> <@U02BBB|alice>", "@alice"),
        ("<@U01AAA|bob> please", "please"),
        ("<@U01AAA|bob> <!subteam^S0123ABC|@techs> now", "@techs now"),
    ],
)
def test_a_reassign_to_a_user_and_more_names_the_words_too_many(target: str, named: str) -> None:
    """`reassign 42 @bob please` answered "`@bob please` is not a user", though @bob is one."""
    with pytest.raises(UserFacingError) as refused:
        parse_intervention(f"reassign 42 {target}")
    assert (refused.value.key, refused.value.values) == ("usage.reassign_extra", {"value": named})


def test_a_reassign_without_its_user_gets_the_usage() -> None:
    with pytest.raises(UserFacingError) as refused:
        parse_intervention("reassign 42")
    assert refused.value.key == "usage.reassign"


@pytest.mark.parametrize("kind", ["secours", "Matériel", "network"])
def test_an_open_with_its_kind_first_says_the_server_comes_first(kind: str) -> None:
    """`/intervention open secours acme-web-01 site down` called `acme-web-01` an unknown
    kind: the words are swapped, and the reply shows them in their order."""
    with pytest.raises(UserFacingError) as refused:
        parse_intervention(f"open {kind} acme-web-01 site down")
    assert (refused.value.key, refused.value.values) == (
        "usage.open_order",
        {"kind": kind, "server": "acme-web-01"},
    )


@pytest.mark.parametrize(
    "text",
    [
        "acme-web-01 --at 09:30 secours site down",
        "acme-web-01 --at=09:30 secours site down",
        "acme-web-01 —at 09:30 secours site down",
        "--at 09:30 acme-web-01 secours site down",
    ],
)
def test_an_open_with_the_at_flag_before_its_kind_says_where_it_goes(text: str) -> None:
    """`--at` before the kind was refused as an unknown kind (or server) `--at`: the reply
    says it goes after the kind."""
    with pytest.raises(UserFacingError) as refused:
        parse_intervention(f"open {text}")
    assert refused.value.key == "usage.at_after_kind"


@pytest.mark.parametrize(
    ("text", "extra"),
    [
        ("claim 42 43", "43"),
        ("resume INT-42 client answered", "client answered"),
        ("show 42 x", "x"),
    ],
)
def test_words_after_the_ticket_of_a_verb_that_takes_none_are_named(text: str, extra: str) -> None:
    """`/intervention resume 42 client answered` answered with the bare usage: the reply names
    the words too many (a reason goes with `update`)."""
    with pytest.raises(UserFacingError) as refused:
        parse_intervention(text)
    assert (refused.value.key, refused.value.values) == (
        "usage.ticket_only",
        {"verb": text.split()[0], "value": extra},
    )
