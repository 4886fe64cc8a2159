"""A real app on a real store (plugin.store.Store, migrated: a SQLite file, and a PostgreSQL database of
the test session's own), called over HTTP through httpx's ASGI transport; the queue is a list, so a test
sees exactly which event ids were queued."""
from __future__ import annotations

import asyncio
import base64
import json
import time

import httpx
import pytest
from sqlalchemy import func, select

from plugin.settings import Settings
from plugin.sources.webhooks import sign
from plugin.store import Store
from plugin.store.models import Event, SubscriptionState
from plugin.web.app import create_app
from tests.store.databases import database_url, postgres_url  # noqa: F401  (fixtures: each test on both)

BASE = "https://ehr.example.org/fhir"
KEY_NEW, KEY_OLD, KEY_SMALL = b"n" * 32, b"o" * 32, b"s" * 32
CHANNEL = "Bearer sub-t0k"


def whsec(key: bytes) -> str:
    return "whsec_" + base64.b64encode(key).decode()


@pytest.fixture
def settings(tmp_path, database_url):
    env = {
        "DWCODER_HOME": str(tmp_path),
        "DATABASE_URL": database_url,
        "FHIR_BASE_URL": BASE,
        "WEBHOOK_SOURCES": json.dumps({
            "lab": {"secrets": [whsec(KEY_NEW), whsec(KEY_OLD)]},
            "scanner": {"secrets": [whsec(KEY_SMALL)], "max_body_bytes": 2048, "rate": 1},
        }),
        "SUBSCRIPTIONS": json.dumps({"admission": f"Authorization: {CHANNEL}", "open": ""}),
    }
    return Settings.from_env(env, dotenv=None)


@pytest.fixture
def store(settings):
    db = Store.from_settings(settings)
    yield db
    db.dispose()


class Service:
    """The app with its store and queue, and a synchronous HTTP client for it."""

    def __init__(self, settings, store) -> None:
        self.store, self.queued = store, []
        self.app = create_app(settings, store=store, queue_event=self.queued.append)

    def request(self, method: str, url: str, **kw) -> httpx.Response:
        async def go():
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://dwcoder.test") as client:
                return await client.request(method, url, **kw)
        return asyncio.run(go())

    def notify(self, sub: str, body, header: str | None = CHANNEL, **kw) -> httpx.Response:
        headers = {"content-type": "application/fhir+json", **kw.pop("headers", {})}
        if header is not None:
            headers["authorization"] = header
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.request("POST", f"/subscriptions/{sub}", content=raw, headers=headers, **kw)

    def webhook(self, source: str, raw: bytes, content_type: str = "application/fhir+json", key: bytes = KEY_NEW,
                msg_id: str = "msg_1", stamp: int | None = None, **headers) -> httpx.Response:
        stamp = int(time.time()) if stamp is None else stamp
        hs = {"content-type": content_type, "webhook-id": msg_id, "webhook-timestamp": str(stamp),
              "webhook-signature": sign(key, msg_id, stamp, raw), **headers}
        return self.request("POST", f"/webhooks/{source}", content=raw, headers=hs)

    def stored(self) -> int:
        with self.store.sessions() as session:
            return session.scalar(select(func.count()).select_from(Event))

    def events(self) -> list[Event]:
        with self.store.sessions() as session:
            return list(session.scalars(select(Event).order_by(Event.id)))

    def subscription_rows(self) -> int:
        with self.store.sessions() as session:
            return session.scalar(select(func.count()).select_from(SubscriptionState))

    def nothing_kept(self) -> bool:
        return self.stored() == 0 and self.queued == [] and self.subscription_rows() == 0


@pytest.fixture
def service(settings, store):
    return Service(settings, store)


def outcome_of(response: httpx.Response) -> dict:
    assert response.headers["content-type"].startswith("application/fhir+json")
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    return body["issue"][0]
