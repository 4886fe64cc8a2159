"""Thin tasks: ids in, a plain function of plugin.pipeline does the work. Only EhrUnavailable is retried
(exponential backoff with full jitter, never longer than half the visibility timeout); an event still failing
after DWCODER_MAX_ATTEMPTS becomes a dead letter. Anything else unexpected leaves the event for the sweeper and is
logged by its class only (TaskFailed), never with a message that could quote patient data."""
from __future__ import annotations

from celery.exceptions import Retry

from plugin import pipeline
from plugin.queue import TASK_NOOP, TASK_PROCESS_EVENT, TASK_RECOMPUTE_CASE, TASK_RECONCILE, TASK_SWEEP
from workers.app import app, settings


class TaskFailed(Exception):
    """What Celery logs for an unexpected error: its class only (a driver's message may quote payload values).
    The event stays in the database; the sweeper queues it again."""


def _ctx() -> pipeline.Context:
    return pipeline.context(settings)


def _retry_or_give_up(task, exc: Exception, event_id: int | None = None):
    if task.request.retries + 1 >= settings.max_attempts:
        if event_id is not None:
            pipeline.dead_letter(_ctx(), event_id, type(exc).__name__, f"still failing after {task.request.retries + 1} attempts")
        return "dead"
    countdown = min(pipeline.backoff_s(task.request.retries), settings.visibility_timeout_s / 2)
    raise task.retry(countdown=countdown, max_retries=settings.max_attempts, exc=exc)


@app.task(name=TASK_PROCESS_EVENT, bind=True)
def process_event(self, event_id: int) -> str:
    try:
        return pipeline.process_event(_ctx(), int(event_id))
    except pipeline.transient_errors() as exc:
        return _retry_or_give_up(self, exc, int(event_id))
    except Exception as exc:
        if isinstance(exc, Retry):
            raise
        raise TaskFailed(type(exc).__name__) from None


@app.task(name=TASK_RECOMPUTE_CASE, bind=True)
def recompute_case(self, case_key: str) -> str:
    try:
        return pipeline.recompute_case(_ctx(), str(case_key))
    except pipeline.transient_errors() as exc:
        return _retry_or_give_up(self, exc)  # the case stays dirty: the sweeper queues it again later
    except Exception as exc:
        if isinstance(exc, Retry):
            raise
        raise TaskFailed(type(exc).__name__) from None


@app.task(name=TASK_SWEEP)
def sweep() -> dict:
    return pipeline.sweep(_ctx())


@app.task(name=TASK_NOOP)
def noop() -> None:
    return None


@app.task(name=TASK_RECONCILE, bind=True)
def reconcile(self, part: str = "") -> dict | str:
    """Issue 8: the reconciler (beat, or a requery's "pacs" run); a PACS that cannot answer is tried next time."""
    from plugin.reconcile import reconcile as run

    try:
        return run(_ctx(), fhir=part != "pacs")
    except pipeline.transient_errors() as exc:
        return f"not reachable: {type(exc).__name__}"
