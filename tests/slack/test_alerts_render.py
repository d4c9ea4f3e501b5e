"""Alert messages as the team reads them: who is paged, what the buttons are, what is escaped."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.messages import Messages
from bot.probes.errors import probe_error
from bot.slack.alerts_render import (
    OutageView,
    ProbeLine,
    StormMember,
    StormView,
    outage_root,
    probe_down,
    storm_detail,
    storm_root,
)
from bot.slack.ids import Action

PARIS = ZoneInfo("Europe/Paris")
STARTED = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
EN = Messages("en")
FR = Messages("fr")


def view(**changes: object) -> OutageView:
    values: dict[str, object] = {
        "id": 4,
        "server_id": "web-01",
        "client_name": "ACME <SARL>",
        "level": "premium",
        "started_at": STARTED,
        "ended_at": None,
        "failing": (ProbeLine("web-01/tcp:22", "Connection refused <!channel>"),),
        "acknowledged_by": None,
        "acknowledged_at": None,
        "maintenance_ref": None,
        "silenced_until": None,
        "oncall": ("U01AAA",),
        "tickets": (),
        "now": STARTED + timedelta(minutes=5),
    }
    values.update(changes)
    return OutageView(**values)  # type: ignore[arg-type]


def test_a_new_outage_pages_the_on_call_and_offers_three_buttons() -> None:
    """Server, client, level, since (local time), probes with errors escaped, the mention."""
    text, blocks = outage_root(view(), EN, PARIS)
    assert text == "web-01 DOWN (ACME &lt;SARL&gt;, premium) since 2026-11-27 15:00 <@U01AAA>"
    shown = str(blocks)
    assert "`tcp:22`: Connection refused &lt;!channel&gt;" in shown
    assert [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]] == [
        Action.OPEN_INTERVENTION.value,
        Action.ACKNOWLEDGE.value,
        Action.SILENCE_1H.value,
    ]


def test_a_probe_error_is_in_the_team_s_language_with_its_outside_details_escaped() -> None:
    """A probe's reason is stored as a catalog key and its values, and put in words where it
    is shown: French for a French team (root, thread, storm detail), English for an English
    one; what came from outside (here a host name) is escaped in either, numbers are written
    as the language writes them."""
    failing = (
        ProbeLine("web-01/tcp:22", probe_error("probe.error.no_connection", seconds=2.5)),
        ProbeLine(
            "web-01/icmp", probe_error("probe.error.resolve_timeout", host="<web>", seconds=1.0)
        ),
    )
    _text, blocks = outage_root(view(failing=failing), FR, PARIS)
    shown = str(blocks)
    assert "• `tcp:22` : délai dépassé : aucune connexion en 2,5 s" in shown
    assert "• `icmp` : impossible de résoudre &lt;web&gt; : pas de réponse en 1 s" in shown
    assert "timeout" not in shown
    _text, blocks = outage_root(view(failing=failing), EN, PARIS)
    assert "• `tcp:22`: timeout: no connection in 2.5 s" in str(blocks)
    assert "• `icmp`: cannot resolve &lt;web&gt;: no answer in 1 s" in str(blocks)
    thread = probe_down("web-01", failing[0], STARTED, FR, PARIS)
    assert thread.endswith(": délai dépassé : aucune connexion en 2,5 s")
    detail, _blocks = storm_detail(view(failing=failing), FR, PARIS)
    assert "impossible de résoudre &lt;web&gt;" in detail


def test_a_probe_error_stored_as_text_by_an_older_version_is_shown_as_it_was() -> None:
    """Rows written before the errors were keys hold English text: shown as it is (escaped,
    one line), in either language, never lost; nor is text that merely looks like a key."""
    legacy = (
        ProbeLine("web-01/tcp:22", "timeout: no connection in 2 s"),
        ProbeLine("web-01/http:x", '{"probe_error": "nope", "params": {}} <b>'),
    )
    for messages in (FR, EN):
        shown = str(outage_root(view(failing=legacy), messages, PARIS)[1])
        assert "timeout: no connection in 2 s" in shown
        assert '{"probe_error": "nope", "params": {}} &lt;b&gt;' in shown


def test_a_level_named_with_markup_is_escaped_in_the_root() -> None:
    """The catalog's authors name levels freely ("Or <24h> & co"): Slack would read `<24h>` as
    a link and drop it, as it does any raw `<...>`; the root escapes it as it does the client."""
    text, blocks = outage_root(view(level="Or <24h> & co"), EN, PARIS)
    assert "(ACME &lt;SARL&gt;, Or &lt;24h&gt; &amp; co)" in text
    assert "Or &lt;24h&gt; &amp; co" in str(blocks)
    assert "<24h>" not in text + str(blocks)


def test_a_server_down_again_within_the_hour_is_said_to_flap() -> None:
    """The root and the notification text say how often the server went down in the hour;
    a first outage says nothing of it, nor does a recovered root."""
    text, blocks = outage_root(view(recent=3), EN, PARIS)
    assert text.startswith("web-01 DOWN (ACME &lt;SARL&gt;, premium) since 2026-11-27 15:00 (down")
    assert "(down 3 times within an hour) <@U01AAA>" in text
    assert "Flapping: down 3 times within an hour, this time included." in str(blocks)
    first_text, first_blocks = outage_root(view(), EN, PARIS)
    assert "within an hour" not in first_text + str(first_blocks)
    ended = view(recent=3, ended_at=STARTED + timedelta(minutes=4))
    assert "within an hour" not in str(outage_root(ended, EN, PARIS))


def test_maintenance_marks_the_root_and_pings_nobody() -> None:
    """An open maintenance ticket on the server: no mention anywhere."""
    text, blocks = outage_root(view(maintenance_ref="INT-7"), EN, PARIS)
    assert "<@" not in text
    assert "<@" not in str(blocks)
    assert "Maintenance in progress (INT-7)" in str(blocks)


def test_a_ticket_opened_from_the_outage_stops_paging_the_on_call() -> None:
    """Someone is on it: the root lists the ticket and mentions no one."""
    text, blocks = outage_root(view(tickets=("INT-15",)), EN, PARIS)
    assert "<@" not in text + str(blocks)
    assert "INT-15" in str(blocks)


def test_recovery_shows_the_duration_and_removes_the_buttons() -> None:
    """Ended 1h30 after its first failure."""
    text, blocks = outage_root(view(ended_at=STARTED + timedelta(minutes=90)), EN, PARIS)
    assert text == "web-01 recovered after 1h30m (ACME &lt;SARL&gt;, premium)"
    assert all(block["type"] != "actions" for block in blocks)


def test_a_storm_root_lists_its_servers_within_slack_limits() -> None:
    """300 members: listed in sections under 3,000 characters, the rest counted."""
    members = tuple(
        StormMember(f"node-{n:03d}", "ACME", STARTED, STARTED + timedelta(minutes=3) if n else None)
        for n in range(300)
    )
    text, blocks = storm_root(StormView(1, STARTED, None, members, ()), EN, PARIS)
    assert text == "Alert storm: 1 server down now, 299 recovered (of 300)"
    assert len(blocks) <= 50
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks if b["type"] == "section")
    assert "… and 240 more" in str(blocks)


def test_a_storm_over_says_so_in_its_text_too() -> None:
    """The text is what notifications, search and the channel list show: once every server is
    back, it no longer says the servers are down."""
    members = tuple(
        StormMember(f"node-{n}", "ACME", STARTED, STARTED + timedelta(minutes=3)) for n in range(3)
    )
    over = STARTED + timedelta(minutes=3)
    text, blocks = storm_root(StormView(1, STARTED, over, members, ("U01AAA",)), EN, PARIS)
    assert text == "Alert storm over: 3 servers were down (3 recovered)"
    assert "Alert storm over" in str(blocks)


def test_a_storm_root_says_how_many_servers_are_down_now_and_how_many_recovered() -> None:
    """Five servers went down, two came back: the root says three are down now, two
    recovered, of five, not "5 servers down (2 recovered)" (are five down, or three?)."""
    members = tuple(
        StormMember(f"node-{n}", "ACME", STARTED, STARTED + timedelta(minutes=3) if n < 2 else None)
        for n in range(5)
    )
    view = StormView(1, STARTED, None, members, ())
    text, blocks = storm_root(view, Messages("fr"), PARIS)
    assert text == "Tempête d'alertes : 3 serveurs actuellement en panne, 2 rétablis (sur 5)"
    assert blocks[0]["text"]["text"] == (
        ":rotating_light: *Tempête d'alertes depuis 2026-11-27 15:00 : 3 serveurs actuellement "
        "en panne, 2 rétablis* (sur 5)"
    )
    text, blocks = storm_root(view, EN, PARIS)
    assert text == "Alert storm: 3 servers down now, 2 recovered (of 5)"
    assert blocks[0]["text"]["text"] == (
        ":rotating_light: *Alert storm since 2026-11-27 15:00: 3 servers down now, 2 recovered* "
        "(of 5)"
    )
