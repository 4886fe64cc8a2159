"""Queueing work by task NAME: Celery (`send_task`) when REDIS_URL is set, else a local in-process worker.

    enqueue(settings, TASK_PROCESS_EVENT, event_id)
    enqueue(settings, TASK_RECOMPUTE_CASE, case_key, countdown=0.3)

plugin/ never imports workers/: the Celery producer here knows only the broker and the names. Only ids
travel; the database holds everything else, so a lost message costs time (the sweeper queues it again),
never data. The local queue (`LocalQueue`) runs the same plain functions of plugin.pipeline on threads,
with the same retry policy for EhrUnavailable.
"""
from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from typing import Any, Callable

TASK_PROCESS_EVENT = "dwcoder.process_event"  # args: event_id
TASK_RECOMPUTE_CASE = "dwcoder.recompute_case"  # args: case_key
TASK_SWEEP = "dwcoder.sweep"  # no args
TASK_NOOP = "dwcoder.noop"  # benchmark baseline
TASK_RECONCILE = "dwcoder.reconcile"  # issue 8; args: none, or "pacs" (the PACS part only: after a requery)

_producers: dict[str, Any] = {}
_producer_lock = threading.Lock()
_local: "LocalQueue | None" = None


def enqueue(settings, task_name: str, *args, countdown: float = 0.0) -> None:
    """Queue one task; the countdown is capped below the visibility timeout (never redelivered early)."""
    countdown = max(0.0, min(countdown, settings.visibility_timeout_s / 2))
    if settings.redis_url:
        producer(settings).send_task(task_name, args=list(args), countdown=countdown or None)
    elif _local is not None:
        _local.put(task_name, args, countdown)
    else:  # nothing runs the local queue: the event stays queued in the database for the sweeper
        from plugin.logs import log

        log("no local queue running: left for the sweeper", logging.WARNING, task=task_name)


def celery_config(settings) -> dict[str, Any]:
    """The broker settings producer and workers share (issue 7: acks_late, redelivery within seconds)."""
    visibility = settings.visibility_timeout_s
    return {
        "broker_url": settings.redis_url,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {
            "visibility_timeout": visibility,
            "unacked_restore_interval": 1.0,  # kombu >= 5.7: look for unacked tasks to restore every second
            "unacked_restore_throttle": 0.0,
        },
        "task_default_queue": settings.queue_name,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_ignore_result": True,
        "task_time_limit": settings.task_time_limit_s,
        "task_soft_time_limit": max(1.0, settings.task_time_limit_s - 5),
        "task_serializer": "json",
        "accept_content": ["json"],
        "worker_hijack_root_logger": False,
        "broker_pool_limit": 10,
    }


def producer(settings):
    """The Celery producer for this broker, made once per process (Celery's lazy imports are not thread-safe:
    web requests queueing at once must not build it together)."""
    app = _producers.get(settings.redis_url)
    if app is None:
        with _producer_lock:
            app = _producers.get(settings.redis_url)
            if app is None:
                from celery import Celery

                app = Celery("dwcoder-producer")
                app.conf.update(celery_config(settings))
                app.amqp  # noqa: B018  (build the producer side and import the transport now, under the lock)
                app.producer_pool  # noqa: B018
                app.connection_for_write().transport  # noqa: B018
                _producers[settings.redis_url] = app
    return app


# ------------------------------------------------------------------------------------------ local queue
class LocalQueue:
    """Due-time ordered tasks run by `threads` daemon threads calling `handler(task_name, args, attempt)`.

    The handler may raise `Retry(delay)` to run the task again later (EhrUnavailable backoff)."""

    def __init__(self, handler: Callable[[str, tuple, int], None], threads: int = 1) -> None:
        self.handler = handler
        self._heap: list[tuple[float, int, str, tuple, int]] = []
        self._cond = threading.Condition()
        self._seq = itertools.count()
        self._stop = False
        self._busy = 0
        self._threads = [threading.Thread(target=self._run, name=f"dwcoder-local-{i}", daemon=True) for i in range(threads)]

    def start(self) -> "LocalQueue":
        global _local
        for t in self._threads:
            t.start()
        _local = self
        return self

    def stop(self, timeout: float = 10.0) -> None:
        global _local
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        for t in self._threads:
            t.join(timeout)
        if _local is self:
            _local = None

    def put(self, task_name: str, args: tuple, countdown: float = 0.0, attempt: int = 0) -> None:
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + countdown, next(self._seq), task_name, tuple(args), attempt))
            self._cond.notify()

    def idle(self) -> bool:
        with self._cond:
            return not self._heap and not self._busy

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stop and (not self._heap or self._heap[0][0] > time.monotonic()):
                    self._cond.wait(timeout=None if not self._heap else max(0.0, self._heap[0][0] - time.monotonic()))
                if self._stop:
                    return
                _, _, name, args, attempt = heapq.heappop(self._heap)
                self._busy += 1
            try:
                self.handler(name, args, attempt)
            except Retry as retry:
                self.put(name, args, retry.delay, attempt + 1)
            except Exception as exc:  # a bug in a task must not stop the queue; the sweeper retries the event
                from plugin.logs import log

                log("local task failed", logging.ERROR, task=name, error=type(exc).__name__)
            finally:
                with self._cond:
                    self._busy -= 1


class Retry(Exception):
    def __init__(self, delay: float) -> None:
        super().__init__(f"retry in {delay:.2f}s")
        self.delay = delay
