"""CDS Hooks test set-up: a test key set served by a real JWKS endpoint on loopback, an EHR that signs its
requests as the CDS Hooks 2.0 specification says (header alg/kid/typ/jku; payload iss/aud/exp/iat/jti/tenant),
and the real app on a real store, called over HTTP (httpx's ASGI transport).

Keys: an RS384 (RSA 2048) and an ES384 (P-384) key of the trusted EHR, plus the specification's own example
EC key ("example-kid", from the JWT example of the Trusting CDS Clients section), and a stranger's key served
at a URL that is NOT allow-listed.
"""
from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from plugin.settings import Settings
from plugin.store import Store
from plugin.web.app import create_app
from tests.store.databases import database_url, postgres_url  # noqa: F401  (fixtures)

CDS_BASE = "https://cds.example.org"
ISSUER = "https://fhir-ehr.example.com/"
PRACTICE = "http://hl7.org/fhir/sid/us-npi|1234567893"
# The specification's example EC private key (CDS Hooks 2.0, Trusting CDS Clients, "Example").
SPEC_JWK = {"kty": "EC", "d": "SeFXUXda8UomZ8GFUl7HH_Oi15rIbfMcsWj9ecIsDR8kLbqsEz2CGNgwy_IcILxy", "use": "sig",
            "crv": "P-384", "kid": "example-kid", "x": "46SDH7Znh821wblCBglA61sNE9ZrHYKKt3qRtRTmSXyOI_FIGBLWrWa0GPUkDCEk",
            "y": "XMcRuuoGW7CXjQdy-F5i3FeBE0x9hPLdeFdSoDd3ELmx404tLX0VRRcqzAsPhXcI", "alg": "ES384"}


class Keys:
    def __init__(self) -> None:
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP384R1())
        self.stranger = ec.generate_private_key(ec.SECP384R1())
        self.spec = jwt.PyJWK(SPEC_JWK, algorithm="ES384").key

    @staticmethod
    def public(key, kid: str, alg: str) -> dict:
        algo = jwt.algorithms.RSAAlgorithm if alg.startswith("RS") else jwt.algorithms.ECAlgorithm
        jwk = json.loads(algo.to_jwk(key.public_key()))
        return {**jwk, "kid": kid, "alg": alg, "use": "sig"}

    def trusted_set(self) -> dict:
        spec_public = {k: v for k, v in SPEC_JWK.items() if k != "d"}
        return {"keys": [self.public(self.rsa, "rsa-1", "RS384"), self.public(self.ec, "ec-1", "ES384"), spec_public]}

    def stranger_set(self) -> dict:
        return {"keys": [self.public(self.stranger, "ec-1", "ES384")]}


class JwksServer:
    """A real HTTP server on 127.0.0.1 serving JWK Sets; counts requests per path."""

    def __init__(self, sets: dict[str, dict]) -> None:
        self.sets = sets
        self.hits: dict[str, int] = {}
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                owner.hits[self.path] = owner.hits.get(self.path, 0) + 1
                body = owner.sets.get(self.path)
                data = json.dumps(body).encode() if body is not None else b"{}"
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="session")
def keys() -> Keys:
    return Keys()


@pytest.fixture(scope="session")
def jwks(keys):
    server = JwksServer({"/jwk_uri": keys.trusted_set(), "/stranger/jwks": keys.stranger_set()})
    yield server
    server.close()


class Ehr:
    """Signs requests as a CDS Client does (defaults: the spec's example header and payload, fresh times)."""

    def __init__(self, keys: Keys, jwks: JwksServer) -> None:
        self.keys, self.jwks = keys, jwks

    def token(self, aud: str, *, key=None, kid: str = "ec-1", alg: str = "ES384", iss: str = ISSUER,
              jku: str | None = "default", exp_in: int = 300, iat_ago: int = 0, jti: str | None = None,
              **extra) -> str:
        now = int(time.time())
        header = {"typ": "JWT", "kid": kid}
        if jku == "default":
            jku = self.jwks.url("/jwk_uri")
        if jku:
            header["jku"] = jku
        payload = {"iss": iss, "aud": aud, "exp": now - iat_ago + exp_in, "iat": now - iat_ago,
                   "jti": jti or str(uuid.uuid4()), "tenant": "2ddd6c3a-8e9a-44c6-a305-52111ad302a2", **extra}
        signing = key if key is not None else (self.keys.rsa if alg == "RS384" else self.keys.ec)
        return jwt.encode(payload, signing, algorithm=alg, headers=header)

    def headers(self, aud_path: str, **kw) -> dict:
        return {"authorization": f"Bearer {self.token(CDS_BASE + aud_path, **kw)}", "content-type": "application/json"}


@pytest.fixture
def ehr(keys, jwks) -> Ehr:
    return Ehr(keys, jwks)


def cds_env(tmp_path, database_url: str, jwks: JwksServer, fhir_servers: list[str] | None = None, **more) -> dict:
    issuer = {"jwks_urls": [jwks.url("/jwk_uri")]}
    if fhir_servers is not None:
        issuer["fhir_servers"] = fhir_servers
    return {"DWCODER_HOME": str(tmp_path), "DATABASE_URL": database_url, "DWCODER_PRACTICE": PRACTICE,
            "DWCODER_SETTLE_S": "0", "CDS_BASE_URL": CDS_BASE, "CDS_ISSUERS": json.dumps({ISSUER: issuer}), **more}


@pytest.fixture
def settings(tmp_path, jwks):
    return Settings.from_env(cds_env(tmp_path, f"sqlite:///{tmp_path / 'dwcoder.db'}", jwks), dotenv=None)


class Service:
    """The app with its store and a list as its queue; a synchronous HTTP client for it."""

    def __init__(self, settings, store) -> None:
        self.settings, self.store, self.queued = settings, store, []
        self.app = create_app(settings, store=store, queue_event=self.queued.append)

    def request(self, method: str, url: str, **kw) -> httpx.Response:
        async def go():
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://dwcoder.test") as client:
                return await client.request(method, url, **kw)
        return asyncio.run(go())

    def hook(self, ehr: Ehr, service_id: str, body: dict, **token) -> httpx.Response:
        path = f"/cds-services/{service_id}"
        return self.request("POST", path, content=json.dumps(body).encode(), headers=ehr.headers(path, **token))

    def feedback(self, ehr: Ehr, service_id: str, body: dict) -> httpx.Response:
        path = f"/cds-services/{service_id}/feedback"
        return self.request("POST", path, content=json.dumps(body).encode(), headers=ehr.headers(path))


@pytest.fixture
def service(settings):
    store = Store.from_settings(settings)
    yield Service(settings, store)
    store.dispose()


def outcome_of(response: httpx.Response) -> dict:
    assert response.headers["content-type"].startswith("application/fhir+json")
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    return body["issue"][0]
