"""The catalog: levels, calendars, policy, team, clients and servers, from one TOML file.

Validated in two passes so a user sees every problem at once: pydantic checks each value's shape,
then `_cross_references` checks ids and references on the raw data (it tolerates bad shapes).
"""

import itertools
import re
import tomllib
from collections import Counter
from dataclasses import dataclass
from datetime import date, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bot.config.durations import Duration, format_duration

# Floors of the catalog's durations. Below them a value is not a faster setting but a mistake:
# people act at the minute scale (the smallest `/sla silence` is 1m too), and a probe's pace is
# the second scale (the compact syntax's smallest unit; only ISO-8601 can write less).
MIN_BUDGET = timedelta(minutes=1)
MIN_UPDATE_EVERY = timedelta(minutes=1)
MIN_STORM_WINDOW = timedelta(seconds=1)
MIN_PROBE_PACE = timedelta(seconds=1)

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
PROBE_TYPES = ("icmp", "tcp", "http", "https")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the catalog, at a path such as `servers[2].probes[0].port`."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


def _at_least(value: timedelta, floor: timedelta, why: str) -> timedelta:
    """`value`, or ValueError naming it and `floor` when it is shorter."""
    if value < floor:
        raise ValueError(f"must be at least {_written(floor)}, not {_written(value)} ({why})")
    return value


def _written(value: timedelta) -> str:
    """A duration as the catalog writes it; under a minute, in exact seconds ("0s", "0.5s")."""
    if value < timedelta(minutes=1):
        return f"{value.total_seconds():g}s"
    return format_duration(value)


class CatalogError(Exception):
    """The catalog cannot be used; `problems` lists every reason."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(str(p) for p in problems))


class _Strict(BaseModel):
    # TOML writes inf and nan: no fee, share or cap of the catalog means either (an infinite
    # cap or fee cannot be priced in cents, and fails every report).
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


@dataclass(frozen=True, order=True)
class TimeRange:
    """An open range within one local day; `end` may be 24:00 (`time.max` stands for it)."""

    start: time
    end: time

    @property
    def ends_at_midnight(self) -> bool:
        return self.end == time.max

    def __str__(self) -> str:
        end = "24:00" if self.ends_at_midnight else self.end.strftime("%H:%M")
        return f"{self.start:%H:%M}-{end}"


def _parse_clock(text: str) -> time:
    if text == "24:00":
        return time.max
    try:
        hours, minutes = text.split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise ValueError(f"not a time of day: {text!r} (write HH:MM)") from None


def _parse_range(value: object) -> TimeRange:
    if isinstance(value, TimeRange):
        return value
    if not isinstance(value, str) or value.count("-") != 1:
        raise ValueError(f'not a time range: {value!r} (write "09:00-19:00")')
    start_text, end_text = (part.strip() for part in value.split("-"))
    start, end = _parse_clock(start_text), _parse_clock(end_text)
    if start == time.max:
        raise ValueError(f"a range cannot start at 24:00: {value!r}")
    if end <= start:
        raise ValueError(f"time range ends before it starts: {value!r}")
    return TimeRange(start, end)


class CalendarSpec(_Strict):
    """Weekly open ranges in the catalog's time zone, minus public holidays and closed dates."""

    monday: list[TimeRange] = []
    tuesday: list[TimeRange] = []
    wednesday: list[TimeRange] = []
    thursday: list[TimeRange] = []
    friday: list[TimeRange] = []
    saturday: list[TimeRange] = []
    sunday: list[TimeRange] = []
    holidays: str | None = Field(None, description="ISO country code closed on its public holidays")
    subdivision: str | None = Field(None, description="subdivision of `holidays`, e.g. 57 for FR")
    closed: list[date] = []
    always_open: bool = False

    @field_validator(*WEEKDAYS, mode="before")
    @classmethod
    def _ranges(cls, value: object) -> list[TimeRange]:
        if not isinstance(value, list):
            raise ValueError('expected a list of ranges such as ["09:00-19:00"]')
        ranges = sorted(_parse_range(item) for item in value)
        for before, after in itertools.pairwise(ranges):
            if after.start < before.end:
                raise ValueError(f"overlapping ranges: {before} and {after}")
        return ranges

    @model_validator(mode="after")
    def _coherent(self) -> "CalendarSpec":
        if self.holidays is not None:
            supported = holidays.list_supported_countries()
            if self.holidays not in supported:
                raise ValueError(f"holidays: unknown country code {self.holidays!r}")
            if self.subdivision is not None and self.subdivision not in supported[self.holidays]:
                raise ValueError(
                    f"subdivision: {self.subdivision!r} is not a subdivision of {self.holidays}"
                )
        elif self.subdivision is not None:
            raise ValueError("subdivision needs holidays (the country code)")
        if self.always_open and any(self.week()):
            raise ValueError("an always_open calendar takes no weekday ranges")
        if not self.always_open and not any(self.week()):
            raise ValueError("a calendar needs weekday ranges or always_open = true")
        return self

    def week(self) -> tuple[list[TimeRange], ...]:
        """Open ranges indexed by `date.weekday()` (Monday is 0)."""
        return tuple(getattr(self, day) for day in WEEKDAYS)


class LevelSpec(_Strict):
    """A service level: the two clock budgets, their calendars, allowance and fee."""

    gti: Duration
    gtr: Duration
    calendar: str
    gti_calendar: str | None = None
    gtr_calendar: str | None = None
    monthly_interventions: int = Field(ge=0)
    monthly_fee: float = Field(ge=0)

    @field_validator("gti", "gtr")
    @classmethod
    def _budget(cls, value: timedelta) -> timedelta:
        # A clock of a few seconds is breached before anyone can type `claim`: every ticket would
        # breach, and deadlines are shown to the minute.
        return _at_least(value, MIN_BUDGET, "a shorter budget breaches every ticket")

    def calendar_for(self, clock: Literal["gti", "gtr"]) -> str:
        override = self.gti_calendar if clock == "gti" else self.gtr_calendar
        return override or self.calendar

    def budget_for(self, clock: Literal["gti", "gtr"]) -> timedelta:
        return self.gti if clock == "gti" else self.gtr


class Policy(_Strict):
    """Team-wide rules: nudges, warnings, credits, alerting."""

    update_every: Duration = timedelta(hours=1)
    warn_at: list[Annotated[float, Field(gt=0, lt=1)]] = [0.5, 0.75, 0.9]
    warn_before: Duration = timedelta(minutes=15)
    credit_rate: float = Field(0.5, gt=0, le=1, description="share of the monthly fee per breach")
    credit_cap: float = Field(1.0, ge=0, description="monthly cap, as a share of the monthly fee")
    storm_threshold: int = Field(10, ge=1)
    storm_window: Duration = timedelta(seconds=60)
    monthly_report: bool = True

    @field_validator("update_every")
    @classmethod
    def _period(cls, value: timedelta) -> timedelta:
        # plan_nudges refuses a zero period, which would fail every reminders sweep; a period of
        # seconds would DM the assignee at every sweep and escalate to the thread within a minute.
        return _at_least(value, MIN_UPDATE_EVERY, "it is the period of the update nudges")

    @field_validator("storm_window")
    @classmethod
    def _window(cls, value: timedelta) -> timedelta:
        # Outages confirmed within the window are grouped; probes are paced in whole seconds, so
        # a shorter window groups nothing but the outages of one transaction.
        return _at_least(
            value, MIN_STORM_WINDOW, "outages confirmed within it are grouped into one alert"
        )

    @field_validator("warn_at")
    @classmethod
    def _distinct(cls, value: list[float]) -> list[float]:
        if len(set(value)) != len(value):
            raise ValueError("warn_at fractions must be distinct")
        return sorted(value)


# Slack's API takes ids, not the names its interface shows: a "#alerts" or an "@alice" would
# only fail once the bot posts, updates or checks a technician.
_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{2,20}")
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")
_USERGROUP_ID = re.compile(r"S[A-Z0-9]{2,20}")


def _channel_id(value: str) -> str:
    if not _CHANNEL_ID.fullmatch(value):
        raise ValueError(
            f"not a Slack channel id: {value!r} (use the channel ID, such as C01ALERTS, not its "
            "name: Slack shows it at the bottom of the channel's details)"
        )
    return value


def _user_id(value: str) -> str:
    if not _USER_ID.fullmatch(value):
        raise ValueError(
            f"not a Slack member id: {value!r} (use member IDs, such as U01AAA, not names: "
            "in Slack, a profile's ⋮ menu, Copy member ID)"
        )
    return value


def _usergroup_id(value: str) -> str:
    if not _USERGROUP_ID.fullmatch(value):
        raise ValueError(
            f"not a Slack user group id: {value!r} (use the group's ID, such as S01TECHS, "
            "not its @handle)"
        )
    return value


class Team(_Strict):
    """Who may act on tickets, who is on call, where alerts go."""

    technicians: list[Annotated[str, AfterValidator(_user_id)]] = []
    usergroup: Annotated[str, AfterValidator(_usergroup_id)] | None = None
    oncall: list[Annotated[str, AfterValidator(_user_id)]] = []
    alerts_channel: Annotated[str, AfterValidator(_channel_id)]

    @model_validator(mode="after")
    def _someone(self) -> "Team":
        if not self.technicians and self.usergroup is None:
            raise ValueError(
                "set technicians (Slack user ids) or usergroup (a Slack user group id)"
            )
        return self

    @property
    def alerts_channel_watchers(self) -> tuple[str, ...]:
        """Who is told directly when the alert channel refuses messages: the on-call, else
        the technicians."""
        return tuple(self.oncall or self.technicians)


# An id `/sla status` would read as a ticket, `INT-7` or `7`, as bot.grammar does: that
# server's or client's tickets could not be asked for by its id.
_TICKET_REF = re.compile(r"(?:INT-?)?([0-9]+)", re.IGNORECASE)
# The words `/intervention list [mine|open|<client>]` and `/sla report [<client>] [public]`
# take before a client id.
_CLIENT_WORDS = ("mine", "open", "public")
# A month as `/sla report` reads it, or mistyped (`2026-11`, `11.2026`, `7-11`), as
# bot.grammar does: never a client there.
_DATE_LIKE = re.compile(r"[0-9]+(?:[-/.][0-9]+)+")


def _not_a_ticket(value: str, what: str) -> str:
    if (ticket := _TICKET_REF.fullmatch(value)) is not None:
        ref = f"INT-{int(ticket[1])}"
        raise ValueError(
            f"{value!r} reads as the ticket {ref} in `/sla status`: give the {what} another id"
        )
    return value


class ClientSpec(_Strict):
    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    name: str = Field(min_length=1)
    level: str
    monthly_fee: float | None = Field(None, ge=0)

    @field_validator("id")
    @classmethod
    def _readable(cls, value: str) -> str:
        if value.lower() in _CLIENT_WORDS:
            raise ValueError(
                f"{value!r} is a word of `/intervention list` or `/sla report`: give the client "
                "another id"
            )
        if _DATE_LIKE.fullmatch(value):
            raise ValueError(
                f"{value!r} reads as a month in `/sla report`: give the client another id"
            )
        return _not_a_ticket(value, "client")


_PACE_REASONS = {
    "interval": "the period of the probe's checks",
    "timeout": "how long a check may take before it fails",
    "retry_interval": "the pace of the re-checks after a failure",
}


_DURATION: TypeAdapter[timedelta] = TypeAdapter(Duration)
DEFAULT_PROBE_TIMEOUT = timedelta(seconds=5)


class _ProbeCommon(_Strict):
    interval: Duration = timedelta(seconds=30)
    timeout: Duration = DEFAULT_PROBE_TIMEOUT
    failures: int = Field(3, ge=1, le=100)
    successes: int = Field(2, ge=1, le=100)
    retry_interval: Duration = timedelta(seconds=5)

    @field_validator("interval", "timeout", "retry_interval")
    @classmethod
    def _pace(cls, value: timedelta, info: ValidationInfo) -> timedelta:
        # Zero would check a probe in a busy loop, or fail every check at once; under a second
        # hammers the server or fails on a slow link, and the compact syntax cannot write it.
        assert info.field_name is not None
        return _at_least(value, MIN_PROBE_PACE, _PACE_REASONS[info.field_name])

    @model_validator(mode="before")
    @classmethod
    def _default_timeout(cls, data: Any) -> Any:
        # Without a timeout, a probe checked more often than every 5 s gets its interval: the
        # default must not be a combination the catalog refuses (below).
        if not isinstance(data, dict) or "timeout" in data or "interval" not in data:
            return data
        try:
            interval = _DURATION.validate_python(data["interval"])
        except ValidationError:
            return data  # the interval's own validation says what is wrong with it
        timeout = max(MIN_PROBE_PACE, min(DEFAULT_PROBE_TIMEOUT, interval))
        return {**data, "timeout": timeout}

    @model_validator(mode="after")
    def _timeout_within_interval(self) -> "_ProbeCommon":
        # A probe has one check at a time: one that may outlast its period cannot keep it, and
        # a server that hangs (accepts, never answers) is confirmed DOWN only after `failures`
        # whole timeouts; never, with a timeout of days.
        if self.timeout > self.interval:
            raise ValueError(
                f"timeout ({_written(self.timeout)}) must not be longer than interval "
                f"({_written(self.interval)}): a check could not keep the pace, and a server "
                f"that hangs would be confirmed down only after {self.failures} timeouts "
                f"({_written(self.timeout * self.failures)})"
            )
        return self


class IcmpProbe(_ProbeCommon):
    type: Literal["icmp"]

    @property
    def key_part(self) -> str:
        """The probe's part of its key (`bot.probes.result.probe_key`): unique on its server."""
        return "icmp"


class TcpProbe(_ProbeCommon):
    type: Literal["tcp"]
    port: int = Field(ge=1, le=65535)

    @property
    def key_part(self) -> str:
        """The probe's part of its key (`bot.probes.result.probe_key`): unique on its server."""
        return f"tcp:{self.port}"


class HttpProbe(_ProbeCommon):
    type: Literal["http", "https"]
    url: str = Field(pattern=r"^https?://\S+$")
    expect_status: int = Field(200, ge=100, le=599)
    keyword: str | None = None
    cert_expiry_warning: Duration = timedelta(days=14)
    # False for a server whose certificate no public authority signed (self-signed, an
    # internal CA): the check neither verifies it nor fails on it; its expiry is still read.
    verify_tls: bool = True

    @property
    def key_part(self) -> str:
        """The probe's part of its key (`bot.probes.result.probe_key`): unique on its server.

        `http` for both types, as stored keys have always read: an `http` and an `https` probe
        of one URL are one probe.
        """
        return f"http:{self.url}"


# Files of the system's zone database that ZoneInfo opens but that name no place: the host's
# own setting (the contract's clocks would move with the machine) and placeholders.
_NOT_PLACES = frozenset({"localtime", "posixrules", "Factory"})

ProbeSpec = Annotated[IcmpProbe | TcpProbe | HttpProbe, Field(discriminator="type")]
_PROBE: TypeAdapter[IcmpProbe | TcpProbe | HttpProbe] = TypeAdapter(ProbeSpec)


class ServerSpec(_Strict):
    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    client: str
    host: str = Field(min_length=1, pattern=r"^\S+$")  # a name or an address: no blanks
    probes: list[ProbeSpec] = []

    @field_validator("id")
    @classmethod
    def _readable(cls, value: str) -> str:
        return _not_a_ticket(value, "server")


class Catalog(_Strict):
    """The whole catalog, validated; ids and references are known to be consistent."""

    timezone: str = "Europe/Paris"
    calendars: dict[str, CalendarSpec]
    levels: dict[str, LevelSpec]
    policy: Policy = Policy()
    team: Team
    clients: list[ClientSpec]
    servers: list[ServerSpec] = []

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        if value in _NOT_PLACES:
            raise ValueError(f"{value!r} is not the zone of a place: name one, like Europe/Paris")
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def client(self, client_id: str) -> ClientSpec:
        return next(c for c in self.clients if c.id == client_id)

    def server(self, server_id: str) -> ServerSpec:
        return next(s for s in self.servers if s.id == server_id)

    def probes_server(self, server_id: str | None) -> bool:
        """Whether the catalog probes server `server_id`: one that left it, or has no probe,
        is watched by nobody, so an outage of it left open says nothing of now."""
        return any(s.id == server_id and s.probes for s in self.servers)

    def find_server(self, text: str) -> ServerSpec | None:
        """The server `text` names: its id, else its id in another case when only one server
        has it (a technician typing `ACME-WEB-01`); None when it names none."""
        exact = next((s for s in self.servers if s.id == text), None)
        if exact is not None:
            return exact
        folded = [s for s in self.servers if s.id.casefold() == text.casefold()]
        return folded[0] if len(folded) == 1 else None

    def level_of(self, client_id: str) -> LevelSpec:
        return self.levels[self.client(client_id).level]

    def monthly_fee(self, client_id: str) -> float:
        client = self.client(client_id)
        return (
            client.monthly_fee
            if client.monthly_fee is not None
            else self.levels[client.level].monthly_fee
        )


def parse_catalog(text: str, source: str = "catalog") -> Catalog:
    """Validate TOML text; raise CatalogError naming every problem."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(source, [Problem("", f"invalid TOML: {exc}")]) from None
    problems: list[Problem] = []
    catalog: Catalog | None = None
    try:
        catalog = Catalog.model_validate(raw)
    except ValidationError as exc:
        problems.extend(_problem(error) for error in exc.errors())
    problems.extend(_cross_references(raw))
    if problems or catalog is None:
        raise CatalogError(source, _unique(problems))
    return catalog


def load_catalog(path: Path) -> Catalog:
    """Read and validate a catalog file; raise CatalogError if missing, unreadable or invalid."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CatalogError(str(path), [Problem("", "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise CatalogError(str(path), [Problem("", f"cannot read the file: {reason}")]) from None
    return parse_catalog(text, str(path))


def _problem(error: Any) -> Problem:
    loc: list[Any] = list(error["loc"])
    # A discriminated union adds the tag ("tcp") to the location, and field validators of
    # constrained types add their own names; neither is a key the user wrote.
    loc = [part for i, part in enumerate(loc) if not (i > 0 and _is_union_tag(loc, i))]
    message = error["msg"]
    if message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
    if error["type"] == "union_tag_invalid":
        message = (
            f"unknown probe type {error['input'].get('type')!r} (one of {', '.join(PROBE_TYPES)})"
        )
    elif error["type"] == "extra_forbidden":
        message = "unknown key"
    return Problem(_path(loc), message)


def _is_union_tag(loc: list[Any], index: int) -> bool:
    return (
        isinstance(loc[index - 1], int)
        and loc[index] in PROBE_TYPES
        and index >= 2
        and loc[index - 2] == "probes"
    )


def _path(loc: list[Any]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _cross_references(raw: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    calendars = _table(raw, "calendars")
    levels = _table(raw, "levels")
    for name, level in levels.items():
        if not isinstance(level, dict):
            continue
        for key in ("calendar", "gti_calendar", "gtr_calendar"):
            ref = level.get(key)
            if isinstance(ref, str) and ref not in calendars:
                problems.append(Problem(f"levels.{name}.{key}", f"unknown calendar {ref!r}"))
    clients = _list(raw, "clients")
    servers = _list(raw, "servers")
    problems += _duplicates("clients", clients)
    problems += _duplicates("servers", servers)
    client_ids = {c.get("id") for c in clients if isinstance(c, dict)}
    for i, client in enumerate(clients):
        ref = client.get("level") if isinstance(client, dict) else None
        if isinstance(ref, str) and ref not in levels:
            problems.append(Problem(f"clients[{i}].level", f"unknown level {ref!r}"))
    for i, server in enumerate(servers):
        ref = server.get("client") if isinstance(server, dict) else None
        if isinstance(ref, str) and ref not in client_ids:
            problems.append(Problem(f"servers[{i}].client", f"unknown client {ref!r}"))
        problems += _duplicate_probes(i, server)
    return problems


def _duplicate_probes(index: int, server: dict[str, Any]) -> list[Problem]:
    """Probes of one server that would share a key: the probe engine, keyed by it, refuses them.

    Server ids are unique and keys are `<server id>/<key_part>`, so distinct key parts on each
    server make distinct keys. Probes with a bad shape are reported by the first pass.
    """
    probes = server.get("probes")
    if not isinstance(probes, list):
        return []
    name = server.get("id") if isinstance(server.get("id"), str) else f"servers[{index}]"
    problems = []
    first: dict[str, int] = {}
    for j, raw in enumerate(probes):
        try:
            part = _PROBE.validate_python(raw).key_part
        except ValidationError:
            continue
        if part in first:
            problems.append(
                Problem(
                    f"servers[{index}].probes[{j}]",
                    f"server {name!r} already has the probe {part!r} (probes[{first[part]}]): "
                    "two probes of a server must differ by type, port or URL "
                    "(http and https count as one)",
                )
            )
        else:
            first[part] = j
    return problems


def _table(raw: dict[str, Any], key: str) -> dict[str, Any]:
    value = raw.get(key)
    return value if isinstance(value, dict) else {}


def _list(raw: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = raw.get(key)
    if not isinstance(value, list):
        return []
    return [item if isinstance(item, dict) else {} for item in value]


def _duplicates(section: str, items: list[dict[str, Any]]) -> list[Problem]:
    counts = Counter(item.get("id") for item in items if isinstance(item.get("id"), str))
    problems = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        ident = item.get("id")
        if isinstance(ident, str) and counts[ident] > 1:
            if ident in seen:
                problems.append(Problem(f"{section}[{i}].id", f"duplicate id {ident!r}"))
            seen.add(ident)
    return problems


def _unique(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))
