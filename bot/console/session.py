"""Console sign-in: a signed cookie holding only the token's hash, and CSRF tokens.

The cookie is `base64(json{h: sha256(token), iat}).hmac`; the server keeps no
session table, and since every request resolves the hash to a live account,
revoking the account ends its sessions at once. The CSRF token is an HMAC of
the cookie, so a page from another site can neither read nor forge it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from aiohttp import web

from bot.console.config import get_config
from bot.http import is_https

SESSION_PURPOSE = b"console-session-v1"
CSRF_PURPOSE = b"console-csrf-v1"


def _key(settings: Any, purpose: bytes) -> bytes:
    # Derived from the service's secret so that sessions and ID-card hashes never share a key.
    return hmac.new(settings.hash_key(), purpose, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_cookie(settings: Any, token_hash: str, now: float | None = None) -> str:
    payload = _b64(json.dumps({"h": token_hash, "iat": int(now or time.time())}).encode())
    sig = hmac.new(_key(settings, SESSION_PURPOSE), payload.encode(), hashlib.sha256).hexdigest()
    return f"{payload}.{sig}"


def read_cookie(settings: Any, value: str | None, now: float | None = None) -> str | None:
    """The token hash in a valid, unexpired cookie; None for anything else."""
    if not value or value.count(".") != 1:
        return None
    payload, sig = value.split(".")
    expected = hmac.new(_key(settings, SESSION_PURPOSE), payload.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(sig, expected):
        return None
    try:
        data = json.loads(_unb64(payload))
        token_hash, issued = str(data["h"]), int(data["iat"])
    except (ValueError, KeyError, TypeError):
        return None
    age = (now or time.time()) - issued
    if age < -60 or age > get_config().session_hours * 3600:
        return None
    return token_hash


def csrf_token(settings: Any, cookie_value: str) -> str:
    return hmac.new(_key(settings, CSRF_PURPOSE), cookie_value.encode(), hashlib.sha256).hexdigest()[:40]


def csrf_ok(settings: Any, cookie_value: str | None, sent: str | None) -> bool:
    if not cookie_value or not sent:
        return False
    return hmac.compare_digest(csrf_token(settings, cookie_value), sent)


def set_cookie(response: web.StreamResponse, request: web.Request, value: str) -> None:
    cfg = get_config()
    response.set_cookie(
        cfg.cookie_name,
        value,
        max_age=cfg.session_hours * 3600,
        path="/console",
        httponly=True,
        samesite="Strict",
        secure=is_https(request),  # also behind the TLS proxy named in TRUSTED_PROXIES
    )


def clear_cookie(response: web.StreamResponse) -> None:
    response.del_cookie(get_config().cookie_name, path="/console")
