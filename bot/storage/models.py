"""SQLAlchemy models: the database is the source of truth for every deadline and message."""

import enum
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from bot.storage.types import UtcDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# A BigInteger primary key that is still an autoincrementing INTEGER PRIMARY KEY on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e])


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime(),
        dict[str, Any]: JSON(),
    }


class TicketStatus(enum.StrEnum):
    OPEN = "open"  # registered, not claimed
    CLAIMED = "claimed"
    WAITING = "waiting"  # waiting on the client: clocks and nudges paused
    RESOLVED = "resolved"


class Scope(enum.StrEnum):
    IN = "in"  # within the contract: clocks run
    PENDING = "pending"  # out of scope (allowance used): no clock until quoted or refused
    QUOTED = "quoted"  # out of scope, the client accepted a quote: work goes on, no clock
    REFUSED = "refused"  # out of scope, refused: the ticket is closed


class ProbeStatus(enum.StrEnum):
    UNKNOWN = "unknown"
    UP = "up"
    DOWN = "down"


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    # An update superseded by a later one for the same message, or (`last_error` "unchanged")
    # one saying exactly what Slack already shows of it: settled without a call.
    COALESCED = "coalesced"
    DROPPED = "dropped"  # moot when its turn came (`depends_on`); `last_error` says why


class OutboxOperation(enum.StrEnum):
    POST = "post"  # chat.postMessage (channel, DM or thread reply)
    UPDATE = "update"  # chat.update of a message posted earlier through the outbox
    EPHEMERAL = "ephemeral"  # chat.postEphemeral
    RESPONSE = "response"  # a post to a response_url
    REPLACE = "replace"  # a post to a response_url that replaces the message clicked


class Client(Base):
    """A client of the catalog; kept after removal from the catalog (`removed_at`)."""

    __tablename__ = "clients"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(64))
    monthly_fee: Mapped[float]
    added_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]


class ClientTerms(Base):
    """A client's level and monthly fee from `since` on, written when the catalog first has
    the client and at each change: a month's report prices it with the terms in force then."""

    __tablename__ = "client_terms"
    __table_args__ = (Index("ix_client_terms_client_since", "client_id", "since"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"))
    level: Mapped[str] = mapped_column(String(64))
    monthly_fee: Mapped[float]
    since: Mapped[datetime]


class Server(Base):
    """A client's machine; kept after removal from the catalog (`removed_at`)."""

    __tablename__ = "servers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), index=True)
    host: Mapped[str] = mapped_column(String(255))
    added_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]


class ServerMove(Base):
    """A server passed from one client to another (the catalog changed its `client`): the
    months before belong to the first client's reports, those after to the second's."""

    __tablename__ = "server_moves"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    server_id: Mapped[str] = mapped_column(ForeignKey("servers.id"), index=True)
    from_client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"))
    to_client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"))
    at: Mapped[datetime]


# The tickets that use up their client's monthly allowance: in scope, of a software kind
# (bot.sla.counts_towards_allowance). The allowance count repeats it word for word: SQLite
# reads a partial index only for a query that states its condition, and PostgreSQL's plan of
# a prepared statement, its parameters unknown, finds the index only through it.
ALLOWANCE_COUNTED = "scope = 'in' AND kind IN ('secours', 'maintenance', 'utilisation')"


class Ticket(Base):
    """An intervention, `INT-<id>`. Contract terms are copied at registration."""

    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_client_called", "client_id", "called_at"),  # reports
        # The allowance count: only the tickets that use it up, read from the index alone.
        Index(
            "ix_tickets_allowance",
            "client_id",
            "called_at",
            "kind",
            "scope",  # covering the count, which SQLite's planner then prefers
            sqlite_where=text(ALLOWANCE_COUNTED),
            postgresql_where=text(ALLOWANCE_COUNTED),
        ),
        Index("ix_tickets_client_status", "client_id", "status"),  # a client's open tickets
        Index("ix_tickets_server_status", "server_id", "status"),  # a server's open tickets
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"))
    server_id: Mapped[str | None] = mapped_column(ForeignKey("servers.id"))
    kind: Mapped[str] = mapped_column(String(32))
    level: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[TicketStatus] = mapped_column(_enum(TicketStatus), index=True)
    scope: Mapped[Scope] = mapped_column(_enum(Scope))
    called_at: Mapped[datetime] = mapped_column(index=True, comment="the client's call, UTC")
    registered_at: Mapped[datetime]
    opened_by: Mapped[str] = mapped_column(String(32))
    assignee_id: Mapped[str | None] = mapped_column(String(32), index=True)
    claimed_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(32))
    last_update_at: Mapped[datetime | None]
    snoozed_until: Mapped[datetime | None]
    outage_id: Mapped[int | None] = mapped_column(ForeignKey("outages.id"))
    channel_id: Mapped[str | None] = mapped_column(String(32))
    thread_key: Mapped[str | None] = mapped_column(
        String(200), comment="outbox key of the message whose thread holds the ticket's story"
    )
    revision: Mapped[int] = mapped_column(default=0, comment="bumped at every change")

    clocks: Mapped[list["Clock"]] = relationship(back_populates="ticket", order_by="Clock.id")
    pauses: Mapped[list["TicketPause"]] = relationship(
        back_populates="ticket", order_by="(TicketPause.started_at, TicketPause.id)"
    )
    # Read by `show` alone: the ledger moves its rows by conditional UPDATEs and DELETEs.
    credits: Mapped[list["Credit"]] = relationship(viewonly=True, order_by="Credit.id")

    @property
    def ref(self) -> str:
        return f"INT-{self.id}"


class Clock(Base):
    """A ticket's GTI or GTR clock: budget and calendar fixed at start."""

    __tablename__ = "clocks"
    __table_args__ = (UniqueConstraint("ticket_id", "kind"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    kind: Mapped[str] = mapped_column(String(8))  # gti | gtr
    budget_seconds: Mapped[int]
    calendar: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime]
    stopped_at: Mapped[datetime | None]
    stopped_by: Mapped[str | None] = mapped_column(
        String(64), comment="user id, or 'probe' for a recovery"
    )
    deadline_at: Mapped[datetime | None] = mapped_column(
        index=True, comment="cached deadline if it keeps running; recomputed on every change"
    )

    ticket: Mapped[Ticket] = relationship(back_populates="clocks")


class TicketPause(Base):
    """Waiting on the client; `ended_at` is None while it lasts. Pauses whichever clock runs."""

    __tablename__ = "ticket_pauses"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    reason: Mapped[str] = mapped_column(Text)
    started_by: Mapped[str] = mapped_column(String(32))
    ended_by: Mapped[str | None] = mapped_column(String(32))

    ticket: Mapped[Ticket] = relationship(back_populates="pauses")


class ProbeState(Base):
    """Up/down state of one probe, kept across restarts."""

    __tablename__ = "probe_states"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)  # e.g. "acme-web-01/tcp:22"
    server_id: Mapped[str] = mapped_column(ForeignKey("servers.id"), index=True)
    status: Mapped[ProbeStatus] = mapped_column(_enum(ProbeStatus))
    failures: Mapped[int] = mapped_column(default=0, comment="consecutive failures")
    successes: Mapped[int] = mapped_column(default=0, comment="consecutive successes")
    streak_started_at: Mapped[datetime | None]
    last_checked_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    changed_at: Mapped[datetime | None]


class Outage(Base):
    """A period where a server's probes confirm it DOWN."""

    __tablename__ = "outages"
    __table_args__ = (Index("ix_outages_open", "server_id", "ended_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    server_id: Mapped[str] = mapped_column(ForeignKey("servers.id"))
    started_at: Mapped[datetime] = mapped_column(comment="first failure of the confirming streak")
    confirmed_at: Mapped[datetime]
    ended_at: Mapped[datetime | None] = mapped_column(
        comment="first success of the clearing streak"
    )
    acknowledged_by: Mapped[str | None] = mapped_column(String(32))
    acknowledged_at: Mapped[datetime | None]
    root_key: Mapped[str | None] = mapped_column(String(200), comment="outbox key of the root")
    storm_id: Mapped[int | None] = mapped_column(
        ForeignKey("alert_storms.id"), comment="set when alerted as part of a grouped storm"
    )


class AuditEvent(Base):
    """An append-only record of an SLA-relevant act (database triggers refuse edits)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_id: Mapped[str] = mapped_column(String(64))  # Slack user id, or "system"/"probe"
    action: Mapped[str] = mapped_column(String(64))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    server_id: Mapped[str | None] = mapped_column(String(64), index=True)
    command: Mapped[str | None] = mapped_column(Text, comment="the command text as typed")
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class OutboxMessage(Base):
    """A message the bot decided to send, written in the transaction that decided it."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), unique=True, comment="idempotency key")
    operation: Mapped[OutboxOperation] = mapped_column(_enum(OutboxOperation))
    channel_id: Mapped[str | None] = mapped_column(
        String(64), comment="channel, or user id for a DM"
    )
    user_id: Mapped[str | None] = mapped_column(String(32), comment="ephemeral recipient")
    thread_key: Mapped[str | None] = mapped_column(
        String(200), index=True, comment="outbox key of the thread root this replies to"
    )
    target_key: Mapped[str | None] = mapped_column(
        String(200), index=True, comment="outbox key of the message an update edits"
    )
    response_url: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    blocks: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    render: Mapped[str | None] = mapped_column(
        String(64), comment="renderer:argument writing text and blocks at send time"
    )
    depends_on: Mapped[dict[str, Any] | None] = mapped_column(
        JSON, comment="what the message depends on: dropped, not sent, once it no longer holds"
    )
    status: Mapped[OutboxStatus] = mapped_column(_enum(OutboxStatus), index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    claimed_by: Mapped[str | None] = mapped_column(
        String(200), comment="sender whose call is in flight, until next_attempt_at"
    )
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    ts: Mapped[str | None] = mapped_column(String(32), comment="Slack ts once delivered")
    sent_channel_id: Mapped[str | None] = mapped_column(
        String(64), comment="channel Slack answered with (the D… id of a DM)"
    )
    # Of a posted message: what Slack shows of it, as last posted or edited with success
    # (`bot.storage.outbox.digest`); NULL while an edit's outcome is unknown, or failed.
    shown_digest: Mapped[str | None] = mapped_column(
        String(64), comment="sha256 of the text and blocks Slack shows; NULL when unknown"
    )


class InboundEvent(Base):
    """An inbound Slack event, action or trigger already processed (de-duplication)."""

    __tablename__ = "inbound_events"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(index=True)


class Lease(Base):
    """A named lease held by one instance (the scheduler leader), renewed while alive."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class ProbeRollup(Base):
    """One probe's results summed over one UTC hour: bounded history instead of raw results."""

    __tablename__ = "probe_rollups"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)  # e.g. "acme-web-01/icmp"
    hour_start: Mapped[datetime] = mapped_column(
        primary_key=True, index=True, comment="UTC, on the hour"
    )
    count: Mapped[int]
    failures: Mapped[int]
    p50_ms: Mapped[float | None] = mapped_column(comment="median latency, ms")
    p95_ms: Mapped[float | None] = mapped_column(comment="95th percentile latency, ms")


class AlertStorm(Base):
    """Many servers down at once: alerted as one grouped root message."""

    __tablename__ = "alert_storms"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    root_key: Mapped[str | None] = mapped_column(String(200))
    acknowledged_by: Mapped[str | None] = mapped_column(String(32))
    acknowledged_at: Mapped[datetime | None]


class Silence(Base):
    """No alert posts for a server until `ends_at` (outages are still recorded)."""

    __tablename__ = "silences"
    __table_args__ = (Index("ix_silences_server_end", "server_id", "ends_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    server_id: Mapped[str] = mapped_column(ForeignKey("servers.id"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(32))


class TicketSnooze(Base):
    """`/intervention snooze`: nudges falling between `requested_at` and `until` move to `until`."""

    __tablename__ = "ticket_snoozes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    requested_at: Mapped[datetime]
    until: Mapped[datetime]
    requested_by: Mapped[str] = mapped_column(String(32))


class CreditState(enum.StrEnum):
    ELIGIBLE = "eligible"
    REQUESTED = "requested"
    GRANTED = "granted"
    DECLINED = "declined"


class Credit(Base):
    """The credit a breached clock entitles the client to, and where its request stands."""

    __tablename__ = "credits"
    __table_args__ = (
        UniqueConstraint("ticket_id", "clock"),
        # The reminders sweep's breaches still to announce, however old: a few rows at most,
        # found without reading the years of credits already announced.
        Index(
            "ix_credits_unannounced",
            "ticket_id",
            sqlite_where=text("announced_at IS NULL"),
            postgresql_where=text("announced_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    clock: Mapped[str] = mapped_column(String(8))  # gti | gtr
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), index=True)
    breached_at: Mapped[datetime] = mapped_column(comment="the deadline that was missed")
    state: Mapped[CreditState] = mapped_column(_enum(CreditState))
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    announced_at: Mapped[datetime | None] = mapped_column(
        comment="when the reminders sweep queued the breach's announcement; NULL until then"
    )
