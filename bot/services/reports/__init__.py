"""Monthly SLA reports: built from the database as typed values, rendered as text, CSV or JSON.

values: what a report holds; build: from the database; formats: JSON, CSV, text, Slack;
service: `/sla report`, the monthly post.

Rules (see docs/reports.md):
- A month is a calendar month in the catalog's zone; a ticket belongs to the month of its call.
- A breach's credit belongs to the month of its deadline; the monthly cap applies to every
  breach of that month in chronological order (a call registered after its deadline: from its
  registration), whatever the state of its credit, so a granted amount never changes when
  another credit is later declined or recorded late.
- Availability is 1 - downtime / measured time, outages clipped to the month; the measured time
  is the whole month once it is over, the elapsed part of it before.
- Figures are read at the report's `now`: a clock still running past its deadline is breached.
"""

from bot.services.reports.build import (
    build_month_report,
    credit_line,
    find_client,
    month_credit_lines,
)
from bot.services.reports.formats import CSV_COLUMNS, to_csv, to_json, to_slack, to_text
from bot.services.reports.service import (
    ReportService,
    first_business_day,
    monthly_report_key,
    previous_month,
)
from bot.services.reports.values import (
    ClientReport,
    ClockLine,
    CreditLine,
    MonthReport,
    OutageLine,
    PauseLine,
    ServerAvailability,
    StateTotal,
    TicketLine,
)

__all__ = [
    "CSV_COLUMNS",
    "ClientReport",
    "ClockLine",
    "CreditLine",
    "MonthReport",
    "OutageLine",
    "PauseLine",
    "ReportService",
    "ServerAvailability",
    "StateTotal",
    "TicketLine",
    "build_month_report",
    "credit_line",
    "find_client",
    "first_business_day",
    "month_credit_lines",
    "monthly_report_key",
    "previous_month",
    "to_csv",
    "to_json",
    "to_slack",
    "to_text",
]
