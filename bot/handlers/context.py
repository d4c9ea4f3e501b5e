"""What the listeners need, built once by the composition root."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.handlers.access import Authorizer
from bot.messages import Messages
from bot.services.tickets import TicketService


@dataclass(frozen=True)
class HandlerContext:
    tickets: TicketService
    authorizer: Authorizer
    messages: Messages
    sessions: sessionmaker[Session]
    clock: Callable[[], datetime]
    wake: Callable[[], None]
