"""`dwcoder migrate` and `dwcoder health` (the compose migration step and the containers' health checks)."""
from __future__ import annotations

import json

from sqlalchemy import create_engine, inspect

from plugin.cli import main
from plugin.commands.service import free_port


def _env(monkeypatch, tmp_path, **extra):
    monkeypatch.chdir(tmp_path)  # no stray .env
    for key in ("DATABASE_URL", "REDIS_URL", "FHIR_BASE_URL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("DWCODER_HOME", str(tmp_path))
    for key, value in extra.items():
        monkeypatch.setenv(key, value)


def test_migrate_brings_a_new_database_to_the_newest_schema(monkeypatch, tmp_path, capsys):
    _env(monkeypatch, tmp_path)
    assert main(["migrate"]) == 0
    tables = set(inspect(create_engine(f"sqlite:///{tmp_path}/dwcoder.db")).get_table_names())
    assert {"events", "latency_buckets", "alembic_version"} <= tables
    assert "newest schema" in capsys.readouterr().err
    assert main(["migrate"]) == 0  # again: nothing to do, still fine


def test_health_in_process_names_what_is_down(monkeypatch, tmp_path, capsys):
    _env(monkeypatch, tmp_path, REDIS_URL=f"redis://:pw-9Xq@127.0.0.1:{free_port()}/0")
    main(["migrate"])
    capsys.readouterr()
    assert main(["health"]) == 1
    out = capsys.readouterr().out
    assert json.loads(out) == {"database": "ok", "redis": "down: ConnectionError"} and "pw-9Xq" not in out


def test_health_is_ok_with_a_real_redis_and_database(monkeypatch, tmp_path, capsys):
    _env(monkeypatch, tmp_path, REDIS_URL="redis://127.0.0.1:6379/10")
    main(["migrate"])
    capsys.readouterr()
    assert main(["health", "--checks", "database,redis"]) == 0
    assert json.loads(capsys.readouterr().out) == {"database": "ok", "redis": "ok"}


def test_health_by_url_and_a_bad_check_name(monkeypatch, tmp_path, capsys):
    _env(monkeypatch, tmp_path)
    assert main(["health", "--url", f"http://127.0.0.1:{free_port()}/healthz", "--timeout", "1"]) == 1
    assert "unhealthy: ConnectError" in capsys.readouterr().err
    assert main(["health", "--checks", "database,disk"]) == 2
    assert "unknown check(s) disk" in capsys.readouterr().err
