"""Celery workers: the app (app.py) and thin tasks (tasks.py) that call plain functions in plugin.pipeline.

Run: `celery -A workers.app worker --loglevel INFO` and one `celery -A workers.app beat` (the sweeper), from the
project folder, with the same environment as `dwcoder serve` (REDIS_URL is required here).
"""
