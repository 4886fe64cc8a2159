"""`dwcoder doctor`: each configured connection checked; a broken one named with what is wrong."""
from __future__ import annotations

from plugin.commands.doctor import run_checks


def _run(env):
    lines: list[str] = []
    return {name: (ok, detail) for name, ok, detail in run_checks(env, lines.append)}, lines


def test_embedded_defaults_pass(tmp_path):
    results, lines = _run({"DWCODER_HOME": str(tmp_path)})
    assert all(ok for ok, _ in results.values()), lines
    assert set(results) == {"settings", "database", "queue", "FHIR server", "mappings", "sign-in"}
    assert "no password user yet" in results["sign-in"][1]
    assert "local queue" in results["queue"][1] and "embedded store" in results["FHIR server"][1]


def test_real_services_pass(tmp_path, postgres_url, fhir_base_url):
    results, lines = _run({"DWCODER_HOME": str(tmp_path), "DATABASE_URL": postgres_url,
                           "REDIS_URL": "redis://127.0.0.1:6379/12", "FHIR_BASE_URL": fhir_base_url})
    assert all(ok for ok, _ in results.values()), lines
    assert "answers PING" in results["queue"][1] and "answers a ChargeItem read" in results["FHIR server"][1]


def test_each_broken_connection_is_named(tmp_path):
    results, lines = _run({"DWCODER_HOME": str(tmp_path), "DATABASE_URL": "postgresql://postgres:pw@127.0.0.1:1/x",
                           "REDIS_URL": "redis://127.0.0.1:1/0", "FHIR_BASE_URL": "http://127.0.0.1:1/fhir"})
    assert not results["database"][0] and "127.0.0.1:1" in results["database"][1] and "pw" not in results["database"][1]
    assert "OperationalError" in results["database"][1]
    assert not results["queue"][0] and "ConnectionError" in results["queue"][1]
    assert not results["FHIR server"][0] and "EhrUnavailable" in results["FHIR server"][1]
    assert results["mappings"][0]
    assert any(line.startswith("FAIL database") for line in lines)


def test_bad_settings_stop_at_the_settings_line(tmp_path):
    results, lines = _run({"DWCODER_HOME": str(tmp_path), "FHIR_VERSION": "DSTU2"})
    assert results == {"settings": (False, "FHIR_VERSION='DSTU2': expected one of R4, R4B, R5")}


def test_sign_in_check(tmp_path, oidc_provider):
    """issue 9: the password users counted; the OpenID Connect provider reached by discovery, or named when not."""
    from plugin.store import Store
    from plugin.web.auth.users import add_user

    env = {"DWCODER_HOME": str(tmp_path), **oidc_provider.env()}
    store = Store(f"sqlite:///{tmp_path / 'dwcoder.db'}")
    add_user(store, "ana", "a long enough password", "reviewer", "*")
    store.dispose()
    results, lines = _run(env)
    assert results["sign-in"] == (True, f"1 password user(s); OpenID Connect provider {oidc_provider.issuer} answers discovery")
    results, _ = _run({**env, "OIDC_ISSUER": "http://127.0.0.1:1"})
    assert not results["sign-in"][0] and "http://127.0.0.1:1: ProviderUnavailable" in results["sign-in"][1]
    assert oidc_provider.client_secret not in "\n".join(lines)
