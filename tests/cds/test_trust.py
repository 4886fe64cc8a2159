"""Trusting the CDS Client (CDS Hooks 2.0): every refusal is a 401 OperationOutcome and leaves nothing behind."""
import json
import time

import jwt
import pytest

from plugin.errors import SourceRefused
from plugin.settings import Settings
from tests.cds.conftest import CDS_BASE, ISSUER, cds_env, outcome_of

DISCOVERY = "/cds-services"


def test_discovery_with_the_spec_example_token(service, ehr, keys):
    # the specification's example header + payload (kid "example-kid", ES384, tenant) with fresh times
    r = service.request("GET", DISCOVERY, headers=ehr.headers(DISCOVERY, key=keys.spec, kid="example-kid"))
    assert r.status_code == 200
    assert {s["hook"] for s in r.json()["services"]} == {"encounter-discharge", "order-sign", "appointment-book"}


@pytest.mark.parametrize("alg,kid", [("RS384", "rsa-1"), ("ES384", "ec-1")])
def test_both_recommended_algorithms_are_accepted(service, ehr, alg, kid):
    assert service.request("GET", DISCOVERY, headers=ehr.headers(DISCOVERY, alg=alg, kid=kid)).status_code == 200


def _refused(service, headers, words: str):
    r = service.request("GET", DISCOVERY, headers=headers)
    assert r.status_code == 401, r.text
    issue = outcome_of(r)
    assert issue["code"] == "security" and words in issue["diagnostics"], issue
    return issue


def test_no_token(service):
    _refused(service, {}, "Authorization: Bearer")


def test_bad_signature(service, ehr, keys):
    # signed by a stranger's key under the trusted kid
    _refused(service, ehr.headers(DISCOVERY, key=keys.stranger), "signature does not verify")


def test_tampered_payload(service, ehr):
    head, payload, sig = ehr.token(CDS_BASE + DISCOVERY).split(".")
    claims = json.loads(jwt.utils.base64url_decode(payload))
    claims["tenant"] = "someone-else"
    forged = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    _refused(service, {"authorization": f"Bearer {head}.{forged}.{sig}"}, "signature does not verify")


def test_expired(service, ehr):
    _refused(service, ehr.headers(DISCOVERY, exp_in=60, iat_ago=600), "expired")


def test_issued_in_the_future(service, ehr):
    _refused(service, ehr.headers(DISCOVERY, iat_ago=-600), "iat is in the future")


def test_lifetime_over_the_limit(service, ehr):
    _refused(service, ehr.headers(DISCOVERY, exp_in=86400), "lifetime")


def test_replayed_jti(service, ehr):
    headers = ehr.headers(DISCOVERY, jti="ee22b021-e1b7-4611-ba5b-8eec6a33ac1e")
    assert service.request("GET", DISCOVERY, headers=headers).status_code == 200
    _refused(service, headers, "replayed")
    # the same jti in a NEW token (other exp) is still a replay
    _refused(service, ehr.headers(DISCOVERY, jti="ee22b021-e1b7-4611-ba5b-8eec6a33ac1e", exp_in=200), "replayed")


def test_wrong_audience(service, ehr):
    wrong = ehr.token(CDS_BASE + "/cds-services/dwcoder-order-sign")   # another endpoint of this service
    _refused(service, {"authorization": f"Bearer {wrong}"}, "aud")
    other_host = ehr.token("https://elsewhere.example.org/cds-services")
    _refused(service, {"authorization": f"Bearer {other_host}"}, "aud")


def test_unknown_issuer_is_refused_before_any_key_is_fetched(service, ehr, jwks):
    before = dict(jwks.hits)
    _refused(service, ehr.headers(DISCOVERY, iss="https://evil.example.com/", jku=jwks.url("/stranger/jwks"),
                                  key=ehr.keys.stranger), "unknown issuer")
    assert jwks.hits == before


def test_jku_not_allow_listed_is_never_fetched(service, ehr, jwks):
    before = jwks.hits.get("/stranger/jwks", 0)
    _refused(service, ehr.headers(DISCOVERY, jku=jwks.url("/stranger/jwks"), key=ehr.keys.stranger), "jku")
    assert jwks.hits.get("/stranger/jwks", 0) == before


def test_without_jku_the_allow_listed_jwks_is_used(service, ehr):
    assert service.request("GET", DISCOVERY, headers=ehr.headers(DISCOVERY, jku=None)).status_code == 200


def test_unknown_kid(service, ehr):
    _refused(service, ehr.headers(DISCOVERY, kid="nope"), "kid")


@pytest.mark.parametrize("alg", ["HS384", "none"])
def test_symmetric_and_unsigned_tokens_are_refused(service, alg):
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": CDS_BASE + DISCOVERY, "exp": now + 60, "iat": now, "jti": "x"}
    token = jwt.encode(claims, "s" * 64 if alg != "none" else None, algorithm=alg,
                       headers={"kid": "ec-1"})
    _refused(service, {"authorization": f"Bearer {token}"}, "asymmetric keys only")


def test_missing_claims(service, ehr, keys):
    now = int(time.time())
    token = jwt.encode({"iss": ISSUER, "aud": CDS_BASE + DISCOVERY, "exp": now + 60, "iat": now}, keys.ec,
                       algorithm="ES384", headers={"kid": "ec-1"})
    _refused(service, {"authorization": f"Bearer {token}"}, "jti")


def test_jwks_is_cached(service, ehr, jwks):
    before = jwks.hits.get("/jwk_uri", 0)
    for _ in range(3):
        assert service.request("GET", DISCOVERY, headers=ehr.headers(DISCOVERY)).status_code == 200
    assert jwks.hits.get("/jwk_uri", 0) - before <= 1


def test_no_issuers_configured_refuses_everything(tmp_path, jwks, ehr):
    from tests.cds.conftest import Service
    from plugin.store import Store

    env = cds_env(tmp_path, f"sqlite:///{tmp_path / 'x.db'}", jwks)
    del env["CDS_ISSUERS"]
    settings = Settings.from_env(env, dotenv=None)
    store = Store.from_settings(settings)
    try:
        _refused(Service(settings, store), ehr.headers(DISCOVERY), "unknown issuer")
    finally:
        store.dispose()


@pytest.mark.parametrize("value,words", [
    ('{"iss": 5}', "expected a JWKS URL"),
    ('{"iss": {"jwks_urls": ["ftp://x/jwks"]}}', "scheme"),
    ('{"iss": {"jwks_urls": []}}', "no jwks_urls"),
    ('[1]', "neither JSON"),
])
def test_bad_issuer_settings_name_the_variable(tmp_path, value, words):
    with pytest.raises(Exception, match="CDS_ISSUERS") as info:
        Settings.from_env({"DWCODER_HOME": str(tmp_path), "CDS_ISSUERS": value}, dotenv=None)
    assert words in str(info.value)


def test_bearer_parsing():
    from plugin.cds.trust import bearer

    with pytest.raises(SourceRefused, match="Bearer"):
        bearer("Basic abc")
    assert bearer("Bearer a.b.c") == "a.b.c"
