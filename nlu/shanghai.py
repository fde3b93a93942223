"""The service's local day: relative dates (明天, 下周一) are meant in China time."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")


def today_in_shanghai() -> date:
    return datetime.now(TZ).date()
