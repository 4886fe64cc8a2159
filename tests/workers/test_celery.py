"""A real Celery worker process on Redis (this machine's, database 11; or a Redis of the test's own on a spare
port for restarts) and a real database: events in, the CLI's ChargeItems out, through faults.

Each fault test ends with: no event lost (all done, no dead letter), no duplicate ChargeItem, and the final
ChargeItems equal to `dwcoder suggest --format fhir` on the same folder (what a clean run gives)."""
from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
import redis
from sqlalchemy import func, select

from plugin import feed, pipeline
from plugin.store import Store
from plugin.store.events import accept_and_enqueue
from plugin.store.models import DeadLetter, Event
from tests.pipeline.runner import CONTRACT, ROOT, active, cli_items, local_items, messy, practice_of
from tests.store.databases import empty, settings_for
from tests.workers.processes import OwnRedis, Worker

REDIS_DB = 11
EXAMPLE = ROOT / "examples" / "orthognathic-planning"
PRACTICE = "http://hl7.org/fhir/sid/us-npi|1234567893"
QUEUE = f"dwcoder-test-{uuid.uuid4().hex[:12]}"
TIMING = {"DWCODER_QUEUE": QUEUE, "DWCODER_SETTLE_S": "0.2", "DWCODER_VISIBILITY_TIMEOUT_S": "8", "DWCODER_TASK_TIME_LIMIT_S": "5",
          "DWCODER_EVENT_TIMEOUT_S": "4", "DWCODER_SWEEP_EVERY_S": "1", "DWCODER_LOG_LEVEL": "INFO"}


@pytest.fixture
def shared_redis():
    """The machine's Redis, database 11, with a queue of this test's own (another run of these tests on the
    same machine must not take our tasks, and we must not empty its queue)."""
    url = f"redis://127.0.0.1:6379/{REDIS_DB}"
    yield url
    redis.Redis.from_url(url).delete(QUEUE)


@pytest.fixture
def rig(database_url, tmp_path, shared_redis):
    """(make_worker, ctx, env): workers are stopped at the end."""
    workers: list[Worker] = []
    env_extra = {"DATABASE_URL": database_url, "REDIS_URL": shared_redis, "DWCODER_HOME": str(tmp_path),
                 "DWCODER_PRACTICE": PRACTICE, **TIMING}
    rig = Rig(env_extra, tmp_path, workers)
    yield rig
    for w in workers:
        w.kill()
    rig.ctx.store.dispose()


class Rig:
    def __init__(self, env_extra: dict, tmp: Path, workers: list) -> None:
        import os

        self.env_extra, self.tmp, self.workers = env_extra, tmp, workers
        self.env = {**os.environ, **env_extra}
        self.settings = settings_for(env_extra["DATABASE_URL"], tmp, **{k: v for k, v in env_extra.items()
                                                                          if k not in ("DATABASE_URL", "DWCODER_HOME")})
        self.ctx = pipeline.Context(self.settings, Store(self.settings.database_url))
        empty(self.ctx.store)

    def worker(self, name: str = "w1", beat: bool = False, **env) -> Worker:
        w = Worker({**self.env, **env}, self.tmp, name, beat)
        self.workers.append(w)
        return w.start()

    def send(self, events) -> None:
        accept_and_enqueue(self.ctx.store, self.settings, events)

    def wait_settled(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pipeline.settled(self.ctx):
                return
            time.sleep(0.2)
        logs = "\n".join(w.text()[-1500:] for w in self.workers)
        raise AssertionError(f"not settled after {timeout:g} s; worker logs:\n{logs}")

    def counts(self) -> dict:
        with self.ctx.store.sessions() as s:
            by_status = dict(s.execute(select(Event.status, func.count()).group_by(Event.status)).all())
            dead = s.scalar(select(func.count()).select_from(DeadLetter))
            retried = s.scalar(select(func.count()).select_from(Event).where(Event.attempts > 1))
        return {"status": by_status, "dead": dead, "retried": retried}


def _expected(folder: Path = EXAMPLE) -> list[dict]:
    return cli_items(folder, practice_of(folder) if (folder / "expected.json").exists() else PRACTICE)


def _check_clean(rig: Rig, want: list[dict]) -> None:
    items = local_items(rig.ctx)
    got = active(items)
    assert got == want
    idents = [i["identifier"][0]["value"] for i in items]
    assert len(idents) == len(set(idents)), "a ChargeItem was created twice"
    counts = rig.counts()
    assert counts["dead"] == 0 and set(counts["status"]) == {"done"}, counts


def test_worker_codes_a_case_sent_shuffled_and_duplicated(rig):
    rig.worker()
    rig.send(messy(feed.folder_events(EXAMPLE), seed=7))
    rig.wait_settled(90)
    _check_clean(rig, _expected())


def test_sigkill_mid_task_loses_nothing(rig, database_url):
    events = messy(feed.folder_events(EXAMPLE), seed=11, copies=3)
    first = rig.worker("w1")
    rig.send(events)
    deadline, killed = time.monotonic() + 60, False
    while time.monotonic() < deadline and not killed:  # kill while an event is being processed
        with rig.ctx.store.sessions() as s:
            busy = s.scalar(select(Event.id).where(Event.status == "processing").limit(1))
        if busy is not None:
            first.kill()
            killed = True
        time.sleep(0.005)
    assert killed, "never saw an event in progress"
    with rig.ctx.store.sessions() as s:
        assert s.get(Event, busy).status == "processing"  # it really died mid-task
    rig.worker("w2", beat=True)
    rig.wait_settled(120)
    _check_clean(rig, _expected())
    with rig.ctx.store.sessions() as s:
        assert s.get(Event, busy).attempts >= 2


def test_two_workers_on_one_case(rig):
    rig.worker("w1")
    rig.worker("w2")
    rig.send(messy(feed.folder_events(EXAMPLE), seed=3, copies=3))
    rig.wait_settled(120)
    _check_clean(rig, _expected())


def test_reverse_order(rig):
    rig.worker()
    rig.send(list(reversed(feed.folder_events(EXAMPLE))))
    rig.wait_settled(90)
    _check_clean(rig, _expected())


@pytest.mark.skipif(not CONTRACT.is_dir(), reason="contract cases not found at ../shared/contract/cases")
def test_each_event_three_times_on_a_contract_case(rig):
    folder = CONTRACT / "full-arch-fusion"
    rig.settings = settings_for(rig.settings.database_url, rig.tmp, DWCODER_PRACTICE=practice_of(folder),
                                REDIS_URL=rig.env_extra["REDIS_URL"], **TIMING)
    rig.worker(DWCODER_PRACTICE=practice_of(folder))
    events = feed.folder_events(folder)
    for _ in range(3):
        rig.send(events)
    rig.wait_settled(120)
    _check_clean(rig, _expected(folder))


def test_redis_restarted_empty_while_events_are_queued(database_url, tmp_path):
    own = OwnRedis(tmp_path)
    own.start()
    workers: list[Worker] = []
    try:
        rig = Rig({"DATABASE_URL": database_url, "REDIS_URL": own.url, "DWCODER_HOME": str(tmp_path),
                   "DWCODER_PRACTICE": PRACTICE, **TIMING}, tmp_path, workers)
        rig.send(messy(feed.folder_events(EXAMPLE), seed=5))  # no worker yet: the ids wait in Redis
        assert own.queued(QUEUE) > 0
        own.stop()
        own.start()  # same port, empty: every queued id is gone
        assert own.queued(QUEUE) == 0
        rig.worker("w1", beat=True)  # the sweeper finds the events still queued in the database
        rig.wait_settled(120)
        _check_clean(rig, _expected())
    finally:
        for w in workers:
            w.kill()
        own.stop()


def test_fhir_server_down_for_30_seconds(database_url, tmp_path, shared_redis, fhir_server):
    """Write-back to the real FHIR server while it is stopped for 30 s: retried with backoff, nothing lost."""
    from plugin.ehr import FhirClient

    workers: list[Worker] = []
    timing = {**TIMING, "DWCODER_MAX_ATTEMPTS": "30"}
    rig = Rig({"DATABASE_URL": database_url, "REDIS_URL": shared_redis, "DWCODER_HOME": str(tmp_path),
               "DWCODER_PRACTICE": PRACTICE, "FHIR_BASE_URL": fhir_server.base_url, **timing}, tmp_path, workers)
    try:
        rig.worker("w1", beat=True)
        fhir_server.stop()
        down_at = time.monotonic()
        rig.send(messy(feed.folder_events(EXAMPLE), seed=13))
        while time.monotonic() - down_at < 30:
            time.sleep(0.5)
        with rig.ctx.store.sessions() as s:
            assert s.scalar(select(func.count()).select_from(pipeline.Case).where(pipeline.Case.dirty.is_(True))) > 0
        fhir_server.start()
        rig.wait_settled(120)
        items = FhirClient(fhir_server.base_url).search("ChargeItem", {})
        assert active(items) == _expected()
        assert len({i["identifier"][0]["value"] for i in items}) == len(items)
        assert rig.counts()["dead"] == 0
        assert "will be retried" in workers[0].text() or "EhrUnavailable" in workers[0].text()
    finally:
        for w in workers:
            w.kill()
        rig.ctx.store.dispose()
