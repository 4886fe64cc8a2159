"""pytest fixtures: the validating FHIR test server (server.js, Medplum's router) on a spare loopback port.

    fhir_server      (function) a FhirServer, running and emptied ($reset) before the test
    fhir_base_url    (function) its FHIR base, "http://127.0.0.1:<port>/fhir"

One server process serves the whole session. `FhirServer.stop()` / `.start()` take it down and bring it
back on the SAME port with the SAME data (SIGTERM writes the repository to a state file that the next
start reads); `.kill()` is a SIGKILL: the data is lost (the next start begins empty). A test that leaves it
stopped is harmless: the next test starts it again. Needs `npm ci --prefix tests/fhirserver`: without
node_modules the tests are skipped, or fail when the CI variable is set.
"""
from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest

SERVER_DIR = Path(__file__).resolve().parent
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
INSTALL = "npm ci --prefix tests/fhirserver"


class FhirServer:
    """The Node server process; same port and data across stop()/start()."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.state_file = workdir / "fhirserver-state.json"
        self.log_file = workdir / "fhirserver.log"
        self.port: int | None = None
        self._proc: subprocess.Popen | None = None

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root}/fhir"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        if self.running:
            return
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:   # the old process may hold the port a moment after it exited
            try:
                self._launch(deadline)
                return
            except _PortBusy:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"FHIR test server: port {self.port} stayed busy") from None
                time.sleep(0.2)

    def stop(self) -> None:
        """SIGTERM: the server saves its data and exits; the port is free when this returns."""
        if not self.running:
            return
        self._proc.send_signal(signal.SIGTERM)
        try:
            self._proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._close_pipes()

    def kill(self) -> None:
        """SIGKILL: the data is lost (the next start begins empty)."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            self._close_pipes()
        self.state_file.unlink(missing_ok=True)

    def _close_pipes(self) -> None:
        for pipe in (self._proc.stdin, self._proc.stdout):
            pipe.close()
        self._proc = None

    def reset(self) -> None:
        self.control("POST", "$reset", {})

    def control(self, method: str, name: str, body: dict | None = None) -> dict:
        """Call a control endpoint ($reset, $auth, $fail, $next-base, $stats)."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.root}/{name}", data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def stats(self) -> dict:
        return self.control("GET", "$stats")

    def _launch(self, deadline: float) -> None:
        node = shutil.which("node")
        log = open(self.log_file, "ab")
        cmd = [node, str(SERVER_DIR / "server.js"), "--port", str(self.port or 0), "--host", "127.0.0.1",
               "--state", str(self.state_file), "--stdin-lifeline", "yes"]
        # stdin stays open while this process lives: if pytest dies, the server sees EOF and exits
        proc = subprocess.Popen(cmd, cwd=SERVER_DIR, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.PIPE)
        log.close()
        line = _first_line(proc, deadline - time.monotonic())
        if not line.startswith("listening "):
            proc.kill()
            proc.wait()
            tail = self.log_file.read_text(errors="replace")[-2000:]
            if "EADDRINUSE" in tail and self.port:
                raise _PortBusy()
            raise RuntimeError(f"FHIR test server did not start: {tail}")
        self.port = int(line.split()[1])
        self._proc = proc


class _PortBusy(Exception):
    pass


def _first_line(proc: subprocess.Popen, timeout: float) -> str:
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(proc.stdout.readline().decode()), daemon=True).start()
    try:
        return lines.get(timeout=max(timeout, 1.0)).strip()
    except queue.Empty:
        return ""


def _require_node() -> None:
    problem = None
    if shutil.which("node") is None:
        problem = "node is not on PATH (Node 20 is needed for the FHIR test server)"
    elif not (SERVER_DIR / "node_modules" / "@medplum" / "fhir-router").is_dir():
        problem = f"tests/fhirserver/node_modules is missing: run `{INSTALL}`"
    if problem and os.environ.get("CI"):
        pytest.fail(f"FHIR test server unavailable in CI: {problem}")
    if problem:
        pytest.skip(f"FHIR test server unavailable: {problem}")


@pytest.fixture(scope="session")
def _fhir_server_session(tmp_path_factory):
    _require_node()
    server = FhirServer(tmp_path_factory.mktemp("fhirserver"))
    server.start()
    yield server
    server.kill()


@pytest.fixture
def fhir_server(_fhir_server_session):
    """The running FHIR test server, emptied (no resources, no auth, no injected failures)."""
    _fhir_server_session.start()
    _fhir_server_session.reset()
    return _fhir_server_session


@pytest.fixture
def fhir_base_url(fhir_server) -> str:
    return fhir_server.base_url
