"""CDS Hooks response time: the encounter-discharge hook answered by `dwcoder serve`'s app (uvicorn on loopback).

Every request is signed as an EHR signs it (ES384 JWT, jku on a loopback JWKS endpoint, fresh jti) and checked
in full (signature, aud, exp/iat, jti replay row in the database). Tokens are made before the clock starts.

1. baseline: GET /cds-services (discovery): the JWT check and the jti row alone, the floor of every call.
2. warm case: the case's evidence (CBCT DICOM, Procedures, STL, practice directory: examples/orthognathic-planning)
   already went through the pipeline into the store; the hook brings no prefetch (keys null). Measured twice:
   asked again with nothing changed (the answer cached per case version), and as the first call after each
   change of the case (its version bumped between requests, outside the clock: read and coded afresh).
3. cold case: the store knows nothing of the patient (practice directory only); everything comes in the prefetch.
Sequential requests; p50 / p99 / max in ms (target: p99 < 500 ms on this machine; real EHRs give a hook about 1 s).

Run: `.venv/bin/python bench/bench_cds.py [--requests 200]` (SQLite under a temporary folder).
"""
from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from plugin.settings import Settings  # noqa: E402
from plugin.store import Store  # noqa: E402
from plugin.web.app import create_app, uvicorn_config  # noqa: E402
from tests.cds import scenario  # noqa: E402
from tests.cds.conftest import CDS_BASE, Ehr, JwksServer, Keys, cds_env  # noqa: E402

SERVICE = scenario.SERVICE
DIRECTORY = ("Organization", "Practitioner", "PractitionerRole", "Device")
WARMUP = 10
TARGET_P99_MS = 500.0


class Served:
    """The app on a real uvicorn server on a spare loopback port, in a thread."""

    def __init__(self, settings, store) -> None:
        import uvicorn

        app = create_app(settings, store=store, queue_event=lambda event_id: None)
        self.server = uvicorn.Server(uvicorn_config(app, "127.0.0.1", 0, "warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def timed(http: httpx.Client, method: str, url: str, bodies: list[bytes | None], tokens: list[str],
          between=None) -> list[float]:
    out = []
    for body, token in zip(bodies, tokens):
        if between is not None:
            between()
        headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
        started = time.perf_counter()
        r = http.request(method, url, content=body, headers=headers)
        out.append((time.perf_counter() - started) * 1000)
        if r.status_code != 200:
            raise RuntimeError(f"{method} {url}: {r.status_code} {r.text[:300]}")
        if body is not None and not r.json()["cards"]:
            raise RuntimeError("the hook answered no card")
    return out[WARMUP:]


def bump(store) -> None:
    """A change of the case, as the pipeline records one (its version goes up): the next call codes it afresh."""
    from sqlalchemy import text

    with store.transaction() as s:
        s.execute(text("UPDATE cases SET version = version + 1 WHERE key = :k"), {"k": f"Patient/{scenario.PATIENT}"})


def stats(ms: list[float]) -> dict:
    ordered = sorted(ms)
    return {"n": len(ordered), "p50": statistics.median(ordered),
            "p99": ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))], "max": ordered[-1]}


def run(n: int) -> dict[str, dict]:
    keys = Keys()
    jwks = JwksServer({"/jwk_uri": keys.trusted_set()})
    ehr = Ehr(keys, jwks)
    results: dict[str, dict] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="dwcoder-bench-cds-") as tmp:
            for name, skip in (("warm", ()), ("cold", tuple({r["resourceType"] for r in scenario.resources()} - set(DIRECTORY)))):
                folder = Path(tmp) / name
                folder.mkdir()
                settings = Settings.from_env(cds_env(folder, f"sqlite:///{folder / 'dwcoder.db'}", jwks), dotenv=None)
                store = Store.from_settings(settings)
                scenario.through_pipeline(settings, store, skip_types=skip)
                served = Served(settings, store)
                try:
                    total = n + WARMUP
                    with httpx.Client(base_url=served.url, timeout=30) as http:
                        if name == "warm":
                            tokens = [ehr.token(CDS_BASE + "/cds-services") for _ in range(total)]
                            results["baseline (discovery: JWT check + jti row)"] = stats(
                                timed(http, "GET", "/cds-services", [None] * total, tokens))
                            prefetch = {key: None for key in ("procedures", "imagingStudies", "documents", "coverage")}
                        else:
                            prefetch = scenario.full_prefetch()
                        body = json.dumps(scenario.request(prefetch=prefetch)).encode()
                        path = f"/cds-services/{SERVICE}"
                        tokens = [ehr.token(CDS_BASE + path) for _ in range(total)]
                        label = ("warm case (evidence in the store, no prefetch)" if name == "warm"
                                 else "cold case (prefetch only)")
                        results[label] = stats(timed(http, "POST", path, [body] * total, tokens))
                        if name == "warm":   # every call after a change of the case: nothing cached
                            tokens = [ehr.token(CDS_BASE + path) for _ in range(total)]
                            results["warm case, first call after each change (not cached)"] = stats(
                                timed(http, "POST", path, [body] * total, tokens, between=lambda: bump(store)))
                finally:
                    served.stop()
                    store.dispose()
    finally:
        jwks.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    results = run(max(1, min(args.requests, 5000)))
    base = results["baseline (discovery: JWT check + jti row)"]["p50"]
    for label, s in results.items():
        verdict = "" if label.startswith("baseline") else \
            f" (target p99 < {TARGET_P99_MS:.0f} ms: {'MET' if s['p99'] < TARGET_P99_MS else 'MISSED'}; {s['p50'] / base:.1f}x the baseline's p50)"
        print(f"{label}: p50 {s['p50']:.1f} ms, p99 {s['p99']:.1f} ms, max {s['max']:.1f} ms over {s['n']} requests{verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
