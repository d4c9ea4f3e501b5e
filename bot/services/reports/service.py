"""`/sla report`, the monthly post and its schedule."""

from collections import Counter
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from bot.config import Catalog
from bot.errors import UserFacingError
from bot.grammar import ReportRequest
from bot.services.audit import Actor
from bot.services.base import Service
from bot.services.reports.build import (
    build_month_report,
    find_client,
    was_client,
)
from bot.services.reports.formats import (
    to_slack,
)
from bot.services.reports.values import (
    MONTHLY_HOUR,
    MonthReport,
)
from bot.services.tickets import Reply
from bot.sla import (
    month_of,
    named_calendar,
)
from bot.storage.database import reading
from bot.storage.models import (
    Client,
    OutboxMessage,
)
from bot.storage.outbox import Outbound, add_message

# Scheduling ------------------------------------------------------------------------------------


def first_business_day(catalog: Catalog, year: int, month: int) -> date:
    """The first Monday-to-Friday of the month that the business calendar does not close.

    The business calendar is the one most levels run their clocks on (`calendar`, ties by name):
    its public holidays and `closed` dates are skipped, its weekly hours are not consulted.
    """
    counts = Counter(level.calendar for level in catalog.levels.values())
    name = min(counts, key=lambda n: (-counts[n], n)) if counts else None
    calendar = named_calendar(catalog, name) if name is not None else None
    day = date(year, month, 1)
    while day.weekday() >= 5 or (calendar is not None and calendar.is_closed_date(day)):
        day += timedelta(days=1)
    return day


def previous_month(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


MONTHLY_CATCH_UP = 3  # at most this many summaries missed are posted when the bot comes back


def next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def monthly_report_due_at(catalog: Catalog, year: int, month: int) -> datetime:
    """When a month's summary is due: 09:00 (catalog zone) on the first business day of the
    month after it."""
    day = first_business_day(catalog, *next_month(year, month))
    return datetime(day.year, day.month, day.day, MONTHLY_HOUR, tzinfo=catalog.zone)


def due_months(catalog: Catalog, since: datetime, now: datetime) -> list[tuple[int, int]]:
    """The months from that of `since` on whose summary is due at `now`, oldest first."""
    months: list[tuple[int, int]] = []
    year, month = month_of(since, catalog.zone)
    while monthly_report_due_at(catalog, year, month) <= now:
        months.append((year, month))
        year, month = next_month(year, month)
    return months


def monthly_report_key(year: int, month: int) -> str:
    """The outbox key of a month's automatic summary: it is queued once, ever."""
    return f"report/monthly/{year:04d}-{month:02d}"


# Use cases -------------------------------------------------------------------------------------


class ReportService(Service):
    """`/sla report`, the monthly summary and the report CLI, from the database."""

    def build(self, year: int, month: int, *, client: str | None = None) -> MonthReport:
        """The report of a month as of now; `client` is matched case-insensitively."""
        now = self._clock()
        with reading(self._sessions) as session:
            client_id = find_client(session, client, self._messages) if client is not None else None
            return build_month_report(
                session, self.catalog, year, month, now=now, client_id=client_id
            )

    def answer(self, actor: Actor, request: ReportRequest, *, channel_id: str | None) -> Reply:
        """`/sla report`: the summary in the ephemeral reply, or queued in the channel."""
        now = self._clock()
        current = month_of(now, self.catalog.zone)
        year, month = request.month or current
        if (year, month) > current:  # nothing has happened yet: all zeros would mislead
            raise UserFacingError("report.future_month", month=self._messages.month(year, month))
        if request.client is not None:
            self.require_client_then(request.client, year, month)
        report = self.build(year, month, client=request.client)
        text, blocks = to_slack(report, self._messages)
        if not request.public:
            return Reply(text, blocks)
        who = (
            report.clients[0].client_id if request.client is not None and report.clients else "all"
        )
        stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        message = Outbound(
            key=f"report/{who}/{report.label}/{actor.user_id}/{stamp}"[:200],
            text=text,
            blocks=blocks,
            channel_id=channel_id or self.catalog.team.alerts_channel,
        )
        with self._transaction() as session:
            add_message(session, message, now=now)
        return Reply(
            self._messages.get(
                "report.posted", month=self._messages.month(report.year, report.month)
            )
        )

    def require_client_then(self, text: str, year: int, month: int) -> None:
        """UserFacingError unless client `text` was one during the month (or called in it, or
        has a credit in it after leaving), as read now: a report of zeros for a month before it
        came or after it left would mislead (`/sla report` and `supportbot report --client`
        both refuse it)."""
        now = self._clock()
        with reading(self._sessions) as session:
            client_id = find_client(session, text, self._messages)
            if was_client(session, self.catalog, client_id, year, month, now=now):
                return
            client = session.get_one(Client, client_id)
            since, until = client.added_at, client.removed_at
        zone = self.catalog.zone
        period = (
            self._messages.get("report.client_since", since=since.astimezone(zone).date())
            if until is None
            else self._messages.get(
                "report.client_between",
                since=since.astimezone(zone).date(),
                until=until.astimezone(zone).date(),
            )
        )
        raise UserFacingError(
            "report.not_a_client_then",
            client=client_id,
            month=self._messages.month(year, month),
            period=period,
        )

    def post_monthly_reports_if_due(self, now: datetime) -> list[str]:
        """Queue in the alert channel, oldest first, each month's summary that is due (09:00 of
        the next month's first business day has come) and was not queued yet, from the month
        after the last one queued (from the install when none was), at most the last
        MONTHLY_CATCH_UP; the months queued by this call (`YYYY-MM`). Nothing when
        policy.monthly_report is off; no month twice, whether by this instance before a restart
        or by another one; none of a month without a client in the catalog (before the
        install). A bot stopped over several month starts posts the months it missed when it
        comes back, not only the last one."""
        if not self.catalog.policy.monthly_report:
            return []
        with reading(self._sessions) as session:
            installed = session.scalar(select(func.min(Client.added_at)))
            months = due_months(self.catalog, installed, now) if installed is not None else []
            keys = {monthly_report_key(*month): month for month in months}
            queued_before = session.scalars(
                select(OutboxMessage.key).where(OutboxMessage.key.in_(sorted(keys)))
            )
            last = max((keys[key] for key in queued_before), default=None)
        months = months[-MONTHLY_CATCH_UP:]  # not a year of them after the policy turned on
        queued: list[str] = []
        for year, month in months:
            # Up to the last one posted: never built again (every run but a month's first).
            if last is not None and (year, month) <= last:
                continue
            if self._queue_monthly_report(year, month, now):
                queued.append(f"{year:04d}-{month:02d}")
        if queued:
            self._wake()
        return queued

    def _queue_monthly_report(self, year: int, month: int, now: datetime) -> bool:
        """Queue one month's summary under its once-only key; False if it was already queued
        (by another instance meanwhile) or if no client was in the catalog that month."""
        key = monthly_report_key(year, month)
        with reading(self._sessions) as session:
            if session.scalar(select(OutboxMessage.id).where(OutboxMessage.key == key)):
                return False
            report = build_month_report(session, self.catalog, year, month, now=now)
        if not report.clients:  # installed since: nothing was watched or called that month
            return False
        text, blocks = to_slack(report, self._messages)
        message = Outbound(
            key=key, text=text, blocks=blocks, channel_id=self.catalog.team.alerts_channel
        )
        with self._sessions.begin() as session:
            return add_message(session, message, now=now)
