"""Pure alerting decisions: storm grouping, milestones, the kind suggested for a ticket."""

from datetime import UTC, datetime, timedelta

import pytest

from bot.errors import UserFacingError
from bot.grammar import parse_silence
from bot.probes.errors import probe_error
from bot.services.storms import OpenStorm, decide_storm, reached_milestone, suggest_kind
from bot.sla import TicketKind

NOW = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
MINUTE = timedelta(seconds=60)


def decide(new: int, recent: int = 0, failing: int = 0, storm: OpenStorm | None = None) -> bool:
    decision = decide_storm(
        new=new, recent=recent, failing=failing, threshold=10, window=MINUTE, now=NOW,
        open_storm=storm,
    )  # fmt: skip
    return decision.group


def test_up_to_the_threshold_outages_are_alerted_one_by_one() -> None:
    """10 servers down within the window (threshold 10) is not a storm: more than 10 is."""
    assert not decide(new=1, recent=9)
    assert decide(new=1, recent=10)
    assert decide(new=11)


def test_servers_still_failing_count_towards_the_storm() -> None:
    """A wave written in several transactions is grouped from its first confirmations."""
    assert decide(new=2, failing=9)
    assert not decide(new=2, failing=8)


def test_an_open_storm_takes_new_outages_while_the_wave_goes_on() -> None:
    """Joined within the window of its latest member; after it, alone again."""
    fresh = OpenStorm(7, NOW - timedelta(seconds=30))
    stale = OpenStorm(7, NOW - timedelta(minutes=5))
    assert (
        decide_storm(new=1, recent=0, threshold=10, window=MINUTE, now=NOW, open_storm=fresh).join
        == 7
    )
    assert not decide(new=1, storm=stale)
    assert not decide(new=0, recent=50)


@pytest.mark.parametrize(
    ("elapsed", "label"),
    [
        (timedelta(minutes=14), None),
        (timedelta(minutes=15), "15m"),
        (timedelta(minutes=59), "15m"),
        (timedelta(hours=1), "1h"),
        (timedelta(hours=5), "4h"),
    ],
)
def test_only_the_longest_milestone_reached_is_posted(elapsed: timedelta, label: str) -> None:
    """After a restart that missed 15m and 1h, one message says 4h."""
    assert reached_milestone(elapsed) == label


def test_the_suggested_kind_follows_what_fails() -> None:
    """Ping answers: software (secours); ping lost: hardware; network unreachable: network."""
    assert suggest_kind([("http", "status 503"), ("tcp", "refused")]) is TicketKind.SECOURS
    assert suggest_kind([("icmp", "timeout: no echo reply")]) is TicketKind.MATERIEL
    assert suggest_kind([("icmp", "Destination host unreachable")]) is TicketKind.RESEAU


def test_the_suggested_kind_reads_a_probe_error_whatever_the_team_s_language() -> None:
    """The ICMP reasons are catalog keys now, put in French for a French team: the network's
    "unreachable" is still read from them (and still from the English text of older rows)."""
    unreachable = probe_error("probe.error.icmp.host_unreachable")
    assert suggest_kind([("icmp", unreachable)]) is TicketKind.RESEAU
    no_route = probe_error("probe.error.icmp.no_route")
    assert suggest_kind([("icmp", no_route)]) is TicketKind.RESEAU
    assert suggest_kind([("icmp", probe_error("probe.error.icmp.timeout"))]) is TicketKind.MATERIEL


def test_silence_grammar_takes_a_server_a_bounded_duration_and_a_reason() -> None:
    """1m to 7d; the reason is optional free text."""
    parsed = parse_silence("web-01 2h planned reboot")
    assert (parsed.server_id, parsed.duration, parsed.reason) == (
        "web-01",
        timedelta(hours=2),
        "planned reboot",
    )
    assert parse_silence("web-01 7d").reason == ""
    for bad in (
        "web-01",
        "web-01 8d",
        "web-01 30s",
        "web-01 soon",
        "<!channel> 1h",
        "web-01 99999999999d",
    ):
        with pytest.raises(UserFacingError):
            parse_silence(bad)
