"""pytest fixture: a real OpenID Connect provider (server.mjs: panva's oidc-provider) on a spare loopback port.

    oidc_provider   (session) an OidcProvider: .issuer, .client_id, .client_secret, .redirect_uri, USERS

One process serves the test session; it is stopped (SIGTERM, then SIGKILL) at the end. Needs
`npm ci --prefix tests/oidc` (tests/install-deps.sh): without node_modules the tests are skipped, or fail
when the CI variable is set.
"""
from __future__ import annotations

import json
import os
import queue
import secrets
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

SERVER_DIR = Path(__file__).resolve().parent
READY_TIMEOUT_S = 60.0
REDIRECT_URI = "http://127.0.0.1:8765/login/oidc/callback"   # the app under test is reached by ASGI at this name
PRACTICE_A = "http://hl7.org/fhir/sid/us-npi|1111111112"
USERS = {
    "ana": {"password": "ana's provider password", "claims": {"preferred_username": "ana.oidc", "email": "ana@example.org",
                                                              "dwcoder_role": "reviewer", "dwcoder_practice": PRACTICE_A}},
    "root": {"password": "root's provider password", "claims": {"preferred_username": "root.oidc",
                                                                "dwcoder_role": ["staff", "admin"], "dwcoder_practice": "*"}},
    "norole": {"password": "no role password", "claims": {"preferred_username": "norole", "dwcoder_practice": PRACTICE_A}},
    "nopractice": {"password": "no practice password", "claims": {"preferred_username": "nopractice",
                                                                   "dwcoder_role": "reviewer"}},
}


@dataclass
class OidcProvider:
    process: subprocess.Popen
    port: int
    client_id: str
    client_secret: str
    redirect_uri: str = REDIRECT_URI

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, **extra) -> dict[str, str]:
        """The dwcoder settings for this provider."""
        return {"DWCODER_LOGIN": "both", "OIDC_ISSUER": self.issuer, "OIDC_CLIENT_ID": self.client_id,
                "OIDC_CLIENT_SECRET": self.client_secret, "OIDC_REDIRECT_URL": self.redirect_uri,
                "OIDC_SCOPES": "openid profile email dwcoder", **extra}

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start(claims_in_id_token: bool = False) -> OidcProvider:
    if not (SERVER_DIR / "node_modules" / "oidc-provider").is_dir() or shutil.which("node") is None:
        message = "npm ci --prefix tests/oidc (and node) needed for the OpenID Connect tests"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    secret = secrets.token_urlsafe(32)
    env = {**os.environ, "PORT": "0", "OIDC_REDIRECT_URI": REDIRECT_URI, "OIDC_CLIENT_SECRET": secret,
           "OIDC_CLIENT_ID": "dwcoder", "OIDC_TEST_USERS": json.dumps(USERS),
           "OIDC_CLAIMS_IN_ID_TOKEN": "1" if claims_in_id_token else "0"}
    process = subprocess.Popen(["node", "server.mjs"], cwd=SERVER_DIR, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    try:
        while True:
            line = lines.get(timeout=READY_TIMEOUT_S)
            if line.startswith("listening "):
                return OidcProvider(process, int(line.split()[1]), "dwcoder", secret)
    except queue.Empty:
        process.kill()
        pytest.fail(f"the OpenID Connect test provider did not start within {READY_TIMEOUT_S:.0f} s")


@pytest.fixture(scope="session")
def oidc_provider():
    provider = start()
    yield provider
    provider.stop()


@pytest.fixture(scope="session")
def oidc_provider_id_token_claims():
    """The same provider, configured to put the claims in the ID token itself (no UserInfo call needed)."""
    provider = start(claims_in_id_token=True)
    yield provider
    provider.stop()
