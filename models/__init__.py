"""The data model. Importing this package registers every table on `Base.metadata`."""

from models.base import Base, utcnow
from models.binding import BindCode
from models.channels import AccessToken, InboundUpdate, Lease
from models.chat import ChatUser, ConversationState, Message
from models.claims import Claim, ClaimEvent, Rectification
from models.delivery import DeliveryCount, ReminderPlan
from models.handover import Handover, HandoverReply
from models.imports import ImportUpload
from models.outbox import Broadcast, OutboxMessage
from models.people import Institution, Trainee
from models.security import BindThrottle, WeChatNonce
from models.staff import AuditEntry, StaffAccount
from models.training import AttendanceRecord, ClassSession, Enrollment, TrainingClass

__all__ = [
    "AccessToken",
    "AttendanceRecord",
    "AuditEntry",
    "Base",
    "BindCode",
    "BindThrottle",
    "Broadcast",
    "ChatUser",
    "Claim",
    "ClaimEvent",
    "ClassSession",
    "ConversationState",
    "DeliveryCount",
    "Enrollment",
    "Handover",
    "HandoverReply",
    "ImportUpload",
    "InboundUpdate",
    "Institution",
    "Lease",
    "Message",
    "OutboxMessage",
    "Rectification",
    "ReminderPlan",
    "StaffAccount",
    "Trainee",
    "TrainingClass",
    "WeChatNonce",
    "utcnow",
]
