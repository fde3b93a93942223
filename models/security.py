"""Counters and memories that must hold across processes: bind attempts and WeChat nonces."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class BindThrottle(Base):
    """Failed bind attempts against one target (a trainee record, an ID number) or from one
    source (a client address, a chat account), in the current window; a lock once too many.

    In the database rather than in memory so that every server process counts the
    same guesses, and a restart does not hand an attacker a fresh allowance.
    """

    __tablename__ = "bind_throttles"
    __table_args__ = (Index("ix_bind_throttles_window", "window_started_at"),)

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]


class WeChatNonce(Base):
    """A (timestamp, nonce) pair of a signed WeChat callback already accepted: a replay of the
    same URL inside the timestamp window is refused (plaintext mode signs no body)."""

    __tablename__ = "wechat_nonces"
    __table_args__ = (Index("ix_wechat_nonces_seen", "seen_at"),)

    nonce: Mapped[str] = mapped_column(String(96), primary_key=True)  # "<timestamp>:<nonce>"
    # The body first seen with it: WeChat's own retry repeats it; a forged one does not.
    body_sha256: Mapped[str] = mapped_column(String(64))
    seen_at: Mapped[datetime]
