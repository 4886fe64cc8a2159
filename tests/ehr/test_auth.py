"""SMART Backend Services and static bearer tokens, against the test server's real token endpoint.

The token endpoint (server.js, Node's crypto) verifies the client assertion's signature with the public
key registered for the client, its aud, exp (at most 5 minutes ahead), kid and jti (no replay); the FHIR
routes then want a bearer token it issued and that has not expired.
"""
from __future__ import annotations

import logging
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from plugin.ehr import FhirClient, SmartBackendAuth, StaticBearer, client_from_settings
from plugin.errors import ConfigError, EhrRefused
from tests.ehr.charges import charge_item


def _pem(key) -> tuple[str, str]:
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


@pytest.fixture(scope="module")
def rsa_key():
    return _pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))


@pytest.fixture(scope="module")
def ec_key():
    return _pem(ec.generate_private_key(ec.SECP384R1()))


def _register(server, public: str, lifetime: int = 300, client_id: str = "dwcoder", kid: str = "k1") -> None:
    server.control("POST", "$auth", {"clients": [{"client_id": client_id, "public_key_pem": public, "kid": kid}],
                                     "token_lifetime": lifetime})


@pytest.mark.parametrize(("alg", "key"), [("RS384", "rsa_key"), ("ES384", "ec_key")])
def test_smart_backend_auth_gets_one_token_and_reuses_it(fhir_server, request, alg, key, caplog):
    private, public = request.getfixturevalue(key)
    _register(fhir_server, public)
    auth = SmartBackendAuth(f"{fhir_server.root}/auth/token", "dwcoder", private, "k1", alg=alg)
    caplog.set_level(logging.DEBUG)
    with FhirClient(fhir_server.base_url, auth) as c:
        for n in range(5):
            assert c.upsert_charge_item(charge_item(n)).outcome == "created"
        assert len(c.search("ChargeItem", {"status": "planned"})) == 5
    assert fhir_server.stats()["token_requests"] == 1
    assert auth._token and auth._token not in caplog.text


def test_token_endpoint_is_discovered_from_smart_configuration(fhir_server, rsa_key):
    _register(fhir_server, rsa_key[1])
    auth = SmartBackendAuth(None, "dwcoder", rsa_key[0], "k1")
    with FhirClient(fhir_server.base_url, auth) as c:
        assert c.read("Procedure/none") is None
    assert auth.token_url == f"{fhir_server.root}/auth/token"
    assert fhir_server.stats()["token_requests"] == 1


def test_token_is_renewed_shortly_before_it_expires(fhir_server, rsa_key):
    _register(fhir_server, rsa_key[1], lifetime=2)
    auth = SmartBackendAuth(f"{fhir_server.root}/auth/token", "dwcoder", rsa_key[0], "k1")
    with FhirClient(fhir_server.base_url, auth) as c:
        c.read("Procedure/none")
        c.read("Procedure/none")
        assert fhir_server.stats()["token_requests"] == 1
        time.sleep(2.0)
        c.read("Procedure/none")
    assert fhir_server.stats()["token_requests"] == 2


def test_a_token_revoked_early_is_renewed_once(fhir_server, rsa_key):
    _register(fhir_server, rsa_key[1])
    auth = SmartBackendAuth(f"{fhir_server.root}/auth/token", "dwcoder", rsa_key[0], "k1")
    with FhirClient(fhir_server.base_url, auth) as c:
        c.read("Procedure/none")
        _register(fhir_server, rsa_key[1])   # the server forgets every token it issued
        assert c.read("Procedure/none") is None
    assert fhir_server.stats()["token_requests"] == 2


def test_the_assertion_follows_smart(rsa_key):
    auth = SmartBackendAuth("https://ehr.example/token", "dwcoder", rsa_key[0], "k1")
    first, second = auth.assertion("https://ehr.example/token"), auth.assertion("https://ehr.example/token")
    header = jwt.get_unverified_header(first)
    claims = jwt.decode(first, rsa_key[1], algorithms=["RS384"], audience="https://ehr.example/token")
    assert (header["alg"], header["kid"], header["typ"]) == ("RS384", "k1", "JWT")
    assert claims["iss"] == claims["sub"] == "dwcoder"
    assert 0 < claims["exp"] - time.time() <= 300
    assert claims["jti"] != jwt.decode(second, options={"verify_signature": False})["jti"]


def test_a_key_the_server_does_not_know_is_refused(fhir_server, rsa_key):
    _register(fhir_server, rsa_key[1])
    other, _ = _pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    auth = SmartBackendAuth(f"{fhir_server.root}/auth/token", "dwcoder", other, "k1")
    with FhirClient(fhir_server.base_url, auth) as c:
        with pytest.raises(EhrRefused, match="token endpoint refused the client .401 invalid_client: bad signature"):
            c.read("Procedure/none")


def test_wrong_kid_is_refused(fhir_server, rsa_key):
    _register(fhir_server, rsa_key[1])
    auth = SmartBackendAuth(f"{fhir_server.root}/auth/token", "dwcoder", rsa_key[0], "k2")
    with FhirClient(fhir_server.base_url, auth) as c, pytest.raises(EhrRefused, match="unknown kid"):
        c.read("Procedure/none")


def test_a_key_of_the_wrong_kind_is_a_config_error(rsa_key, ec_key):
    with pytest.raises(ConfigError, match="ES384' needs a P-384 EC private key"):
        SmartBackendAuth(None, "dwcoder", rsa_key[0], "k1", alg="ES384")
    with pytest.raises(ConfigError, match="RS384' needs an RSA private key"):
        SmartBackendAuth(None, "dwcoder", ec_key[0], "k1", alg="RS384")
    with pytest.raises(ConfigError, match="not an unencrypted PEM private key .the value is not shown"):
        SmartBackendAuth(None, "dwcoder", "-----BEGIN PRIVATE KEY-----\nsecret\n", "k1")


def test_without_a_token_the_server_refuses(fhir_server, rsa_key):
    _register(fhir_server, rsa_key[1])
    with FhirClient(fhir_server.base_url) as c, pytest.raises(EhrRefused, match=r"\(401\).*missing or unknown bearer"):
        c.read("Procedure/none")
    with FhirClient(fhir_server.base_url, StaticBearer("not-issued")) as c, pytest.raises(EhrRefused, match=r"\(401\)"):
        c.read("Procedure/none")


def test_static_bearer_sends_its_token(fhir_server, rsa_key):
    _register(fhir_server, rsa_key[1])
    smart = SmartBackendAuth(f"{fhir_server.root}/auth/token", "dwcoder", rsa_key[0], "k1")
    with FhirClient(fhir_server.base_url, smart) as c:
        c.read("Procedure/none")
    with FhirClient(fhir_server.base_url, StaticBearer(smart._token)) as c:
        assert c.upsert_charge_item(charge_item(1)).outcome == "created"
    assert "not-issued" not in repr(StaticBearer("not-issued"))


def test_client_from_settings(fhir_server, ec_key, tmp_path):
    from plugin.settings import Settings
    assert client_from_settings(Settings.from_env({"DWCODER_HOME": str(tmp_path)}, dotenv=None)) is None
    _register(fhir_server, ec_key[1])
    env = {"DWCODER_HOME": str(tmp_path), "FHIR_BASE_URL": fhir_server.base_url, "FHIR_AUTH": "smart",
           "SMART_TOKEN_URL": f"{fhir_server.root}/auth/token", "SMART_CLIENT_ID": "dwcoder",
           "SMART_PRIVATE_KEY": ec_key[0], "SMART_KID": "k1", "SMART_ALG": "ES384"}
    with client_from_settings(Settings.from_env(env, dotenv=None)) as c:
        assert c.upsert_charge_item(charge_item(1)).outcome == "created"
    assert fhir_server.stats()["token_requests"] == 1
