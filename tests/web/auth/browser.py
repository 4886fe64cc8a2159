"""A browser for the tests: the real app (plugin.web.app.create_app on a real Store) over httpx's ASGI
transport, keeping cookies like a browser, on a clock the test moves.

    b = Browser(app_of(settings, store, clock))
    b.sign_in("ana", PASSWORD)          # through the real /login form (its own token, then POST)
    b.csrf()                            # the session's CSRF token (as the pages embed it)
    b.request("POST", "/logout", headers={"X-CSRF-Token": b.csrf()})
"""
from __future__ import annotations

import asyncio
import re

import httpx

from plugin.web.app import create_app
from plugin.web.auth import sessions

PASSWORD = "correct horse battery staple"
_TOKEN_RE = re.compile(r"name=csrf_token value='([^']+)'")


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def app_of(settings, store, clock):
    return create_app(settings, store=store, clock=clock, queue_event=lambda event_id: None)


class Browser:
    def __init__(self, app, base_url: str = "http://dwcoder.test", address: str = "10.0.0.1") -> None:
        self.app, self.base_url, self.address = app, base_url, address
        self.cookies = httpx.Cookies()

    def request(self, method: str, url: str, **kw) -> httpx.Response:
        async def go():
            transport = httpx.ASGITransport(app=self.app, client=(self.address, 50000))
            async with httpx.AsyncClient(transport=transport, base_url=self.base_url, cookies=self.cookies) as client:
                answer = await client.request(method, url, **kw)
                self.cookies = client.cookies
                return answer
        return asyncio.run(go())

    def login_page(self, next_url: str = "/") -> str:
        page = self.request("GET", "/login", params={"next": next_url})
        assert page.status_code == 200
        return _TOKEN_RE.search(page.text).group(1)

    def sign_in(self, username: str, password: str = PASSWORD, next_url: str = "/") -> httpx.Response:
        token = self.login_page(next_url)
        return self.request("POST", "/login", data={"csrf_token": token, "next": next_url, "username": username,
                                                    "password": password})

    def session_cookie(self) -> str:
        https = self.base_url.startswith("https")
        return self.cookies.get(sessions.cookie_name(https), default="") or ""

    def csrf(self) -> str:
        store = self.app.app.state.service.store
        found = sessions.load(store, self.session_cookie(), int(self.app.app.state.service.clock()), 1e9, 1e9)
        assert found is not None, "not signed in"
        return found.csrf
