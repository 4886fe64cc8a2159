"""Fixtures of the PACS tests (issue 8): a real Orthanc (Debian `orthanc` + `orthanc-dicomweb`) running the shipped
Lua script, and the plugin's web app on a loopback port it posts to.

Orthanc 1.10 listens on every interface: `RemoteAccessAllowed` false and authentication on with a test user keep
it to this machine's own clients. Its storage lives under the test's tmp folder; ports are spare ones.
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest
import uvicorn

ROOT = Path(__file__).resolve().parents[2]
LUA = ROOT / "deploy" / "orthanc" / "notify.lua"
DICOMWEB_PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")
USER, PASSWORD = "dwcoder-test", "orthanc-test-password"
SECRET = "whsec_" + base64.b64encode(b"orthanc-test-secret-32-bytes-long").decode()


def spare_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Orthanc:
    """One Orthanc process: `start(env)`, `upload(path)`, `stop()`; `url` (REST) and `dicomweb`."""

    def __init__(self, workdir: Path, stable_age: int = 1) -> None:
        self.workdir = workdir
        self.port = spare_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.dicomweb = self.url + "/dicom-web"
        self.stable_age = stable_age
        self.proc: subprocess.Popen | None = None
        self.http = httpx.Client(auth=(USER, PASSWORD), timeout=10)

    def config(self) -> dict:
        storage = self.workdir / "storage"
        storage.mkdir(parents=True, exist_ok=True)
        return {
            "Name": "dwcoder-test", "StorageDirectory": str(storage), "IndexDirectory": str(storage),
            "HttpPort": self.port, "DicomServerEnabled": False, "RemoteAccessAllowed": False,
            "AuthenticationEnabled": True, "RegisteredUsers": {USER: PASSWORD}, "StableAge": self.stable_age,
            "LuaScripts": [str(LUA)], "ExecuteLuaEnabled": True, "HttpTimeout": 5,
            "Plugins": [str(DICOMWEB_PLUGIN)], "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
        }

    def start(self, env: dict[str, str]) -> "Orthanc":
        path = self.workdir / "orthanc.json"
        path.write_text(json.dumps(self.config()))
        log = open(self.workdir / "orthanc.log", "ab")
        self.proc = subprocess.Popen([shutil.which("Orthanc"), str(path)], stdout=log, stderr=log,
                                     env={**os.environ, **env}, cwd=self.workdir)
        log.close()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if self.http.get(self.url + "/system").status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError("Orthanc did not start: " + (self.workdir / "orthanc.log").read_text()[-2000:])

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.http.close()

    def upload(self, path: Path) -> dict:
        r = self.http.post(self.url + "/instances", content=path.read_bytes(), headers={"Content-Type": "application/dicom"})
        assert r.status_code == 200, r.text
        return r.json()

    def lua(self, code: str) -> str:
        r = self.http.post(self.url + "/tools/execute-script", content=code.encode())
        assert r.status_code == 200, r.text
        return r.text


def _require_orthanc() -> None:
    if not shutil.which("Orthanc") or not DICOMWEB_PLUGIN.is_file():
        pytest.fail("Orthanc with its DICOMweb plugin is not installed: run `bash tests/install-deps.sh` "
                    "(Debian packages orthanc, orthanc-dicomweb)")


@pytest.fixture
def orthanc_factory(tmp_path):
    _require_orthanc()
    made: list[Orthanc] = []

    def make(stable_age: int = 1) -> Orthanc:
        """Not started yet: its port is known, so the plugin's settings can name it; then `.start(env)`."""
        server = Orthanc(tmp_path / f"orthanc-{len(made)}", stable_age)
        made.append(server)
        return server

    yield make
    for server in made:
        server.stop()


class Served:
    """The plugin's web app under uvicorn; `drop` makes it refuse (503) PACS notifications, as if unreachable."""

    def __init__(self, app) -> None:
        self.drop = False
        self.seen = 0
        outer = self

        async def gate(scope, receive, send):
            if scope["type"] == "http" and scope["path"].startswith("/pacs/"):
                outer.seen += 1
                if outer.drop:
                    await send({"type": "http.response.start", "status": 503, "headers": []})
                    await send({"type": "http.response.body", "body": b""})
                    return
            await app(scope, receive, send)

        self.server = uvicorn.Server(uvicorn.Config(gate, host="127.0.0.1", port=0, log_level="warning",
                                                    access_log=False, lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> "Served":
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        assert self.server.started, "uvicorn did not start"
        self.url = f"http://127.0.0.1:{self.server.servers[0].sockets[0].getsockname()[1]}"
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def serve():
    made: list[Served] = []

    def make(app) -> Served:
        served = Served(app).start()
        made.append(served)
        return served

    yield make
    for served in made:
        served.stop()
