"""Why a message was not delivered, said for the clerk who reads the dead-letter page.

The outbox stores the platform's own words ("Telegram 403: Forbidden: bot
was blocked by the user", "WeChat errcode 45015: response out of time
limit"): right for a log, useless for a county clerk. The first pattern that
matches names the explanation in `config/messages/console.yaml`
(`dead_reasons`); the raw text stays available as technical detail.
"""

from __future__ import annotations

import re

# (reason key, pattern over the stored error), most specific first.
PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (key, re.compile(pattern, re.IGNORECASE))
    for key, pattern in (
        ("withdrawn", r"withdrawn"),
        ("expired", r"session ended|expired"),
        ("blocked", r"blocked|unsubscrib|kicked|deactivated|errcode 4300[4]|errcode 43019|Telegram 403"),
        ("not_found", r"chat not found|peer_id_invalid|errcode 40003|user not found"),
        ("outside_window", r"errcode 4501[5]|errcode 45047|out of time limit|48 ?h"),
        ("rate_limited", r"429|too many|errcode 4501[1]|rate.?limit|flood"),
        ("auth", r"access_token|errcode 4000[1]|errcode 40014|errcode 42001|Telegram 401|unauthori[sz]ed"),
        ("timeout", r"time(d)? ?out|connect|network|reset by peer|cannot reach"),
        ("server_error", r"\b5\d\d\b|server error|system busy|errcode -1\b|bad gateway|unavailable"),
        ("bad_request", r"\b400\b|bad request|errcode \d+|rejected|invalid"),
    )
)


def reason_key(error: str | None) -> str:
    """The key of the explanation for a stored error ("unknown" when nothing fits)."""
    if not error:
        return "unknown"
    for key, pattern in PATTERNS:
        if pattern.search(error):
            return key
    return "unknown"
