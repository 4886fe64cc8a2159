"""`dwcoder serve` and `dwcoder demo`.

serve: the ASGI app of plugin/web under uvicorn, on DWCODER_HOST:DWCODER_PORT. Without REDIS_URL it also runs
the local queue and its sweeper in the same process; with it, run Celery workers and beat (workers/).

demo: on the embedded defaults (a fresh SQLite file in a scratch folder, the local queue, the embedded
ChargeItem store), start the service on a free loopback port, send the shipped example case as a clinical
system would (each FHIR resource as a Subscription notification, each DICOM file and the STL file as a signed
webhook), wait until every event is processed, print the ChargeItems with their reasons, and stop.
"""
from __future__ import annotations

import argparse
import json
import socket
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from plugin.settings import Settings

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "orthognathic-planning"
EXAMPLE_PRACTICE = "http://hl7.org/fhir/sid/us-npi|1234567893"


def register(sub) -> None:
    s = sub.add_parser("serve", help="run the event service (settings from the environment / .env)")
    s.add_argument("--host", help="listen address (default DWCODER_HOST or 127.0.0.1)")
    s.add_argument("--port", type=int, help="port (default DWCODER_PORT or 8000)")
    s.set_defaults(run=_serve)
    d = sub.add_parser("demo", help="run the service on the embedded defaults and send it the example case")
    d.add_argument("folder", nargs="?", default=str(EXAMPLE), help="case folder to send (default: the shipped example)")
    d.add_argument("--practice", default=EXAMPLE_PRACTICE, help="billing practice identifier SYSTEM|VALUE")
    d.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the ChargeItems")
    d.set_defaults(run=_demo)


def _serve(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    with running(settings, args.host or settings.host, args.port if args.port is not None else settings.port) as server:
        print(f"dwcoder: serving on http://{server.config.host}:{server.config.port} "
              f"({'local queue' if settings.embedded_queue else 'Celery on Redis'}, "
              f"{'embedded ChargeItem store' if settings.embedded_ehr else 'FHIR server'}; Ctrl-C stops)", file=sys.stderr)
        try:
            while server.started and not server.should_exit:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
    return 0


@contextmanager
def running(settings: Settings, host: str, port: int, threads: int = 2) -> Iterator:
    """The service running in this process (uvicorn in a thread); stopped on exit."""
    import uvicorn

    from plugin import logs, pipeline
    from plugin.web.app import create_app

    logs.setup(settings.log_level)
    ctx = pipeline.context(settings)
    local = pipeline.start_local(ctx, threads=threads) if settings.embedded_queue else None
    if not settings.embedded_queue:
        from plugin import queue

        queue.producer(settings)  # built once before the first requests queue in parallel
    app = create_app(settings, store=ctx.store)
    port = port or free_port(host)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="dwcoder-http", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    if not server.started:
        if local:
            local.stop()
        raise SystemExit(f"dwcoder: the service did not start on {host}:{port}")
    server.ctx, server.local = ctx, local
    scanners = threading.Event()  # issue 8: SCANNER_FOLDERS polled while the service runs
    if settings.scanner_folders:
        from plugin.scanners.watch import start as start_scanners

        start_scanners(ctx.store, settings, settings.scanner_folders, scanners)
    try:
        yield server
    finally:
        scanners.set()
        server.should_exit = True
        thread.join(15)
        if local:
            local.stop()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


# ------------------------------------------------------------------------------------------ demo
def _demo(args: argparse.Namespace) -> int:
    from plugin import feed

    folder = Path(args.folder)
    if not folder.is_dir():
        print(f"dwcoder: demo: no such folder: {folder}", file=sys.stderr)
        return 2
    secret, token = feed.new_secret(), feed.new_secret()
    with tempfile.TemporaryDirectory(prefix="dwcoder-demo-") as home:
        settings = Settings.from_env({
            "DWCODER_HOME": home, "DWCODER_PRACTICE": args.practice, "DWCODER_LOG_LEVEL": "WARNING",
            "WEBHOOK_SOURCES": json.dumps({"imaging": [secret]}),
            "SUBSCRIPTIONS": json.dumps({"demo": f"Authorization: Bearer {token}"}),
        }, dotenv=None)
        print(f"dwcoder demo: service on the embedded defaults (SQLite in {home}, local queue, embedded ChargeItem store)")
        with running(settings, "127.0.0.1", 0) as server:
            base = f"http://127.0.0.1:{server.config.port}"
            sent = send_folder(base, folder, secret, token)
            print(f"dwcoder demo: sent {sent} events from {folder} (FHIR notifications, DICOM files, STL via signed webhooks)")
            if not wait_settled(server.ctx, args.timeout):
                print(f"dwcoder demo: not finished after {args.timeout:g} s", file=sys.stderr)
                return 1
            items = _charge_items(server.ctx.store)
        print_charge_items(items)
    return 0


def send_folder(base: str, folder: Path, secret: str, token: str, subscription: str = "demo", source: str = "imaging") -> int:
    """POST the folder's evidence: FHIR resources as notifications, files as signed webhooks. Returns the count."""
    import httpx

    from plugin import feed

    sent = 0
    with httpx.Client(base_url=base, timeout=30) as http:
        for number, resource in enumerate(feed.folder_resources(folder), start=1):
            body = json.dumps(feed.notification(resource, subscription, number)).encode()
            _check(http.post(f"/subscriptions/{subscription}", content=body,
                             headers={"content-type": "application/fhir+json", "authorization": f"Bearer {token}"}))
            sent += 1
        for event in feed.folder_events(folder):
            if event.kind == "fhir":
                continue
            headers = {"content-type": event.content_type, **feed.sign(secret, event.dedup_key.replace(":", "_"), event.body)}
            _check(http.post(f"/webhooks/{source}", content=event.body, headers=headers))
            sent += 1
    return sent


def _check(response) -> None:
    if response.status_code not in (200, 202):
        raise SystemExit(f"dwcoder demo: the service refused an event: {response.status_code} {response.text[:300]}")


def wait_settled(ctx, timeout: float) -> bool:
    from plugin import pipeline

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pipeline.settled(ctx):
            return True
        time.sleep(0.1)
    return False


def _charge_items(store) -> list[dict]:
    """The embedded store's ChargeItems, read directly (its HTTP route needs a deployment admin's sign-in)."""
    from plugin.store import chargeitems

    return chargeitems.search(store, "", "planned,billable,not-billable")


def print_charge_items(items: list[dict]) -> None:
    print(f"\n{len(items)} ChargeItem(s) suggested:")
    for item in sorted(items, key=lambda i: (i["code"]["coding"][0].get("system", ""), i["code"]["coding"][0]["code"])):
        coding = item["code"]["coding"][0]
        mods = [e["valueCoding"]["code"] for e in item.get("extension", []) if e["url"].endswith("charge-modifier")]
        code = "-".join([coding["code"], *mods])
        print(f"\n  {code:<10} x{item['quantity']['value']:<3} {coding.get('display', '')}  [{item['status']}]")
        notes = item.get("note") or []
        if notes:
            print(f"    reason: {notes[0]['text']}")
