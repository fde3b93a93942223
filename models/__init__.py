"""The data model. Importing this package registers every table on `Base.metadata`."""

from models.base import Base, utcnow
from models.chat import ChatUser, ConversationState, Message
from models.claims import Claim, ClaimEvent
from models.outbox import Broadcast, OutboxMessage
from models.people import Institution, Trainee
from models.staff import AuditEntry, StaffAccount
from models.training import AttendanceRecord, ClassSession, Enrollment, TrainingClass

__all__ = [
    "AttendanceRecord",
    "AuditEntry",
    "Base",
    "Broadcast",
    "ChatUser",
    "Claim",
    "ClaimEvent",
    "ClassSession",
    "ConversationState",
    "Enrollment",
    "Institution",
    "Message",
    "OutboxMessage",
    "StaffAccount",
    "Trainee",
    "TrainingClass",
    "utcnow",
]
