"""The sign-in settings (plugin/settings.py, issue 9 block): defaults, OIDC needs, bad values named."""
from __future__ import annotations

import pytest

from plugin.errors import SettingsError
from plugin.settings import Settings

OIDC = {"OIDC_ISSUER": "https://login.example.org/realms/clinic", "OIDC_CLIENT_ID": "dwcoder",
        "OIDC_CLIENT_SECRET": "very-secret-value-123", "OIDC_REDIRECT_URL": "https://dwcoder.example.org/login/oidc/callback"}


def load(tmp_path, **env) -> Settings:
    return Settings.from_env({"DWCODER_HOME": str(tmp_path), **env}, dotenv=None)


def test_defaults(tmp_path):
    s = load(tmp_path)
    assert (s.login, s.session_idle_s, s.session_max_s) == ("password", 1800.0, 43200.0)
    assert load(tmp_path, **OIDC).login == "oidc"
    assert load(tmp_path, DWCODER_LOGIN="both", **OIDC).login == "both"


def test_the_secret_is_never_shown(tmp_path):
    s = load(tmp_path, **OIDC)
    assert "very-secret-value-123" not in repr(s)


@pytest.mark.parametrize("env, message", [
    ({"DWCODER_LOGIN": "oidc"}, "needs OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_REDIRECT_URL"),
    ({**OIDC, "OIDC_CLIENT_SECRET": ""}, "needs OIDC_CLIENT_SECRET"),
    ({**OIDC, "OIDC_ISSUER": "http://login.example.org"}, "OIDC_ISSUER='http://login.example.org': must be https"),
    ({**OIDC, "OIDC_REDIRECT_URL": "ftp://x/cb"}, "OIDC_REDIRECT_URL"),
    ({**OIDC, "OIDC_SCOPES": "profile email"}, "must include openid"),
    ({**OIDC, "OIDC_ROLE_VALUES": '{"staff": "owner"}'}, "OIDC_ROLE_VALUES['staff']='owner'"),
    ({**OIDC, "OIDC_PRACTICE": "1234"}, "OIDC_PRACTICE='1234'"),
    ({"DWCODER_LOGIN": "ldap"}, "DWCODER_LOGIN='ldap'"),
    ({"DWCODER_SESSION_IDLE_S": "7200", "DWCODER_SESSION_MAX_S": "3600"}, "DWCODER_SESSION_MAX_S=3600 must be at least"),
    ({"DWCODER_SESSION_IDLE_S": "soon"}, "DWCODER_SESSION_IDLE_S='soon'"),
])
def test_bad_values_are_named(tmp_path, env, message):
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace("[", r"\[").replace("|", r"\|")) as raised:
        load(tmp_path, **env)
    assert "very-secret-value-123" not in str(raised.value)


def test_http_issuer_on_loopback_is_allowed_for_tests(tmp_path):
    s = load(tmp_path, **{**OIDC, "OIDC_ISSUER": "http://127.0.0.1:4000", "OIDC_REDIRECT_URL": "http://127.0.0.1:8000/login/oidc/callback"})
    assert s.oidc_issuer == "http://127.0.0.1:4000"
