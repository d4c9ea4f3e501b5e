"""The pure up/down rules: streaks, transitions, retry scheduling and server outages."""

from datetime import UTC, datetime, timedelta

from bot.config.catalog import IcmpProbe, ServerSpec, TcpProbe
from bot.probes.result import ProbeResult, probe_key
from bot.probes.state import (
    STREAK_GAP,
    OutageClosed,
    OutageOpened,
    StreakState,
    Transition,
    advance,
    certificate_notice,
    lengthen,
    needs_write,
    next_check_at,
    outage_change,
    settled_outcome,
)
from bot.storage.models import ProbeStatus

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
PROBE = IcmpProbe(type="icmp")  # defaults: 30 s interval, 5 s timeout and retry, 3 down, 2 up
KEY = "acme-web-01/icmp"
UP, DOWN, UNKNOWN = ProbeStatus.UP, ProbeStatus.DOWN, ProbeStatus.UNKNOWN


def s(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def feed(
    state: StreakState, outcomes: list[tuple[float, bool]]
) -> tuple[StreakState, list[Transition]]:
    """Fold results (check start in seconds, ok); each is known when it starts."""
    transitions = []
    for at, ok in outcomes:
        result = ProbeResult(KEY, ok, s(at), error=None if ok else "timeout")
        state, transition = advance(state, result, PROBE, now=s(at))
        if transition is not None:
            transitions.append(transition)
    return state, transitions


def up_state() -> StreakState:
    state, _ = feed(StreakState(KEY), [(-10, True), (-5, True)])
    assert state.status is UP
    return state


def test_a_single_failure_then_a_success_never_goes_down() -> None:
    """A flap (one failure, then success) changes nothing visible."""
    state, transitions = feed(up_state(), [(0, False), (5, True), (10, False), (15, True)])
    assert transitions == []
    assert state.status is UP
    assert state.successes == 1
    assert state.streak_started_at == s(15)


def test_three_failures_go_down_from_the_first_failure() -> None:
    """DOWN after `failures` consecutive failures; the streak starts at the first one."""
    state, transitions = feed(up_state(), [(30, False), (35, False), (40, False)])
    assert state.status is DOWN
    assert transitions == [Transition(KEY, DOWN, s(30), s(40), "timeout")]


def test_two_successes_come_back_up_from_the_first_success() -> None:
    """UP after `successes` consecutive successes; the streak starts at the first one."""
    down, _ = feed(up_state(), [(30, False), (35, False), (40, False)])
    state, transitions = feed(down, [(70, True), (75, True)])
    assert state.status is UP
    assert transitions == [Transition(KEY, UP, s(70), s(75), "timeout")]


def test_results_further_apart_than_the_probe_s_pace_and_streak_gap_start_a_new_streak() -> None:
    """A restart within the gap continues the streak; the bot away longer restarts it, so a
    DOWN probe's old success does not date its recovery, nor old failures its outage."""
    gap = (PROBE.interval + PROBE.timeout + STREAK_GAP).total_seconds()
    down, _ = feed(up_state(), [(30, False), (35, False), (40, False)])
    state, transitions = feed(down, [(70, True), (70 + gap, True)])
    assert transitions == [Transition(KEY, UP, s(70), s(70 + gap), "timeout")]
    state, transitions = feed(down, [(70, True), (70 + gap + 1, True)])
    assert (state.status, state.successes, state.streak_started_at) == (DOWN, 1, s(71 + gap))
    assert transitions == []
    state, transitions = feed(up_state(), [(30, False), (35, False), (36 + gap, False)])
    assert (state.status, state.failures, state.streak_started_at) == (UP, 1, s(36 + gap))
    assert transitions == []


def test_the_first_settled_streak_decides_from_unknown() -> None:
    """From UNKNOWN, 2 successes give UP and 3 failures give DOWN, whichever comes first."""
    up, up_transitions = feed(StreakState(KEY), [(0, True), (5, True)])
    down, down_transitions = feed(StreakState(KEY), [(0, False), (5, False), (10, False)])
    assert (up.status, down.status) == (UP, DOWN)
    assert up_transitions == [Transition(KEY, UP, s(0), s(5), None)]
    assert [t.new_status for t in down_transitions] == [DOWN]
    assert feed(StreakState(KEY), [(0, False), (5, False)])[0].status is UNKNOWN


def test_an_outage_is_confirmed_45_seconds_after_the_last_success_at_the_defaults() -> None:
    """interval + failures x retry_interval: checks at 30, 35, 40 s each time out after 5 s."""
    state = up_state()
    last_ok = ProbeResult(KEY, True, s(0))
    state, _ = advance(state, last_ok, PROBE, now=s(0))
    due = next_check_at(state, last_ok, PROBE)
    transition = None
    checks = []
    while transition is None:
        checks.append(due)
        failed = ProbeResult(KEY, False, due, error="timeout: no echo reply")
        state, transition = advance(state, failed, PROBE, now=due + PROBE.timeout)
        due = next_check_at(state, failed, PROBE)
    assert checks == [s(30), s(35), s(40)]
    assert transition.at - last_ok.at == timedelta(seconds=45)
    assert transition.at - last_ok.at == PROBE.interval + PROBE.failures * PROBE.retry_interval
    assert transition.streak_started_at == s(30)
    assert next_check_at(state, failed, PROBE) == s(40) + PROBE.interval  # settled DOWN


def test_unsettled_states_are_retried_and_settled_ones_wait_the_interval() -> None:
    """Retry while the streak disagrees with the status or the status is unknown."""
    ok, failed = ProbeResult(KEY, True, s(0)), ProbeResult(KEY, False, s(0))
    assert next_check_at(StreakState(KEY), ok, PROBE) == s(5)
    assert next_check_at(up_state(), ok, PROBE) == s(30)
    one_failure, _ = advance(up_state(), failed, PROBE, now=s(0))
    assert next_check_at(one_failure, failed, PROBE) == s(5)
    recovering, _ = feed(up_state(), [(0, False), (5, False), (10, False), (15, True)])
    assert recovering.status is DOWN
    assert next_check_at(recovering, ok, PROBE) == s(5)


def test_continuing_a_settled_streak_needs_no_write() -> None:
    """The 500th success while UP is not written; a streak change or transition is."""
    up = up_state()
    again, _ = feed(up, [(0, True)])
    failing, _ = feed(up, [(0, False)])
    assert not needs_write(up, again)
    assert needs_write(up, failing)
    assert needs_write(failing, feed(failing, [(5, True)])[0])
    assert needs_write(StreakState(KEY), feed(StreakState(KEY), [(0, True)])[0])


def test_only_the_outcome_that_agrees_with_a_settled_status_lengthens_its_streak() -> None:
    """UP and succeeding: a success; DOWN and failing: a failure; unsettled or UNKNOWN: none."""
    down, _ = feed(StreakState(KEY), [(0, False), (5, False), (10, False)])
    one_failure, _ = feed(up_state(), [(0, False)])
    assert settled_outcome(up_state()) is True
    assert settled_outcome(down) is False
    assert settled_outcome(one_failure) is None
    assert settled_outcome(StreakState(KEY)) is None
    assert settled_outcome(feed(StreakState(KEY), [(0, True)])[0]) is None


def test_results_counted_in_place_give_the_state_that_advancing_gives() -> None:
    """`lengthen` by n results of the settled outcome equals n calls of `advance`."""
    down, _ = feed(StreakState(KEY), [(0, False), (5, False), (10, False)])
    for state in (up_state(), down):
        ok = settled_outcome(state)
        assert ok is not None
        advanced, transitions = feed(state, [(30 * i, ok) for i in range(1, 6)])
        assert transitions == []
        assert lengthen(state, 5, s(150), None if ok else "timeout") == advanced


def test_custom_thresholds_apply() -> None:
    """`failures` and `successes` come from the probe."""
    strict = TcpProbe(type="tcp", port=22, failures=1, successes=5)
    state, transition = advance(
        StreakState("k"), ProbeResult("k", False, T0, error="x"), strict, now=T0
    )
    assert transition is not None
    assert state.status is DOWN


def transition(status: ProbeStatus, started: float, at: float) -> Transition:
    return Transition("web/icmp", status, s(started), s(at), None)


def test_an_outage_opens_when_the_first_probe_of_a_server_goes_down() -> None:
    """It starts at the first failure of the confirming streak."""
    down = transition(DOWN, 30, 45)
    assert outage_change("web", [UP, UP], [DOWN, UP], down) == OutageOpened("web", s(30), s(45))
    assert outage_change("web", [UNKNOWN], [DOWN], down) == OutageOpened("web", s(30), s(45))


def test_an_outage_closes_when_the_last_down_probe_of_a_server_comes_up() -> None:
    """It ends at the first success of the clearing streak; other DOWN probes keep it open."""
    up = transition(UP, 70, 75)
    assert outage_change("web", [DOWN, UP], [UP, UP], up) == OutageClosed("web", s(70), s(75))
    assert outage_change("web", [DOWN, DOWN], [UP, DOWN], up) is None
    assert outage_change("web", [DOWN, UP], [DOWN, DOWN], transition(DOWN, 1, 2)) is None
    assert outage_change("web", [UNKNOWN], [UP], up) is None


def test_probe_keys_are_stable_and_readable() -> None:
    """Keys name the server and the probe, and fit the 200-character column."""
    server = ServerSpec.model_validate(
        {
            "id": "acme-web-01",
            "client": "acme",
            "host": "192.0.2.10",
            "probes": [
                {"type": "icmp"},
                {"type": "tcp", "port": 22},
                {"type": "https", "url": "https://acme.example/health"},
                {"type": "http", "url": "http://acme.example/" + "x" * 300},
            ],
        }
    )
    keys = [probe_key(server, probe) for probe in server.probes]
    assert keys[:3] == [
        "acme-web-01/icmp",
        "acme-web-01/tcp:22",
        "acme-web-01/http:https://acme.example/health",
    ]
    assert len(keys[3]) == 200
    assert keys[3] == probe_key(server, server.probes[3])


def test_an_expiring_certificate_is_noticed_at_its_warning_then_at_7_3_and_1_days_left() -> None:
    fortnight, day = timedelta(days=14), timedelta(days=1)
    lefts = [13 * day, 8 * day, 7 * day, 4 * day, 3 * day, 2 * day, day, timedelta(hours=3)]
    assert [certificate_notice(left, fortnight) for left in lefts] == [14, 14, 7, 7, 3, 3, 1, 1]
    # The day before the last: 1 day and 1 minute left is not yet the last day.
    assert certificate_notice(day + timedelta(minutes=1), fortnight) == 3
    assert certificate_notice(timedelta(0), fortnight) == 0  # expired
    # A warning shorter than the notices starts at its own length, rounded up to a day.
    assert certificate_notice(2 * day, 2 * day) == 2
    assert certificate_notice(day, 2 * day) == 1
    assert certificate_notice(30 * timedelta(hours=1), timedelta(hours=36)) == 2
