"""`dwcoder users add|reset|list` as a process on a real database: the password from stdin (never argv),
the hash is argon2id, a reset ends the user's sessions and the new password signs in."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import select

from plugin.store import Store
from plugin.store.auth import AuthSession, UserRow
from plugin.web.auth import sessions, users
from tests.store.databases import database_url, postgres_url  # noqa: F401

PRACTICE = "http://hl7.org/fhir/sid/us-npi|1111111112"
SECRET = "a long enough secret phrase"


def sqlite(home) -> str:
    """Refusals need no second database kind (each run is a process: keep the suite's time down)."""
    return f"sqlite:///{home / 'dwcoder.db'}"


def run(home, url, *args, stdin: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "DWCODER_HOME": str(home), "DATABASE_URL": url}
    return subprocess.run([sys.executable, "-m", "plugin.cli", "users", *args], input=stdin, capture_output=True,
                          text=True, env=env, timeout=120, cwd=home)


def test_add_list_reset(tmp_path, database_url):
    added = run(tmp_path, database_url, "add", "ana", "--practice", PRACTICE, "--password-stdin", stdin=SECRET + "\n")
    assert added.returncode == 0, added.stderr
    assert SECRET not in added.stdout + added.stderr
    store = Store(database_url)
    try:
        with store.sessions() as db:
            row = db.scalar(select(UserRow).where(UserRow.username == "ana"))
        assert row.password_hash.startswith("$argon2id$") and row.role == "reviewer" and row.practice == PRACTICE
        assert users.password_sign_in(store, "ana", SECRET) is not None
        token, _ = sessions.create(store, row.id, 1000)

        listed = run(tmp_path, database_url, "list")
        assert listed.returncode == 0 and "ana" in listed.stdout and PRACTICE in listed.stdout
        assert "$argon2" not in listed.stdout

        reset = run(tmp_path, database_url, "reset", "ana", "--role", "admin", "--password-stdin",
                    stdin="another long secret phrase\n")
        assert reset.returncode == 0, reset.stderr
        assert sessions.load(store, token, 1001, 600, 3600) is None           # the session ended
        assert users.password_sign_in(store, "ana", SECRET) is None
        assert users.password_sign_in(store, "ana", "another long secret phrase").role == "admin"

        disabled = run(tmp_path, database_url, "reset", "ana", "--disable", "--keep-password")
        assert disabled.returncode == 0
        assert users.password_sign_in(store, "ana", "another long secret phrase") is None
    finally:
        store.dispose()


@pytest.mark.parametrize("args, stdin, message", [
    (("add", "bo", "--practice", PRACTICE, "--password-stdin"), "short\n", "at least 12 characters"),
    (("add", "bo", "--practice", "no-bar", "--password-stdin"), SECRET + "\n", "expected SYSTEM|VALUE"),
    (("add", "b o", "--practice", PRACTICE, "--password-stdin"), SECRET + "\n", "no spaces"),
    (("reset", "nobody", "--password-stdin"), SECRET + "\n", "no user 'nobody'"),
])
def test_bad_input_is_named(tmp_path, args, stdin, message):
    answer = run(tmp_path, sqlite(tmp_path), *args, stdin=stdin)
    assert answer.returncode == 1 and message in answer.stderr
    assert SECRET not in answer.stderr and "short" not in answer.stderr  # the password is never repeated


def test_a_password_on_the_command_line_is_refused(tmp_path):
    answer = run(tmp_path, sqlite(tmp_path), "add", "cy", "--practice", PRACTICE, "--password", SECRET)
    assert answer.returncode == 2 and "unrecognized arguments" in answer.stderr


def test_the_same_name_twice_is_refused(tmp_path):
    assert run(tmp_path, sqlite(tmp_path), "add", "di", "--practice", "*", "--password-stdin", stdin=SECRET).returncode == 0
    again = run(tmp_path, sqlite(tmp_path), "add", "di", "--practice", "*", "--password-stdin", stdin=SECRET)
    assert again.returncode == 1 and "exists already" in again.stderr
