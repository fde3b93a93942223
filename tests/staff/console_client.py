"""Signing in to the console the way a browser does: fetch the form, post the token."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient

NONCE = re.compile(r'name="nonce" value="([^"]+)"')
CSRF = re.compile(r'name="_csrf" value="([^"]+)"')


async def sign_in(client: TestClient, token: str) -> str:
    """Sign in; returns the CSRF token of the session."""
    page = await (await client.get("/console/login")).text()
    nonce = NONCE.search(page)
    assert nonce, page
    resp = await client.post(
        "/console/login", data={"token": token, "nonce": nonce.group(1)}, allow_redirects=False
    )
    assert resp.status == 303, await resp.text()
    home = await (await client.get("/console/")).text()
    csrf = CSRF.search(home)
    assert csrf, home
    return csrf.group(1)
