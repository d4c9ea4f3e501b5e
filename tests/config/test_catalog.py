"""`supportbot check-config`: a valid catalog passes; every bad input is named by its path."""

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.config import CatalogError, load_catalog, parse_catalog, parse_duration
from bot.config.catalog import TcpProbe

EXAMPLE = Path(__file__).parents[2] / "examples" / "catalog.toml"
SUPPORTBOT = Path(sys.executable).with_name("supportbot")

VALID = """
timezone = "Europe/Paris"
[calendars.business]
monday = ["09:00-19:00"]
saturday = ["09:00-12:00", "14:00-18:00"]
holidays = "FR"
[calendars.always]
always_open = true
[levels.essentiel]
gti = "4h"
gtr = "8h"
calendar = "business"
gtr_calendar = "always"
monthly_interventions = 2
monthly_fee = 99.0
[team]
technicians = ["U01AAA"]
alerts_channel = "C01ALERTS"
[[clients]]
id = "acme"
name = "ACME"
level = "essentiel"
[[servers]]
id = "web"
client = "acme"
host = "127.0.0.1"
[[servers.probes]]
type = "tcp"
port = 22
[[servers.probes]]
type = "http"
url = "http://127.0.0.1:8080/health"
"""


def check(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    path = tmp_path / "catalog.toml"
    path.write_text(text, encoding="utf-8")
    code = main(["check-config", "--catalog", str(path)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_the_shipped_example_is_valid(capsys: pytest.CaptureFixture[str]) -> None:
    """examples/catalog.toml passes and the summary lists levels, clients, servers, probes."""
    assert main(["check-config", "--catalog", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "essentiel: GTI 4h (business), GTR 8h (business)" in out
    # ACME pays 120 € a month, not essentiel's 99 €: its own fee is shown, the level's is not.
    assert "acme: ACME SARL [essentiel, 120.00 €/month]" in out
    assert "globex: Globex SAS [premium]" in out
    assert "acme-web-01 (acme) 127.0.0.1: icmp, tcp:22" in out


def test_the_valid_fixture_catalog_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The base catalog the bad cases mutate is itself valid."""
    assert check(tmp_path, VALID, capsys)[0] == 0


BAD_CASES = [
    ("invalid-toml", VALID.replace('gti = "4h"', "gti = 4h"), "line 10, column"),
    (
        "unknown-level",
        VALID.replace('level = "essentiel"', 'level = "gold"'),
        "clients[0].level: unknown level 'gold'",
    ),
    (
        "unknown-client",
        VALID.replace('client = "acme"', 'client = "nobody"'),
        "servers[0].client: unknown client 'nobody'",
    ),
    (
        "unknown-calendar",
        VALID.replace('calendar = "business"', 'calendar = "nights"'),
        "levels.essentiel.calendar: unknown calendar 'nights'",
    ),
    (
        "duplicate-client",
        VALID.replace(
            "[[servers]]",
            '[[clients]]\nid = "acme"\nname = "Again"\nlevel = "essentiel"\n[[servers]]',
            1,
        ),
        "clients[1].id: duplicate id 'acme'",
    ),
    (
        "duplicate-server",
        VALID + '[[servers]]\nid = "web"\nclient = "acme"\nhost = "h"\n',
        "servers[1].id: duplicate id 'web'",
    ),
    (
        "bad-duration",
        VALID.replace('gti = "4h"', 'gti = "four hours"'),
        "levels.essentiel.gti: not a duration",
    ),
    (
        "zero-gti",
        VALID.replace('gti = "4h"', 'gti = "0m"'),
        "levels.essentiel.gti: must be at least 1m, not 0s",
    ),
    (
        "seconds-long-gti",
        VALID.replace('gti = "4h"', 'gti = "30s"'),
        "levels.essentiel.gti: must be at least 1m, not 30s (a shorter budget breaches",
    ),
    (
        "zero-gtr",
        VALID.replace('gtr = "8h"', 'gtr = "PT0S"'),
        "levels.essentiel.gtr: must be at least 1m, not 0s",
    ),
    (
        "range-ends-before-start",
        VALID.replace('monday = ["09:00-19:00"]', 'monday = ["19:00-09:00"]'),
        "calendars.business.monday: time range ends before it starts",
    ),
    (
        "overlapping-ranges",
        VALID.replace('"09:00-12:00", "14:00-18:00"', '"09:00-15:00", "14:00-18:00"'),
        "calendars.business.saturday: overlapping ranges",
    ),
    (
        "unknown-timezone",
        VALID.replace("Europe/Paris", "Europe/Atlantis"),
        "timezone: unknown time zone 'Europe/Atlantis'",
    ),
    (
        "host-time-zone",
        VALID.replace("Europe/Paris", "localtime"),
        "timezone: 'localtime' is not the zone of a place: name one, like Europe/Paris",
    ),
    (
        "blank-host",
        VALID.replace('host = "127.0.0.1"', 'host = " "', 1),
        "servers[0].host: String should match pattern",
    ),
    (
        "unknown-probe-type",
        VALID.replace('type = "tcp"', 'type = "udp"'),
        "servers[0].probes[0]: unknown probe type 'udp'",
    ),
    (
        "http-without-url",
        VALID.replace('url = "http://127.0.0.1:8080/health"', ""),
        "servers[0].probes[1].url: Field required",
    ),
    ("port-out-of-range", VALID.replace("port = 22", "port = 70000"), "servers[0].probes[0].port"),
    ("port-zero", VALID.replace("port = 22", "port = 0"), "servers[0].probes[0].port"),
    (
        "negative-allowance",
        VALID.replace("monthly_interventions = 2", "monthly_interventions = -1"),
        "levels.essentiel.monthly_interventions",
    ),
    (
        "negative-fee",
        VALID.replace("monthly_fee = 99.0", "monthly_fee = -5.0"),
        "levels.essentiel.monthly_fee",
    ),
    ("unknown-key", VALID.replace("[team]", "[team]\nchanel = 'typo'"), "team.chanel: unknown key"),
    ("no-technicians", VALID.replace('technicians = ["U01AAA"]', ""), "team: set technicians"),
    (
        "channel-name-not-id",
        VALID.replace('alerts_channel = "C01ALERTS"', 'alerts_channel = "#alerts"'),
        "team.alerts_channel: not a Slack channel id: '#alerts' (use the channel ID",
    ),
    (
        "technician-name-not-id",
        VALID.replace('technicians = ["U01AAA"]', 'technicians = ["U01AAA", "@alice"]'),
        "team.technicians[1]: not a Slack member id: '@alice' (use member IDs",
    ),
    (
        "oncall-lowercase-id",
        VALID.replace("[team]", '[team]\noncall = ["u01aaa"]'),
        "team.oncall[0]: not a Slack member id: 'u01aaa'",
    ),
    (
        "usergroup-handle-not-id",
        VALID.replace("[team]", '[team]\nusergroup = "@support"'),
        "team.usergroup: not a Slack user group id: '@support'",
    ),
    (
        "two-probes-of-one-port",
        VALID.replace("port = 22", 'port = 22\n[[servers.probes]]\ntype = "tcp"\nport = 22'),
        "servers[0].probes[1]: server 'web' already has the probe 'tcp:22' (probes[0]): "
        "two probes of a server must differ by type, port or URL",
    ),
    (
        "two-probes-of-one-url",
        VALID
        + '[[servers.probes]]\ntype = "http"\nurl = "http://127.0.0.1:8080/health"\n'
        + 'keyword = "ok"\n',
        "servers[0].probes[2]: server 'web' already has the probe "
        "'http:http://127.0.0.1:8080/health' (probes[1])",
    ),
    (
        "zero-update-every",
        VALID.replace("[team]", '[policy]\nupdate_every = "0s"\n[team]'),
        "policy.update_every: must be at least 1m, not 0s",
    ),
    (
        "seconds-long-update-every",
        VALID.replace("[team]", '[policy]\nupdate_every = "10s"\n[team]'),
        "policy.update_every: must be at least 1m, not 10s (it is the period of the update nudges)",
    ),
    (
        "zero-storm-window",
        VALID.replace("[team]", '[policy]\nstorm_window = "0s"\n[team]'),
        "policy.storm_window: must be at least 1s, not 0s (outages confirmed within it",
    ),
    (
        "sub-second-storm-window",
        VALID.replace("[team]", '[policy]\nstorm_window = "PT0.5S"\n[team]'),
        "policy.storm_window: must be at least 1s, not 0.5s",
    ),
    (
        "zero-probe-interval",
        VALID.replace("port = 22", 'port = 22\ninterval = "0s"'),
        "servers[0].probes[0].interval: must be at least 1s, not 0s (the period of the probe's",
    ),
    (
        "sub-second-probe-timeout",
        VALID.replace("port = 22", 'port = 22\ntimeout = "PT0.2S"'),
        "servers[0].probes[0].timeout: must be at least 1s, not 0.2s (how long a check may take",
    ),
    # A check that may take longer than its period cannot keep it: a server that hangs (a port
    # that accepts and never answers) was confirmed DOWN only after `failures` whole timeouts,
    # and a timeout of days never confirmed it at all.
    (
        "probe-timeout-longer-than-its-interval",
        VALID.replace("port = 22", 'port = 22\ninterval = "30s"\ntimeout = "10m"'),
        "servers[0].probes[0]: timeout (10m) must not be longer than interval (30s): a check "
        "could not keep the pace, and a server that hangs would be confirmed down only after "
        "3 timeouts (30m)",
    ),
    (
        "zero-retry-interval",
        VALID + 'retry_interval = "0s"\n',
        "servers[0].probes[1].retry_interval: must be at least 1s, not 0s (the pace of the",
    ),
    (
        "unknown-holiday-country",
        VALID.replace('holidays = "FR"', 'holidays = "XX"'),
        "unknown country code 'XX'",
    ),
    # TOML writes inf and nan: an infinite cap or fee passed, then failed every report
    # (decimal.InvalidOperation when priced in cents).
    (
        "infinite-credit-cap",
        VALID.replace("[team]", "[policy]\ncredit_cap = inf\n[team]"),
        "policy.credit_cap: Input should be a finite number",
    ),
    (
        "server-id-read-as-a-ticket",
        VALID.replace('id = "web"', 'id = "int-7"'),
        "servers[0].id: 'int-7' reads as the ticket INT-7 in `/sla status`: give the server "
        "another id",
    ),
    (
        "client-id-read-as-a-ticket",
        VALID.replace('id = "acme"', 'id = "42"').replace('client = "acme"', 'client = "42"'),
        "clients[0].id: '42' reads as the ticket INT-42 in `/sla status`: give the client "
        "another id",
    ),
    (
        "client-id-read-as-a-word-of-list",
        VALID.replace('id = "acme"', 'id = "Mine"').replace('client = "acme"', 'client = "Mine"'),
        "clients[0].id: 'Mine' is a word of `/intervention list` or `/sla report`: give the "
        "client another id",
    ),
    (
        "client-id-read-as-a-month-of-report",
        VALID.replace('id = "acme"', 'id = "7-11"').replace('client = "acme"', 'client = "7-11"'),
        "clients[0].id: '7-11' reads as a month in `/sla report`: give the client another id",
    ),
    (
        "infinite-level-fee",
        VALID.replace("monthly_fee = 99.0", "monthly_fee = inf"),
        "levels.essentiel.monthly_fee: Input should be a finite number",
    ),
    (
        "infinite-client-fee",
        VALID.replace('level = "essentiel"', 'level = "essentiel"\nmonthly_fee = inf'),
        "clients[0].monthly_fee: Input should be a finite number",
    ),
]


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in BAD_CASES], ids=[c[0] for c in BAD_CASES]
)
def test_bad_catalog_exits_2_naming_the_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    """Each bad input exits 2, names the path of the problem, and prints no traceback."""
    code, output = check(tmp_path, text, capsys)
    assert code == 2
    assert expected in output
    assert "Traceback" not in output


def test_every_duration_may_sit_at_its_floor() -> None:
    """The floors are the shortest values allowed, not the shortest refused."""
    text = VALID.replace('gti = "4h"', 'gti = "1m"').replace('gtr = "8h"', 'gtr = "1m"')
    text = text.replace(
        "[team]", '[policy]\nupdate_every = "1m"\nstorm_window = "1s"\nwarn_before = "0s"\n[team]'
    )
    text = text.replace(
        "port = 22", 'port = 22\ninterval = "1s"\ntimeout = "1s"\nretry_interval = "1s"'
    )
    catalog = parse_catalog(text)
    assert catalog.policy.update_every == catalog.levels["essentiel"].gti == timedelta(minutes=1)
    assert (
        catalog.policy.storm_window == catalog.servers[0].probes[0].timeout == timedelta(seconds=1)
    )


def test_every_problem_is_reported_at_once() -> None:
    """Shape errors and reference errors come together, not one per run."""
    text = VALID.replace('gti = "4h"', 'gti = "4x"').replace("port = 22", "port = 0")
    text = text.replace('level = "essentiel"', 'level = "gold"')
    with pytest.raises(CatalogError) as error:
        parse_catalog(text)
    paths = [p.path for p in error.value.problems]
    assert paths == ["levels.essentiel.gti", "servers[0].probes[0].port", "clients[0].level"]


def test_probes_may_share_a_port_or_url_on_different_servers() -> None:
    """A probe key names its server, so only probes of one server can collide."""
    twin = '[[servers]]\nid = "web2"\nclient = "acme"\nhost = "127.0.0.2"\n'
    twin += '[[servers.probes]]\ntype = "tcp"\nport = 22\n'
    twin += '[[servers.probes]]\ntype = "http"\nurl = "http://127.0.0.1:8080/health"\n'
    catalog = parse_catalog(VALID + twin)
    assert [len(s.probes) for s in catalog.servers] == [2, 2]


def test_a_duplicate_probe_is_reported_with_the_other_problems() -> None:
    """The duplicate is found on the raw data, even when another probe of its server is bad."""
    text = VALID.replace("port = 22", 'port = 22\n[[servers.probes]]\ntype = "tcp"\nport = 22')
    text = text.replace('url = "http://127.0.0.1:8080/health"', 'url = "nope"')
    with pytest.raises(CatalogError) as error:
        parse_catalog(text)
    paths = [p.path for p in error.value.problems]
    assert paths == ["servers[0].probes[2].url", "servers[0].probes[1]"]


def test_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing catalog is named with its path."""
    code = main(["check-config", "--catalog", str(tmp_path / "nope.toml")])
    assert code == 2
    assert "nope.toml: 1 problem(s)\n  file not found" in capsys.readouterr().err


def test_unreadable_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A path that cannot be read as text (here a directory) is reported, not raised."""
    code = main(["check-config", "--catalog", str(tmp_path)])
    assert code == 2
    assert "cannot read the file" in capsys.readouterr().err


def test_invalid_toml_gives_line_and_column(tmp_path: Path) -> None:
    """TOML syntax errors carry the line and the column."""
    path = tmp_path / "c.toml"
    path.write_text('timezone = "Europe/Paris"\n[levels\n', encoding="utf-8")
    with pytest.raises(CatalogError, match=r"invalid TOML: .*line 2, column"):
        load_catalog(path)


def test_console_script_reports_without_traceback(tmp_path: Path) -> None:
    """The installed `supportbot` command exits 2 on a bad catalog, 0 on the example."""
    bad = tmp_path / "bad.toml"
    bad.write_text(VALID.replace("port = 22", "port = 70000"), encoding="utf-8")
    result = subprocess.run(
        [SUPPORTBOT, "check-config", "--catalog", str(bad)], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "servers[0].probes[0].port" in result.stderr
    assert "Traceback" not in result.stderr
    ok = subprocess.run(
        [SUPPORTBOT, "check-config", "--catalog", str(EXAMPLE)], capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stderr


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90m", timedelta(minutes=90)),
        ("4h", timedelta(hours=4)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1h30", timedelta(hours=1, minutes=30)),
        ("2h05", timedelta(hours=2, minutes=5)),
        ("2d", timedelta(days=2)),
        ("2j", timedelta(days=2)),
        ("1j12h", timedelta(days=1, hours=12)),
        ("45s", timedelta(seconds=45)),
        ("PT4H", timedelta(hours=4)),
        ("P1DT2H", timedelta(days=1, hours=2)),
        ("0m", timedelta(0)),
    ],
)
def test_durations_parse_in_both_notations(text: str, expected: timedelta) -> None:
    """Compact and ISO-8601 durations mean the same thing."""
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text", ["", "4", "h", "4x", "-1h", "PT", "P-1D", "1h 2x", "1h3", "1h75", "1h30s5", "30"]
)
def test_bad_durations_are_refused(text: str) -> None:
    """Anything else is a ValueError naming the input."""
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["P1M", "p1m", "P1Y", "P1Y2M", "P1MT1M"])
def test_iso_months_and_years_are_refused_not_read_as_30_or_365_days(text: str) -> None:
    """`update_every = "P1M"` is most likely a minute typed without its T: read as 30 days,
    technicians would hear of a ticket once a month. A month or a year has no fixed length."""
    with pytest.raises(ValueError, match=r"months and years have no fixed length.*PT1M"):
        parse_duration(text)
    assert parse_duration("PT1M") == timedelta(minutes=1)


def test_a_server_is_found_by_its_id_in_any_case_unless_that_is_ambiguous() -> None:
    catalog = load_catalog(EXAMPLE)
    assert catalog.find_server("acme-web-01") is catalog.server("acme-web-01")
    assert catalog.find_server("ACME-Web-01") is catalog.server("acme-web-01")
    assert catalog.find_server("acme-web-02") is None
    twins = catalog.model_copy(
        update={
            "servers": [
                *catalog.servers,
                catalog.server("acme-web-01").model_copy(update={"id": "ACME-WEB-01"}),
            ]
        }
    )
    assert twins.find_server("ACME-WEB-01") is twins.servers[-1]  # its exact id
    assert twins.find_server("Acme-Web-01") is None  # which of the two?


@pytest.mark.parametrize("text", ["3651d", "P3651D", "99999999999d", "99999999999999h"])
def test_too_long_durations_are_refused_however_large(text: str) -> None:
    """A number of days past what a timedelta holds is refused like any duration over ten
    years: it used to escape as an OverflowError, a traceback in check-config and an internal
    error in reply to `/sla silence web 99999999999d`."""
    with pytest.raises(ValueError, match="duration too long"):
        parse_duration(text)


def test_a_huge_duration_in_the_catalog_is_named_by_its_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, output = check(tmp_path, VALID.replace('gti = "4h"', 'gti = "99999999999d"'), capsys)
    assert code == 2
    assert "levels.essentiel.gti: duration too long" in output
    assert "Traceback" not in output


@pytest.mark.parametrize(
    ("interval", "timeout"), [("2s", timedelta(seconds=2)), ("1m", timedelta(seconds=5))]
)
def test_a_probe_without_a_timeout_times_out_at_5s_or_its_interval_if_shorter(
    interval: str, timeout: timedelta
) -> None:
    """The default timeout is not a combination the catalog refuses: a probe checked every
    2 s that names no timeout still loads."""
    probe = TcpProbe.model_validate({"type": "tcp", "port": 22, "interval": interval})
    assert probe.timeout == timeout
