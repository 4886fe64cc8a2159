"""plugin/settings.py: embedded defaults, .env, and errors that name the variable and the bad value."""
from __future__ import annotations

import json

import pytest

from plugin.errors import SettingsError
from plugin.settings import Settings


def test_defaults_are_the_embedded_service(tmp_path):
    s = Settings.from_env({"DWCODER_HOME": str(tmp_path)}, dotenv=None)
    assert s.embedded_queue and s.embedded_ehr
    assert s.database_url == f"sqlite:///{tmp_path / 'dwcoder.db'}"
    assert s.visibility_timeout_s > s.task_time_limit_s


def test_dotenv_is_read_and_the_environment_wins(tmp_path, monkeypatch):
    env_file = tmp_path / ".env"
    env_file.write_text("DWCODER_CLAIM=dental\nFHIR_VERSION=R5\nDWCODER_HOME=/nowhere\n")
    monkeypatch.setenv("DWCODER_CLAIM", "medical")
    monkeypatch.setenv("DWCODER_HOME", str(tmp_path))
    s = Settings.from_env(dotenv=env_file)
    assert (s.claim, s.fhir_version, s.home) == ("medical", "R5", tmp_path)


@pytest.mark.parametrize("name, value, match", [
    ("FHIR_VERSION", "R9", r"FHIR_VERSION='R9': expected one of R4, R4B, R5"),
    ("DWCODER_CLAIM", "vision", r"DWCODER_CLAIM='vision'"),
    ("DATABASE_URL", "mysql://u:pw@h/db", r"DATABASE_URL='mysql://\.\.\.': the scheme must be one of"),
    ("REDIS_URL", "amqp://h", r"REDIS_URL='amqp://\.\.\.'"),
    ("FHIR_BASE_URL", "ftp://ehr/fhir", r"FHIR_BASE_URL='ftp://ehr/fhir'"),
    ("FHIR_BASE_URL", "https://ehr/fhir?x=1", r"no query"),
    ("DWCODER_SETTLE_S", "soon", r"DWCODER_SETTLE_S='soon': expected a number"),
    ("DWCODER_MAX_ATTEMPTS", "0", r"DWCODER_MAX_ATTEMPTS='0': must be at least 1"),
    ("DWCODER_PORT", "80.5", r"DWCODER_PORT='80.5': expected a whole number"),
    ("DWCODER_PRACTICE", "a|b|c", r"DWCODER_PRACTICE='a\|b\|c'"),
    ("DWCODER_MAPPINGS", "/no/such/folder", r"'/no/such/folder' is not a folder"),
    ("WEBHOOK_SOURCES", "{nope", r"WEBHOOK_SOURCES: not valid JSON"),
    ("WEBHOOK_SOURCES", json.dumps({"lab": []}), r"WEBHOOK_SOURCES\['lab'\]"),
    ("SUBSCRIPTIONS", json.dumps({"s1": 5}), r"SUBSCRIPTIONS\['s1'\]"),
    ("FHIR_AUTH", "bearer", r"FHIR_AUTH='bearer' needs FHIR_BASE_URL"),
    ("DWCODER_LOG_LEVEL", "loud", r"DWCODER_LOG_LEVEL='LOUD'"),
    ("DWCODER_QUEUE", "my queue", r"DWCODER_QUEUE='my queue'"),
])
def test_a_bad_value_names_the_variable_and_the_value(name, value, match, tmp_path):
    with pytest.raises(SettingsError, match=match):
        Settings.from_env({"DWCODER_HOME": str(tmp_path), name: value}, dotenv=None)


def test_visibility_timeout_must_exceed_the_task_time_limit(tmp_path):
    with pytest.raises(SettingsError, match=r"DWCODER_VISIBILITY_TIMEOUT_S=60 must be longer than DWCODER_TASK_TIME_LIMIT_S=120"):
        Settings.from_env({"DWCODER_VISIBILITY_TIMEOUT_S": "60"}, dotenv=None)


def test_secrets_are_never_repeated_in_errors(tmp_path):
    with pytest.raises(SettingsError) as err:
        Settings.from_env({"WEBHOOK_SOURCES": json.dumps({"lab": ["", "whsec_topsecret"]})}, dotenv=None)
    assert "topsecret" not in str(err.value)
    with pytest.raises(SettingsError) as err:
        Settings.from_env({"FHIR_BASE_URL": "https://ehr/fhir", "FHIR_AUTH": "smart", "SMART_TOKEN_URL": "https://ehr/token",
                           "SMART_CLIENT_ID": "c", "SMART_PRIVATE_KEY": "/no/such/key.pem"}, dotenv=None)
    assert "SMART_PRIVATE_KEY" in str(err.value) and "/no/such" not in str(err.value)
    assert "s3cr3t" not in repr(Settings.from_env({"FHIR_BASE_URL": "https://ehr/fhir", "FHIR_AUTH": "bearer",
                                                   "FHIR_BEARER_TOKEN": "s3cr3t"}, dotenv=None))
