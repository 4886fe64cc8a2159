"""The Celery app. Configured for at-least-once delivery with nothing lost (issue 7):

* `task_acks_late` + `task_reject_on_worker_lost`: a task is acknowledged when it has finished; a worker
  killed mid-task leaves it unacknowledged, and Redis gives it to another worker;
* `worker_prefetch_multiplier = 1`: a worker holds one task beyond the one it runs, so a kill loses no batch;
* `visibility_timeout` (DWCODER_VISIBILITY_TIMEOUT_S, 300 s) longer than the longest task (task_time_limit,
  DWCODER_TASK_TIME_LIMIT_S, 120 s; validated in plugin/settings.py); no countdown is longer than half of it;
* kombu's `unacked_restore_interval` 1 s: a killed worker's task comes back within seconds of its visibility
  timeout instead of ~100 s later;
* the beat schedule runs the sweeper (plugin.pipeline.sweep) every DWCODER_SWEEP_EVERY_S (5 s).
"""
from __future__ import annotations

from celery import Celery

from plugin import logs
from plugin.errors import SettingsError
from plugin.queue import TASK_RECONCILE, TASK_SWEEP, celery_config
from plugin.settings import Settings

settings = Settings.from_env()
if not settings.redis_url:
    raise SettingsError("REDIS_URL is not set: the Celery workers need a Redis broker (without it, `dwcoder serve` runs its own local queue)")
logs.setup(settings.log_level)

app = Celery("dwcoder", include=["workers.tasks"])
app.conf.update(celery_config(settings))
app.conf.beat_schedule = {
    "sweep": {"task": TASK_SWEEP, "schedule": settings.sweep_every_s},
}
if settings.reconcile_every_s > 0:  # issue 8: notifications are hints; the reconciler catches up what they missed
    app.conf.beat_schedule["reconcile"] = {"task": TASK_RECONCILE, "schedule": settings.reconcile_every_s}
