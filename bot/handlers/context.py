"""What the listeners need, built once by the composition root."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.handlers.access import Authorizer
from bot.messages import Messages
from bot.services.alerts import AlertService
from bot.services.credits import CreditService
from bot.services.reports import ReportService
from bot.services.tickets import TicketService


@dataclass(frozen=True)
class HandlerContext:
    tickets: TicketService
    alerts: AlertService
    reports: ReportService
    credits: CreditService
    authorizer: Authorizer
    messages: Messages
    sessions: sessionmaker[Session]
    clock: Callable[[], datetime]
    wake: Callable[[], None]
