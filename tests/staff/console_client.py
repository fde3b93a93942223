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


async def settled(client: TestClient, page: str, status: int, url: str, tries: int = 3000) -> tuple[int, str]:
    """The import page once its check or import has ended (it reloads itself while one runs)."""
    import asyncio

    for _ in range(tries):
        if 'id="import-progress"' not in page:
            return status, page
        await asyncio.sleep(0.05)
        resp = await client.get(url)
        status, page = resp.status, await resp.text()
    raise AssertionError(f"still running: {page}")
