"""The strict grammar of `/intervention` and `/sla` (see shared/DOMAIN.md), as pure parsing.

Every rejection is a UserFacingError naming what was wrong; nothing here touches the database.
Free text is kept as the user meant it (Slack's `&lt;` `&gt;` `&amp;` decoded in a command,
not in a modal's fields, which come as typed; control characters dropped) and must be escaped
again wherever it is shown.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from bot.config import parse_duration
from bot.errors import UserFacingError
from bot.sla import TicketKind, parse_kind

MAX_TEXT = 3000  # a whole command
MAX_FREE_TEXT = 2000  # a description, update, reason or note
MIN_SNOOZE = timedelta(minutes=1)  # as the usage says: 1m to 7d
MAX_SNOOZE = timedelta(days=7)

# ASCII digits only: `\d` alone reads "٤٢" or "４２" as 42, a ticket the one who typed them
# may not have meant, and the grammar says `INT-42` or `42`.
_TICKET = re.compile(r"(?:INT-?)?(\d+)", re.IGNORECASE | re.ASCII)
# Past this, a number names no ticket the database could hold (64-bit ids, on PostgreSQL and
# SQLite alike): it is said not to exist without being looked up.
MAX_TICKET_ID = 2**63 - 1
_USER = re.compile(r"<@([UW][A-Z0-9]{2,20})(?:\|[^>]*)?>")
# A mention as Slack sends it (`<@U…|bob>`, `<#C…|alerts>`, `<!subteam^S…|@techs>`), for
# a refusal to show it by its name, as the technician saw it.
_MENTION = re.compile(r"<([@#!])[^|>]*\|([^>]+)>")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
# The `--at` flag in any case ("--AT", caps lock on), and as phones and macOS turn a typed "--"
# into a dash ("—at", "–at"); with its time glued to it ("--at09:30", a space forgotten), it is
# "--at=09:30". "--attention" is a word of the description.
_AT_FLAG = re.compile(r"^(?:--|[\u2013\u2014])at(?=(=|$|\d))", re.IGNORECASE)
# A call time's day and its time of day (with seconds or an offset), when the date and the
# time are written apart, as RFC 3339 allows and people write them: `2026-11-27 15:30`.
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_TIME_OF_DAY = re.compile(
    r"\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?", re.ASCII | re.IGNORECASE
)
# Control characters, zero-width space and direction marks and overrides; not the zero-width
# (non-)joiners, which compose emoji (👩‍💻) and some scripts' letters in the text typed.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True)
class Open:
    server_id: str
    kind: TicketKind
    at: str | None  # as typed: "HH:MM" or ISO-8601; the service resolves it against the clock
    description: str


@dataclass(frozen=True)
class TicketAct:
    """A verb on one ticket, with optional free text (update, wait, resolve, quote, refuse)."""

    verb: str
    ticket_id: int
    text: str = ""


@dataclass(frozen=True)
class Reassign:
    ticket_id: int
    user_id: str


@dataclass(frozen=True)
class Snooze:
    ticket_id: int
    duration: timedelta


@dataclass(frozen=True)
class ListTickets:
    scope: str  # "open" (default), "mine", or a client id


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class Status:
    target: str | None  # client, server or ticket; None for everything


InterventionCommand = Open | TicketAct | Reassign | Snooze | ListTickets | Help

_REF_ONLY = ("claim", "show", "resume")
_TEXT_REQUIRED = ("update", "wait")
_TEXT_OPTIONAL = ("resolve", "quote", "refuse")


def clean(text: str) -> str:
    """A command's text: Slack's entities decoded, control and direction-override characters
    dropped."""
    return typed(text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))


def typed(text: str) -> str:
    """A modal field's text: Slack sends it as typed, entities and all (`&lt;` is what was
    written), so only control and direction-override characters are dropped."""
    return _CONTROL.sub("", text).strip()


def _command_text(raw: str) -> str:
    """A command's text as typed (`clean`), refused past MAX_TEXT characters of it: counted
    in Slack's encoding, 800 `<` typed (`&lt;` each) made a command too long."""
    if len(raw) > 5 * MAX_TEXT:  # `&amp;` is the longest a typed character becomes
        raise UserFacingError("usage.too_long", limit=MAX_TEXT)
    text = clean(raw)
    if len(text) > MAX_TEXT:
        raise UserFacingError("usage.too_long", limit=MAX_TEXT)
    return text


def is_ticket_ref(word: str) -> bool:
    """`INT-42` or `42`: a ticket, where a client or a server could also be named."""
    return _TICKET.fullmatch(word) is not None


def parse_ticket(word: str) -> int:
    """`INT-42` or `42` -> 42; a number too big to be a ticket's is one that does not exist."""
    match = _TICKET.fullmatch(word)
    if match is None:
        raise UserFacingError("usage.bad_ticket", value=word[:40])
    digits = match.group(1).lstrip("0") or "0"
    if len(digits) > len(str(MAX_TICKET_ID)) or int(digits) > MAX_TICKET_ID:
        shown = digits if len(digits) <= 40 else digits[:40] + "…"
        raise UserFacingError("ticket.not_found", id=shown)
    return int(digits)


def parse_intervention(raw: str) -> InterventionCommand:
    """Parse the text after `/intervention`."""
    text = _command_text(raw)
    words = text.split()
    if not words or words[0].lower() == "help":
        return Help()
    verb, args = words[0].lower(), words[1:]
    if verb == "open":
        return _parse_open(text, args)
    if verb == "list":
        if len(args) > 1:  # "list mine acme": the words too many, named
            raise UserFacingError("usage.list_extra", value=_shown(args[1:]))
        if not args or args[0].lower() in ("mine", "open"):
            return ListTickets(args[0].lower() if args else "open")
        return ListTickets(args[0])  # a client, quoted as typed when it is none
    if verb not in (*_REF_ONLY, *_TEXT_REQUIRED, *_TEXT_OPTIONAL, "reassign", "snooze"):
        raise UserFacingError("usage.unknown_verb", command="/intervention", word=verb[:40])
    if not args:
        raise UserFacingError(f"usage.{verb}")
    ticket_id = parse_ticket(args[0])
    rest = args[1:]
    if verb in _REF_ONLY:
        if rest:  # "resume 42 client answered": the words too many, named
            raise UserFacingError("usage.ticket_only", verb=verb, value=" ".join(rest)[:64])
        return TicketAct(verb, ticket_id)
    if verb == "reassign":
        if not rest:
            raise UserFacingError("usage.reassign")
        match = _USER.fullmatch(rest[0])
        if match is None:  # "@bob" typed, not picked; a user group
            raise UserFacingError("usage.reassign_user", value=_shown(rest))
        if len(rest) > 1:  # "<@U…|bob> please", two users: the user is fine, the rest is not
            raise UserFacingError("usage.reassign_extra", value=_shown(rest[1:]))
        return Reassign(ticket_id, match.group(1))
    if verb == "snooze":
        if not rest:
            raise UserFacingError("usage.snooze")
        # The rest is the duration, spaces and all ("1h 30m", "2 h"): a snooze takes no text.
        # Named when wrong: "30mn", "45s" or "8d" is the word to fix, not the whole command.
        typed_duration = " ".join(rest)
        duration = _duration(typed_duration)
        if duration is None or not MIN_SNOOZE <= duration <= MAX_SNOOZE:
            raise UserFacingError("usage.snooze_duration", value=typed_duration[:40])
        return Snooze(ticket_id, duration)
    free_text = _free_text(_from_word(text, 2))
    if verb in _TEXT_REQUIRED and not free_text:
        raise UserFacingError(f"usage.{verb}")
    return TicketAct(verb, ticket_id, free_text)


def _parse_open(text: str, args: list[str]) -> Open:
    if len(args) == 1 and not _AT_FLAG.match(args[0]):  # the word that is there, named
        if _is_kind(args[0]):
            raise UserFacingError("usage.open_no_server", kind=args[0][:40])
        raise UserFacingError("usage.open_no_kind", server=_server_id(args[0]))
    if len(args) < 2:
        raise UserFacingError("usage.open")
    if any(_AT_FLAG.match(word) for word in args[:2]):  # not an unknown server or kind "--at"
        raise UserFacingError("usage.at_after_kind")
    if _is_kind(args[0]) and not _is_kind(args[1]):  # "open secours acme-web-01": swapped
        raise UserFacingError("usage.open_order", kind=args[0][:40], server=args[1][:64])
    server_id, kind_word = _server_id(args[0]), args[1]
    rest = [_AT_FLAG.sub(_at_flag, word, count=1) for word in args[2:]]
    try:
        kind = parse_kind(kind_word)
    except ValueError:
        raise UserFacingError("usage.bad_kind", value=kind_word[:40]) from None
    at: str | None = None
    if rest and (rest[0] == "--at" or rest[0].startswith("--at=")):
        if rest[0].startswith("--at="):
            at, rest = rest[0].removeprefix("--at="), rest[1:]
        elif rest[0] == "--at" and len(rest) >= 2:
            at, rest = rest[1], rest[2:]
        else:
            raise UserFacingError("usage.at_no_time")
        if not at:
            raise UserFacingError("usage.at_no_time")
        if _DAY.fullmatch(at) and rest and _TIME_OF_DAY.fullmatch(rest[0]):
            at, rest = f"{at}T{rest[0]}", rest[1:]  # "2026-11-27 15:30": one call time
    if any(word == "--at" or word.startswith("--at=") for word in rest):
        raise UserFacingError("usage.at_first")  # not silently part of the description
    # The description is the command's text from its first word: the words before it are
    # "open", the server, the kind and, if given, the call time (one to three words).
    description = _free_text(_from_word(text, len(args) + 1 - len(rest)))
    if not description:
        raise UserFacingError("usage.open_no_description")
    return Open(server_id, kind, at, description)


def _is_kind(word: str) -> bool:
    try:
        parse_kind(word)
    except ValueError:
        return False
    return True


def _at_flag(match: re.Match[str]) -> str:
    """`--at` as the grammar reads it; `--at=` when the time follows without a space."""
    return "--at=" if match.group(1).isdigit() else "--at"


def _shown(words: list[str]) -> str:
    """Words a refusal quotes, mentions by the names the technician saw (`@bob`)."""
    return _MENTION.sub(_as_shown, " ".join(words))[:64]


def _as_shown(match: re.Match[str]) -> str:
    sigil, name = match.group(1), match.group(2)
    return name if sigil == "!" or name.startswith(sigil) else sigil + name


def _server_id(word: str) -> str:
    if _ID.fullmatch(word) is None:
        raise UserFacingError("usage.bad_server", value=word[:64])
    return word


def _from_word(text: str, index: int) -> str:
    """`text` from its word `index` on (the first is 0), with its line breaks and spacing as
    typed: Slack sends Shift+Enter as a newline, and steps or a list for the client written
    on lines would otherwise be recorded as one line (a modal's text keeps them too)."""
    parts = text.split(maxsplit=index)
    return parts[index] if len(parts) > index else ""


def _free_text(text: str) -> str:
    if len(text) > MAX_FREE_TEXT:
        raise UserFacingError("usage.text_too_long", limit=MAX_FREE_TEXT)
    return text


def parse_status(raw: str) -> Status:
    """Parse the text after `/sla status`."""
    words = clean(raw).split()
    if len(words) > 1:  # "status acme globex-db-01": the words too many, named
        raise UserFacingError("usage.status_extra", value=_shown(words[1:]))
    return Status(words[0] if words else None)


def escape(text: str) -> str:
    """Escape user text for Slack mrkdwn so `<!channel>` pings nobody."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# Alerts (issue 6) ------------------------------------------------------------------------------

MIN_SILENCE = timedelta(minutes=1)
MAX_SILENCE = timedelta(days=7)


@dataclass(frozen=True)
class SilenceServer:
    """`/sla silence <server> <duration> [reason…]`."""

    server_id: str
    duration: timedelta
    reason: str


def parse_silence(raw: str) -> SilenceServer:
    """Parse the text after `/sla silence`; durations from 1m to 7d."""
    text = _command_text(raw)
    words = text.split()
    if len(words) < 2:
        raise UserFacingError("usage.silence")
    server_id, duration_word, rest = _server_id(words[0]), words[1], words[2:]
    duration = _duration(duration_word)
    # "1h 30m", "1h 30", "2 h": one duration typed with a space, not 1h and a reason "30m …"
    # (the alerts back half an hour early). A second word that makes none with the first
    # ("1h 5 servers down") is the reason's.
    if rest and (duration is None or _duration(rest[0]) is not None or rest[0].isdigit()):
        whole = _duration(duration_word + rest[0])
        if whole is not None:
            duration, rest = whole, rest[1:]
    if duration is None and _duration(server_id) is not None:  # "2h acme-web-01": swapped
        raise UserFacingError("usage.silence_order", duration=server_id, server=duration_word[:64])
    if duration is None or not MIN_SILENCE <= duration <= MAX_SILENCE:
        # Named: "30mn", "0m" or "8d" is the word to fix, not the whole command.
        raise UserFacingError("usage.silence_duration", value=duration_word[:40])
    return SilenceServer(server_id, duration, _free_text(_from_word(text, len(words) - len(rest))))


def _duration(word: str) -> timedelta | None:
    try:
        return parse_duration(word)
    except ValueError:
        return None


def open_from_fields(server_id: str, kind_word: str, at: str | None, description: str) -> Open:
    """An `Open` from the fields of the Open intervention modal, with the command's rules."""
    at_text = typed(at) if at is not None else ""
    return Open(
        _server_field(server_id),
        _kind_field(kind_word),
        at_text or None,
        _description_field(description),
    )


def open_field_errors(
    server_id: str, kind_word: str, description: str
) -> dict[str, UserFacingError]:
    """What `open_from_fields` refuses in each field (`server`, `kind`, `description`), every
    field read on its own: the modal shows them all at once, not one per submission."""
    checks: list[tuple[str, Callable[[str], object], str]] = [
        ("server", _server_field, server_id),
        ("kind", _kind_field, kind_word),
        ("description", _description_field, description),
    ]
    errors: dict[str, UserFacingError] = {}
    for field, check, value in checks:
        try:
            check(value)
        except UserFacingError as error:
            errors[field] = error
    return errors


def _server_field(server_id: str) -> str:
    return _server_id(typed(server_id))


def _kind_field(kind_word: str) -> TicketKind:
    try:
        return parse_kind(kind_word)
    except ValueError:
        raise UserFacingError("usage.bad_kind", value=kind_word[:40]) from None


def _description_field(description: str) -> str:
    text = _free_text(typed(description))
    if not text:
        raise UserFacingError("modal.open.no_description")
    return text


# `/sla report` and `/sla credit` (issue 8) ------------------------------------------------------

_MONTH = re.compile(r"(\d{4})-(\d{2})", re.ASCII)
# Digits and separators ("2026-1", "11/2026", "2026-11-01"): a month mistyped, never a client.
_DATE_LIKE = re.compile(r"\d+(?:[-/.]\d+)+", re.ASCII)
CREDIT_VERBS = ("request", "grant", "decline")


@dataclass(frozen=True)
class ReportRequest:
    """`/sla report [<client>] [YYYY-MM] [public]`; None means every client, this month."""

    client: str | None
    month: tuple[int, int] | None
    public: bool = False


@dataclass(frozen=True)
class CreditAct:
    """`/sla credit request|grant|decline <ticket> [note…]`."""

    verb: str
    ticket_id: int
    note: str = ""


FIRST_YEAR = 2000  # no report of a month before: no contract of this bot's ran then


def parse_month(word: str) -> tuple[int, int]:
    """`2026-11` -> (2026, 11); UserFacingError for anything else."""
    match = _MONTH.fullmatch(word.strip())
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise UserFacingError("usage.bad_month", value=word[:40])
    if int(match.group(1)) < FIRST_YEAR:
        raise UserFacingError("usage.month_too_early", value=word[:40], first=FIRST_YEAR)
    return int(match.group(1)), int(match.group(2))


def parse_report(raw: str) -> ReportRequest:
    """Parse the text after `/sla report`: a client, a month and `public`, each at most once."""
    client: str | None = None
    month: tuple[int, int] | None = None
    public = False
    for word in clean(raw).split():
        if word.lower() == "public":
            if public:
                raise UserFacingError("usage.report_extra", value=word[:40])
            public = True
        elif _DATE_LIKE.fullmatch(word):
            if month is not None:
                raise UserFacingError("usage.report_extra", value=word[:40])
            month = parse_month(word)
        elif _ID.fullmatch(word) and client is None:
            client = word
        else:
            raise UserFacingError("usage.report_extra", value=word[:40])
    return ReportRequest(client, month, public)


def parse_credit(raw: str) -> CreditAct:
    """Parse the text after `/sla credit`."""
    text = _command_text(raw)
    words = text.split()
    if words and words[0].lower() not in CREDIT_VERBS:
        raise UserFacingError("usage.credit_verb", value=words[0][:40])
    if len(words) < 2:
        raise UserFacingError("usage.credit")
    return CreditAct(words[0].lower(), parse_ticket(words[1]), _free_text(_from_word(text, 2)))
