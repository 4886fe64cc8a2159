"""The reviewer pages over the real app (httpx ASGI transport), on a real store (SQLite file, PostgreSQL),
users signed in through the real /login form (plugin.web.auth)."""
from __future__ import annotations

import itertools
import time

import pytest

from plugin.web.auth.users import add_user
from tests.review import scenario as sc
from tests.store.databases import database_url, postgres_url  # noqa: F401  (fixtures)
from tests.web.auth.browser import PASSWORD, Browser, app_of

OTHER_PRACTICE = "http://hl7.org/fhir/sid/us-npi|2222222224"
_names = itertools.count(1)


@pytest.fixture
def ctx(database_url, tmp_path):
    c = sc.make_ctx(database_url, tmp_path)
    yield c
    c.store.dispose()


@pytest.fixture
def app(ctx):
    return app_of(ctx.settings, ctx.store, time.time)


@pytest.fixture
def reviewer(ctx, app):
    """reviewer(practice=the example's, role="reviewer") -> a Browser signed in as a new user."""
    def make(practice: str = sc.PRACTICE, role: str = "reviewer") -> Browser:
        user = add_user(ctx.store, f"rev{next(_names)}", PASSWORD, role, practice)
        b = Browser(app)
        assert b.sign_in(user.username, next_url="/review").status_code == 303
        b.username = user.username
        return b
    return make
