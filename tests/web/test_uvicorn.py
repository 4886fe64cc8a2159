"""Once through a real uvicorn on a loopback port: the same answers as over the ASGI transport."""
import json
import threading
import time

import httpx
import pytest
import uvicorn

from plugin.sources.webhooks import sign
from plugin.web.app import create_app, uvicorn_config
from tests.sources.shapes import SHAPES, procedure
from tests.web.conftest import CHANNEL, KEY_NEW, KEY_SMALL, Service


@pytest.fixture
def served(settings, store):
    service = Service(settings, store)
    server = uvicorn.Server(uvicorn_config(service.app, "127.0.0.1", 0, "warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    yield service, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_real_http(served):
    service, url = served
    with httpx.Client(base_url=url, timeout=10) as client:
        raw = json.dumps(procedure("p1", "1")).encode()
        stamp = int(time.time())
        started = time.perf_counter()
        r = client.post("/webhooks/lab", content=raw, headers={
            "content-type": "application/fhir+json", "webhook-id": "real-1", "webhook-timestamp": str(stamp),
            "webhook-signature": sign(KEY_NEW, "real-1", stamp, raw)})
        took = time.perf_counter() - started
        assert r.status_code == 202 and r.headers["x-correlation-id"]
        assert took < 1.0
        r = client.post("/subscriptions/admission", json=SHAPES["R5"]("handshake", count=0),
                        headers={"authorization": CHANNEL, "content-type": "application/fhir+json"})
        assert r.status_code == 200

        def chunks():
            for _ in range(64):
                yield b"\x00" * 1024

        r = client.post("/webhooks/scanner", content=chunks(), headers={
            "content-type": "model/stl", "webhook-id": "big", "webhook-timestamp": str(stamp),
            "webhook-signature": sign(KEY_SMALL, "big", stamp, b"")})
        assert r.status_code == 413 and r.json()["resourceType"] == "OperationOutcome"
    assert service.stored() == 1 and len(service.queued) == 1
