"""Unit of work: one transaction per update or job, committed explicitly, rolled back otherwise.

:class:`SqlUnitOfWork` is the SQL implementation of domain.ports.UnitOfWork.
"""
from __future__ import annotations

from types import TracebackType

from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from storage.orm import start_mappers
from storage.repositories.appointments import AppointmentRepository
from storage.repositories.areas import AreaRepository
from storage.repositories.audit import AuditRepository
from storage.repositories.bots import BotRepository
from storage.repositories.capture import CaptureRepository
from storage.repositories.claims import ClaimRepository
from storage.repositories.conversations import ConversationRepository
from storage.repositories.coordination import CoordinationRepository
from storage.repositories.enumerators import EnumeratorRepository
from storage.repositories.families import FamilyRepository
from storage.repositories.fkp import FkpRepository
from storage.repositories.fkp_deliveries import FkpDeliveryRepository
from storage.repositories.inbox import InboxRepository
from storage.repositories.invites import InviteRepository
from storage.repositories.maps import MapRepository
from storage.repositories.privacy import PrivacyRepository
from storage.repositories.questionnaires import QuestionnaireRepository
from storage.repositories.rankings import RankingRepository
from storage.queues import DeliveryRepository, OutboxRepository
from storage.repositories.records import RecordRepository
from storage.repositories.reminders import ReminderRepository
from storage.repositories.retention import RetentionRepository
from storage.repositories.supervision import SupervisionRepository
from storage.repositories.users import UserRepository
from storage.repositories.web import WebRepository


class SqlUnitOfWork:
    """Open with ``with uow:``; nothing is written unless ``commit()`` is called inside."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        start_mappers()
        self._session_factory = session_factory
        self.session: Session | None = None

    def __enter__(self) -> "SqlUnitOfWork":
        session = self._session_factory()
        self.session = session
        self.areas = AreaRepository(session)
        self.users = UserRepository(session)
        self.families = FamilyRepository(session)
        self.enumerators = EnumeratorRepository(session)
        self.appointments = AppointmentRepository(session)
        self.invites = InviteRepository(session)
        self.conversations = ConversationRepository(session)
        self.outbox = OutboxRepository(session)
        self.records = RecordRepository(session)
        self.deliveries = DeliveryRepository(session)
        self.reminders = ReminderRepository(session)
        self.coordination = CoordinationRepository(session)
        self.capture = CaptureRepository(session)
        self.questionnaires = QuestionnaireRepository(session)
        self.supervision = SupervisionRepository(session)
        self.bots = BotRepository(session)
        self.retention = RetentionRepository(session)
        self.inbox = InboxRepository(session)
        self.claims = ClaimRepository(session)

        self.audit = AuditRepository(session)

        self.privacy = PrivacyRepository(session)
        self.rankings = RankingRepository(session)
        self.fkp = FkpRepository(session)
        self.fkp_deliveries = FkpDeliveryRepository(session)
        self.maps = MapRepository(session)
        self.web = WebRepository(session)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        assert self.session is not None
        # close() rolls back whatever was not committed, yet leaves loaded objects readable (a
        # rollback() would expire them), so callers may still show what they just read.
        self.session.close()
        self.session = None

    def commit(self) -> None:
        assert self.session is not None
        self.session.commit()

    def rollback(self) -> None:
        assert self.session is not None
        self.session.rollback()

    def savepoint(self) -> SessionTransaction:
        """A nested transaction: a rule that fails halfway rolls back only its own writes."""
        assert self.session is not None
        return self.session.begin_nested()

    def flush(self) -> None:
        """Send pending writes now, so the database checks its constraints before the next step."""
        assert self.session is not None
        self.session.flush()
