"""The Celery configuration issue 7 asks for, and the layering: plugin/ never imports workers/."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from plugin.errors import SettingsError
from plugin.queue import celery_config
from plugin.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_at_least_once_settings():
    settings = Settings.from_env({"REDIS_URL": "redis://127.0.0.1:6379/11", "DWCODER_TASK_TIME_LIMIT_S": "30",
                                  "DWCODER_VISIBILITY_TIMEOUT_S": "90"}, dotenv=None)
    conf = celery_config(settings)
    assert conf["task_acks_late"] and conf["task_reject_on_worker_lost"]
    assert conf["worker_prefetch_multiplier"] == 1
    assert conf["task_default_queue"] == "dwcoder"
    assert conf["broker_transport_options"]["visibility_timeout"] == 90 > conf["task_time_limit"] == 30
    assert conf["broker_transport_options"]["unacked_restore_interval"] <= 2


def test_no_countdown_reaches_the_visibility_timeout(monkeypatch):
    from plugin import queue

    sent = []

    class Producer:
        def send_task(self, name, args, countdown):
            sent.append(countdown)

    settings = Settings.from_env({"REDIS_URL": "redis://127.0.0.1:6379/11", "DWCODER_VISIBILITY_TIMEOUT_S": "300"}, dotenv=None)
    monkeypatch.setattr(queue, "producer", lambda s: Producer())
    queue.enqueue(settings, queue.TASK_RECOMPUTE_CASE, "Patient/p", countdown=10_000)
    assert sent == [150.0]


def test_the_worker_app_needs_redis_and_loads_with_it(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env["DWCODER_HOME"] = str(tmp_path)
    code = "import workers.app"
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env={**env, "PYTHONPATH": str(ROOT)},
                         capture_output=True, text=True, timeout=60)
    assert run.returncode != 0 and "REDIS_URL is not set" in run.stderr
    code = ("import workers.app as a, workers.tasks; c = a.app.conf; "
            "print(c.task_acks_late, c.task_reject_on_worker_lost, c.worker_prefetch_multiplier, sorted(a.app.tasks.keys()))")
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                         env={**env, "PYTHONPATH": str(ROOT), "REDIS_URL": "redis://127.0.0.1:6379/11"})
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("True True 1 ")
    for name in ("dwcoder.process_event", "dwcoder.recompute_case", "dwcoder.sweep", "dwcoder.noop"):
        assert name in run.stdout


def test_plugin_never_imports_workers():
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "plugin").rglob("*.py")
                 if re.search(r"^\s*(from|import)\s+workers\b", p.read_text(), re.MULTILINE)]
    assert offenders == []
