"""Fixtures of the sign-in tests: a real store (SQLite file and PostgreSQL), the app on a test clock,
users made through plugin.web.auth.users (argon2), browsers that sign in through the real /login form."""
from __future__ import annotations

import itertools

import pytest

from plugin.store import Store
from plugin.web.auth.users import add_user
from tests.store.databases import database_url, postgres_url, settings_for  # noqa: F401
from tests.web.auth.browser import PASSWORD, Browser, Clock, app_of

PRACTICE_A = "http://hl7.org/fhir/sid/us-npi|1111111112"
PRACTICE_B = "http://hl7.org/fhir/sid/us-npi|2222222224"
_names = itertools.count(1)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def auth_settings(tmp_path, database_url):
    return settings_for(database_url, tmp_path, DWCODER_SESSION_IDLE_S="600", DWCODER_SESSION_MAX_S="3600")


@pytest.fixture
def auth_store(auth_settings):
    db = Store.from_settings(auth_settings)
    yield db
    db.dispose()


@pytest.fixture
def app(auth_settings, auth_store, clock):
    return app_of(auth_settings, auth_store, clock)


@pytest.fixture
def make_user(auth_store):
    """make_user(role, practice) -> User with password PASSWORD and a fresh username."""
    def make(role: str = "reviewer", practice: str = PRACTICE_A, username: str | None = None):
        return add_user(auth_store, username or f"user{next(_names)}", PASSWORD, role, practice)
    return make


@pytest.fixture
def browser(app):
    """browser(address="10.0.0.1", https=False) -> a new Browser (own cookies)."""
    def make(address: str = "10.0.0.1", https: bool = False) -> Browser:
        return Browser(app, base_url="https://dwcoder.test" if https else "http://dwcoder.test", address=address)
    return make


@pytest.fixture
def signed_in(make_user, browser):
    """signed_in(role, practice) -> (Browser signed in as a new user of that role and practice, User)."""
    def make(role: str = "reviewer", practice: str = PRACTICE_A, https: bool = False):
        user = make_user(role, practice)
        b = browser(https=https)
        answer = b.sign_in(user.username)
        assert answer.status_code == 303, answer.text
        return b, user
    return make
