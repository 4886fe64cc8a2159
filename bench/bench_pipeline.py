"""The whole event pipeline: webhook -> database -> Redis -> Celery worker -> ChargeItem at the FHIR server.

Starts its own parts on loopback: a PostgreSQL database (created and dropped), a redis-server on a spare port,
the validating FHIR test server (tests/fhirserver, needs `npm ci --prefix tests/fhirserver`), `dwcoder serve`
and one Celery worker (prefork, 2 processes: this machine has 2 cores) with its beat (the sweeper).

1. baseline: N bare Celery no-op tasks (`dwcoder.noop`) sent to the same broker and worker configuration
   (acks_late, prefetch 1); time from the first send until the worker has run them all.
2. throughput: N signed webhooks, each a new case (a Patient and a Procedure with a recorded CDT code), sent
   as fast as 4 client threads can; time from the first request until every case's ChargeItem is at the FHIR
   server. Reported as events/s and as a ratio to the baseline (target >= 0.5).
3. visits: N visits of 5 events each (Patient, Encounter, 3 Procedures), every event a webhook of its own, with
   the default debounce (DWCODER_SETTLE_S 0.3 s, the worker restarted with it): a visit's burst gives one
   recomputation. Events/s until every visit's lines are at the FHIR server, and its ratio to the baseline.
4. latency: webhooks at a steady 50 events/s for a bounded count; per event, from the request being sent to
   its ChargeItem stored at the FHIR server (the posting's time in the database: written after the server
   answered). p50 / p99 (target p99 < 250 ms), and where the time goes: queue wait, event processing,
   settle + recomputation + write-back. Then the same at a rate below the machine's capacity (--below-rate, 25
   events/s), for the latency of the path itself without a queue building up.

Run: `.venv/bin/python bench/bench_pipeline.py [--events 400] [--latency-events 300] [--noop 2000] [--visits 80]
[--concurrency 2] [--below-rate 25]`

The webhooks are sent with http.client on kept-alive connections: the sender shares the 2 cores with the parts it
measures, so it is kept as cheap as a sender can be (its own CPU is reported with the rest).
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psycopg  # noqa: E402

from plugin import feed  # noqa: E402
from plugin.commands.service import free_port  # noqa: E402

PG_SERVER = os.environ.get("DWCODER_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
BIN = Path(sys.executable).parent
SETTLE_S = "0"  # no debounce wait: each event is a case of its own, recomputed in the same task
VISIT_SETTLE_S = "0.3"  # the default (DWCODER_SETTLE_S): a visit's 5 events give one recomputation


def case_bundle(n: int, run: str) -> bytes:
    pid = f"b{run}-{n}"
    return json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Patient", "id": pid}},
        {"resource": {"resourceType": "Procedure", "id": f"{pid}-p", "status": "completed",
                      "subject": {"reference": f"Patient/{pid}"}, "performedDateTime": "2026-10-14",
                      "code": {"coding": [{"system": "http://www.ada.org/cdt", "code": "D0330"}]}}}]}).encode()


VISIT = ("D0330", "D0210", "D0140")  # a visit's recorded procedures: panoramic, full-mouth series, limited evaluation


def visit_events(n: int, run: str) -> list[bytes]:
    """One visit as a practice's systems send it: the Patient, the Encounter and three Procedures, each a webhook
    of its own (5 events, one case)."""
    pid = f"v{run}-{n}"
    subject, encounter = {"reference": f"Patient/{pid}"}, {"reference": f"Encounter/{pid}-e"}
    resources = [{"resourceType": "Patient", "id": pid},
                 {"resourceType": "Encounter", "id": f"{pid}-e", "status": "finished", "subject": subject,
                  "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
                  "period": {"start": "2026-10-14T09:00:00Z", "end": "2026-10-14T09:30:00Z"}}]
    resources += [{"resourceType": "Procedure", "id": f"{pid}-p{i}", "status": "completed", "subject": subject,
                   "encounter": encounter, "performedDateTime": "2026-10-14",
                   "code": {"coding": [{"system": "http://www.ada.org/cdt", "code": code}]}} for i, code in enumerate(VISIT)]
    return [json.dumps(r).encode() for r in resources]


class Rig:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.procs: list[subprocess.Popen] = []
        self.db = f"dwcoder_bench_{uuid.uuid4().hex[:10]}"
        self.secret = feed.new_secret()
        self.concurrency = 2

    def start(self) -> None:
        from tests.fhirserver.fixture import FhirServer
        from tests.workers.processes import OwnRedis

        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.db}"')
        self.redis = OwnRedis(self.tmp)
        self.redis.start()
        self.fhir = FhirServer(self.tmp / "fhir")
        (self.tmp / "fhir").mkdir()
        self.fhir.start()
        self.port = free_port()
        self.env = {**os.environ, "DATABASE_URL": f"{PG_SERVER}/{self.db}", "REDIS_URL": self.redis.url,
                    "FHIR_BASE_URL": self.fhir.base_url, "DWCODER_HOME": str(self.tmp), "DWCODER_PORT": str(self.port),
                    "DWCODER_SETTLE_S": SETTLE_S, "DWCODER_LOG_LEVEL": "WARNING", "DWCODER_RATE": "100000",
                    "WEBHOOK_SOURCES": json.dumps({"bench": {"secrets": [self.secret], "rate": 100000, "burst": 100000}})}
        self.start_worker()
        self._spawn([str(BIN / "dwcoder"), "serve"], self.tmp / "serve.log")
        self.serve = self.procs[-1]
        self._wait(self._healthy, "dwcoder serve")
        self._local = threading.local()

    def start_worker(self, settle_s: str = SETTLE_S) -> None:
        """One Celery worker (prefork) with its beat; `settle_s` is the debounce a case's burst waits for."""
        self.env["DWCODER_SETTLE_S"] = settle_s
        self.worker_log = self.tmp / f"worker-{len(self.procs)}.log"
        self._spawn([str(BIN / "celery"), "-A", "workers.app", "worker", "-c", str(self.concurrency), "--loglevel", "INFO", "-B",
                     "-s", str(self.tmp / "beat-schedule"), "--without-gossip", "--without-mingle", "--without-heartbeat"],
                    self.worker_log)
        self.worker = self.procs[-1]
        self._wait(lambda: b"ready." in self.worker_log.read_bytes(), "worker")

    def stop_worker(self) -> None:
        os.killpg(self.worker.pid, signal.SIGTERM)
        self.worker.wait(30)

    def _spawn(self, cmd: list[str], log: Path) -> None:
        self.procs.append(subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
                                           start_new_session=True))

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    @staticmethod
    def _wait(check, what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            time.sleep(0.1)
        raise SystemExit(f"bench: {what} did not start in {timeout:g} s")

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        self.fhir.kill()
        self.redis.stop()
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')

    # ------------------------------------------------------------------------ measurements
    def baseline(self, count: int, timeout: float = 300) -> float:
        from plugin.queue import TASK_NOOP, producer
        from plugin.settings import Settings

        app = producer(Settings.from_env({k: v for k, v in self.env.items() if k.startswith(("DWCODER", "REDIS", "DATABASE"))},
                                         dotenv=None))
        start_count = self._noops()
        start = time.perf_counter()
        for _ in range(count):
            app.send_task(TASK_NOOP)
        deadline = time.monotonic() + timeout
        while self._noops() - start_count < count and time.monotonic() < deadline:
            time.sleep(0.005)
        return count / (time.perf_counter() - start)

    def _noops(self) -> int:
        return self.worker_log.read_bytes().count(b"dwcoder.noop[") // 2  # "received" and "succeeded" lines

    def post(self, n: int, run: str) -> float:
        body = case_bundle(n, run)
        headers = {"content-type": "application/fhir+json", **feed.sign(self.secret, f"{run}-{n}", body)}
        sent = time.time()
        self._webhook(body, headers)
        return sent

    def _webhook(self, body: bytes, headers: dict[str, str]) -> None:
        """One webhook on this thread's kept-alive connection. http.client, not httpx: the sender shares the 2
        cores with what it measures (a practice's systems send from machines of their own), so it is kept cheap."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request("POST", "/webhooks/bench", body=body, headers=headers)
            answer = conn.getresponse()
            text = answer.read()
        except (OSError, http.client.HTTPException):
            self._local.conn = None
            conn.close()
            raise
        if answer.status != 202:
            raise SystemExit(f"bench: webhook answered {answer.status}: {text[:300]!r}")

    def done(self, run: str, count: int) -> int:
        with psycopg.connect(f"{PG_SERVER}/{self.db}", autocommit=True) as conn:
            return conn.execute("SELECT count(DISTINCT case_key) FROM postings WHERE action = 'upsert' AND case_key LIKE %s",
                                (f"Patient/b{run}-%",)).fetchone()[0]

    def throughput(self, count: int, timeout: float = 600) -> float:
        run = uuid.uuid4().hex[:6]
        start = time.perf_counter()
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda n: self.post(n, run), range(count)))
        deadline = time.monotonic() + timeout
        while self.done(run, count) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        elapsed = time.perf_counter() - start
        if self.done(run, count) < count:
            raise SystemExit(f"bench: only {self.done(run, count)} of {count} cases done after {timeout:g} s")
        return count / elapsed

    def visits(self, count: int, timeout: float = 600) -> tuple[float, dict[str, int]]:
        """`count` visits of 5 events each, every event a webhook, sent by 4 client threads (a visit's events in
        order, visits interleaved); time until every visit's case is recomputed after its last event with its
        lines at the FHIR server. Returns (events/s, counts of recomputations and upserts)."""
        run = uuid.uuid4().hex[:6]
        bodies = [(f"{run}-{n}-{i}", body) for n in range(count) for i, body in enumerate(visit_events(n, run))]
        start = time.perf_counter()
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda item: self._send(*item), bodies))
        deadline = time.monotonic() + timeout
        while self.visits_done(run) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        elapsed = time.perf_counter() - start
        if self.visits_done(run) < count:
            raise SystemExit(f"bench: only {self.visits_done(run)} of {count} visits done after {timeout:g} s")
        with psycopg.connect(f"{PG_SERVER}/{self.db}", autocommit=True) as conn:
            upserts, cases = conn.execute("SELECT count(*), count(DISTINCT case_key) FROM postings WHERE action = 'upsert' "
                                          "AND case_key LIKE %s", (f"Patient/v{run}-%",)).fetchone()
        return len(bodies) / elapsed, {"events": len(bodies), "cases": cases, "upserts": upserts}

    def _send(self, webhook_id: str, body: bytes) -> None:
        self._webhook(body, {"content-type": "application/fhir+json", **feed.sign(self.secret, webhook_id, body)})

    def visits_done(self, run: str) -> int:
        """Visits whose events are all finished and whose case is clean with its two lines posted."""
        with psycopg.connect(f"{PG_SERVER}/{self.db}", autocommit=True) as conn:
            busy = conn.execute("SELECT count(*) FROM events WHERE dedup_key LIKE %s AND status IN ('queued', 'processing')",
                                (f"webhook:bench:{run}-%",)).fetchone()[0]
            if busy:
                return 0
            return conn.execute(
                "SELECT count(*) FROM cases c WHERE c.key LIKE %s AND NOT c.dirty AND "
                "(SELECT count(*) FROM suggestions s WHERE s.case_key = c.key AND s.status = 'active') = 2",
                (f"Patient/v{run}-%",)).fetchone()[0]

    def latency(self, count: int, rate: float = 50.0, timeout: float = 300) -> dict:
        run = uuid.uuid4().hex[:6]
        sent: dict[int, float] = {}
        start = time.perf_counter()
        for n in range(count):
            delay = start + n / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            sent[n] = self.post(n, run)
        deadline = time.monotonic() + timeout
        while self.done(run, count) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self._latencies(run, sent)

    def _latencies(self, run: str, sent: dict[int, float]) -> dict:
        with psycopg.connect(f"{PG_SERVER}/{self.db}", autocommit=True) as conn:
            posted = dict(conn.execute("SELECT case_key, min(at) FROM postings WHERE action = 'upsert' AND case_key LIKE %s "
                                       "GROUP BY case_key", (f"Patient/b{run}-%",)).fetchall())
            stages = conn.execute(
                "SELECT e.received_at, e.started_at, e.finished_at, c.key FROM events e JOIN cases c "
                "ON c.key = 'Patient/b' || %s || '-' || split_part(e.dedup_key, '-', 2) "
                "WHERE e.dedup_key LIKE %s", (run, f"webhook:bench:{run}-%")).fetchall()
        total = [(posted[f"Patient/b{run}-{n}"].timestamp() - t) * 1000 for n, t in sent.items() if f"Patient/b{run}-{n}" in posted]
        queue = [(s - r).total_seconds() * 1000 for r, s, f, k in stages if s]
        process = [(f - s).total_seconds() * 1000 for r, s, f, k in stages if s and f]
        after = [(posted[k] - f).total_seconds() * 1000 for r, s, f, k in stages if f and k in posted]
        return {"done": len(total), "sent": len(sent), "p50": _pct(total, 50), "p99": _pct(total, 99), "max": max(total),
                "queue_p50": _pct(queue, 50), "process_p50": _pct(process, 50), "write_p50": _pct(after, 50),
                "queue_p99": _pct(queue, 99), "process_p99": _pct(process, 99), "write_p99": _pct(after, 99)}


def cpu_seconds(rig: "Rig") -> dict[str, float]:
    """CPU time (user + system, from /proc) so far of each part of the rig: where the 2 cores go."""
    groups = {"worker (Celery, 1 + prefork processes)": rig.worker.pid, "dwcoder serve (webhooks)": rig.serve.pid}
    named = {"FHIR server (Node)": rig.fhir._proc.pid, "Redis": rig.redis.proc.pid, "bench client": os.getpid()}
    tick = os.sysconf("SC_CLK_TCK")
    out = dict.fromkeys([*groups, "PostgreSQL", *named], 0.0)
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        seconds, pgid = (int(fields[11]) + int(fields[12])) / tick, int(fields[2])
        part = next((name for name, gid in groups.items() if pgid == gid), None)
        part = part or next((name for name, own in named.items() if int(pid) == own), None)
        part = part or ("PostgreSQL" if cmd.startswith(b"postgres") else None)
        if part:
            out[part] += seconds
    return out


def profile(rig: "Rig", count: int = 100) -> dict[str, float]:
    """The worker's work for `count` events, in this process, under cProfile: ms per event by where it goes."""
    import cProfile
    import pstats

    from plugin import pipeline
    from plugin.settings import Settings
    from plugin.store.events import EventIn, accept

    env = {k: v for k, v in rig.env.items() if k.startswith(("DWCODER", "DATABASE", "FHIR"))}
    ctx = pipeline.context(Settings.from_env(env, dotenv=None))
    run = uuid.uuid4().hex[:6]
    ids = [a.event_id for a in accept(ctx.store, [EventIn("webhook:bench", "fhir", f"p{run}-{n}", "application/fhir+json",
                                                          case_bundle(n, run)) for n in range(count)])]
    for event_id in ids[:5]:  # warm up: the mappings' first load and the first statements' compilation
        pipeline.process_event(ctx, event_id)
    ids, count = ids[5:], count - 5
    prof = cProfile.Profile()
    start = time.perf_counter()
    prof.enable()
    for event_id in ids:
        pipeline.process_event(ctx, event_id)
    prof.disable()
    total = (time.perf_counter() - start) * 1000 / count
    stats = pstats.Stats(prof).stats  # {(file, line, func): (cc, nc, tt, ct, callers)}

    def cum(pred) -> float:
        return sum(v[3] for k, v in stats.items() if pred(k)) * 1000 / count

    def own(*parts: str) -> float:  # Python time spent in these libraries' own functions (callees elsewhere excluded)
        return sum(v[2] for k, v in stats.items() if any(f"/{p}/" in k[0] for p in parts)) * 1000 / count

    return {
        "total": total,
        "database (psycopg waits)": cum(lambda k: k[0].endswith("psycopg/connection.py") and k[2] == "wait"),
        "FHIR server HTTP (httpx send)": cum(lambda k: k[0].endswith("httpx/_client.py") and k[2] == "send"),
        "coding (plugin.coding.code_evidence)": cum(lambda k: k[0].endswith("plugin/coding.py") and k[2] == "code_evidence"),
        "ChargeItem building + validation (to_bundle)": cum(lambda k: k[0].endswith("output/chargeitems.py") and k[2] == "to_bundle"),
        "reading the event (read_json_data)": cum(lambda k: k[0].endswith("evidence/files.py") and k[2] == "read_json_data"),
        "by library, own Python time: SQLAlchemy (ORM and Core)": own("sqlalchemy"),
        "by library, own time: psycopg (with the wait for PostgreSQL's answers, inside its compiled code)": own("psycopg"),
        "by library, own Python time: HTTP client (httpx, httpcore, h11)": own("httpx", "httpcore", "h11"),
        "by library, own Python time: FHIR validation (fhir.resources, pydantic)": own("fhir_core", "fhir", "pydantic",
                                                                                      "pydantic_core"),
        "by library, own Python time: the plugin's code": own("plugin"),
    }


def _pct(values: list[float], p: int) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=400)
    parser.add_argument("--latency-events", type=int, default=300)
    parser.add_argument("--noop", type=int, default=2000)
    parser.add_argument("--visits", type=int, default=80)
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes (prefork), for both runs")
    parser.add_argument("--below-rate", type=float, default=25.0,
                        help="a second latency run at this rate (events/s), below the machine's capacity (0: none)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dwcoder-bench-") as tmp:
        rig = Rig(Path(tmp))
        rig.concurrency = args.concurrency
        rig.start()
        try:
            rig.throughput(20)  # warm up: imports, connections, mappings
            noop = rig.baseline(args.noop)
            before = cpu_seconds(rig)
            rate = rig.throughput(args.events)
            cpu = {part: (seconds - before[part]) * 1000 / args.events for part, seconds in cpu_seconds(rig).items()}
            lat = rig.latency(args.latency_events)
            low = rig.latency(args.latency_events, rate=args.below_rate) if args.below_rate else None
            where = profile(rig)
            rig.stop_worker()  # the visits run with the default debounce: a case's burst is recomputed once
            rig.start_worker(VISIT_SETTLE_S)
            rig.visits(10)  # warm up
            visit_rate, visit_counts = rig.visits(args.visits)
        finally:
            rig.stop()
            if os.environ.get("DWCODER_BENCH_LOGS"):  # keep the service's and the worker's logs for a look
                import shutil

                for log in Path(tmp).glob("*.log"):
                    shutil.copy(log, Path(os.environ["DWCODER_BENCH_LOGS"]) / log.name)
    ratio = rate / noop
    print(f"baseline: bare Celery no-op tasks, same broker and worker settings: {noop:,.0f} tasks/s ({args.noop} tasks)")
    print(f"pipeline: webhook -> PostgreSQL -> Redis -> worker -> ChargeItem at the FHIR server: {rate:,.1f} events/s "
          f"({args.events} events, one case each)")
    print(f"ratio: {ratio:.3f} (target >= 0.5: {'MET' if ratio >= 0.5 else 'MISSED'})")
    total = sum(cpu.values())
    print(f"  CPU per event during that run: {total:.1f} ms in all, so {os.cpu_count()} cores allow at most "
          f"{os.cpu_count() * 1000 / total:.0f} events/s; by part (ms): "
          + ", ".join(f"{part} {ms:.1f}" for part, ms in sorted(cpu.items(), key=lambda kv: -kv[1])))
    print(f"latency at a steady 50 events/s ({lat['done']}/{lat['sent']} events): p50 {lat['p50']:.1f} ms, "
          f"p99 {lat['p99']:.1f} ms, max {lat['max']:.1f} ms (target p99 < 250 ms: {'MET' if lat['p99'] < 250 else 'MISSED'})")
    print(f"  where the time goes (p50 / p99 ms): queue wait {lat['queue_p50']:.1f} / {lat['queue_p99']:.1f}; "
          f"event processing {lat['process_p50']:.1f} / {lat['process_p99']:.1f}; settle ({float(SETTLE_S) * 1000:.0f} ms) "
          f"+ recomputation + write-back {lat['write_p50']:.1f} / {lat['write_p99']:.1f}")
    if low:
        print(f"  for comparison, at a steady {args.below_rate:g} events/s ({low['done']}/{low['sent']} events): "
              f"p50 {low['p50']:.1f} ms, p99 {low['p99']:.1f} ms, max {low['max']:.1f} ms; queue wait p50 / p99 "
              f"{low['queue_p50']:.1f} / {low['queue_p99']:.1f} ms")
    print(f"visits (5 events each: Patient, Encounter, 3 Procedures; debounce {VISIT_SETTLE_S} s): {visit_rate:,.1f} events/s "
          f"({visit_counts['events']} events, {visit_counts['cases']} cases, {visit_counts['upserts']} ChargeItem upserts); "
          f"ratio {visit_rate / noop:.3f}")
    print(f"profile of the worker's work, in one process, per event (ms): total {where.pop('total'):.1f}")
    for name, ms in where.items():
        print(f"  {name}: {ms:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
