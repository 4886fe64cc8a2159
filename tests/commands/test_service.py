"""`dwcoder demo` and `dwcoder serve` as processes: HTTP in (notifications, signed webhooks), ChargeItems out,
and no patient data in any log line."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from plugin import feed
from plugin.commands.service import free_port, send_folder
from tests.commands import phi_case
from tests.pipeline.runner import active, cli_items
from tests.workers.processes import Worker

DWCODER = str(Path(sys.executable).with_name("dwcoder"))
ROOT = Path(__file__).resolve().parents[2]
PRACTICE = "http://hl7.org/fhir/sid/us-npi|1234567893"


def _label(item: dict) -> str:
    mods = [e["valueCoding"]["code"] for e in item.get("extension", []) if e["url"].endswith("charge-modifier")]
    return "-".join([item["code"]["coding"][0]["code"], *mods])


def test_demo_prints_the_chargeitems_of_the_example(tmp_path):
    run = subprocess.run([DWCODER, "demo"], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "HOME": str(tmp_path)})
    assert run.returncode == 0, run.stderr[-2000:]
    want = cli_items(ROOT / "examples" / "orthognathic-planning", PRACTICE)
    assert f"{len(want)} ChargeItem(s) suggested" in run.stdout
    printed = [line.split()[0] for line in run.stdout.splitlines() if line.startswith("  ") and not line.startswith("    ")]
    assert sorted(printed) == sorted(_label(i) for i in want)
    assert run.stdout.count("reason: ") == len(want)


@pytest.fixture(params=["local-queue", "celery"])
def service(request, tmp_path, postgres_url):
    """`dwcoder serve` (SQLite + local queue, or PostgreSQL + Redis + a Celery worker), logs to files."""
    secret, token, port = feed.new_secret(), feed.new_secret(), free_port()
    env = {**os.environ, "DWCODER_HOME": str(tmp_path), "DWCODER_PORT": str(port), "DWCODER_PRACTICE": PRACTICE,
           "DWCODER_LOG_LEVEL": "DEBUG", "DWCODER_SETTLE_S": "0.2",
           "WEBHOOK_SOURCES": json.dumps({"imaging": [secret]}),
           "SUBSCRIPTIONS": json.dumps({"demo": f"Authorization: Bearer {token}"})}
    worker = None
    if request.param == "celery":
        from tests.store.databases import empty
        from plugin.store import Store

        store = Store(postgres_url)
        empty(store)
        store.dispose()
        env.update({"REDIS_URL": "redis://127.0.0.1:6379/13", "DATABASE_URL": postgres_url,
                    "DWCODER_QUEUE": f"dwcoder-test-{uuid.uuid4().hex[:12]}"})
        worker = Worker(env, tmp_path, "phi-worker").start()
    subprocess.run([DWCODER, "users", "add", ADMIN, "--role", "admin", "--practice", "*", "--password-stdin"],
                   input=ADMIN_PASSWORD, text=True, env=env, cwd=tmp_path, check=True, timeout=120, capture_output=True)
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen([DWCODER, "serve"], cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail(f"dwcoder serve did not start: {(tmp_path / 'serve.log').read_text()[-2000:]}")
    yield base, secret, token, [tmp_path / "serve.log"] + ([worker.log] if worker else [])
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
    if worker:
        worker.kill()


ADMIN, ADMIN_PASSWORD = "root", "the deployment admin's password"


def signed_in_client(base: str) -> httpx.Client:
    """An httpx client signed in as the deployment admin through the real /login form (issue 9)."""
    http = httpx.Client(base_url=base, timeout=30)
    token = http.get("/login").text.split("name=csrf_token value='", 1)[1].split("'", 1)[0]
    answer = http.post("/login", data={"csrf_token": token, "username": ADMIN, "password": ADMIN_PASSWORD})
    assert answer.status_code == 303, answer.text[:300]
    return http


def _wait_for_items(base: str, want: list[str], timeout: float = 90, stable_s: float = 5) -> list[dict]:
    """The ChargeItems once their codes are the wanted ones, or once they stopped changing for `stable_s`."""
    deadline = time.monotonic() + timeout
    items: list[dict] = []
    last, since = None, time.monotonic()
    http = signed_in_client(base)
    while time.monotonic() < deadline:
        bundle = http.get("/fhir/ChargeItem", timeout=10).json()
        items = [e["resource"] for e in bundle.get("entry", [])]
        labels = sorted(_label(i) for i in active(items))
        if labels == want:
            return items
        if labels != last:
            last, since = labels, time.monotonic()
        elif labels and time.monotonic() - since > stable_s:
            return items
        time.sleep(0.3)
    return items


def test_no_patient_data_in_any_log_line(service, tmp_path):
    base, secret, token, logs = service
    folder = phi_case.make(tmp_path)
    want = cli_items(folder, PRACTICE)
    with httpx.Client(base_url=base, timeout=30) as http:
        for n, (ctype, body) in enumerate(phi_case.bad_bodies()):
            http.post("/webhooks/imaging", content=body, headers={"content-type": ctype, **feed.sign(secret, f"bad-{n}", body)})
        body = phi_case.bad_bodies()[0][1]
        http.post("/webhooks/imaging", content=body, headers={"content-type": "application/fhir+json",
                                                               **feed.sign(feed.new_secret(), "forged", body)})
        http.post(f"/fhir/ChargeItem?subject:Patient.name={phi_case.FAMILY}")
    admin = signed_in_client(base)  # refused past the sign-in too (unknown parameter): still no PHI logged
    assert admin.get(f"/fhir/ChargeItem?identifier={phi_case.MRN}&bogus={phi_case.SSN}").status_code == 400
    admin.close()
    send_folder(base, folder, secret, token)
    labels = sorted(_label(i) for i in want)
    items = _wait_for_items(base, labels)
    time.sleep(1)
    text = "\n".join(p.read_text(errors="replace") for p in logs if p.exists())
    assert "case recomputed" in text  # the logs were captured (else this test proves nothing)
    found = [value for value in phi_case.PHI if value in text]
    assert found == [], f"patient data in the logs: {found}"
    got = sorted(_label(i) for i in active(items))
    assert got and set(got) <= set(labels)
    assert set(got) == set(labels)  # the mesh too: its name and case travel in the file webhook's Content-Type
